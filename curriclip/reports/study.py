"""How the search itself went, rebuilt from ``trials.parquet`` alone.

- ``rebuild_study``: an in-memory Optuna study from the ``param/*`` columns, each parameter's
  distribution inferred from its values (numbers: float, log-scaled when they span decades;
  few whole numbers: int; text / bool: categorical), so ``optuna.importance`` and
  ``optuna.visualization`` run on a finished run without Ray or the original sampler state.
- ``param_importances``: PED-ANOVA importances (deterministic) on the level-centred final score.
- ``objectives``: the search's objectives, read from experiment.yaml by ``SearchConfig``'s field names.

Optuna is imported inside the functions that need it, so importing the report layer stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from curriclip.names import FINAL_PREFIX, PARAM_PREFIX, Arm, Status, TrialColumn

from .stats import SCORE
from .style import is_missing, log_scaled

# Parameters that are grid axes or bookkeeping, not searched choices.
NOT_SEARCHED = {TrialColumn.SPARSITY, TrialColumn.SEED}
MIN_TRIALS_FOR_IMPORTANCE = 4
ERROR_COLUMNS = ["error", "n", "trial_ids"]


def _curriculum(trials: pd.DataFrame) -> pd.DataFrame:
    return trials[trials[TrialColumn.ARM] == Arm.CURRICULUM] if not trials.empty else trials


def searched_params(trials: pd.DataFrame) -> list[str]:
    """``param/*`` columns of curriculum trials that vary (the search's own choices)."""
    cur = _curriculum(trials)
    out = []
    for column in map(str, trials.columns):
        if not column.startswith(PARAM_PREFIX) or column[len(PARAM_PREFIX) :] in NOT_SEARCHED or cur.empty:
            continue
        if cur[column].dropna().nunique() >= 2:
            out.append(column)
    return out


def infer_distribution(name: str, values: pd.Series):
    """An Optuna distribution that contains every observed value of one parameter."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    v = values.dropna()
    if pd.api.types.is_bool_dtype(v) or not pd.api.types.is_numeric_dtype(v):
        return CategoricalDistribution(sorted({str(x) for x in v}))
    v = v.astype("float64")
    lo, hi = float(v.min()), float(v.max())
    if (v == v.round()).all() and v.nunique() <= 32:
        return IntDistribution(int(lo), int(hi))
    return FloatDistribution(lo, hi, log=log_scaled(name, v))


def _param_value(distribution, value: Any):
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return str(value)
    if isinstance(distribution, IntDistribution):
        return int(round(float(value)))
    return float(value)


def rebuild_study(trials: pd.DataFrame, centred: bool = True):
    """An in-memory Optuna study of the curriculum trials (maximise). Completed trials are
    COMPLETE with their final CLIP score (centred on their sparsity level's mean when
    ``centred``: levels differ far more than curricula do); pruned trials are PRUNED and
    the rest FAIL, carrying their parameters. Parameters absent from a trial (conditional
    ones, e.g. a pacing function's own parameters) are left out of that trial."""
    import optuna
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    cur = _curriculum(trials)
    names = {c: c[len(PARAM_PREFIX) :] for c in searched_params(trials)}
    dists = {name: infer_distribution(name, cur[c]) for c, name in names.items()}
    done = cur[(cur[TrialColumn.STATUS] == Status.COMPLETED) & cur[SCORE].notna()]
    level_mean = done.groupby(TrialColumn.SPARSITY)[SCORE].mean()
    for rec in cur.to_dict("records"):
        present = {name: rec.get(c) for c, name in names.items() if not is_missing(rec.get(c))}
        params = {name: _param_value(dists[name], value) for name, value in present.items()}
        score = rec.get(SCORE)
        if rec.get(TrialColumn.STATUS) == Status.COMPLETED and not is_missing(score):
            value = float(score) - (float(level_mean.get(rec[TrialColumn.SPARSITY], 0.0)) if centred else 0.0)
            state = TrialState.COMPLETE
        else:
            value = None
            state = TrialState.PRUNED if rec.get(TrialColumn.STATUS) == Status.PRUNED else TrialState.FAIL
        attrs = {"trial_id": rec[TrialColumn.TRIAL_ID], "sparsity": rec.get(TrialColumn.SPARSITY)}
        distributions = {name: dists[name] for name in params}
        study.add_trial(create_trial(params=params, distributions=distributions, value=value, state=state,
                                     user_attrs=attrs))  # fmt: skip
    return study


def importance_params(study) -> list[str]:
    """Parameters present in every completed trial (the evaluator's default) that vary; conditional
    ones (a pacing function's own a/b) are only in some and are left out."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    shared = set.intersection(*(set(t.params) for t in complete)) if complete else set()
    return sorted(p for p in shared if len({repr(t.params[p]) for t in complete}) > 1)


def param_importances(trials: pd.DataFrame, study=None) -> tuple[pd.DataFrame, str]:
    """(DataFrame[param, importance] sorted, note). Empty frame with the reason in ``note`` when
    importances can't be computed (too few completed trials, no varying parameter, ...)."""
    empty = pd.DataFrame(columns=["param", "importance"])
    if not searched_params(trials):
        return empty, "no searched parameter varies across curriculum trials"
    import optuna

    study = rebuild_study(trials) if study is None else study
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < MIN_TRIALS_FOR_IMPORTANCE:
        return empty, f"needs ≥ {MIN_TRIALS_FOR_IMPORTANCE} completed curriculum trials (have {len(complete)})"
    params = importance_params(study)
    if not params:
        return empty, "no parameter varies across the completed curriculum trials"
    try:
        evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        importances = optuna.importance.get_param_importances(study, evaluator=evaluator, params=params)
    except Exception as exc:  # noqa: BLE001 - report why, render the rest
        return empty, f"importance evaluation failed: {type(exc).__name__}: {exc}"
    df = pd.DataFrame({"param": list(importances), "importance": [float(v) for v in importances.values()]})
    df = df.sort_values(["importance", "param"], ascending=[False, True]).reset_index(drop=True)
    note = (
        f"PED-ANOVA over {len(complete)} completed curriculum trials, objective = final CLIP score minus "
        "its sparsity level's mean; conditional parameters (present in only some trials) are left out."
    )
    return df, note


def trial_order(trials: pd.DataFrame) -> pd.Series:
    """Chronological position of each trial: by ``started_at`` when exported, else file order."""
    started = TrialColumn.STARTED_AT
    if started in trials.columns and pd.to_numeric(trials[started], errors="coerce").notna().any():
        key = pd.to_numeric(trials[started], errors="coerce")
        return key.rank(method="first", na_option="bottom").astype(int) - 1
    return pd.Series(np.arange(len(trials)), index=trials.index)


def _field(model, name: str) -> str:
    """``name``, checked to be a field of the config ``model`` (a renamed field fails here, loudly)."""
    if name not in model.model_fields:
        raise KeyError(f"{model.__name__} has no field {name!r}")
    return name


def objectives(experiment: dict | None) -> list[tuple[str, str]]:
    """[(metric, 'maximize'|'minimize'), ...] of the search, from experiment.yaml's
    ``search.objectives`` ({metric: max|min}, multi-objective) or else ``search.metric``
    (maximised; ``SearchConfig``'s default when absent)."""
    from curriclip.config import ExperimentConfig, SearchConfig

    section = (experiment or {}).get(_field(ExperimentConfig, "search")) or {}
    if not isinstance(section, dict):
        section = {}
    multi = section.get(_field(SearchConfig, "objectives"))
    if isinstance(multi, dict) and multi:
        return [(str(m), "minimize" if str(d).startswith("min") else "maximize") for m, d in multi.items()]
    metric = section.get(_field(SearchConfig, "metric")) or SearchConfig.model_fields["metric"].default
    return [(str(metric), "maximize")]


def objective_column(trials: pd.DataFrame, metric: str) -> str | None:
    for column in (f"{FINAL_PREFIX}{metric}", f"final_{metric}", metric):
        if column in trials.columns and pd.api.types.is_numeric_dtype(trials[column]):
            return column
    return None


def pareto_mask(values: np.ndarray, maximize: list[bool]) -> np.ndarray:
    """Non-dominated rows of ``values`` (n × k), each column maximised or minimised."""
    v = np.where(np.array(maximize)[None, :], values, -values)
    keep = np.ones(len(v), dtype=bool)
    for i in range(len(v)):
        dominated = (v >= v[i]).all(axis=1) & (v > v[i]).any(axis=1)
        keep[i] = not dominated.any()
    return keep


def error_reasons(trials: pd.DataFrame) -> pd.DataFrame:
    """Errored trials grouped by error message: [error, n, trial_ids]."""
    err = trials[trials[TrialColumn.STATUS] == Status.ERRORED] if not trials.empty else trials
    if err.empty:
        return pd.DataFrame(columns=ERROR_COLUMNS)
    err = err.assign(error=err[TrialColumn.ERROR].fillna("(no message recorded)").astype(str))
    out = err.groupby("error")[TrialColumn.TRIAL_ID].agg(list).reset_index()
    out["n"] = out[TrialColumn.TRIAL_ID].map(len)
    out["trial_ids"] = out[TrialColumn.TRIAL_ID].map(lambda ids: ", ".join(map(str, ids)))
    return out.sort_values(["n", "error"], ascending=[False, True])[ERROR_COLUMNS].reset_index(drop=True)
