"""Bootstrap confidence intervals over held-out pairs, shared by evaluation and reports.

Percentile bootstrap of a mean of per-pair values (per-pair CLIP scores, per-query
Recall@1 hits, per-pair CLIP-score gaps). The resample indices depend only on the
number of pairs, the number of resamples and the seed, so with the default seed every
trial of a search (same test split) is resampled with the same indices: the intervals
of two arms are paired, and ``paired_bootstrap_ci`` gives the interval of their
difference directly. Resampling is vectorised in chunks of resamples.
"""

from __future__ import annotations

import torch

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
BOOTSTRAP_LEVEL = 0.95
_CHUNK_ELEMENTS = 4_000_000


def bootstrap_means(
    values: torch.Tensor, n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> torch.Tensor:
    """(n_resamples,) means of ``values`` (N,) resampled with replacement (float64)."""
    v = torch.as_tensor(values).double().reshape(-1)
    n = v.numel()
    if n == 0:
        raise ValueError("cannot bootstrap zero values")
    generator = torch.Generator().manual_seed(seed)
    chunk = max(1, _CHUNK_ELEMENTS // n)
    out = []
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        index = torch.randint(n, (size, n), generator=generator)
        out.append(v[index].mean(dim=1))
    return torch.cat(out)


def bootstrap_ci(
    values: torch.Tensor,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval ``(low, high)`` of the mean of per-pair ``values``."""
    if not 0 < level < 1:
        raise ValueError(f"confidence level {level} is not in (0, 1)")
    means = bootstrap_means(values, n_resamples, seed)
    alpha = (1 - level) / 2
    low, high = torch.quantile(means, torch.tensor([alpha, 1 - alpha], dtype=torch.float64))
    return float(low), float(high)


def paired_bootstrap_ci(
    values_a: torch.Tensor,
    values_b: torch.Tensor,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Interval of ``mean(a) - mean(b)`` for per-pair values of two models on the same test pairs."""
    a, b = torch.as_tensor(values_a).double(), torch.as_tensor(values_b).double()
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    return bootstrap_ci(a - b, n_resamples, level, seed)
