"""End to end through Ray: one tiny real search shared by the checks of its results, report and errors,
and one interrupted search taken through Ctrl-C, resume, SIGKILL and resume again."""

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

pytestmark = pytest.mark.slow

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
        "protocol": {"confirm_seeds": 1, **(protocol or {})},
        "storage": str(directory / "runs"),
    }
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(exp))
    return path


def _env(cache_dir: Path) -> dict:
    return {**os.environ, **OFFLINE, "CURRICLIP_CACHE": str(cache_dir), "PYTHONUNBUFFERED": "1"}


def _cli(args: list[str], cache_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=_env(cache_dir), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def e2e_run(tmp_path_factory, tiny_dataset, cache_dir) -> Path:
    """One finished run, shared by the tests below: a search phase of 4 single-task + 4 multitask + 3 curriculum
    configurations on 2 levels (validate split), then its confirm phase: 5 arms x 2 levels x 1 seed (test split).

    ``CURRICLIP_E2E_KEEP=DIR`` keeps (or, when DIR holds one, reuses) the run, so these tests can be re-run
    against a changed build in seconds.
    """
    keep = os.environ.get("CURRICLIP_E2E_KEEP")
    directory = Path(keep) if keep else tmp_path_factory.mktemp("e2e")
    if not (directory / "runs" / "e2e" / "answer.json").is_file():
        directory.mkdir(parents=True, exist_ok=True)
        done = _cli(["search", str(_experiment(directory, "e2e"))], cache_dir, timeout=SEARCH_TIMEOUT)
        assert done.returncode == 0, done.stderr[-3000:]
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
    assert len(confirm) == 10 and (confirm["status"] == "completed").all() and (confirm["seed"] == 10000).all()
    assert (confirm["split_evaluated"] == "test").all()
    assert sorted(confirm.groupby("arm").size().to_dict().items()) == sorted(
        {a: 2 for a in ("single_task", "multitask", "curriculum", "curriculum_random", "shuffled_control")}.items()
    )
    # test is read once per confirm run: only the last epoch has held-out metrics
    confirm_epochs = epochs[epochs["trial_id"].isin(confirm["trial_id"])]
    assert confirm_epochs.loc[confirm_epochs["epoch"] < 2, "clip_score"].isna().all()
    assert confirm_epochs.loc[confirm_epochs["epoch"] == 2, "clip_score"].notna().all()
    # seed k gives every arm the same initial towers: the untrained model scores the same on test for all of them
    assert confirm["init_clip_score"].nunique() == 1
    table = pd.read_parquet(e2e_run / "confirm.parquet")
    assert len(table) == 10 and set(table["seed_index"]) == {0}
    by_arm = table.set_index(["arm", "level"])
    search = trials[trials["phase"] == "search"].set_index("trial_id")
    for level in (0.5, 1.0):  # curriculum_random re-runs the curriculum winner, the control the single-task one
        assert (
            by_arm.loc[("curriculum_random", level), "source_trial_id"]
            == by_arm.loc[("curriculum", level), "source_trial_id"]
        )
        assert (
            by_arm.loc[("shuffled_control", level), "source_trial_id"]
            == by_arm.loc[("single_task", level), "source_trial_id"]
        )
        winner = by_arm.loc[("single_task", level), "source_trial_id"]
        rivals = search[
            (search["arm"] == "single_task") & (search["sparsity"] == level) & (search["status"] == "completed")
        ]
        # selected on validate, on the search metric (retrieval AUC by default)
        assert search.loc[winner, "final/retrieval_auc"] == rivals["final/retrieval_auc"].max()
    pairs = pd.read_parquet(e2e_run / "per_pair.parquet")
    per_run = pairs.groupby(["arm", "level"])["sample_id"].apply(lambda s: tuple(sorted(s)))
    assert per_run.nunique() == 1 and len(pairs) == 10 * len(per_run.iloc[0])  # every run scored the same pairs
    mean = pairs.groupby(["arm", "level"])["clip_score"].mean()
    assert mean.to_dict() == pytest.approx(table.set_index(["arm", "level"])["clip_score"].to_dict())
    answer = json.loads((e2e_run / "answer.json").read_text())
    assert answer["k"] == 1 and len(answer["comparisons"]) == (4 + 1) * 2 * 2
    assert {c["verdict"] for c in answer["comparisons"]} == {"inconclusive"}  # one seed cannot decide anything


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


def test_an_existing_run_is_not_overwritten(e2e_run, cache_dir):
    stamp = (e2e_run / "trials.parquet").stat().st_mtime_ns
    clash = _cli(["search", str(e2e_run.parent.parent / "e2e.yaml")], cache_dir)
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
        done = _cli(command, cache_dir, timeout=300)
        assert done.returncode == 2, (command, done.stderr[-2000:])
        assert f"result.json: line 1: damaged record of trial {victim}" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert (copy / "trials.parquet").stat().st_mtime_ns == stamp  # the answer was not re-exported without it


def test_a_damaged_run_json_is_one_line(e2e_run, tmp_path, cache_dir):
    copy = tmp_path / "e2e"
    copy_run(e2e_run, copy)
    (copy / "run.json").write_text('{"dataset_dir": "/x", "total_tri')
    done = _cli(["resume", str(copy)], cache_dir)
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


def _finished_stamps(run_dir: Path) -> dict[str, int]:
    trials = pd.read_parquet(run_dir / "trials.parquet")
    finished = trials[trials["status"].isin(["completed", "pruned"])]["trial_id"]
    return {t: (run_dir / f"trial_{t}" / "result.json").stat().st_mtime_ns for t in finished}


def test_ctrl_c_resume_sigkill_resume_finishes_without_rerunning(tmp_path, tiny_dataset, cache_dir):
    """Ctrl-C prints the resume command; a resumed search survives SIGKILL; finished trials never run again;
    Optuna's state comes back (one finished study trial per curriculum trial). The search also covers the median
    scheduler and label sparsity (every pair for ITC, fewer finding labels)."""
    exp = _experiment(
        tmp_path,
        "resumable",
        {"sparsity_mode": "labels"},
        {"confirm_seeds": 0, "arms": ["single_task", "curriculum"]},
        num_trials=4,
        max_concurrent=1,
        scheduler="median",
    )
    run_dir = tmp_path / "runs" / "resumable"

    proc, lines = _start(["search", str(exp)], cache_dir)
    lines.wait_for(FINISHED, 2, timeout=SEARCH_TIMEOUT)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130  # interrupted
    assert f"curriclip resume {run_dir}" in lines.rest(timeout=30)  # ... with the command that continues it
    first = _finished_stamps(run_dir)
    assert 2 <= len(first) < 8

    proc, lines = _start(["resume", str(run_dir)], cache_dir)
    lines.wait_for(FINISHED, 1, timeout=SEARCH_TIMEOUT)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver dies with no chance to save, Ray included
    proc.wait(timeout=60)

    resumed = _cli(["resume", str(run_dir)], cache_dir, timeout=SEARCH_TIMEOUT)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    total = json.loads((run_dir / "run.json").read_text())["total_trials"]
    trials = pd.read_parquet(run_dir / "trials.parquet")
    epochs = pd.read_parquet(run_dir / "epochs.parquet")
    assert len(trials) == total == 8 and trials["trial_id"].is_unique  # 2 x 2 single-task + 4 curricula
    assert set(trials["status"]) <= {"completed", "pruned"}
    assert not epochs.duplicated(["trial_id", "epoch"]).any()
    for trial_id, stamp in first.items():  # finished before the interruption: not run again
        assert (run_dir / f"trial_{trial_id}" / "result.json").stat().st_mtime_ns == stamp, trial_id
    assert sorted(trials[trials["arm"] == "single_task"]["sparsity"]) == [0.5, 0.5, 1.0, 1.0]
    assert (trials["sparsity_mode"] == "labels").all()  # levels are label fractions: every trial keeps every pair
    assert trials["final/train_pairs"].nunique() == 1
    import optuna

    study = optuna.load_study(study_name="resumable", storage=f"sqlite:///{run_dir / 'optuna.db'}")
    curriculum = trials[trials["arm"] == "curriculum"]
    states = sorted(t.state.name for t in study.trials if t.state.name in ("COMPLETE", "PRUNED"))
    assert states == sorted("PRUNED" if s == "pruned" else "COMPLETE" for s in curriculum["status"])


def test_export_killed_mid_write_leaves_the_previous_tables(e2e_run, tmp_path):
    """trials.parquet is written under a temporary name and renamed: a kill mid-write leaves the old file whole."""
    copy = tmp_path / "e2e"
    copy_run(e2e_run, copy)
    before = (copy / "trials.parquet").read_bytes()
    code = (
        "import os, sys, time, pandas as pd\n"
        "from curriclip.search import export\n"
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
    assert (copy / "trials.parquet").read_bytes() == before
    assert pd.read_parquet(copy / "trials.parquet").equals(pd.read_parquet(e2e_run / "trials.parquet"))


def _confirm_keys(run_dir: Path) -> dict[tuple, str]:
    trials = pd.read_parquet(run_dir / "trials.parquet")
    done = trials[(trials["phase"] == "confirm") & (trials["status"] == "completed")]
    return {(row.arm, row.sparsity, row.seed): row.trial_id for row in done.itertuples()}


def test_confirm_adds_seeds_resumes_after_ctrl_c_and_runs_nothing_twice(tmp_path, tiny_dataset, cache_dir):
    """`curriclip confirm RUN --seeds K` extends a finished run: the finished confirm runs stay as they are, an
    interrupted confirm continues, and asking again for the same K runs nothing."""
    exp = _experiment(
        tmp_path,
        "confirmable",
        {"sparsity": [1.0]},
        {"confirm_seeds": 1, "arms": ["single_task", "curriculum"]},
        num_trials=2,
        max_concurrent=1,
    )
    run_dir = tmp_path / "runs" / "confirmable"
    done = _cli(["search", str(exp)], cache_dir, timeout=SEARCH_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    first = _confirm_keys(run_dir)
    assert sorted(first) == [("curriculum", 1.0, 10000), ("single_task", 1.0, 10000)]

    proc, lines = _start(["confirm", str(run_dir), "--seeds", "3"], cache_dir)
    lines.wait_for(r"confirm: 4 of 6 runs \(2 already done\)", 1, timeout=SEARCH_TIMEOUT)
    time.sleep(8)  # let some of the new runs start
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)

    again = _cli(["confirm", str(run_dir), "--seeds", "3"], cache_dir, timeout=SEARCH_TIMEOUT)
    assert again.returncode == 0, again.stderr[-3000:]
    keys = _confirm_keys(run_dir)
    assert sorted(keys) == sorted((arm, 1.0, 10000 + k) for arm in ("single_task", "curriculum") for k in range(3))
    assert all(keys[key] == trial_id for key, trial_id in first.items())  # seed 0's runs were not run again
    trials = pd.read_parquet(run_dir / "trials.parquet")
    confirm = trials[trials["phase"] == "confirm"]
    assert not confirm.duplicated(["arm", "sparsity", "seed", "status"]).any()
    answer = json.loads((run_dir / "answer.json").read_text())
    assert answer["k"] == 3 and answer["confirm_seeds"] == [10000, 10001, 10002]

    stamp = (run_dir / "trials.parquet").stat().st_mtime_ns
    idle = _cli(["confirm", str(run_dir), "--seeds", "3"], cache_dir, timeout=SEARCH_TIMEOUT)
    assert idle.returncode == 0 and "6/6 runs done (0 run now" in idle.stdout
    assert _confirm_keys(run_dir) == keys and (run_dir / "trials.parquet").stat().st_mtime_ns > stamp
