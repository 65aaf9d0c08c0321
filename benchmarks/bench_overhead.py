"""Overhead of the curriclip trial loop against a bare open_clip training loop, and step time per task combination.

    python benchmarks/bench_overhead.py [--preset tiny] [--batch 64] [--steps 40] [--rounds 3] [--device cpu]
                                        [--all-combinations]

1. **Overhead** (goal: ratio >= 0.95). Samples/s of ``curriclip.trainables.run_trial``
   training ITC alone (single-task arm: paced sampler, task schedule, weighting, the
   multi-task wrapper, grayscale handling, the loss check) against a bare open_clip loop
   with the same model and initial weights, the same batch size, the same AdamW parameter
   groups and learning-rate schedule, ``open_clip.loss.ClipLoss`` and the same
   temperature clamp, on the same images and tokens. The trial's training time is taken
   as the difference between two trials of ``--steps`` and ``2 * --steps`` steps (their
   setup and evaluation cancel); the bare loop is timed directly. Measurements alternate
   between the two, ``--rounds`` times, and the median of each is reported.
2. **Step time per task combination** on a fixed batch of the preset (with finding masks
   for segmentation): every task alone, ITC + each auxiliary task, and all tasks, with
   equal weighting; all tasks under every weighting strategy. ``--all-combinations``
   times every subset that contains ITC.

One thread, so the figures are what one trial worker gets on a CPU core. On a CPU the
clock is the process's CPU time (``--clock cpu``, the default), so other programs
competing for the cores do not distort the ratio; ``--clock wall`` uses wall time (always
used on a GPU, with synchronisation).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from open_clip.loss import ClipLoss  # noqa: E402

from curriclip.config import TrialConfig  # noqa: E402
from curriclip.data.loader import load_split  # noqa: E402
from curriclip.data.sources import resolve  # noqa: E402
from curriclip.models import MultiTaskModel, build_clip, model_info  # noqa: E402
from curriclip.tasks import TASKS  # noqa: E402
from curriclip.tasks.base import (  # noqa: E402
    Batch,
    StepContext,
    sections_mask,  # noqa: E402
)
from curriclip.trainables import run_trial  # noqa: E402
from curriclip.trainables.loop import MAX_LOGIT_SCALE  # noqa: E402
from curriclip.trainables.optim import build_optimizer  # noqa: E402
from curriclip.weighting import WEIGHTINGS  # noqa: E402


def trial_config(dataset: str, args: argparse.Namespace, steps: int) -> TrialConfig:
    return TrialConfig(
        arm="single_task",
        dataset_dir=dataset,
        model=args.preset,
        tasks=["itc"],
        pacing="none",
        epochs=1,
        steps_per_epoch=steps,
        batch_size=args.batch,
        eval_batch_size=256,
        threads=1,
        device=args.device,
        seed=0,
        warmup_fraction=0.05,
    )


def clock(args: argparse.Namespace) -> float:
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        return time.perf_counter()
    return time.process_time() if args.clock == "cpu" else time.perf_counter()


def trial_train_seconds(dataset: str, args: argparse.Namespace, steps: int) -> float:
    """Seconds of one whole trial (setup, training, evaluation); differences of two isolate the training."""
    start = clock(args)
    run_trial(trial_config(dataset, args, steps), lambda metrics, state: None)
    return clock(args) - start


def curriclip_samples_per_s(dataset: str, args: argparse.Namespace) -> float:
    short = trial_train_seconds(dataset, args, args.steps)
    long = trial_train_seconds(dataset, args, 2 * args.steps)
    return args.batch * args.steps / max(long - short, 1e-9)


def bare_samples_per_s(dataset: str, args: argparse.Namespace) -> float:
    """The plain open_clip recipe: normalise, replicate to RGB, encode, CLIP loss, AdamW step."""
    torch.manual_seed(0)
    device = torch.device(args.device)
    clip, tokenizer, size = build_clip(args.preset)
    clip = clip.to(device).train()
    split = load_split(dataset, "train", size)
    images = split.images[torch.arange(len(split))]
    tokens = tokenizer(split.texts)
    cfg = trial_config(dataset, args, args.steps)
    optimizer, scheduler = build_optimizer(clip, cfg)
    loss_fn = ClipLoss()
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        index = torch.randint(0, len(images), (args.batch,), generator=generator)
        x = images[index].to(device).float().div_(255).sub_(0.45).div_(0.25).unsqueeze(1).expand(-1, 3, -1, -1)
        image = F.normalize(clip.encode_image(x), dim=-1)
        text = F.normalize(clip.encode_text(tokens[index].to(device)), dim=-1)
        loss = loss_fn(image, text, clip.logit_scale.exp())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        with torch.no_grad():
            clip.logit_scale.clamp_(0, MAX_LOGIT_SCALE)

    for _ in range(3):  # warm-up, as the trial's first steps are inside its difference
        step()
    start = clock(args)
    for _ in range(args.steps):
        step()
    return args.batch * args.steps / (clock(args) - start)


def step_level_ms(dataset: str, args: argparse.Namespace, rounds: int = 6, steps: int = 10) -> tuple[float, float]:
    """Per-step time of the trial's step path (sampler batch -> Batch -> StepContext -> ITC task -> weighting
    backward -> AdamW -> clamp -> loss bookkeeping) and of the bare step, alternating in one process, same init."""
    from curriclip.curriculum.runtime import TrialCurriculum
    from curriclip.trainables.data import load_trial_data

    cfg = trial_config(dataset, args, 10_000)
    torch.manual_seed(0)
    clip, tokenizer, size = build_clip(args.preset)
    torch.manual_seed(0)
    bare_clip, _, _ = build_clip(args.preset)
    data = load_trial_data(cfg, size, tokenizer)
    rng = __import__("numpy").random.default_rng(0)
    curriculum = TrialCurriculum(cfg, data.train, data.train_tokens, rng, torch.device("cpu"), build_model=None)
    combine = WEIGHTINGS.get("equal")(["itc"])
    model = MultiTaskModel(clip, {}, combine).train()
    shared = [p for p in model.clip.parameters() if p.requires_grad]
    ours_opt, ours_sched = build_optimizer(model, cfg)
    bare_opt, bare_sched = build_optimizer(bare_clip, cfg)
    itc, loss_fn = TASKS.get("itc"), ClipLoss()
    images = data.train.images[torch.arange(len(data.train))]
    generator = torch.Generator().manual_seed(0)
    sums: dict[str, float] = {}
    step_no = [0]

    def ours() -> None:
        index = torch.as_tensor(curriculum.batch(step_no[0], rng), dtype=torch.long)
        weights = curriculum.weights(step_no[0])
        batch = Batch(images=data.train.images[index], tokens=data.train_tokens[index], labels=data.train.labels[index])
        ctx = StepContext(model, batch, generator)
        losses = {"itc": itc.loss(ctx, None)}
        ours_opt.zero_grad(set_to_none=True)
        total = combine.backward(losses, weights, shared=shared, generator=generator)
        if not torch.isfinite(total):
            raise FloatingPointError
        ours_opt.step()
        ours_sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
        sums["itc"] = sums.get("itc", 0.0) + losses["itc"].item()
        step_no[0] += 1

    def bare() -> None:
        index = torch.randint(0, len(images), (args.batch,), generator=generator)
        x = images[index].float().div_(255).sub_(0.45).div_(0.25).unsqueeze(1).expand(-1, 3, -1, -1)
        image = F.normalize(bare_clip.encode_image(x), dim=-1)
        text = F.normalize(bare_clip.encode_text(data.train_tokens[index]), dim=-1)
        loss = loss_fn(image, text, bare_clip.logit_scale.exp())
        bare_opt.zero_grad(set_to_none=True)
        loss.backward()
        bare_opt.step()
        bare_sched.step()
        with torch.no_grad():
            bare_clip.logit_scale.clamp_(0, MAX_LOGIT_SCALE)

    times: dict[str, list[float]] = {"ours": [], "bare": []}
    for fn in (ours, bare):
        fn()
    for _ in range(rounds):
        for name, fn in (("bare", bare), ("ours", ours)):
            start = clock(args)
            for _ in range(steps):
                fn()
            times[name].append(1000 * (clock(args) - start) / steps)
    return statistics.median(times["ours"]), statistics.median(times["bare"])


def fixed_batch(dataset: str, args: argparse.Namespace) -> tuple[Batch, int]:
    _, tokenizer, size = build_clip(args.preset)
    split = load_split(dataset, "train", size).take(list(range(args.batch)))
    images = split.images[torch.arange(args.batch)]
    bands = torch.linspace(60, 220, len(split.label_names) + 1)
    masks = torch.stack([(images >= lo) & (images < hi) for lo, hi in zip(bands[:-1], bands[1:])], dim=1).float()
    batch = Batch(
        images=images,
        tokens=tokenizer(split.texts),
        labels=split.labels,
        masks=masks,
        findings_tokens=tokenizer(split.findings),
        impression_tokens=tokenizer(split.impressions),
        has_sections=sections_mask(split.findings, split.impressions),
    )
    return batch, len(split.label_names)


def step_ms(combo: tuple[str, ...], weighting: str, batch: Batch, num_labels: int, args, repeats: int = 5) -> float:
    torch.manual_seed(0)
    clip, _, size = build_clip(args.preset)
    info = model_info(clip, num_labels, size)
    heads = {n: h for n in combo if (h := TASKS.get(n).build_head(info)) is not None}
    combine = WEIGHTINGS.get(weighting)(combo, steps_per_epoch=10)
    model = MultiTaskModel(clip, heads, combine).train()
    shared = [p for p in model.clip.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    times = []
    for i in range(repeats + 1):
        start = clock(args)
        ctx = StepContext(model, batch, generator)
        losses = {n: TASKS.get(n).loss(ctx, model.heads[n] if n in model.heads else None) for n in combo}
        optimizer.zero_grad(set_to_none=True)
        combine.backward(losses, {n: 1.0 for n in combo}, shared=shared, generator=generator)
        optimizer.step()
        if i:  # the first step warms up
            times.append(clock(args) - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n", type=int, default=600, help="synthetic samples")
    parser.add_argument("--all-combinations", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-combinations", action="store_true")
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu", help="CPU: process time or wall time")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.environ.setdefault("CURRICLIP_CACHE", os.path.join(tempfile.gettempdir(), "curriclip-bench-cache"))
    dataset = str(resolve("synthetic", n=args.n, image_size=64, seed=0))

    print(f"preset {args.preset}, batch {args.batch}, device {args.device}, 1 thread, {args.clock} clock")
    if not args.skip_overhead:
        ours, bare = [], []
        for r in range(args.rounds):
            bare.append(bare_samples_per_s(dataset, args))
            ours.append(curriclip_samples_per_s(dataset, args))
            print(f"  round {r + 1}: bare open_clip {bare[-1]:8.1f} samples/s, curriclip {ours[-1]:8.1f} samples/s")
        b, o = statistics.median(bare), statistics.median(ours)
        print(
            f"overhead (whole trials, differenced): bare open_clip {b:.1f} samples/s, curriclip trial (ITC) "
            f"{o:.1f} samples/s, ratio {o / b:.3f} (goal >= 0.95)"
        )
        ours_ms, bare_ms = step_level_ms(dataset, args)
        print(
            f"overhead (step level, alternating in one process): bare {bare_ms:.1f} ms/step, curriclip "
            f"{ours_ms:.1f} ms/step, ratio {bare_ms / ours_ms:.3f} (samples/s ratio; goal >= 0.95)"
        )

    if args.skip_combinations:
        return
    batch, k = fixed_batch(dataset, args)
    aux = [n for n in TASKS.names() if n != "itc"]
    combos: list[tuple[str, ...]] = [(n,) for n in TASKS.names()] + [("itc", n) for n in aux] + [tuple(TASKS.names())]
    if args.all_combinations:
        combos = [("itc", *c) for r in range(len(aux) + 1) for c in itertools.combinations(aux, r)]
    print("\nstep time per task combination (equal weighting; forward + backward + AdamW step):")
    for combo in combos:
        print(f"  {step_ms(combo, 'equal', batch, k, args):8.1f} ms  {'+'.join(combo)}")
    print("\nall tasks, per weighting strategy:")
    for name in WEIGHTINGS.names():
        print(f"  {step_ms(tuple(TASKS.names()), name, batch, k, args, repeats=3):8.1f} ms  {name}")


if __name__ == "__main__":
    main()
