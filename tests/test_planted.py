"""Planted-effect variants: noisy hard pairs, sparsity_mode reports, their presets.

The noisy variant must plant what it says (the fraction, among the hardest, train only)
without leaking which pairs are noisy through the difficulty a scorer reads; the null
variant must stay the benchmark. ``sparsity_mode: reports`` must give ITC exactly the
pairs-mode pairs while image-only and label tasks see every training image.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow.compute as pc
import pytest
import torch
from conftest import TINY_N, TINY_PX, tiny_trial

from curriclip.config import TrialConfig, parse_experiment
from curriclip.curriculum import pacing
from curriclip.data.sources import resolve, synthetic_dir_name
from curriclip.data.store import read_split
from curriclip.data.synthetic import generate_table
from curriclip.data.synthetic.variants import POOL_FACTOR, noise_plan
from curriclip.errors import ConfigError
from curriclip.names import SparsityMode
from curriclip.presets import CALIBRATED, preset_experiment
from curriclip.reports.results import what_the_curriculum_tests
from curriclip.tasks.base import Batch, StepContext, get, report_rows
from curriclip.trainables.data import load_trial_data

NOISE = 0.25


def _tokenize(texts: list[str]) -> torch.Tensor:
    """A stand-in tokenizer: each text's length and first character code."""
    return torch.tensor([[len(t), ord(t[0]) if t else 0] for t in texts], dtype=torch.long)


@pytest.fixture(scope="module")
def noisy_dataset(cache_dir):
    return resolve("synthetic", n=TINY_N, image_size=TINY_PX, seed=0, variant="noisy_hard_pairs", noise_fraction=NOISE)


def _split(dataset, split: str):
    table, _ = read_split(str(dataset), split, columns=["sample_id", "findings", "impression", "labels", "difficulty"])
    return table


def test_noisy_variant_plants_the_fraction_among_the_hardest_training_pairs(tiny_dataset, noisy_dataset):
    manifest = json.loads((noisy_dataset / "manifest.json").read_text())
    entry = manifest["variant"]
    assert manifest["generator"]["variant"] == "noisy_hard_pairs" and manifest["generator"]["noise_fraction"] == NOISE
    clean, noisy = _split(tiny_dataset, "train"), _split(noisy_dataset, "train")
    changed = [
        sample
        for sample, a, b in zip(
            clean["sample_id"].to_pylist(), clean["findings"].to_pylist(), noisy["findings"].to_pylist()
        )
        if a != b
    ]
    expected = round(NOISE * clean.num_rows)
    assert entry["noisy_pairs"] == expected == len(entry["noisy_sample_ids"])
    assert set(changed) <= set(entry["noisy_sample_ids"]) and len(changed) >= expected - 2  # twin reports are rare
    # every noisy pair lies in the hardest POOL_FACTOR x fraction of the training pairs
    difficulty = dict(zip(clean["sample_id"].to_pylist(), clean["difficulty"].to_numpy()))
    cut = np.sort(clean["difficulty"].to_numpy())[::-1][int(round(POOL_FACTOR * expected)) - 1]
    assert all(difficulty[sample] >= cut for sample in entry["noisy_sample_ids"])
    assert np.median([difficulty[s] for s in entry["noisy_sample_ids"]]) > np.quantile(list(difficulty.values()), 0.6)
    # a noisy pair carries its donor's report; nobody keeps their own
    by_id = dict(zip(clean["sample_id"].to_pylist(), clean["findings"].to_pylist()))
    noisy_by_id = dict(zip(noisy["sample_id"].to_pylist(), noisy["findings"].to_pylist()))
    for sample, donor in zip(entry["noisy_sample_ids"], entry["donor_sample_ids"]):
        assert donor != sample and noisy_by_id[sample] == by_id[donor]
    # what a scorer reads is the image's: difficulty and labels unchanged
    assert noisy["difficulty"].equals(clean["difficulty"]) and noisy["labels"].equals(clean["labels"])


def test_noisy_variant_leaves_validate_and_test_clean(tiny_dataset, noisy_dataset):
    for split in ("validate", "test"):
        clean, noisy = _split(tiny_dataset, split), _split(noisy_dataset, split)
        assert clean.num_rows > 0 and noisy.equals(clean), split


def test_variants_get_their_own_cache_directory_and_the_null_keeps_its_name(tiny_dataset, noisy_dataset):
    assert tiny_dataset.name == f"synthetic-s1g2-n{TINY_N}-px{TINY_PX}-seed0" == synthetic_dir_name(TINY_N, TINY_PX, 0)
    assert noisy_dataset != tiny_dataset and noisy_dataset.parent == tiny_dataset.parent
    other = synthetic_dir_name(TINY_N, TINY_PX, 0, "noisy_hard_pairs", 0.4)
    assert other not in (noisy_dataset.name, tiny_dataset.name)
    assert "variant" not in json.loads((tiny_dataset / "manifest.json").read_text())


def test_noise_plan_is_deterministic_and_a_derangement():
    first, again = noise_plan(1000, 3, 0.3), noise_plan(1000, 3, 0.3)
    assert np.array_equal(first.rows, again.rows) and np.array_equal(first.donors, again.donors)
    assert not np.any(first.rows == first.donors) and sorted(first.donors) == sorted(first.rows)
    table = generate_table(1000, image_size=16, seed=3)
    train = np.flatnonzero(pc.equal(table["split"], "train").to_numpy(zero_copy_only=False))
    assert len(first.rows) == round(0.3 * len(train)) and set(first.rows) <= set(train)


def test_data_block_validates_variant_options():
    from curriclip.config.sections import DataConfig

    assert DataConfig(variant="noisy_hard_pairs", noise_fraction=0.3).source_options()["variant"] == "noisy_hard_pairs"
    with pytest.raises(ValueError, match="needs noise_fraction > 0"):
        DataConfig(variant="noisy_hard_pairs")
    with pytest.raises(ValueError, match="set data.variant"):
        DataConfig(noise_fraction=0.3)
    with pytest.raises(ValueError, match="variant"):
        DataConfig(variant="label_noise")
    with pytest.raises(ValueError, match="set data.variant"):
        DataConfig(noise_band=0.3)
    with pytest.raises(ValueError, match="must hold the noise"):
        DataConfig(variant="noisy_hard_pairs", noise_fraction=0.3, noise_band=0.2)


def test_a_noise_band_as_wide_as_the_noise_makes_exactly_the_hardest_pairs_noisy():
    table = generate_table(1000, image_size=16, seed=3)
    train = np.flatnonzero(pc.equal(table["split"], "train").to_numpy(zero_copy_only=False))
    hardness = table["difficulty"].to_numpy()[train]
    hardest = set(train[np.argsort(-hardness, kind="stable")][: round(0.3 * len(train))].tolist())
    full = noise_plan(1000, 3, 0.3, noise_band=0.3)
    assert set(full.rows.tolist()) == hardest  # the whole band, and nothing easier
    assert not np.any(full.rows == full.donors) and sorted(full.donors) == sorted(full.rows)
    wide = noise_plan(1000, 3, 0.3, noise_band=0.9)  # a third of the band noisy, some of it among the easier pairs
    assert len(wide.rows) == len(full.rows) and set(wide.rows.tolist()) != hardest
    default = noise_plan(1000, 3, 0.3)  # no band: twice the noise, as before the option existed
    twice = set(train[np.argsort(-hardness, kind="stable")][: 2 * len(full.rows)].tolist())
    assert set(default.rows.tolist()) <= twice and set(default.rows.tolist()) != hardest
    name = synthetic_dir_name(100, 32, 0, "noisy_hard_pairs", 0.3)
    assert name.endswith("-noisy_hard_pairs-f0.3")  # the name it always had
    assert synthetic_dir_name(100, 32, 0, "noisy_hard_pairs", 0.3, 0.3) == f"{name}-b0.3"


# --- sparsity_mode: reports ------------------------------------------------------------------------


def _reports_cfg(dataset, **overrides) -> TrialConfig:
    return TrialConfig.model_validate(tiny_trial(dataset, **{"sparsity": 0.3, "sparsity_mode": "reports", **overrides}))


def test_reports_mode_single_task_is_the_pairs_mode_trial(tiny_dataset):
    fields = {"arm": "single_task", "tasks": ["itc"], "pacing": "none", "pacing_params": {}}
    reports = load_trial_data(_reports_cfg(tiny_dataset, **fields), TINY_PX, _tokenize)
    pairs = load_trial_data(
        TrialConfig.model_validate(tiny_trial(tiny_dataset, sparsity=0.3, **fields)), TINY_PX, _tokenize
    )
    assert reports.unpaired_rows is None and list(reports.train.sample_ids) == list(pairs.train.sample_ids)
    index = torch.tensor([0, 4, 2])
    batch, reference = reports.batch(index, lambda t: t), pairs.batch(index, lambda t: t)
    assert vars(batch).keys() == vars(reference).keys() and report_rows(batch) is None
    assert torch.equal(batch.images, reference.images) and torch.equal(batch.tokens, reference.tokens)


def test_reports_mode_itc_sees_the_kept_pairs_and_the_other_tasks_every_image(tiny_dataset):
    cfg = _reports_cfg(tiny_dataset, tasks=["itc", "findings", "rotation"])
    data = load_trial_data(cfg, TINY_PX, _tokenize)
    pairs = load_trial_data(_reports_cfg(tiny_dataset, sparsity_mode="pairs", tasks=cfg.tasks), TINY_PX, _tokenize)
    every_image = read_split(str(tiny_dataset), "train", columns=["sample_id"])[0].num_rows
    kept = len(data.train)
    assert list(data.train.sample_ids) == list(pairs.train.sample_ids)  # the curriculum orders the same pairs
    assert kept + len(data.unpaired_rows["images"]) == every_image and kept < 0.5 * every_image
    assert cfg.level == 0.3 and cfg.sparsity_mode == SparsityMode.REPORTS

    index = torch.arange(kept)[: cfg.batch_size]
    batch = data.batch(index, lambda t: t)
    reference = pairs.batch(index, lambda t: t)
    size = len(index)
    assert batch.images.shape[0] == 2 * size and batch.has_report.tolist() == [True] * size + [False] * size
    rows = report_rows(batch)
    assert torch.equal(batch.images[rows], reference.images) and torch.equal(batch.tokens[rows], reference.tokens)
    assert torch.equal(batch.tokens[~rows], _tokenize([""] * size))  # withheld reports are blank
    # the extra images are training images outside the kept pairs, with their labels
    extra = batch.images[~rows]
    unpaired = data.unpaired_rows["images"]
    assert all(any(torch.equal(image, unpaired[j]) for j in range(len(unpaired))) for image in extra[:3])
    assert not torch.isnan(batch.labels[~rows]).all()
    assert torch.equal(data.batch(index, lambda t: t).images, batch.images)  # the draw is keyed, not stateful
    # over many batches, the label and rotation tasks see every training image
    seen = set()
    for step in range(60):
        draw = torch.randperm(kept, generator=torch.Generator().manual_seed(step))[: cfg.batch_size]
        seen |= set(data._unpaired_index(draw).tolist())
    assert len(seen) == every_image - kept


class _Towers(torch.nn.Module):
    """Encoders that return fixed features, so the ITC loss over chosen rows can be computed by hand."""

    def __init__(self, image: torch.Tensor, text: torch.Tensor) -> None:
        super().__init__()
        self.image, self.text = image, text
        self.logit_scale = torch.nn.Parameter(torch.tensor(2.0))

    def encode_image(self, images):
        return self.image

    def encode_text(self, tokens):
        return self.text


def test_itc_loss_uses_only_rows_with_a_report():
    generator = torch.Generator().manual_seed(0)
    image, text = torch.randn(6, 8, generator=generator), torch.randn(6, 8, generator=generator)
    has_report = torch.tensor([True, True, True, False, False, False])
    itc = get("itc")
    masked = itc.loss(
        StepContext(_Towers(image, text), Batch(images=None, tokens=None, has_report=has_report), generator), None
    )
    alone = itc.loss(StepContext(_Towers(image[:3], text[:3]), Batch(images=None, tokens=None), generator), None)
    assert torch.allclose(masked, alone)
    one = torch.tensor([True, False, False, False, False, False])
    assert (
        float(
            itc.loss(
                StepContext(_Towers(image, text), Batch(images=None, tokens=None, has_report=one), generator), None
            )
        )
        == 0.0
    )


def test_text_findings_uses_only_rows_with_a_report():
    generator = torch.Generator().manual_seed(0)
    text = torch.randn(4, 8, generator=generator)
    labels = torch.tensor([[1.0], [0.0], [1.0], [0.0]])
    task = get("text_findings")
    head = torch.nn.Linear(8, 1)
    batch = Batch(tokens=None, labels=labels, has_report=torch.tensor([True, True, False, False]))
    masked = task.loss(StepContext(_Towers(text, text), batch, generator), head)
    alone = task.loss(StepContext(_Towers(text[:2], text[:2]), Batch(tokens=None, labels=labels[:2]), generator), head)
    assert torch.allclose(masked, alone)


# --- presets ---------------------------------------------------------------------------------------


def test_planted_presets_validate_and_plant_what_they_say():
    noise = preset_experiment("planted-noise")
    assert noise.data.variant == "noisy_hard_pairs" and noise.data.noise_fraction > 0
    mtl = preset_experiment("planted-mtl")
    assert mtl.space.sparsity_mode == SparsityMode.REPORTS and max(mtl.space.sparsity) <= 0.1
    assert "label_text" in mtl.space.tasks  # the task that lets the text tower learn from the labelled images
    null = preset_experiment("null")
    assert null.data.variant is None and null.space.sparsity_mode == SparsityMode.PAIRS
    # sized like the benchmark they were calibrated on (its whole protocol in <= 20 min on 2 cores)
    calibrated = parse_experiment({**CALIBRATED, "name": "calibrated"})
    for planted in (noise, mtl, null):
        assert planted.training == calibrated.training and planted.data.n == calibrated.data.n
        assert planted.model == calibrated.model and planted.protocol.robust_metric == "clip_score_gap"
        assert planted.search.num_trials == calibrated.search.num_trials
    assert null.protocol == calibrated.protocol  # the null is the calibrated benchmark itself
    assert noise.search.metric == "clip_score_gap" and mtl.search.metric == "clip_score"
    default = preset_experiment("default")
    for planted in (noise, mtl):  # only the question's arms are confirmed, which affords more seeds in the same time
        assert planted.protocol.confirm_seeds > default.protocol.confirm_seeds
        assert "single_task" in planted.protocol.arms
    assert set(noise.protocol.arms) == {"single_task", "curriculum", "curriculum_random"}
    [(name, ranges)] = noise.space.pacing.items()
    total = noise.training.epochs * noise.training.steps_per_epoch
    # never more than the easiest 70%: the hardest 30% (the noise's band, every pair of it noisy) stays out
    assert noise.data.noise_band == noise.data.noise_fraction == 0.3
    for a in ranges["a"]:
        for b in ranges["b"]:
            assert max(pacing.get(name)(t, total, a=a, b=b) for t in range(total)) == b <= 0.7
    assert set(mtl.protocol.arms) == {"single_task", "multitask"}
    with pytest.raises(ConfigError):
        preset_experiment("planted-noise", {"data": {"noise_fraction": 0.0}})


def test_planted_order_differs_from_curriculum_random_in_order_alone():
    order = preset_experiment("planted-order")
    default = preset_experiment("default")
    assert order.data == default.data and order.training == default.training and order.model == default.model
    assert order.data.variant is None  # the benchmark itself: its easiest pairs are what plants the effect
    assert order.protocol.robust_metric == default.protocol.robust_metric == "retrieval_auc"
    assert set(order.protocol.arms) == {"single_task", "curriculum", "curriculum_random"}
    assert order.protocol.confirm_seeds > default.protocol.confirm_seeds
    assert order.space.stage_span == (0.0, 0.0)  # every task from the first step: only the pairs are paced
    [(name, ranges)] = order.space.pacing.items()
    total = order.training.epochs * order.training.steps_per_epoch
    for a in ranges["a"]:
        for b in ranges["b"]:
            fractions = [pacing.get(name)(t, total, a=a, b=b) for t in range(total)]
            assert fractions[0] <= 0.1  # starts from a small pool, where which pairs come first matters most
            assert fractions[int(0.6 * total)] == 1.0  # the whole pool by 60% of training, as curriculum_random's
    assert "order of the pairs alone" in what_the_curriculum_tests(order.model_dump(mode="json")["space"]["pacing"])


def test_a_planted_order_report_says_it_is_a_calibration_run(tmp_path):
    from curriclip.reports.results import planted_notes

    dataset = tmp_path / "dataset"
    dataset.mkdir()
    (dataset / "manifest.json").write_text(json.dumps({"source": "synthetic"}))
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"dataset_dir": str(dataset)}))
    experiment = preset_experiment("planted-order", {"name": "calib-planted-order"}).model_dump(mode="json")
    [note] = planted_notes(run, experiment)  # known by its design, not by the run's name
    assert note.startswith("Planted setting (calibration run, not a real result): planted-order")
    assert "curriculum worse than curriculum_random" in note and "order of the pairs alone" in note
    assert planted_notes(run, preset_experiment("default").model_dump(mode="json")) == []
    other_pacing = preset_experiment("planted-order", {"space": {"pacing": ["linear"]}}).model_dump(mode="json")
    assert planted_notes(run, other_pacing) == []


def test_the_easiest_training_pairs_of_the_default_benchmark_are_normal_studies_with_templated_reports():
    """planted-order's premise: easiest-first admits normal studies, whose impressions take three values, first."""
    default = preset_experiment("default")
    table = generate_table(default.data.n, image_size=16, seed=default.data.seed).to_pandas()
    train = table[table["split"] == "train"].sort_values("difficulty", kind="stable")
    abnormal = train["labels"].map(lambda labels: any(v in (1, -1) for v in labels if v is not None)).to_numpy()
    easiest = slice(0, int(0.2 * len(train)))
    assert not abnormal[easiest].any()
    assert train["impression"].iloc[easiest].nunique() == 3
    assert 0.4 < abnormal.mean() < 0.7  # a random pool of the same size is about half abnormal
    assert train["impression"].nunique() > 100


def test_the_report_header_says_whether_a_curriculum_tests_order_or_oracle_selection():
    selection = what_the_curriculum_tests(preset_experiment("planted-noise").model_dump(mode="json")["space"]["pacing"])
    order = what_the_curriculum_tests({"linear": {"a": [0.4, 0.6], "b": [0.1, 0.3]}, "root": {"a": [0.3, 0.5]}})
    assert "static oracle data selection" in selection and "order of the pairs alone" not in selection
    assert "order of the pairs alone" in order and "by 60% of training" in order
    assert what_the_curriculum_tests({"linear": {"a": [0.4, 0.9]}}) == ""  # a mixed space claims neither


def test_reports_mode_multitask_trial_trains_on_the_kept_pairs_plus_every_image(tiny_dataset):
    from curriclip.trainables.loop import train_epoch
    from curriclip.trainables.parallel import DataParallel
    from curriclip.trainables.trial import build_trial

    fields = {"arm": "multitask", "tasks": ["itc", "findings", "label_text"], "pacing": "none", "pacing_params": {}}
    trial = build_trial(_reports_cfg(tiny_dataset, stage_span=0.0, steps_per_epoch=2, **fields), DataParallel())
    pairs = build_trial(_reports_cfg(tiny_dataset, sparsity_mode="pairs", stage_span=0.0, **fields), DataParallel())
    assert len(trial.data.train) == len(pairs.data.train)  # train_pairs counts the pairs, not the extra images
    metrics = train_epoch(trial, 0)
    assert all(np.isfinite(metrics[f"loss/{task}"]) and metrics[f"loss/{task}"] > 0 for task in fields["tasks"])


def test_a_planted_run_says_so_in_its_report_header(tmp_path, noisy_dataset, tiny_dataset):
    from curriclip.reports.results import load_results

    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"dataset_dir": str(noisy_dataset)}))
    notes = load_results(run).notes
    assert len(notes) == 1 and "noisy_hard_pairs" in notes[0] and f"{round(NOISE * 100)}%" in notes[0]
    assert f"drawn from the hardest {round(2 * NOISE * 100)}%" in notes[0]  # the default band: twice the noise
    (run / "run.json").write_text(json.dumps({"dataset_dir": str(tiny_dataset)}))
    assert load_results(run).notes == []  # the null variant is the benchmark: no note
    (run / "experiment.yaml").write_text("space:\n  sparsity_mode: reports\n")
    assert ["label-rich, report-poor" in note for note in load_results(run).notes] == [True]


def test_planted_mtl_baselines_are_reports_mode_trials_at_its_levels(tiny_dataset):
    from curriclip.config.trial import level_fields, trial_level
    from curriclip.spaces import search_baselines

    assert level_fields("reports", 0.05) == {"sparsity": 0.05, "sparsity_mode": SparsityMode.REPORTS}
    assert trial_level({"sparsity": 0.05, "label_fraction": 1.0, "sparsity_mode": "reports"}) == 0.05
    configs = search_baselines(preset_experiment("planted-mtl"), str(tiny_dataset))
    assert {c["sparsity_mode"] for c in configs} == {SparsityMode.REPORTS}
    assert sorted({c["sparsity"] for c in configs}) == [0.02, 0.05]
    assert {tuple(c["tasks"]) for c in configs if c["arm"] == "multitask"} == {("itc", "findings", "label_text")}
    assert {c["arm"] for c in configs} == {"single_task", "multitask"}


def test_cli_synth_writes_a_planted_variant_and_refuses_bad_options(tmp_path):
    from typer.testing import CliRunner

    from curriclip.cli import app

    runner = CliRunner()
    out = tmp_path / "noisy"
    done = runner.invoke(
        app,
        [
            "data",
            "synth",
            "--out",
            str(out),
            "--n",
            "120",
            "--image-size",
            "32",
            "--variant",
            "noisy_hard_pairs",
            "--noise-fraction",
            "0.25",
        ],
    )
    assert done.exit_code == 0, done.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["generator"]["variant"] == "noisy_hard_pairs" and manifest["generator"]["noise_fraction"] == 0.25
    assert len(manifest["variant"]["noisy_sample_ids"]) > 0
    for args, option in (
        (["--variant", "noisy_hard_pairs"], "--variant"),
        (["--noise-fraction", "0.2"], "--variant"),
        (["--variant", "label_flips", "--noise-fraction", "0.2"], "--variant"),
        (["--variant", "noisy_hard_pairs", "--noise-fraction", "1.5"], "--noise-fraction"),
        (["--variant", "noisy_hard_pairs", "--noise-fraction", "0.3", "--noise-band", "0.2"], "--noise-band"),
    ):
        bad = runner.invoke(app, ["data", "synth", "--out", str(tmp_path / "bad"), "--n", "120", *args])
        assert bad.exit_code == 2 and f"error: {option}:" in bad.output, (args, bad.output)
        assert not (tmp_path / "bad").exists()
