"""BraTS 2020 ingest on tiny NIfTI cases built with nibabel in the real layout (never real data)."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from curriclip.cli import app
from curriclip.data.brats.ingest import _robust_uint8, radiological
from curriclip.data.brats.regions import nested_masks
from curriclip.data.loader import load_split
from curriclip.data.mask_store import MaskStore
from curriclip.data.store import read_split

SHAPE = (12, 12, 6)
CONTRAST_VALUES = {"t1": 10.0, "t1ce": 20.0, "t2": 30.0, "flair": 40.0}


def _volume(kind: str) -> np.ndarray:
    """A different ramp per contrast (so the channel order is visible after normalisation)."""
    ramp = np.arange(SHAPE[0], dtype=np.float32)
    axis = {"t1": ramp, "t1ce": ramp[::-1], "t2": ramp**2, "flair": np.sqrt(ramp)}[kind]
    return CONTRAST_VALUES[kind] + np.broadcast_to(axis[:, None, None], SHAPE).astype(np.float32)


def _seg(case: int) -> np.ndarray:
    """Tumour on slices 1..4 with WT area growing with the slice index (slice 4 biggest, then 3, ...)."""
    seg = np.zeros(SHAPE, dtype=np.int16)
    for z in range(1, 5):
        seg[2 : 2 + z + 2, 2:8, z] = 2  # edema
        seg[3:5, 3:6, z] = 1  # necrotic core
        seg[3:4, 3:4, z] = 4 if z >= 3 else 1  # enhancing only on slices 3, 4
    return seg


def _write_case(root: Path, case: int, skip: str | None = None, seg: np.ndarray | None = None) -> Path:
    name = f"BraTS20_Training_{case:03d}"
    folder = root / name
    folder.mkdir(parents=True)
    affine = np.eye(4)
    for kind in CONTRAST_VALUES:
        if kind == skip:
            continue
        nib.save(nib.Nifti1Image(_volume(kind), affine), folder / f"{name}_{kind}.nii.gz")
    nib.save(nib.Nifti1Image(_seg(case) if seg is None else seg, affine), folder / f"{name}_seg.nii.gz")
    return folder


def _cases(root: Path, n: int = 5) -> Path:
    for case in range(1, n + 1):
        _write_case(root / "cases", case)
    return root / "cases"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["data", "brats", *args])
    return result.exit_code, result.output


def test_ingest_slices_channels_masks_and_splits(tmp_path):
    cases = _cases(tmp_path)
    reports = tmp_path / "reports"
    reports.mkdir()
    for case in (1, 2, 3, 4):  # case 5 has no report -> templated
        (reports / f"BraTS20_Training_{case:03d}_flair_text.txt").write_text(f"Report of case {case}.")
    out = tmp_path / "out"
    code, output = _run(
        "--cases",
        str(cases),
        "--reports",
        str(reports),
        "--out",
        str(out),
        "--slices-per-case",
        "2",
        "--image-size",
        "12",
    )
    assert code == 0, output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["image_channels"] == 4 and manifest["label_names"] == ["wt", "tc", "et"]
    assert manifest["templated_reports"] == {"cases": ["BraTS20_Training_005"], "count": 1}
    table = pa_all(out)
    assert table.num_rows == 10  # 5 cases x 2 slices
    ids = sorted(table["sample_id"].to_pylist())
    assert ids[:2] == ["BraTS20_Training_001_z003", "BraTS20_Training_001_z004"]  # the two most-tumour slices
    # patient-level splits: every case in exactly one split
    split_of = {}
    for subject, split in zip(table["subject_id"].to_pylist(), table["split"].to_pylist()):
        assert split_of.setdefault(subject, split) == split
    assert sorted(split_of.values()).count("test") == 1
    # reports: given or templated, labelled
    texts = dict(zip(table["subject_id"].to_pylist(), table["findings"].to_pylist()))
    assert texts["BraTS20_Training_002"] == "Report of case 2."
    assert texts["BraTS20_Training_005"].startswith("[Templated report")
    # channels: T1, T1c, T2, FLAIR in this order; masks nested and equal to the labels' regions
    split = split_of["BraTS20_Training_001"]
    arrays = load_split(str(out), split, masks=True)
    row = list(arrays.sample_ids).index("BraTS20_Training_001_z004")
    image = arrays.images[row]
    assert tuple(image.shape) == (4, 12, 12)
    for channel, kind in enumerate(("t1", "t1ce", "t2", "flair")):  # no crop (the brain fills the slice), no resize
        expected = _robust_uint8(radiological(_volume(kind)))[:, :, 4]  # identity affine: RAS+ as stored
        assert torch.equal(image[channel], torch.from_numpy(expected))
    masks = arrays.masks[row] if isinstance(arrays.masks, MaskStore) else arrays.masks[row]
    expected = torch.from_numpy(nested_masks(radiological(_seg(1))[:, :, 4]).astype(np.uint8))
    assert torch.equal(masks, expected)
    assert bool((masks[1] <= masks[0]).all()) and bool((masks[2] <= masks[1]).all())
    assert arrays.labels[row].tolist() == [1.0, 1.0, 1.0]


def pa_all(out: Path):
    import pyarrow as pa

    return pa.concat_tables([read_split(out, split)[0] for split in ("train", "validate", "test")])


def test_skip_missing_reports_counts(tmp_path):
    cases = _cases(tmp_path, 3)
    out = tmp_path / "out"
    table = tmp_path / "reports.csv"
    table.write_text('case_id,report\nBraTS20_Training_001,"Left frontal mass."\n')
    code, output = _run(
        "--cases",
        str(cases),
        "--reports",
        str(table),
        "--out",
        str(out),
        "--slices-per-case",
        "1",
        "--image-size",
        "12",
        "--skip-missing-reports",
    )
    assert code == 0, output
    assert "1 cases, 1 slices, 2 skipped" in output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ingest"]["skipped_without_report"] == ["BraTS20_Training_002", "BraTS20_Training_003"]


def _bad_missing_contrast(root: Path) -> None:
    _write_case(root, 2, skip="t1ce")


def _bad_shapes(root: Path) -> None:
    folder = _write_case(root, 2)
    nib.save(nib.Nifti1Image(np.zeros((12, 12, 5), np.float32), np.eye(4)), folder / f"{folder.name}_t2.nii.gz")


def _bad_labels(root: Path) -> None:
    seg = _seg(2)
    seg[0, 0, 0] = 3
    _write_case(root, 2, seg=seg)


def _bad_not_nifti(root: Path) -> None:
    folder = _write_case(root, 2)
    (folder / f"{folder.name}_flair.nii.gz").write_bytes(b"this is not a NIfTI file")


def _bad_names(root: Path) -> None:  # BraTS 2020 case 355: the seg file is misnamed
    folder = _write_case(root, 2)
    (folder / f"{folder.name}_seg.nii.gz").rename(folder / "W39_1998.09.19_Segm.nii.gz")


@pytest.mark.parametrize(
    ("make_bad", "needle"),
    [
        (_bad_missing_contrast, "missing BraTS20_Training_002_t1ce"),
        (_bad_shapes, "differ in shape"),
        (_bad_labels, "label values [3] outside"),
        (_bad_not_nifti, "not a readable NIfTI"),
        (_bad_names, "W39_1998.09.19_Segm.nii.gz: file name does not match"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, make_bad, needle):
    cases = tmp_path / "cases"
    _write_case(cases, 1)
    make_bad(cases)
    out = tmp_path / "out"
    code, output = _run("--cases", str(cases), "--out", str(out), "--slices-per-case", "1", "--image-size", "12")
    assert code == 2
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], output
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cases"]  # no temp directory left either


def test_orientation_comes_from_the_affine_and_figures_are_radiological(tmp_path):
    """One case stored RAS+ and the same anatomy stored LPS (x and y reversed, affine saying so) ingest alike;
    a tumour on the patient's left lands on the image's right and its templated report says left."""
    seg = np.zeros(SHAPE, dtype=np.int16)
    seg[1:4, 3:6, 1:5] = 2  # low x: the patient's left in RAS+ (x grows to the right)
    seg[2, 4, 1:5] = 4
    lps = np.diag([-1.0, -1.0, 1.0, 1.0])
    lps[:2, 3] = [SHAPE[0] - 1, SHAPE[1] - 1]  # voxel (0, 0) of the LPS file is voxel (X-1, Y-1) of the RAS one
    outs = []
    for name, affine, flip in (("ras", np.eye(4), lambda v: v), ("lps", lps, lambda v: v[::-1, ::-1, :].copy())):
        folder = tmp_path / name / "BraTS20_Training_001"
        folder.mkdir(parents=True)
        for kind in CONTRAST_VALUES:
            image = nib.Nifti1Image(flip(_volume(kind)), affine)
            nib.save(image, folder / f"BraTS20_Training_001_{kind}.nii.gz")
        nib.save(nib.Nifti1Image(flip(seg), affine), folder / "BraTS20_Training_001_seg.nii.gz")
        out = tmp_path / f"out_{name}"
        code, output = _run("--cases", str(tmp_path / name), "--out", str(out), "--image-size", "12")
        assert code == 0, output
        outs.append(pa_all(out))
    assert outs[0]["image"].to_pylist() == outs[1]["image"].to_pylist()
    assert outs[0]["masks"].to_pylist() == outs[1]["masks"].to_pylist()
    for table in outs:
        assert "left-sided" in table["findings"][0].as_py()

    row = outs[0]["sample_id"].to_pylist().index("BraTS20_Training_001_z002")
    packed = np.frombuffer(outs[0]["masks"][row].as_py(), dtype=np.uint8)[None]
    wt = MaskStore(packed, (3, 12, 12))[0][0].numpy()
    assert wt[:, 6:].sum() > 0 and wt[:, :6].sum() == 0  # patient left = image right
    manifest = json.loads((tmp_path / "out_ras" / "manifest.json").read_text())
    assert manifest["voxel_spacing_mm"]["BraTS20_Training_001"] == [1.0, 1.0, 1.0]
