"""What a fusion's rows say, without torch: best trial per region, and whether the fusion beats every trial.

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


def floor_verdict(dice: float, floor: float | None) -> str:
    """ "within" rater variability (Dice at least the inter-rater floor), "below", or "no raters"."""
    if floor is None:
        return "no raters"
    return "within" if dice >= floor else "below"


def comparison(frame: pd.DataFrame) -> dict:
    """What the fusion rows say: best single trial per column, whether one trial is best on every region,
    and whether the fusion is strictly above every single trial per column."""
    singles, fused = frame[frame["kind"] == "trial"], frame[frame["kind"] == FUSED].iloc[0]
    regions = [c.removeprefix("dice_") for c in frame.columns if c.startswith("dice_") and c != "dice_mean"]
    best = {region: str(singles.loc[singles[f"dice_{region}"].idxmax(), "member"]) for region in regions}
    winners = {
        region: sorted(singles.loc[singles[f"dice_{region}"] == singles[f"dice_{region}"].max(), "member"])
        for region in regions
    }
    common = set.intersection(*(set(w) for w in winners.values())) if winners else set()
    columns = [f"dice_{r}" for r in regions] + ["dice_mean", *ALIGNMENT]
    return {
        "top_k": int(frame["top_k"].iloc[0]),
        "method": str(frame["method"].iloc[0]),
        "selection": SELECTION,
        "best_trial_per_region": best,
        "one_trial_best_on_all_regions": sorted(common),
        "fusion_above_every_trial": {c: bool(fused[c] > singles[c].max()) for c in columns},
        "fusion": {c: float(fused[c]) for c in columns},
        "best_single": {c: float(singles[c].max()) for c in columns},
        "floor": {r: float(frame[f"floor_{r}"].iloc[0]) for r in regions},
        "fusion_verdict": {r: str(fused[f"verdict_{r}"]) for r in regions},
    }
