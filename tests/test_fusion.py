"""Hierarchical majority vote, STAPLE and Dice per region against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from curriclip.data.brats.regions import pairwise_rater_dice, simulate_raters
from curriclip.fusion.compare import floor_verdict
from curriclip.fusion.vote import fuse, hierarchical_vote
from curriclip.metrics.dice import dice_per_region, mean_dice
from curriclip.tasks.regions import nested_probabilities


def _masks(*rows: str) -> np.ndarray:
    """One 1 x len(row) mask per string ("1" = in the mask)."""
    return np.array([[c == "1" for c in row] for row in rows], dtype=bool)[:, None, :]  # (3, 1, W)


def test_hierarchical_vote_matches_hand_computation_and_nests():
    # three members, one slice of 1 x 6 pixels; regions WT, TC, ET
    a = _masks("111100", "011000", "010000")
    b = _masks("111110", "001100", "001100")
    c = _masks("011111", "000110", "000100")
    fused = hierarchical_vote(np.stack([a, b, c])[:, None])[0]  # (3, 1, 6)
    # WT: votes per pixel 2,3,3,3,2,1 -> majority 111110
    assert fused[0, 0].astype(int).tolist() == [1, 1, 1, 1, 1, 0]
    # TC votes 0,1,2,2,1,0 -> majority 001100, inside fused WT
    assert fused[1, 0].astype(int).tolist() == [0, 0, 1, 1, 0, 0]
    # ET votes 0,1,1,2,0,0 -> majority 000100, inside fused TC
    assert fused[2, 0].astype(int).tolist() == [0, 0, 0, 1, 0, 0]


def test_vote_keeps_nesting_even_when_members_do_not():
    rng = np.random.default_rng(0)
    members = rng.random((5, 4, 3, 8, 8)) < 0.5  # arbitrary, un-nested member masks
    fused = fuse(members, "vote")
    assert (fused[:, 1] <= fused[:, 0]).all() and (fused[:, 2] <= fused[:, 1]).all()
    # a region outside the fused parent is cut: ET votes without TC votes never survive
    members = np.zeros((3, 1, 3, 2, 2), dtype=bool)
    members[:, 0, 2] = True  # every member says ET everywhere, nobody says WT/TC
    assert not fuse(members, "vote").any()


def test_even_k_tie_is_background():
    members = np.zeros((2, 1, 3, 1, 2), dtype=bool)
    members[0, 0, 0, 0, 0] = True  # one vote of two
    members[:, 0, 0, 0, 1] = True  # two of two
    assert fuse(members, "vote")[0, 0, 0].tolist() == [False, True]


def test_staple_on_unanimous_and_majority():
    pytest.importorskip("SimpleITK")
    members = np.zeros((3, 1, 3, 4, 4), dtype=bool)
    members[:, 0, 0, 1:3, 1:3] = True  # unanimous WT square
    members[0, 0, 0, 0, 0] = True  # one outlier pixel
    fused = fuse(members, "staple")
    assert fused[0, 0].sum() == 4 and not fused[0, 0, 0, 0]
    assert not fused[0, 1:].any()


def test_dice_per_region_with_brats_empty_convention():
    pred = np.zeros((2, 3, 1, 4), dtype=bool)
    target = np.zeros((2, 3, 1, 4), dtype=bool)
    pred[0, 0, 0, :3] = True  # WT: pred 3 px, target 2 px, overlap 2 -> 2*2/5 = 0.8
    target[0, 0, 0, 1:3] = True
    target[0, 1, 0, 0] = True  # TC: empty prediction, non-empty reference -> 0
    pred[1, 2, 0, 0] = True  # slice 2 ET: prediction but empty reference -> 0
    # slice 2 WT and TC: both empty -> 1; slice 1 ET: both empty -> 1
    scores = dice_per_region(pred, target)
    assert scores.tolist() == [[0.8, 0.0, 1.0], [1.0, 1.0, 0.0]]
    means = mean_dice(pred, target)
    assert means == pytest.approx({"dice_wt": 0.9, "dice_tc": 0.5, "dice_et": 0.5, "dice_mean": 19 / 30})


def test_floor_verdict():
    assert floor_verdict(0.8, 0.75) == "within" and floor_verdict(0.7, 0.75) == "below"
    assert floor_verdict(0.7, None) == "no raters"


def test_nested_probabilities_never_break_the_hierarchy():
    logits = torch.randn(4, 3, 5, 5) * 5
    p = nested_probabilities(logits)
    assert (p[:, 1] <= p[:, 0]).all() and (p[:, 2] <= p[:, 1]).all()
    assert torch.allclose(p[:, 1], torch.sigmoid(logits[:, 0]) * torch.sigmoid(logits[:, 1]))


def test_simulated_raters_nested_and_generous():
    reference = np.zeros((3, 32, 32), dtype=bool)
    reference[0, 6:26, 6:26] = True
    reference[1, 10:22, 10:22] = True
    reference[2, 12:20, 12:20] = True
    raters = simulate_raters(reference, 4, np.random.default_rng(0))
    assert (raters[:, 1] <= raters[:, 0]).all() and (raters[:, 2] <= raters[:, 1]).all()
    assert raters[0, 0].sum() > raters[1:, 0].sum(axis=(1, 2)).max()  # rater 0 is the generous one
    identical = np.stack([reference] * 3)[None]  # three identical raters on one slice
    assert pairwise_rater_dice(identical).tolist() == [1.0, 1.0, 1.0]
