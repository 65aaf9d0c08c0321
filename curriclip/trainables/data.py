"""A trial's data: its subset of the training split, its phase's held-out split, and the rows batches come from.

Which rows a batch holds follows from the trial's tasks: each need a task declares is
a column of ``curriclip.data.loader.BATCH_COLUMNS``, so a task that needs a new column
touches only the task and the loader, never this module or the training loop.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from curriclip.config import TrialConfig
from curriclip.data.loader import BATCH_COLUMNS, Rows, SplitArrays
from curriclip.data.store import read_split
from curriclip.data.subsets import label_subset_mask, sparsity_subset
from curriclip.errors import DataError
from curriclip.names import SparsityMode
from curriclip.tasks.base import Batch, get, missing_data
from curriclip.trainables.cache import open_phase_splits  # load_phase_splits, cached per process (copies)
from curriclip.trainables.controls import SHUFFLED_CONTROL, shuffle_pairs

#: Columns every trial loads whatever its tasks: report tokens (curriculum scorers and the negative control read them).
ALWAYS = frozenset({"text"})


@dataclass
class TrialData:
    """The training subset, the held-out split (validate or test, by phase) and its tokens, the training rows."""

    train: SplitArrays
    held_out: SplitArrays
    held_out_tokens: torch.Tensor
    rows: dict[str, Rows]
    #: what a column's gathered rows become on the device (masks travel as uint8, train as float)
    dtypes: dict[str, torch.dtype] = field(default_factory=dict)

    @property
    def train_tokens(self) -> torch.Tensor:
        return self.rows["tokens"]

    #: ``sparsity_mode: reports``: rows of the training images without a report, and the seed of their draws
    unpaired_rows: dict[str, Rows] | None = None
    unpaired_seed: int = 0

    def batch(self, index: torch.Tensor, to_device: Callable[[torch.Tensor], torch.Tensor]) -> Batch:
        """The training rows at ``index``, on the device, as the tasks' ``Batch``.

        With unpaired images (``sparsity_mode: reports``) the batch is the curriculum's rows
        followed by as many images without a report, and ``has_report`` marks the first part.
        """
        tensors = {name: rows[index] for name, rows in self.rows.items()}
        if self.unpaired_rows is not None:
            extra = self._unpaired_index(index)
            tensors = {name: torch.cat([tensor, self.unpaired_rows[name][extra]]) for name, tensor in tensors.items()}
            tensors["has_report"] = torch.arange(len(index) + len(extra)) < len(index)
        return Batch(**{name: _cast(to_device(tensor), self.dtypes.get(name)) for name, tensor in tensors.items()})

    def _unpaired_index(self, index: torch.Tensor) -> torch.Tensor:
        """Which unpaired images join the batch: drawn by a generator keyed on (seed, the batch's rows).

        Keyed rather than stateful, so a resumed trial draws exactly what an uninterrupted one
        draws without a new generator in the checkpoint; each data-parallel rank draws for its shard.
        """
        available = len(next(iter(self.unpaired_rows.values())))
        key = int.from_bytes(hashlib.blake2b(index.cpu().numpy().tobytes(), digest_size=8).digest(), "little")
        rng = np.random.default_rng([self.unpaired_seed, key])
        return torch.from_numpy(rng.choice(available, size=min(len(index), available), replace=False))

    def add_unpaired(self, unpaired: SplitArrays, needs: Iterable[str], tokenizer: Callable, seed: int) -> None:
        """Let image-only and label tasks also learn from ``unpaired`` (``sparsity_mode: reports``).

        Why extra rows beside the curriculum's rather than one pool with a mask: ITC (and the
        text tasks) then see exactly the batch a pairs-mode trial sees, from the same sampler and
        curriculum, and every other task sees those images plus as many report-less ones. The
        price is image compute: such a batch has 2B images (the arms are compared at equal steps).
        """
        self.unpaired_rows = build_trial_data(unpaired, self.held_out, needs, tokenizer).rows
        self.unpaired_seed = seed


def trial_needs(cfg: TrialConfig) -> frozenset[str]:
    """The columns the trial's tasks declare, with the ones every trial reads."""
    return ALWAYS.union(*(get(name).needs for name in cfg.tasks))


def _cast(tensor: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    return tensor if dtype is None else tensor.to(dtype)


def build_trial_data(train: SplitArrays, held_out: SplitArrays, needs: Iterable[str], tokenizer: Callable) -> TrialData:
    """The trial's data with every ``Batch`` attribute that ``needs`` supply, as rows of the training subset."""
    rows: dict[str, Rows] = {}
    dtypes: dict[str, torch.dtype] = {}
    for need, column in BATCH_COLUMNS.items():
        if need in needs:
            for name, values in column.rows(train, tokenizer).items():
                rows[name] = values
                if column.dtype is not None:
                    dtypes[name] = column.dtype
    return TrialData(train, held_out, tokenizer(held_out.texts), rows, dtypes)


def check_task_data(cfg: TrialConfig, train: SplitArrays) -> None:
    """Fail clearly when the dataset lacks what a task needs (never skip a task silently)."""
    for name in cfg.tasks:
        missing = missing_data(get(name), train, cfg.label_policy)
        if missing is not None:
            raise DataError(f"task {name!r} is unavailable: the training subset of {cfg.dataset_dir} {missing}")


def load_trial_data(cfg: TrialConfig, image_size: int, tokenizer: Callable) -> TrialData:
    """The trial's sparsity subset of the training split, and its phase's full held-out split.

    The search phase gets ``validate`` and cannot get ``test`` (``curriclip.data.heldout``).
    ``sparsity_mode: reports`` trains on the same pairs as pairs mode and, for a trial with an
    image-only or label task, adds the other training images without their reports
    (``TrialData.add_unpaired``); a trial whose tasks all need the report (single_task) is the
    very trial pairs mode runs.
    """
    needs = trial_needs(cfg)
    train, held_out = open_phase_splits(cfg.dataset_dir, cfg.phase, image_size, needs, cfg.validate_fraction)
    if len(held_out) == 0:
        raise DataError(f"{cfg.dataset_dir}: the {cfg.eval_split} split is empty; CLIP score needs held-out pairs")
    keep = sparsity_subset(train.subject_ids, cfg.sparsity, seed=cfg.subset_seed, labels=train.labels.numpy())
    unpaired = unpaired_images(cfg, train, keep)
    train = train.take(keep)
    if cfg.label_fraction < 1.0:  # label sparsity: ITC keeps every pair, label tasks see fewer labels
        unlabeled = ~label_subset_mask(train.subject_ids, cfg.label_fraction, cfg.subset_seed, train.labels.numpy())
        train.labels[torch.from_numpy(unlabeled)] = float("nan")
    if len(train) < 2:
        raise DataError(f"{cfg.dataset_dir}: sparsity {cfg.sparsity} leaves {len(train)} training pair(s)")
    check_task_data(cfg, train)
    if cfg.arm == SHUFFLED_CONTROL:  # negative control: images paired with other samples' reports
        train = shuffle_pairs(train, cfg.seed)
    data = build_trial_data(train, held_out, needs, tokenizer)
    if unpaired is not None:
        data.add_unpaired(unpaired, needs, tokenizer, seed=cfg.seed)
    return data


def uses_unpaired_images(cfg: TrialConfig) -> bool:
    """Some task of the trial learns from an image without its report (image-only and label tasks)."""
    return any("text" not in get(name).needs for name in cfg.tasks)


def unpaired_images(cfg: TrialConfig, train: SplitArrays, keep: np.ndarray) -> SplitArrays | None:
    """``sparsity_mode: reports``: the training images outside the kept pairs, their reports withheld (blank).

    None in every other mode, and when no task of the trial can learn from an image alone
    (single_task, ITC alone: the very trial pairs mode runs).
    """
    if cfg.sparsity_mode != SparsityMode.REPORTS or not uses_unpaired_images(cfg):
        return None
    rest = np.setdiff1d(np.arange(len(train)), keep)
    if len(rest) == 0:
        return None
    images = train.take(rest)
    blank = [""] * len(images)
    return replace(
        images,
        texts=blank,
        findings=None if images.findings is None else blank,
        impressions=None if images.impressions is None else blank,
    )


def training_reports(dataset_dir: str) -> list[str]:
    """The training split's report texts (what the ``wordpiece`` text tower learns its vocabulary from)."""
    table, _ = read_split(dataset_dir, "train", columns=["findings", "impression"])
    return [
        " ".join(p.strip() for p in (f, i) if p and p.strip())
        for f, i in zip(table["findings"].to_pylist(), table["impression"].to_pylist())
    ]
