import math

import pytest
import torch

from curriclip.metrics import clip_score, mean_cosine


def test_clip_score_on_hand_made_vectors():
    image = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    text = torch.tensor([[1.0, 0.0], [0.0, -1.0], [1.0, 0.0]])
    # cosines: 1, -1 (clamped to 0), 1/sqrt(2)
    expected = 2.5 * (1 + 0 + 1 / math.sqrt(2)) / 3
    assert clip_score(image, text) == pytest.approx(expected)
    assert clip_score(image, text, w=1.0) == pytest.approx(expected / 2.5)
    assert mean_cosine(image, text) == pytest.approx((1 - 1 + 1 / math.sqrt(2)) / 3)


def test_clip_score_is_scale_invariant_and_checks_shapes():
    image, text = torch.randn(8, 4), torch.randn(8, 4)
    assert clip_score(image * 3, text * 0.1) == pytest.approx(clip_score(image, text))
    with pytest.raises(ValueError, match="differ in shape"):
        clip_score(torch.randn(3, 4), torch.randn(2, 4))
