"""InfoNCE over task instances: two disjoint pair sets of one instance are positives, every other set a negative.

The symmetric NT-Xent form (SimCLR): 2B embeddings, each anchor's positive is the other
half of its own instance and the 2B - 2 sets of other instances are its negatives.
Failure tasks enter as instances of their own, built from the same images and
strengths as real tasks, so they are the hard negatives TaCo adds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def task_infonce(half_a: torch.Tensor, half_b: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Mean InfoNCE loss of (B, d) unit embeddings of halves A and B (row i of each: instance i)."""
    b = len(half_a)
    z = torch.cat([half_a, half_b], dim=0)
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * b, dtype=torch.bool, device=z.device), float("-inf"))
    positives = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
    return F.cross_entropy(logits, positives)


def positive_rank(half_a: torch.Tensor, half_b: torch.Tensor) -> torch.Tensor:
    """For each anchor in A, the rank (0 = best) of its own B half among all B halves, by cosine similarity."""
    similarity = half_a @ half_b.T
    own = similarity.diagonal().unsqueeze(1)
    return (similarity > own).sum(dim=1)
