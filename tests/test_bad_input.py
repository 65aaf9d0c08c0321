"""Each class of bad input a new user runs into ends as promised: one line naming the field or file,
exit code 2, nothing left on disk, an existing run untouched. One test per class."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from curriclip.cli import app

runner = CliRunner()


def _run(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, args, catch_exceptions=False)
    return result.exit_code, result.output


def _one_line_error(code: int, out: str, *expected: str) -> None:
    assert code == 2, out
    assert out.count("\n") == 1 and out.startswith("curriclip: error: "), out
    for text in expected:
        assert text in out, out


def _files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "space:\n  pacing:\n    linear: {a: [0.1, 5.0]}\n",
            "space.pacing: pacing 'linear' parameter 'a': 5.0 is outside its domain (0, 1]",
        ),
        ("space:\n  pacing:\n    fixed_exponential: {increase: [0.5, 2.0]}\n", "outside its domain [1, inf)"),
        ("space:\n  lr: [2.0e-3, 1.0e-4]\n", "space.lr: [0.002, 0.0001]: a learning-rate range needs 0 < low <= high"),
        ("space:\n  lr: [-1.0, 1.0e-4]\n", "space.lr: [-1.0, 0.0001]"),
        ("space:\n  stage_span: [0, 5]\n", "space.stage_span: [0.0, 5.0]: a stage span range needs 0 <= low <= high"),
        (
            "space:\n  stage_pacing:\n    root: {b: [0.0, 0.5]}\n",
            "space.stage_pacing: pacing 'root' parameter 'b': 0.0",
        ),
        ("name: ..\n", "name: '..' is not a run name"),
    ],
)
def test_impossible_search_spaces_fail_before_anything_runs(tmp_path, yaml_text, expected):
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml_text)
    code, out = _run(["search", str(exp), "--storage", str(tmp_path / "runs")])
    _one_line_error(code, out, str(exp), expected)
    assert not (tmp_path / "runs").exists()


def test_run_name_dot_dot_from_the_command_line(tmp_path):
    code, out = _run(["search", "--preset", "smoke", "--name", "..", "--storage", str(tmp_path / "runs")])
    _one_line_error(code, out, "name: '..' is not a run name")
    assert not (tmp_path / "runs").exists()


def test_experiment_file_that_is_binary_or_a_directory(tmp_path):
    binary = tmp_path / "exp.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    _one_line_error(*_run(["search", str(binary)]), f"{binary}: not a text file")
    _one_line_error(*_run(["search", str(tmp_path)]), f"{tmp_path}: is a directory, not an experiment file")


def test_storage_that_is_a_file_or_read_only(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_line_error(*_run(["search", "--preset", "smoke", "--storage", str(blocker)]), f"{blocker} is a file")
    _one_line_error(*_run(["search", "--preset", "smoke", "--storage", str(blocker / "runs")]), f"{blocker} is a file")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() == 0:  # root writes to a read-only directory; a read-only filesystem refuses even root
        real_access = os.access
        monkeypatch.setattr(
            os, "access", lambda path, mode: False if str(path) == str(locked) else real_access(path, mode)
        )
    _one_line_error(
        *_run(["search", "--preset", "smoke", "--storage", str(locked / "runs")]), f"{locked} is not writable"
    )
    assert _files(locked) == []


def test_data_out_under_a_file_or_existing_refused_before_decoding(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out = _run(["data", "synth", "--out", str(blocker / "ds"), "--n", "10"])
    _one_line_error(code, out, f"--out {blocker / 'ds'}: {blocker} is a file")
    existing = tmp_path / "existing"
    existing.mkdir()
    (tmp_path / "table.csv").write_text("path,text\nmissing.png,Report.\n")
    before = _files(tmp_path)
    code, out = _run(
        [
            "data",
            "csv",
            "--table",
            str(tmp_path / "table.csv"),
            "--image-col",
            "path",
            "--text-col",
            "text",
            "--out",
            str(existing),
        ]
    )
    _one_line_error(code, out, f"--out {existing}: already exists")  # not "missing images": nothing was read
    assert _files(tmp_path) == before


def test_truncated_run_json(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "experiment.yaml").write_text("name: run\n")
    (run / "run.json").write_text('{"dataset_dir": "/d", "total_')
    _one_line_error(*_run(["resume", str(run)]), f"{run}/run.json: damaged")


def test_train_with_an_out_of_domain_pacing_value_leaves_no_directory(tmp_path):
    trial = tmp_path / "trial.json"
    trial.write_text(
        json.dumps(
            {
                "arm": "curriculum",
                "dataset_dir": "/d",
                "tasks": ["itc", "rotation"],
                "pacing": "linear",
                "pacing_params": {"a": 5.0},
            }
        )
    )
    out = tmp_path / "out"
    code, text = _run(["train", str(trial), "--out", str(out)])
    _one_line_error(code, text, "trial.json: pacing_params: 'linear' parameter 'a': 5.0 is outside its domain (0, 1]")
    assert not out.exists()
    trial.write_bytes(b"\xff\xfe\x00binary")
    _one_line_error(*_run(["train", str(trial)]), "not a text file")


def _table(tmp_path, rows: int = 12, **columns) -> tuple:
    for i in range(rows):
        Image.fromarray(np.full((8, 8), i * 10, dtype=np.uint8)).save(tmp_path / f"{i}.png")
    df = pd.DataFrame(
        {
            "path": [f"{i}.png" for i in range(rows)],
            "text": [f"Report {i}." for i in range(rows)],
            "patient": [f"p{i}" for i in range(rows)],
            **columns,
        }
    )
    df.to_csv(tmp_path / "table.csv", index=False)
    return tmp_path / "table.csv", tmp_path / "ds"


def _csv(table, out, *extra) -> tuple[int, str]:
    return _run(
        [
            "data",
            "csv",
            "--table",
            str(table),
            "--image-col",
            "path",
            "--text-col",
            "text",
            "--subject-col",
            "patient",
            "--out",
            str(out),
            "--image-size",
            "16",
            *extra,
        ]
    )


def test_empty_test_split_refused_at_ingest(tmp_path):
    table, out = _table(tmp_path, split=["train"] * 10 + ["validate"] * 2)
    code, text = _csv(table, out, "--split-col", "split")
    _one_line_error(code, text, f"{table}: the test split is empty", "'train': 10")
    assert not out.exists()


def test_a_small_source_without_splits_gets_a_test_split(tmp_path):
    table, out = _table(tmp_path, rows=4)
    code, text = _csv(table, out)
    assert code == 0, text
    splits = pd.concat(pd.read_parquet(p) for p in out.glob("part-*.parquet"))["split"].value_counts().to_dict()
    assert splits["test"] >= 1 and splits["train"] >= 1 and sum(splits.values()) == 4


def test_list_options_accept_commas(tmp_path):
    table, out = _table(tmp_path, covid=["1.0", "0.0"] * 6, pneumonia=["0.0"] * 12)
    code, text = _csv(table, out, "--label-cols", "covid,pneumonia")
    assert code == 0, text
    from curriclip.data.store import read_manifest

    assert read_manifest(out)["label_names"] == ["covid", "pneumonia"]


def test_ingest_messages_name_table_line_and_allowed_splits(tmp_path):
    table, out = _table(tmp_path, split=["train"] * 5 + ["tset"] + ["test"] * 6)
    code, text = _csv(table, out, "--split-col", "split")
    # the 6th data row is line 7 of the file (the header is line 1)
    _one_line_error(code, text, f"{table}: 1 unknown split values (allowed: train, validate, test): line0000007")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"path,text\n0.png,Report one.\n1.png,Caf\xe9 report.\n")
    code, text = _run(
        ["data", "csv", "--table", str(latin), "--image-col", "path", "--text-col", "text", "--out", str(out)]
    )
    _one_line_error(code, text, f"{latin}: line 3: not UTF-8 (byte 0xe9)")
    assert not out.exists()


def test_gpus_on_a_machine_without_one_refused_before_the_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU visible on any machine, with the real detection
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    exp = tmp_path / "exp.yaml"
    exp.write_text(f"resources:\n  gpus_per_trial: 1\ndata:\n  path: {tmp_path / 'cache'}\n")
    code, out = _run(["search", str(exp), "--storage", str(tmp_path / "runs")])
    _one_line_error(code, out, "resources.gpus_per_trial: trials ask for GPUs but this machine has none")
    assert not (tmp_path / "cache").exists() and not (tmp_path / "runs").exists()
