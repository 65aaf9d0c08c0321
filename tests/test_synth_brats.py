"""The simulated-tumour benchmark: deterministic, contrast behaviour of the real one, nested masks, raters."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from typer.testing import CliRunner

from curriclip.cli import app
from curriclip.data.brats.synth import generate_cases
from curriclip.data.loader import load_split
from curriclip.data.store import read_split

T1, T1C, T2, FLAIR = range(4)


def test_deterministic_and_contrast_behaviour():
    first, again = generate_cases(6, 3, 48, 3, seed=5), generate_cases(6, 3, 48, 3, seed=5)
    assert all(np.array_equal(a.image, b.image) and np.array_equal(a.raters, b.raters) for a, b in zip(first, again))
    enhancing = [s for s in first if s.masks[2].sum() >= 4]
    assert enhancing, "some slice must have an enhancing region"
    for s in enhancing:  # enhancement shows on T1c, not on T1
        et = s.masks[2]
        assert s.image[T1C][et].mean() > s.image[T1][et].mean() + 60
    for s in first:
        edema = s.masks[0] & ~s.masks[1]
        brain = (s.image[T1] > 100) & ~s.masks[0]
        if edema.sum() >= 4:  # edema is bright on FLAIR and T2 relative to the brain
            assert s.image[FLAIR][edema].mean() > s.image[FLAIR][brain].mean() + 60
            assert s.image[T2][edema].mean() > s.image[T2][brain].mean() + 60
        assert (s.masks[1] <= s.masks[0]).all() and (s.masks[2] <= s.masks[1]).all()
        assert s.report.startswith("A ") and f"{s.report.split(' lobe')[0].split()[-1]}" in (
            "frontal",
            "parietal",
            "temporal",
            "occipital",
        )


def test_cli_writes_channels_masks_raters_and_patient_splits(tmp_path):
    out = tmp_path / "synth"
    result = CliRunner().invoke(
        app,
        [
            "data",
            "synth-brats",
            "--out",
            str(out),
            "--n-cases",
            "10",
            "--slices-per-case",
            "2",
            "--image-size",
            "32",
            "--raters",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["image_channels"] == 4 and manifest["label_names"] == ["wt", "tc", "et"]
    assert manifest["raters"]["count"] == 3 and set(manifest["raters"]["inter_rater_dice"]) == {"wt", "tc", "et"}
    tables = [read_split(out, split)[0] for split in ("train", "validate", "test")]
    table = pa.concat_tables(tables)
    assert table.num_rows == 20
    split_of = {}
    for subject, split in zip(table["subject_id"].to_pylist(), table["split"].to_pylist()):
        assert split_of.setdefault(subject, split) == split
    assert sorted(split_of.values()).count("test") == 2  # 20% of 10 cases
    rater_bytes = {len(v) for v in table["rater_masks"].to_pylist()}
    assert rater_bytes == {3 * 3 * 32 * 32 // 8}
    test = load_split(str(out), "test", masks=True)
    assert tuple(test.images.shape) == (4, 4, 32, 32) and tuple(test.masks.shape) == (4, 3, 32, 32)


def test_slices_cut_each_case_at_its_own_heights_and_spacing_is_recorded(tmp_path):
    from curriclip.data.brats.synth import MM_PER_UNIT, SLICE_GAP, generate_synth_brats

    slices = generate_cases(12, 4, 48, 0, seed=3)
    distinct = []
    for case in sorted({s.case_id for s in slices}):
        areas = [int(s.masks[0].sum()) for s in slices if s.case_id == case]
        distinct.append(len(set(areas)))
    assert np.mean(distinct) > 3.5  # symmetric heights gave two distinct cuts of four
    out = generate_synth_brats(tmp_path / "d", n_cases=4, slices_per_case=2, image_size=32, raters=0)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["voxel_spacing_mm"] == [SLICE_GAP * MM_PER_UNIT, 2 * MM_PER_UNIT / 32, 2 * MM_PER_UNIT / 32]


def test_bias_field_varies_the_gain_over_the_brain():
    from curriclip.data.brats.synth import BIAS_STRENGTH, bias_field

    coords = np.linspace(-1, 1, 64)
    xx, yy = np.meshgrid(coords, coords)
    rng = np.random.default_rng(0)
    gains = [bias_field(rng.normal(0, BIAS_STRENGTH, (4, 6)), xx, yy, 0.1) for _ in range(50)]
    brain = (xx / 0.78) ** 2 + (yy / 0.92) ** 2 <= 1
    spread = np.median([g[0][brain].max() / g[0][brain].min() for g in gains])
    assert 1.2 < spread < 2.5
