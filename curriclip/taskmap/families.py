"""Task families: how a set of images becomes (input, target) pairs of one task.

A task *family* (rotation, denoising, segmentation, ...) carries a category label
(semantic, generative, transformation, failure) and, when parametrised, a strength
range (rotation angle, noise sigma, brightness shift, ...). A task *instance* is a
family at one strength on a set of images. Images are float (n, H, W) in [0, 1];
masks (n, K, H, W) in {0, 1}. Every op draws its randomness from the generator it is
given, so an instance is reproducible from its seed.

Directions follow the usual task definitions: generative families restore a clean
image from a degraded one (denoising, deblurring, super-resolution, inpainting, and an
intensity remapping that stands in for colorization on grayscale data); transformation
families map an image to a transformed one; semantic families map an image to a mask.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

SEMANTIC, GENERATIVE, TRANSFORMATION, FAILURE = "semantic", "generative", "transformation", "failure"
CATEGORIES = (SEMANTIC, GENERATIVE, TRANSFORMATION, FAILURE)

#: (images, masks, strength, generator) -> (inputs, targets), all (n, H, W) float in [0, 1]
PairMaker = Callable[[torch.Tensor, torch.Tensor | None, float, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class Family:
    """One task family: a category, an optional strength range and the function that makes its pairs."""

    name: str
    category: str
    make: PairMaker
    strength: tuple[float, float] = (0.0, 0.0)
    needs_masks: bool = False
    description: str = ""

    def pairs(
        self, images: torch.Tensor, masks: torch.Tensor | None, strength: float, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        inputs, targets = self.make(images, masks, strength, generator)
        return inputs.clamp(0, 1), targets.clamp(0, 1)


# --- geometric helpers -------------------------------------------------------------------------------------------


def affine(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Apply (n, 2, 3) affine matrices to (n, H, W) images (bilinear, zero padding)."""
    grid = F.affine_grid(theta, (len(images), 1, *images.shape[-2:]), align_corners=False)
    return F.grid_sample(images.unsqueeze(1), grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]


def rotate(images: torch.Tensor, degrees: float) -> torch.Tensor:
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=images.dtype).expand(len(images), 2, 3)
    return affine(images, theta)


def zoom(images: torch.Tensor, factor: float) -> torch.Tensor:
    """A centre crop of side 1/factor, resized back to full size."""
    theta = torch.tensor([[1 / factor, 0.0, 0.0], [0.0, 1 / factor, 0.0]], dtype=images.dtype).expand(len(images), 2, 3)
    return affine(images, theta)


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of standard deviation ``sigma`` pixels (reflect padding)."""
    if sigma <= 0:
        return images
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    out = F.pad(images.unsqueeze(1), (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1))
    out = F.conv2d(out, kernel.view(1, 1, -1, 1))
    return out[:, 0]


def downsample(images: torch.Tensor, factor: float) -> torch.Tensor:
    """Down-sample by ``factor`` (area) and up again (bilinear): the low-resolution input of super-resolution."""
    size = images.shape[-1]
    low = max(2, int(round(size / factor)))
    small = F.interpolate(images.unsqueeze(1), size=(low, low), mode="area")
    return F.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)[:, 0]


def patch_mask(images: torch.Tensor, ratio: float, generator: torch.Generator, patch: int = 8) -> torch.Tensor:
    """A random fraction ``ratio`` of the ``patch``-sided squares set to 0 (the masked-image task's input)."""
    n, h, w = images.shape
    gh, gw = max(1, h // patch), max(1, w // patch)
    keep = torch.rand((n, gh, gw), generator=generator) >= ratio
    pixel_keep = F.interpolate(keep.float().unsqueeze(1), size=(h, w), mode="nearest")[:, 0]
    return images * pixel_keep


# --- the families --------------------------------------------------------------------------------------------------


def _rotation(images, masks, degrees, generator):
    return images, rotate(images, degrees)


def _flip(images, masks, axis, generator):
    return images, torch.flip(images, dims=(2,) if axis < 0.5 else (1,))


def _zoom(images, masks, factor, generator):
    return images, zoom(images, factor)


def brightness_shift(images: torch.Tensor, beta: float) -> torch.Tensor:
    return images + beta


def _brightness(images, masks, beta, generator):
    return images, brightness_shift(images, beta)


def _contrast(images, masks, gain, generator):
    return images, (images - 0.5) * gain + 0.5


def _augmented_view(images, masks, strength, generator):
    """The project's image-contrastive task: an image and a random crop / flip / jitter view of it."""
    from curriclip.tasks.augment import random_view

    return images, random_view(images, generator, min_area=1.0 - strength)


def _denoising(images, masks, sigma, generator):
    return images + sigma * torch.randn(images.shape, generator=generator), images


def _deblurring(images, masks, sigma, generator):
    return blur(images, sigma), images


def _super_resolution(images, masks, factor, generator):
    return downsample(images, factor), images


def _inpainting(images, masks, ratio, generator):
    return patch_mask(images, ratio, generator), images


def _intensity_remap(images, masks, gamma, generator):
    """Stand-in for colorization on grayscale data: the target is a non-linear (gamma) remapping."""
    return images, images.clamp(min=1e-4) ** gamma


def finding_choice(masks: torch.Tensor, strength: float) -> int:
    """The finding a semantic instance is about: ``strength`` in [0, 1) indexes the findings."""
    return min(masks.shape[1] - 1, int(strength * masks.shape[1]))


def _segmentation(images, masks, strength, generator):
    return images, masks[:, finding_choice(masks, strength)].float()


def boxes(masks: torch.Tensor) -> torch.Tensor:
    """Filled bounding boxes of (n, H, W) binary masks (empty stays empty): the detection target."""
    out = torch.zeros_like(masks, dtype=torch.float32)
    for i, mask in enumerate(masks):
        rows, cols = torch.nonzero(mask > 0, as_tuple=True)
        if len(rows):
            out[i, rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = 1.0
    return out


def _detection(images, masks, strength, generator):
    return images, boxes(masks[:, finding_choice(masks, strength)])


def label_stripes(masks: torch.Tensor, size: int) -> torch.Tensor:
    """The findings-classification target as an image: vertical stripe k is white when finding k is present."""
    present = masks.flatten(2).amax(dim=2).float()  # (n, K)
    k = present.shape[1]
    columns = torch.arange(size) * k // size
    return present[:, columns].unsqueeze(1).expand(-1, size, -1).clone()


def _findings(images, masks, strength, generator):
    return images, label_stripes(masks, images.shape[-1])


ROTATION = Family("rotation", TRANSFORMATION, _rotation, (20.0, 340.0), description="rotate by theta degrees")
FLIP = Family("flip", TRANSFORMATION, _flip, (0.0, 1.0), description="horizontal (<0.5) or vertical flip")
ZOOM = Family("zoom", TRANSFORMATION, _zoom, (1.2, 2.0), description="centre crop resized up by a factor")
BRIGHTNESS = Family("brightness", TRANSFORMATION, _brightness, (-0.4, 0.4), description="add beta to every pixel")
CONTRAST = Family("contrast", TRANSFORMATION, _contrast, (0.3, 2.0), description="scale contrast about mid-grey")
AUGMENTED_VIEW = Family(
    "augmented_view", TRANSFORMATION, _augmented_view, (0.2, 0.6), description="curriclip image_contrastive"
)
DENOISING = Family("denoising", GENERATIVE, _denoising, (0.05, 0.4), description="remove Gaussian noise of sigma")
DEBLURRING = Family("deblurring", GENERATIVE, _deblurring, (0.8, 3.0), description="undo a Gaussian blur of sigma px")
SUPER_RESOLUTION = Family(
    "super_resolution", GENERATIVE, _super_resolution, (2.0, 6.0), description="undo down-sampling"
)
INPAINTING = Family(
    "inpainting", GENERATIVE, _inpainting, (0.2, 0.6), description="fill blanked patches (masked_image)"
)
INTENSITY_REMAP = Family(
    "intensity_remap", GENERATIVE, _intensity_remap, (0.4, 2.5), description="gamma remap (colorization)"
)
SEGMENTATION = Family("segmentation", SEMANTIC, _segmentation, (0.0, 0.999), True, "mask of one finding")
DETECTION = Family("detection", SEMANTIC, _detection, (0.0, 0.999), True, "bounding box of one finding")
FINDINGS = Family("findings", SEMANTIC, _findings, (0.0, 0.0), True, "which findings are present, as stripes")
