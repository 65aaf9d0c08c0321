"""The per-rank hooks of a data-parallel trial: what ``run_trial`` calls so one loop serves one worker or many.

``DataParallel()`` is the single process, where every hook is a no-op. For a rank of a
Ray Train worker group (see ``train_driver``) the hooks change exactly this:

- every rank runs the same seeded curriculum, draws the same global batch of
  ``batch_size`` sample indices, and trains on its slice ``[r*b:(r+1)*b]`` with
  ``b = batch_size / world_size``, so the union of the shards is the single-process
  batch (rank 0's list is broadcast, so the shards partition it even where GPU
  non-determinism made a dynamic scorer's order differ between ranks);
- the ITC loss gathers the features of all ranks with gradients (open_clip's
  ``ClipLoss(gather_with_grad=True)``), so the negatives span the global batch;
- gradients are averaged across ranks after the backward pass, before the optimizer
  step (with ITC's gathered loss this gives exactly the single-process gradient);
- the logged losses are averaged across ranks; evaluation, metrics and checkpoint state
  come from rank 0 only; each rank keeps its own task-noise generator, and the
  checkpoint keeps all of them, so a resumed trial continues as it would have.

What is exact: an ITC-only trial takes the single-process steps up to float summation
order (``tests/test_distributed.py`` measures it). What is not: a task whose loss is a
mean over its own known labels or masks averages per-shard means; the per-sample noise
of augmentation tasks comes from each rank's generator, not the single process's; and
PCGrad/CAGrad/GradNorm act on each rank's task gradients before they are averaged.

Gradients are averaged by one bucketed all-reduce instead of wrapping the model in
``DistributedDataParallel``: tasks call several encoder methods per step (not one
``forward``), and the gradient-surgery weightings (PCGrad, CAGrad, GradNorm) take one
backward pass per task, while DDP's reducer expects exactly one forward and one backward
per step. The parameters and state-dict keys stay those of the single-process model, so
checkpoints move freely between one worker and many.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from curriclip.errors import ConfigError, DataError

#: Elements per gradient all-reduce bucket (2^24 fp32 = 64 MiB): bounds the extra memory of the flat copy.
BUCKET_ELEMENTS = 1 << 24


class DataParallel:
    """One rank of a data-parallel trial; ``DataParallel()`` is the single-process trial (every hook a no-op)."""

    def __init__(self, rank: int = 0, world_size: int = 1, device: torch.device | None = None) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        self.rank = rank
        self.world_size = world_size
        self.device = device

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that evaluates, reports and writes checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def task_options(self) -> dict[str, int]:
        """What ``Task.configure`` needs to know (ITC gathers features across ranks)."""
        return {"rank": self.rank, "world_size": self.world_size} if self.distributed else {}

    def generator_seed(self, seed: int) -> int:
        """The seed of this rank's task-noise generator (rank 0: the trial seed, so one worker = single process)."""
        if self.rank == 0:
            return seed
        return int(np.random.SeedSequence([seed, self.rank]).generate_state(1, dtype=np.uint64)[0] >> 1)

    def local_batch_size(self, batch_size: int) -> int:
        if batch_size % self.world_size:
            raise ConfigError(
                f"batch_size {batch_size} does not split evenly over {self.world_size} data-parallel workers"
            )
        return batch_size // self.world_size

    def _comm(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` where the process group's backend can use it (NCCL: on the GPU)."""
        return tensor.to(self.device) if self.device is not None else tensor

    def shard(self, index: np.ndarray) -> np.ndarray:
        """This rank's slice of the global batch ``index`` (rank 0's, broadcast)."""
        if not self.distributed:
            return index
        if len(index) % self.world_size:
            raise DataError(
                f"a global batch of {len(index)} pairs does not split evenly over {self.world_size} workers "
                "(the training subset is smaller than batch_size)"
            )
        shared = self._comm(torch.as_tensor(np.asarray(index), dtype=torch.long))
        dist.broadcast(shared, src=0)
        b = len(index) // self.world_size
        return shared[self.rank * b : (self.rank + 1) * b].cpu().numpy()

    def broadcast_model(self, model: torch.nn.Module) -> None:
        """Rank 0's parameters and buffers on every rank (a no-op by construction; cheap insurance)."""
        if not self.distributed:
            return
        with torch.no_grad():
            for tensor in model.state_dict().values():
                if not isinstance(tensor, torch.Tensor):
                    continue
                if tensor.is_contiguous():
                    dist.broadcast(tensor, src=0)
                else:  # channels-last convolution weights: collectives want contiguous memory
                    flat = tensor.contiguous()
                    dist.broadcast(flat, src=0)
                    tensor.copy_(flat)

    def average(self, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The mean over ranks of scalar tensors (for logging and the non-finite check, which all ranks must share)."""
        if not self.distributed:
            return values
        names = list(values)
        stacked = self._comm(torch.stack([values[n].detach().float().reshape(()) for n in names]))
        dist.all_reduce(stacked)
        stacked /= self.world_size
        return dict(zip(names, stacked.unbind()))

    def sync_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Average ``.grad`` across ranks (parameters without a gradient have none on every rank)."""
        if not self.distributed:
            return
        grads = [p.grad for p in parameters if p.grad is not None]
        for bucket in _buckets(grads, BUCKET_ELEMENTS):
            flat = torch.cat([g.reshape(-1) for g in bucket])
            dist.all_reduce(flat)
            flat /= self.world_size
            offset = 0
            for g in bucket:
                g.copy_(flat[offset : offset + g.numel()].view_as(g))
                offset += g.numel()

    def generator_states(self, generator: torch.Generator) -> list[torch.Tensor]:
        """Every rank's generator state, in rank order (a collective: all ranks call it)."""
        state = generator.get_state()
        if not self.distributed:
            return [state]
        states: list[Any] = [None] * self.world_size
        dist.all_gather_object(states, state)
        return states


def _buckets(tensors: Sequence[torch.Tensor], size: int) -> list[list[torch.Tensor]]:
    """Consecutive groups of same-dtype, same-device tensors of at most ``size`` elements (or one larger tensor)."""
    out: list[list[torch.Tensor]] = []
    current: list[torch.Tensor] = []
    count = 0
    for t in tensors:
        if current and (count + t.numel() > size or t.dtype != current[0].dtype or t.device != current[0].device):
            out.append(current)
            current, count = [], 0
        current.append(t)
        count += t.numel()
    if current:
        out.append(current)
    return out
