"""What a fusion's rows say, without torch: best trial per region, and whether the fusion beats the best member.

"Beats" is the paired comparison over cases written by ``curriclip fuse`` (the fusion
minus the best member by the selection metric, with a Bonferroni-corrected bootstrap
interval and a permutation p-value): "better" only when the interval excludes zero.

Shared by ``curriclip fuse`` (which writes ``fusion.parquet``) and the report's Fusion section
(which only reads it), so rendering a report never imports torch.
"""

from __future__ import annotations

import pandas as pd

#: how the fused trials were chosen (said on every output)
SELECTION = (
    "selected on the search phase's metric (the validate split; the test split in runs from before the protocol)"
)
#: alignment metrics compared for the embedding fusion
ALIGNMENT = ("clip_score", "clip_score_gap", "i2t_r1", "t2i_r1")
#: the ``member`` of a fusion's own row
FUSED = "fusion"


def summary_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The per-member summary rows of ``fusion.parquet`` (files written before per-case rows are all summary)."""
    return frame[frame["scope"] == "summary"] if "scope" in frame.columns else frame


def regions_of(frame: pd.DataFrame) -> list[str]:
    """The regions scored in a fusion's rows (``dice_<region>`` columns, without means and interval ends)."""
    names = [c.removeprefix("dice_") for c in frame.columns if c.startswith("dice_")]
    return [n for n in names if n != "mean" and not n.endswith(("_low", "_high"))]


def floor_verdict(dice: float, floor: float | None) -> str:
    """ "within" rater variability (Dice at least the inter-rater floor), "below", or "no raters"."""
    if floor is None:
        return "no raters"
    return "within" if dice >= floor else "below"


def comparison(frame: pd.DataFrame) -> dict:
    """What the fusion rows say: best single trial per column, whether one trial is best on every region,
    and per region whether the fusion is better than the best member (interval over cases excluding zero)."""
    frame = summary_rows(frame)
    singles, fused = frame[frame["kind"] == "trial"], frame[frame["kind"] == FUSED].iloc[0]
    regions = regions_of(frame)
    best = {region: str(singles.loc[singles[f"dice_{region}"].idxmax(), "member"]) for region in regions}
    winners = {
        region: sorted(singles.loc[singles[f"dice_{region}"] == singles[f"dice_{region}"].max(), "member"])
        for region in regions
    }
    common = set.intersection(*(set(w) for w in winners.values())) if winners else set()
    columns = [f"dice_{r}" for r in regions] + ["dice_mean", *ALIGNMENT]
    versus = {
        region: {
            key: fused.get(f"vs_best_dice_{region}_{key}")
            for key in ("diff", "low", "high", "p", "verdict")
            if f"vs_best_dice_{region}_{key}" in fused.index
        }
        for region in regions
    }
    return {
        "top_k": int(frame["top_k"].iloc[0]),
        "method": str(frame["method"].iloc[0]),
        "selection": SELECTION,
        "best_trial_per_region": best,
        "one_trial_best_on_all_regions": sorted(common),
        "best_member": fused.get("vs_best_member"),
        "fusion_vs_best_member": versus,
        "fusion_above_every_trial": {f"dice_{r}": versus[r].get("verdict") == "better" for r in regions},
        "fusion": {c: float(fused[c]) for c in columns},
        "best_single": {c: float(singles[c].max()) for c in columns},
        "floor": {r: float(frame[f"floor_{r}"].iloc[0]) for r in regions},
        "fusion_verdict": {r: str(fused[f"verdict_{r}"]) for r in regions},
    }
