"""Which encoding of task orderings lets Optuna's TPE learn: Lehmer code or random keys?

    python benchmarks/bench_encoding.py [--tasks 5] [--trials 40] [--repeats 20]

A synthetic curriculum objective with a known best ordering: each task has a preferred
position and the score falls with the distance from it (plus noise, as seed noise
does). For each encoding, TPE (multivariate, as curriclip uses it) searches the same
budget, repeated over sampler seeds; printed: mean regret of the best ordering found
(lower is better) and how often the optimum itself was found, beside random search.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import optuna

from curriclip.spaces.permutations import lehmer_decode, random_keys_decode


def objective_factory(n: int, seed: int):
    rng = np.random.default_rng(seed)
    preferred = rng.permutation(n)  # preferred position of each task
    weights = rng.uniform(0.5, 1.5, n)

    def score(ordering: list[int]) -> float:
        return -float(sum(w * abs(pos - preferred[t]) for pos, (t, w) in enumerate(zip(ordering, weights[ordering]))))

    best = [int(t) for t in np.argsort(preferred)]
    return score, score(best)


def lehmer(trial: optuna.Trial, n: int) -> list[int]:
    code = [trial.suggest_int(f"order_{i}", 0, n - 1 - i) for i in range(n - 1)]
    return [int(t) for t in lehmer_decode(code, [str(i) for i in range(n)])]


def random_keys(trial: optuna.Trial, n: int) -> list[int]:
    keys = [trial.suggest_float(f"key_{i}", 0.0, 1.0) for i in range(n)]
    return [int(t) for t in random_keys_decode(keys, [str(i) for i in range(n)])]


def run(encoding, sampler: optuna.samplers.BaseSampler, n: int, trials: int, seed: int) -> tuple[float, bool]:
    score, optimum = objective_factory(n, seed)
    noise = np.random.default_rng(seed + 1000)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    true_scores = []

    def objective(trial: optuna.Trial) -> float:
        ordering = encoding(trial, n)
        true_scores.append(score(ordering))
        return true_scores[-1] + float(noise.normal(0, 0.5))

    study.optimize(objective, n_trials=trials)
    best_true = max(true_scores)
    return optimum - best_true, best_true == optimum


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import warnings

    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    print(
        f"{args.tasks} tasks ({np.prod(range(1, args.tasks + 1))} orderings), {args.trials} trials, "
        f"{args.repeats} repeats"
    )
    setups = {
        "TPE + Lehmer code": (
            lehmer,
            lambda s: optuna.samplers.TPESampler(seed=s, multivariate=True, n_startup_trials=8),
        ),
        "TPE + random keys": (
            random_keys,
            lambda s: optuna.samplers.TPESampler(seed=s, multivariate=True, n_startup_trials=8),
        ),
        "random search": (lehmer, lambda s: optuna.samplers.RandomSampler(seed=s)),
    }
    for name, (encoding, make) in setups.items():
        results = [run(encoding, make(r), args.tasks, args.trials, r) for r in range(args.repeats)]
        regrets = [r for r, _ in results]
        found = sum(f for _, f in results)
        print(
            f"{name:20s} mean regret {statistics.mean(regrets):6.2f} (sd {statistics.pstdev(regrets):5.2f}); "
            f"optimum found {found}/{args.repeats}"
        )


if __name__ == "__main__":
    main()
