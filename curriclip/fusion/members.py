"""The trials a fusion combines: selection by the search metric, model rebuilt from the checkpoint, predictions.

Selection: the K completed trials with a region (or finding) segmentation head and the
highest value of the search metric at their last epoch, which is the epoch of their
last checkpoint: in a run with the select-then-confirm protocol, its validation metric
(confirm-phase runs are never selected); in older runs the test split's. Either way the
selection is labelled (``compare.SELECTION``) everywhere it is shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from curriclip.errors import DataError

#: tasks whose head predicts masks the fusion can vote on (nested regions, or per-finding masks)
SEGMENTATION_TASKS = ("regions", "segmentation")


@dataclass
class Member:
    """One selected trial's test predictions."""

    trial_id: str
    metric_value: float
    masks: np.ndarray  # (N, K, H, W) bool predicted masks
    image_embeddings: torch.Tensor  # (N, D) L2-normalised
    text_embeddings: torch.Tensor  # (N, D) L2-normalised


def select_trials(trials: pd.DataFrame, metric: str, top: int) -> tuple[pd.DataFrame, str]:
    """The ``top`` best completed trials with a segmentation head by ``final/<metric>`` (descending)."""
    column = f"final/{metric}"
    if column not in trials.columns:
        raise DataError(f"trials.parquet: no column {column!r} (the search metric {metric!r})")
    tasks = trials["config_json"].map(lambda text: json.loads(text).get("tasks", []))
    task = next((name for name in SEGMENTATION_TASKS if tasks.map(lambda names, n=name: n in names).any()), None)
    if task is None:
        raise DataError("no trial of this run trains a segmentation head (tasks 'regions' or 'segmentation')")
    search = trials["phase"].fillna("search") == "search" if "phase" in trials.columns else True  # never a confirm run
    eligible = trials[(trials["status"] == "completed") & tasks.map(lambda names: task in names) & search]
    eligible = eligible[eligible[column].notna()].sort_values([column, "trial_id"], ascending=[False, True])
    if len(eligible) < top:
        raise DataError(f"--top {top}: only {len(eligible)} completed trial(s) train the {task!r} head")
    return eligible.head(top), task


def latest_checkpoint(run_dir: Path, trial_id: str) -> Path:
    """The state.pt of a trial's last checkpoint."""
    states = sorted((run_dir / f"trial_{trial_id}").glob("checkpoint_*/state.pt"))
    if not states:
        raise DataError(f"{run_dir / f'trial_{trial_id}'}: no checkpoint with state.pt")
    return states[-1]


def _model(cfg, task_name: str, num_labels: int):
    """The trial's MultiTaskModel as the training loop builds it (so the checkpoint's keys match)."""
    from curriclip import weighting
    from curriclip.models import MultiTaskModel, build_clip, model_info
    from curriclip.tasks.base import get as get_task
    from curriclip.trainables.trial import model_spec

    clip, tokenizer, image_size = build_clip(model_spec(cfg))
    info = model_info(clip, num_labels, image_size)
    heads = {}
    for name in cfg.tasks:
        head = get_task(name).configure(label_policy=cfg.label_policy).build_head(info)
        if head is not None:
            heads[name] = head
    combine = weighting.get(cfg.weighting)(cfg.tasks, steps_per_epoch=cfg.steps_per_epoch)
    return MultiTaskModel(clip, heads, combine), tokenizer, image_size


@torch.no_grad()
def predict_member(run_dir: Path, row: pd.Series, task_name: str, metric: str, batch_size: int = 64) -> Member:
    """Load a trial's last checkpoint and predict the test split's masks and embeddings."""
    from curriclip.config import TrialConfig
    from curriclip.data.loader import load_split
    from curriclip.tasks.regions import predict_regions
    from curriclip.trainables.evaluation import encode

    cfg = TrialConfig(**json.loads(row["config_json"]))
    test = load_split(cfg.dataset_dir, "test", None, masks=False)
    model, tokenizer, image_size = _model(cfg, task_name, len(test.label_names))
    state = torch.load(latest_checkpoint(run_dir, row["trial_id"]), map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    model.eval()
    test = load_split(cfg.dataset_dir, "test", image_size, masks=True)
    device = torch.device("cpu")
    size = tuple(test.masks.shape[-2:])
    head = model.heads[task_name]
    if task_name == "regions":
        probabilities = predict_regions(model, head, test.images, size, device, batch_size)
    else:
        probabilities = _finding_probabilities(model, head, test.images, size, batch_size)
    images, texts = encode(model, test.images, tokenizer(test.texts), batch_size, device)
    return Member(
        trial_id=str(row["trial_id"]),
        metric_value=float(row[f"final/{metric}"]),
        masks=(probabilities > 0.5).numpy(),
        image_embeddings=torch.nn.functional.normalize(images, dim=-1),
        text_embeddings=torch.nn.functional.normalize(texts, dim=-1),
    )


def _finding_probabilities(model, head, images, size, batch_size: int) -> torch.Tensor:
    """Per-finding mask probabilities of the chest X-ray ``segmentation`` head."""
    import torch.nn.functional as F

    from curriclip.tasks.base import patches_to_image

    parts = []
    for start in range(0, len(images), batch_size):
        rows = torch.arange(start, min(start + batch_size, len(images)))
        _, tokens = model.encode_image(images[rows], tokens=True)
        logits = patches_to_image(head(tokens), head.patch_size, head.num_labels)
        if logits.shape[-2:] != size:
            logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        parts.append(torch.sigmoid(logits).float())
    return torch.cat(parts)
