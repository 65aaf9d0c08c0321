"""The task map as TaCo's field would check it: multi-contrast data, no test split, halves that share no pixels."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from curriclip.taskmap import FAILURE_FAMILIES, FAMILIES
from curriclip.taskmap.mapping import evaluation_families, resolve_families
from curriclip.taskmap.sampling import TaskData, materialise, sample_instances, single_channel
from curriclip.taskmap.train import PRESETS
from curriclip.taskmap.trajectories import SWEEPS, sweep_points


@pytest.fixture(scope="module")
def synth_brats_200(tmp_path_factory):
    """50 simulated cases x 4 slices = 200 multi-contrast images, with a test split."""
    from curriclip.data.brats.synth import generate_synth_brats

    return generate_synth_brats(tmp_path_factory.mktemp("brats") / "d", n_cases=50, image_size=32, raters=0)


def test_map_of_multi_contrast_data_renders_and_never_reads_test(synth_brats_200, tmp_path, monkeypatch):
    import curriclip.data.image_cache as image_cache
    import curriclip.data.loader as loader
    import curriclip.data.store as store
    from curriclip.cli import app
    from curriclip.data.store import read_split

    assert len(read_split(synth_brats_200, "test", columns=["split"])[0]) > 0
    total = sum(len(read_split(synth_brats_200, s, columns=["split"])[0]) for s in ("train", "validate", "test"))
    assert total == 200
    monkeypatch.setenv("CURRICLIP_THREADS", "1")
    monkeypatch.setenv("CURRICLIP_CACHE", str(tmp_path / "cache"))
    splits: list[str] = []

    def spy(module, name):
        real = getattr(module, name)

        def wrapper(path, split, *args, **kwargs):
            splits.append(split)
            return real(path, split, *args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    spy(store, "read_split")
    spy(loader, "read_split")
    spy(image_cache, "mapped_images")
    spy(loader, "load_split")
    out = tmp_path / "run"
    args = ["taskmap", "map", str(synth_brats_200), "--out", str(out), "--preset", "smoke", "--steps", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "test" not in splits and {"train", "validate"} <= set(splits)
    map_dir = out / "taskmap"
    assert (map_dir / "taskmap.html").stat().st_size > 100_000 and not (out / ".taskmap.partial").exists()
    metrics = json.loads((map_dir / "metrics.json").read_text())
    assert metrics["evaluation_split"] == "validate"
    assert set(FAILURE_FAMILIES) <= set(metrics["evaluation_families"])
    assert metrics["held_out_families"] == list(PRESETS["smoke"].held_out)  # synth-brats has masks: all three
    assert not set(metrics["held_out_families"]) & set(_trained_families(map_dir))
    for model in ("taco", "clip"):
        assert 0 <= metrics[model]["knn_seen"] <= 1 and 0 <= metrics[model]["knn_left_out"] <= 1
    assert metrics["clip_baseline"].startswith("untrained")
    assert "CLIP baseline: untrained" in (map_dir / "taskmap.html").read_text()


def _trained_families(map_dir) -> list[str]:
    return json.loads((map_dir / "settings.json").read_text())["families"] or []


def test_contrasts_become_single_channel_images_of_one_source():
    images = torch.rand(5, 4, 8, 8)
    masks = (torch.rand(5, 3, 8, 8) > 0.5).to(torch.uint8)
    flat, repeated, groups = single_channel(images, masks)
    assert flat.shape == (20, 8, 8) and repeated.shape == (20, 3, 8, 8)
    assert torch.equal(flat[6], images[1, 2]) and torch.equal(repeated[6], masks[1])
    assert groups.tolist() == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4
    data = TaskData(flat, repeated, "toy", groups)
    for instance in sample_instances([FAMILIES.get("rotation")], data, 20, set_size=2, seed=0):
        sources = groups[list(instance.rows_a + instance.rows_b)]
        assert len(set(sources.tolist())) == 4  # two halves of two images each: four different slices
    for point in sweep_points(data, 3, 2, 2, seed=1):
        assert len(set(groups[list(point.instance.rows_a + point.instance.rows_b)].tolist())) == 4


def _constructed(n: int = 24) -> tuple[TaskData, np.ndarray]:
    """Image r is the constant v_r; its finding masks have r + 1 pixels: every target names its source."""
    values = 0.05 + 0.008 * np.arange(n)
    images = torch.tensor(values, dtype=torch.float32)[:, None, None].expand(n, 16, 16).clone()
    masks = torch.zeros((n, 3, 16, 16), dtype=torch.uint8)
    for r in range(n):
        masks[r, :].view(3, -1)[:, : r + 1] = 1
    return TaskData(images, masks, "constructed"), values


def _source(family: str, target: torch.Tensor, values: np.ndarray) -> int:
    if family == "wrong_mask":
        return int(target.sum()) - 1
    level = float(target.median())  # rotation / denoising keep the value, brightness adds 0.3
    return int(np.argmin(np.minimum(np.abs(values - level), np.abs(values + 0.3 - level))))


@pytest.mark.parametrize("family", ["shuffled_targets", "wrong_mask"])
def test_failure_task_halves_share_no_image_content(family):
    data, values = _constructed()
    # strengths spread over [0, 1): shuffled_targets goes through all three of its base transformations
    instances = sample_instances([FAMILIES.get(family)], data, 30, set_size=4, seed=3)
    for instance in instances:
        pairs = materialise(instance, data)
        for half, rows in enumerate((instance.rows_a, instance.rows_b)):
            other = instance.rows_b if half == 0 else instance.rows_a
            sources = {_source(family, target, values) for target in pairs[half, :, 1]}
            assert sources <= set(rows) and not sources & set(other)
            # still a failure task: no target is its own input's
            own = [_source(family, t, values) for t in pairs[half, :, 1]]
            assert all(source != row for source, row in zip(own, rows))


def test_evaluation_set_is_the_same_with_and_without_failure_tasks():
    smoke = PRESETS["smoke"]
    with_failures = resolve_families(smoke, True)
    without = resolve_families(dataclasses.replace(smoke, failure_tasks=False), True)
    assert evaluation_families(*with_failures) == evaluation_families(*without)
    assert set(FAILURE_FAMILIES) <= set(evaluation_families(*without))


def test_sweeps_start_at_a_small_strength_not_the_identity():
    data, _ = _constructed()
    points = sweep_points(data, 4, 1, 2, seed=0)
    for sweep, (_, smallest, largest) in SWEEPS.items():
        strengths = [p.instance.strength for p in points if p.sweep == sweep]
        assert strengths[0] == pytest.approx(smallest) and smallest > 0 and strengths[-1] == pytest.approx(largest)


def test_clip_baseline_is_labelled_and_loads_pretrained_weights_from_a_local_file(tmp_path):
    import open_clip

    from curriclip.errors import DataError
    from curriclip.models.factory import build_clip  # noqa: F401  (registers the project's open_clip configs)
    from curriclip.taskmap.baseline import ClipBaseline

    assert ClipBaseline("tiny").label == "untrained tiny tower (random weights)"
    torch.manual_seed(123)
    model = open_clip.create_model("curriclip-tiny")
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    baseline = ClipBaseline(pretrained=("curriclip-tiny", tmp_path / "weights.pt"))
    assert baseline.label == "pretrained curriclip-tiny (weights.pt)"
    images = torch.rand(3, 32, 32)
    x = torch.nn.functional.interpolate(images.unsqueeze(1), size=(64, 64), mode="bilinear", align_corners=False)
    mean = torch.tensor(open_clip.constants.OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(open_clip.constants.OPENAI_DATASET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = torch.nn.functional.normalize(model.eval().encode_image((x.expand(-1, 3, -1, -1) - mean) / std))
    assert torch.allclose(baseline.image_embeddings(images), expected, atol=1e-5)
    assert not torch.allclose(ClipBaseline("tiny").image_embeddings(images)[:, :4], expected[:, :4], atol=1e-3)
    with pytest.raises(DataError, match="pretrained CLIP weights not found"):
        ClipBaseline(pretrained=("curriclip-tiny", tmp_path / "missing.pt"))


def test_left_out_families_are_classified_by_the_trained_ones():
    from curriclip.taskmap.metrics import knn_transfer

    reference = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    labels = ["a", "a", "b", "b"]
    queries = np.array([[0.8, 0.2], [0.2, 0.8]])
    assert knn_transfer(reference, labels, queries, ["a", "b"], k=1) == 1.0
    assert knn_transfer(reference, labels, queries, ["b", "a"], k=1) == 0.0
