"""Task map (TaCo): instance sampling, the loss, the metrics against scikit-learn, and the CLI's bad input."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch
from sklearn.metrics import silhouette_score
from typer.testing import CliRunner

from curriclip.taskmap import FAMILIES, TASK_FAMILIES
from curriclip.taskmap.loss import positive_rank, task_infonce
from curriclip.taskmap.metrics import clustering, peak_sharpness, trajectory_smoothness, unit
from curriclip.taskmap.sampling import TaskData, materialise, sample_instances


@pytest.fixture
def toy_data() -> TaskData:
    generator = torch.Generator().manual_seed(0)
    images = torch.rand((30, 16, 16), generator=generator)
    masks = (torch.rand((30, 3, 16, 16), generator=generator) > 0.7).to(torch.uint8)
    return TaskData(images, masks, "toy")


def test_sampling_is_deterministic_and_splits_pairs_disjointly(toy_data):
    families = [FAMILIES.get(name) for name in TASK_FAMILIES]
    first = sample_instances(families, toy_data, 28, set_size=4, seed=7)
    again = sample_instances(families, toy_data, 28, set_size=4, seed=7)
    other = sample_instances(families, toy_data, 28, set_size=4, seed=8)
    assert first == again
    assert first != other
    assert [i.family for i in first] == [f.name for f in families] * 2  # balanced, in order
    for instance in first:
        assert len(instance.rows_a) == len(instance.rows_b) == 4
        assert not set(instance.rows_a) & set(instance.rows_b)
        low, high = FAMILIES.get(instance.family).strength
        assert low <= instance.strength <= high
        pairs = materialise(instance, toy_data)
        assert pairs.shape == (2, 4, 2, 16, 16)
        assert torch.equal(pairs, materialise(instance, toy_data))
        # every pair's input channel is the input image of its own row (or a degraded copy of it)
    rotation = next(i for i in first if i.family == "rotation")
    pairs = materialise(rotation, toy_data)
    assert torch.equal(pairs[0, :, 0], toy_data.images[list(rotation.rows_a)])
    assert torch.equal(pairs[1, :, 0], toy_data.images[list(rotation.rows_b)])


def test_loss_matches_hand_computed_infonce():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[0.6, 0.8], [0.8, 0.6]])
    tau = 0.5
    z = torch.cat([a, b])
    expected = []
    for i in range(4):
        positive = (i + 2) % 4
        logits = [float(z[i] @ z[j]) / tau for j in range(4) if j != i]
        pos = float(z[i] @ z[positive]) / tau
        expected.append(-(pos - np.log(np.sum(np.exp(logits)))))
    assert float(task_infonce(a, b, tau)) == pytest.approx(np.mean(expected), abs=1e-6)


def test_loss_ranks_a_same_task_positive_above_other_tasks():
    """Training a projection with the loss on a toy batch puts each instance's other half first."""
    torch.manual_seed(0)
    tasks, width = 8, 16
    centres = torch.randn(tasks, width)
    half_a = centres + 0.9 * torch.randn(tasks, width)  # two noisy views of each task
    half_b = centres + 0.9 * torch.randn(tasks, width)
    projection = torch.nn.Linear(width, 8)
    optimizer = torch.optim.Adam(projection.parameters(), lr=0.05)

    def embed(x):
        return torch.nn.functional.normalize(projection(x), dim=-1)

    with torch.no_grad():
        before = float(task_infonce(embed(half_a), embed(half_b)))
    for _ in range(150):
        loss = task_infonce(embed(half_a), embed(half_b))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        ranks = positive_rank(embed(half_a), embed(half_b))
        after = float(task_infonce(embed(half_a), embed(half_b)))
    assert after < before
    assert ranks.tolist() == [0] * tasks


def test_clustering_metrics_match_sklearn_on_hand_made_clusters():
    angles = {"semantic": 0.0, "generative": 2.1, "transformation": 4.2}
    rng = np.random.default_rng(0)
    points, labels = [], []
    for label, angle in angles.items():
        for _ in range(6):
            a = angle + rng.normal(0, 0.05)
            points.append([np.cos(a), np.sin(a)])
            labels.append(label)
    x = np.array(points)
    out = clustering(x, labels)
    assert out["nmi"] == pytest.approx(1.0)
    assert out["ari"] == pytest.approx(1.0)
    assert out["knn_accuracy"] == 1.0
    assert out["silhouette"] == pytest.approx(silhouette_score(unit(x), labels, metric="cosine"))
    # one point moved into another cluster: kNN misses exactly it
    x[0] = x[7]
    assert clustering(x, labels)["knn_accuracy"] == pytest.approx(17 / 18)


def test_peak_sharpness_and_trajectory_smoothness_by_hand():
    x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    peaks = peak_sharpness(x, ["a", "a", "b", "b"])
    assert peaks["within_mean"] == pytest.approx(1.0)
    assert peaks["between_mean"] == pytest.approx(0.0)
    assert peaks["same_task_auc"] == pytest.approx(1.0)
    line = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    assert trajectory_smoothness([0, 1, 2, 3], line) == {"spearman": pytest.approx(1.0), "straightness": 1.0}
    back_and_forth = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    smooth = trajectory_smoothness([0, 1, 2, 3], back_and_forth)
    assert smooth["spearman"] == pytest.approx(0.8)
    assert smooth["straightness"] == pytest.approx(3 / 5)


def _without_masks(dataset, out):
    """A copy of ``dataset`` whose masks column is null (a source without finding masks)."""
    from curriclip.data.store import read_manifest, read_split, write_dataset

    manifest = read_manifest(dataset)
    tables = []
    for split in ("train", "validate", "test"):
        table, names = read_split(dataset, split)
        index = table.schema.get_field_index("masks")
        tables.append(table.set_column(index, "masks", pa.nulls(table.num_rows, pa.binary())))
    return write_dataset(tables, out, manifest["label_names"], source="synthetic-no-masks")


def test_cli_bad_input_is_one_line_with_exit_code_2(tiny_dataset, tmp_path):
    from curriclip.cli import app

    runner = CliRunner()
    unknown = runner.invoke(
        app, ["taskmap", "map", str(tiny_dataset), "--out", str(tmp_path), "--families", "rotation,telepathy"]
    )
    assert unknown.exit_code == 2
    assert unknown.stderr.strip().count("\n") == 0
    assert "unknown task family 'telepathy'" in unknown.stderr

    plain = _without_masks(tiny_dataset, tmp_path / "no-masks")
    missing = runner.invoke(
        app,
        [
            "taskmap",
            "map",
            str(plain),
            "--out",
            str(tmp_path / "m"),
            "--preset",
            "smoke",
            "--families",
            "rotation,segmentation",
        ],
    )
    assert missing.exit_code == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "no finding masks" in missing.stderr and "segmentation" in missing.stderr
    assert not (tmp_path / "m" / "taskmap").exists()

    nothing = runner.invoke(app, ["taskmap", "map", str(tmp_path / "absent"), "--out", str(tmp_path)])
    assert nothing.exit_code == 2
    assert "does not exist" in nothing.stderr


def test_training_resumes_from_its_checkpoint_exactly(toy_data, tmp_path):
    """Two steps, stop, two more from the checkpoint == four steps straight (per-step seeds, saved optimizer)."""
    import dataclasses

    from curriclip.taskmap.train import CHECKPOINT, MapSettings, train_encoder

    settings = MapSettings(image_size=16, set_size=2, batch_tasks=4, steps=4, checkpoint_every=2, dim=8)
    families = [FAMILIES.get(name) for name in ("rotation", "flip", "denoising", "brightness", "identity")]
    straight, losses = train_encoder(settings, toy_data, families, tmp_path / "a")
    train_encoder(dataclasses.replace(settings, steps=2), toy_data, families, tmp_path / "b")
    assert int(torch.load(tmp_path / "b" / CHECKPOINT, weights_only=True)["step"]) == 2
    resumed, resumed_losses = train_encoder(settings, toy_data, families, tmp_path / "b")
    assert resumed_losses == pytest.approx(losses)
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(p, q), name


def test_clip_baseline_loads_a_trial_checkpoint_tower(tmp_path, toy_data):
    """The baseline embeds with a trained trial's image tower when given its state.pt (and refuses other files)."""
    from curriclip.errors import DataError
    from curriclip.models.factory import build_clip
    from curriclip.models.multitask import MultiTaskModel
    from curriclip.taskmap.baseline import ClipBaseline

    clip, _, _ = build_clip("tiny")
    with torch.no_grad():
        for parameter in clip.visual.parameters():
            parameter.add_(0.05)  # a "trained" tower: different weights from the untrained one
    (tmp_path / "trial").mkdir()
    torch.save({"model": MultiTaskModel(clip, {}).state_dict(), "epoch": 3}, tmp_path / "trial" / "state.pt")
    sets = [
        materialise(i, toy_data).flatten(0, 1) for i in sample_instances([FAMILIES.get("rotation")], toy_data, 2, 3, 0)
    ]
    untrained = ClipBaseline("tiny").embed_sets(sets)
    trained = ClipBaseline("tiny", tmp_path / "trial").embed_sets(sets)
    assert untrained.shape == trained.shape == (2, untrained.shape[1])
    assert not np.allclose(untrained, trained)
    assert np.allclose(ClipBaseline("tiny").embed_sets(sets), untrained)  # the untrained tower is seeded
    torch.save({"model": {"other.weight": torch.zeros(1)}}, tmp_path / "bad.pt")
    with pytest.raises(DataError, match="no image tower"):
        ClipBaseline("tiny", tmp_path / "bad.pt")


def test_taskmap_families_lists_every_family_with_its_category():
    from curriclip.cli import app

    result = CliRunner().invoke(app, ["taskmap", "families"])
    assert result.exit_code == 0, result.output
    rows = [line.split(None, 2) for line in result.stdout.strip().splitlines()]
    assert [row[0] for row in rows] == list(FAMILIES)
    assert all(row[1] == FAMILIES.get(row[0]).category for row in rows)
    assert all(row[2] == FAMILIES.get(row[0]).description for row in rows)
