"""Which rows a trial trains on and which it is evaluated on, by phase: the search phase cannot read test.

The search phase (everything that ranks, prunes or selects) evaluates on ``validate``;
the confirm phase evaluates on ``test``. ``load_phase_splits`` is the only way a trial
reaches its held-out rows, and it refuses ``test`` to the search phase, so the
separation is structural rather than a convention. A dataset without a ``validate``
split gets one carved from ``train``: whole patients, stratified like the sparsity
subsets, with a fixed seed, so both phases train on the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from curriclip.data.loader import SplitArrays, load_split_for
from curriclip.data.subsets import sparsity_subset
from curriclip.errors import CurriclipError
from curriclip.names import EVAL_SPLIT, Phase, Split

#: Seed of the carved validate split (the same for every trial and run of a dataset).
CARVE_SEED = 0


class PhaseError(CurriclipError):
    """Code of the search phase asked for the test split."""


def held_out_split(phase: Phase, split: Split | None = None) -> Split:
    """The split ``phase`` evaluates on; asking for ``test`` in the search phase raises ``PhaseError``."""
    split = Split(split) if split is not None else EVAL_SPLIT[Phase(phase)]
    if Phase(phase) == Phase.SEARCH and split == Split.TEST:
        raise PhaseError("the search phase never reads the test split (only the confirm phase does)")
    return split


def carve_validate(train: SplitArrays, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validate rows): ``fraction`` of the training patients, stratified, deterministic."""
    labels = train.labels.numpy() if train.labels is not None else None
    validate = sparsity_subset(train.subject_ids, fraction, seed=CARVE_SEED, labels=labels, salt="validate")
    rest = np.setdiff1d(np.arange(len(train)), validate)
    return rest, validate


def load_phase_splits(
    dataset_dir: str,
    phase: Phase,
    image_size: int | None,
    needs: Iterable[str],
    validate_fraction: float,
) -> tuple[SplitArrays, SplitArrays]:
    """(training rows, held-out rows) of ``phase``; test only in the confirm phase."""
    split = held_out_split(phase)
    needs = frozenset(needs)
    train = load_split_for(dataset_dir, Split.TRAIN, image_size, needs)
    validate = load_split_for(dataset_dir, Split.VALIDATE, image_size, needs)
    if len(validate) == 0:
        rest, carved = carve_validate(train, validate_fraction)
        train, validate = train.take(rest), train.take(carved)
    if split == Split.VALIDATE:
        return train, validate
    return train, load_split_for(dataset_dir, Split.TEST, image_size, needs)


def has_validate(counts: dict) -> bool:
    """Whether a dataset's manifest counts (``store.split_counts``) show a non-empty validate split."""
    return int(counts.get(Split.VALIDATE, {}).get("samples", 0)) > 0
