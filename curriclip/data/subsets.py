"""Sparsity subsets: deterministic, nested, stratified, per-patient subsets of the training split.

Every training subject gets one position in a global order, and a sparsity level keeps
the shortest prefix of that order holding the requested fraction of training rows, so
levels nest (1% ⊂ 5% ⊂ 10% ⊂ 100%) for one seed. The order is stratified: subjects are
grouped by their rarest positive finding ("normal" when none), ranked inside their
stratum by a keyed hash of (seed, subject), and interleaved by systematic sampling, so
every prefix holds each stratum in proportion (within one subject). Whole subjects are
taken so that no patient straddles a level. Validation and test are never subsampled.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _hash_unit(seed: int, key: str, salt: str = "") -> float:
    digest = hashlib.blake2b(f"{seed}:{salt}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def subject_strata(subject_ids: np.ndarray, labels: np.ndarray | None) -> dict[str, int]:
    """Stratum of each subject: index of its rarest positive finding, or -1 for none."""
    subjects = np.asarray(subject_ids, dtype=object)
    if labels is None or labels.size == 0:
        return {str(s): -1 for s in subjects}
    positive = np.nan_to_num(np.asarray(labels, dtype=np.float64), nan=0.0) == 1
    prevalence = positive.mean(axis=0)
    rarity = np.argsort(prevalence, kind="stable")  # rarest first
    strata: dict[str, int] = {}
    for subject, row in zip(subjects, positive):
        present = [k for k in rarity if row[k]]
        current = strata.get(str(subject), -1)
        candidate = int(present[0]) if present else -1
        if current == -1 or (candidate != -1 and prevalence[candidate] < prevalence[current]):
            strata[str(subject)] = candidate
    return strata


def subject_order(subject_ids: np.ndarray, labels: np.ndarray | None, seed: int, salt: str = "") -> list[str]:
    """All subjects in their stratified, seeded order (the prefix of any length is a subset)."""
    strata = subject_strata(subject_ids, labels)
    by_stratum: dict[int, list[str]] = {}
    for subject, stratum in strata.items():
        by_stratum.setdefault(stratum, []).append(subject)
    keyed = []
    for stratum, members in by_stratum.items():
        members.sort(key=lambda s: _hash_unit(seed, s, salt))
        offset = _hash_unit(seed, f"stratum{stratum}", salt)
        m = len(members)
        keyed += [((rank + offset) / m, _hash_unit(seed, s, salt + "tie"), s) for rank, s in enumerate(members)]
    keyed.sort()
    return [s for _, _, s in keyed]


def sparsity_subset(
    subject_ids: list[str] | np.ndarray,
    fraction: float,
    seed: int = 0,
    labels: np.ndarray | None = None,
    salt: str = "",
) -> np.ndarray:
    """Row indices (sorted) of the training rows kept at ``fraction`` of the training pairs."""
    if not 0 < fraction <= 1:
        raise ValueError(f"sparsity fraction must lie in (0, 1], got {fraction}")
    subjects = np.asarray(subject_ids, dtype=object).astype(str)
    n = len(subjects)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rows_of: dict[str, int] = {}
    for s in subjects:
        rows_of[s] = rows_of.get(s, 0) + 1
    target = max(1, int(round(fraction * n)))
    kept: set[str] = set()
    total = 0
    for subject in subject_order(subjects, labels, seed, salt):
        if total >= target:
            break
        kept.add(subject)
        total += rows_of[subject]
    return np.flatnonzero(np.isin(subjects, list(kept)))


def label_subset_mask(
    subject_ids: np.ndarray, fraction: float, seed: int = 0, labels: np.ndarray | None = None
) -> np.ndarray:
    """Boolean mask of training rows whose labels are kept under label sparsity (nested, per patient)."""
    mask = np.zeros(len(subject_ids), dtype=bool)
    mask[sparsity_subset(subject_ids, fraction, seed, labels=labels, salt="labels")] = True
    return mask
