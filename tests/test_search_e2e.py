"""End to end through Ray: one tiny real search shared by the checks of its results, report and errors
(the interrupted search and the smoke preset are in ``test_search_lifecycle_e2e.py``)."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import copy_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # Ray end to end: past the 300 s default

CLI = [sys.executable, "-m", "curriclip.cli"]
#: No hub may be reached: the default path is offline (the libraries' own switches, set for every subprocess).
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "NO_PROXY": "*"}
SEARCH_TIMEOUT = 600  # generous: a loaded CI box starts Ray slowly


def _experiment(directory: Path, name: str, space: dict | None = None, protocol: dict | None = None, **search) -> Path:
    exp = {
        "name": name,
        "data": {"n": 240, "image_size": 64},
        "training": {"epochs": 2, "steps_per_epoch": 3, "batch_size": 16, "eval_batch_size": 64},
        "space": {"sparsity": [0.5, 1.0], "pacing": ["linear", "step"], **(space or {})},
        "search": {"num_trials": 3, "seeds": [0], "grace_period": 1, "n_startup_trials": 2, **search},
        "protocol": {"confirm_seeds": 2, **(protocol or {})},
        "storage": str(directory / "runs"),
    }
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(exp))
    return path


def _env(cache_dir: Path) -> dict:
    return {**os.environ, **OFFLINE, "CURRICLIP_CACHE": str(cache_dir), "PYTHONUNBUFFERED": "1"}


def _in_process(args: list[str]) -> subprocess.CompletedProcess:
    """A command run in this process (Typer's CliRunner): error paths and exports need no fresh interpreter."""
    from typer.testing import CliRunner

    from curriclip.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def _cli(args: list[str], cache_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=_env(cache_dir), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def e2e_run(tmp_path_factory, tiny_dataset, cache_dir) -> Path:
    """One finished run, shared by the tests below: a search phase of 4 single-task + 4 multitask + 3 curriculum
    configurations on 2 levels (validate split), then its confirm phase: 5 arms x 2 levels x 2 seeds (test split).

    ``CURRICLIP_E2E_KEEP=DIR`` keeps (or, when DIR holds one, reuses) the run, so these tests can be re-run
    against a changed build in seconds.
    """
    keep = os.environ.get("CURRICLIP_E2E_KEEP")
    directory = Path(keep) if keep else tmp_path_factory.mktemp("e2e")
    if not (directory / "runs" / "e2e" / "answer.json").is_file():
        directory.mkdir(parents=True, exist_ok=True)
        done = _cli(
            ["search", str(_experiment(directory, "e2e", protocol={"looks": [2, 3]}))],
            cache_dir,
            timeout=SEARCH_TIMEOUT,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    recorded = Path(json.loads((directory / "runs" / "e2e" / "run.json").read_text())["dataset_dir"])
    if not recorded.exists():  # a kept run outlives its session's cache: the same dataset, generated again here
        recorded.parent.mkdir(parents=True, exist_ok=True)
        recorded.symlink_to(tiny_dataset, target_is_directory=True)
    return directory / "runs" / "e2e"


def test_search_phase_ranks_on_validate_with_matched_arms(e2e_run):
    trials = pd.read_parquet(e2e_run / "trials.parquet")
    epochs = pd.read_parquet(e2e_run / "epochs.parquet")
    search = trials[trials["phase"] == "search"]
    assert trials["trial_id"].is_unique and len(search) == 11
    assert (search["split_evaluated"] == "validate").all()  # nothing the search ranked on came from test
    assert search["arm"].value_counts().to_dict() == {"single_task": 4, "multitask": 4, "curriculum": 3}
    single, multi = (search[search["arm"] == arm] for arm in ("single_task", "multitask"))
    for level in (0.5, 1.0):  # matched tuning: the same learning rates for both baseline arms at each level
        lrs = [sorted(arm[arm["sparsity"] == level]["lr"]) for arm in (single, multi)]
        assert lrs[0] == lrs[1] and len(set(lrs[0])) == 2
    assert (single["ordering"] == "itc").all() and (multi["ordering"] == "itc > findings > rotation").all()
    curriculum = search[search["arm"] == "curriculum"]
    assert set(curriculum["pacing"]) <= {"linear", "step"}
    assert all(sorted(o.split(" > ")) == ["findings", "itc", "rotation"] for o in curriculum["ordering"])
    assert set(trials["status"]) <= {"completed", "pruned"}
    # one epoch row per trial and epoch, and it agrees with the trial table
    assert not epochs.duplicated(["trial_id", "epoch"]).any()
    assert epochs.groupby("trial_id").size().to_dict() == trials.set_index("trial_id")["epochs_done"].to_dict()
    last = epochs.sort_values("epoch").groupby("trial_id").last()
    assert trials.set_index("trial_id")["final_clip_score"].to_dict() == last["clip_score"].to_dict()
    assert trials["final_clip_score"].between(0, 2.5).all()  # CLIP score is 2.5 * max(cos, 0)
    # each phase evaluates one split, the same for all its trials; validate and test are different pairs
    hashes = trials.groupby("split_evaluated")["test_split_hash"].agg(set).to_dict()
    assert set(hashes) == {"validate", "test"} and all(len(h) == 1 for h in hashes.values())
    assert hashes["validate"] != hashes["test"]


def test_confirm_phase_reads_test_once_on_paired_seeds(e2e_run):
    trials = pd.read_parquet(e2e_run / "trials.parquet")
    epochs = pd.read_parquet(e2e_run / "epochs.parquet")
    confirm = trials[trials["phase"] == "confirm"]
    assert len(confirm) == 20 and (confirm["status"] == "completed").all()
    assert sorted(confirm["seed"].unique()) == [10000, 10001]
    assert (confirm["split_evaluated"] == "test").all()
    assert sorted(confirm.groupby("arm").size().to_dict().items()) == sorted(
        {a: 4 for a in ("single_task", "multitask", "curriculum", "curriculum_random", "shuffled_control")}.items()
    )
    # test is read once per confirm run: only the last epoch has held-out metrics
    confirm_epochs = epochs[epochs["trial_id"].isin(confirm["trial_id"])]
    assert confirm_epochs.loc[confirm_epochs["epoch"] < 2, "clip_score"].isna().all()
    assert confirm_epochs.loc[confirm_epochs["epoch"] == 2, "clip_score"].notna().all()
    # seed k gives every arm the same initial towers: the untrained model scores the same on test for all of them
    assert confirm.groupby("seed")["init_clip_score"].nunique().eq(1).all()
    assert confirm["init_clip_score"].nunique() == 2  # ... and another seed another
    table = pd.read_parquet(e2e_run / "confirm.parquet")
    assert len(table) == 20 and set(table["seed_index"]) == {0, 1}
    by_arm = table.set_index(["arm", "level"])
    search = trials[trials["phase"] == "search"].set_index("trial_id")
    for level in (0.5, 1.0):  # curriculum_random re-runs the curriculum winner, the control the single-task one
        source = {arm: set(by_arm.loc[(arm, level), "source_trial_id"]) for arm in table["arm"].unique()}
        assert all(len(ids) == 1 for ids in source.values())  # every seed of an arm re-runs the same winner
        assert source["curriculum_random"] == source["curriculum"]
        assert source["shuffled_control"] == source["single_task"]
        (winner,) = source["single_task"]
        rivals = search[
            (search["arm"] == "single_task") & (search["sparsity"] == level) & (search["status"] == "completed")
        ]
        # selected on validate, on the search metric (retrieval AUC by default)
        assert search.loc[winner, "final/retrieval_auc"] == rivals["final/retrieval_auc"].max()
    pairs = pd.read_parquet(e2e_run / "per_pair.parquet")
    per_run = pairs.groupby(["arm", "level", "seed"])["sample_id"].apply(lambda s: tuple(sorted(s)))
    assert per_run.nunique() == 1 and len(pairs) == 20 * len(per_run.iloc[0])  # every run scored the same pairs
    mean = pairs.groupby(["arm", "level", "seed"])["clip_score"].mean()
    assert mean.to_dict() == pytest.approx(table.set_index(["arm", "level", "seed"])["clip_score"].to_dict())
    answer = json.loads((e2e_run / "answer.json").read_text())
    # per level and metric: 3 arms vs single_task, curriculum vs curriculum_random and vs multitask, the control
    assert answer["k"] == 2 and answer["confirm_seeds"] == [10000, 10001]
    assert len(answer["comparisons"]) == (5 + 1) * 2 * 2 and all(c["n"] == 2 for c in answer["comparisons"])
    assert {(c["verdict"], c["reason"]) for c in answer["comparisons"]} == {("inconclusive", "too few seeds")}
    assert answer["looks"]["planned"] == [2, 3] and answer["looks"]["done"][0]["seeds"] == 2


def test_optuna_study_matches_the_curriculum_trials(e2e_run):
    """Optuna learns each curriculum's validation score (the search metric) centred on its level's mean single-task
    score."""
    import optuna

    trials = pd.read_parquet(e2e_run / "trials.parquet")
    search = trials[trials["phase"] == "search"]
    curriculum = search[search["arm"] == "curriculum"]
    study = optuna.load_study(study_name="e2e", storage=f"sqlite:///{e2e_run / 'optuna.db'}")
    assert sorted(t.state.name for t in study.trials) == sorted(
        "PRUNED" if s == "pruned" else "COMPLETE" for s in curriculum["status"]
    )
    single = search[(search["arm"] == "single_task") & (search["status"] == "completed")]
    metric = "final/retrieval_auc"  # the search metric (the default)
    centre = single.groupby("sparsity")[metric].mean()
    finished = [t for t in study.trials if t.state.name == "COMPLETE"]
    done = curriculum[curriculum["status"] == "completed"]
    centred = done[metric] - done["sparsity"].map(centre)
    assert sorted(t.value for t in finished) == pytest.approx(sorted(centred))


def test_report_rerenders_offline_from_the_run_directory(e2e_run, tmp_path, cache_dir):
    again = _cli(["report", str(e2e_run), "--out", str(tmp_path / "r.html")], cache_dir)
    assert again.returncode == 0, again.stderr[-2000:]
    page = (tmp_path / "r.html").read_text()
    trials = pd.read_parquet(e2e_run / "trials.parquet")
    assert all(trial_id in page for trial_id in trials["trial_id"])  # every trial reaches the page
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", page)  # nothing fetched from the web
    assert page.count("plotly.js v") >= 1  # the library itself is inline
    from curriclip.reports.results import load_results

    assert load_results(e2e_run).notes == []  # the answer's layout is the one the report reads: no warning


def test_an_existing_run_is_not_overwritten(e2e_run, cache_dir):
    stamp = (e2e_run / "trials.parquet").stat().st_mtime_ns
    clash = _in_process(["search", str(e2e_run.parent.parent / "e2e.yaml")])
    assert clash.returncode == 2 and "already exists" in clash.stderr and len(clash.stderr.splitlines()) == 1
    assert (e2e_run / "trials.parquet").stat().st_mtime_ns == stamp


def test_a_damaged_trial_record_is_named_not_skipped(e2e_run, tmp_path, cache_dir):
    copy = tmp_path / "runs" / "e2e"
    copy_run(e2e_run, copy)
    trials = pd.read_parquet(copy / "trials.parquet")
    victim = trials[(trials["status"] == "completed") & (trials["phase"] == "search")]["trial_id"].iloc[0]
    records = copy / f"trial_{victim}" / "result.json"
    lines = records.read_text().splitlines()
    lines[0] = lines[0][: len(lines[0]) // 2]  # a record cut in half, not the last line
    records.write_text("\n".join(lines) + "\n")
    stamp = (copy / "trials.parquet").stat().st_mtime_ns
    for command in (["report", str(copy)], ["resume", str(copy)]):
        done = _in_process(command)
        assert done.returncode == 2, (command, done.stderr[-2000:])
        assert f"result.json: line 1: damaged record of trial {victim}" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert (copy / "trials.parquet").stat().st_mtime_ns == stamp  # the answer was not re-exported without it


def test_a_record_missing_its_last_line_is_damaged_not_pruned(e2e_run, tmp_path, cache_dir):
    """A completed trial's result.json without its last line: named (trial and file), status damaged, and every
    verdict of its arm and level says it depends on it; read at its word it would pass for a pruned trial."""
    copy = tmp_path / "runs" / "e2e"
    copy_run(e2e_run, copy)
    trials = pd.read_parquet(copy / "trials.parquet")
    search = trials[(trials["phase"] == "search") & (trials["status"] == "completed")]
    victim = search[search["arm"] == "curriculum"].iloc[0]
    records = copy / f"trial_{victim['trial_id']}" / "result.json"
    records.write_text("\n".join(records.read_text().splitlines()[:-1]) + "\n")
    done = _in_process(["report", str(copy)])
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{records}: damaged record of trial {victim['trial_id']}: ends at iteration 1" in done.stderr
    after = pd.read_parquet(copy / "trials.parquet").set_index("trial_id")
    assert (
        after.loc[victim["trial_id"], "status"] == "damaged" and str(records) in after.loc[victim["trial_id"], "error"]
    )
    assert (after["status"] == "damaged").sum() == 1
    answer = json.loads((copy / "answer.json").read_text())
    assert answer["damaged_trials"] == [victim["trial_id"]]
    marked = {(c["arm"], c["reference"]) for c in answer["comparisons"] if c.get("damaged_trials")}
    level = [c for c in answer["comparisons"] if c["level"] == victim["sparsity"]]
    expected = {
        (c["arm"], c["reference"]) for c in level if {"curriculum", "curriculum_random"} & {c["arm"], c["reference"]}
    }
    assert marked == expected and expected
    assert all("depends on damaged trial" in c["sentence"] for c in answer["comparisons"] if c.get("damaged_trials"))


def test_train_replays_a_search_trial_on_its_recorded_threads_and_warns_on_other_versions(
    e2e_run, tmp_path, tiny_dataset
):
    """`curriclip train RUN/trial_X/params.json` (README): the trial's own threads, and a warning when the
    libraries differ from the ones it ran with."""
    import torch

    trials = pd.read_parquet(e2e_run / "trials.parquet")
    trial_id = trials[(trials["phase"] == "search") & (trials["status"] == "completed")]["trial_id"].iloc[0]
    trial = tmp_path / f"trial_{trial_id}"
    trial.mkdir()
    params = json.loads((e2e_run / trial.name / "params.json").read_text())
    params["trial"]["dataset_dir"] = str(tiny_dataset)  # the same data (a kept run may outlive its session's cache)
    assert params["trial"].get("threads") is None  # the search left threads to the trial's process
    (trial / "params.json").write_text(json.dumps(params))
    records = [json.loads(line) for line in (e2e_run / trial.name / "result.json").read_text().splitlines()]
    for record in records:
        record.update(threads=2, versions="python=3.11.7 torch=0.0.1")
    (trial / "result.json").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    before = torch.get_num_threads()
    try:
        done = _in_process(["train", trial / "params.json", "--out", tmp_path / "replay"])
    finally:
        torch.set_num_threads(before)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "replaying on 2 torch thread(s), as the trial ran" in done.stderr
    assert "the trial ran with python=3.11.7 torch=0.0.1; this replay has python=" in done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [line["epoch"] for line in lines] == [1, 2] and {line["threads"] for line in lines} == {2}
    assert (tmp_path / "replay" / "state.pt").is_file()


def test_read_only_run_directory_renders_to_out_and_refuses_to_confirm(e2e_run, tmp_path, monkeypatch):
    """A run on a read-only share: `report --out` renders elsewhere and writes nothing into it; confirm and resume
    refuse at once, and `report` without --out says where the report cannot go."""
    run = copy_run(e2e_run, tmp_path / "e2e")
    stamps = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(run) else real_access(p, mode))
    out = tmp_path / "elsewhere" / "report.html"
    done = _in_process(["report", run, "--out", out])
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.stat().st_size > 100_000
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == stamps
    for command, expected in (
        (["report", run], "the run directory is not writable: give --out FILE to render its report"),
        (["confirm", run], "the run directory is not writable (the confirm phase writes into it)"),
        (["resume", run], "the run directory is not writable (resume writes into it)"),
    ):
        done = _in_process(command)
        assert done.returncode == 2 and done.stderr == f"curriclip: error: {run}: {expected}\n", done.stderr


def test_a_damaged_run_json_is_one_line(e2e_run, tmp_path, cache_dir):
    copy = tmp_path / "e2e"
    copy_run(e2e_run, copy)
    (copy / "run.json").write_text('{"dataset_dir": "/x", "total_tri')
    done = _in_process(["resume", str(copy)])
    assert done.returncode == 2 and done.stderr.strip().endswith("cannot be rebuilt by resume")
    assert len(done.stderr.strip().splitlines()) == 1


class _Lines:
    """A process's stderr read on a thread, so every wait for a line has a deadline."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc, self.seen, self._queue = proc, [], queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while sum(bool(re.search(pattern, line)) for line in self.seen) < count:
            line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            assert line is not None, f"process ended before {count} lines matching {pattern!r}: {self.seen[-5:]}"
            self.seen.append(line)

    def rest(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (line := self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))) is not None:
            self.seen.append(line)
        return "".join(self.seen)


FINISHED = r"\] (done|pruned) "
ARMS = ("single_task", "multitask", "curriculum", "curriculum_random", "shuffled_control")


def _start(args: list[str], cache_dir: Path) -> tuple[subprocess.Popen, _Lines]:
    proc = subprocess.Popen(
        [*CLI, *args],
        env=_env(cache_dir),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    return proc, _Lines(proc)


def _records(run_dir: Path, trial_id: str) -> list[dict]:
    return [json.loads(line) for line in (run_dir / f"trial_{trial_id}" / "result.json").read_text().splitlines()]


def _finished_in(lines: list[str]) -> set[str]:
    """The trial ids a progress log reports as finished (``[ 12s 3/8] done   <id>  epoch ...``)."""
    return {m.group(2) for line in lines if (m := re.search(r"\] (done|pruned) +(\w+)", line))}


def _finished_stamps(run_dir: Path) -> dict[str, int]:
    trials = pd.read_parquet(run_dir / "trials.parquet")
    finished = trials[trials["status"].isin(["completed", "pruned"])]["trial_id"]
    return {t: (run_dir / f"trial_{t}" / "result.json").stat().st_mtime_ns for t in finished}


def test_export_killed_mid_write_leaves_the_previous_tables(e2e_run, tmp_path):
    """trials.parquet is written under a temporary name and renamed: a kill mid-write leaves the old file whole."""
    copy = tmp_path / "e2e"
    copy_run(e2e_run, copy)
    before = (copy / "trials.parquet").read_bytes()
    code = (
        "import os, sys, time, pandas as pd\n"
        "from curriclip.rundir import export\n"
        "real = pd.DataFrame.to_parquet\n"
        "def slow(self, path, *a, **k):\n"
        "    real(self, path, *a, **k)\n"
        "    with open(path, 'r+b') as f: f.truncate(os.path.getsize(path) // 2)\n"  # half a file on disk ...
        "    print('writing', flush=True); time.sleep(120)\n"  # ... when the kill comes
        "pd.DataFrame.to_parquet = slow\n"
        f"export.export_results({str(copy)!r})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while proc.stdout.readline().strip() != "writing":
        assert time.monotonic() < deadline and proc.poll() is None, "export did not start writing"
    proc.kill()
    proc.wait(timeout=30)
    # the premise: the kill came mid-write, leaving half a file, under a hidden temporary name only
    stale = list(copy.glob(".trials.parquet.tmp-*"))
    assert len(stale) == 1 and 0 < stale[0].stat().st_size < len(before)
    assert sorted(p.name for p in copy.glob("*.parquet")) == sorted(p.name for p in e2e_run.glob("*.parquet"))
    assert (copy / "trials.parquet").read_bytes() == before
    assert pd.read_parquet(copy / "trials.parquet").equals(pd.read_parquet(e2e_run / "trials.parquet"))


def _confirm_keys(run_dir: Path) -> dict[tuple, str]:
    trials = pd.read_parquet(run_dir / "trials.parquet")
    done = trials[(trials["phase"] == "confirm") & (trials["status"] == "completed")]
    return {(row.arm, row.sparsity, row.seed): row.trial_id for row in done.itertuples()}


def test_confirm_adds_seeds_resumes_after_ctrl_c_and_runs_nothing_twice(e2e_run, tmp_path, cache_dir):
    """`curriclip confirm RUN --seeds K` extends a finished run (a copy of the shared one): Ctrl-C cuts it off with
    exit code 130 and the command that continues it, the answer waits for whole seeds, the finished confirm runs stay
    as they are, and asking again for the same K runs nothing."""
    run_dir = copy_run(e2e_run, tmp_path / "e2e")
    first = _confirm_keys(run_dir)
    assert sorted(first) == sorted((arm, level, 10000 + k) for arm in ARMS for level in (0.5, 1.0) for k in range(2))
    answer_before = (run_dir / "answer.json").read_bytes()
    refused = _in_process(["confirm", str(run_dir), "--seeds", "4"])
    assert refused.returncode == 2 and "--seeds 4: not a planned look" in refused.stderr

    proc, lines = _start(["confirm", str(run_dir), "--seeds", "3"], cache_dir)
    lines.wait_for(r"confirm: 10 of 30 runs \(20 already done\)", 1, timeout=SEARCH_TIMEOUT)
    lines.wait_for(FINISHED, 1, timeout=SEARCH_TIMEOUT)  # the first new run is done, later ones are not
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    said = lines.rest(timeout=30)
    assert f"continue it with: curriclip confirm {run_dir} --seeds 3" in said and "Tuner.restore" not in said
    assert 21 <= len(_confirm_keys(run_dir)) < 30  # cut off part-way
    assert (run_dir / "answer.json").read_bytes() == answer_before  # no answer from part of the seeds

    again = _cli(["confirm", str(run_dir), "--seeds", "3"], cache_dir, timeout=SEARCH_TIMEOUT)
    assert again.returncode == 0, again.stderr[-3000:]
    keys = _confirm_keys(run_dir)
    assert sorted(keys) == sorted((arm, level, 10000 + k) for arm in ARMS for level in (0.5, 1.0) for k in range(3))
    assert all(keys[key] == trial_id for key, trial_id in first.items())  # the first seeds' runs were not run again
    trials = pd.read_parquet(run_dir / "trials.parquet")
    confirm = trials[trials["phase"] == "confirm"]
    assert not confirm.duplicated(["arm", "sparsity", "seed", "status"]).any()
    answer = json.loads((run_dir / "answer.json").read_text())
    assert answer["k"] == 3 and answer["confirm_seeds"] == [10000, 10001, 10002]
    assert [look["seeds"] for look in answer["looks"]["done"]] == [2, 3]

    stamp = (run_dir / "trials.parquet").stat().st_mtime_ns
    idle = _cli(["confirm", str(run_dir), "--seeds", "3"], cache_dir, timeout=SEARCH_TIMEOUT)
    assert idle.returncode == 0 and "30/30 runs done (0 run now" in idle.stdout, idle.stderr[-2000:]
    assert _confirm_keys(run_dir) == keys and (run_dir / "trials.parquet").stat().st_mtime_ns > stamp
