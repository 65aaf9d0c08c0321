"""Does ``space.ordering_prior: taco`` reach the best ordering in fewer trials than the plain searcher?

Design (so that it fits on 2 shared CPU cores): the curriculum space is narrowed to the
ordering alone (one sparsity level, linear pacing with fixed a and b, fixed stage span
and lr), so a trial's validation CLIP score depends only on its ordering. Every one of
the (k+1)! orderings of ITC and k auxiliary tasks is trained once as a real smoke-sized
trial (``run_trial``, no Ray) and its final CLIP score stored in a table (cached in
``--table``). Then, for each sampler seed, the project's searcher settings (Optuna TPE,
multivariate, group, constant liar, the preset's startup trials) run over the real
``CurriculumSpace`` with the score looked up: once plain, once with the task map's
orderings enqueued first (``with_prior_points``), exactly as the search phase does.
Trials-to-best is the 1-based index of the first trial that proposes a best-scoring
ordering (budget + 1 when none did).

Data: the smoke preset's own synthetic benchmark (``data synth --n 600 --image-size
64``), on which a smoke-sized trial costs about 10 CPU seconds; at that budget the
CLIP score mostly reflects the embedding geometry, not learned alignment (the matched
minus mismatched gap stays about 0), so the table is a cheap, honest stand-in for a
search's score landscape, not evidence about alignment. One training seed per ordering,
so "the best ordering" includes training noise; the script prints the table's spread.

    PYTHONPATH=. CURRICLIP_CACHE=/tmp/cc OMP_NUM_THREADS=1 CURRICLIP_THREADS=1 nice -n 10 \
        python benchmarks/bench_taskmap_prior.py --dataset SYNTH600 --map MAP/taskmap --table /tmp/prior-table.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import optuna

from curriclip.config import ITC, TrialConfig
from curriclip.presets import preset_experiment
from curriclip.spaces import CurriculumSpace, sparsity_grid
from curriclip.spaces.priors import ordering_params, with_prior_points
from curriclip.taskmap.prior import experiment_orderings, prior_orderings


def narrowed_experiment(tasks: list[str], task_map: str | None, trials: int):
    """The smoke preset with the space narrowed to orderings (optionally with the taco prior)."""
    space = {
        "tasks": tasks,
        "sparsity": [1.0],
        "pacing": {"linear": {"a": [0.5, 0.5], "b": [0.2, 0.2]}},
        "stage_span": [0.5, 0.5],
        "lr": None,
    }
    if task_map:
        space.update(ordering_prior="taco", task_map=task_map)
    return preset_experiment("smoke", {"space": space, "search": {"num_trials": trials}})


def replicate(dataset: str, tasks: list[str], orderings: list[str], seed: int, path: Path) -> dict[str, float]:
    """The metric of some orderings re-trained under another trial seed: how much of the table is noise."""
    from curriclip.trainables.loop import run_trial

    done = json.loads(path.read_text()) if path.is_file() else {}
    space = CurriculumSpace(narrowed_experiment(tasks, None, 1), dataset)
    items = [ITC, *tasks]
    for key in orderings:
        if key in done:
            continue
        study = optuna.create_study()
        study.enqueue_trial(ordering_params(key.split(" > "), items, "random_keys"))
        cfg = TrialConfig(**{**space(study.ask())["trial"], "threads": 1, "device": "cpu", "seed": seed})
        reports: list[dict] = []
        run_trial(cfg, lambda metrics, make_state, out=reports: out.append(metrics))
        done[key] = {k: float(v) for k, v in reports[-1].items() if isinstance(v, (int, float))}
        path.write_text(json.dumps(done, indent=2))
    return done


def score_table(dataset: str, tasks: list[str], table_path: Path) -> dict[str, dict[str, float]]:
    """Final validation metrics of every ordering, trained once each (cached, filled incrementally)."""
    from curriclip.trainables.loop import run_trial

    table = json.loads(table_path.read_text()) if table_path.is_file() else {}
    experiment = narrowed_experiment(tasks, None, 1)
    space = CurriculumSpace(experiment, dataset)
    items = [ITC, *tasks]
    for ordering in itertools.permutations(items):
        key = " > ".join(ordering)
        if key in table:
            continue
        study = optuna.create_study()
        study.enqueue_trial(ordering_params(list(ordering), items, "random_keys"))
        cfg = TrialConfig(**{**space(study.ask())["trial"], "threads": 1, "device": "cpu"})
        assert cfg.tasks == list(ordering)
        reports: list[dict] = []
        started = time.process_time()
        run_trial(cfg, lambda metrics, make_state, out=reports: out.append(metrics))
        table[key] = {k: float(v) for k, v in reports[-1].items() if isinstance(v, (int, float))}
        print(
            f"{key}: clip_score {table[key]['clip_score']:.4f} ({time.process_time() - started:.0f} CPU s)", flush=True
        )
        table_path.write_text(json.dumps(table, indent=2))
    return table


def search(table: dict[str, float], experiment, dataset: str, prior: bool, seed: int) -> list[tuple[str, str]]:
    """(ordering, prior label) of each trial of one search, in order, with scores from the table."""
    s = experiment.search
    sampler = optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=s.n_startup_trials, multivariate=True, group=True, constant_liar=True
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    points = [*s.points, *sparsity_grid(experiment)]
    orderings = experiment_orderings(experiment) if prior else None
    if orderings:
        points = with_prior_points(experiment, points, orderings)
    for point in points:
        study.enqueue_trial(point, skip_if_exists=False)
    space = CurriculumSpace(experiment, dataset, orderings)
    out = []
    for _ in range(s.num_trials):
        trial = study.ask()
        config = space(trial)
        key = " > ".join(config["trial"]["tasks"])
        study.tell(trial, table[key])
        out.append((key, config.get("prior", "none")))
    return out


def trials_to_best(history: list[tuple[str, str]], best: set[str]) -> int:
    for index, (key, _) in enumerate(history, start=1):
        if key in best:
            return index
    return len(history) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--map", required=True, help="task map directory (curriclip taskmap map)")
    parser.add_argument("--tasks", default="findings,rotation,denoising")
    parser.add_argument("--table", default="/tmp/taskmap-prior-table.json")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--metric", default="clip_score", help="the validation score (the search's metric)")
    parser.add_argument("--replicates", type=int, default=3, help="orderings re-trained with trial seed 1")
    parser.add_argument("--trial-seeds", type=int, default=1, help="score = mean over this many trial seeds")
    parser.add_argument("--out", default=None, help="write the summary here (JSON)")
    args = parser.parse_args()
    os.environ.setdefault("CURRICLIP_THREADS", "1")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # multivariate/group/constant_liar
    tasks = args.tasks.split(",")
    table = {key: row[args.metric] for key, row in score_table(args.dataset, tasks, Path(args.table)).items()}
    if args.trial_seeds > 1:  # every ordering re-trained under more trial seeds; the table holds the mean
        for seed in range(1, args.trial_seeds):
            path = Path(args.table).with_suffix(f".seed{seed}.json")
            again = replicate(args.dataset, tasks, sorted(table), seed, path)
            table = {key: value + again[key][args.metric] for key, value in table.items()}
        table = {key: value / args.trial_seeds for key, value in table.items()}
    top = max(table.values())
    best = {key for key, value in table.items() if value == top}
    print(
        f"\n{len(table)} orderings: {args.metric} mean {statistics.mean(table.values()):.4f}, "
        f"sd {statistics.stdev(table.values()):.4f}, min {min(table.values()):.4f}, max {top:.4f} ({', '.join(best)})"
    )
    ranked = sorted(table, key=table.get, reverse=True)
    chosen = [ranked[0], ranked[len(ranked) // 2], ranked[-1]][: args.replicates]
    if args.trial_seeds == 1:
        again = replicate(args.dataset, tasks, chosen, 1, Path(args.table).with_suffix(".seed1.json"))
        for key in chosen:
            print(f"seed 0 vs seed 1: {key}: {table[key]:.4f} vs {again[key][args.metric]:.4f}")
    orderings = prior_orderings(args.map, tasks)
    for name, ordering in orderings.items():
        key = " > ".join(ordering)
        rank = 1 + sum(value > table[key] for value in table.values())
        print(f"prior {name}: {key}: {args.metric} {table[key]:.4f} (rank {rank}/{len(table)})")
    summary = {"table": table, "best": sorted(best), "priors": orderings, "seeds": args.seeds, "trials": args.trials}
    for arm, task_map in (("plain", None), ("taco_prior", args.map)):
        experiment = narrowed_experiment(tasks, task_map, args.trials)
        counts, finals = [], []
        for seed in range(args.seeds):
            history = search(table, experiment, args.dataset, task_map is not None, seed)
            counts.append(trials_to_best(history, best))
            finals.append(max(table[key] for key, _ in history))
        reached = sum(c <= args.trials for c in counts)
        print(
            f"{arm:10s}: trials-to-best mean {statistics.mean(counts):.2f} +- {statistics.stdev(counts):.2f} (sd), "
            f"median {statistics.median(counts)}, reached in {reached}/{args.seeds} seeds; best score after "
            f"{args.trials} trials mean {statistics.mean(finals):.4f}; per seed {counts}"
        )
        summary[arm] = {"trials_to_best": counts, "best_after_budget": finals}
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
