"""Fusing the segmentations of several models: hierarchical majority vote (BRATS) or STAPLE.

Hierarchical majority vote (Menze et al. 2015, section on fusion): a pixel is WT when a
strict majority of the K models says WT; TC when a strict majority says TC, inside the
fused WT; ET when a strict majority says ET, inside the fused TC. So the fused masks
keep ET ⊆ TC ⊆ WT whatever the members do. "Strict" means more than K/2 votes: with an
even K a tie is background. Chest X-ray findings (unnested) are fused per finding by
the same majority.

STAPLE (Warfield et al. 2004) through SimpleITK (the optional ``fusion`` extra) estimates
each member's sensitivity and specificity per slice and region and thresholds the
consensus probability at 1/2; the same nesting is then applied.
"""

from __future__ import annotations

import numpy as np

from curriclip.errors import ConfigError


def majority(votes: np.ndarray) -> np.ndarray:
    """(K, ...) bool -> (...) bool: more than half of the K members say yes."""
    return np.asarray(votes, dtype=bool).sum(axis=0) * 2 > votes.shape[0]


def nest(masks: np.ndarray) -> np.ndarray:
    """(N, 3, H, W) WT, TC, ET -> the same with TC cut to WT and ET cut to TC."""
    out = np.asarray(masks, dtype=bool).copy()
    out[:, 1] &= out[:, 0]
    out[:, 2] &= out[:, 1]
    return out


def hierarchical_vote(members: np.ndarray) -> np.ndarray:
    """(K, N, 3, H, W) bool member masks -> (N, 3, H, W) fused, ET ⊆ TC ⊆ WT."""
    members = np.asarray(members, dtype=bool)
    fused = np.zeros(members.shape[1:], dtype=bool)
    fused[:, 0] = majority(members[:, :, 0])
    fused[:, 1] = majority(members[:, :, 1]) & fused[:, 0]
    fused[:, 2] = majority(members[:, :, 2]) & fused[:, 1]
    return fused


def per_finding_vote(members: np.ndarray) -> np.ndarray:
    """(K, N, F, H, W) -> (N, F, H, W): each finding by majority, no nesting (chest X-ray findings)."""
    return majority(members)


def staple(members: np.ndarray, nested: bool = True) -> np.ndarray:
    """(K, N, R, H, W) bool -> (N, R, H, W): SimpleITK STAPLE per slice and region, thresholded at 1/2."""
    try:
        import SimpleITK as sitk
    except ImportError:
        raise ConfigError(
            "--method staple needs SimpleITK: pip install 'curriclip[fusion]' (or SimpleITK>=2.3)"
        ) from None
    members = np.asarray(members, dtype=bool)
    fused = np.zeros(members.shape[1:], dtype=bool)
    for index in np.ndindex(*members.shape[1:3]):
        votes = members[:, index[0], index[1]]
        if not votes.any():
            continue
        if votes.all(axis=0).sum() == votes.any(axis=0).sum():  # unanimous: STAPLE's estimate is the same mask
            fused[index] = votes[0]
            continue
        images = [sitk.GetImageFromArray(v.astype(np.uint8)) for v in votes]
        probability = sitk.GetArrayFromImage(sitk.STAPLE(images, 1.0, 1.0, 100))  # weight, foreground, iterations
        fused[index] = probability > 0.5
    return nest(fused) if nested else fused


def fuse(members: np.ndarray, method: str = "vote", nested: bool = True) -> np.ndarray:
    """Fuse (K, N, R, H, W) member masks with ``vote`` (hierarchical when ``nested``) or ``staple``."""
    if method == "vote":
        return hierarchical_vote(members) if nested else per_finding_vote(members)
    if method == "staple":
        return staple(members, nested)
    raise ConfigError(f"--method {method!r}: expected 'vote' or 'staple'")
