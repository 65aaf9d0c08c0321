"""The simulated-tumour benchmark: offline, deterministic 4-contrast glioma slices with reports and raters.

BRATS (Menze et al. 2015) evaluated on simulated scans beside the real ones; here the
simulated cases are also the offline default of the family and the test fixtures.
Each case is one tumour in one hemisphere and lobe: an enhancing rim (or, in a fifth of
the cases, a non-enhancing core) around an optional necrotic centre, inside peritumoral
edema, each a perturbed ellipsoid, cut into ``slices_per_case`` axial slices through
the tumour. Tissue intensities follow the real contrast behaviour:

=============  =====  =====  =====  =====
tissue         T1     T1c    T2     FLAIR
=============  =====  =====  =====  =====
brain          .62    .64    .42    .45
CSF/ventricle  .25    .25    .95    .12   (fluid: bright on T2, suppressed on FLAIR)
edema          .48    .50    .82    .92   (bright on FLAIR and T2)
necrosis       .22    .22    .92    .35
enhancing      .45    .95    .70    .75   (enhancement only on T1c)
non-enhancing  .40    .42    .75    .80
=============  =====  =====  =====  =====

Two things keep fixed thresholds from segmenting the cases: a smooth multiplicative
bias field per case (MR coil inhomogeneity: a log-polynomial in x, y, z whose gain
varies by about +-25 % over the brain, its strength drawn per contrast), and slices
that sit asymmetrically in the tumour (a fixed gap of ``SLICE_GAP`` from a random first
height), so every case cuts the tumour at its own heights.

The report (one per case, as TextBraTS) gives side, lobe, size of the enhancing or
non-enhancing mass and of the edema, enhancement and necrosis. Patient left is image
right (radiological convention). The voxel spacing (slice gap, row and column in mm)
is written to the manifest as ``voxel_spacing_mm``, for volumes and surface distances.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from curriclip.data.brats.regions import assign_case_splits, simulate_raters
from curriclip.data.brats.table import Slice, write_slices

GENERATOR_VERSION = 2
#: millimetres per normalised unit (the brain ellipse is about 150 mm wide)
MM_PER_UNIT = 95.0
#: distance between a case's slices, in normalised units (5.7 mm)
SLICE_GAP = 0.06
#: standard deviation of the bias field's log-polynomial coefficients
BIAS_STRENGTH = 0.12

TISSUES = ("brain", "csf", "edema", "necrosis", "enhancing", "nonenhancing")
INTENSITY = np.array(
    [  # T1, T1c, T2, FLAIR
        [0.62, 0.64, 0.42, 0.45],
        [0.25, 0.25, 0.95, 0.12],
        [0.48, 0.50, 0.82, 0.92],
        [0.22, 0.22, 0.92, 0.35],
        [0.45, 0.95, 0.70, 0.75],
        [0.40, 0.42, 0.75, 0.80],
    ]
)
LOBES = {"frontal": (0.32, -0.5), "parietal": (0.35, 0.05), "temporal": (0.52, 0.15), "occipital": (0.28, 0.55)}


def _blob(xx: np.ndarray, yy: np.ndarray, centre, radius: float, harmonics: np.ndarray) -> np.ndarray:
    """A filled perturbed circle (radius modulated by low angular harmonics)."""
    if radius <= 0:
        return np.zeros(xx.shape, dtype=bool)
    dx, dy = xx - centre[0], yy - centre[1]
    angle = np.arctan2(dy, dx)
    scale = 1.0 + sum(a * np.cos(k * angle + phase) for k, (a, phase) in enumerate(harmonics, start=2))
    return np.hypot(dx, dy) <= radius * scale


def _case_geometry(rng: np.random.Generator) -> dict:
    side = "left" if rng.random() < 0.5 else "right"
    lobe = list(LOBES)[int(rng.integers(len(LOBES)))]
    x, y = LOBES[lobe]
    edema = rng.uniform(0.16, 0.34)
    core = edema * rng.uniform(0.45, 0.7)
    return {
        "side": side,
        "lobe": lobe,
        "centre": ((x if side == "left" else -x) + rng.normal(0, 0.04), y + rng.normal(0, 0.04)),
        "edema": edema,
        "core": core,
        "necrosis": core * (rng.uniform(0.3, 0.65) if rng.random() < 0.7 else 0.0),
        "enhancing": bool(rng.random() < 0.8),
        "harmonics": np.stack([rng.uniform(0, 0.12, 3), rng.uniform(0, 2 * np.pi, 3)], axis=1),
        "bias": rng.normal(0, BIAS_STRENGTH, (4, 6)),  # per contrast: x, y, z, xy, x^2, y^2
    }


def slice_heights(edema: float, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` heights ``SLICE_GAP`` apart from a random start, inside the edema where they fit."""
    span = (count - 1) * SLICE_GAP
    low, high = -0.8 * edema, 0.8 * edema - span
    start = rng.uniform(low, high) if high > low else -span / 2 + rng.uniform(-0.5, 0.5) * SLICE_GAP
    return start + SLICE_GAP * np.arange(count)


def bias_field(coefficients: np.ndarray, xx: np.ndarray, yy: np.ndarray, z: float) -> np.ndarray:
    """(4, S, S) smooth multiplicative gain per contrast: exp of a quadratic in x, y and a tilt in z."""
    terms = np.stack([xx, yy, np.full_like(xx, z), xx * yy, xx**2 - 0.33, yy**2 - 0.33])
    return np.exp(np.tensordot(coefficients, terms, axes=1))


def _render_slice(geometry: dict, z: float, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(4, S, S) uint8 contrasts and (3, S, S) nested masks of one axial slice at height ``z``."""
    coords = np.linspace(-1, 1, size)
    xx, yy = np.meshgrid(coords, coords)
    brain = (xx / 0.78) ** 2 + (yy / 0.92) ** 2 <= 1
    csf = ((xx / 0.12) ** 2 + (yy / 0.3) ** 2 <= 1) & brain

    def radius(r: float) -> float:
        return float(np.sqrt(max(r * r - z * z, 0.0)))

    harm = geometry["harmonics"]
    wt = _blob(xx, yy, geometry["centre"], radius(geometry["edema"]), harm) & brain
    tc = _blob(xx, yy, geometry["centre"], radius(geometry["core"]), harm) & wt
    necrosis = _blob(xx, yy, geometry["centre"], radius(geometry["necrosis"]), harm) & tc
    et = tc & ~necrosis if geometry["enhancing"] else np.zeros_like(tc)
    tissue = np.full((size, size), -1)
    for index, region in enumerate(
        [brain, csf, wt, necrosis, et, tc & ~necrosis & ~et if not geometry["enhancing"] else np.zeros_like(tc)]
    ):
        tissue[region] = index
    values = np.where(tissue[None] >= 0, INTENSITY[np.clip(tissue, 0, None)].transpose(2, 0, 1), 0.0)
    texture = ndimage.gaussian_filter(rng.standard_normal((size, size)), 2.0) * 0.25
    values = values + brain[None] * texture[None] * 0.2
    values = values * bias_field(geometry["bias"], xx, yy, z)
    values = ndimage.gaussian_filter(values, (0, 0.6, 0.6)) + rng.normal(0, 0.03, values.shape)
    values *= rng.uniform(0.9, 1.1, (4, 1, 1))
    image = np.clip(values * 255, 0, 255).round().astype(np.uint8)
    return image, np.stack([wt, tc, et])


def case_report(geometry: dict) -> str:
    """The case's report: side, lobe, sizes, enhancement, necrosis, edema."""
    core_cm = 2 * geometry["core"] * MM_PER_UNIT / 10
    edema_cm = 2 * geometry["edema"] * MM_PER_UNIT / 10
    where = f"{geometry['side']} {geometry['lobe']} lobe"
    if geometry["enhancing"]:
        mass = f"A {core_cm:.1f} cm mass in the {where} shows heterogeneous rim enhancement on post-contrast T1."
        grade = "Findings are consistent with a high-grade glioma."
    else:
        mass = f"A {core_cm:.1f} cm non-enhancing mass in the {where}, hypointense on T1 without contrast uptake."
        grade = "Findings are consistent with a lower-grade glioma."
    necrosis = (
        "Central necrosis is present, bright on T2 and dark on FLAIR."
        if geometry["necrosis"] > 0
        else "No central necrosis is seen."
    )
    edema = f"Surrounding T2/FLAIR hyperintense peritumoral edema extends over {edema_cm:.1f} cm."
    return " ".join([mass, necrosis, edema, grade])


def generate_cases(n_cases: int, slices_per_case: int, image_size: int, raters: int, seed: int) -> list[Slice]:
    """All slices of ``n_cases`` simulated cases (deterministic given ``seed``)."""
    case_ids = [f"SynthBraTS_{index:03d}" for index in range(n_cases)]
    splits = assign_case_splits(case_ids, seed)
    slices = []
    for index, case_id in enumerate(case_ids):
        rng = np.random.default_rng([seed, index])
        geometry = _case_geometry(rng)
        report = case_report(geometry)
        for k, z in enumerate(slice_heights(geometry["edema"], slices_per_case, rng)):
            image, masks = _render_slice(geometry, float(z), image_size, rng)
            rater_masks = simulate_raters(masks, raters, rng) if raters else None
            slices.append(Slice(case_id, k, image, masks, report, splits[case_id], raters=rater_masks))
    return slices


def voxel_spacing(image_size: int) -> list[float]:
    """(slice gap, row, column) in mm: the image spans 2 normalised units."""
    pixel = 2 * MM_PER_UNIT / image_size
    return [SLICE_GAP * MM_PER_UNIT, pixel, pixel]


def generate_synth_brats(
    out: Path, n_cases: int = 60, slices_per_case: int = 4, image_size: int = 64, raters: int = 4, seed: int = 0
) -> Path:
    """Generate the simulated-tumour dataset into ``out`` (atomically)."""
    slices = generate_cases(n_cases, slices_per_case, image_size, raters, seed)
    extra = {
        "generator": {
            "name": "synth-brats",
            "version": GENERATOR_VERSION,
            "n_cases": n_cases,
            "slices_per_case": slices_per_case,
            "image_size": image_size,
            "raters": raters,
            "seed": seed,
        },
        "voxel_spacing_mm": voxel_spacing(image_size),
    }
    return write_slices(slices, out, "synth-brats", extra)
