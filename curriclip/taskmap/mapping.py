"""``curriclip taskmap map``: train the task encoder, embed held-out tasks with it and the CLIP baseline, measure.

Everything is written into ``<out>/.taskmap.partial`` (which also holds the training
checkpoint, so an interrupted map resumes) and renamed to ``<out>/taskmap`` when
complete. Training instances come from the dataset's train split, evaluation instances
and sweeps from its validate split: held-out images and freshly drawn strengths. The
map never reads the test split, because its ordering prior feeds a search, and what a
search selects by must not have seen test.

The evaluation instances are one fixed set, drawn from the evaluation seed over every
family the data allows (failure families included), whether or not this map trains with
failure tasks: maps with and without failure tasks are measured on the same instances.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from curriclip.errors import ConfigError
from curriclip.taskmap import FAILURE_FAMILIES, FAMILIES, TASK_FAMILIES
from curriclip.taskmap.metrics import clustering, knn_accuracy, knn_transfer, peak_sharpness, trajectory_smoothness
from curriclip.taskmap.sampling import TaskData, check_families, load_task_data, materialise, sample_instances
from curriclip.taskmap.train import MapSettings, embed_sets, train_encoder
from curriclip.taskmap.trajectories import sweep_points

MAP_DIR = "taskmap"
PARTIAL = ".taskmap.partial"
EMBEDDINGS, METRICS, SETTINGS, ENCODER, PAGE = (
    "embeddings.parquet",
    "metrics.json",
    "settings.json",
    "encoder.pt",
    "taskmap.html",
)
#: the no-op task, always in the evaluation set (the failure task nearest to every real one)
ANCHOR = "identity"


def resolve_families(settings: MapSettings, has_masks: bool) -> tuple[list[str], list[str]]:
    """(real families, failure families) of the map; explicit names are checked, defaults fit the data.

    The failure families are returned whether or not the map trains on them (the
    evaluation set holds them either way); ``training_families`` applies the setting.
    """
    if settings.families:
        for name in settings.families:
            FAMILIES.check(name)
        real = [name for name in settings.families if name not in FAILURE_FAMILIES]
        failures = [name for name in settings.families if name in FAILURE_FAMILIES]
    else:
        real = [name for name in TASK_FAMILIES if has_masks or not FAMILIES.get(name).needs_masks]
        failures = [name for name in FAILURE_FAMILIES if has_masks or not FAMILIES.get(name).needs_masks]
    if len(real) < 2:
        raise ConfigError(f"--families: at least two real task families are needed (got {', '.join(real) or 'none'})")
    return real, failures


def evaluation_families(real: Sequence[str], failures: Sequence[str]) -> list[str]:
    """The families of the fixed evaluation set: every real and failure family, and the no-op."""
    return [*real, *failures, *([] if ANCHOR in failures else [ANCHOR])]


def _needs_masks(settings: MapSettings) -> bool:
    names = settings.families or tuple(FAMILIES.names())
    return any(FAMILIES.get(name).needs_masks for name in names)


def _rows(kind: str, instances, embeddings: np.ndarray, model: str, extra: Sequence[dict]) -> list[dict]:
    rows = []
    for index, (instance, vector, more) in enumerate(zip(instances, embeddings, extra)):
        rows.append(
            {
                "model": model,
                "set": kind,
                "index": index,
                "family": instance.family,
                "category": FAMILIES.get(instance.family).category,
                "strength": instance.strength,
                "embedding": vector.astype(np.float32).tolist(),
                **more,
            }
        )
    return rows


def evaluate(
    embed: Callable[[list[torch.Tensor]], np.ndarray],
    model: str,
    instances,
    sweeps,
    data: TaskData,
    seed: int,
    held_out: Sequence[str] = (),
) -> tuple[list[dict], dict]:
    """Embed the held-out instances and sweeps with one model; its rows and metrics.

    ``knn_seen``: leave-one-out k-NN accuracy of the category among instances of families
    trained on; ``knn_left_out``: the category of each instance of a family left out of
    training (``held_out``), by its nearest instances of the trained families.
    """
    halves = [materialise(instance, data) for instance in instances]
    whole = [pairs.flatten(0, 1) for pairs in halves]
    vectors = embed(whole)
    real = np.array([FAMILIES.get(i.family).category != "failure" for i in instances])
    categories = [FAMILIES.get(i.family).category for i in instances]
    families = [i.family for i in instances]
    metrics = {
        "clustering": clustering(vectors[real], np.asarray(categories)[real], seed),
        "family_clustering": clustering(vectors[real], np.asarray(families)[real], seed),
        "peaks": peak_sharpness(vectors[real], np.asarray(families)[real]),
    }
    if not real.all():
        metrics["clustering_with_failure"] = clustering(vectors, categories, seed)
    left = np.isin(families, list(held_out))
    seen = real & ~left
    labels = np.asarray(categories)
    metrics["knn_seen"] = knn_accuracy(vectors[seen], labels[seen])
    metrics["knn_left_out"] = knn_transfer(vectors[seen], labels[seen], vectors[left], labels[left])
    rows = _rows("eval", instances, vectors, model, [{"sweep": None, "repeat": None}] * len(instances))
    sweep_vectors = embed([materialise(point.instance, data).flatten(0, 1) for point in sweeps])
    rows += _rows(
        "sweep",
        [p.instance for p in sweeps],
        sweep_vectors,
        model,
        [{"sweep": p.sweep, "repeat": p.repeat} for p in sweeps],
    )
    smooth: dict[str, dict[str, float]] = {}
    for sweep in sorted({p.sweep for p in sweeps}):
        per_repeat = []
        for repeat in sorted({p.repeat for p in sweeps if p.sweep == sweep}):
            chosen = [i for i, p in enumerate(sweeps) if p.sweep == sweep and p.repeat == repeat]
            strengths = [sweeps[i].instance.strength for i in chosen]
            per_repeat.append(trajectory_smoothness(strengths, sweep_vectors[chosen]))
        smooth[sweep] = {key: float(np.mean([r[key] for r in per_repeat])) for key in per_repeat[0]}
    metrics["trajectories"] = smooth
    return rows, metrics


def build_map(
    dataset_dir: str | Path,
    out: str | Path,
    settings: MapSettings,
    clip_preset: str = "tiny",
    clip_checkpoint: str | None = None,
    log: Callable[[str], None] = print,
    clip_pretrained: tuple[str, str] | None = None,
) -> Path:
    """Train, embed, measure and write ``<out>/taskmap``; returns that directory."""
    from curriclip.reports.task_map_page import write_task_map_page
    from curriclip.taskmap.baseline import ClipBaseline

    started = time.monotonic()
    final = Path(out) / MAP_DIR
    if final.exists():
        raise ConfigError(f"{final}: already exists (choose another --out or delete it)")
    torch.set_num_threads(int(os.environ.get("CURRICLIP_THREADS", torch.get_num_threads())))
    masks = _needs_masks(settings)
    train = load_task_data(str(dataset_dir), "train", settings.image_size, masks)
    validate = load_task_data(str(dataset_dir), "validate", settings.image_size, masks)
    real, every_failure = resolve_families(settings, train.masks is not None)
    failures = every_failure if settings.failure_tasks else []
    held_out = [name for name in settings.held_out if name in real]
    trained = [name for name in real if name not in held_out]
    if len(trained) < 2:
        raise ConfigError(f"--held-out: at least two real task families must stay in training (got {trained})")
    check_families(real + failures, train)
    check_families(evaluation_families(real, every_failure), validate)
    work = Path(out) / PARTIAL
    work.mkdir(parents=True, exist_ok=True)
    log(
        f"task map of {dataset_dir}: {len(trained)} task families ({len(held_out)} more held out), "
        f"{len(failures)} failure families, "
        f"{settings.encoder} encoder, {settings.steps} steps"
    )
    encoder, losses = train_encoder(settings, train, [FAMILIES.get(n) for n in trained + failures], work, log)
    train_s = time.monotonic() - started
    eval_families = [FAMILIES.get(name) for name in evaluation_families(real, every_failure)]
    count = settings.eval_per_family * len(eval_families)
    instances = sample_instances(eval_families, validate, count, settings.set_size, settings.seed + 1)
    sweeps = sweep_points(validate, settings.sweep_points, settings.sweep_repeats, settings.set_size, settings.seed + 2)
    taco_rows, taco_metrics = evaluate(
        lambda sets: embed_sets(encoder, sets), "taco", instances, sweeps, validate, settings.seed, held_out
    )
    clip = ClipBaseline(clip_preset, clip_checkpoint, clip_pretrained)
    clip_rows, clip_metrics = evaluate(clip.embed_sets, "clip", instances, sweeps, validate, settings.seed, held_out)
    metrics = {
        "dataset": str(dataset_dir),
        "families": real,
        "held_out_families": held_out,
        "clip_baseline": clip.label,
        "failure_families": failures,
        "evaluation_families": [family.name for family in eval_families],
        "evaluation_split": "validate",
        "clip_preset": clip_preset,
        "clip_checkpoint": clip_checkpoint,
        "clip_pretrained": list(clip_pretrained) if clip_pretrained else None,
        "final_loss": float(np.mean(losses[-20:])) if losses else None,
        "train_seconds": train_s,
        "total_seconds": time.monotonic() - started,
        "taco": taco_metrics,
        "clip": clip_metrics,
    }
    pd.DataFrame(taco_rows + clip_rows).to_parquet(work / EMBEDDINGS, index=False)
    (work / METRICS).write_text(json.dumps(metrics, indent=2))
    (work / SETTINGS).write_text(json.dumps(asdict(settings), indent=2))
    torch.save({"encoder": encoder.state_dict(), "settings": settings.to_json()}, work / ENCODER)
    write_task_map_page(work, work / PAGE)
    (work / "checkpoint.pt").unlink(missing_ok=True)
    try:
        os.replace(work, final)
    except OSError:
        shutil.rmtree(final, ignore_errors=True)
        raise
    log(f"task map written to {final} in {time.monotonic() - started:.0f} s")
    return final
