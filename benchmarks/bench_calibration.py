"""Calibrate the protocol: planted effects it must detect, a null it must not call, an A/A test.

    python benchmarks/bench_calibration.py --runs /tmp/calib --truth-seeds 20 [--repeats 1000]
    python benchmarks/bench_calibration.py --runs /tmp/calib-tiny --tiny      # the plumbing, < 2 minutes

Runs the presets ``planted-noise``, ``planted-mtl``, ``planted-order`` and ``null`` (the whole select-then-confirm
protocol each, ~20 min apiece on 2 cores) into ``--runs`` as ``calib-<preset>``, reusing any run
directory that already has its ``answer.json``, and prints one table:

* per planted question and level: the planted (true) effect, the protocol's difference at K
  seeds, its verdict, its detectable effect, and whether it detected the effect (the planted
  direction: ``better``, or ``worse`` for planted-order's easiest-first order); for the null,
  whether any arm was called better/worse (it should not be);
* the A/A false-positive rate of every run's single_task confirm seeds split into two
  pseudo-arms ``--repeats`` times (``curriclip.stats.aa``), with its Clopper-Pearson interval.

The true effect is measured without Ray or search (``--truth-seeds K``): each question's two arms
with a fixed recipe (training.lr; the curriculum: metadata scorer, easiest first, step pacing
a=1 b=0.7, i.e. the easiest 70% for the whole budget, every task from the first step), trained with K paired seeds
at every level of the preset and evaluated on test. It is cached as ``--runs/truth-<preset>-k<K>.csv``
(``--jobs`` runs at a time) and printed as its own table with Holm-corrected intervals and the K
the protocol would need. Earlier figures can be given as ``--truth FILE``
(JSON ``{"<preset>": {"<metric>": {"<arm> vs <reference>": {"<level>": effect}}}}``).
Without either: "not measured". Every table is given per metric (``--metrics``, default the protocol's
two: CLIP score and the matched - mismatched gap).
Questions: planted-noise, curriculum vs single_task and vs curriculum_random; planted-mtl,
multitask vs single_task; planted-order, curriculum vs curriculum_random (order alone); null, every
question answer.json answers. The verdicts are answer.json's
(the protocol's Holm family); a question it lacks is compared from confirm.parquet with the same
``compare_family``, margin and alpha (its own Holm family over the levels).

``--tiny`` skips Ray (its start-up alone exceeds the 2-minute budget on a loaded 2-core machine):
it shrinks each preset to one level and a few steps and runs only the direct measurement with 4
paired seeds, whose comparison and A/A rows stand in for the protocol's. It checks the plumbing;
its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from curriclip.presets import ORDER_PACING, preset_experiment
from curriclip.protocol.direct import FIRST_SEED, SELECTION_PACING, direct_runs, fixed_recipes, paired_comparisons
from curriclip.rundir.atomic import atomic_text
from curriclip.stats.aa import aa_false_positive_rate, single_task_values

#: preset -> the (arm, reference) questions its planted effect answers; None: every arm against single_task
QUESTIONS: dict[str, list[tuple[str, str]] | None] = {
    "planted-noise": [("curriculum", "single_task"), ("curriculum", "curriculum_random")],
    "planted-mtl": [("multitask", "single_task")],
    "planted-order": [("curriculum", "curriculum_random")],
    "null": None,
}
#: The direction each planted preset plants (default ``better``): planted-order's easiest-first order is worse.
PLANTED_DIRECTION: dict[str, str] = {"planted-order": "worse"}

#: The curriculum's fixed recipe per preset where it is not planted-noise's oracle selection (``SELECTION_PACING``):
#: on the null, linear pacing that admits every pair by half of training, so the curriculum arm differs from
#: curriculum_random in order alone and from multitask in order and pacing; on planted-order, the middle of its
#: searched pacing (``ORDER_PACING``).
CURRICULUM_RECIPES: dict[str, dict] = {
    "null": {"pacing": "linear", "pacing_params": {"a": 0.5, "b": 0.2}},
    "planted-order": ORDER_PACING,
}
#: Known-direction controls: (arm, reference) -> the verdict a working protocol gives (reported, never a false call)
CONTROLS: dict[tuple[str, str], str] = {("shuffled_control", "single_task"): "worse"}

#: Committed results: one JSON file per preset, and the Markdown table the docs include, rendered from them
RESULTS = Path(__file__).parent / "results" / "calibration"
TABLE = Path(__file__).parent / "results" / "calibration.md"
#: The fresh-seed A/A record (``bench_fresh_aa.py``), whose trained rows close the README's table
AA_RECORD = Path(__file__).parent / "results" / "calibration_aa.json"
#: a calibration run's wall time and load, kept beside its answer.json
WALL_FILE = "calibration_wall.json"

#: --tiny: each preset shrunk to one level, one tuned configuration per arm, 2 confirm seeds, a few steps
TINY: dict = {
    "data": {"n": 400, "image_size": 32},
    "training": {"epochs": 1, "steps_per_epoch": 3, "batch_size": 16, "eval_batch_size": 64},
    "search": {"num_trials": 1, "seeds": [0], "n_startup_trials": 1, "grace_period": 1},
    "protocol": {"confirm_seeds": 2},
}


def _overrides(preset: str, tiny: bool) -> dict:
    if not tiny:
        return {}
    levels = preset_experiment(preset).space.sparsity[:1]
    return {**TINY, "space": {"sparsity": levels, "pacing": ["linear"]}}


def finished_run(runs: Path, preset: str, tiny: bool = False) -> Path:
    """``runs/calib-<preset>``: reused when it has its answer, else run (search and confirm)."""
    from curriclip.pipeline import run_search

    run_dir = runs / f"calib-{preset}"
    if (run_dir / "answer.json").is_file():
        print(f"reusing {run_dir}", file=sys.stderr)
        return run_dir
    if run_dir.exists():
        raise SystemExit(f"{run_dir}: exists without answer.json (resume it with `curriclip resume`, or delete it)")
    started = time.monotonic()
    experiment = preset_experiment(preset, _overrides(preset, tiny))
    run_search(experiment, name=run_dir.name, storage=str(runs))
    if not (run_dir / "answer.json").is_file():
        raise SystemExit(f"{run_dir}: the protocol finished without answer.json (see the run's report)")
    wall = {"wall_s": round(time.monotonic() - started, 1), "load_1min": round(os.getloadavg()[0], 2)}
    (run_dir / WALL_FILE).write_text(json.dumps(wall))
    print(f"{preset}: {wall['wall_s']:.0f} s", file=sys.stderr)
    return run_dir


def run_comparisons(run_dir: Path, arm: str, reference: str, metric: str, protocol) -> dict:
    """level -> the protocol's comparison from answer.json, or (a question it lacks) computed alike from confirm."""
    answer = json.loads((run_dir / "answer.json").read_text())
    found = {
        float(c["level"]): c
        for c in answer["comparisons"]
        if c["arm"] == arm and c.get("reference", answer["reference_arm"]) == reference and c["metric"] == metric
    }
    if found:
        return found
    return paired_comparisons(pd.read_parquet(run_dir / "confirm.parquet"), arm, reference, metric, protocol)


def answer_questions(answer: dict, metric: str) -> list[tuple[str, str]]:
    """The (arm, reference) questions answer.json answers on ``metric``, in its order."""
    asked = [(c["arm"], c.get("reference", answer["reference_arm"])) for c in answer["comparisons"]]
    return list(dict.fromkeys(q for q, c in zip(asked, answer["comparisons"]) if c["metric"] == metric))


def questions(preset: str, arms: list[str]) -> list[tuple[str, str]]:
    """The (arm, reference) questions of a preset; the null asks what the protocol's family asks: every arm
    against single_task, and the curriculum against curriculum_random and against multitask."""
    asked = QUESTIONS[preset]
    if asked is not None:
        return asked
    family = [(arm, "single_task") for arm in arms if arm != "single_task"]
    return family + [(a, r) for a, r in (("curriculum", "curriculum_random"), ("curriculum", "multitask")) if a in arms]


def direct_confirm(preset: str, seeds: int, overrides: dict, metrics: list[str], jobs: int = 1) -> pd.DataFrame:
    """A confirm-like table (level, arm, seed, metrics) of the preset's question arms, trained without Ray or search.

    Fixed recipes at training.lr (``curriclip.protocol.direct.fixed_recipes``; the curriculum:
    metadata scorer, easiest first, step pacing a=1 b=0.7, i.e. the easiest 70% throughout,
    every task from the first step), K paired seeds 20000 + k at every level, evaluated on test.
    """
    experiment = preset_experiment(preset, overrides)
    arms = sorted({arm for question in questions(preset, list(fixed_recipes([]))) for arm in question})
    levels = [float(level) for level in experiment.space.sparsity]
    runs = [(level, arm, FIRST_SEED + k) for level in levels for arm in arms for k in range(seeds)]
    return direct_runs(
        experiment, runs, metrics, jobs, label=f"{preset} truth", curriculum_pacing=CURRICULUM_RECIPES.get(preset)
    )


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:+.{digits}f}"


def verdict_rows(preset: str, metric: str, comparisons: dict, truth: dict) -> list[list[str]]:
    """Table rows from ``{question: {level: comparison}}`` and the true effects ``{question: {level: effect}}``."""
    rows = []
    for question, by_level in comparisons.items():
        true_by_level = truth.get(question, {})
        for level, c in sorted(by_level.items()):
            verdict = c["verdict"]
            expected = CONTROLS.get(tuple(question.split(" vs ")))
            if expected is not None:
                outcome = f"control: {verdict} (right)" if verdict == expected else f"control NOT called {expected}"
            elif preset == "null":
                outcome = "FALSE CALL" if verdict in ("better", "worse") else "no call (right)"
            else:
                outcome = "yes" if verdict == PLANTED_DIRECTION.get(preset, "better") else "no"
            true = true_by_level.get(str(level), true_by_level.get(level))
            rows.append(
                [
                    preset,
                    metric,
                    question,
                    f"{level:g}",
                    ("none planted" if preset == "null" else "not measured") if true is None else _number(true),
                    _number(c["diff_mean"]),
                    f"{verdict} (K={c['n']})",
                    _number(c["detectable_effect"]).lstrip("+"),
                    outcome,
                ]
            )
    return rows


def truth_csv(preset: str, args: argparse.Namespace) -> Path:
    """Where the truth of ``preset`` is cached; its wall time is kept beside it (``.wall.json``)."""
    return args.runs / f"truth-{preset}-k{args.truth_seeds}{'-tiny' if args.tiny else ''}.csv"


def truth_table(preset: str, args: argparse.Namespace, metrics: list[str]) -> pd.DataFrame | None:
    """The direct measurement of the preset's arms with --truth-seeds seeds, cached as truth-<preset>-k<K>.csv."""
    if not args.truth_seeds:
        return None
    cached = truth_csv(preset, args)
    if cached.is_file():
        return pd.read_csv(cached)
    started = time.monotonic()
    table = direct_confirm(preset, args.truth_seeds, _overrides(preset, args.tiny), metrics, args.jobs)
    wall = {"wall_s": round(time.monotonic() - started, 1), "load_1min": round(os.getloadavg()[0], 2)}
    cached.with_suffix(".wall.json").write_text(json.dumps(wall))
    table.to_csv(cached.with_suffix(".tmp"), index=False)
    cached.with_suffix(".tmp").rename(cached)
    return table


def truth_comparisons(preset: str, metric: str, table: pd.DataFrame | None) -> dict:
    """question -> level -> the direct measurement's comparison on ``metric`` (empty without a measurement)."""
    if table is None:
        return {}
    protocol = preset_experiment(preset).protocol
    return {
        f"{arm} vs {reference}": paired_comparisons(table, arm, reference, metric, protocol)
        for arm, reference in questions(preset, sorted(table["arm"].unique()))
    }


def true_effects(preset: str, metric: str, truth: dict, args: argparse.Namespace) -> dict:
    """question -> level -> true effect on ``metric``: from --truth, or the direct measurement's ``truth``."""
    if args.truth:
        return json.loads(Path(args.truth).read_text()).get(preset, {}).get(metric, {})
    return {question: {str(level): c["diff_mean"] for level, c in levels.items()} for question, levels in truth.items()}


def truth_rows(preset: str, metric: str, truth: dict) -> list[list[str]]:
    """The direct measurement's own comparisons: the true effect, its interval, and the K the protocol would need."""
    rows = []
    for question, by_level in truth.items():
        for level, c in sorted(by_level.items()):
            rows.append(
                [preset, metric, question, f"{level:g}", _number(c["diff_mean"]),
                 f"[{_number(c['ci'][0])}, {_number(c['ci'][1])}]", f"{c['verdict']} (K={c['n']})",
                 str(c["k_needed"])]
            )  # fmt: skip
    return rows


def aa_row(name: str, metric: str, confirm: pd.DataFrame, protocol, args: argparse.Namespace) -> list[str]:
    """The A/A row of one run's single_task confirm seeds."""
    values = single_task_values(confirm, metric)
    seeds = len(next(iter(values.values()), []))
    if seeds < 4:
        return [name, metric, f"{seeds} single_task seeds", "-", "-", "- (an A/A split needs >= 4 seeds)"]
    margin = protocol.equivalence_margin[metric]
    result = aa_false_positive_rate(values, margin, protocol.alpha, repeats=args.repeats)
    low, high = result.ci
    return [
        name,
        metric,
        f"{seeds} seeds, {result.pairs_per_split} pairs/split, {len(values)} level(s)",
        f"{result.false_positives}/{result.repeats} = {result.rate:.3f} [{low:.3f}, {high:.3f}]",
        f"{result.distinct_splits} distinct splits",
        "yes" if result.within_nominal else "NO",
    ]


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print(" | ".join(str(cell).ljust(w) for cell, w in zip(row, widths)))


def protocol_rows(preset: str, metric: str, args: argparse.Namespace) -> tuple[dict, list[str]]:
    """The protocol's comparisons of a finished (or now run) preset on ``metric``, and its A/A row."""
    run_dir = finished_run(args.runs, preset, tiny=False)
    answer = json.loads((run_dir / "answer.json").read_text())
    protocol = preset_experiment(preset).protocol  # with the run's own alpha and margins (answer.json)
    protocol = protocol.model_copy(
        update={"alpha": answer["alpha"], "equivalence_margin": answer["equivalence_margin"]}
    )
    comparisons = {
        f"{arm} vs {reference}": run_comparisons(run_dir, arm, reference, metric, protocol)
        for arm, reference in (QUESTIONS[preset] or answer_questions(answer, metric))
    }
    return comparisons, aa_row(preset, metric, pd.read_parquet(run_dir / "confirm.parquet"), protocol, args)


def tiny_rows(preset: str, metric: str, table: pd.DataFrame, args: argparse.Namespace) -> tuple[dict, list[str]]:
    """--tiny: the direct measurement (4 paired seeds, no Ray) in place of the protocol's run."""
    protocol = preset_experiment(preset).protocol
    comparisons = {
        f"{arm} vs {reference}": paired_comparisons(table, arm, reference, metric, protocol)
        for arm, reference in questions(preset, sorted(table["arm"].unique()))
    }
    return comparisons, aa_row(f"{preset} (direct)", metric, table, protocol, args)


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def _jsonable(c: dict) -> dict:
    keep = ("diff_mean", "verdict", "n", "detectable_effect", "ci", "corrected_ci", "k_needed")
    return {k: (list(c[k]) if isinstance(c[k], tuple) else c[k]) for k in keep if k in c}


def record_entry(preset: str, args: argparse.Namespace, measured: dict[str, tuple[dict, dict]]) -> dict:
    """The committed record of one preset: its truth and the protocol's calls per metric, question and level.

    ``measured``: metric -> (the protocol's comparisons, the direct measurement's), each ``{question: {level: c}}``.
    """
    from curriclip.trainables.provenance import VERSIONS

    run_dir = args.runs / f"calib-{preset}"
    answer = json.loads((run_dir / "answer.json").read_text())
    truth_file = truth_csv(preset, args).with_suffix(".wall.json")
    rows = []
    for metric, (protocol, truth) in measured.items():
        for question, by_level in protocol.items():
            for level, c in sorted(by_level.items()):
                true = truth.get(question, {}).get(float(level))
                rows.append(
                    {
                        "metric": metric,
                        "question": question,
                        "level": float(level),
                        "truth": None if true is None else _jsonable(true),
                        "protocol": _jsonable(c),
                    }
                )
    return {
        "preset": preset,
        "commit": _commit(),
        "versions": VERSIONS,
        "truth": {
            "seeds": [FIRST_SEED + k for k in range(args.truth_seeds)],
            "curriculum_pacing": CURRICULUM_RECIPES.get(preset, SELECTION_PACING),
            **(json.loads(truth_file.read_text()) if truth_file.is_file() else {}),
        },
        "protocol": {
            "k": answer["k"],
            "confirm_seeds": answer["confirm_seeds"],
            **(json.loads((run_dir / WALL_FILE).read_text()) if (run_dir / WALL_FILE).is_file() else {}),
        },
        "comparisons": rows,
    }


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "not recorded"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def render_table(entries: list[dict]) -> str:
    """The calibration table the docs include, from the committed records (a test keeps the two equal)."""
    lines = [
        "| variant | metric | question | level | true effect [95% CI, Holm] (K) | protocol: Δ, verdict (K) "
        "| detectable at K | agrees with the truth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in entries:
        for row in entry["comparisons"]:
            true, call = row["truth"], row["protocol"]
            truth_cell = "not measured"
            agrees = "-"
            if true is not None:
                low, high = true["ci"]
                truth_cell = (
                    f"{_number(true['diff_mean'])} [{_number(low)}, {_number(high)}] {true['verdict']} ({true['n']})"
                )
                agrees = "yes" if call["verdict"] == true["verdict"] else "no"
            lines.append(
                f"| {entry['preset']} | {row['metric']} | {row['question']} | {row['level']:.0%} | {truth_cell} | "
                f"{_number(call['diff_mean'])} {call['verdict']} ({call['n']}) | "
                f"{_number(call.get('detectable_effect')).lstrip('+')} | {agrees} |"
            )
    lines.append("")
    for entry in entries:
        truth, protocol = entry["truth"], entry["protocol"]
        seeds, confirm = truth["seeds"], protocol["confirm_seeds"]
        lines.append(
            f"- {entry['preset']} (commit {entry['commit']}): truth {len(seeds)} paired seeds {seeds[0]}–{seeds[-1]} "
            f"in {_minutes(truth.get('wall_s'))} (load {truth.get('load_1min', '-')}); protocol K = {protocol['k']}, "
            f"confirm seeds {confirm[0]}–{confirm[-1]}, {_minutes(protocol.get('wall_s'))} "
            f"(load {protocol.get('load_1min', '-')})"
        )
    return "\n".join(lines) + "\n"


def render_summary(entries: list[dict], aa: dict) -> str:
    """The README's calibration table, from the committed records (a test keeps the two equal).

    Per preset and metric: how many of the effects the truth calls (better or worse) the protocol
    called the same way, and how many of its calls the truth does not support (a call where the truth
    is inconclusive, or the opposite call); then the fresh-seed A/A's trained rows (``aa``:
    ``calibration_aa.json``).
    """
    lines = [
        "| calibration | metric | comparisons | true effects the protocol called | calls the truth does not support |",
        "|---|---|---:|---:|---:|",
    ]
    for entry in entries:
        for metric in dict.fromkeys(row["metric"] for row in entry["comparisons"]):
            rows = [row for row in entry["comparisons"] if row["metric"] == metric and row["truth"] is not None]
            decisive = [row for row in rows if row["truth"]["verdict"] in ("better", "worse")]
            called = sum(row["protocol"]["verdict"] == row["truth"]["verdict"] for row in decisive)
            unsupported = sum(
                row["protocol"]["verdict"] in ("better", "worse")
                and row["protocol"]["verdict"] != row["truth"]["verdict"]
                for row in rows
            )
            lines.append(
                f"| {entry['preset']} (K = {entry['protocol']['k']}) | {metric} | {len(rows)} | "
                f"{called} of {len(decisive)} | {unsupported} |"
            )
    for row in aa["metrics"]:
        low, high = row["ci"]
        lines.append(
            f"| A/A, independent fresh seeds (K = {aa['pairs']}, {row['repeats']} repeats) | {row['metric']} | "
            f"{row['comparisons']} | none planted | a false call in {row['false_calls']} of {row['repeats']} repeats: "
            f"{row['rate']:.3f} [{low:.3f}, {high:.3f}], {'pass' if row['passes'] else 'FAIL'} "
            f"(≤ {row['alpha'] + 0.02:g}) |"
        )
    return "\n".join(lines) + "\n"


def committed_entries() -> list[dict]:
    """Every committed record, in the order of QUESTIONS."""
    found = {p.stem: json.loads(p.read_text()) for p in RESULTS.glob("*.json")}
    return [found[preset] for preset in QUESTIONS if preset in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True, help="where the calib-<preset> run directories go")
    parser.add_argument("--presets", nargs="+", default=list(QUESTIONS), choices=list(QUESTIONS))
    parser.add_argument("--tiny", action="store_true", help="shrunk presets, no Ray: checks the plumbing in < 2 min")
    parser.add_argument("--truth-seeds", type=int, default=0, help="measure the true effect with this many seeds")
    parser.add_argument("--truth", help="JSON file of true effects measured before")
    parser.add_argument("--jobs", type=int, default=2, help="direct (truth) runs at a time, one thread each")
    parser.add_argument("--repeats", type=int, default=1000, help="A/A splits per run")
    parser.add_argument("--metrics", nargs="+", help="default: each preset's two verdict metrics")
    parser.add_argument("--record", action="store_true", help="write results/calibration/<preset>.json and the table")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite results/calibration.md and print the README's table"
    )
    args = parser.parse_args()
    if args.render:
        atomic_text(TABLE, render_table(committed_entries()))
        print(render_summary(committed_entries(), json.loads(AA_RECORD.read_text())), end="")  # the README's table
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    args.runs = args.runs.resolve()
    args.runs.mkdir(parents=True, exist_ok=True)
    if args.tiny:
        args.repeats = min(args.repeats, 50)

    verdicts, aa, truths = [], [], []
    for preset in args.presets:
        started = time.monotonic()
        metrics = args.metrics or list(preset_experiment(preset).protocol.metrics)
        table = truth_table(preset, args, metrics)
        direct = direct_confirm(preset, 4, _overrides(preset, True), metrics, args.jobs) if args.tiny else None
        measured = {}
        for metric in metrics:
            if args.tiny:
                comparisons, aa_line = tiny_rows(preset, metric, direct, args)
            else:
                comparisons, aa_line = protocol_rows(preset, metric, args)
            truth = truth_comparisons(preset, metric, table)
            measured[metric] = (comparisons, truth)
            verdicts += verdict_rows(preset, metric, comparisons, true_effects(preset, metric, truth, args))
            aa.append(aa_line)
            truths += truth_rows(preset, metric, truth)
        print(f"{preset}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        if args.record and not args.tiny:
            RESULTS.mkdir(parents=True, exist_ok=True)
            atomic_text(RESULTS / f"{preset}.json", json.dumps(record_entry(preset, args, measured), indent=1) + "\n")
    if args.record and not args.tiny:
        atomic_text(TABLE, render_table(committed_entries()))
    if truths:
        print(f"\nTrue effects: the direct measurement with {args.truth_seeds} paired seeds (fixed recipes, no search)")
        header = ["variant", "metric", "question", "level", "true effect", "95% CI (Holm)", "verdict", "K needed"]
        print_table(header, truths)
    print("\nPlanted effects and the null (detected = the planted direction's verdict)")
    header = ["variant", "metric", "question", "level", "true effect", "diff (K)", "verdict", "detectable", "detected"]
    print_table(header, verdicts)
    print("\nA/A: single_task confirm seeds split into two pseudo-arms (nominal rate = alpha)")
    print_table(["run", "metric", "seeds", "false positives = rate [95% CI]", "repeats", "<= alpha"], aa)


if __name__ == "__main__":
    main()
