"""The paced batch sampler: each step draws a batch from the easiest admitted fraction.

Why sampling with replacement across steps (but without replacement inside a batch):
training budgets are counted in steps so that every sparsity level gets the same
compute, and the pool grows while training runs, so epochs over a fixed pool do not
exist.
"""

from __future__ import annotations

import math

import numpy as np

from curriclip.curriculum.pacing import PacingFunction


class PacedSampler:
    def __init__(
        self,
        order: np.ndarray,
        pacing: PacingFunction,
        pacing_params: dict[str, float],
        total_steps: int,
        batch_size: int,
    ) -> None:
        self.order = np.asarray(order)
        self.pacing = pacing
        self.pacing_params = dict(pacing_params)
        self.total_steps = total_steps
        self.batch_size = batch_size

    def fraction(self, step: int) -> float:
        return self.pacing(step, self.total_steps, **self.pacing_params)

    def pool_size(self, step: int) -> int:
        n = len(self.order)
        admitted = math.ceil(self.fraction(step) * n)
        return min(n, max(admitted, min(self.batch_size, n)))

    def batch(self, step: int, rng: np.random.Generator) -> np.ndarray:
        """Sample indices (into the dataset) for ``step``."""
        pool = self.pool_size(step)
        size = min(self.batch_size, pool)
        picks = rng.choice(pool, size=size, replace=False)
        return self.order[picks]
