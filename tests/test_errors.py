"""Bad input gets a one-line error naming the field or path, exit code 2, nothing half-written."""

import json

import pytest
from typer.testing import CliRunner

from curriclip.cli import app

runner = CliRunner()


def _run(args, tmp_path):
    result = runner.invoke(app, args, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "yaml_text, expected",
    [
        ("space:\n  tasks: [findings, nosuchtask]\n", "space.tasks: unknown task 'nosuchtask'"),
        ("space:\n  pacing: [linear, wiggly]\n", "space.pacing: unknown pacing function 'wiggly'"),
        ("space:\n  pacing:\n    linear: {c: [0.1, 0.2]}\n", "pacing 'linear' has no parameter 'c'"),
        ("space:\n  sparsity: [0.0, 0.5]\n", "space.sparsity: sparsity level 0.0 is not in (0, 1]"),
        ("training:\n  epochs: zero\n", "training.epochs: Input should be a valid integer"),
        ("trainning:\n  epochs: 3\n", "trainning: unknown field"),
        ("model: huge\n", "model: unknown model preset 'huge'"),
        ("space: [1, 2\n", "line"),
        ("- just\n- a list\n", "expected a mapping"),
        ("data:\n  source: dir\n  path: /no/such/dataset\n", "/no/such/dataset: dataset directory does not exist"),
    ],
)
def test_bad_experiment_files(tmp_path, yaml_text, expected):
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml_text)
    code, out = _run(["search", str(exp), "--storage", str(tmp_path / "runs")], tmp_path)
    assert code == 2
    assert expected in out
    assert out.count("\n") == 1, out  # one line
    assert str(exp) in out or "/no/such" in out
    assert not (tmp_path / "runs").exists()  # nothing written


def test_missing_paths(tmp_path):
    code, out = _run(["search", str(tmp_path / "missing.yaml")], tmp_path)
    assert code == 2 and "missing.yaml: experiment file not found" in out
    code, out = _run(["resume", str(tmp_path / "nope")], tmp_path)
    assert code == 2 and "nope: run directory not found" in out
    code, out = _run(["report", str(tmp_path)], tmp_path)
    assert code == 2 and "not a run directory" in out
    code, out = _run(["train", str(tmp_path / "t.json")], tmp_path)
    assert code == 2 and "t.json: trial config not found" in out


def test_bad_trial_config(tmp_path):
    path = tmp_path / "trial.json"
    path.write_text(json.dumps({"arm": "curriculum", "dataset_dir": "/d", "tasks": ["itc"], "pacing": "zigzag"}))
    code, out = _run(["train", str(path)], tmp_path)
    assert code == 2 and "pacing: unknown pacing function 'zigzag'" in out
    path.write_text("{not json")
    code, out = _run(["train", str(path)], tmp_path)
    assert code == 2 and "invalid JSON" in out


def test_unknown_list_kind_and_listing(tmp_path):
    code, out = _run(["list", "gizmos"], tmp_path)
    assert code == 2 and "unknown kind 'gizmos'" in out
    code, out = _run(["list", "pacing"], tmp_path)
    assert code == 0 and {"linear", "root", "step", "none"} <= set(out.split())


def _command_paths() -> list[list[str]]:
    """Every command and group of the app, found by walking it (a new command is covered without listing it)."""
    import typer.main

    paths: list[list[str]] = []

    def walk(command, path: list[str]) -> None:
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


COMMANDS = _command_paths()


def test_the_walk_finds_every_command():
    names = {" ".join(p) for p in COMMANDS}
    assert {"search", "resume", "confirm", "report", "train", "list", "fuse", "data synth", "data csv"} <= names
    assert {"data brats", "data synth-brats", "taskmap map", "taskmap orderings", "taskmap families"} <= names
    assert len(COMMANDS) >= 19  # 16 commands, 2 groups and the app itself


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(p) or "curriclip" for p in COMMANDS])
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"], prog_name="curriclip")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output and " ".join(["curriclip", *command]).strip() in " ".join(result.output.split())
    if command:  # the command's own one-line description, not its parent's
        assert "Options" in result.output
