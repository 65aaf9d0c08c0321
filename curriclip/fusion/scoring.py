"""Scoring a fusion as a BraTS participant would be scored: per case, per region, against one target.

Every participant (each selected trial, the fusion, each rater) is scored per case and
region against each target (``targets``); the summary of a participant is the mean over
cases with a bootstrap interval. The floor is each rater against the raters' consensus,
averaged over raters and cases: the same target and unit as the models' scores. (A
rater is part of the consensus it is scored against, so the floor is, if anything, high.)
The members and the fusion are ranked BraTS's way (rank per case and score, then mean),
and the fusion is compared with the best member (the first by the selection metric, so
the comparison does not choose its opponent on test) by a paired permutation test and a
bootstrap interval over cases, Bonferroni-corrected over the regions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curriclip.fusion.targets import Targets
from curriclip.metrics.brats import case_table
from curriclip.metrics.brats_ranking import mean_interval, paired_difference, rank_then_aggregate, verdict

RATER, TRIAL, FUSED = "rater", "trial", "fusion"
FAMILY_ALPHA = 0.05


def case_rows(participants: dict[str, tuple[str, np.ndarray]], targets: Targets) -> pd.DataFrame:
    """The per-case x region table: ``participants`` is name -> (kind, (N, 3, S, S) masks)."""
    parts = []
    for target, reference in targets.targets.items():
        for name, (kind, masks) in participants.items():
            table = case_table(masks, reference, targets.cases, targets.spacing, targets.regions)
            table.insert(0, "target", target)
            table.insert(1, "member", name)
            table.insert(2, "kind", kind)
            parts.append(table)
    return pd.concat(parts, ignore_index=True)


def summary(cases: pd.DataFrame, primary: str, order: list[str]) -> pd.DataFrame:
    """One row per member and the fusion (``order``: members by selection, then the fusion): mean Dice and
    HD95 per region with intervals against each target, the floor, BraTS's rank, the fusion vs the best member."""
    rows = {name: {"member": name} for name in order}
    for target, part in cases.groupby("target", sort=False):
        prefix = "" if target == primary else f"{target}_"
        for (name, region), values in part.groupby(["member", "region"], sort=False):
            if name not in rows:
                continue
            for score in ("dice", "hd95"):
                mean, low, high = mean_interval(values[score].to_numpy())
                rows[name].update(
                    {
                        f"{prefix}{score}_{region}": mean,
                        f"{prefix}{score}_{region}_low": low,
                        f"{prefix}{score}_{region}_high": high,
                    }
                )
    frame = pd.DataFrame([rows[name] for name in order])
    main = cases[cases["target"] == primary]
    regions = list(dict.fromkeys(cases["region"]))
    frame["dice_mean"] = frame[[f"dice_{r}" for r in regions]].mean(axis=1)
    raters = main[main["kind"] == RATER]
    for region in regions:
        floor = raters[raters["region"] == region]
        frame[f"floor_{region}"] = floor["dice"].mean() if len(floor) else np.nan
        frame[f"floor_hd95_{region}"] = floor["hd95"].mean() if len(floor) else np.nan
    ranked = main[main["member"].isin(order)].rename(columns={"member": "participant"})
    ranking = rank_then_aggregate(ranked).set_index("participant")
    frame["brats_mean_rank"] = frame["member"].map(ranking["mean_rank"])
    frame["brats_rank"] = frame["member"].map(ranking["rank"])
    frame["cases"] = main["case"].nunique()
    return frame


def fusion_vs_best(cases: pd.DataFrame, primary: str, best: str) -> dict[str, object]:
    """Per region and score, fusion minus the best member over paired cases (Bonferroni over regions)."""
    main = cases[cases["target"] == primary]
    regions = list(dict.fromkeys(main["region"]))
    confidence = 1 - FAMILY_ALPHA / len(regions)
    out: dict[str, object] = {"vs_best_member": best, "vs_best_confidence": confidence}
    for region in regions:
        part = main[main["region"] == region]
        fused = part[part["member"] == FUSED].set_index("case")
        single = part[part["member"] == best].set_index("case").reindex(fused.index)
        for score, higher in (("dice", True), ("hd95", False)):
            difference = paired_difference(fused[score].to_numpy(), single[score].to_numpy(), confidence)
            key = f"vs_best_{score}_{region}"
            out.update({f"{key}_{k}": v for k, v in difference.items() if k != "cases"})
            out[f"{key}_verdict"] = verdict(difference, higher)
    return out
