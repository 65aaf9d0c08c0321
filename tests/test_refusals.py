"""Each probe class of bad input ends as promised, in-process: one line naming the field, option or file,
exit code 2, and nothing written (the search is never started: every check runs before Ray and before any write)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from curriclip.cli import app

runner = CliRunner()


def _run(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def _one_line(code: int, out: str, *expected: str) -> None:
    assert code == 2, out
    assert out.count("\n") == 1 and out.startswith("curriclip: error: "), out
    for text in expected:
        assert text in out, out


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def blocker(tmp_path) -> Path:
    path = tmp_path / "file"
    path.write_text("x")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["taskmap", "map", "{tmp}", "--out", "{blocker}/m"],
        ["data", "synth-brats", "--out", "{blocker}/b"],
        ["data", "brats", "--cases", "{tmp}", "--out", "{blocker}/b"],
        ["report", "{tmp}", "--out", "{blocker}/r.html"],
    ],
    ids=["taskmap-map", "synth-brats", "brats", "report"],
)
def test_out_under_a_regular_file(tmp_path, blocker, args):
    before = _tree(tmp_path)
    args = [a.format(tmp=tmp_path, blocker=blocker) for a in args]
    _one_line(*_run(args), f"{blocker} is a file, not a directory")
    assert _tree(tmp_path) == before


def test_report_out_naming_a_directory(tmp_path):
    _one_line(*_run(["report", tmp_path, "--out", tmp_path]), f"--out {tmp_path}: is a directory")


@pytest.mark.parametrize(
    "args",
    [
        ["taskmap", "map", "{tmp}", "--out", "{locked}/m"],
        ["data", "synth-brats", "--out", "{locked}/b"],
        ["data", "brats", "--cases", "{tmp}", "--out", "{locked}/b"],
        ["report", "{tmp}", "--out", "{locked}/r.html"],
    ],
    ids=["taskmap-map", "synth-brats", "brats", "report"],
)
def test_out_on_a_read_only_place(tmp_path, monkeypatch, args):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    real_access = os.access  # root writes through a read-only mode; a read-only filesystem refuses even root
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked) else real_access(p, mode))
    args = [a.format(tmp=tmp_path, locked=locked) for a in args]
    _one_line(*_run(args), f"{locked} is not writable")
    assert _tree(locked) == []


def test_a_file_the_system_refuses_is_one_line_not_a_traceback(tmp_path):
    """The last line of defence: an OSError about a user's path (here EROFS) is named, exit code 2."""
    import errno

    from curriclip.cli_errors import user_errors

    @user_errors
    def command() -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "report.html"))

    with pytest.raises(typer.Exit) as stop:
        command()
    assert stop.value.exit_code == 2

    @user_errors
    def bug() -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")  # not the user's: keeps its traceback

    with pytest.raises(OSError):
        bug()


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "space:\n  sparsity_mode: labels\n  tasks: [rotation]\n",
            "space.sparsity_mode: labels subsets finding labels, but no task of space.tasks (rotation)",
        ),
        (
            "space:\n  sparsity_mode: reports\n  tasks: [text_findings]\n",
            "space.sparsity_mode: reports keeps images without their reports, but no task of space.tasks",
        ),
        ("protocol:\n  confirm_seeds: 1\n", "protocol.confirm_seeds: 1 seed gives no paired comparison"),
        ("name: a\nsearch:\n  seeds: [0]\nname: b\n", "line 4: key 'name' given twice (lines 1 and 4)"),
        (
            "protocol:\n  equivalence_margin: {clip_score: -0.1}\n",
            "equivalence_margin: 'clip_score' margin -0.1 must be > 0",
        ),
        ("search:\n  metric: clip_scor\n", "search.metric: 'clip_scor' is not a metric a trial reports (did you mean"),
        ("space:\n  ordering_prior: taco\n", "space.task_map: ordering_prior 'taco' needs the path of a task map"),
        ("space:\n  ordering_prior: taco\n  task_map: {tmp}/nomap\n", "space.task_map: {tmp}/nomap is not a task map"),
        ("space:\n  ordering_prior: taco\n  task_map: {tmp}/exp.yaml\n", "is not a task map"),
    ],
    ids=[
        "labels-label-free",
        "reports-no-image-task",
        "one-seed",
        "duplicate-key",
        "negative-margin",
        "metric",
        "taco",
        "taco-missing-map",
        "taco-file-map",
    ],
)
def test_nonsense_experiments_refused_before_anything_runs(tmp_path, yaml_text, expected):
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml_text.replace("{tmp}", str(tmp_path)))
    expected = expected.replace("{tmp}", str(tmp_path))
    for extra in (["--dry-run"], []):  # the dry run first: a broken refusal fails fast instead of training
        _one_line(*_run(["search", exp, "--storage", tmp_path / "runs", *extra]), expected)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["search", "--preset", "smoke", "--name", ""], "--name: empty"),
        (["confirm", "{tmp}", "--seeds", "0"], "Invalid value for '--seeds'"),
        (["confirm", "{tmp}", "--seeds", "1"], "Invalid value for '--seeds'"),
        (["search", "--bogus"], "No such option: --bogus"),
        (["taskmap", "orderings", "{tmp}", "--tasks", "bogus"], "--tasks: unknown task 'bogus'"),
        (["taskmap", "orderings", "{tmp}", "--tasks", "itc"], "--tasks: list auxiliary tasks only"),
        (["fuse", "{tmp}", "--method", "bogus"], "--method 'bogus': expected vote or staple"),
        (["fuse", "{tmp}/nope"], "{tmp}/nope: run directory not found"),
        (["taskmap", "map", "{tmp}", "--clip-preset", "bogus"], "--clip-preset: unknown model preset 'bogus'"),
        (["taskmap", "map", "{tmp}", "--clip-checkpoint", "{tmp}/missing.pt"], "missing.pt: file not found"),
    ],
    ids=[
        "empty-name",
        "seeds-0",
        "seeds-1",
        "unknown-option",
        "orderings-unknown-task",
        "orderings-itc",
        "fuse-method",
        "fuse-missing-dir",
        "clip-preset",
        "clip-checkpoint",
    ],
)
def test_bad_options_are_one_line_naming_the_option(tmp_path, args, expected):
    before = _tree(tmp_path)
    started = time.monotonic()
    _one_line(*_run([a.format(tmp=tmp_path) for a in args]), expected.format(tmp=tmp_path))
    assert time.monotonic() - started < 30  # refused before any training or prediction
    assert _tree(tmp_path) == before


def test_a_confirm_seeds_of_0_in_the_experiment_names_the_experiment_not_seeds(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "experiment.yaml").write_text("name: run\nprotocol:\n  confirm_seeds: 0\n")
    (run / "run.json").write_text('{"dataset_dir": "/d", "total_trials": 1}')
    code, out = _run(["confirm", run])
    _one_line(code, out, f"{run}/experiment.yaml: protocol.confirm_seeds: 0", "give --seeds K")
    assert "--seeds:" not in out


def test_an_address_nothing_answers_at_is_refused_within_the_deadline(tmp_path, monkeypatch):
    from curriclip import cluster

    monkeypatch.setattr(cluster, "REACH_DEADLINE_S", 2.0)
    started = time.monotonic()
    code, out = _run(["search", "--preset", "smoke", "--storage", tmp_path / "runs", "--address", "127.0.0.1:1"])
    _one_line(code, out, "--address 127.0.0.1:1: no Ray cluster reachable there")
    assert time.monotonic() - started < 20
    assert not (tmp_path / "runs").exists()
    _one_line(*_run(["search", "--preset", "smoke", "--address", "nowhere"]), "expected HOST:PORT")
