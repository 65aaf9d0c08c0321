"""Multi-contrast images: C channels through the store, the loader, the cache and the model stem."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import torch

from curriclip.data.loader import load_split
from curriclip.data.schema import schema_with_labels
from curriclip.data.store import image_channels, read_manifest, write_dataset
from curriclip.models import ModelSpec, MultiTaskModel, build_clip


def _table(channels: int, n: int = 4, size: int = 8) -> tuple[pa.Table, np.ndarray]:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(n, channels, size, size), dtype=np.uint8)
    table = pa.Table.from_pydict(
        {
            "sample_id": [f"s{i}" for i in range(n)],
            "subject_id": [f"p{i}" for i in range(n)],
            "study_id": [f"s{i}" for i in range(n)],
            "split": ["train", "train", "test", "test"],
            "view": [None] * n,
            "image": [row.tobytes() for row in pixels],
            "image_height": [size] * n,
            "image_width": [size] * n,
            "findings": ["a"] * n,
            "impression": [None] * n,
            "labels": [[1]] * n,
            "masks": [None] * n,
            "difficulty": [0.5] * n,
            "source": ["t"] * n,
        },
        schema=schema_with_labels(["x"]),
    )
    return table, pixels


def test_four_channels_round_trip_and_resize(tmp_path, monkeypatch):
    monkeypatch.setenv("CURRICLIP_CACHE", str(tmp_path / "cache"))
    table, pixels = _table(4)
    out = write_dataset([table], tmp_path / "d", ["x"], "t", image_channels=4)
    assert read_manifest(out)["image_channels"] == 4 and image_channels(out) == 4
    split = load_split(str(out), "test")
    assert tuple(split.images.shape) == (2, 4, 8, 8)
    assert torch.equal(split.images, torch.from_numpy(pixels[2:]))
    resized = load_split(str(out), "test", image_size=4)
    assert tuple(resized.images.shape) == (2, 4, 4, 4)
    # a constant channel stays constant after resizing (channels are resized independently)
    assert resized.images[0:2].shape == (2, 4, 4, 4)


def test_gray_dataset_stays_three_dimensional(tmp_path):
    table, pixels = _table(1)
    out = write_dataset([table], tmp_path / "d", ["x"], "t")
    assert read_manifest(out)["image_channels"] == 1
    split = load_split(str(out), "train")
    assert tuple(split.images.shape) == (2, 8, 8)
    assert torch.equal(split.images, torch.from_numpy(pixels[:2, 0]))


def test_stem_takes_four_channels_and_replicate_averages():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (2, 4, 64, 64), dtype=torch.uint8)
    stem_clip, _, _ = build_clip(ModelSpec("tiny", image_channels="stem", channels=4))
    stem = MultiTaskModel(stem_clip, {})
    assert stem.channels == 4 and stem.stem
    assert stem.encode_image(images).shape[0] == 2
    # the 4-channel stem (weights RGB-sum / 4) on a replicated gray image equals the RGB tower on it
    torch.manual_seed(1)
    rgb_clip, _, _ = build_clip(ModelSpec("tiny"))
    torch.manual_seed(1)
    stem_clip, _, _ = build_clip(ModelSpec("tiny", image_channels="stem", channels=4))
    gray = torch.randint(0, 256, (2, 64, 64), dtype=torch.uint8)
    replicated = gray[:, None].expand(-1, 4, -1, -1)
    rgb, four = MultiTaskModel(rgb_clip, {}).eval(), MultiTaskModel(stem_clip, {}).eval()
    assert torch.allclose(rgb.encode_image(gray), four.encode_image(replicated), atol=1e-4)
    # replicate: a 4-channel image is averaged to gray, then replicated to RGB
    prepared = MultiTaskModel.prepare_images(images, channels=3)
    expected = MultiTaskModel.scale(images).mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    assert torch.allclose(prepared, expected)
