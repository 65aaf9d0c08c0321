"""Bad input as a new user gives it: each probe's exit code, the line it prints, and what it leaves on disk.

Runs the CLI in-process (Typer's ``CliRunner``) in a scratch directory, one probe per class of
bad input that needs no finished run: an output under a regular file or on a read-only place,
nonsense in the experiment file, bad options, an address nothing answers at. Prints a Markdown
table (also written to ``benchmarks/results/refusals.md``); the promise is exit code 2, one line
naming the field, option or file, and nothing left behind. The classes that need a finished run
(damaged trial records, a read-only run directory, Ctrl-C during confirm) are exercised by
``tests/test_search_e2e.py``; the same probes as assertions are ``tests/test_refusals.py``.

    python benchmarks/probe_refusals.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

#: (class, probe, experiment YAML or None, CLI arguments); {tmp}, {file}, {locked}, {exp} are filled in
PROBES: list[tuple[str, str, str | None, list[str]]] = [
    ("--out under a regular file", "report", None, ["report", "{tmp}", "--out", "{file}/r.html"]),
    ("--out under a regular file", "taskmap map", None, ["taskmap", "map", "{tmp}", "--out", "{file}/m"]),
    ("--out under a regular file", "data synth-brats", None, ["data", "synth-brats", "--out", "{file}/b"]),
    ("--out under a regular file", "data brats", None, ["data", "brats", "--cases", "{tmp}", "--out", "{file}/b"]),
    ("--out on a read-only place", "report", None, ["report", "{tmp}", "--out", "{locked}/r.html"]),
    ("--out on a read-only place", "taskmap map", None, ["taskmap", "map", "{tmp}", "--out", "{locked}/m"]),
    ("--out on a read-only place", "data synth-brats", None, ["data", "synth-brats", "--out", "{locked}/b"]),
    ("--out naming a directory", "report", None, ["report", "{tmp}", "--out", "{tmp}"]),
    (
        "nonsense accepted",
        "labels sparsity, label-free tasks",
        "space:\n  sparsity_mode: labels\n  tasks: [rotation]\n",
        ["search", "{exp}", "--storage", "{tmp}/runs"],
    ),  # fmt: skip
    (
        "nonsense accepted",
        "reports sparsity, no image task",
        "space:\n  sparsity_mode: reports\n  tasks: [text_findings]\n",
        ["search", "{exp}", "--storage", "{tmp}/runs"],
    ),  # fmt: skip
    (
        "nonsense accepted",
        "confirm_seeds: 1",
        "protocol:\n  confirm_seeds: 1\n",
        ["search", "{exp}", "--storage", "{tmp}/runs"],
    ),
    ("nonsense accepted", "duplicated YAML key", "name: a\nname: b\n", ["search", "{exp}", "--storage", "{tmp}/runs"]),
    ("nonsense accepted", '--name ""', None, ["search", "--preset", "smoke", "--name", "", "--storage", "{tmp}/runs"]),
    ("nonsense accepted", "orderings --tasks bogus", None, ["taskmap", "orderings", "{tmp}", "--tasks", "bogus"]),
    (
        "refused after Ray started",
        "ordering_prior taco, no task_map",
        "space:\n  ordering_prior: taco\n",
        ["search", "{exp}", "--storage", "{tmp}/runs"],
    ),  # fmt: skip
    (
        "refused after Ray started",
        "taco, task_map not a map",
        "space:\n  ordering_prior: taco\n  task_map: {tmp}/nomap\n",
        ["search", "{exp}", "--storage", "{tmp}/runs"],
    ),  # fmt: skip
    (
        "refused after training",
        "taskmap --clip-checkpoint missing",
        None,
        ["taskmap", "map", "{tmp}", "--clip-checkpoint", "{tmp}/missing.pt"],
    ),  # fmt: skip
    (
        "refused after training",
        "taskmap --clip-preset bogus",
        None,
        ["taskmap", "map", "{tmp}", "--clip-preset", "bogus"],
    ),
    ("message naming the wrong thing", "confirm_seeds: 0 (blamed on --seeds)", None, ["confirm", "{tmp}/run0"]),
    ("message naming the wrong thing", "fuse --method bogus", None, ["fuse", "{tmp}", "--method", "bogus"]),
    (
        "message naming the wrong thing",
        "equivalence_margin negative",
        "protocol:\n  equivalence_margin: {clip_score: -0.1}\n",
        ["search", "{exp}", "--storage", "{tmp}/runs"],
    ),  # fmt: skip
    ("message naming the wrong thing", "fuse on a missing directory", None, ["fuse", "{tmp}/nope"]),
    ("message naming the wrong thing", "option error --seeds 0", None, ["confirm", "{tmp}", "--seeds", "0"]),
    (
        "a hang",
        "--address 127.0.0.1:1",
        None,
        ["search", "--preset", "smoke", "--storage", "{tmp}/runs", "--address", "127.0.0.1:1"],
    ),  # fmt: skip
]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _scratch(tmp: Path) -> None:
    (tmp / "file").write_text("x")
    locked = tmp / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    run0 = tmp / "run0"
    run0.mkdir()
    (run0 / "experiment.yaml").write_text("name: run0\nprotocol:\n  confirm_seeds: 0\n")
    (run0 / "run.json").write_text('{"dataset_dir": "/d", "total_trials": 1}')


def probe(args: list[str], yaml_text: str | None, tmp: Path) -> dict:
    """One probe in a fresh scratch directory: exit code, output lines, seconds, and the paths it added."""
    from curriclip.cli import app

    fill = {"tmp": tmp, "file": tmp / "file", "locked": tmp / "locked", "exp": tmp / "exp.yaml"}
    if yaml_text is not None:
        (tmp / "exp.yaml").write_text(yaml_text.replace("{tmp}", str(tmp)))
    before = _tree(tmp)
    started = time.monotonic()
    result = CliRunner().invoke(app, [a.format(**fill) for a in args])
    seconds = time.monotonic() - started
    lines = result.output.strip().splitlines()
    return {
        "code": result.exit_code,
        "lines": lines,
        "seconds": seconds,
        "left": sorted(_tree(tmp) - before),
        "traceback": result.exception is not None and not isinstance(result.exception, SystemExit),
    }


def row(cls: str, name: str, outcome: dict, tmp: Path) -> str:
    line = outcome["lines"][0] if outcome["lines"] else "(nothing)"
    line = line.replace(str(tmp), "TMP").replace("|", "\\|")
    extra = f" (+{len(outcome['lines']) - 1} lines)" if len(outcome["lines"]) > 1 else ""
    left = ", ".join(outcome["left"]) or "nothing"
    traceback = " **traceback**" if outcome["traceback"] else ""
    return f"| {cls} | {name} | {outcome['code']}{traceback} | `{line}`{extra} | {left} | {outcome['seconds']:.1f} |"


def main() -> None:
    real_access = os.access
    rows = [
        "| class of bad input | probe | exit code | what it prints | left on disk | s |",
        "|---|---|---|---|---|---|",
    ]
    for cls, name, yaml_text, args in PROBES:
        with tempfile.TemporaryDirectory() as scratch:
            tmp = Path(scratch)
            _scratch(tmp)
            locked = str(tmp / "locked")  # root writes through a read-only mode; a read-only filesystem refuses
            os.access = lambda p, mode, locked=locked: False if str(p) == locked else real_access(p, mode)
            try:
                outcome = probe(args, yaml_text, tmp)
            finally:
                os.access = real_access
                (tmp / "locked").chmod(0o755)
            rows.append(row(cls, name, outcome, tmp))
            print(rows[-1], file=sys.stderr, flush=True)
    table = "\n".join(rows) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "refusals.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
