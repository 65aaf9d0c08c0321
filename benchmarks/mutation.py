"""Mutation score of the statistics, the protocol, the pacing functions and the searcher (mutmut; not part of CI).

A line that runs under a test is not thereby checked by it: mutation testing changes the code
one small edit at a time (a ``<`` for a ``<=``, a constant, a dropped argument) and counts the
edits ("mutants") that some test notices. The modules, the test files and the pytest options
are ``[tool.mutmut]`` in ``pyproject.toml``; the Ray end-to-end tests (``slow``) are left out,
so a mutant only a slow test reaches counts as "no tests", never as killed.

Some mutants cannot be noticed by any test, since the program still means the same thing
(equivalent mutants). They are listed by name, each with the reason, in
``benchmarks/mutation_equivalent.txt``; the adjusted score leaves the listed survivors out of
the denominator, the raw score does not. A listed mutant that a test kills is reported as a
stale entry, never subtracted.

    pip install mutmut==3.8.1
    python benchmarks/mutation.py --fresh               # full run; writes benchmarks/results/mutation.{json,md}
    python benchmarks/mutation.py --report-only         # re-read mutants/ (e.g. after editing the list)
    python benchmarks/mutation.py --mutants 'curriclip.stats.*'   # re-run some mutants, then report
    python benchmarks/mutation.py --rerun-open          # after adding tests: re-test only the survivors

``--rerun-open`` re-tests the mutants that survived or had no test in the last run (new tests are
associated with the functions they reach first); a killed mutant stays killed, since tests are
only ever added.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
EQUIVALENT_FILE = ROOT / "benchmarks" / "mutation_equivalent.txt"
MUTANTS = ROOT / "mutants"
#: The modules of the measure, in the order of the table: a package directory or one file.
GROUPS = ("curriclip/stats", "curriclip/protocol", "curriclip/curriculum/pacing.py", "curriclip/search/searcher.py")
#: Detected: a test failed (killed) or the mutant made a test run past its time limit (timeout).
DETECTED = ("killed", "timeout")


@dataclass
class Counts:
    """Mutants of one file or group by mutmut status, and which survivors are listed as equivalent."""

    statuses: Counter = field(default_factory=Counter)
    equivalent: int = 0

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def detected(self) -> int:
        return sum(self.statuses[s] for s in DETECTED)

    @property
    def checked(self) -> int:
        """Mutants mutmut has a verdict on (a run stopped early leaves the rest "not checked")."""
        return self.total - self.statuses["not checked"]

    def raw_score(self) -> float | None:
        return self.detected / self.checked if self.checked else None

    def adjusted_score(self) -> float | None:
        """Detected over the checked mutants that some test could notice (all but the listed equivalent survivors)."""
        denominator = self.checked - self.equivalent
        return self.detected / denominator if denominator else None

    def add(self, other: Counts) -> None:
        self.statuses.update(other.statuses)
        self.equivalent += other.equivalent

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "killed": self.statuses["killed"],
            "timeout": self.statuses["timeout"],
            "survived": self.statuses["survived"],
            "no_tests": self.statuses["no tests"],
            "not_checked": self.statuses["not checked"],
            "other": self.checked - sum(self.statuses[s] for s in ("killed", "timeout", "survived", "no tests")),
            "equivalent": self.equivalent,
            "raw_score": self.raw_score(),
            "adjusted_score": self.adjusted_score(),
        }


def read_equivalent(path: Path = EQUIVALENT_FILE) -> dict[str, str]:
    """Mutant name -> why it is equivalent; one per line, ``name reason...``, ``#`` starts a comment line."""
    if not path.exists():
        return {}
    listed = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        listed[name] = reason.strip()
    return listed


#: Source-file globs the report (and ``--rerun-open``) is restricted to; empty: every mutated file.
REPORTED: list[str] = []


def mutated_files() -> list[str]:
    """The source files mutmut mutates (``only_mutate`` of ``[tool.mutmut]``) and the report covers."""
    import fnmatch
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "curriclip").rglob("*.py"))
    files = [f for f in files if any(fnmatch.fnmatch(f, pattern) for pattern in patterns)]
    return [f for f in files if not REPORTED or any(fnmatch.fnmatch(f, pattern) for pattern in REPORTED)]


def statuses_of(source: str) -> dict[str, str]:
    """Mutant name -> mutmut status for one source file, from the ``.meta`` file mutmut keeps beside its copy."""
    from mutmut.stats import status_by_exit_code

    meta = MUTANTS / f"{source}.meta"
    if not meta.exists():
        return {}
    exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in exit_codes.items()}


def open_mutants() -> list[str]:
    """The mutants of the last run that no test detected: survived, had no test, or were not checked."""
    return sorted(
        name
        for source in mutated_files()
        for name, status in statuses_of(source).items()
        if status in ("survived", "no tests", "not checked")
    )


def group_of(source: str) -> str:
    return next(g for g in GROUPS if source == g or source.startswith(g + "/"))


def run_mutmut(max_children: int, mutants: list[str]) -> tuple[float, list[str]]:
    """``mutmut run`` in the repository root; its wall time and command. One torch thread per child."""
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *mutants]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CURRICLIP_THREADS": "1"}
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start, command


def tally(equivalent: dict[str, str]) -> tuple[dict[str, Counts], dict[str, Counts], dict[str, list[str]]]:
    """Per file and per group: the counts; and the names of the open survivors, the "no tests" and stale entries."""
    files: dict[str, Counts] = {}
    groups = {g: Counts() for g in GROUPS}
    keys = ("equivalent", "survived", "no tests", "stale_equivalent", "other")
    names: dict[str, list[str]] = {key: [] for key in keys}
    for source in mutated_files():
        counts = Counts()
        for name, status in statuses_of(source).items():
            counts.statuses[status] += 1
            if name in equivalent:
                if status == "survived":
                    counts.equivalent += 1
                    names["equivalent"].append(name)
                else:
                    names["stale_equivalent"].append(f"{name} ({status})")
            elif status in ("survived", "no tests"):
                names[status].append(name)
            elif status not in DETECTED:
                names["other"].append(f"{name} ({status})")
        if counts.total:
            files[source] = counts
            groups[group_of(source)].add(counts)
    return files, groups, {k: sorted(v) for k, v in names.items()}


def _shown(command: list[str]) -> list[str]:
    """The command as the results show it: the interpreter by name, a long list of mutant names by its count."""
    if not command:
        return []
    head, names = command[1:6], command[6:]
    return [Path(command[0]).name, *head, *(names if len(names) <= 3 else [f"<{len(names)} mutant names>"])]


def versions() -> dict[str, str]:
    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "absent"

    return {"python": platform.python_version(), "mutmut": version("mutmut"), "torch": version("torch")}


def _score(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _row(name: str, c: Counts, before: dict | None) -> str:
    was = "–"
    if before is not None:
        checked = before["total"] - before.get("not_checked", 0)
        was = f"{before['killed'] + before['timeout']}/{checked} ({_score(before['adjusted_score'])})"
    return (
        f"| {name} | {c.total} | {c.statuses['killed']} | {c.statuses['timeout']} | {c.statuses['survived']} | "
        f"{c.statuses['no tests']} | {c.statuses['not checked']} | {c.equivalent} | {_score(c.raw_score())} | "
        f"{_score(c.adjusted_score())} | {was} |"
    )


def _summed(old_files: dict, names: list[str]) -> dict | None:
    """An earlier result's counts summed over ``names`` (the files this report covers), with its adjusted score."""
    rows = [old_files[name] for name in names if name in old_files]
    if not rows:
        return None
    keys = ("total", "killed", "timeout", "not_checked", "equivalent")
    out = {key: sum(row.get(key, 0) for row in rows) for key in keys}
    denominator = out["total"] - out["not_checked"] - out["equivalent"]
    out["adjusted_score"] = (out["killed"] + out["timeout"]) / denominator if denominator else None
    return out


def markdown(record: dict, files: dict[str, Counts], groups: dict[str, Counts], before: dict | None) -> str:
    """The table (groups, then files), the equivalent survivors with their reasons, and what stays open."""
    old_files = (before or {}).get("files", {})
    old_groups = {g: _summed(old_files, [f for f in files if group_of(f) == g]) for g in groups}
    old_all = _summed(old_files, list(files))
    lines = [
        "# Mutation score (mutmut)",
        "",
        f"Commit `{record['commit']}`, {record['label']}; python {record['versions']['python']}, "
        f"mutmut {record['versions']['mutmut']}, torch {record['versions']['torch']}; "
        f"mutmut wall time {record['wall_s']:.0f} s (`{' '.join(record['command'])}`)."
        if record["wall_s"] is not None
        else f"Commit `{record['commit']}`, {record['label']} (read from mutants/, no run).",
        "",
        "Detected = killed + timeout. Raw score = detected / checked mutants; adjusted = detected / (checked "
        "mutants − survivors listed as equivalent in `benchmarks/mutation_equivalent.txt`). Not checked: "
        "mutants a stopped run left without a verdict, outside both scores. No tests: no fast test reaches "
        "the mutated function (the Ray end-to-end tests are not run under mutmut); they count as not detected. "
        "Before: detected/checked (adjusted score) of an earlier run, per file: "
        + ("; ".join((before or {}).get("labels", [])) or "none given")
        + ".",
        "",
        f"Files reported: {record['reported_files']}.",
        "",
        "| module | mutants | killed | timeout | survived | no tests | not checked | equivalent | raw | adjusted "
        "| before |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [_row(f"**{g}**", c, old_groups.get(g)) for g, c in groups.items() if c.total]
    lines += [_row(f, c, old_files.get(f)) for f, c in files.items()]
    total = Counts()
    for c in groups.values():
        total.add(c)
    lines.append(_row("**all reported**", total, old_all))
    equivalent = record["equivalent"]
    lines += ["", f"## Equivalent survivors ({len(equivalent)})", ""]
    lines += [f"- `{name}`: {why}" for name, why in equivalent.items()]
    for key, title in (
        ("survived", "Survivors not listed as equivalent"),
        ("no tests", "No fast test reaches them"),
        ("stale_equivalent", "Listed as equivalent but not surviving"),
        ("other", "Other statuses"),
    ):
        names = record["open"][key]
        if names:
            lines += ["", f"## {title} ({len(names)})", ""] + [f"- `{n}`" for n in names]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at a time")
    parser.add_argument("--fresh", action="store_true", help="delete mutants/ first (no cached results)")
    parser.add_argument("--report-only", action="store_true", help="do not run mutmut; report what mutants/ holds")
    parser.add_argument("--mutants", nargs="*", default=[], help="mutant names or globs to (re-)run")
    parser.add_argument("--rerun-open", action="store_true", help="re-run the survivors and 'no tests' of mutants/")
    parser.add_argument("--files", nargs="*", default=[], help="source-file globs to report (and re-run) only")
    parser.add_argument("--out", default="mutation", help="result file stem under benchmarks/results/")
    parser.add_argument("--label", default="with this branch's tests", help="what the run measures, for the table")
    parser.add_argument(
        "--before",
        nargs="+",
        default=[str(RESULTS / "mutation_before.json"), str(RESULTS / "mutation_rest_before.json")],
        help="earlier results to compare, per file (a later file's entry for a source file replaces an earlier one's)",
    )
    args = parser.parse_args()
    try:
        import mutmut  # noqa: F401
    except ImportError:
        sys.exit("benchmarks/mutation.py needs mutmut: pip install mutmut==3.8.1")
    if args.fresh and MUTANTS.exists():
        shutil.rmtree(MUTANTS)
    REPORTED[:] = args.files
    mutants = args.mutants + (open_mutants() if args.rerun_open else [])
    if args.rerun_open and not mutants:
        sys.exit("no surviving or untested mutants in mutants/ to re-run")
    wall_s, command = (None, []) if args.report_only else run_mutmut(args.max_children, mutants)
    equivalent = read_equivalent()
    files, groups, open_names = tally(equivalent)
    listed_survivors = {name: equivalent[name] for name in open_names.pop("equivalent")}
    total = Counts()
    for c in groups.values():
        total.add(c)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    record = {
        "label": args.label,
        "commit": commit,
        "versions": versions(),
        "wall_s": wall_s,
        "command": _shown(command),
        "reported_files": args.files or "all mutated files",
        "groups": {g: c.as_dict() for g, c in groups.items()},
        "files": {f: c.as_dict() for f, c in files.items()},
        "all": total.as_dict(),
        "equivalent": listed_survivors,
        "open": open_names,
    }
    before = None
    for before_path in map(Path, args.before):
        if before_path.exists() and args.out != before_path.stem:
            earlier = json.loads(before_path.read_text())
            before = before or {"files": {}, "labels": []}
            before["files"].update(earlier["files"])
            before["labels"].append(f"`{before_path.name}` ({earlier['label']}, commit {earlier['commit'][:7]})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / f"{args.out}.md").write_text(markdown(record, files, groups, before), encoding="utf-8")
    print(markdown(record, files, groups, before))


if __name__ == "__main__":
    main()
