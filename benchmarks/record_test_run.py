"""Record how long the README's test command takes on a clean clone, for the README to state.

    python benchmarks/record_test_run.py --clone /tmp/ci-clone          # clone HEAD, run .ci/run, record
    python benchmarks/record_test_run.py --log ci.log --commit abc1234  # record a run logged before

A clean clone of HEAD runs ``.ci/run`` (it makes its own virtual environment and runs the README's
test command) under GNU ``time -v``; its log is parsed for pytest's summary line and for time's
wall clock and peak resident set size, and written to ``benchmarks/results/test_run.json`` with
the commit, the date, the cores and the 1-minute load at the start. The README and the getting
started page state ``statement(record)``; ``tests/test_published_numbers.py`` keeps them equal.
Run it on an otherwise idle machine: the time is the machine's as much as the tests'.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from curriclip.rundir.atomic import atomic_text

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "benchmarks" / "results" / "test_run.json"

_PYTEST_SUMMARY = re.compile(r"^=*\s*(?P<counts>\d+ [a-z]+(?:, \d+ [a-z]+)*) in (?P<seconds>[\d.]+)s", re.MULTILINE)
_WALL = re.compile(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?P<clock>[\d:.]+)")
_PEAK_RSS = re.compile(r"Maximum resident set size \(kbytes\): (?P<kb>\d+)")
_EXIT = re.compile(r"Exit status: (?P<rc>\d+)")


def _clock_seconds(clock: str) -> float:
    """'1:02:03.5' or '11:57.12' -> seconds."""
    seconds = 0.0
    for part in clock.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def parse_log(text: str) -> dict:
    """The figures of one ``time -v env CI=true bash .ci/run`` log (ValueError if the run did not pass)."""
    summaries = list(_PYTEST_SUMMARY.finditer(text))
    if not summaries:
        raise ValueError("no pytest summary line ('N passed ... in S s') in the log")
    summary = summaries[-1]
    counts = {kind: int(n) for n, kind in (part.split(" ") for part in summary.group("counts").split(", "))}
    if counts.get("failed") or counts.get("error") or counts.get("errors") or not counts.get("passed"):
        raise ValueError(f"the tests did not pass: {summary.group('counts')}")
    wall, rss, rc = _WALL.search(text), _PEAK_RSS.search(text), _EXIT.search(text)
    if wall is None or rss is None or rc is None:
        raise ValueError("no GNU time -v report (wall clock, maximum resident set size, exit status) in the log")
    if int(rc.group("rc")) != 0:
        raise ValueError(f".ci/run exited with {rc.group('rc')}")
    return {
        "tests_passed": counts["passed"],
        "pytest_wall_s": float(summary.group("seconds")),
        "script_wall_s": round(_clock_seconds(wall.group("clock")), 1),
        "peak_rss_gib": round(int(rss.group("kb")) / 1024**2, 2),
    }


def _minutes(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def statement(record: dict) -> str:
    """The README's sentence about the recorded run."""
    return (
        f"on a clean clone `.ci/run` ran the {record['tests_passed']:,} tests in {_minutes(record['pytest_wall_s'])} "
        f"on {record['cores']} CPU cores ({_minutes(record['script_wall_s'])} with the set-up; commit "
        f"{record['commit']}, `benchmarks/results/test_run.json`)"
    )


def _head_commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def _clone_and_run(clone: Path, log: Path) -> None:
    if clone.exists():
        raise SystemExit(f"{clone}: exists; give a new directory for the clean clone")
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    print(f"running .ci/run in {clone} (log: {log}) ...", file=sys.stderr, flush=True)
    with log.open("w") as out:
        subprocess.run(
            ["/usr/bin/time", "-v", "env", "CI=true", "bash", ".ci/run"], cwd=clone, stdout=out, stderr=out, check=False
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clone", type=Path, help="clone HEAD here (a new directory) and run .ci/run in it")
    parser.add_argument("--log", type=Path, help="with --clone: where the log goes; without: a log to record")
    parser.add_argument("--commit", help="the commit a given --log ran (default: HEAD)")
    parser.add_argument("--keep", action="store_true", help="keep the clone afterwards")
    args = parser.parse_args()
    if not (args.clone or args.log):
        parser.error("give --clone DIR or --log FILE")
    load: float | None = round(os.getloadavg()[0], 2)
    commit = (None if args.clone else args.commit) or _head_commit()
    if args.clone:
        log = args.log or args.clone.with_name(args.clone.name + ".log")
        _clone_and_run(args.clone, log)
        if not args.keep:
            shutil.rmtree(args.clone, ignore_errors=True)
    else:
        log, load = args.log, None  # the load when the logged run ran is not known
    try:
        figures = parse_log(log.read_text(errors="replace"))
    except ValueError as exc:
        raise SystemExit(f"{log}: {exc}") from None
    record = {
        "commit": commit,
        "date": datetime.date.today().isoformat(),
        "cores": os.cpu_count(),
        "load_1min_at_start": load,
        **figures,
    }
    atomic_text(RECORD, json.dumps(record, indent=1) + "\n")
    print(statement(record))


if __name__ == "__main__":
    main()
