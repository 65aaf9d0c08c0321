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
import math
import zlib

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

TEMPLATE = "plotly_white"
ARM_COLORS = {"single_task": "#7f7f7f", "curriculum": "#1f77b4"}
ARM_ORDER = ("single_task", "curriculum")
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


def _layout(fig: go.Figure, title: str, height: int, **kw) -> go.Figure:
    fig.update_layout(
        template=TEMPLATE,
        title=dict(text=title, x=0.01, xanchor="left"),
        height=height,
        margin=dict(l=70, r=30, t=70, b=60),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1),
        hoverlabel=dict(align="left"),
        **kw,
    )
    return fig


# --------------------------------------------------------------------------- answer


def answer_summary(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per sparsity level: per-arm n / mean / CI, curriculum best, difference, verdict.

    diff = curriculum mean - single-task mean, with a Welch 95% half-width (``diff_hw``).
    ``best_minus_single`` is what a search would report, but it is optimistic: the best
    trial is selected on the same held-out score it is judged by.
    """
    df = answer_trials(trials)
    rows = []
    for level in levels_in(df):
        at = df[df["sparsity"] == level]
        single = at.loc[at["arm"] == "single_task", "final_clip_score"]
        curr = at[at["arm"] == "curriculum"]
        n_s, m_s, hw_s = mean_ci(single)
        n_c, m_c, hw_c = mean_ci(curr["final_clip_score"])
        diff, diff_hw = welch_ci(single, curr["final_clip_score"])
        if n_c:
            best = curr.loc[curr["final_clip_score"].idxmax()]
            best_score, best_id = float(best["final_clip_score"]), str(best["trial_id"])
        else:
            best_score, best_id = float("nan"), ""
        rows.append(
            dict(
                sparsity=level,
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


def verdict(n_single: int, n_curr: int, diff: float, hw: float) -> str:
    if n_single < 2 or n_curr < 2 or math.isnan(hw):
        return f"not enough trials (need ≥ 2 per arm; single-task n={n_single}, curriculum n={n_curr})"
    if abs(diff) > hw:
        word = "better" if diff > 0 else "worse"
        return f"curriculum {word} by {abs(diff):.4f}, outside seed noise (95% CI half-width {hw:.4f})"
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


def pacing_figure(trials: pd.DataFrame) -> go.Figure:
    """Final CLIP score by pacing function: one box (with every trial as a point) per level."""
    title = "Curriculum trials: CLIP score by pacing function, per sparsity level"
    df = _curriculum_completed(trials)
    if df.empty:
        return _empty(title, "no completed curriculum trials yet")
    fig = go.Figure()
    pacings = sorted(df["pacing"].fillna("").astype(str).unique())
    for i, level in enumerate(levels_in(df)):
        sub = df[df["sparsity"] == level]
        fig.add_trace(
            go.Box(
                x=sub["pacing"].fillna("").astype(str).map(plot_text),
                y=sub["final_clip_score"],
                name=fmt_sparsity(level),
                legendgroup=fmt_sparsity(level),
                marker=dict(color=LEVEL_COLORS[i % len(LEVEL_COLORS)], size=6, opacity=0.7),
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                hoveron="points",
                customdata=hover_data(sub),
                hovertemplate=hover_template(),
            )
        )
    _layout(fig, title, 480, boxmode="group", legend_title_text="sparsity")
    fig.update_xaxes(
        title="pacing function",
        categoryorder="array",
        categoryarray=[plot_text(p) for p in pacings],
    )
    fig.update_yaxes(title=SCORE_LABEL)
    return fig


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


def _lines(df: pd.DataFrame, ycol: str) -> tuple[list, list, list]:
    """Concatenate per-trial lines into one trace's x/y/customdata with None breaks."""
    xs, ys, cds = [], [], []
    blank = [None] * len(HOVER_FIELDS)
    for _, g in df.sort_values(["trial_id", "epoch"]).groupby("trial_id", sort=False):
        xs.extend(g["epoch"].tolist() + [None])
        ys.extend(g[ycol].tolist() + [None])
        cds.extend(hover_data(g).tolist() + [blank])
    return xs, ys, cds


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
    for c, level in enumerate(levels, start=1):
        at = ep[ep["sparsity"] == level]
        for i, arm in enumerate(arms):
            for done in (True, False):
                sub = at[(at["arm"] == arm) & ((at["status"] == "completed") == done)]
                if sub.empty:
                    continue
                xs, ys, cds = _lines(sub, "clip_score")
                name = plot_text(arm) + ("" if done else " (not completed)")
                fig.add_trace(
                    go.Scatter(
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
                        hovertemplate=hover_template(extra="epoch: %{x}<br>"),
                    ),
                    row=1,
                    col=c,
                )
    _layout(fig, title, 460)
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
    for i, pacing in enumerate(pacings):
        sub = ep[ep["pacing"] == pacing]
        xs, ys, cds = _lines(sub, "data_fraction")
        color = ARM_COLORS["single_task"] if pacing == "none" else LEVEL_COLORS[i % len(LEVEL_COLORS)]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                customdata=cds,
                mode="lines+markers",
                line=dict(color=color, width=1.3),
                marker=dict(size=3),
                opacity=0.6,
                name=plot_text(pacing) if pacing != "none" else "none (single-task)",
                hovertemplate=hover_template("data fraction", extra="epoch: %{x}<br>"),
            )
        )
    _layout(fig, title, 420, legend_title_text="pacing")
    fig.update_xaxes(title="epoch", rangemode="tozero")
    fig.update_yaxes(title="fraction of training pool admitted (0–1)", range=[0, 1.05])
    return fig
