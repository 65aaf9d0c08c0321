"""The confirmed answer as a forest plot: each arm's paired difference from single-task per level, with its
Holm-corrected interval, a zero line and the declared equivalence band (± margin), one panel per metric.

A point whose interval lies right of zero is "better", left "worse"; inside the grey band, "equivalent"; an
interval that crosses zero and leaves the band is "inconclusive". Numbers come from ``answer.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..confirmed import confirmed_answer, metric_label, metric_short, verdict_words
from ..style import apply_layout, arm_color, empty_figure, fmt_num, fmt_sparsity, plot_text
from . import FigureSpec

TITLE = "Confirmed paired differences (Holm-corrected intervals; grey band: equivalence margin)"


@dataclass
class ForestData:
    metrics: list[str]  # one panel each: headline, then robust
    margins: dict[str, float]
    reference: str
    rows: pd.DataFrame  # comparisons with a difference: level, arm, metric, diff_mean, corrected_low/high, verdict
    labels: list[str]  # y categories, top to bottom: "<level> · <arm>"


def row_label(level: float, arm: str, reference: str, default_reference: str) -> str:
    """'10% · curriculum', or '10% · curriculum − curriculum_random' against another reference than single-task."""
    against = "" if reference == default_reference else f" − {plot_text(reference)}"
    return f"{fmt_sparsity(level)} · {plot_text(arm)}{against}"


def forest_data(results) -> ForestData | None:
    answer = confirmed_answer(results.answer)
    if answer is None:
        return None
    rows = answer.comparisons[answer.comparisons["diff_mean"].notna()]
    if rows.empty:
        return None
    keys = zip(rows["level"], rows["arm"], rows["reference"])
    rows = rows.assign(label=[row_label(lv, arm, ref, answer.reference_arm) for lv, arm, ref in keys])
    labels = list(dict.fromkeys(rows["label"]))
    metrics = [m for m in answer.metrics if m in set(rows["metric"])]
    return ForestData(metrics, answer.margins, answer.reference_arm, rows, labels)


def _trace(sub: pd.DataFrame, name: str, color: str, symbol: str, metric: str, show_legend: bool) -> go.Scatter:
    customdata = np.stack(
        [
            sub["label"].to_numpy(dtype=object),
            sub["corrected_low"].map(fmt_num).to_numpy(dtype=object),
            sub["corrected_high"].map(fmt_num).to_numpy(dtype=object),
            np.array(
                [plot_text(verdict_words(v, ref)) for v, ref in zip(sub["verdict"], sub["reference"])], dtype=object
            ),
        ],
        axis=1,
    )
    return go.Scatter(
        x=sub["diff_mean"].to_numpy(),
        y=sub["label"].to_numpy(),
        error_x=dict(
            type="data",
            symmetric=False,
            array=(sub["corrected_high"] - sub["diff_mean"]).fillna(0).to_numpy(),
            arrayminus=(sub["diff_mean"] - sub["corrected_low"]).fillna(0).to_numpy(),
            color=color,
            thickness=2,
        ),
        mode="markers",
        marker=dict(color=color, size=11, symbol=symbol),
        name=name,
        legendgroup=name,
        showlegend=show_legend,
        customdata=customdata,
        hovertemplate=(
            f"<b>%{{customdata[0]}}</b><br>{plot_text(metric_label(metric))}: Δ %{{x:+.4f}}"
            "<br>corrected CI [%{customdata[1]}, %{customdata[2]}]<br>%{customdata[3]}<extra></extra>"
        ),
    )


def draw(data: ForestData | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "no confirmed answer: the confirm phase has not run (no answer.json)")
    titles = [f"Δ {metric_short(m)}" for m in data.metrics]
    fig = make_subplots(rows=1, cols=len(data.metrics), subplot_titles=titles, shared_yaxes=True)
    pairs = list(dict.fromkeys(zip(data.rows["arm"], data.rows["reference"])))
    for col, metric in enumerate(data.metrics, start=1):
        for i, (arm, reference) in enumerate(pairs):
            of_pair = (data.rows["arm"] == arm) & (data.rows["reference"] == reference)
            sub = data.rows[(data.rows["metric"] == metric) & of_pair]
            # one trace per comparison in the arm's colour: filled against single-task, open against another arm
            default = reference == data.reference
            name = plot_text(arm) if default else f"{plot_text(arm)} − {plot_text(reference)}"
            symbol = "diamond" if default else "diamond-open"
            if not sub.empty:
                trace = _trace(sub, name, arm_color(arm, i), symbol, metric, show_legend=col == 1)
                fig.add_trace(trace, row=1, col=col)
        margin = data.margins.get(metric)
        if margin:  # behind the points: the band where a difference counts as equivalent
            fig.add_vrect(x0=-margin, x1=margin, fillcolor="#d9d9d9", opacity=0.5, line_width=0, layer="below",
                          row=1, col=col)  # fmt: skip
        fig.add_vline(x=0, line=dict(color="#555", dash="dash", width=1), row=1, col=col)
    height = max(380, 220 + 26 * len(data.labels))
    apply_layout(fig, TITLE, height, legend_y=1.14, top=140)
    fig.update_yaxes(categoryorder="array", categoryarray=data.labels[::-1], type="category")
    fig.update_xaxes(title=f"arm − {plot_text(data.reference)} (or the arm named after “−”)")
    return fig


FIGURE = FigureSpec(TITLE, forest_data, draw)
