"""How much compute the search needs to find a curriculum close to the best: searchers and schedulers on the table.

Every combination (sampler x scheduler) searches the tabular curriculum benchmark
(``benchmarks/curriculum_table/table.parquet``: the default preset's size, every configuration
of a grid over the default space trained on two seeds, its validate curve stored) through
``curriclip.search.replay``: today's searcher, window and per-(arm, level) scheduler, two slots
(the default on 2 cores) on a virtual clock made of the stored epoch times. Each repeat uses
another sampler seed and another draw of the baselines' learning rates.

Target: at every level, the best completed curriculum so far (what the protocol would select:
the highest validate score) has a true quality (its mean over the table's seeds) within one
seed-SD of the table's best at that level. Measured per repeat: the curriculum trial-epochs
and the virtual wall (the whole search, baselines included) until the target, and the regret
(table best minus the selected configuration's true quality, averaged over levels) at the
default budget (``search.num_trials`` of the default preset). A repeat that does not reach the
target within ``--budget`` curriculum trials counts as infinite compute (the median stays
finite while more than half reach it). Ratios are to random search without early stopping
(random + FIFO); a Mann-Whitney U test (scipy) says whether a combination's compute differs
from the default's.

The second table answers "how many configurations per arm before the budget stops deciding":
each arm's expected best validate score after n configurations (Dodge et al. 2019, "Show Your
Work", the expected maximum of n draws from the arm's runs in the table), per level.

    python benchmarks/bench_search_efficiency.py --repeats 100 --jobs 2 --record
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "benchmarks" / "curriculum_table" / "table.parquet"
RESULTS = ROOT / "benchmarks" / "results" / "search_efficiency.json"
RENDERED = ROOT / "benchmarks" / "results" / "search_efficiency.md"
METRIC = "retrieval_auc"
SLOTS = 2
BUDGETS = [1, 2, 4, 8, 16, 32]  # configurations per arm and level, for the expected-best curves


@dataclass(frozen=True)
class Combination:
    """A sampler and a scheduler: ``sampler`` in {random, tpe, cmaes}; ``scheduler`` in {fifo, asha, hyperband}."""

    name: str
    sampler: str
    scheduler: str
    startup: int | None = None  # TPE / GP / CMA-ES random trials first (None: the default preset's)
    reduction_factor: int | None = None  # ASHA rung spacing (None: the default's)
    grace_period: int | None = None
    matched: bool = True  # False: each trial judged from its own ready epoch (arms no longer pruned alike)


COMBINATIONS = [
    Combination("random + FIFO", "random", "fifo"),
    Combination("TPE, startup = the default budget + ASHA (default)", "tpe", "asha"),
    Combination("TPE, 4 startup + ASHA (the default before this table)", "tpe", "asha", startup=4),
    Combination("TPE, 2 startup + ASHA", "tpe", "asha", startup=2),
    Combination("TPE, 8 startup + ASHA", "tpe", "asha", startup=8),
    Combination("TPE, 4 startup + FIFO", "tpe", "fifo", startup=4),
    Combination("TPE, 4 startup + ASHA, rungs x2 from epoch 1", "tpe", "asha", 4, reduction_factor=2, grace_period=1),
    Combination("TPE, 4 startup + ASHA, each trial judged from its own ready epoch", "tpe", "asha", 4, matched=False),
    Combination("TPE, 4 startup + async Hyperband (3 brackets)", "tpe", "hyperband", startup=4),
    Combination("random + ASHA", "random", "asha"),
    Combination("CMA-ES, 4 startup + ASHA", "cmaes", "asha", startup=4),
]
BASELINE = "random + FIFO"
DEFAULT = "TPE, startup = the default budget + ASHA (default)"
#: the confirm seeds the budgets are set for: a preset's K (default 5, thorough 20); the expected best must come
#: within one seed-SD x sqrt(5 / K) of 32 configurations' (what K seeds detect shrinks as 1 / sqrt(K))
BUDGET_KS = {"default": 5, "thorough": 20}

_cache: dict = {}


def table() -> tuple[pd.DataFrame, dict]:
    """The table and its build metadata (commit, versions, seeds, grid), read once per process."""
    if "table" not in _cache:
        import pyarrow.parquet as pq

        data = pq.read_table(_cache.get("path", TABLE))
        _cache["table"] = (data.to_pandas(), json.loads(data.schema.metadata[b"curriclip"]))
    return _cache["table"]


def finals(frame: pd.DataFrame, metric: str = METRIC) -> pd.DataFrame:
    """One row per run: its configuration and its last epoch's validate score."""
    last = frame[frame["epoch"] == frame["epoch"].max()]
    return last[["arm", "config", "level", "seed", "lr", metric]].rename(columns={metric: "final"})


def truths(frame: pd.DataFrame) -> dict[float, dict]:
    """Per level: each curriculum's true quality (mean over seeds), the best, and the pooled seed-SD."""
    runs = finals(frame)
    out = {}
    for level, group in runs[runs["arm"] == "curriculum"].groupby("level"):
        by_config = group.groupby("config")["final"]
        sd = float(np.sqrt(by_config.var(ddof=1).mean()))
        means = by_config.mean()
        out[float(level)] = {"means": means.to_dict(), "best": float(means.max()), "sd": sd}
    return out


def simulated_experiment(meta: dict, repeat: int, combo: Combination, num_trials: int):
    """The default preset searching the table's grid, with this combination's searcher and scheduler settings."""
    from curriclip.presets import preset_experiment

    grid = meta["grid"]
    scheduler = "asha" if combo.scheduler == "hyperband" else combo.scheduler  # the experiment's own settings
    search = {"num_trials": num_trials, "sampler_seed": repeat, "scheduler": scheduler, "max_concurrent": SLOTS}
    if combo.startup is not None:
        search["n_startup_trials"] = combo.startup
    if combo.reduction_factor is not None:
        search["reduction_factor"] = combo.reduction_factor
    if combo.grace_period is not None:
        search["grace_period"] = combo.grace_period
    space = {
        "pacing": {
            name: {"a": [min(grid["a"]), max(grid["a"])], "b": [min(grid["b"]), max(grid["b"])]}
            for name in grid["pacing"]
        },
        "stage_span": [min(grid["stage_span"]), max(grid["stage_span"])],
    }
    return preset_experiment("default", {"search": search, "space": space})


def _sampler(combo: Combination, seed: int, startup: int):
    import optuna

    from curriclip.search.searcher import default_sampler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if combo.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if combo.sampler == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=startup, warn_independent_sampling=False)
        return default_sampler(METRIC, seed, startup)


def _scheduler(combo: Combination, experiment):
    """The combination's scheduler, built as the search builds it (``make_scheduler``), judged from the same epoch."""
    import functools

    from ray.tune.schedulers import AsyncHyperBandScheduler

    from curriclip.search.runner import judge_from
    from curriclip.search.scheduler import PerLevelScheduler, make_scheduler

    search = experiment.search
    judge = judge_from(experiment) if combo.matched else 1
    if combo.scheduler == "hyperband":  # asynchronous Hyperband: ASHA brackets of several grace periods
        make = functools.partial(
            AsyncHyperBandScheduler,
            time_attr="training_iteration",
            metric=METRIC,
            mode="max",
            max_t=experiment.training.epochs,
            grace_period=1,
            reduction_factor=search.reduction_factor,
            brackets=3,
        )
        return PerLevelScheduler(lambda level: make(), "async Hyperband", judge_from=judge)
    return make_scheduler(
        combo.scheduler,
        METRIC,
        "max",
        experiment.training.epochs,
        search.grace_period,
        search.reduction_factor,
        judge_from=judge,
    )


def _baselines(meta: dict, repeat: int) -> list[dict]:
    """The default's tuned baselines, their learning rates drawn as the default draws them, on the table's lr grid."""
    from curriclip.spaces import search_baselines

    experiment = simulated_experiment(meta, repeat, COMBINATIONS[0], meta["default_num_trials"])
    grid = np.log(meta["grid"]["baseline_lr"])
    out = []
    for cfg in search_baselines(experiment, "/table"):
        nearest = float(np.exp(grid[np.argmin(np.abs(grid - np.log(cfg["lr"])))]))
        out.append({**cfg, "lr": nearest})
    return out


def simulate(combo: Combination, repeat: int, budget: int) -> dict:
    """One repeat: compute until the target (or inf), and the regret at the default budget."""
    import optuna

    from curriclip.search.replay import GridSpace, TableCurves, incumbents, replay_search
    from curriclip.search.runner import curriculum_searcher
    from curriclip.spaces import CurriculumSpace, sparsity_grid

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    frame, meta = table()
    if "curves" not in _cache:
        _cache["curves"] = TableCurves(frame, METRIC)
        _cache["truths"] = truths(frame)
    curves, truth = _cache["curves"], _cache["truths"]
    grid = meta["grid"]
    space_grid = {"stage_span": grid["stage_span"], "lr": [meta["curriculum_lr"]]}
    for name in grid["pacing"]:
        space_grid |= {f"{name}_a": grid["a"], f"{name}_b": grid["b"]}

    def quality(cfg: dict) -> float:
        return truth[round(float(cfg["sparsity"]), 6)]["means"][curves.config_number(cfg)]

    def run(num_trials: int, stop=None):
        experiment = simulated_experiment(meta, repeat, combo, num_trials)
        startup = experiment.search.n_startup_trials
        space = GridSpace(CurriculumSpace(experiment, "/table"), space_grid)
        searcher = curriculum_searcher(
            experiment,
            space,
            _baselines(meta, repeat),
            sparsity_grid(experiment),
            sampler=_sampler(combo, repeat, startup),
        )
        np.random.seed(repeat)  # Ray's async Hyperband puts each trial in a bracket with numpy's global generator
        return replay_search(
            curves,
            searcher,
            _scheduler(combo, experiment),
            slots=SLOTS,
            study_trials=num_trials,
            epochs=experiment.training.epochs,
            metric=METRIC,
            stop=stop,
        )

    epochs = int(frame["epoch"].max())
    levels = sorted(truth)
    reached: dict = {}

    def at_target(replay) -> bool:
        best = incumbents(replay, epochs)
        if all(
            level in best and quality(best[level][-1][1]) >= truth[level]["best"] - truth[level]["sd"]
            for level in levels
        ):
            done = replay.finished[-1]
            reached.update(epochs=done.curriculum_spent, wall=done.end)
            return True
        return False

    run(budget, stop=at_target)
    short = run(meta["default_num_trials"])
    best = incumbents(short, epochs)
    regret = float(
        np.mean([truth[level]["best"] - quality(best[level][-1][1]) if level in best else math.nan for level in levels])
    )
    return {
        "combination": combo.name,
        "repeat": repeat,
        "reached": bool(reached),
        "trial_epochs": reached.get("epochs", math.inf),
        "wall": reached.get("wall", math.inf),
        "regret": regret,
        "default_trial_epochs": short.curriculum_epochs,
    }


def _job(args: tuple) -> dict:
    combo, repeat, budget = args
    warnings.filterwarnings("ignore", module="optuna")  # experimental-feature and enqueued-parameter notices
    return simulate(combo, repeat, budget)


def _over(value: float, reference: float) -> float:
    """A ratio to the baseline's median; NaN when the baseline never reached the target (infinite median)."""
    return math.nan if math.isinf(reference) else float(value / reference)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Per combination: reached, median and IQR of compute to target, ratios to random + FIFO, regret, U test."""
    from scipy.stats import mannwhitneyu

    out = []
    base = rows[rows["combination"] == BASELINE]
    default = rows[rows["combination"] == DEFAULT]
    base_epochs, base_wall = base["trial_epochs"].median(), base["wall"].median()
    for combo in COMBINATIONS:
        r = rows[rows["combination"] == combo.name]
        if r.empty:
            continue
        q = r["trial_epochs"].quantile([0.25, 0.5, 0.75], interpolation="lower")
        w = r["wall"].quantile([0.25, 0.5, 0.75], interpolation="lower")
        p = (
            math.nan
            if combo.name == DEFAULT
            else float(mannwhitneyu(r["trial_epochs"], default["trial_epochs"], alternative="two-sided").pvalue)
        )
        out.append(
            {
                "combination": combo.name,
                "repeats": len(r),
                "reached": int(r["reached"].sum()),
                "trial_epochs_median": float(q[0.5]),
                "trial_epochs_q1": float(q[0.25]),
                "trial_epochs_q3": float(q[0.75]),
                "trial_epochs_ratio": _over(q[0.5], base_epochs),
                "wall_median": float(w[0.5]),
                "wall_q1": float(w[0.25]),
                "wall_q3": float(w[0.75]),
                "wall_ratio": _over(w[0.5], base_wall),
                "regret_mean": float(r["regret"].mean()),
                "regret_median": float(r["regret"].median()),
                "default_trial_epochs": float(r["default_trial_epochs"].mean()),
                "p_vs_default": p,
            }
        )
    table = pd.DataFrame(out)
    tested = table["p_vs_default"].notna()
    table["p_holm_vs_default"] = math.nan
    if tested.any():  # Holm over every combination compared with the default
        from curriclip.stats import holm_adjust

        table.loc[tested, "p_holm_vs_default"] = holm_adjust(table.loc[tested, "p_vs_default"].to_numpy())
    return table


def budget_curves(frame: pd.DataFrame, ns: list[int]) -> pd.DataFrame:
    """Each arm's expected best validate score after n configurations, per level (every run of the table a draw)."""
    from curriclip.stats.expected_max import expected_max

    runs = finals(frame)
    rows = []
    for (level, arm), group in runs.groupby(["level", "arm"]):
        values = group["final"].to_numpy()
        rows += [
            {"level": float(level), "arm": arm, "n": n, "expected_best": expected_max(values, n), "runs": len(values)}
            for n in ns
        ]
    return pd.DataFrame(rows)


def saturating_budgets(frame: pd.DataFrame, ns: list[int], k: int) -> dict[str, dict[str, int]]:
    """Per level and arm: the fewest configurations whose expected best is within one seed-SD x sqrt(5 / k) of
    n = max(ns)'s (k: the confirm seeds the comparison will have)."""
    from curriclip.stats.expected_max import saturating_budget

    runs, truth = finals(frame), truths(frame)
    out: dict[str, dict[str, int]] = {}
    for (level, arm), group in runs.groupby(["level", "arm"]):
        tolerance = truth[float(level)]["sd"] * math.sqrt(5 / k)
        out.setdefault(f"{float(level):g}", {})[arm] = saturating_budget(group["final"].to_numpy(), tolerance, ns)
    return out


def _fmt_epochs(median: float | None, q1: float | None, q3: float | None) -> str:
    """Median [IQR]; JSON holds a repeat that never reached the target (infinite compute) as null."""

    def one(v: float | None) -> str:
        return "∞" if v is None or math.isinf(v) else f"{v:.0f}"

    return f"{one(median)} [{one(q1)}, {one(q3)}]"


def _ratio(v: float | None) -> str:
    return "∞" if v is None or math.isinf(v) or math.isnan(v) else f"{v:.2f}"


def _row(record: dict, name: str) -> dict:
    return next(row for row in record["summary"] if row["combination"] == name)


def reading(record: dict) -> str:
    """What the record says about the default, in words (the README states it; a test keeps the two equal)."""
    default, random_asha = _row(record, DEFAULT), _row(record, "random + ASHA")
    best = min(
        (row for row in record["summary"] if row["trial_epochs_ratio"] is not None),
        key=lambda row: row["trial_epochs_ratio"],
    )
    decided = [row["combination"] for row in record["summary"] if (row["p_holm_vs_default"] or 1.0) < 0.05]
    return (
        f"On the tabular curriculum benchmark (`benchmarks/results/search_efficiency.json`, commit {record['commit']}, "
        f"{record['date']}) no sampler or scheduler found a curriculum within one seed-SD of the best with clearly "
        f"less compute than random proposals ({'none' if not decided else ', '.join(decided)} differed from the "
        f"default at Holm-corrected p < 0.05 over {record['repeats']} replays; the lowest median took "
        f"{best['trial_epochs_ratio']:.2f} of random + FIFO's trial-epochs), and TPE "
        f"reached the target within {record['budget']} curriculum trials less often than random proposals "
        f"({_row(record, 'TPE, 4 startup + ASHA (the default before this table)')['reached']} and "
        f"{random_asha['reached']} of {random_asha['repeats']} replays). So the default search proposes every "
        f"configuration of its budget at random (TPE's startup phase covers the whole budget: "
        f"{default['trial_epochs_ratio']:.2f} of random + FIFO's compute, regret "
        f"{default['regret_mean']:.4f} at the default budget) with ASHA per arm and level, which in the default "
        f"space stops no trial: a curriculum of the space may become judgeable only at the last epoch."
    )


def render(record: dict) -> str:
    """The benchmark's two tables in Markdown, from the record (what the docs include and a test compares)."""
    meta = record["table"]
    lines = [
        f"Search efficiency on the tabular curriculum benchmark (commit {record['commit']}, {record['date']}; "
        f"table built at commit {meta['commit']}: {meta['configs_per_level']} curriculum configurations x "
        f"{len(meta['levels'])} levels x {len(meta['seeds'])} seeds, default preset's size, "
        f"{meta['build_wall_s'] / 60:.0f} min on 2 CPU cores). {record['repeats']} repeats per combination "
        f"(sampler seeds 0–{record['repeats'] - 1}), {SLOTS} slots, up to {record['budget']} curriculum trials; "
        f"target: the selected curriculum within one seed-SD of the table's best at every level "
        f"({', '.join(f'{float(k):.0%}: best {v[0]:.3f}, SD {v[1]:.3f}' for k, v in record['targets'].items())}).",
        "",
        "| combination | reached | curriculum trial-epochs to target, median [IQR] | ratio to random + FIFO "
        "| virtual wall to target (s), median [IQR] | ratio | regret at the default budget (mean) "
        "| Mann-Whitney p vs default (Holm) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in record["summary"]:
        held = row["p_holm_vs_default"]
        p = "" if held is None or math.isnan(held) else f"{held:.2g}"
        lines.append(
            f"| {row['combination']} | {row['reached']}/{row['repeats']} "
            f"| {_fmt_epochs(row['trial_epochs_median'], row['trial_epochs_q1'], row['trial_epochs_q3'])} "
            f"| {_ratio(row['trial_epochs_ratio'])} "
            f"| {_fmt_epochs(row['wall_median'], row['wall_q1'], row['wall_q3'])} | {_ratio(row['wall_ratio'])} "
            f"| {row['regret_mean']:.4f} | {p} |"
        )
    lines += [
        "",
        "Expected best validate retrieval AUC after n configurations (Dodge et al. 2019), per arm and level:",
        "",
    ]
    curves = pd.DataFrame(record["budget_curves"])
    ns = sorted(curves["n"].unique())
    lines.append("| level | arm | runs | " + " | ".join(f"n = {n}" for n in ns) + " |")
    lines.append("|---|---|---:|" + "---:|" * len(ns))
    for (level, arm), group in curves.groupby(["level", "arm"]):
        values = group.set_index("n")["expected_best"]
        lines.append(
            f"| {level:.0%} | {arm} | {group['runs'].iloc[0]} | " + " | ".join(f"{values[n]:.4f}" for n in ns) + " |"
        )
    lines.append("")
    for preset, k in BUDGET_KS.items():
        saturating = "; ".join(
            f"{float(level):.0%}: " + ", ".join(f"{arm} {n}" for arm, n in sorted(arms.items()))
            for level, arms in record["saturating_budgets"][preset].items()
        )
        lines.append(
            f"Fewest configurations per arm and level whose expected best is within {math.sqrt(5 / k):g} seed-SD "
            f"of {ns[-1]} configurations' (for {preset}'s K = {k}): {saturating}."
        )
    if {row["combination"] for row in record["summary"]} >= {combo.name for combo in COMBINATIONS}:  # not --only
        lines += ["", reading(record)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=TABLE, help="the tabular benchmark (Parquet)")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--budget", type=int, default=48, help="curriculum trials a repeat may spend at most")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="combinations by name (default: all)")
    parser.add_argument("--record", action="store_true", help=f"write {RESULTS.name} and {RENDERED.name}")
    parser.add_argument("--render", action="store_true", help="only render the committed record")
    args = parser.parse_args()
    if args.render:
        RENDERED.write_text(render(json.loads(RESULTS.read_text())))
        return

    from curriclip.presets import preset_experiment
    from curriclip.trainables.provenance import VERSIONS

    _cache["path"] = args.table
    frame, meta = table()
    meta = {**meta, "default_num_trials": preset_experiment("default").search.num_trials}
    _cache["table"] = (frame, meta)
    combos = [c for c in COMBINATIONS if args.only is None or c.name in args.only]
    jobs = [(combo, repeat, args.budget) for combo in combos for repeat in range(args.repeats)]
    started = time.monotonic()
    rows = []
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("fork")) as pool:
        for done, row in enumerate(pool.map(_job, jobs, chunksize=4), start=1):
            rows.append(row)
            if done % 20 == 0 or done == len(jobs):
                print(
                    f"search efficiency: {done}/{len(jobs)} replays, {time.monotonic() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
    frame_rows = pd.DataFrame(rows)
    summary = summarise(frame_rows)
    truth = truths(frame)
    record = {
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
        "date": time.strftime("%Y-%m-%d"),
        "versions": VERSIONS,
        "repeats": args.repeats,
        "budget": args.budget,
        "wall_s": time.monotonic() - started,
        "table": {k: meta[k] for k in ("commit", "seeds", "levels", "build_wall_s", "configs_per_level", "runs")},
        "targets": {str(level): [t["best"], t["sd"]] for level, t in truth.items()},
        "summary": json.loads(summary.to_json(orient="records")),
        "budget_curves": json.loads(budget_curves(frame, BUDGETS).to_json(orient="records")),
        "saturating_budgets": {preset: saturating_budgets(frame, BUDGETS, k) for preset, k in BUDGET_KS.items()},
    }
    text = render(record)
    print(text)
    if args.record:
        from curriclip.rundir.atomic import atomic_text

        atomic_text(RESULTS, json.dumps(record, indent=1) + "\n")
        atomic_text(RENDERED, text)


if __name__ == "__main__":
    main()
