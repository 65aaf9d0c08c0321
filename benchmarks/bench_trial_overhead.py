"""Per-trial overhead of real small searches: cold trial processes (before) against warm ones (after).

    python benchmarks/bench_trial_overhead.py [--smoke-trials 8] [--default-trials 24] [--concurrency 2]

Runs the same real trials through ``curriclip.pipeline.run_search`` once per mode and trial
size, each search in its own child process (its own local Ray):

- before: every trial in a fresh process, no per-process caches, a checkpoint after every epoch
  (``CURRICLIP_REUSE_PROCESSES=0``, ``CURRICLIP_TRIAL_CACHE=0``, ``checkpoint_every_s: 0``);
- warm: warm processes (Ray Tune's actor reuse) with the per-process caches, a checkpoint after
  every epoch, and Ray's own rule of at most one idle process at a batch barrier
  (``CURRICLIP_KEEP_IDLE_PROCESSES=0``);
- barrier: warm processes, every idle process kept across the barrier
  (``curriclip.search.idle_processes``) and the checkpoint interval
  (``training.checkpoint_every_s``, 60 s: a default-sized trial checkpoints after its last epoch
  only), with a barrier after every batch of trials, baselines included (the first
  synchronous mode: ``BarrierLimiter`` below);
- batch: the same, but only Optuna's proposals wait for their batch of ``slots``; a baseline
  starts as soon as a slot is free (the second synchronous mode: ``BatchLimiter`` below);
- after: the same, with Optuna's proposals in a window that slides one trial at a time
  instead of batches (``curriclip.search.searcher.CurriculumLimiter``): proposal s waits only
  for proposal s - slots to be told;
- after-async: the same with ``protocol.synchronous: false`` (no window, so no reproducible
  proposals either: other configurations, so its share stands on its own).

Trial sizes are the ``smoke`` and ``default`` presets' (data, image size, epochs, steps,
batch). ``--search`` says which trials: ``preset`` (default), the preset's own search phase
(its levels, its single-task and multitask baselines and its curricula: 24 default-sized
trials, 8 of them curricula); ``curricula``, one level with one single-task trial and the
rest curricula (``--smoke-trials``, ``--default-trials``), where nearly every trial waits for
a batch. There is no confirm phase. The modes with batches (before, warm, barrier, batch) run
the same trials: a fixed sampler seed, synchronous proposals and deterministic training give
the same configurations and scores (the table says whether they did), and no early stopping
(``scheduler: fifo``), so all do the same training work. The window (after) tells Optuna a
trial later at each batch's first proposal, so its configurations differ, but its trials do
the same number of epochs and steps.

The overhead share is (wall x concurrent slots - sum of in-trial time) / sum of in-trial
time, where wall is ``Tuner.fit`` and in-trial time is each epoch's training and
evaluation (``epoch_time_s``). It is broken down from the ``timing`` dict each trial
reports (``curriclip.trainables.timing``): process start and imports (fresh processes
only: from the later of the process's creation and the start of the fit, to the
trainable's entry), model build, data open, untrained evaluation, other trial set-up,
checkpoint writes (``torch.save``), the trial's wait inside ``tune.report`` (checkpoint
persisted to the run directory, driver takes the result), the batch barrier (a slot whose
trial ended waits for the rest of its batch; barrier modes), the slots the limiter held back
(free, with trials left, while curricula wait for their batch or window or a baseline for its
group: ``held_back_meter``; the other modes), and the rest: slots idle while
Tune schedules, starts and stops trials and snapshots its experiment state.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: mode -> (environment, training overrides, proposal rule): cold processes with a checkpoint every epoch, warm
#: processes with a checkpoint every epoch and Ray's one idle process at a barrier, warm processes with every idle
#: process kept and the checkpoint interval, with every trial at the barrier (barrier), only the curricula in batches
#: (batch) or in curriclip's sliding window (after), and asynchronously.
_WARM = {"CURRICLIP_REUSE_PROCESSES": "1", "CURRICLIP_TRIAL_CACHE": "1"}
#: set in a child: which earlier synchronous rule replaces curriclip's window (``BarrierLimiter``, ``BatchLimiter``)
LIMITER_ENV = "CURRICLIP_BENCH_LIMITER"
_BARRIER = {LIMITER_ENV: "barrier"}
MODES = {
    "before": (
        {**_BARRIER, "CURRICLIP_REUSE_PROCESSES": "0", "CURRICLIP_TRIAL_CACHE": "0"},
        {"checkpoint_every_s": 0},
        "batches",
    ),
    "warm": ({**_BARRIER, **_WARM, "CURRICLIP_KEEP_IDLE_PROCESSES": "0"}, {"checkpoint_every_s": 0}, "batches"),
    "barrier": ({**_BARRIER, **_WARM, "CURRICLIP_KEEP_IDLE_PROCESSES": "1"}, {}, "batches"),
    "batch": ({LIMITER_ENV: "batch", **_WARM, "CURRICLIP_KEEP_IDLE_PROCESSES": "1"}, {}, "batches"),
    "after": ({**_WARM, "CURRICLIP_KEEP_IDLE_PROCESSES": "1"}, {}, "window"),
    "after-async": ({**_WARM, "CURRICLIP_KEEP_IDLE_PROCESSES": "1"}, {}, "async"),
}
#: Breakdown rows: (label, key of the per-search sums).
PARTS = (
    ("process start + imports", "start_imports"),
    ("model build", "model_build"),
    ("data open", "data_open"),
    ("untrained evaluation", "untrained_eval"),
    ("other trial set-up", "setup_other"),
    ("checkpoint writes (torch.save)", "checkpoint_write"),
    ("tune.report (persist + wait)", "tune_report"),
    ("batch barrier (slot waits for its batch)", "barrier_idle"),
    ("proposal held back (batch or window)", "held"),
    ("Tune bookkeeping / idle slots (rest)", "rest"),
)


def experiment_for(
    size: str,
    trials: int,
    concurrency: int,
    storage: str,
    name: str,
    training: dict | None = None,
    synchronous: bool = True,
    search: str = "preset",
):
    """The size's search phase (``search``: ``preset`` or ``curricula``), every trial run to its end."""
    from curriclip.presets import preset_experiment

    overrides = {
        "name": name,
        "storage": storage,
        "training": training or {},
        "protocol": {"confirm_seeds": 0, "synchronous": synchronous},
        "search": {"scheduler": "fifo", "max_concurrent": concurrency},
    }
    if search == "curricula":  # one level, every trial at training.lr: one single-task trial and the rest curricula
        overrides["space"] = {"sparsity": [1.0]}
        overrides["protocol"] |= {"tuning": "fixed", "arms": ["single_task", "curriculum"]}
        overrides["search"] |= {"seeds": [0], "num_trials": max(0, trials - 1)}
    return preset_experiment(size, overrides)


def batch_limiter():
    """The second synchronous mode: Optuna's proposals in batches of ``slots``, counted as if the baselines
    had filled the first batches; a batch's proposals wait until every preceding batch has been told."""
    from curriclip.search.searcher import CurriculumLimiter

    class BatchLimiter(CurriculumLimiter):
        def __init__(self, searcher, max_concurrent: int, batch: bool = False, study_trials: int | None = None):
            super().__init__(searcher, max_concurrent, batch, study_trials)
            self.baselines = searcher.queued_baselines()

        def _batch(self, index: int) -> int:
            return (self.baselines + index) // self.max_concurrent

        def _study_may_propose(self) -> bool:
            first = max(self._batch(self.study_proposed) * self.max_concurrent - self.baselines, 0)
            return self.study_told >= first

        def _may_tell(self, index: int) -> bool:
            end = (self._batch(index) + 1) * self.max_concurrent - self.baselines
            return self.study_proposed >= min(end, self.study_trials)

    return BatchLimiter


def barrier_limiter():
    """The first synchronous mode: a barrier after every batch of trials, baselines included."""
    from curriclip.search.searcher import Searcher

    class BarrierLimiter(batch_limiter()):
        in_batch = 0

        def suggest(self, trial_id: str) -> dict | None:
            if self.in_batch >= self.max_concurrent:
                if self.running:
                    return None
                self.in_batch = 0
            suggestion = super().suggest(trial_id)
            if suggestion not in (None, Searcher.FINISHED):
                self.in_batch += 1
            return suggestion

    return BarrierLimiter


def trial_records(run_dir: Path) -> list[list[dict]]:
    """Every trial's reports (``result.json`` lines) in the run directory."""
    trials = []
    for result in sorted(run_dir.glob("trial_*/result.json")):
        reports = [json.loads(line) for line in result.read_text().splitlines() if line.strip()]
        if reports:
            trials.append(reports)
    return trials


def barrier_idle(trials: list[list[dict]], slots: int) -> float:
    """Slot-seconds a synchronous search's slots wait after their trial ended for the rest of its batch to end.

    The batches are the trials in the order they entered, ``slots`` at a time (a synchronous
    search starts a batch only once the one before it has ended).
    """
    spans = sorted((r[0]["timing"]["entered_at"], r[-1]["timing"]["reported_at"]) for r in trials)
    batches = [spans[i : i + slots] for i in range(0, len(spans), slots)]
    return sum(max(end for _, end in batch) - end for batch in batches for _, end in batch)


def held_back_meter(limiter_class: type) -> dict:
    """Counts the slot-seconds a free slot waits because the limiter holds the next trial back.

    Wraps ``limiter_class.suggest``: between two calls, a call that returned nothing while
    slots were free and trials remained counts (time to the next call) x (free slots). Tune
    asks again whenever a trial ends, so the count is exact up to its own loop's latency.
    """
    held = {"slot_s": 0.0, "since": None}
    suggest = limiter_class.suggest

    def metered(self, trial_id: str):
        now = time.time()
        if held["since"] is not None:
            since, free = held["since"]
            held["slot_s"] += (now - since) * free
        suggestion = suggest(self, trial_id)
        free = self.max_concurrent - len(self.running)
        remaining = self.study_proposed < self.study_trials or self.searcher.queued_baselines()
        held["since"] = (now, free) if self.batch and suggestion is None and free > 0 and remaining else None
        return suggestion

    limiter_class.suggest = metered
    return held


def summarise(
    trials: list[list[dict]], fit_start: float, fit_end: float, slots: int, barrier: bool, held: float = 0.0
) -> dict:
    """The search's wall, in-trial time and overhead parts (seconds), from the trials' reports.

    ``barrier``: every trial waited for its batch (measured from the trials' spans); otherwise
    ``held``, the slot-seconds the limiter held a trial back (``held_back_meter``).
    """
    sums = dict.fromkeys([key for _, key in PARTS], 0.0)
    in_trial = 0.0
    fresh = 0
    for reports in trials:
        first, last = reports[0], reports[-1]
        timing_first, timing = first["timing"], last["timing"]
        in_trial += sum(r.get("epoch_time_s", 0.0) for r in reports)
        if timing["trial_in_process"] == 1:
            fresh += 1
            sums["start_imports"] += timing["entered_at"] - max(timing["process_started_at"], fit_start)
        for key in ("model_build", "data_open", "untrained_eval", "checkpoint_write", "tune_report"):
            sums[key] += timing.get(key, 0.0)
        setup = timing_first["reported_at"] - timing_first["entered_at"] - first.get("epoch_time_s", 0.0)
        measured = sum(timing_first.get(k, 0.0) for k in ("model_build", "data_open", "untrained_eval"))
        sums["setup_other"] += setup - measured - timing_first.get("checkpoint_write", 0.0)
    wall = fit_end - fit_start
    sums["barrier_idle"] = barrier_idle(trials, slots) if barrier else 0.0
    sums["held"] = 0.0 if barrier else held
    sums["rest"] = wall * slots - in_trial - sum(v for k, v in sums.items() if k != "rest")
    finals = sorted(round(float(reports[-1].get("clip_score", float("nan"))), 6) for reports in trials)
    digest = hashlib.sha256(json.dumps(finals).encode()).hexdigest()[:12]
    return {
        "wall": wall,
        "slots": slots,
        "in_trial": in_trial,
        "trials": len(trials),
        "fresh": fresh,
        "scores_digest": digest,
        **sums,
    }


def child(args: argparse.Namespace) -> None:
    """One search in this process; its summary as JSON on the last line of stdout."""
    import logging

    import optuna
    from ray import tune

    from curriclip.pipeline import run_search

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
    stamps: dict[str, float] = {}
    fit = tune.Tuner.fit

    def timed_fit(self):  # the wall of the search proper: no Ray start, dataset resolution or export
        stamps["start"] = time.time()
        try:
            return fit(self)
        finally:
            stamps["end"] = time.time()

    tune.Tuner.fit = timed_fit
    limiter = os.environ.get(LIMITER_ENV)
    if limiter:
        import curriclip.search.searcher

        curriclip.search.searcher.CurriculumLimiter = {"barrier": barrier_limiter, "batch": batch_limiter}[limiter]()
    import curriclip.search.searcher

    held = held_back_meter(curriclip.search.searcher.CurriculumLimiter)
    name = f"{args.size}-{args.search}-{args.mode}"
    _, training, rule = MODES[args.mode]
    experiment = experiment_for(
        args.size, args.trials, args.concurrency, args.storage, name, training, rule != "async", args.search
    )
    outcome = run_search(experiment)
    records = trial_records(Path(args.storage) / name)
    barrier = limiter == "barrier"  # otherwise only curricula wait (batch, window): in the held-back row
    summary = summarise(records, stamps["start"], stamps["end"], args.concurrency, barrier, held["slot_s"])
    summary["errored"] = outcome.errored
    print(json.dumps(summary))


def run_child(size: str, mode: str, trials: int, concurrency: int, storage: str, timeout: float, search: str) -> dict:
    env = {**os.environ, **MODES[mode][0], "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, __file__, "--child", "--size", size, "--mode", mode, "--trials", str(trials)]
    command += ["--concurrency", str(concurrency), "--storage", storage, "--search", search]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{size}/{mode} search failed:\n{done.stderr[-3000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    summary["child_s"] = time.perf_counter() - started
    return summary


def share(part: float, summary: dict) -> str:
    return f"{part / summary['in_trial']:7.1%}"


def table(size: str, summaries: dict[str, dict]) -> str:
    """One column per mode: wall, in-trial time, fresh processes, the overhead share and its parts."""
    first = next(iter(summaries.values()))
    lines = [
        f"\n{size}: {first['trials']} trials, {first['slots']} at a time",
        f"{'':40s}" + "".join(f" {mode:>18s}" for mode in summaries),
        f"{'wall of Tuner.fit':40s}" + "".join(f" {s['wall']:16.1f} s" for s in summaries.values()),
        f"{'in-trial time (train + eval)':40s}" + "".join(f" {s['in_trial']:16.1f} s" for s in summaries.values()),
        f"{'trials in a fresh process':40s}" + "".join(f" {s['fresh']:18d}" for s in summaries.values()),
    ]
    for summary in summaries.values():
        summary["overhead"] = summary["wall"] * summary["slots"] - summary["in_trial"]
    rows = [("OVERHEAD SHARE", "overhead"), *(("  " + label, key) for label, key in PARTS)]
    for label, key in rows:
        lines.append(f"{label:40s}" + "".join(f" {s[key]:7.1f} s {share(s[key], s)}" for s in summaries.values()))
    batches = [s["scores_digest"] for mode, s in summaries.items() if MODES[mode][2] == "batches"]
    verdict = "yes" if len(set(batches)) <= 1 else "NO (the modes ran different work)"
    lines.append(f"the same final validate scores in every mode with batches: {verdict}")
    if "after" in summaries:
        lines.append("(after: the window's proposals, so other configurations of the same size)")
    if "after-async" in summaries:
        lines.append("(after-async: asynchronous proposals, so other configurations; its share is its own)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke-trials", type=int, default=8)
    parser.add_argument("--default-trials", type=int, default=24)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--sizes", nargs="+", default=["smoke", "default"])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--search", choices=["preset", "curricula"], default="preset", help="which trials (above)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per search")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--trials", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--storage", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    os.environ.setdefault("CURRICLIP_CACHE", tempfile.mkdtemp(prefix="curriclip-bench-"))
    storage = tempfile.mkdtemp(prefix="curriclip-bench-overhead-")
    from curriclip.data.sources import resolve

    for size in args.sizes:  # not timed: data generation is not trial overhead
        data = experiment_for(size, 2, args.concurrency, storage, "probe").data
        resolve(data.source, path=data.path, n=data.n, image_size=data.image_size, seed=data.seed)
    started = time.perf_counter()
    for size in args.sizes:
        trials = args.smoke_trials if size == "smoke" else args.default_trials
        summaries = {
            mode: run_child(size, mode, trials, args.concurrency, storage, args.timeout, args.search)
            for mode in args.modes
        }
        print(table(f"{size}-sized trials, {args.search} search", summaries), flush=True)
    print(f"\nbenchmark wall: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
