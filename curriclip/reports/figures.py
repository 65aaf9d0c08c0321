"""Figures of the search report: one function per figure, each returning a plotly Figure.

Every function takes the normalised frames that ``page.load_results`` produces (all
contract columns present, numeric columns numeric) and never touches Ray or torch.
The summary statistics behind "the answer" live here too (``answer_summary``), so
the figure and the table under it are computed by the same code.

Strings shown by plotly (hover text, tick labels, legend names) pass through
``plot_text``: plotly renders a small subset of HTML in them and decodes ``&lt;`` etc.,
so escaping makes a task called ``<b>x</b>`` show literally. The page's own safety
against ``</script>`` does not rely on this: plotly's JSON encoder already writes
``<``, ``>`` and ``/`` as ``\\u003c``, ``\\u003e``, ``\\u002f`` (checked by the tests).
"""

from __future__ import annotations

import html
import json
import math
import zlib

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

# The template object, resolved once: assigning it is about twice as fast as assigning its name.
TEMPLATE = pio.templates["plotly_white"]
ARM_COLORS = {"single_task": "#7f7f7f", "curriculum": "#1f77b4", "shuffled_control": "#9467bd"}
ARM_ORDER = ("single_task", "curriculum", "shuffled_control")
BASELINE_ARM = "single_task"
FALLBACK_COLORS = ("#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
# Sparsity levels and pacing functions get a palette disjoint from the two arm colours.
LEVEL_COLORS = ("#e6550d", "#31a354", "#756bb1", "#d6616b", "#8c6d31", "#17becf", "#e377c2", "#bcbd22")
SCORE_LABEL = "CLIP score (0–2.5)"
CLIP_SCORE_DEFINITION = "CLIP score = 2.5 · max(cos(image, text), 0), mean over held-out pairs (Hessel et al. 2021)"

# Two-sided 95% Student-t quantiles t(0.975, df) for df = 1..30.
_T975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)  # fmt: skip

HOVER_FIELDS = ("trial_id", "arm", "sparsity", "pacing", "ordering", "lr")


# --------------------------------------------------------------------------- helpers


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def plot_text(value: object) -> str:
    """A user string made literal for plotly's pseudo-HTML text rendering."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=False)


def t975(df: float) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (no scipy needed).

    Exact table up to 30 (non-integer df rounds down, which is conservative), then a
    Cornish-Fisher expansion, good to 1e-4 beyond 30.
    """
    if not df or df < 1 or math.isnan(df):
        return float("nan")
    if df <= 30:
        return _T975[int(math.floor(df)) - 1]
    z = 1.959963984540054
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def mean_ci(values) -> tuple[int, float, float]:
    """(n, mean, 95% t-interval half-width); the half-width is NaN when n < 2."""
    v = pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").dropna().to_numpy()
    n = int(v.size)
    if n == 0:
        return 0, float("nan"), float("nan")
    mean = float(v.mean())
    if n < 2:
        return n, mean, float("nan")
    return n, mean, t975(n - 1) * float(v.std(ddof=1)) / math.sqrt(n)


def welch_ci(a, b) -> tuple[float, float]:
    """(mean(b) - mean(a), Welch 95% half-width); half-width NaN unless both have n >= 2."""
    a = pd.Series(a, dtype="float64").dropna().to_numpy()
    b = pd.Series(b, dtype="float64").dropna().to_numpy()
    if a.size == 0 or b.size == 0:
        return float("nan"), float("nan")
    diff = float(b.mean() - a.mean())
    if a.size < 2 or b.size < 2:
        return diff, float("nan")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se2 = va + vb
    if se2 == 0:
        return diff, 0.0
    df = se2**2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    return diff, t975(df) * math.sqrt(se2)


def fmt_sparsity(s: float) -> str:
    """0.05 -> '5%', 1.0 -> '100%', 0.125 -> '12.5%'."""
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "?"
    return f"{float(s) * 100:.4g}%"


def fmt_num(x: object, spec: str = ".4f") -> str:
    try:
        xf = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(xf) else format(xf, spec)


def arm_color(arm: str, i: int = 0) -> str:
    return ARM_COLORS.get(arm, FALLBACK_COLORS[i % len(FALLBACK_COLORS)])


def arms_in(df: pd.DataFrame) -> list[str]:
    """Arms present, known ones first in a fixed order."""
    present = [a for a in df["arm"].dropna().unique().tolist()]
    return [a for a in ARM_ORDER if a in present] + sorted(a for a in present if a not in ARM_ORDER)


def levels_in(df: pd.DataFrame) -> list[float]:
    return sorted(float(s) for s in df["sparsity"].dropna().unique())


def answer_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials the answer is computed from: completed, with a final CLIP score."""
    if trials.empty:
        return trials
    return trials[(trials["status"] == "completed") & trials["final_clip_score"].notna()]


def hover_data(df: pd.DataFrame) -> np.ndarray:
    """customdata rows [trial_id, arm, sparsity, pacing, ordering, lr], preformatted strings."""
    if df.empty:
        return np.empty((0, len(HOVER_FIELDS)), dtype=object)
    cols = [
        df["trial_id"].map(plot_text),
        df["arm"].map(plot_text),
        df["sparsity"].map(fmt_sparsity),
        df["pacing"].map(plot_text),
        df["ordering"].map(plot_text),
        df["lr"].map(lambda v: fmt_num(v, ".2e")),
    ]
    return np.stack([c.to_numpy(dtype=object) for c in cols], axis=1)


def hover_template(value_label: str = "CLIP score", value_axis: str = "y", extra: str = "") -> str:
    return (
        "<b>%{customdata[0]}</b><br>"
        "arm: %{customdata[1]}<br>"
        "sparsity: %{customdata[2]}<br>"
        "pacing: %{customdata[3]}<br>"
        "ordering: %{customdata[4]}<br>"
        "lr: %{customdata[5]}<br>"
        f"{extra}{value_label}: %{{{value_axis}:.4f}}<extra></extra>"
    )


def jitter(keys: pd.Series, width: float) -> np.ndarray:
    """Deterministic jitter in [-width, width] from a hash of each key (stable across builds)."""
    h = np.array([zlib.crc32(str(k).encode()) for k in keys], dtype="float64")
    return (h / 0xFFFFFFFF * 2 - 1) * width


def _empty(title: str, note: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        height=260,
        xaxis_visible=False,
        yaxis_visible=False,
        annotations=[dict(text=note, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")],
    )
    return fig


def _layout(fig: go.Figure, title: str, height: int, legend_y: float = 1.02, top: int = 100, **kw) -> go.Figure:
    """Common layout. The title sits at the top of the figure (container coordinates) and the
    horizontal legend just above the plot area, with a top margin that keeps them apart;
    figures with subplot titles pass a higher ``legend_y`` so the legend clears those too."""
    fig.update_layout(
        template=TEMPLATE,
        title=dict(text=title, x=0.01, xanchor="left", y=1, yref="container", yanchor="top", pad=dict(t=12)),
        height=height,
        margin=dict(l=70, r=30, t=top, b=60),
        legend=dict(orientation="h", yanchor="bottom", y=legend_y, xanchor="right", x=1),
        hoverlabel=dict(align="left"),
        **kw,
    )
    return fig


# --------------------------------------------------------------------------- answer


def answer_summary(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per sparsity level: per-arm n / mean / CI, curriculum best, difference, verdict.

    diff = curriculum mean - single-task mean, with a Welch 95% half-width (``diff_hw``).
    ``best_minus_single`` is what a search would report, but it is optimistic: the best
    trial is selected on the same held-out score it is judged by. ``untrained_mean`` is the
    untrained model's CLIP score at that level (the floor every arm should clear).
    """
    df = answer_trials(trials)
    rows = []
    for level in levels_in(df):
        at = df[df["sparsity"] == level]
        single = at.loc[at["arm"] == BASELINE_ARM, "final_clip_score"]
        curr = at[at["arm"] == "curriculum"]
        n_s, m_s, hw_s = mean_ci(single)
        n_c, m_c, hw_c = mean_ci(curr["final_clip_score"])
        diff, diff_hw = welch_ci(single, curr["final_clip_score"])
        if n_c:
            best = curr.loc[curr["final_clip_score"].idxmax()]
            best_score, best_id = float(best["final_clip_score"]), str(best["trial_id"])
        else:
            best_score, best_id = float("nan"), ""
        init = trials.loc[(trials["sparsity"] == level) & trials["init_clip_score"].notna(), "init_clip_score"]
        rows.append(
            dict(
                sparsity=level,
                untrained_mean=float(init.mean()) if len(init) else float("nan"),
                single_n=n_s,
                single_mean=m_s,
                single_hw=hw_s,
                curriculum_n=n_c,
                curriculum_mean=m_c,
                curriculum_hw=hw_c,
                curriculum_best=best_score,
                curriculum_best_trial=best_id,
                diff=diff,
                diff_hw=diff_hw,
                best_minus_single=best_score - m_s if n_s and n_c else float("nan"),
                verdict=verdict(n_s, n_c, diff, diff_hw),
            )
        )
    return pd.DataFrame(rows)


def arm_summary(trials: pd.DataFrame, score: str = "final_clip_score") -> pd.DataFrame:
    """Long form, one row per (sparsity level, arm): n, mean, 95% CI and, for every arm other
    than single-task, the difference from the single-task mean with a Welch interval and a
    verdict. Handles any arms present (curriculum, shuffled_control, ...) the same way."""
    df = answer_trials(trials)
    rows = []
    if df.empty or score not in df.columns:
        return pd.DataFrame(rows)
    for level in levels_in(df):
        at = df[df["sparsity"] == level]
        base = at.loc[at["arm"] == BASELINE_ARM, score].dropna()
        for arm in arms_in(at):
            vals = at.loc[at["arm"] == arm, score].dropna()
            n, m, hw = mean_ci(vals)
            if arm == BASELINE_ARM:
                diff, dhw, text = float("nan"), float("nan"), "baseline"
            else:
                diff, dhw = welch_ci(base, vals)
                text = verdict(len(base), n, diff, dhw, arm=arm)
            rows.append(dict(sparsity=level, arm=arm, n=n, mean=m, hw=hw, diff=diff, diff_hw=dhw, verdict=text))
    return pd.DataFrame(rows)


def verdict(n_single: int, n_curr: int, diff: float, hw: float, arm: str = "curriculum") -> str:
    if n_single < 2 or n_curr < 2 or math.isnan(hw):
        return f"not enough trials (need ≥ 2 per arm; single-task n={n_single}, {arm} n={n_curr})"
    if abs(diff) > hw:
        word = "better" if diff > 0 else "worse"
        return f"{arm} {word} by {abs(diff):.4f}, outside seed noise (95% CI half-width {hw:.4f})"
    return f"within seed noise (|diff| {abs(diff):.4f} < CI half-width {hw:.4f})"


def answer_figure(trials: pd.DataFrame) -> go.Figure:
    """CLIP score vs sparsity: per-arm mean ± 95% CI, jittered trials, best curriculum trial."""
    title = "CLIP score on the held-out set vs training-data sparsity (completed trials)"
    df = answer_trials(trials)
    if df.empty:
        return _empty(title, "no completed trials yet")
    levels = levels_in(df)
    pos = {lv: i for i, lv in enumerate(levels)}
    arms = arms_in(df)
    offsets = {a: (i - (len(arms) - 1) / 2) * 0.3 for i, a in enumerate(arms)}
    fig = go.Figure()

    # Untrained model, per level: the floor every arm should clear.
    init = trials[trials["init_clip_score"].notna()].groupby("sparsity")["init_clip_score"].mean()
    init = init[init.index.isin(levels)]
    if not init.empty:
        fig.add_trace(
            go.Scatter(
                x=[pos[lv] for lv in init.index],
                y=init.to_numpy(),
                mode="markers",
                marker=dict(symbol="line-ew", size=60, line=dict(width=2, color="#bbbbbb")),
                name="untrained model",
                hovertemplate="untrained model<br>CLIP score: %{y:.4f}<extra></extra>",
            )
        )

    for i, arm in enumerate(arms):
        color = arm_color(arm, i)
        sub = df[df["arm"] == arm]
        fig.add_trace(
            go.Scatter(
                x=sub["sparsity"].map(pos).to_numpy() + offsets[arm] + jitter(sub["trial_id"], 0.07),
                y=sub["final_clip_score"].to_numpy(),
                mode="markers",
                marker=dict(color=color, size=7, opacity=0.45, line=dict(width=0)),
                name=f"{plot_text(arm)} trials",
                legendgroup=arm,
                customdata=hover_data(sub),
                hovertemplate=hover_template(),
            )
        )
        stats = [(lv, *mean_ci(sub.loc[sub["sparsity"] == lv, "final_clip_score"])) for lv in levels]
        stats = [s for s in stats if s[1] > 0]
        fig.add_trace(
            go.Scatter(
                x=[pos[s[0]] + offsets[arm] for s in stats],
                y=[s[2] for s in stats],
                error_y=dict(
                    type="data",
                    array=[0 if math.isnan(s[3]) else s[3] for s in stats],
                    color=color,
                    thickness=2,
                    width=8,
                ),
                mode="lines+markers",
                line=dict(color=color, width=2),
                marker=dict(color=color, size=12, symbol="diamond", line=dict(width=1, color="white")),
                name=f"{plot_text(arm)} mean ± 95% CI",
                legendgroup=arm,
                customdata=[[plot_text(arm), fmt_sparsity(s[0]), s[1], fmt_num(s[3]) or "n/a (n=1)"] for s in stats],
                hovertemplate=(
                    "<b>%{customdata[0]} mean</b><br>sparsity: %{customdata[1]}<br>"
                    "n: %{customdata[2]}<br>mean: %{y:.4f} ± %{customdata[3]}<extra></extra>"
                ),
            )
        )

    curr = df[df["arm"] == "curriculum"]
    if not curr.empty:
        best = curr.loc[curr.groupby("sparsity")["final_clip_score"].idxmax()]
        fig.add_trace(
            go.Scatter(
                x=best["sparsity"].map(pos).to_numpy() + offsets["curriculum"],
                y=best["final_clip_score"].to_numpy(),
                mode="markers",
                marker=dict(symbol="star", size=16, color=ARM_COLORS["curriculum"], line=dict(width=1, color="black")),
                name="curriculum best trial",
                customdata=hover_data(best),
                hovertemplate=hover_template(extra="(best at this level)<br>"),
            )
        )

    _layout(fig, title, 520)
    fig.update_xaxes(
        title="fraction of training pairs used (sparsity level)",
        tickvals=list(range(len(levels))),
        ticktext=[fmt_sparsity(lv) for lv in levels],
        range=[-0.6, len(levels) - 0.4],
        showgrid=False,
    )
    fig.update_yaxes(title=SCORE_LABEL)
    return fig


# --------------------------------------------------------------------------- curriculum choices


def _curriculum_completed(trials: pd.DataFrame) -> pd.DataFrame:
    df = answer_trials(trials)
    return df[df["arm"] == "curriculum"] if not df.empty else df


def choice_figure(trials: pd.DataFrame, column: str, label: str) -> go.Figure:
    """Final CLIP score by one categorical curriculum choice (pacing function, weighting
    strategy, scorer, ...): one box, with every trial as a point, per sparsity level."""
    title = f"Curriculum trials: CLIP score by {label}, per sparsity level"
    df = _curriculum_completed(trials)
    if df.empty or column not in df.columns:
        return _empty(title, "no completed curriculum trials yet")
    values = df[column].fillna("").astype(str)
    df = df.assign(**{column: values})
    fig = go.Figure()
    for i, level in enumerate(levels_in(df)):
        sub = df[df["sparsity"] == level]
        fig.add_trace(
            go.Box(
                x=sub[column].map(plot_text),
                y=sub["final_clip_score"],
                name=fmt_sparsity(level),
                marker=dict(color=LEVEL_COLORS[i % len(LEVEL_COLORS)], size=6, opacity=0.7),
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                hoveron="points",
                customdata=hover_data(sub),
                hovertemplate=hover_template(extra=f"{plot_text(label)}: %{{x}}<br>"),
            )
        )
    _layout(fig, title, 480, boxmode="group", legend_title_text="sparsity")
    fig.update_xaxes(
        title=label,
        categoryorder="array",
        categoryarray=[plot_text(p) for p in sorted(values.unique())],
    )
    fig.update_yaxes(title=SCORE_LABEL)
    return fig


def pacing_figure(trials: pd.DataFrame) -> go.Figure:
    """Final CLIP score by pacing function: one box (with every trial as a point) per level."""
    return choice_figure(trials, "pacing", "pacing function")


def ordering_figure(trials: pd.DataFrame) -> go.Figure:
    """Mean final CLIP score by task ordering (horizontal bars, sorted), one panel per level."""
    title = "Curriculum trials: CLIP score by task ordering (mean ± 95% CI, points = trials)"
    df = _curriculum_completed(trials)
    if df.empty:
        return _empty(title, "no completed curriculum trials yet")
    df = df.assign(ordering=df["ordering"].fillna("").astype(str))
    levels = levels_in(df)
    # Sort by the mean of per-level means, so a level with many trials doesn't dominate.
    rank = df.groupby(["ordering", "sparsity"])["final_clip_score"].mean().groupby("ordering").mean()
    orderings = rank.sort_values(ascending=True).index.tolist()  # best at the top
    ypos = {o: i for i, o in enumerate(orderings)}
    fig = make_subplots(
        rows=1,
        cols=len(levels),
        shared_yaxes=True,
        horizontal_spacing=0.03,
        subplot_titles=[f"sparsity {fmt_sparsity(lv)}" for lv in levels],
    )
    for c, level in enumerate(levels, start=1):
        color = LEVEL_COLORS[(c - 1) % len(LEVEL_COLORS)]
        sub = df[df["sparsity"] == level]
        stats = [(o, *mean_ci(sub.loc[sub["ordering"] == o, "final_clip_score"])) for o in orderings]
        stats = [s for s in stats if s[1] > 0]
        fig.add_trace(
            go.Bar(
                y=[ypos[s[0]] for s in stats],
                x=[s[2] for s in stats],
                orientation="h",
                marker=dict(color=color, opacity=0.35),
                error_x=dict(type="data", array=[0 if math.isnan(s[3]) else s[3] for s in stats], color=color),
                text=[f"{s[2]:.4f} (n={s[1]})" for s in stats],
                textposition="inside",
                insidetextanchor="start",
                name=f"mean, {fmt_sparsity(level)}",
                showlegend=False,
                customdata=[[plot_text(s[0]), fmt_sparsity(level), s[1]] for s in stats],
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>sparsity: %{customdata[1]}<br>"
                    "n: %{customdata[2]}<br>mean CLIP score: %{x:.4f}<extra></extra>"
                ),
            ),
            row=1,
            col=c,
        )
        fig.add_trace(
            go.Scatter(
                x=sub["final_clip_score"],
                y=sub["ordering"].map(ypos).to_numpy() + jitter(sub["trial_id"], 0.25),
                mode="markers",
                marker=dict(color=color, size=6, line=dict(width=0.5, color="white")),
                name=f"trials, {fmt_sparsity(level)}",
                showlegend=False,
                customdata=hover_data(sub),
                hovertemplate=hover_template(value_axis="x"),
            ),
            row=1,
            col=c,
        )
    height = max(360, 34 * len(orderings) + 160)
    _layout(fig, title, height, bargap=0.35)
    fig.update_layout(margin=dict(l=40))
    fig.update_yaxes(
        tickvals=list(range(len(orderings))),
        ticktext=[plot_text(o) for o in orderings],
        automargin=True,
        range=[-0.6, len(orderings) - 0.4],
        showgrid=False,
    )
    fig.update_yaxes(title="task ordering (first > … > last)", row=1, col=1)
    fig.update_xaxes(title=SCORE_LABEL, rangemode="tozero")
    return fig


def param_columns(trials: pd.DataFrame) -> list[str]:
    """``param/*`` columns usable as parallel-coordinate axes for completed curriculum trials:
    numeric (or categorical with ≤ 20 values) and not constant."""
    df = _curriculum_completed(trials)
    cols = []
    for c in trials.columns:
        if not str(c).startswith("param/") or df.empty:
            continue
        v = df[c].dropna()
        if v.empty or v.nunique() < 2:
            continue
        if pd.api.types.is_numeric_dtype(v) or pd.api.types.is_bool_dtype(v) or v.nunique() <= 20:
            cols.append(c)
    return cols


_LOG_PARAM_HINTS = ("lr", "learning_rate", "weight_decay", "wd", "eps", "temperature", "decay")


def _log_scaled(name: str, values: pd.Series) -> bool:
    """Show a parameter on a log10 axis: positive and spanning > 2 decades, or > 1 decade
    for names that are usually searched log-uniformly (lr, weight decay, ...)."""
    if values.empty or not (values > 0).all():
        return False
    ratio = values.max() / values.min()
    hinted = any(h == name or name.endswith(("_" + h, "/" + h)) for h in _LOG_PARAM_HINTS)
    return ratio > 100 or (hinted and ratio >= 10)


def params_figure(trials: pd.DataFrame) -> go.Figure:
    """Parallel coordinates over the searched ``param/*`` columns, coloured by final CLIP score."""
    title = "Curriculum trials: searched parameters, coloured by final CLIP score"
    df = _curriculum_completed(trials)
    cols = param_columns(trials)
    if df.empty or len(cols) < 2:
        return _empty(title, "fewer than 2 searched parameters vary across completed curriculum trials")
    dims = []
    if df["sparsity"].nunique() > 1:
        levels = levels_in(df)
        dims.append(
            dict(
                label="sparsity",
                values=df["sparsity"].map({lv: i for i, lv in enumerate(levels)}),
                tickvals=list(range(len(levels))),
                ticktext=[fmt_sparsity(lv) for lv in levels],
            )
        )
    for c in cols:
        v = df[c]
        label = plot_text(str(c)[len("param/") :])
        if pd.api.types.is_bool_dtype(v):
            v = v.astype("float64")
        if pd.api.types.is_numeric_dtype(v):
            v = v.astype("float64")
            pos = v.dropna()
            if _log_scaled(label, pos):
                dims.append(dict(label=f"log10({label})", values=np.log10(v)))
            else:
                dims.append(dict(label=label, values=v))
        else:
            cats = sorted(v.dropna().astype(str).unique())
            dims.append(
                dict(
                    label=label,
                    values=v.astype(str).map({k: i for i, k in enumerate(cats)}),
                    tickvals=list(range(len(cats))),
                    ticktext=[plot_text(k) for k in cats],
                )
            )
    score = df["final_clip_score"].astype("float64")
    dims.append(dict(label="final CLIP score", values=score))
    fig = go.Figure(
        go.Parcoords(
            line=dict(
                color=score,
                colorscale="Viridis",
                showscale=True,
                colorbar=dict(title=dict(text="CLIP score")),
            ),
            dimensions=dims,
        )
    )
    _layout(fig, title, 460)
    fig.update_layout(margin=dict(l=80, r=80, t=110, b=40))
    return fig


# --------------------------------------------------------------------------- dynamics


def _with_trial_info(epochs: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """Epoch rows joined with the trial-level fields needed for hover and styling."""
    info_cols = ["trial_id", "status", "pacing", "ordering", "lr", "seed", "init_clip_score"]
    info = trials[info_cols].drop_duplicates("trial_id") if not trials.empty else None
    ep = epochs.copy()
    if info is None:
        for c in info_cols[1:]:
            ep[c] = np.nan
        return ep
    return ep.merge(info, on="trial_id", how="left", suffixes=("", "_trial"))


LARGE_RUN = 300  # trials; above this, curves use WebGL, fewer points and id-only hover data
MAX_CURVE_POINTS = 24_000  # per figure panel set, before a figure downsamples its curves


def _thin_mask(trial_ids: np.ndarray, keep: int) -> np.ndarray:
    """Rows to keep so each trial's curve (rows grouped by trial, contiguous, in epoch order) has
    at most ``keep`` evenly spaced points, its first and last always among them (vectorised)."""
    change = np.r_[True, trial_ids[1:] != trial_ids[:-1]]
    group = np.cumsum(change) - 1
    starts = np.flatnonzero(change)
    counts = np.diff(np.r_[starts, len(trial_ids)])
    pos, n = np.arange(len(trial_ids)) - starts[group], counts[group]
    span = np.maximum(n - 1, 1)
    hit = np.round(np.round(pos * (keep - 1) / span) * span / (keep - 1)) == pos
    return (n <= keep) | hit


def _lines(df: pd.DataFrame, ycol: str, keep: int | None = None, compact: bool = False) -> tuple:
    """Concatenate per-trial lines into one trace's x / y / customdata, with NaN breaks between
    trials (one trace per group instead of one per trial keeps large pages light).
    ``keep`` thins each trial's curve; ``compact`` puts only the trial id in customdata."""
    width = 1 if compact else len(HOVER_FIELDS)
    df = df.sort_values(["trial_id", "epoch"], kind="stable")
    if df.empty:
        return np.array([]), np.array([]), np.empty((0, width), dtype=object)
    ids = df["trial_id"].astype(str).to_numpy()
    if keep:
        df = df[_thin_mask(ids, keep)]
        ids = df["trial_id"].astype(str).to_numpy()
    x = df["epoch"].to_numpy(dtype="float64")
    y = df[ycol].to_numpy(dtype="float64")
    cd = df["trial_id"].map(plot_text).to_numpy(dtype=object)[:, None] if compact else hover_data(df)
    # a NaN point after each trial's last row breaks the line there
    ends = np.flatnonzero(np.r_[ids[1:] != ids[:-1], True]) + 1
    x = np.insert(x, ends, np.nan)
    y = np.insert(y, ends, np.nan)
    cd = np.insert(cd, ends, None, axis=0)
    return x, y, cd


def _curve_budget(df: pd.DataFrame, panels: int = 1) -> tuple[int | None, bool, type]:
    """(points kept per trial curve, compact hover?, trace class) for a figure of ``df`` rows."""
    n_trials = max(1, df["trial_id"].nunique())
    large = n_trials > LARGE_RUN
    keep = None
    if len(df) * panels > MAX_CURVE_POINTS:
        keep = max(6, MAX_CURVE_POINTS // (n_trials * panels))
    return keep, large, (go.Scattergl if large else go.Scatter)


def _curve_hover(value_label: str, compact: bool) -> str:
    if compact:
        return f"<b>%{{customdata[0]}}</b><br>epoch: %{{x}}<br>{value_label}: %{{y:.4f}}<extra></extra>"
    return hover_template(value_label, extra="epoch: %{x}<br>")


def clip_dynamics_figure(epochs: pd.DataFrame, trials: pd.DataFrame) -> go.Figure:
    """Held-out CLIP score after each epoch, one line per trial, coloured by arm, one panel
    per sparsity level. Epoch 0 is the untrained model. Trials that did not complete
    (pruned, errored, running) are dotted."""
    title = "CLIP score per epoch, one line per trial (dotted: pruned / errored / still running)"
    if epochs.empty or epochs["clip_score"].notna().sum() == 0:
        return _empty(title, "no per-epoch CLIP scores recorded yet")
    ep = _with_trial_info(epochs, trials)
    ep = ep[ep["clip_score"].notna()]
    # Prepend epoch 0 = untrained model, when the trial recorded it.
    first = ep.sort_values("epoch").drop_duplicates("trial_id")
    first = first[first["init_clip_score"].notna()]
    if not first.empty:
        zero = first.assign(epoch=0, clip_score=first["init_clip_score"])
        ep = pd.concat([zero, ep], ignore_index=True)
    levels = levels_in(ep)
    fig = make_subplots(
        rows=1,
        cols=max(1, len(levels)),
        shared_yaxes=False,
        horizontal_spacing=0.05,
        subplot_titles=[f"sparsity {fmt_sparsity(lv)}" for lv in levels],
    )
    arms = arms_in(ep)
    keep, compact, Trace = _curve_budget(ep)
    for c, level in enumerate(levels, start=1):
        at = ep[ep["sparsity"] == level]
        for i, arm in enumerate(arms):
            for done in (True, False):
                sub = at[(at["arm"] == arm) & ((at["status"] == "completed") == done)]
                if sub.empty:
                    continue
                xs, ys, cds = _lines(sub, "clip_score", keep, compact)
                name = plot_text(arm) + ("" if done else " (not completed)")
                fig.add_trace(
                    Trace(
                        x=xs,
                        y=ys,
                        customdata=cds,
                        mode="lines+markers",
                        connectgaps=False,
                        line=dict(color=arm_color(arm, i), width=1.3, dash="solid" if done else "dot"),
                        marker=dict(size=3),
                        opacity=0.6 if done else 0.45,
                        name=name,
                        legendgroup=name,
                        showlegend=not any(t.name == name for t in fig.data),
                        hovertemplate=_curve_hover("CLIP score", compact),
                    ),
                    row=1,
                    col=c,
                )
    _layout(fig, title, 480, legend_y=1.1, top=120)
    fig.update_xaxes(title="epoch (0 = untrained)", rangemode="tozero")
    fig.update_yaxes(title=SCORE_LABEL, row=1, col=1)
    return fig


def data_fraction_figure(epochs: pd.DataFrame, trials: pd.DataFrame) -> go.Figure:
    """Fraction of the training pool admitted by the pacing function at the end of each
    epoch, one line per trial, coloured by pacing function."""
    title = "Training data admitted by the pacing function, per epoch (one line per trial)"
    if epochs.empty or epochs["data_fraction"].notna().sum() == 0:
        return _empty(title, "no data_fraction recorded yet")
    ep = _with_trial_info(epochs, trials)
    ep = ep[ep["data_fraction"].notna()]
    ep = ep.assign(pacing=ep["pacing"].fillna("?").astype(str))
    fig = go.Figure()
    pacings = sorted(ep["pacing"].unique(), key=lambda p: (p == "none", p))
    keep, compact, Trace = _curve_budget(ep)
    for i, pacing in enumerate(pacings):
        sub = ep[ep["pacing"] == pacing]
        xs, ys, cds = _lines(sub, "data_fraction", keep, compact)
        color = ARM_COLORS["single_task"] if pacing == "none" else LEVEL_COLORS[i % len(LEVEL_COLORS)]
        fig.add_trace(
            Trace(
                x=xs,
                y=ys,
                customdata=cds,
                mode="lines+markers",
                line=dict(color=color, width=1.3),
                marker=dict(size=3),
                opacity=0.6,
                name=plot_text(pacing) if pacing != "none" else "none (single-task)",
                hovertemplate=_curve_hover("data fraction", compact),
            )
        )
    _layout(fig, title, 420, legend_title_text="pacing")
    fig.update_xaxes(title="epoch", rangemode="tozero")
    fig.update_yaxes(title="fraction of training pool admitted (0–1)", range=[0, 1.05])
    return fig


# --------------------------------------------------------------------------- arms side by side


def difference_figure(trials: pd.DataFrame) -> go.Figure:
    """Per sparsity level, each arm's mean CLIP score minus the single-task mean, with a Welch
    95% interval: the paired comparison the answer rests on (zero = no difference)."""
    title = "Difference from single-task (arm mean − single-task mean, 95% Welch CI)"
    summ = arm_summary(trials)
    summ = summ[(summ["arm"] != BASELINE_ARM) & summ["diff"].notna()] if not summ.empty else summ
    if summ.empty:
        return _empty(title, "needs completed single-task and other-arm trials at the same level")
    levels = levels_in(answer_trials(trials))
    pos = {lv: i for i, lv in enumerate(levels)}
    arms = [a for a in arms_in(answer_trials(trials)) if a != BASELINE_ARM]
    offsets = {a: (i - (len(arms) - 1) / 2) * 0.2 for i, a in enumerate(arms)}
    fig = go.Figure()
    for i, arm in enumerate(arms):
        sub = summ[summ["arm"] == arm]
        if sub.empty:
            continue
        color = arm_color(arm, i)
        fig.add_trace(
            go.Scatter(
                x=sub["sparsity"].map(pos).to_numpy() + offsets[arm],
                y=sub["diff"].to_numpy(),
                error_y=dict(type="data", array=sub["diff_hw"].fillna(0).to_numpy(), color=color, thickness=2),
                mode="markers",
                marker=dict(color=color, size=12, symbol="diamond"),
                name=f"{plot_text(arm)} − single-task",
                customdata=np.stack(
                    [
                        sub["sparsity"].map(fmt_sparsity).to_numpy(dtype=object),
                        sub["diff_hw"].map(lambda v: fmt_num(v) or "n/a").to_numpy(dtype=object),
                        sub["verdict"].map(plot_text).to_numpy(dtype=object),
                    ],
                    axis=1,
                ),
                hovertemplate=(
                    f"<b>{plot_text(arm)} − single-task</b><br>sparsity: %{{customdata[0]}}<br>"
                    "diff: %{y:+.4f} ± %{customdata[1]}<br>%{customdata[2]}<extra></extra>"
                ),
            )
        )
    _layout(fig, title, 380)
    fig.add_hline(y=0, line=dict(color="#888", dash="dash", width=1))
    fig.update_xaxes(
        title="fraction of training pairs used (sparsity level)",
        tickvals=list(range(len(levels))),
        ticktext=[fmt_sparsity(lv) for lv in levels],
        range=[-0.6, len(levels) - 0.4],
        showgrid=False,
    )
    fig.update_yaxes(title="Δ CLIP score vs single-task", zeroline=False)
    return fig


# Result keys that are bookkeeping, not alignment metrics (everything else under final/* is a
# companion metric shown beside CLIP score).
NOT_COMPANION = {
    "clip_score", "loss", "data_fraction", "train_pairs", "test_pairs", "logit_scale", "epoch_time_s",
    "time_s", "epoch", "step", "steps", "lr", "seed", "sparsity",
}  # fmt: skip


def companion_metrics(trials: pd.DataFrame) -> list[str]:
    """``final/<metric>`` columns (numeric, with values) beyond CLIP score: retrieval, modality
    gap, alignment, ... Confidence bounds (``*_ci_low`` / ``*_ci_high``), the untrained model's
    values (``init_*``), losses and bookkeeping are left out. Returns metric names (no prefix)."""
    out = []
    for c in trials.columns:
        c = str(c)
        if not c.startswith("final/"):
            continue
        name = c[len("final/") :]
        if (
            name in NOT_COMPANION
            or name.startswith(("init_", "loss/", "loss_"))
            or name.endswith(("_ci_low", "_ci_high"))
            or not pd.api.types.is_numeric_dtype(trials[c])
            or pd.api.types.is_bool_dtype(trials[c])
            or trials[c].notna().sum() == 0
        ):
            continue
        out.append(name)
    return sorted(out)


def companion_figure(trials: pd.DataFrame, metrics: list[str] | None = None) -> go.Figure:
    """CLIP score and each companion metric vs sparsity: per-arm mean ± 95% CI (completed trials),
    one small panel per metric; the untrained model's value (``final/init_<metric>``) as a grey dash."""
    title = "CLIP score and companion metrics per sparsity level (mean ± 95% CI over completed trials)"
    df = answer_trials(trials)
    metrics = companion_metrics(trials) if metrics is None else metrics
    if df.empty or not metrics:
        return _empty(title, "no companion metrics recorded")
    cols = ["final_clip_score"] + [f"final/{m}" for m in metrics]
    names = ["clip_score"] + list(metrics)
    ncols = min(3, len(cols))
    nrows = math.ceil(len(cols) / ncols)
    fig = make_subplots(
        rows=nrows, cols=ncols, subplot_titles=[plot_text(n) for n in names],
        horizontal_spacing=0.07, vertical_spacing=0.5 / nrows if nrows > 1 else 0.1,
    )  # fmt: skip
    levels = levels_in(df)
    pos = {lv: i for i, lv in enumerate(levels)}
    arms = arms_in(df)
    offsets = {a: (i - (len(arms) - 1) / 2) * 0.15 for i, a in enumerate(arms)}
    for k, (col, name) in enumerate(zip(cols, names)):
        r, c = k // ncols + 1, k % ncols + 1
        for i, arm in enumerate(arms):
            sub = df[df["arm"] == arm]
            stats = [(lv, *mean_ci(sub.loc[sub["sparsity"] == lv, col])) for lv in levels]
            stats = [st for st in stats if st[1] > 0]
            if not stats:
                continue
            color = arm_color(arm, i)
            fig.add_trace(
                go.Scatter(
                    x=[pos[st[0]] + offsets[arm] for st in stats],
                    y=[st[2] for st in stats],
                    error_y=dict(type="data", array=[0 if math.isnan(st[3]) else st[3] for st in stats], color=color),
                    mode="lines+markers",
                    line=dict(color=color, width=1.5),
                    marker=dict(color=color, size=8),
                    name=plot_text(arm),
                    legendgroup=arm,
                    showlegend=k == 0,
                    customdata=[[plot_text(arm), fmt_sparsity(st[0]), st[1]] for st in stats],
                    hovertemplate=(
                        f"<b>{plot_text(name)}</b><br>arm: %{{customdata[0]}}<br>sparsity: %{{customdata[1]}}<br>"
                        "n: %{customdata[2]}<br>mean: %{y:.4f}<extra></extra>"
                    ),
                ),
                row=r,
                col=c,
            )
        init_col = "init_clip_score" if col == "final_clip_score" else f"final/init_{name}"
        if init_col in trials.columns and trials[init_col].notna().any():
            init = trials[trials[init_col].notna()].groupby("sparsity")[init_col].mean()
            init = init[init.index.isin(levels)]
            if not init.empty:
                fig.add_trace(
                    go.Scatter(
                        x=[pos[lv] for lv in init.index],
                        y=init.to_numpy(),
                        mode="markers",
                        marker=dict(symbol="line-ew", size=30, line=dict(width=2, color="#bbbbbb")),
                        name="untrained model",
                        legendgroup="untrained",
                        showlegend=not any(t.name == "untrained model" for t in fig.data),
                        hovertemplate=f"untrained model<br>{plot_text(name)}: %{{y:.4f}}<extra></extra>",
                    ),
                    row=r,
                    col=c,
                )
        fig.update_xaxes(
            tickvals=list(range(len(levels))), ticktext=[fmt_sparsity(lv) for lv in levels],
            range=[-0.5, len(levels) - 0.5], showgrid=False, row=r, col=c,
        )  # fmt: skip
    _layout(fig, title, 150 + 260 * nrows, legend_y=1.0 + 0.12 / nrows, top=120)
    return fig


# --------------------------------------------------------------------------- orderings


def ordering_tasks(ordering: object) -> list[str]:
    """'itc > findings > rotation' -> ['itc', 'findings', 'rotation'] (also accepts ',' lists)."""
    if ordering is None or (isinstance(ordering, float) and math.isnan(ordering)):
        return []
    text = str(ordering)
    parts = text.split(">") if ">" in text else text.split(",")
    return [p.strip() for p in parts if p.strip()]


def ordering_positions(trials: pd.DataFrame) -> pd.DataFrame:
    """Completed curriculum trials in long form: one row per (trial, task) with the task's
    position in the ordering (0 = first) and the trial's score, raw and centred on its level's
    mean (so levels with different score ranges can be pooled)."""
    df = _curriculum_completed(trials)
    if df.empty:
        return pd.DataFrame(columns=["trial_id", "sparsity", "task", "position", "score", "centred"])
    centred = df["final_clip_score"] - df.groupby("sparsity")["final_clip_score"].transform("mean")
    rows = []
    for tid, level, ordering, score, cen in zip(
        df["trial_id"], df["sparsity"], df["ordering"], df["final_clip_score"], centred
    ):
        for pos, task in enumerate(ordering_tasks(ordering)):
            rows.append(dict(trial_id=tid, sparsity=level, task=task, position=pos, score=score, centred=cen))
    return pd.DataFrame(rows)


def ordering_heatmap(trials: pd.DataFrame) -> go.Figure:
    """Task × position heatmap per sparsity level: mean final CLIP score of the curriculum trials
    that put that task at that position. Colour = difference from the level's mean (shared
    diverging scale), cell text = mean score and n."""
    title = "Task × position in the ordering: mean CLIP score of trials with that task there"
    long = ordering_positions(trials)
    if long.empty:
        return _empty(title, "no completed curriculum trials with a task ordering yet")
    levels = levels_in(long)
    tasks = sorted(long["task"].unique(), key=lambda t: (t != "itc", t))
    npos = int(long["position"].max()) + 1
    fig = make_subplots(
        rows=1, cols=len(levels), shared_yaxes=True, horizontal_spacing=0.04,
        subplot_titles=[f"sparsity {fmt_sparsity(lv)}" for lv in levels],
    )  # fmt: skip
    span = float(np.nanmax(np.abs(long.groupby(["sparsity", "task", "position"])["centred"].mean()))) or 1.0
    for c, level in enumerate(levels, start=1):
        sub = long[long["sparsity"] == level]
        agg = sub.groupby(["task", "position"]).agg(
            mean=("score", "mean"), cen=("centred", "mean"), n=("score", "size")
        )
        z = np.full((len(tasks), npos), np.nan)
        text = np.full((len(tasks), npos), "", dtype=object)
        cd = np.full((len(tasks), npos, 3), "", dtype=object)
        for (task, p), r in agg.iterrows():
            ti = tasks.index(task)
            z[ti, p] = r["cen"]
            text[ti, p] = f"{r['mean']:.3f}<br>n={int(r['n'])}"
            cd[ti, p] = [plot_text(task), str(p + 1), f"{r['mean']:.4f} (n={int(r['n'])})"]
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=[f"#{i + 1}" for i in range(npos)],
                y=[plot_text(t) for t in tasks],
                text=text,
                texttemplate="%{text}",
                coloraxis="coloraxis",
                customdata=cd,
                xgap=2,
                ygap=2,
                name=f"sparsity {fmt_sparsity(level)}",
                hovertemplate=(
                    "<b>%{customdata[0]}</b> at position %{customdata[1]}<br>mean CLIP score: %{customdata[2]}"
                    "<br>vs level mean: %{z:+.4f}<extra></extra>"
                ),
            ),  # fmt: skip
            row=1,
            col=c,
        )
    _layout(fig, title, max(300, 70 * len(tasks) + 180))
    fig.update_layout(
        coloraxis=dict(colorscale="RdBu", cmid=0, cmin=-span, cmax=span,
                       colorbar=dict(title=dict(text="vs level<br>mean"), thickness=12)),
    )  # fmt: skip
    fig.update_xaxes(title="position in the ordering (1 = first)")
    fig.update_yaxes(autorange="reversed")
    return fig


def best_orderings(trials: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """The ``k`` task orderings with the highest mean level-centred CLIP score (ties: more trials
    first): ordering, n trials, levels tried, mean centred score, best raw score and its trial."""
    df = _curriculum_completed(trials)
    if df.empty:
        return pd.DataFrame(columns=["ordering", "n", "levels", "mean_vs_level", "best", "best_trial"])
    df = df.assign(
        ordering=df["ordering"].fillna("").astype(str),
        centred=df["final_clip_score"] - df.groupby("sparsity")["final_clip_score"].transform("mean"),
    )
    rows = []
    for ordering, g in df.groupby("ordering"):
        best = g.loc[g["final_clip_score"].idxmax()]
        rows.append(
            dict(
                ordering=ordering,
                n=len(g),
                levels=", ".join(fmt_sparsity(lv) for lv in sorted(g["sparsity"].unique())),
                mean_vs_level=float(g["centred"].mean()),
                best=float(best["final_clip_score"]),
                best_trial=str(best["trial_id"]),
            )
        )
    out = pd.DataFrame(rows).sort_values(["mean_vs_level", "n"], ascending=[False, False])
    return out.head(k).reset_index(drop=True)


# --------------------------------------------------------------------------- losses and schedules


def loss_tasks(epochs: pd.DataFrame) -> list[str]:
    """Tasks with a per-epoch loss column ``loss/<task>`` that has values, itc first."""
    tasks = [str(c)[5:] for c in epochs.columns if str(c).startswith("loss/") and epochs[c].notna().any()]
    return sorted(tasks, key=lambda t: (t != "itc", t))


def loss_figure(epochs: pd.DataFrame, trials: pd.DataFrame) -> go.Figure:
    """Each task's training loss per epoch (``loss/<task>``), one panel per task, one line per
    trial coloured by arm (dotted: not completed). A task's line starts when it joins the schedule."""
    title = "Training loss per task and epoch, one line per trial (dotted: pruned / errored / running)"
    tasks = loss_tasks(epochs) if not epochs.empty else []
    if not tasks:
        return _empty(title, "no per-task losses (loss/<task>) recorded yet")
    ep = _with_trial_info(epochs, trials)
    fig = make_subplots(
        rows=1, cols=len(tasks), horizontal_spacing=0.06, subplot_titles=[f"loss/{plot_text(t)}" for t in tasks]
    )
    keep, compact, Trace = _curve_budget(ep, panels=len(tasks))
    arms = arms_in(ep)
    for c, task in enumerate(tasks, start=1):
        col = f"loss/{task}"
        has = ep[ep[col].notna()]
        for i, arm in enumerate(arms):
            for done in (True, False):
                sub = has[(has["arm"] == arm) & ((has["status"] == "completed") == done)]
                if sub.empty:
                    continue
                xs, ys, cds = _lines(sub, col, keep, compact)
                name = plot_text(arm) + ("" if done else " (not completed)")
                fig.add_trace(
                    Trace(
                        x=xs,
                        y=ys,
                        customdata=cds,
                        mode="lines+markers",
                        connectgaps=False,
                        line=dict(color=arm_color(arm, i), width=1.2, dash="solid" if done else "dot"),
                        marker=dict(size=3),
                        opacity=0.55,
                        name=name,
                        legendgroup=name,
                        showlegend=not any(t.name == name for t in fig.data),
                        hovertemplate=_curve_hover(f"loss/{plot_text(task)}", compact),
                    ),  # fmt: skip
                    row=1,
                    col=c,
                )
    _layout(fig, title, 420, legend_y=1.1, top=120)
    fig.update_xaxes(title="epoch", rangemode="tozero")
    fig.update_yaxes(title="training loss", row=1, col=1)
    return fig


def _inspect_schedule_table():
    """``curriclip.curriculum.inspect.schedule_table`` when that (pure, torch-free) module exists."""
    try:
        from curriclip.curriculum.inspect import schedule_table
    except Exception:  # noqa: BLE001 - absent or broken: fall back to the recorded epochs
        return None
    return schedule_table


def schedule_frame(epochs: pd.DataFrame, trials: pd.DataFrame, trial_ids: list[str]) -> tuple[pd.DataFrame, str]:
    """The schedule each of ``trial_ids`` followed, long form [trial_id, x (epochs, fractional),
    task, weight, data_fraction], and where it came from. Uses the curriculum engine's
    ``schedule_table(config)`` when available (exact, 100 points), else the recorded epochs:
    a task counts as active (weight 1 / number of active tasks) in an epoch listed in ``active_tasks``."""
    table_fn = _inspect_schedule_table()
    frames, source = [], "recorded epochs (active_tasks, data_fraction)"
    info = trials.set_index("trial_id") if not trials.empty else None
    for tid in trial_ids:
        sched = None
        if table_fn is not None and info is not None and tid in info.index:
            try:
                row = info.loc[tid]
                cfg = json.loads(row["config_json"] or "{}")
                pairs = row.get("final/train_pairs")
                pairs = None if _missing(pairs) else int(pairs)
                tab = pd.DataFrame(table_fn(cfg, train_pairs=pairs) if pairs else table_fn(cfg))
                n_ep = float(cfg.get("epochs") or row["epochs_done"] or 1)
                sched = pd.DataFrame(
                    dict(trial_id=tid, x=tab["progress"].astype(float) * n_ep, task=tab["task"].astype(str),
                         weight=tab["weight"].astype(float), data_fraction=tab["data_fraction"].astype(float))
                )  # fmt: skip
                done = row["epochs_done"]
                if row["status"] != "completed" and not _missing(done):
                    sched = sched[sched["x"] <= float(done)]  # stopped early: only what it trained
                source = "the curriculum engine's schedule_table (planned schedule, from each trial's config)"
            except Exception:  # noqa: BLE001 - a config the engine can't read: use the epochs
                sched = None
        if sched is None and not epochs.empty:
            ep = epochs[epochs["trial_id"] == tid].sort_values("epoch")
            rows = []
            for e, active, frac in zip(ep["epoch"], ep["active_tasks"], ep["data_fraction"]):
                act = ordering_tasks(active)
                for task in act:
                    rows.append(dict(trial_id=tid, x=float(e), task=task, weight=1.0 / len(act), data_fraction=frac))
                if not act:
                    rows.append(dict(trial_id=tid, x=float(e), task="", weight=0.0, data_fraction=frac))
            sched = pd.DataFrame(rows)
        if sched is not None and not sched.empty:
            frames.append(sched)
    if not frames:
        return pd.DataFrame(columns=["trial_id", "x", "task", "weight", "data_fraction"]), source
    return pd.concat(frames, ignore_index=True), source


def schedule_figure(epochs: pd.DataFrame, trials: pd.DataFrame, max_trials: int = 40) -> go.Figure:
    """The schedule each curriculum trial followed: one heatmap panel per task (rows = trials,
    best final CLIP score at the top; columns = training time in epochs; colour = the task's loss
    weight, 0 = not yet active) and one panel with the fraction of data admitted by pacing."""
    title = "Schedule each curriculum trial followed (rows: trials, best first; colour: task weight)"
    cur = trials[trials["arm"] == "curriculum"] if not trials.empty else trials
    if cur.empty:
        return _empty(title, "no curriculum trials yet")
    cur = cur.sort_values("final_clip_score", ascending=False, na_position="last").head(max_trials)
    ids = cur["trial_id"].tolist()
    sched, source = schedule_frame(epochs, trials, ids)
    sched = sched[sched["task"] != ""] if not sched.empty else sched
    if sched.empty:
        return _empty(title, "no schedule information recorded (active_tasks / data_fraction)")
    sched = sched[sched["trial_id"].isin(ids)]
    ids = [t for t in ids if t in set(sched["trial_id"])]
    score = cur.set_index("trial_id")["final_clip_score"]
    labels = [f"{plot_text(t)} ({fmt_num(score.get(t), '.3f') or '—'})" for t in ids]
    tasks = sorted(sched["task"].unique(), key=lambda t: (t != "itc", t))
    xs = np.sort(sched["x"].unique())
    panels = [*tasks, "data fraction"]
    fig = make_subplots(
        rows=1, cols=len(panels), shared_yaxes=True, horizontal_spacing=0.02,
        subplot_titles=[plot_text(p) for p in panels],
    )  # fmt: skip
    row_of = {t: i for i, t in enumerate(ids)}
    col_of = {x: i for i, x in enumerate(xs)}
    for c, panel in enumerate(panels, start=1):
        z = np.zeros((len(ids), len(xs)))
        if panel == "data fraction":
            sub = sched.drop_duplicates(["trial_id", "x"])
            vals, cmap = sub["data_fraction"], "Greens"
        else:
            sub = sched[sched["task"] == panel]
            vals, cmap = sub["weight"], "Blues"
        z[:] = np.nan if panel == "data fraction" else 0.0
        z[sub["trial_id"].map(row_of).to_numpy(), sub["x"].map(col_of).to_numpy()] = vals.to_numpy(dtype="float64")
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=xs,
                y=labels,
                zmin=0,
                zmax=1,
                colorscale=cmap,
                showscale=c in (1, len(panels)),
                colorbar=dict(
                    x=1.0 if c == len(panels) else 1.08,
                    thickness=10,
                    len=0.45,
                    y=0.25 if c == len(panels) else 0.78,
                    title=dict(text="data" if c == len(panels) else "weight"),
                ),
                name=plot_text(panel),
                hovertemplate=f"%{{y}}<br>epoch %{{x:.2f}}<br>{plot_text(panel)}: %{{z:.2f}}<extra></extra>",
            ),  # fmt: skip
            row=1,
            col=c,
        )
    _layout(fig, title, max(320, 18 * len(ids) + 180))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title="epoch")
    fig.update_layout(meta=dict(schedule_source=source))
    return fig
