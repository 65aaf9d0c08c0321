"""How the report looks: colours, the Plotly template and layout, and text made safe for Plotly.

Kept apart from the figures so that every figure draws arms, levels and statuses in the same
colours, and a change of look is one edit. Strings shown by Plotly (hover text, tick labels,
legend names) pass through ``plot_text``: Plotly renders a small subset of HTML in them, so
escaping makes a task called ``<b>x</b>`` show literally. The page's own safety against
``</script>`` does not rely on this (see ``page``).
"""

from __future__ import annotations

import html
import math
import zlib

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from curriclip.names import ARMS, Arm, Status, TrialColumn

# The template object, resolved once: assigning it is about twice as fast as assigning its name.
TEMPLATE = pio.templates["plotly_white"]
ARM_COLORS = {
    Arm.SINGLE_TASK: "#7f7f7f",
    Arm.MULTITASK: "#ff7f0e",
    Arm.CURRICULUM: "#1f77b4",
    Arm.CURRICULUM_RANDOM: "#17becf",
    Arm.SHUFFLED_CONTROL: "#9467bd",
}
ARM_ORDER = ARMS
FALLBACK_COLORS = ("#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
# Sparsity levels and pacing functions get a palette disjoint from the two arm colours.
LEVEL_COLORS = ("#e6550d", "#31a354", "#756bb1", "#d6616b", "#8c6d31", "#17becf", "#e377c2", "#bcbd22")
STATUS_COLORS = {
    Status.COMPLETED: "#1b7f3b",
    Status.PRUNED: "#d4a017",
    Status.ERRORED: "#c62828",
    Status.RUNNING: "#1565c0",
    Status.PENDING: "#9aa3b0",
    Status.DAMAGED: "#6d4c41",
}
UNTRAINED_COLOR = "#bbbbbb"
SCORE_LABEL = "CLIP score (0–2.5)"
CLIP_SCORE_DEFINITION = "CLIP score = 2.5 · max(cos(image, text), 0), mean over held-out pairs (Hessel et al. 2021)"
HOVER_FIELDS = (
    TrialColumn.TRIAL_ID, TrialColumn.ARM, TrialColumn.SPARSITY, TrialColumn.PACING, TrialColumn.ORDERING,
    TrialColumn.LR,
)  # fmt: skip
SPARSITY_AXIS_TITLE = "fraction of training pairs used (sparsity level)"


def is_missing(value: object) -> bool:
    """None, pandas' NA or a float NaN: the one missing-value test of the report."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def plot_text(value: object) -> str:
    """A user string made literal for plotly's pseudo-HTML text rendering."""
    return "" if is_missing(value) else html.escape(str(value), quote=False)


def fmt_sparsity(level: object) -> str:
    """0.05 -> '5%', 1.0 -> '100%', 0.125 -> '12.5%'."""
    return "?" if is_missing(level) else f"{float(level) * 100:.4g}%"  # type: ignore[arg-type]


def fmt_num(value: object, spec: str = ".4f") -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(number) else format(number, spec)


def arm_color(arm: str, index: int = 0) -> str:
    return ARM_COLORS.get(arm, FALLBACK_COLORS[index % len(FALLBACK_COLORS)])


def level_color(index: int) -> str:
    return LEVEL_COLORS[index % len(LEVEL_COLORS)]


def arms_in(df: pd.DataFrame) -> list[str]:
    """Arms present, known ones first in a fixed order."""
    present = df[TrialColumn.ARM].dropna().unique().tolist()
    return [a for a in ARM_ORDER if a in present] + sorted(a for a in present if a not in ARM_ORDER)


def arm_rank(arm: object) -> str:
    """A sort key putting the known arms first, in ``ARM_ORDER``."""
    return f"{ARM_ORDER.index(arm):02d}" if arm in ARM_ORDER else f"99{arm}"  # type: ignore[arg-type]


def levels_in(df: pd.DataFrame) -> list[float]:
    return sorted(float(s) for s in df[TrialColumn.SPARSITY].dropna().unique())


def tasks_itc_first(tasks) -> list[str]:
    return sorted(tasks, key=lambda task: (task != "itc", task))


def hover_data(df: pd.DataFrame) -> np.ndarray:
    """customdata rows [trial_id, arm, sparsity, pacing, ordering, lr], preformatted strings.

    The trial id comes first: the page's trial inspector reads ``customdata[0]``."""
    if df.empty:
        return np.empty((0, len(HOVER_FIELDS)), dtype=object)
    cols = [
        df[TrialColumn.TRIAL_ID].map(plot_text),
        df[TrialColumn.ARM].map(plot_text),
        df[TrialColumn.SPARSITY].map(fmt_sparsity),
        df[TrialColumn.PACING].map(plot_text),
        df[TrialColumn.ORDERING].map(plot_text),
        df[TrialColumn.LR].map(lambda v: fmt_num(v, ".2e")),
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
    hashes = np.array([zlib.crc32(str(k).encode()) for k in keys], dtype="float64")
    return (hashes / 0xFFFFFFFF * 2 - 1) * width


_LOG_PARAM_HINTS = ("lr", "learning_rate", "weight_decay", "wd", "eps", "temperature", "decay")


def log_scaled(name: str, values: pd.Series) -> bool:
    """Show a parameter on a log10 axis: positive and spanning > 2 decades, or > 1 decade
    for names that are usually searched log-uniformly (lr, weight decay, ...)."""
    if values.empty or not (values > 0).all():
        return False
    ratio = values.max() / values.min()
    hinted = any(h == name or name.endswith(("_" + h, "/" + h)) for h in _LOG_PARAM_HINTS)
    return ratio > 100 or (hinted and ratio >= 10)


def empty_figure(title: str, note: str) -> go.Figure:
    """A figure that says why it has nothing to show."""
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


def apply_layout(fig: go.Figure, title: str, height: int, legend_y: float = 1.02, top: int = 100, **kw) -> go.Figure:
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


def level_axis(fig: go.Figure, levels: list[float], title: str | None = SPARSITY_AXIS_TITLE, **where) -> None:
    """An x axis with one category per sparsity level (positions 0..n-1)."""
    fig.update_xaxes(
        title=title,
        tickvals=list(range(len(levels))),
        ticktext=[fmt_sparsity(lv) for lv in levels],
        range=[-0.6, len(levels) - 0.4],
        showgrid=False,
        **where,
    )
