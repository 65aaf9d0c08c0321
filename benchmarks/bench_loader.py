"""Loader throughput against the trainer's consumption, and memory of 4 concurrent trials against 1.

    python benchmarks/bench_loader.py [--n 20000] [--image-size 128] [--model-size 64]

1. Loader rate: what the training loop does per step before the model (paced sampling,
   gathering images from the memory-mapped cache, tokens and labels), in samples/s,
   against the trainer's samples/s of the tiny preset (a real ``run_trial``), measured
   side by side in this process on one thread. Goal: at least 10x.
2. Memory: N processes each load a trial's data and touch every image row (as a whole
   run of training would); the sum of their proportional set sizes (PSS, shared pages
   counted once) for 4 processes against 1. Image pages come from one shared map, so 4
   trials should cost far less than 4x the image bytes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def pss_mb() -> tuple[float, float]:
    """(PSS of the whole process, PSS of its mappings of cached image files), in MB."""
    total = float("nan")
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            total = int(line.split()[1]) / 1024
    images, in_image_map = 0.0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5:  # a mapping header
            in_image_map = fields[-1].endswith("px.u8")
        elif in_image_map and line.startswith("Pss:"):
            images += int(fields[1]) / 1024
    return total, images


def _trial_cfg(dataset: Path, **over) -> dict:
    cfg = {
        "arm": "single_task",
        "dataset_dir": str(dataset),
        "tasks": ["itc"],
        "pacing": "none",
        "epochs": 1,
        "steps_per_epoch": 30,
        "batch_size": 64,
        "threads": 1,
        "device": "cpu",
    }
    cfg.update(over)
    return cfg


def loader_rate(dataset: Path, model_size: int, steps: int = 300) -> float:
    from curriclip.config import TrialConfig
    from curriclip.curriculum import PacedSampler, pacing
    from curriclip.trainables.data import load_trial_data

    cfg = TrialConfig.model_validate(_trial_cfg(dataset))
    data = load_trial_data(cfg, model_size, lambda texts: torch.zeros((len(texts), 64), dtype=torch.long))
    sampler = PacedSampler(np.argsort(data.train.difficulty), pacing.get("linear"), {"a": 0.5, "b": 0.2}, steps, 64)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for step in range(steps):
        index = torch.as_tensor(sampler.batch(step, rng), dtype=torch.long)
        _ = (data.train.images[index], data.train_tokens[index], data.train.labels[index])
    return steps * 64 / (time.perf_counter() - start)


def trainer_rate(dataset: Path) -> float:
    from curriclip.config import TrialConfig
    from curriclip.trainables import run_trial

    times = []
    run_trial(TrialConfig.model_validate(_trial_cfg(dataset)), lambda m, s: times.append(m["epoch_time_s"]))
    return 30 * 64 / times[-1]


def _hold(dataset: str, model_size: int, ready, go, out) -> None:
    torch.set_num_threads(1)
    from curriclip.config import TrialConfig
    from curriclip.trainables.data import load_trial_data

    cfg = TrialConfig.model_validate(_trial_cfg(Path(dataset)))
    data = load_trial_data(cfg, model_size, lambda texts: torch.zeros((len(texts), 64), dtype=torch.long))
    for start in range(0, len(data.train), 512):  # touch every row, as a full training run would
        data.train.images[np.arange(start, min(start + 512, len(data.train)))].sum()
    ready.set()
    go.wait()
    out.put(pss_mb())


def memory(dataset: Path, model_size: int, processes: int) -> tuple[float, float]:
    ctx = mp.get_context("spawn")
    ready = [ctx.Event() for _ in range(processes)]
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_hold, args=(str(dataset), model_size, r, go, out)) for r in ready]
    for p in procs:
        p.start()
    for r in ready:
        r.wait(600)
    go.set()  # every process measures while all of them hold their data
    readings = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    return sum(r[0] for r in readings), sum(r[1] for r in readings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--model-size", type=int, default=128, help="size the memory test maps images at")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.environ.setdefault("CURRICLIP_CACHE", tempfile.mkdtemp(prefix="curriclip-bench-"))
    from curriclip.data.sources import resolve

    small = resolve("synthetic", n=3000, image_size=128, seed=0)
    loader, trainer = loader_rate(small, 64), trainer_rate(small)
    print(f"loader  {loader:10,.0f} samples/s (tiny preset inputs, 64 px, batch 64, 1 thread)")
    print(f"trainer {trainer:10,.0f} samples/s (tiny preset, ITC, batch 64, 1 thread)")
    print(f"ratio   {loader / trainer:10.1f}x  (goal >= 10x)")

    big = resolve("synthetic", n=args.n, image_size=args.image_size, seed=0)
    from curriclip.data.loader import load_split

    load_split(str(big), "train", args.model_size)  # build the node's image cache once, before measuring
    image_mb = 0.8 * args.n * args.model_size**2 / 2**20  # the train split's images at model size
    (one, one_img), (four, four_img) = memory(big, args.model_size, 1), memory(big, args.model_size, 4)
    print(
        f"memory  1 trial: {one:,.0f} MB PSS ({one_img:,.0f} MB of it image pages); "
        f"4 trials: {four:,.0f} MB PSS in all ({four / one:.2f}x), image pages {four_img:,.0f} MB in all "
        f"({four_img / max(one_img, 1e-9):.2f}x; {4 * image_mb:,.0f} MB if each trial held a private copy)"
    )
    json.dump(
        {"loader": loader, "trainer": trainer, "pss_1": one, "pss_4": four, "images_1": one_img, "images_4": four_img},
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
