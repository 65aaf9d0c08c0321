"""Loading: images from a shared memory map, subsets as row indices, same pixels as the Parquet source."""

from __future__ import annotations

import numpy as np
import torch

from curriclip.data.image_cache import cache_path, resize_images
from curriclip.data.loader import ImageStore, load_split


def test_mapped_images_equal_decoded_and_are_shared(tiny_dataset):
    raw = load_split(str(tiny_dataset), "train")  # decoded from Parquet, native size
    mapped = load_split(str(tiny_dataset), "train", image_size=32)
    assert isinstance(mapped.images, ImageStore) and isinstance(mapped.images.base, np.memmap)
    assert torch.equal(mapped.images[np.arange(len(mapped))], resize_images(raw.images, 32))
    again = load_split(str(tiny_dataset), "train", image_size=32)
    assert again.images.base.filename == mapped.images.base.filename  # one file for every trial on the node
    assert cache_path(tiny_dataset, "train", 32).stat().st_size == len(raw) * 32 * 32


def test_subsets_index_the_map_without_copying(tiny_dataset):
    split = load_split(str(tiny_dataset), "train", image_size=32)
    sub = split.take(np.array([5, 2, 9]))
    assert sub.images.base is split.images.base
    assert sub.images.shape == (3, 32, 32)
    assert torch.equal(sub.images[torch.tensor([1])], split.images[np.array([2])])
    assert torch.equal(sub.images[0:2], split.images[np.array([5, 2])])
    assert list(sub.sample_ids) == [split.sample_ids[i] for i in (5, 2, 9)]
