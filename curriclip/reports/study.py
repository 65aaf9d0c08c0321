"""The "Search" section: how the search itself went, rebuilt from ``trials.parquet`` alone.

- ``rebuild_study``: an in-memory Optuna study from the ``param/*`` columns, each parameter's
  distribution inferred from its values (numbers: float, log-scaled when they span decades;
  few whole numbers: int; text / bool: categorical), so ``optuna.importance`` can run on a
  finished run without Ray or the original sampler state.
- ``param_importances``: PED-ANOVA importances (deterministic, needs neither scikit-learn nor
  scipy; fANOVA would need scikit-learn) on the level-centred final CLIP score.
- figures: importances, optimisation history, Pareto front, trial status counts.

Optuna is imported inside the functions that need it, so importing the report layer stays light.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .figures import (
    LEVEL_COLORS,
    SCORE_LABEL,
    _empty,
    _layout,
    _log_scaled,
    arm_color,
    arms_in,
    fmt_sparsity,
    hover_data,
    hover_template,
    levels_in,
    plot_text,
)

# Parameters that are grid axes or bookkeeping, not searched choices.
NOT_SEARCHED = {"sparsity", "seed"}
STATUS_COLORS = {
    "completed": "#1b7f3b",
    "pruned": "#d4a017",
    "errored": "#c62828",
    "running": "#1565c0",
    "pending": "#9aa3b0",
}


def searched_params(trials: pd.DataFrame) -> list[str]:
    """``param/*`` columns of curriculum trials that vary (the search's own choices)."""
    cur = trials[trials["arm"] == "curriculum"] if not trials.empty else trials
    out = []
    for c in trials.columns:
        c = str(c)
        if not c.startswith("param/") or c[6:] in NOT_SEARCHED or cur.empty:
            continue
        v = cur[c].dropna()
        if v.nunique() >= 2:
            out.append(c)
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
    return FloatDistribution(lo, hi, log=_log_scaled(name, v))


def _param_value(dist, value: Any):
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return str(value)
    if isinstance(dist, IntDistribution):
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
    cur = trials[trials["arm"] == "curriculum"] if not trials.empty else trials
    cols = searched_params(trials)
    dists = {c[6:]: infer_distribution(c[6:], cur[c]) for c in cols}
    done = cur[(cur["status"] == "completed") & cur["final_clip_score"].notna()]
    level_mean = done.groupby("sparsity")["final_clip_score"].mean()
    for rec in cur.to_dict("records"):
        params, used = {}, {}
        for c in cols:
            v = rec.get(c)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            name = c[6:]
            params[name] = _param_value(dists[name], v)
            used[name] = dists[name]
        score = rec.get("final_clip_score")
        ok = rec.get("status") == "completed" and score is not None and not math.isnan(score)
        if ok:
            value = float(score) - (float(level_mean.get(rec["sparsity"], 0.0)) if centred else 0.0)
            state = TrialState.COMPLETE
        else:
            value, state = None, TrialState.PRUNED if rec.get("status") == "pruned" else TrialState.FAIL
        study.add_trial(
            create_trial(
                params=params,
                distributions=used,
                value=value,
                state=state,
                user_attrs={"trial_id": rec["trial_id"], "sparsity": rec.get("sparsity")},
            )
        )
    return study


MIN_TRIALS_FOR_IMPORTANCE = 4


def param_importances(trials: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """(DataFrame[param, importance] sorted, note). Empty frame with the reason in ``note`` when
    importances can't be computed (too few completed trials, no varying parameter, ...)."""
    empty = pd.DataFrame(columns=["param", "importance"])
    cols = searched_params(trials)
    if not cols:
        return empty, "no searched parameter varies across curriculum trials"
    try:
        import optuna
    except ImportError:
        return empty, "optuna is not installed"
    study = rebuild_study(trials)
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < MIN_TRIALS_FOR_IMPORTANCE:
        return empty, f"needs ≥ {MIN_TRIALS_FOR_IMPORTANCE} completed curriculum trials (have {len(complete)})"
    # Parameters present in every completed trial (the evaluator's default); conditional ones
    # (a pacing function's own a/b) are only in some and are left out.
    shared = set.intersection(*(set(t.params) for t in complete))
    shared = {p for p in shared if len({repr(t.params[p]) for t in complete}) > 1}
    if not shared:
        return empty, "no parameter varies across the completed curriculum trials"
    try:
        imp = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.PedAnovaImportanceEvaluator(), params=sorted(shared)
        )
    except Exception as exc:  # noqa: BLE001 - report why, render the rest
        return empty, f"importance evaluation failed: {type(exc).__name__}: {exc}"
    df = pd.DataFrame({"param": list(imp), "importance": [float(v) for v in imp.values()]})
    df = df.sort_values(["importance", "param"], ascending=[False, True]).reset_index(drop=True)
    note = (
        f"PED-ANOVA over {len(complete)} completed curriculum trials, objective = final CLIP score minus "
        "its sparsity level's mean; conditional parameters (present in only some trials) are left out."
    )
    return df, note


def importance_figure(imp: pd.DataFrame, note: str = "") -> go.Figure:
    title = "Parameter importances (Optuna PED-ANOVA, level-centred final CLIP score)"
    if imp.empty:
        return _empty(title, plot_text(note) or "no importances")
    imp = imp.iloc[::-1]
    fig = go.Figure(
        go.Bar(
            x=imp["importance"],
            y=[plot_text(p) for p in imp["param"]],
            orientation="h",
            marker=dict(color="#1f77b4"),
            text=[f"{v:.2f}" for v in imp["importance"]],
            textposition="auto",
            name="importance",
            hovertemplate="<b>%{y}</b><br>importance: %{x:.3f}<extra></extra>",
        )
    )
    _layout(fig, title, max(260, 34 * len(imp) + 150))
    fig.update_xaxes(title="importance (sums to 1)", rangemode="tozero")
    fig.update_yaxes(automargin=True)
    return fig


def trial_order(trials: pd.DataFrame) -> pd.Series:
    """Chronological position of each trial: by ``started_at`` when exported, else file order."""
    if "started_at" in trials.columns and pd.to_numeric(trials["started_at"], errors="coerce").notna().any():
        key = pd.to_numeric(trials["started_at"], errors="coerce")
        return key.rank(method="first", na_option="bottom").astype(int) - 1
    return pd.Series(np.arange(len(trials)), index=trials.index)


def history_figure(trials: pd.DataFrame) -> go.Figure:
    """Optimisation history: each curriculum trial's last reported CLIP score in the order the
    trials started, per sparsity level, with the best completed score so far as a step line."""
    title = "Optimisation history: curriculum trials in start order (line: best completed so far)"
    cur = trials.assign(order=trial_order(trials))
    cur = cur[(cur["arm"] == "curriculum") & cur["final_clip_score"].notna()]
    if cur.empty:
        return _empty(title, "no curriculum trial has reported a CLIP score yet")
    cur = cur.sort_values("order")
    cur = cur.assign(number=np.arange(len(cur)))
    fig = go.Figure()
    for i, level in enumerate(levels_in(cur)):
        color = LEVEL_COLORS[i % len(LEVEL_COLORS)]
        sub = cur[cur["sparsity"] == level]
        for done in (True, False):
            pts = sub[(sub["status"] == "completed") == done]
            if pts.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=pts["number"],
                    y=pts["final_clip_score"],
                    mode="markers",
                    marker=dict(color=color, size=8 if done else 7, symbol="circle" if done else "circle-open"),
                    name=f"{fmt_sparsity(level)} {'completed' if done else 'pruned / stopped'}",
                    legendgroup=str(level),
                    customdata=hover_data(pts),
                    hovertemplate=hover_template(extra="trial #%{x}<br>"),
                )
            )
        comp = sub[sub["status"] == "completed"]
        if not comp.empty:
            fig.add_trace(
                go.Scatter(
                    x=comp["number"],
                    y=comp["final_clip_score"].cummax(),
                    mode="lines",
                    line=dict(color=color, shape="hv", width=2),
                    name=f"{fmt_sparsity(level)} best so far",
                    legendgroup=str(level),
                    hovertemplate="best so far: %{y:.4f}<extra></extra>",
                )
            )
    _layout(fig, title, 440, top=120, legend_y=1.04)
    fig.update_xaxes(title="curriculum trial number (start order)" if "started_at" in trials else "trial (file order)")
    fig.update_yaxes(title=SCORE_LABEL)
    return fig


def objectives(experiment: dict | None) -> list[tuple[str, str]]:
    """[(metric, 'maximize'|'minimize'), ...] of a multi-objective search, from experiment.yaml's
    ``search.metrics`` / ``search.objectives`` (with ``search.directions`` / ``search.modes``);
    a single-objective run gives one entry or none."""
    search = (experiment or {}).get("search") or {}
    if not isinstance(search, dict):
        return []
    metrics = search.get("objectives") or search.get("metrics") or search.get("metric")
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, list):
        return []
    dirs = search.get("directions") or search.get("modes") or search.get("mode") or []
    if isinstance(dirs, str):
        dirs = [dirs] * len(metrics)
    out = []
    for i, m in enumerate(metrics):
        if isinstance(m, dict):  # {name: direction}
            out.extend((str(k), "minimize" if str(d).startswith("min") else "maximize") for k, d in m.items())
            continue
        d = str(dirs[i]) if i < len(dirs) else "maximize"
        out.append((str(m), "minimize" if d.startswith("min") else "maximize"))
    return out


def objective_column(trials: pd.DataFrame, metric: str) -> str | None:
    for c in (f"final/{metric}", f"final_{metric}", metric):
        if c in trials.columns and pd.api.types.is_numeric_dtype(trials[c]):
            return c
    return None


def pareto_mask(values: np.ndarray, maximize: list[bool]) -> np.ndarray:
    """Non-dominated rows of ``values`` (n × k), each column maximised or minimised."""
    v = np.where(np.array(maximize)[None, :], values, -values)
    n = len(v)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = (v >= v[i]).all(axis=1) & (v > v[i]).any(axis=1)
        keep[i] = not dominated.any()
    return keep


def pareto_figure(trials: pd.DataFrame, objs: list[tuple[str, str]]) -> go.Figure:
    """First two objectives of a multi-objective search, every completed trial coloured by arm,
    the Pareto-optimal ones (over all objectives) outlined and joined."""
    names = " vs ".join(m for m, _ in objs[:2])
    title = f"Pareto front: {plot_text(names)} (completed trials; outlined: non-dominated)"
    cols = [objective_column(trials, m) for m, _ in objs]
    if len(objs) < 2 or any(c is None for c in cols):
        return _empty(title, "objective columns missing from trials.parquet")
    df = trials[(trials["status"] == "completed")].dropna(subset=cols)
    if df.empty:
        return _empty(title, "no completed trials with every objective")
    mask = pareto_mask(df[cols].to_numpy(dtype="float64"), [d == "maximize" for _, d in objs])
    fig = go.Figure()
    for i, arm in enumerate(arms_in(df)):
        sub = df[df["arm"] == arm]
        fig.add_trace(
            go.Scatter(
                x=sub[cols[0]],
                y=sub[cols[1]],
                mode="markers",
                marker=dict(color=arm_color(arm, i), size=8, opacity=0.6),
                name=plot_text(arm),
                customdata=hover_data(sub),
                hovertemplate=hover_template(plot_text(objs[1][0])),
            )
        )
    front = df[mask].sort_values(cols[0])
    fig.add_trace(
        go.Scatter(
            x=front[cols[0]],
            y=front[cols[1]],
            mode="lines+markers",
            line=dict(color="black", width=1, dash="dot"),
            marker=dict(size=12, color="rgba(0,0,0,0)", line=dict(width=2, color="black")),
            name="Pareto front",
            customdata=hover_data(front),
            hovertemplate=hover_template(plot_text(objs[1][0]), extra="(Pareto-optimal)<br>"),
        )
    )
    _layout(fig, title, 460)
    fig.update_xaxes(title=f"{plot_text(objs[0][0])} ({objs[0][1]})")
    fig.update_yaxes(title=f"{plot_text(objs[1][0])} ({objs[1][1]})")
    return fig


def status_figure(trials: pd.DataFrame) -> go.Figure:
    """Trial status counts per arm and sparsity level (stacked bars)."""
    title = "Trial status per arm and sparsity level"
    if trials.empty:
        return _empty(title, "no trials yet")
    df = trials.assign(
        status=trials["status"].fillna("unknown"),
        group=trials["arm"].fillna("?").map(plot_text) + " · " + trials["sparsity"].map(fmt_sparsity),
    )
    firsts = df.sort_values(["arm", "sparsity"], key=lambda c: c.map(_arm_rank) if c.name == "arm" else c)
    groups = firsts["group"].drop_duplicates().tolist()
    fig = go.Figure()
    order = [s for s in STATUS_COLORS if s in set(df["status"])] + sorted(set(df["status"]) - set(STATUS_COLORS))
    for j, status in enumerate(order):
        counts = df[df["status"] == status].groupby("group").size().reindex(groups, fill_value=0)
        fig.add_trace(
            go.Bar(
                x=groups,
                y=counts.to_numpy(),
                name=plot_text(status),
                marker=dict(color=STATUS_COLORS.get(status, LEVEL_COLORS[j % len(LEVEL_COLORS)])),
                hovertemplate=f"%{{x}}<br>{plot_text(status)}: %{{y}}<extra></extra>",
            )
        )
    _layout(fig, title, 360, barmode="stack")
    fig.update_yaxes(title="trials")
    return fig


def _arm_rank(arm: object) -> str:
    from .figures import ARM_ORDER

    return f"{ARM_ORDER.index(arm):02d}" if arm in ARM_ORDER else f"99{arm}"


def error_reasons(trials: pd.DataFrame) -> pd.DataFrame:
    """Errored trials grouped by error message: [error, n, trial_ids]."""
    if trials.empty:
        return pd.DataFrame(columns=["error", "n", "trial_ids"])
    err = trials[(trials["status"] == "errored")]
    if err.empty:
        return pd.DataFrame(columns=["error", "n", "trial_ids"])
    err = err.assign(error=err["error"].fillna("(no message recorded)").astype(str))
    out = err.groupby("error")["trial_id"].agg(list).reset_index()
    out["n"] = out["trial_id"].map(len)
    out["trial_ids"] = out["trial_id"].map(lambda ids: ", ".join(map(str, ids)))
    return out.sort_values(["n", "error"], ascending=[False, True])[["error", "n", "trial_ids"]].reset_index(drop=True)
