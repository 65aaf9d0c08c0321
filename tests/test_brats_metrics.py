"""BraTS's per-case scores against MONAI and scipy, empty regions per case, ranking and paired tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import ndimage

from curriclip.metrics.brats import case_scores, case_table, case_volumes, diagonal_mm
from curriclip.metrics.brats_ranking import paired_difference, rank_then_aggregate, verdict

monai_metrics = pytest.importorskip("monai.metrics")


def _blobs(rng: np.random.Generator, shape: tuple[int, ...], threshold: float) -> np.ndarray:
    return ndimage.gaussian_filter(rng.standard_normal(shape), (0, 0, 1.5, 1.5)) > threshold


def _hd95_scipy(a: np.ndarray, b: np.ndarray, spacing) -> float:
    """An independent HD95: surface voxels (mask minus its erosion), exact Euclidean distance transforms."""
    structure = ndimage.generate_binary_structure(a.ndim, 1)
    edges_a = a & ~ndimage.binary_erosion(a, structure)
    edges_b = b & ~ndimage.binary_erosion(b, structure)
    to_b = ndimage.distance_transform_edt(~edges_b, sampling=spacing)[edges_a]
    to_a = ndimage.distance_transform_edt(~edges_a, sampling=spacing)[edges_b]
    return float(max(np.percentile(to_b, 95), np.percentile(to_a, 95)))


def test_dice_and_hd95_per_case_and_region_agree_with_monai_on_random_masks():
    rng = np.random.default_rng(0)
    slices = [3, 5, 2, 4]  # cases of different depths, slices interleaved in the rows
    cases = np.concatenate([[f"c{i}"] * n for i, n in enumerate(slices)])
    rng.shuffle(cases)
    prediction = _blobs(rng, (len(cases), 3, 24, 24), 0.2)
    target = _blobs(rng, (len(cases), 3, 24, 24), 0.2)
    spacing = {f"c{i}": (2.5 + i, 0.9, 1.1) for i in range(len(slices))}
    table = case_table(prediction, target, cases, spacing)
    assert len(table) == len(slices) * 3
    for case in spacing:
        rows = cases == case
        p = torch.from_numpy(prediction[rows].transpose(1, 0, 2, 3)[None].astype(np.float32))
        t = torch.from_numpy(target[rows].transpose(1, 0, 2, 3)[None].astype(np.float32))
        dice = monai_metrics.compute_dice(p, t, include_background=True, ignore_empty=False)[0]
        hd95 = monai_metrics.compute_hausdorff_distance(
            p, t, include_background=True, percentile=95, spacing=spacing[case]
        )[0]
        for k, region in enumerate(("wt", "tc", "et")):
            row = table[(table["case"] == case) & (table["region"] == region)].iloc[0]
            assert row["dice"] == pytest.approx(float(dice[k]), abs=1e-6)
            assert row["hd95"] == pytest.approx(float(hd95[k]), abs=1e-6)
            independent = _hd95_scipy(p[0, k].numpy() > 0, t[0, k].numpy() > 0, spacing[case])
            assert row["hd95"] == pytest.approx(independent, abs=1e-6)
            pv, tv = p[0, k].numpy() > 0, t[0, k].numpy() > 0
            assert row["sensitivity"] == pytest.approx((pv & tv).sum() / tv.sum(), abs=1e-6)
            assert row["specificity"] == pytest.approx((~pv & ~tv).sum() / (~tv).sum(), abs=1e-6)
            voxel_ml = np.prod(spacing[case]) / 1000
            assert row["volume_ml"] == pytest.approx(pv.sum() * voxel_ml, rel=1e-9)


def test_empty_regions_are_decided_per_case_as_brats_does():
    volume = np.zeros((3, 4, 16, 16), dtype=bool)
    volume[:, :, 4:10, 4:10] = True  # WT, TC, ET present on every slice
    no_et = volume.copy()
    no_et[2] = False
    spacing = (2.0, 1.0, 1.0)
    both_empty = case_scores(no_et, no_et, spacing)[2]
    assert both_empty["dice"] == 1.0 and both_empty["hd95"] == 0.0 and np.isnan(both_empty["sensitivity"])
    missed = case_scores(no_et, volume, spacing)[2]
    assert missed["dice"] == 0.0 and missed["hd95"] == pytest.approx(diagonal_mm((4, 16, 16), spacing))
    # ET on one slice of the reference only: per case the empty slices do not count as perfect
    reference = no_et.copy()
    reference[2, 1, 5:8, 5:8] = True
    prediction = no_et.copy()
    prediction[2, 1, 5:7, 5:8] = True
    per_case = case_scores(prediction, reference, spacing)[2]["dice"]
    assert per_case == pytest.approx(2 * 6 / (6 + 9))
    per_slice = np.mean([1.0, 2 * 6 / 15, 1.0, 1.0])  # what "both empty = 1" per slice would give
    assert per_case < per_slice - 0.1


def test_volume_in_millilitres_and_stacking_in_row_order():
    masks = np.zeros((3, 1, 4, 4), dtype=bool)
    masks[0, 0, 0, :2] = True
    masks[2, 0, 1, 1] = True
    volumes = case_volumes(masks, ["a", "b", "a"])
    assert volumes["a"].shape == (1, 2, 4, 4) and volumes["a"][0, 1, 1, 1] and volumes["b"].sum() == 0
    table = case_table(masks, masks, ["a", "b", "a"], (3.0, 2.0, 0.5), regions=("wt",))
    assert table.set_index("case").loc["a", "volume_ml"] == pytest.approx(3 * 3.0 * 2.0 * 0.5 / 1000)


def test_rank_then_aggregate_and_the_paired_test():
    table = pd.DataFrame(
        [
            {"participant": p, "case": c, "region": "wt", "dice": d, "hd95": h}
            for p, dices, hds in [("a", [0.9, 0.8], [2, 3]), ("b", [0.7, 0.85], [4, 1]), ("c", [0.5, 0.6], [9, 9])]
            for c, d, h in zip(("x", "y"), dices, hds)
        ]
    )
    ranking = rank_then_aggregate(table).set_index("participant")
    # a: dice ranks 1, 2; hd95 ranks 1, 2 -> 1.5; b: 2, 1, 2, 1 -> 1.5; c: 3 everywhere
    assert ranking["mean_rank"].to_dict() == {"a": 1.5, "b": 1.5, "c": 3.0}
    assert ranking["rank"].to_dict() == {"a": 1, "b": 1, "c": 3}
    rng = np.random.default_rng(1)
    base = rng.uniform(0.5, 0.9, 30)
    better = paired_difference(base + 0.05 + rng.normal(0, 0.01, 30), base)
    assert better["diff"] == pytest.approx(0.05, abs=0.01) and better["p"] < 0.01 and verdict(better) == "better"
    assert verdict(better, higher_is_better=False) == "worse"
    same = paired_difference(base, base)
    assert same["p"] == 1.0 and verdict(same) == "inconclusive"


def test_fused_embedding_is_the_scaled_concatenation():
    from curriclip.fusion.run import fused_embeddings

    generator = torch.Generator().manual_seed(0)
    images = [torch.randn(5, 8, generator=generator) for _ in range(3)]
    texts = [torch.randn(5, 8, generator=generator) for _ in range(3)]
    fused_i, fused_t = fused_embeddings(images), fused_embeddings(texts)
    assert fused_i.shape == (5, 24) and torch.allclose(fused_i.norm(dim=-1), torch.ones(5))
    unit = torch.nn.functional.normalize
    mean_cosine = torch.stack([unit(i, dim=-1) @ unit(t, dim=-1).T for i, t in zip(images, texts)]).mean(0)
    assert torch.allclose(fused_i @ fused_t.T, mean_cosine, atol=1e-6)
