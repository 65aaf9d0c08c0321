"""BraTS's per-case scores: 3-D Dice, Hausdorff 95, sensitivity, specificity and volume per region.

The BraTS challenges score each case (a 3-D volume), not each slice: a case's slices are
stacked in order into one volume, with the voxel spacing in millimetres, and every
region (WT, TC, ET) is scored on the whole volume. Distances and overlaps come from
MONAI (``monai.metrics``: ``compute_dice``, ``compute_hausdorff_distance`` at the 95th
percentile, the confusion-matrix metrics), the field's maintained implementations.

Empty regions are decided per case, as BraTS does for cases without enhancing tumour:
reference and prediction both empty -> Dice 1, HD95 0 (a correct "nothing here"); exactly
one empty -> Dice 0, HD95 the diagonal of the case's volume in mm (BraTS uses 373.13 mm,
the diagonal of its 240 x 240 x 155 mm grid). Sensitivity is undefined (NaN) when the
reference is empty. Volumes are in millilitres: voxels x voxel volume (mm^3) / 1000.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from curriclip.errors import ConfigError

REGIONS = ("wt", "tc", "et")
SCORES = ("dice", "hd95", "sensitivity", "specificity", "volume_ml", "target_volume_ml")
#: how each score ranks: higher is better, except the surface distance
HIGHER_IS_BETTER = {"dice": True, "hd95": False, "sensitivity": True, "specificity": True}

Spacing = tuple[float, float, float]


def _monai():
    import warnings

    try:
        with warnings.catch_warnings():  # MONAI's own deprecation notices about its internal arguments
            warnings.simplefilter("ignore", FutureWarning)
            import monai.metrics as metrics
    except ImportError:
        raise ConfigError("BraTS metrics need MONAI: pip install 'curriclip[fusion]' (or monai>=1.3)") from None
    return metrics


def case_volumes(masks: np.ndarray, cases: Sequence[str]) -> dict[str, np.ndarray]:
    """(N, K, H, W) slice masks and each row's case -> case -> (K, Z, H, W) volume, slices in row order."""
    masks = np.asarray(masks, dtype=bool)
    cases = np.asarray(cases)
    if len(cases) != len(masks):
        raise ValueError(f"{len(cases)} case ids for {len(masks)} slices")
    return {str(case): masks[cases == case].transpose(1, 0, 2, 3) for case in dict.fromkeys(cases.tolist())}


def diagonal_mm(shape: Sequence[int], spacing: Spacing) -> float:
    return float(np.sqrt(sum((n * s) ** 2 for n, s in zip(shape, spacing))))


def case_scores(prediction: np.ndarray, target: np.ndarray, spacing: Spacing) -> list[dict[str, float]]:
    """(K, Z, H, W) bool prediction and target of one case -> per region: Dice, HD95, sensitivity,
    specificity and both volumes, with BraTS's per-case handling of empty regions."""
    import warnings

    import torch

    metrics = _monai()
    prediction, target = np.asarray(prediction, dtype=bool), np.asarray(target, dtype=bool)
    if prediction.shape != target.shape:
        raise ValueError(f"prediction {prediction.shape} and target {target.shape} differ in shape")
    y_pred = torch.from_numpy(prediction[None].astype(np.float32))
    y = torch.from_numpy(target[None].astype(np.float32))
    dice = metrics.compute_dice(y_pred, y, include_background=True, ignore_empty=False)[0]
    confusion = metrics.get_confusion_matrix(y_pred, y, include_background=True)
    sensitivity = metrics.compute_confusion_matrix_metric("sensitivity", confusion)[0]
    specificity = metrics.compute_confusion_matrix_metric("specificity", confusion)[0]
    voxel_ml = float(np.prod(spacing)) / 1000.0
    worst = diagonal_mm(prediction.shape[1:], spacing)
    out = []
    for k in range(len(prediction)):
        has_pred, has_target = bool(prediction[k].any()), bool(target[k].any())
        if has_pred and has_target:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                distance = metrics.compute_hausdorff_distance(
                    y_pred[:, k : k + 1], y[:, k : k + 1], include_background=True, percentile=95, spacing=spacing
                )
            hd95 = float(distance[0, 0])
        else:
            hd95 = 0.0 if has_pred == has_target else worst
        out.append(
            {
                "dice": float(dice[k]),
                "hd95": hd95,
                "sensitivity": float(sensitivity[k]) if has_target else float("nan"),
                "specificity": float(specificity[k]),
                "volume_ml": float(prediction[k].sum()) * voxel_ml,
                "target_volume_ml": float(target[k].sum()) * voxel_ml,
            }
        )
    return out


def case_table(
    prediction: np.ndarray,
    target: np.ndarray,
    cases: Sequence[str],
    spacing: Spacing | Mapping[str, Spacing],
    regions: Sequence[str] = REGIONS,
) -> pd.DataFrame:
    """One row per case and region: the scores of (N, K, H, W) slice masks against the target's.

    ``spacing``: (slice, row, column) millimetres, one for every case or a case -> spacing map.
    """
    predicted, targets = case_volumes(prediction, cases), case_volumes(target, cases)
    rows = []
    for case, volume in predicted.items():
        where = spacing[case] if isinstance(spacing, Mapping) else spacing
        for region, scores in zip(regions, case_scores(volume, targets[case], tuple(map(float, where)))):
            rows.append({"case": case, "region": region, **scores})
    return pd.DataFrame(rows, columns=["case", "region", *SCORES])
