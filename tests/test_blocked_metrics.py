"""The N x N metrics computed in blocks of rows equal the whole-matrix computation (to 1e-12).

The references below are the whole-matrix formulas the blocked code replaced; the
blocked code runs with blocks of a few rows (many blocks, a ragged last one) and with
one block holding everything.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from curriclip.metrics.alignment import clip_score_gap_pairs, row_blocks, uniformity
from curriclip.metrics.retrieval import retrieval_hits

N, D = 203, 12
SMALL_BLOCKS = 7 * N  # 7 rows per block: 29 whole blocks (203 = 29 x 7)
RAGGED_BLOCKS = 8 * N  # 8 rows per block: the last block has 3


def _embeddings(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    image = torch.randn(N, D, generator=generator)
    text = image + 0.8 * torch.randn(N, D, generator=generator)  # partly aligned: hits at every K
    text[10] = text[11]  # identical reports: tied similarities and extra positives
    groups = torch.randint(0, 60, (N,), generator=generator)
    groups[10] = groups[11]
    positives = groups[:, None] == groups[None, :]
    return image, text, positives


def _gap_whole(image, text, positives, w=2.5):
    image, text = F.normalize(image.double(), dim=-1), F.normalize(text.double(), dim=-1)
    scores = w * (image @ text.T).clamp(min=0)
    mismatched = ~torch.eye(len(image), dtype=torch.bool) & ~positives
    masked = scores * mismatched
    row = masked.sum(1) / mismatched.sum(1).clamp(min=1)
    col = masked.sum(0) / mismatched.sum(0).clamp(min=1)
    return scores.diagonal() - (row + col) / 2


def _ranks_whole(sim, positives):
    best = sim.masked_fill(~positives, float("-inf")).max(dim=1, keepdim=True).values
    return ((sim >= best) & ~positives).sum(dim=1)


def _hits_whole(image, text, positives, ks=(1, 5, 10)):
    sim = F.normalize(image.double(), dim=-1) @ F.normalize(text.double(), dim=-1).T
    positives = positives | torch.eye(len(image), dtype=torch.bool)
    ranks = {"i2t": _ranks_whole(sim, positives), "t2i": _ranks_whole(sim.T, positives.T)}
    return {f"{d}_r{k}": ranks[d] < k for d in ("i2t", "t2i") for k in ks}


def test_row_blocks_cover_every_row_once_within_the_bound():
    blocks = list(row_blocks(N, N, RAGGED_BLOCKS))
    assert [b.stop - b.start for b in blocks] == [8] * 25 + [3]
    assert torch.cat([torch.arange(b.start, b.stop) for b in blocks]).tolist() == list(range(N))
    assert [b.stop - b.start for b in row_blocks(5, 5000, 10)] == [1] * 5  # never an empty block


@pytest.mark.parametrize("block_elements", [SMALL_BLOCKS, RAGGED_BLOCKS, N * N])
def test_blocked_clip_score_gap_equals_the_whole_matrix(block_elements):
    image, text, positives = _embeddings()
    expected = _gap_whole(image, text, positives)
    for given in (positives, None):
        reference = expected if given is not None else _gap_whole(image, text, torch.zeros_like(positives))
        blocked = clip_score_gap_pairs(image, text, positives=given, block_elements=block_elements)
        assert torch.allclose(blocked, reference, rtol=0, atol=1e-12)


@pytest.mark.parametrize("block_elements", [SMALL_BLOCKS, RAGGED_BLOCKS, N * N])
def test_blocked_retrieval_equals_the_whole_matrix(block_elements):
    image, text, positives = _embeddings(1)
    expected = _hits_whole(image, text, positives)
    blocked = retrieval_hits(image, text, positives=positives, block_elements=block_elements)
    assert blocked.keys() == expected.keys()
    for name in expected:
        assert torch.equal(blocked[name], expected[name]), name
    assert 0 < int(expected["i2t_r1"].sum()) < N  # neither trivial nor empty: the comparison can fail


def test_blocked_retrieval_of_a_collapsed_model_scores_zero():
    """All embeddings equal: every wrong item ties with the partner, so no query is a hit, in any block."""
    same = torch.ones(N, D)
    hits = retrieval_hits(same, same, block_elements=SMALL_BLOCKS)
    assert all(int(h.sum()) == 0 for name, h in hits.items() if name.endswith("_r1"))


@pytest.mark.parametrize("block_elements", [SMALL_BLOCKS, RAGGED_BLOCKS, N * N])
def test_blocked_uniformity_equals_pdist(block_elements):
    image, _, _ = _embeddings(2)
    x = F.normalize(image.double(), dim=-1)
    expected = float(torch.pdist(x).pow(2).mul(-2.0).exp().mean().log())
    assert uniformity(image, block_elements=block_elements) == pytest.approx(expected, abs=1e-12, rel=0)
