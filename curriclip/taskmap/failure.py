"""Failure tasks: pair sets that look like tasks but are not (TaCo's hard negatives).

``identity`` (the target is the input: a no-op), ``shuffled_targets`` (a real
transformation whose targets are permuted across the pairs, so each target belongs to
another input), ``random_targets`` (targets unrelated to any input: smoothed noise) and
``wrong_mask`` (finding masks of other images). Each shares its inputs' and targets'
image statistics with a real task but breaks the input-target relation, so an encoder
can only tell them apart by modelling that relation.
"""

from __future__ import annotations

import torch

from curriclip.taskmap.families import (
    FAILURE,
    Family,
    blur,
    brightness_shift,
    finding_choice,
    rotate,
)

#: real transformations that ``shuffled_targets`` breaks, picked by its strength
_SHUFFLE_BASES = ("rotation", "brightness", "denoise")


def derangement(n: int, generator: torch.Generator) -> torch.Tensor:
    """A permutation of range(n) with no fixed point (n >= 2): every pair gets another pair's target."""
    if n < 2:
        return torch.arange(n)
    shift = 1 + int(torch.randint(0, n - 1, (1,), generator=generator))
    order = torch.randperm(n, generator=generator)
    out = torch.empty(n, dtype=torch.long)
    out[order] = order.roll(shift)
    return out


def _identity(images, masks, strength, generator):
    return images, images.clone()


def _shuffled_targets(images, masks, strength, generator):
    base = _SHUFFLE_BASES[min(len(_SHUFFLE_BASES) - 1, int(strength * len(_SHUFFLE_BASES)))]
    if base == "rotation":
        targets = rotate(images, 90.0)
    elif base == "brightness":
        targets = brightness_shift(images, 0.3)
    else:
        targets = images
        images = images + 0.2 * torch.randn(images.shape, generator=generator)
    return images, targets[derangement(len(images), generator)]


def _random_targets(images, masks, strength, generator):
    noise = torch.rand(images.shape, generator=generator)
    return images, blur(noise, 0.5 + 3.0 * strength)


def _wrong_mask(images, masks, strength, generator):
    chosen = masks[:, finding_choice(masks, strength)].float()
    return images, chosen[derangement(len(images), generator)]


IDENTITY = Family("identity", FAILURE, _identity, description="no-op: the target is the input")
SHUFFLED_TARGETS = Family("shuffled_targets", FAILURE, _shuffled_targets, (0.0, 0.999), description="targets permuted")
RANDOM_TARGETS = Family("random_targets", FAILURE, _random_targets, (0.0, 1.0), description="smoothed-noise targets")
WRONG_MASK = Family("wrong_mask", FAILURE, _wrong_mask, (0.0, 0.999), True, "finding masks of other images")
