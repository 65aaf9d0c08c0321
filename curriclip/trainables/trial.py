"""A trial while it trains: everything ``run_trial`` builds from its config, and what a checkpoint keeps of it.

``build_trial`` makes the model, optimizer, schedule, curriculum and random generators
in one fixed order (the order is part of what makes a seed reproducible: building draws
from torch's global generator). ``Trial.state_dict`` / ``load_state_dict`` are the one
description of a checkpoint, so save and restore cannot drift apart; a checkpoint holds
only tensors, numbers, strings and containers of them, so it loads with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from curriclip import weighting
from curriclip.config import TrialConfig
from curriclip.curriculum.runtime import TrialCurriculum
from curriclip.data.store import image_channels
from curriclip.models import ModelSpec, MultiTaskModel, build_clip, model_info
from curriclip.tasks.base import Task, get
from curriclip.trainables import cache
from curriclip.trainables.data import TrialData, load_trial_data, training_reports
from curriclip.trainables.device import Compute, select_device
from curriclip.trainables.evaluation import Evaluator
from curriclip.trainables.optim import build_optimizer, follow_config_lr
from curriclip.trainables.parallel import DataParallel
from curriclip.trainables.timing import PHASES

#: torch's threads when this process started: the default of a trial that sets none (not what the last trial set)
PROCESS_THREADS = torch.get_num_threads()


@dataclass
class Trial:
    """One trial's training state (``epoch``: epochs completed) and the objects that act on it."""

    cfg: TrialConfig
    parallel: DataParallel
    compute: Compute
    data: TrialData
    evaluator: Evaluator
    tasks: dict[str, Task]
    model: MultiTaskModel
    shared: list[torch.nn.Parameter]  # the encoder parameters every task shares (gradient-surgery weightings)
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    curriculum: TrialCurriculum
    rng: np.random.Generator  # the curriculum's draws
    generator: torch.Generator  # this rank's task noise (augmentations, masking, weighting)
    epoch: int = 0
    #: the untrained model's metrics (``init_*``), reported beside every epoch's
    init: dict = field(default_factory=dict)
    #: every rank's task-noise generator state at the last epoch end (data-parallel trials only)
    rank_generators: list[torch.Tensor] = field(default_factory=list)

    def state_dict(self) -> dict:
        """The checkpoint: model, optimizer, schedule, every random state and the epoch counter."""
        return {
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "numpy_rng": self.rng.bit_generator.state,
            "torch_generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "init_clip_score": self.init["init_clip_score"],
            "init_metrics": self.init,
            **({"torch_generators": self.rank_generators} if self.parallel.distributed else {}),
            **self.compute.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a checkpoint; the config's lr wins over the checkpoint's (PBT perturbs it)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        follow_config_lr(self.optimizer, self.scheduler, self.cfg.lr)
        self.compute.load_state_dict(state)
        self.rng.bit_generator.state = state["numpy_rng"]
        generators = state.get("torch_generators") or []
        if len(generators) == self.parallel.world_size:  # each rank's own (a data-parallel checkpoint)
            self.generator.set_state(generators[self.parallel.rank])
        elif self.parallel.is_main:
            self.generator.set_state(state["torch_generator"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch = int(state["epoch"])
        self.init = dict(state.get("init_metrics") or {"init_clip_score": float(state["init_clip_score"])})


def model_spec(cfg: TrialConfig) -> ModelSpec:
    options = cfg.model_options
    channels = image_channels(cfg.dataset_dir)  # multi-contrast datasets (BraTS: 4)
    return ModelSpec(
        cfg.model, options.pretrained, options.checkpoint, options.text_tower, options.image_channels, channels
    )


def seed_everything(cfg: TrialConfig, parallel: DataParallel) -> tuple[np.random.Generator, torch.Generator]:
    """Threads, deterministic algorithms, the global seeds; the curriculum's and this rank's generators.

    Every process-wide setting a trial depends on is set here, at the start of every
    trial, so a process that served other trials before (Ray Tune's actor reuse) starts
    this one exactly as a fresh process would: torch's, numpy's and Python's global
    generators are seeded even though trial code draws from its own generators.
    """
    torch.set_num_threads(cfg.threads or int(os.environ.get("CURRICLIP_THREADS", PROCESS_THREADS)))
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed % 2**32)
    random.seed(cfg.seed)
    return np.random.default_rng(cfg.seed), torch.Generator().manual_seed(parallel.generator_seed(cfg.seed))


def build_trial(cfg: TrialConfig, parallel: DataParallel) -> Trial:
    """The untrained trial: data, model with task heads and weighting, optimizer, curriculum (in this order)."""
    rng, generator = seed_everything(cfg, parallel)
    device = parallel.device or select_device(cfg.device)
    compute = Compute.for_trial(cfg, device)
    uncap_gpu_memory(cfg, device)
    parallel.local_batch_size(cfg.batch_size)

    spec = model_spec(cfg)
    _name, _size, _weights, text_tower = spec.resolve()
    reports = training_reports(cfg.dataset_dir) if text_tower == "wordpiece" else None
    with PHASES.phase("model_build"):  # built once per process for each (spec, random state): a deep copy
        model_key = (spec, cache.file_key(cfg.model_options.checkpoint))  # a local checkpoint may be rewritten
        clip, tokenizer, image_size = cache.built_model(model_key, reports, lambda: build_clip(spec, reports))
    with PHASES.phase("data_open"):
        data = load_trial_data(cfg, image_size, tokenizer)
    evaluator = Evaluator(
        data.train, data.held_out, data.held_out_tokens, tokenizer, cfg.eval_batch_size, device,
        split_name=str(cfg.eval_split),
    )  # fmt: skip
    tasks = {name: get(name).configure(label_policy=cfg.label_policy, **parallel.task_options()) for name in cfg.tasks}
    info = model_info(clip, len(data.train.label_names), image_size)
    heads = {name: head for name, task in tasks.items() if (head := task.build_head(info)) is not None}
    # the weighting is part of the model: its learnable parameters join the optimizer and the checkpoint
    combine = weighting.get(cfg.weighting)(cfg.tasks, steps_per_epoch=cfg.steps_per_epoch)
    model = compute.prepare_model(MultiTaskModel(clip, heads, combine).to(device))
    optimizer, scheduler = build_optimizer(model, cfg)
    curriculum = TrialCurriculum(  # scorer -> order (control) -> paced sampler, and the task schedule
        cfg, data.train, data.train_tokens, rng, device,
        build_model=lambda: MultiTaskModel(build_clip(spec, reports)[0], {}).to(device),  # transfer teacher
    )  # fmt: skip
    return Trial(
        cfg=cfg,
        parallel=parallel,
        compute=compute,
        data=data,
        evaluator=evaluator,
        tasks=tasks,
        model=model,
        shared=[p for p in model.clip.parameters() if p.requires_grad],
        optimizer=optimizer,
        scheduler=scheduler,
        curriculum=curriculum,
        rng=rng,
        generator=generator,
    )


def uncap_gpu_memory(cfg: TrialConfig, device: torch.device) -> None:
    """Lift a memory cap an earlier trial of this process set, when this trial sets none.

    ``Compute.for_trial`` caps the process's share of the GPU only when the trial asks
    for a cap; in a reused process the cap of the trial before would otherwise stay.
    """
    fraction = getattr(cfg, "gpu_memory_fraction", None)
    if device.type == "cuda" and (fraction is None or fraction >= 1.0):
        index = device.index if device.index is not None else torch.cuda.current_device()
        torch.cuda.set_per_process_memory_fraction(1.0, index)


def untrained_key(trial: Trial) -> tuple:
    """Everything the untrained model's metrics depend on (see ``cache``): weights, held-out data, settings."""
    from curriclip.metrics import METRICS

    cfg, evaluator, compute = trial.cfg, trial.evaluator, trial.compute
    weights = sorted(trial.model.state_dict().items())  # task order is in the weights' values, not their names
    heldout = [("tokens", evaluator.held_out_tokens), ("prompts", getattr(evaluator, "prompt_tokens", None))]
    return (
        cache.tensor_digest(weights),
        cache.tensor_digest(heldout),
        evaluator.split_name,
        evaluator.test_split_hash,
        len(evaluator.held_out),
        cache.dataset_key(cfg.dataset_dir),
        tuple(cfg.tasks),
        cfg.label_policy,
        repr(trial.parallel.task_options()),
        evaluator.batch_size,
        evaluator.n_resamples,
        str(evaluator.device),
        torch.get_num_threads(),
        (compute.precision, compute.channels_last, compute.compile),
        tuple(METRICS),  # the declared metrics, in registry order
    )


def untrained_metrics(trial: Trial, evaluate: Callable[[], dict]) -> dict:
    """``evaluate()`` (the untrained model's ``init_*`` metrics), computed once per process for each ``untrained_key``.

    Evaluation draws from no global generator, so taking the metrics from the cache
    leaves the trial's random state exactly where computing them would.
    """
    with PHASES.phase("untrained_eval"):
        return cache.untrained_metrics(untrained_key(trial), evaluate)
