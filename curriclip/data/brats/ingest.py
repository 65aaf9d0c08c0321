"""BraTS 2020 training layout + TextBraTS reports -> curriclip slices (four contrasts as channels).

Layout: ``DIR/BraTS20_Training_NNN/BraTS20_Training_NNN_{flair,t1,t1ce,t2,seg}.nii[.gz]``,
read with nibabel. Everything is validated before anything is written; bad input is a
``DataError`` naming the file (the CLI prints one line, exit 2, nothing written):
a missing contrast or seg, contrasts whose shapes differ, seg values outside
{0, 1, 2, 4}, a file that is not NIfTI, a case folder whose file names do not match
its folder name. BraTS 2020 has one such case in the wild (case 355, whose seg file is
named ``W39_1998.09.19_Segm.nii``): it is REJECTED, with a hint to rename the file to
``<case>_seg.nii``, rather than guessed.

Orientation: each volume is brought to RAS+ by its affine (``nibabel.as_closest_canonical``)
and then laid out for radiological display (``radiological``): rows run anterior to
posterior, columns from the patient's right to the patient's left (patient left is image
right), axial slices along the last axis; so side, figures and reports agree whatever
the file's storage order.

Per case: the ``slices_per_case`` axial slices (last array axis) with the most tumour
(WT voxels; ties to the lower index), each cropped to the square around the brain
(non-zero voxels of any contrast over the volume) and resized to ``image_size``
(bilinear for contrasts, area then >= 1/2 for masks). Intensity: per volume and
contrast, brain voxels are mapped linearly from their 0.5th..99.5th percentile to
1..255 and clipped (robust to the bright outliers of MR), background stays 0.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from curriclip.data.brats.regions import BRATS_LABELS, CONTRASTS, assign_case_splits, nested_masks
from curriclip.data.brats.reports import ReportSource, templated_report
from curriclip.data.brats.table import Slice, write_slices
from curriclip.errors import DataError

CASE_PATTERN = re.compile(r"^BraTS20_(Training|Validation)_\d{3}$")
NIFTI_SUFFIXES = (".nii", ".nii.gz")


def _nifti_files(case_dir: Path) -> dict[str, Path]:
    """kind -> file of one case folder; a file named for another case or kind is an error."""
    files: dict[str, Path] = {}
    for path in sorted(case_dir.iterdir()):
        if not path.name.endswith(NIFTI_SUFFIXES):
            continue
        stem = path.name.removesuffix(".gz").removesuffix(".nii")
        prefix, _, kind = stem.rpartition("_")
        if prefix != case_dir.name or kind not in (*CONTRASTS, "seg"):
            raise DataError(
                f"{path}: file name does not match the case folder (expected {case_dir.name}_<flair|t1|t1ce|t2|seg>"
                ".nii[.gz]; BraTS 2020 case 355's seg file must be renamed to <case>_seg.nii)"
            )
        files[kind] = path
    for kind in (*CONTRASTS, "seg"):
        if kind not in files:
            raise DataError(f"{case_dir}: missing {case_dir.name}_{kind}.nii[.gz]")
    return files


def radiological(volume: np.ndarray) -> np.ndarray:
    """A RAS+ (x, y, z) volume -> (rows, columns, z): anterior first, patient's right first (radiological)."""
    return np.ascontiguousarray(volume[::-1, ::-1, :].transpose(1, 0, 2))


def _load(path: Path) -> tuple[np.ndarray, tuple[float, ...]]:
    """The volume in radiological layout (float32) and its voxel size (row, column, slice mm);
    non-NIfTI content is a DataError."""
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError

    try:
        image = nib.load(str(path))
        if not isinstance(image, (nib.Nifti1Image, nib.Nifti2Image)):
            raise DataError(f"{path}: not a NIfTI file ({type(image).__name__})")
        if len(image.shape) != 3:
            raise DataError(f"{path}: expected a 3-D volume, got shape {image.shape}")
        canonical = nib.as_closest_canonical(image)
        x, y, z = (float(v) for v in canonical.header.get_zooms()[:3])
        return radiological(np.asarray(canonical.dataobj, dtype=np.float32)), (y, x, z)
    except (ImageFileError, OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable NIfTI file ({str(exc).splitlines()[0][:120]})") from None


def _robust_uint8(volume: np.ndarray) -> np.ndarray:
    """Brain voxels (non-zero) from their 0.5..99.5 percentile to 1..255; background 0."""
    brain = volume != 0
    if not brain.any():
        return np.zeros(volume.shape, dtype=np.uint8)
    low, high = np.percentile(volume[brain], [0.5, 99.5])
    scaled = 1 + 254 * (volume - low) / max(high - low, 1e-6)
    return np.where(brain, np.clip(scaled, 1, 255), 0).round().astype(np.uint8)


def _square_box(brain: np.ndarray) -> tuple[slice, slice]:
    """The square (in-plane) around the brain's bounding box, kept inside the volume."""
    rows, cols = np.nonzero(brain.any(axis=2))
    if len(rows) == 0:
        return slice(0, brain.shape[0]), slice(0, brain.shape[1])
    side = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    side = min(side, min(brain.shape[:2]))
    boxes = []
    for low, high, extent in ((rows.min(), rows.max(), brain.shape[0]), (cols.min(), cols.max(), brain.shape[1])):
        start = int(np.clip((low + high + 1 - side) // 2, 0, extent - side))
        boxes.append(slice(start, start + side))
    return boxes[0], boxes[1]


def read_case(
    case_dir: Path, slices_per_case: int, image_size: int
) -> tuple[list[tuple[int, np.ndarray, np.ndarray]], dict]:
    """[(slice index, (4, S, S) uint8, (3, S, S) bool)] of one case, and the facts a templated report needs."""
    files = _nifti_files(case_dir)
    volumes, shapes = {}, {}
    for kind, path in files.items():
        volumes[kind], zooms = _load(path)
        shapes[kind] = volumes[kind].shape
        if volumes[kind].ndim != 3:
            raise DataError(f"{path}: expected a 3-D volume, got shape {volumes[kind].shape}")
    if len(set(shapes.values())) != 1:
        detail = ", ".join(f"{kind} {shape}" for kind, shape in shapes.items())
        raise DataError(f"{case_dir}: volumes differ in shape ({detail})")
    seg = volumes["seg"]
    bad = np.setdiff1d(np.unique(seg), BRATS_LABELS)
    if bad.size:
        values = ", ".join(format(v, "g") for v in bad.tolist()[:5])
        raise DataError(f"{files['seg']}: label values [{values}] outside {{0, 1, 2, 4}}")
    seg = seg.astype(np.int16)
    wt_per_slice = np.isin(seg, (1, 2, 4)).sum(axis=(0, 1))
    chosen = sorted(np.argsort(-wt_per_slice, kind="stable")[:slices_per_case].tolist())
    rows, cols = _square_box(np.stack([volumes[c] != 0 for c in CONTRASTS]).any(axis=0))
    contrasts = np.stack([_robust_uint8(volumes[c]) for c in CONTRASTS])[:, rows, cols][..., chosen]
    masks = nested_masks(seg[rows, cols][..., chosen].transpose(2, 0, 1))  # (K, 3, h, w)
    images = torch.from_numpy(contrasts.transpose(3, 0, 1, 2).astype(np.float32))  # (K, 4, h, w)
    images = F.interpolate(images, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
    resized = F.interpolate(torch.from_numpy(masks).float(), size=(image_size, image_size), mode="area") >= 0.5
    out = [
        (index, images[k].round().clamp(0, 255).to(torch.uint8).numpy(), resized[k].numpy())
        for k, index in enumerate(chosen)
    ]
    side = rows.stop - rows.start
    spacing = [zooms[2], zooms[0] * side / image_size, zooms[1] * side / image_size]
    return out, {"seg": seg, "zooms": zooms, "spacing_mm": spacing}


def case_dirs(cases: Path) -> list[Path]:
    """The case folders under ``cases`` (BraTS20_Training_NNN or BraTS20_Validation_NNN), sorted."""
    if not cases.is_dir():
        raise DataError(f"{cases}: --cases is not a directory")
    found = sorted(p for p in cases.iterdir() if p.is_dir() and CASE_PATTERN.match(p.name))
    if not found:
        raise DataError(f"{cases}: no BraTS20_Training_NNN case folders")
    return found


def ingest_brats(
    cases: Path,
    out: Path,
    reports: Path | None = None,
    slices_per_case: int = 8,
    image_size: int = 128,
    templated_reports: bool = True,
    seed: int = 0,
) -> tuple[Path, dict]:
    """Read, validate and write the BraTS cases; returns the dataset path and counts for the user."""
    if out.exists():
        raise DataError(f"{out}: already exists (choose another --out or delete it)")
    folders = case_dirs(cases)
    texts = ReportSource.open(reports) if reports is not None else ReportSource({})
    splits = assign_case_splits([f.name for f in folders], seed)
    slices, skipped, spacing = [], [], {}
    for folder in folders:
        case_slices, facts = read_case(folder, slices_per_case, image_size)
        spacing[folder.name] = [float(v) for v in facts["spacing_mm"]]
        report, templated = texts.get(folder.name), False
        if report is None:
            if not templated_reports:
                skipped.append(folder.name)
                continue
            report, templated = templated_report(facts["seg"], facts["zooms"]), True
        for index, image, masks in case_slices:
            slices.append(Slice(folder.name, index, image, masks, report, splits[folder.name], templated))
    if not slices:
        raise DataError(f"{cases}: no case left to write ({len(skipped)} without a report skipped)")
    extra = {
        "ingest": {"cases": len(folders), "skipped_without_report": skipped, "slices_per_case": slices_per_case},
        "intensity": "per volume and contrast: brain voxels 0.5..99.5 percentile -> 1..255, background 0",
        "orientation": "RAS+ by the affine, shown radiologically: rows anterior->posterior, columns patient R->L",
        "voxel_spacing_mm": spacing,  # per case: slice thickness, row, column at the stored image size
    }
    path = write_slices(slices, out, "brats", extra)
    return path, {"cases": len(folders) - len(skipped), "skipped": len(skipped), "slices": len(slices)}
