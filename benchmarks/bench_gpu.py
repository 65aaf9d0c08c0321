"""GPU throughput: a ViT-B/16 CLIP training step (samples/s, model-FLOPs utilisation), and trials per hour
of the tiny preset at 1, 2 and 4 trials per GPU.

    python benchmarks/bench_gpu.py [--batch 256] [--precision bf16] [--steps 20] [--rounds 3]
                                   [--trials 12] [--epochs 4] [--skip-step] [--skip-search]

1. **Step throughput.** open_clip's ``ViT-B-16`` built from its config (random init,
   nothing downloaded) in curriclip's multi-task wrapper, trained on ITC with the trial
   loop's own pieces: ``Compute`` (``--precision`` autocast, TF32, pinned host batches),
   ``build_optimizer`` (AdamW, warmup + cosine) and the ITC task's open_clip ``ClipLoss``,
   on random 224 px grayscale images and random tokens, batch ``--batch``. Each round
   times ``--steps`` steps after a warm-up, synchronised; the median round is reported.
   FLOPs of one training step (forward + backward) are counted with
   ``torch.utils.flop_counter.FlopCounterMode`` on a real step; model-FLOPs utilisation
   = FLOPs per step x steps/s / the GPU's peak dense bf16/fp16 tensor FLOPs (table
   ``PEAK_TFLOPS`` by GPU name; ``--peak-tflops`` for others).
2. **Trials per hour.** Three curriclip searches of the default experiment's tiny preset
   (``--trials`` trials each including the single-task and control baselines, fifo so
   none stop early, ``--epochs`` x ``--steps-per-epoch``), with ``gpus_per_trial`` 1, 0.5
   and 0.25 (1, 2 and 4 trials sharing each GPU, each capped at its share of the GPU's
   memory), timed from the search's start to its exports; printed as trials per hour
   and as the ratio to one trial per GPU. Small models leave a GPU mostly idle, so
   sharing should raise trials per hour until the GPU or the CPUs saturate.

Without a CUDA GPU it prints "no CUDA GPU visible: nothing measured" and exits 0.
``--dry-run-cpu`` runs the same code on the CPU at whatever size is given (it checks the
script; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import torch

#: Peak dense tensor-core TFLOPs (bf16; fp16 on V100/T4, which lack bf16) by a substring of the GPU's name.
#: First match wins, so the more specific names come first.
PEAK_TFLOPS = [
    ("H200", 989.0),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),  # SXM
    ("GH200", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L40", 181.0),
    ("A10G", 70.0),
    ("A10", 125.0),
    ("L4", 121.0),
    ("V100", 125.0),
    ("T4", 65.0),
]


def peak_tflops(name: str) -> float | None:
    for key, value in PEAK_TFLOPS:
        if key in name:
            return value
    return None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_throughput(args: argparse.Namespace, device: torch.device) -> dict:
    """Samples/s and FLOPs per step of the ITC training step (see the module docstring)."""
    from torch.utils.flop_counter import FlopCounterMode

    from curriclip.config import TrialConfig
    from curriclip.models import ModelSpec, MultiTaskModel, build_clip
    from curriclip.tasks.base import Batch, StepContext
    from curriclip.tasks.base import get as get_task
    from curriclip.trainables.device import Compute
    from curriclip.trainables.loop import MAX_LOGIT_SCALE
    from curriclip.trainables.optim import build_optimizer

    torch.manual_seed(0)
    clip, tokenizer, image_size = build_clip(ModelSpec(args.model))
    cfg = TrialConfig(
        arm="single_task",
        dataset_dir="-",
        model=args.model,
        tasks=["itc"],
        pacing="none",
        batch_size=args.batch,
        epochs=1,
        steps_per_epoch=10_000,
        device=device.type,
        precision=args.precision,
        compile=args.compile,
    )
    compute = Compute.for_trial(cfg, device)
    model = compute.prepare_model(MultiTaskModel(clip, {}).to(device))
    optimizer, scheduler = build_optimizer(model, cfg)
    itc = get_task("itc")
    context = int(getattr(tokenizer, "context_length", 77))
    vocab = int(clip.vocab_size) if hasattr(clip, "vocab_size") else 49408
    g = torch.Generator().manual_seed(0)
    pool = 4  # a few distinct host batches, cycled
    images = [
        torch.randint(0, 256, (args.batch, image_size, image_size), dtype=torch.uint8, generator=g) for _ in range(pool)
    ]
    tokens = [torch.randint(1, vocab, (args.batch, context), generator=g) for _ in range(pool)]
    labels = torch.zeros(args.batch, 1)

    def step(i: int) -> None:
        batch = Batch(
            images=compute.to_device(images[i % pool]), tokens=compute.to_device(tokens[i % pool]), labels=labels
        )
        ctx = StepContext(model, batch, g)
        with compute.autocast():
            loss = itc.loss(ctx, None)
        optimizer.zero_grad(set_to_none=True)
        compute.scaled({"itc": loss})["itc"].backward()
        compute.step(optimizer)
        scheduler.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)

    for i in range(args.warmup):  # cuDNN/cuBLAS autotuning, the caching allocator, torch.compile
        step(i)
    _sync(device)
    with FlopCounterMode(display=False) as counter:
        step(0)
    flops = counter.get_total_flops()
    rates = []
    for _ in range(args.rounds):
        _sync(device)
        start = time.perf_counter()
        for i in range(args.steps):
            step(i)
        _sync(device)
        rates.append(args.batch * args.steps / (time.perf_counter() - start))
    out = {"samples_s": statistics.median(rates), "flops_per_step": flops, "precision": compute.precision}
    if device.type == "cuda":
        out["peak_memory_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
    return out


def trials_per_hour(args: argparse.Namespace, gpus: float, storage: str) -> tuple[float, int]:
    """(trials per hour, concurrent trials) of one curriclip search with ``gpus`` GPUs per trial."""
    from curriclip.config import parse_experiment
    from curriclip.pipeline import run_search
    from curriclip.rundir.launch import concurrency as _concurrency

    share = f"{1 / gpus:g}" if gpus else f"cpu{args.cpus_per_trial:g}"
    resources = {"cpus_per_trial": args.cpus_per_trial, "gpus_per_trial": gpus}
    experiment = parse_experiment(
        {
            "name": f"bench-gpu-{share}-per-gpu",
            "storage": storage,
            "training": {"epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch},
            "space": {"sparsity": [1.0]},
            "search": {"num_trials": args.trials - 2, "seeds": [0], "scheduler": "fifo", "n_startup_trials": 2},
            "resources": resources,
        }
    )
    start = time.perf_counter()
    outcome = run_search(experiment)
    hours = (time.perf_counter() - start) / 3600
    if outcome.errored:
        print(f"  warning: {outcome.errored} trial(s) errored at gpus_per_trial {gpus:g}", file=sys.stderr)
    return outcome.finished / hours, _concurrency(experiment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ViT-B-16", help="open_clip architecture or curriclip preset")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--precision", default="bf16", choices=["auto", "bf16", "fp16", "fp32"])
    parser.add_argument("--compile", action="store_true", help="torch.compile the towers (as compute.compile)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peak-tflops", type=float, default=None, help="peak dense TFLOPs when the GPU is not listed")
    parser.add_argument("--trials", type=int, default=12, help="trials per search (>= 3: includes 2 baselines)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--steps-per-epoch", type=int, default=40)
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--skip-step", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--dry-run-cpu", action="store_true", help="run on the CPU to check the script")
    args = parser.parse_args()

    if not torch.cuda.is_available() and not args.dry_run_cpu:
        print("no CUDA GPU visible: nothing measured")
        return
    device = torch.device("cuda" if torch.cuda.is_available() and not args.dry_run_cpu else "cpu")
    if device.type == "cpu":
        args.precision = "fp32"
    os.environ.setdefault("CURRICLIP_CACHE", tempfile.mkdtemp(prefix="curriclip-bench-"))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (dry run)"
    print(f"device: {name}")

    if not args.skip_step:
        r = step_throughput(args, device)
        flops = r["flops_per_step"]
        achieved = flops * r["samples_s"] / args.batch
        print(
            f"\n{args.model} ITC training step, batch {args.batch}, {r['precision']}"
            f"{', compiled' if args.compile else ''}:"
        )
        print(f"  {r['samples_s']:9.0f} samples/s   {r['samples_s'] / args.batch:6.2f} steps/s")
        print(f"  {flops / 1e12:9.2f} TFLOPs per step ({flops / args.batch / 1e9:.1f} GFLOPs per sample, fwd + bwd)")
        print(f"  {achieved / 1e12:9.1f} TFLOPs/s achieved")
        peak = args.peak_tflops or (peak_tflops(name) if device.type == "cuda" else None)
        if peak:
            print(f"  MFU {achieved / (peak * 1e12):6.1%} of {peak:g} dense TFLOPs ({name})")
        else:
            print("  MFU: peak FLOPs of this device unknown (pass --peak-tflops)")
        if "peak_memory_gb" in r:
            print(f"  peak memory {r['peak_memory_gb']:.1f} GiB")

    if not args.skip_search:
        import ray

        from curriclip.data.sources import resolve

        resolve("synthetic", n=3000, image_size=128, seed=0)  # the default experiment's data, made before timing
        storage = tempfile.mkdtemp(prefix="curriclip-bench-runs-")
        rows = []
        for per_gpu in (1, 2, 4):
            gpus = 1 / per_gpu if device.type == "cuda" else 0.0
            if device.type == "cpu":  # dry run: share CPUs instead
                args.cpus_per_trial = 1 / per_gpu
            rate, concurrent = trials_per_hour(args, gpus, storage)
            rows.append((per_gpu, gpus, rate, concurrent))
        ray.shutdown()
        unit = "GPU" if device.type == "cuda" else "CPU (dry run)"
        print(f"\ntiny preset, {args.trials} trials per search, {args.epochs} x {args.steps_per_epoch} steps:")
        base = rows[0][2]
        for per_gpu, gpus, rate, concurrent in rows:
            print(
                f"  {per_gpu} per {unit} (gpus_per_trial {gpus:g}, {concurrent} at a time): "
                f"{rate:7.1f} trials/hour   {rate / base:5.2f}x one per {unit}"
            )


if __name__ == "__main__":
    main()
