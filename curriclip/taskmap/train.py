"""Training the task encoder: fresh task instances every step, InfoNCE, checkpoints that resume exactly.

Each step draws its instances from a seed derived from (seed, step), so a run resumed
from a checkpoint sees the same batches as an uninterrupted one. A batch holds distinct
families (two instances of a parameter-free family would be the same task, a false
negative); with failure tasks enabled every batch holds all of them, so each step has
its hard negatives. Checkpoints are ``torch.save``d state dicts, written under a
temporary name and renamed, and loaded with ``weights_only=True``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from curriclip.taskmap.encoder import TaskEncoder
from curriclip.taskmap.families import FAILURE, Family
from curriclip.taskmap.loss import task_infonce
from curriclip.taskmap.sampling import TaskData, materialise, sample_instances

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class MapSettings:
    """Everything a map's training and evaluation depend on (a preset, then command-line overrides)."""

    encoder: str = "resnet10"
    dim: int = 128
    image_size: int = 48
    set_size: int = 4
    batch_tasks: int = 12
    steps: int = 400
    lr: float = 1e-3
    temperature: float = 0.1
    failure_tasks: bool = True
    eval_per_family: int = 12
    sweep_points: int = 9
    sweep_repeats: int = 3
    checkpoint_every: int = 50
    seed: int = 0
    families: tuple[str, ...] = field(default_factory=tuple)  # empty: every family the data allows
    #: real families never trained on, evaluated as unseen (one per category; those the data lacks are skipped)
    held_out: tuple[str, ...] = ("zoom", "deblurring", "detection")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


PRESETS = {
    "smoke": MapSettings(
        image_size=32,
        set_size=3,
        batch_tasks=8,
        steps=24,
        eval_per_family=3,
        sweep_points=5,
        sweep_repeats=2,
        checkpoint_every=10,
    ),
    "default": MapSettings(),
}


def step_seed(seed: int, step: int) -> int:
    return int(np.random.SeedSequence([seed, step]).generate_state(1)[0])


def batch_families(families: Sequence[Family], size: int, rng: np.random.Generator) -> list[Family]:
    """Distinct families for one step: every failure family, then real ones at random up to ``size``."""
    failures = [family for family in families if family.category == FAILURE]
    real = [family for family in families if family.category != FAILURE]
    room = max(2, size - len(failures))
    chosen = [real[i] for i in rng.permutation(len(real))[:room]]
    return chosen + failures


def save_checkpoint(
    path: Path, encoder: TaskEncoder, optimizer: torch.optim.Optimizer, step: int, key: str, losses: list[float]
) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    state = {
        "encoder": encoder.state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": step,
        "settings": key,
        "losses": torch.tensor(losses),
    }
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, key: str) -> dict | None:
    """The checkpoint at ``path`` when it was written by a run with the same settings."""
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state if state.get("settings") == key else None


def train_encoder(
    settings: MapSettings,
    data: TaskData,
    families: Sequence[Family],
    workdir: Path,
    log: Callable[[str], None] = lambda line: None,
) -> tuple[TaskEncoder, list[float]]:
    """Train (or resume) the task encoder on instances of ``families`` from ``data``; returns it and its losses."""
    torch.manual_seed(settings.seed)
    encoder = TaskEncoder(settings.encoder, settings.dim)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=settings.lr, weight_decay=1e-4)
    # what the weights depend on; not the step count, so a longer run continues a shorter one
    key = replace(settings, steps=0, checkpoint_every=0).to_json() + json.dumps([f.name for f in families])
    workdir.mkdir(parents=True, exist_ok=True)
    checkpoint = workdir / CHECKPOINT
    state = load_checkpoint(checkpoint, key)
    start, losses = 0, []
    if state is not None:
        encoder.load_state_dict(state["encoder"])
        optimizer.load_state_dict(state["optimizer"])
        start, losses = int(state["step"]), [float(v) for v in state["losses"]]
        log(f"resumed the task encoder at step {start}/{settings.steps}")
    encoder.train()
    started = time.monotonic()
    for step in range(start, settings.steps):
        seed = step_seed(settings.seed, step)
        chosen = batch_families(families, settings.batch_tasks, np.random.default_rng(seed))
        instances = sample_instances(chosen, data, len(chosen), settings.set_size, seed)
        pairs = torch.stack([materialise(instance, data) for instance in instances])  # (B, 2, m, 2, S, S)
        loss = task_infonce(encoder(pairs[:, 0]), encoder(pairs[:, 1]), settings.temperature)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        done = step + 1
        if done % settings.checkpoint_every == 0 or done == settings.steps:
            save_checkpoint(checkpoint, encoder, optimizer, done, key, losses)
            recent = float(np.mean(losses[-settings.checkpoint_every :]))
            log(f"step {done}/{settings.steps}: loss {recent:.3f} ({time.monotonic() - started:.0f} s)")
    encoder.eval()
    return encoder, losses


@torch.no_grad()
def embed_sets(encoder: TaskEncoder, pair_sets: Sequence[torch.Tensor], chunk: int = 16) -> np.ndarray:
    """Embeddings (n, dim) of pair sets, each (m, 2, S, S), all of one size m."""
    encoder.eval()
    out = []
    for start in range(0, len(pair_sets), chunk):
        out.append(encoder(torch.stack(list(pair_sets[start : start + chunk]))).numpy())
    return np.concatenate(out) if out else np.zeros((0, encoder.head[-1].out_features), dtype=np.float32)
