"""Synthetic chest-X-ray-like images with radiology reports and exact ground truth.

Why synthetic: a curriculum search needs a benchmark where the truth is known per
sample (which findings are in the image, how subtle they are, whether the report
hedges) and that any machine can regenerate in seconds, byte for byte. Real
datasets give none of that; this generator gives all of it, and writes the same
Arrow schema as every real source (:func:`curriclip.data.schema.schema_with_labels`).

Image convention (stated once, used everywhere): images are displayed the way
radiographs are read, *as if facing the patient*. Image column 0 is the patient's
RIGHT; the patient's LEFT is on the viewer's right. So the heart, which sits to the
patient's left, lies right of the image centre, the left hemidiaphragm is the lower
one, and a "left pleural effusion" fills the lower RIGHT part of the image. Row 0 is
the top (apex side). Internally all geometry is drawn in "world" coordinates
``U`` (-1 left edge .. +1 right edge of the image) and ``V`` (-1 top .. +1 bottom),
which a per-sample similarity transform (small rotation, shift, magnification) maps
onto the pixel grid.

The image is an additive density model, like a real radiograph: body soft tissue,
heart, mediastinum, bones, tubes and fluid add brightness, air in the lungs removes
it, and a per-sample exposure (gain, offset) plus Gaussian noise (a fixed white-noise
field cropped at a random offset per sample, see :func:`_noise_tile`) maps density to
uint8. Every shape is a soft-edged quadratic (ellipse, parabola, band) evaluated
on the whole chunk at once; a quadratic form in world coordinates is still a
quadratic form in pixel coordinates, so each one costs three broadcast operations
on a ``(B, H, W)`` array (see :class:`_Frame`). Findings that only some samples have
are drawn on the sub-batch that has them. That is what makes ~1,800 samples/s on one
core possible without per-pixel Python (with every finding's mask, see :func:`_mark`).

Findings (``DEFAULT_LABEL_NAMES``, in order) and how each one looks:

* cardiomegaly: enlarged heart (cardiothoracic ratio ~0.50 / 0.56 / 0.64 for
  mild / moderate / large, vs ~0.42 normal); an AP view magnifies every heart by
  10% (a normal one to ~0.46), the classic confounder.
* pleural_effusion: the lung base fills with soft-tissue density under a meniscus
  that climbs laterally; the costophrenic angle is blunted (mild) up to half the
  lung (large); the hemidiaphragm silhouette disappears.
* pneumothorax: a very dark rim without lung markings at the apex and lateral wall,
  bounded by a thin bright visceral pleural line (collapsed lung 90/78/60% size).
* consolidation: a patchy bright region centred in one lobe.
* lung_nodule: a small round bright blob (4-6 / 8-12 / 15-25 mm).
* atelectasis: a thin bright plate-like band at a lung base (thicker when larger).
* edema: bilateral perihilar ("bat-wing") haze and thickened lung markings.
* support_devices: thin bright tubes/lines (endotracheal tube, enteric tube,
  central venous catheter) and/or a chest-wall pacemaker with leads.
* fracture: a gap and a step in one lateral rib arc (a gap of 1.5 / 3 / 4.5 px at 128 px and
  the lateral fragment displaced by 12 / 22 / 30% of the rib spacing).

Labels use the CheXpert encoding and are generated together with the report, so they
always agree with it: 1 for a finding stated as present, -1 when the report hedges
("possible", "may represent", "cannot be excluded", "borderline"; only for findings
that ARE in the image, and only mild ones), 0 when the report explicitly negates it,
null when the report does not mention it. A report never states something the image
does not show.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pyarrow as pa

from curriclip.data.schema import DEFAULT_LABEL_NAMES, SPLITS, schema_with_labels

__all__ = [
    "CHUNK_SIZE",
    "Case",
    "FINDINGS",
    "SEVERITIES",
    "SIDES",
    "generate_table",
    "iter_batches",
    "render_case",
]

#: Samples per generated chunk. Part of the output's definition: every chunk draws
#: from its own random stream seeded by ``(seed, chunk index)``, so changing this
#: changes the dataset.
#: Bumped whenever the generator's output changes, so cached datasets are regenerated.
GENERATOR_VERSION = 2  # 2: per-finding masks
CHUNK_SIZE = 256
#: Pixels per rendering sub-batch: big enough to amortise numpy's per-call overhead,
#: small enough to bound memory (a dozen float32 work arrays of this size, ~100 MB).
_RENDER_ELEMENTS = 1 << 21

FINDINGS = DEFAULT_LABEL_NAMES
SEVERITIES = ("mild", "moderate", "large")
SIDES = ("right", "left", "bilateral")  # the PATIENT's side

(CARDIOMEGALY, EFFUSION, PNEUMOTHORAX, CONSOLIDATION, NODULE, ATELECTASIS, EDEMA, DEVICES, FRACTURE) = range(
    len(FINDINGS)
)
_NF = len(FINDINGS)
_RIGHT, _LEFT, _BILATERAL = 0, 1, 2
_NO_SIDE = -1
_LUNG_CY = 0.0  # world V of the lung ellipses' centres
_RIB_CURVE, _RIB_OFFSET = 0.55, 0.68  # rib arcs: phase = (V - curve U^2 + offset) / period + phase0
# support-device bits
_ETT, _NGT, _CVC, _PACER = 1, 2, 4, 8

# lobes per side: (name, U offset toward lateral, V)
_LOBES = {
    _RIGHT: (("right upper lobe", 0.0, -0.42), ("right middle lobe", -0.06, 0.08), ("right lower lobe", 0.05, 0.24)),
    _LEFT: (("left upper lobe", 0.0, -0.38), ("left lower lobe", 0.06, 0.24)),
}

# --- difficulty ------------------------------------------------------------------
#: How hard each finding is to see at all (1 = hardest), at mild severity.
_VISUAL_HARDNESS = np.array([0.5, 0.55, 0.9, 0.65, 0.95, 0.8, 0.75, 0.15, 1.0])
#: Subtlety multiplier by severity: mild findings are hard, large ones obvious.
_SUBTLETY = np.array([1.0, 0.55, 0.15])
_NOISE_RANGE = (0.008, 0.05)  # Gaussian noise sigma, in units of full scale
_GAIN_RANGE = (0.74, 1.05)  # density -> brightness gain (after the AP reduction)


# =================================================================================
# public API
# =================================================================================


def generate_table(
    n: int,
    image_size: int = 128,
    seed: int = 0,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    progress: Callable[[int, int], None] | None = None,
) -> pa.Table:
    """A deterministic synthetic CXR dataset of ``n`` samples as one Arrow table.

    The table has exactly ``schema_with_labels(DEFAULT_LABEL_NAMES)``. Equal
    ``(n, image_size, seed, split_fractions)`` give an equal table, byte for byte
    (numpy's seeded generators, integer hashing and IEEE-exact elementwise float32
    arithmetic; only a few per-sample sin/cos/pow calls could differ by an ulp across
    numpy builds). Sample
    ``i``'s image and report depend only on ``(seed, i, image_size)`` and the subject
    layout, so a larger ``n`` extends a smaller one; only the split assignment (which
    balances the fractions over the whole set) depends on ``n``.

    ``split_fractions`` are the (train, validate, test) fractions of SAMPLES; whole
    subjects (1-3 studies each) are assigned to one split, so there is no patient
    leakage between splits. ``progress(done, n)`` is called after every chunk.
    """
    schema = schema_with_labels(DEFAULT_LABEL_NAMES)
    batches = list(iter_batches(n, image_size, seed, split_fractions, progress))
    return pa.Table.from_batches(batches, schema=schema)


def iter_batches(
    n: int,
    image_size: int = 128,
    seed: int = 0,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The rows of :func:`generate_table` as record batches of ``CHUNK_SIZE`` rows.

    For writers that stream to Parquet: only one chunk is in memory at a time.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 16 <= image_size <= 4096:
        raise ValueError(f"image_size must be in [16, 4096], got {image_size}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    fractions = _check_fractions(split_fractions)
    schema = schema_with_labels(DEFAULT_LABEL_NAMES)
    subject, split = _layout(n, seed, fractions)
    for chunk, start in enumerate(range(0, n, CHUNK_SIZE)):
        stop = min(start + CHUNK_SIZE, n)
        yield _make_batch(schema, seed, chunk, start, stop, subject[start:stop], split[start:stop], image_size)
        if progress is not None:
            progress(stop, n)


@dataclass(frozen=True)
class Case:
    """One rendered sample of :func:`render_case`."""

    image: np.ndarray  # (H, W) uint8
    findings: str
    impression: str
    labels: list[int | None]  # CheXpert encoding, in FINDINGS order
    difficulty: float
    masks: np.ndarray  # (len(FINDINGS), H, W) bool: where each finding is drawn (all False if absent)


def render_case(
    findings: Mapping[str, str | tuple[str, str]] | None = None,
    image_size: int = 128,
    seed: int = 0,
    view: str = "PA",
) -> Case:
    """Render one sample with chosen findings, for illustration and tests.

    ``findings`` maps a finding name to a severity (``"mild" | "moderate" |
    "large"``) or to ``(severity, side)`` with side ``"right" | "left" |
    "bilateral"`` (the patient's side; default right, edema always bilateral).
    Anatomy, exposure and noise come from ``seed`` alone, so two calls with the same
    seed differ only where the findings differ: exactly what is needed to see (or
    test) what a finding does to the image. The report states every requested
    finding (never hedged) and negates all others.
    """
    findings = dict(findings or {})
    if view not in ("PA", "AP"):
        raise ValueError(f"view must be 'PA' or 'AP', got {view!r}")
    p = _sample_params(seed, 0, np.zeros(1, dtype=np.int64))
    p.ap[:] = view == "AP"
    p.present[:] = False
    p.uncertain[:] = False
    for name, spec in findings.items():
        if name not in FINDINGS:
            raise ValueError(f"unknown finding {name!r}; expected one of {FINDINGS}")
        sev, sd = (spec, None) if isinstance(spec, str) else spec
        if sev not in SEVERITIES:
            raise ValueError(f"{name}: severity must be one of {SEVERITIES}, got {sev!r}")
        f = FINDINGS.index(name)
        p.present[0, f] = True
        p.severity[0, f] = SEVERITIES.index(sev)
        if f in (CARDIOMEGALY, DEVICES):
            side = _NO_SIDE
        elif f == EDEMA:
            side = _BILATERAL
        else:
            side = SIDES.index(sd or "right")
            if side == _BILATERAL and f not in (EFFUSION, ATELECTASIS):
                raise ValueError(f"{name}: side must be 'right' or 'left'")
        p.side[0, f] = side
    p.negated[:] = ~p.present
    p.devices[:] = (_ETT | _NGT | _CVC) if p.present[0, DEVICES] else 0
    images, masks = _render(p, image_size)
    text, impression = _report(p, 0)
    labels = _labels(p).to_pylist()[0]
    return Case(images[0], text, impression, labels, float(_difficulty(p)[0]), masks[0])


# =================================================================================
# subjects and splits
# =================================================================================


def _check_fractions(fractions: tuple[float, float, float]) -> np.ndarray:
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (len(SPLITS),) or not np.all(np.isfinite(f)) or np.any(f < 0) or f.sum() <= 0:
        raise ValueError(f"split_fractions must be {len(SPLITS)} non-negative numbers, got {fractions}")
    return f / f.sum()


def _layout(n: int, seed: int, fractions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Subject index and split index of every sample.

    Subjects have 1-3 studies (60/25/15%), consecutive in sample order. Splits are
    assigned per subject: subjects are shuffled and cut where the running SAMPLE
    count crosses the fractions, so the split sizes match the fractions to within one
    subject while no subject straddles two splits.
    """
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    rng = np.random.default_rng([seed, 0x5B1EC7])
    counts = rng.choice(np.array([1, 2, 3]), size=n, p=[0.6, 0.25, 0.15])
    ends = np.cumsum(counts)
    n_subjects = int(np.searchsorted(ends, n, side="left")) + 1
    counts = counts[:n_subjects].copy()
    counts[-1] -= int(ends[n_subjects - 1]) - n  # truncate the last subject
    subject = np.repeat(np.arange(n_subjects, dtype=np.int64), counts)

    order = rng.permutation(n_subjects)
    done_before = np.cumsum(counts[order]) - counts[order]
    middle = (done_before + counts[order] / 2.0) / n
    bounds = np.cumsum(fractions)[:-1]
    split_of_subject = np.empty(n_subjects, dtype=np.int64)
    split_of_subject[order] = np.searchsorted(bounds, middle, side="right")
    return subject, split_of_subject[subject]


def _hash_uniform(seed: int, ids: np.ndarray, stream: int) -> np.ndarray:
    """Uniform [0, 1) numbers that depend only on (seed, id, stream): splitmix64.

    Used for per-SUBJECT traits (body habitus, a chronic enlarged heart, a nodule, a
    pacemaker) so every study of one subject shares them no matter which chunk it
    falls in.
    """
    x = ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    x = x + np.uint64((seed * 0xD1B54A32D192ED03 + stream * 0x94D049BB133111EB) % (1 << 64))
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


# =================================================================================
# per-sample parameters: acquisition, anatomy, findings
# =================================================================================


def _apply_view(p: _Params) -> _Params:
    """Parameters as seen on the film: AP (portable, supine or semi-erect) films have
    lower contrast (gain x0.87, more scatter: +0.03 offset) and a shallower inspiration
    (shorter lungs, higher diaphragm) than PA films. (The magnified heart is in
    :func:`_heart_scale`.)"""
    ap = p.ap.astype(np.float64)
    return replace(
        p,
        gain=p.gain * (1.0 - 0.13 * ap),
        bias=p.bias + 0.03 * ap,
        lung_b=p.lung_b - 0.04 * ap,
        dome=p.dome - 0.05 * ap,
    )


def _heart_scale(p: _Params) -> np.ndarray:
    """Drawn heart size: the subject's normal size, x1.2/1.36/1.55 for mild/moderate/large
    cardiomegaly, x1.1 on AP films (magnification of the anterior heart)."""
    cm = np.where(p.present[:, CARDIOMEGALY], np.array([1.20, 1.36, 1.55])[p.severity[:, CARDIOMEGALY]], 1.0)
    return p.heart_base * cm * np.where(p.ap, 1.10, 1.0)


def _nodule_mm(p: _Params) -> np.ndarray:
    """Nodule diameter in mm: 4-6 (mild), 8-12 (moderate), 15-25 (large)."""
    sev = p.severity[:, NODULE]
    lo = np.array([4.0, 8.0, 15.0])[sev]
    hi = np.array([6.0, 12.0, 25.0])[sev]
    return np.round(lo + (hi - lo) * p.nodule_u).astype(np.int64)


@dataclass
class _Params:
    """Everything about one chunk of samples, as (B,) or (B, 9) arrays."""

    ap: np.ndarray  # bool: AP (portable) view
    acuity: np.ndarray  # 0 outpatient, 1 inpatient, 2 ICU
    angle: np.ndarray  # rotation, radians
    shift_u: np.ndarray
    shift_v: np.ndarray
    mag: np.ndarray  # magnification
    gain: np.ndarray  # PA values; see _apply_view for AP films
    bias: np.ndarray
    noise: np.ndarray
    body_a: np.ndarray
    lung_cx: np.ndarray
    lung_a: np.ndarray
    lung_b: np.ndarray
    dome: np.ndarray  # level of the right hemidiaphragm dome (left is lower)
    heart_base: np.ndarray  # the subject's normal heart size (~1)
    rib_period: np.ndarray
    rib_phase: np.ndarray
    tex_off: np.ndarray  # (B, 6) texture / noise crop offsets in [0, 1)
    present: np.ndarray  # (B, 9) bool
    severity: np.ndarray  # (B, 9) int, 0 mild .. 2 large
    side: np.ndarray  # (B, 9) int, 0 right, 1 left, 2 bilateral, -1 n/a
    uncertain: np.ndarray  # (B, 9) bool, report hedges (present findings only)
    negated: np.ndarray  # (B, 9) bool, report negates (absent findings only)
    cons_lobe: np.ndarray  # lobe index of the consolidation
    nodule_lobe: np.ndarray
    nodule_du: np.ndarray
    nodule_dv: np.ndarray
    nodule_u: np.ndarray  # where in its severity's size range the nodule falls
    devices: np.ndarray  # bit mask of _ETT | _NGT | _CVC | _PACER
    ett_tip: np.ndarray
    rib_u: np.ndarray  # height of the fractured rib within the lateral lung, [0, 1)
    text_seed: np.ndarray


def _pick(rng: np.random.Generator, probs: np.ndarray, size: int) -> np.ndarray:
    """Index drawn from rows of ``probs`` ((B, k) or (k,)), vectorised."""
    cdf = np.cumsum(np.broadcast_to(probs, (size, np.shape(probs)[-1])), axis=1)
    u = rng.random(size)[:, None] * cdf[:, -1:]
    return (u >= cdf).sum(axis=1)


def _sample_params(seed: int, chunk: int, subject: np.ndarray) -> _Params:
    """Draw one chunk's parameters; a fixed number of draws per call keeps it stable.

    Prevalence and co-occurrence (approximate, see the report of the module's tests):
    an acuity level (55% outpatient, 30% inpatient, 15% ICU) drives the view (AP for
    8/45/90%), support devices (2/15/80%), consolidation and edema. Cardiomegaly and
    nodules are per-subject (chronic); edema is much more likely with cardiomegaly;
    effusions with edema (then mostly bilateral) and cardiomegaly; atelectasis with
    effusion (same side); pneumothorax with central lines and rib fractures.
    """
    b = len(subject)
    rng = np.random.default_rng([seed, 0xC4E57, chunk])
    h = [_hash_uniform(seed, subject, s) for s in range(12)]

    acuity = _pick(rng, np.array([0.55, 0.30, 0.15]), b)
    ap = rng.random(b) < np.array([0.08, 0.45, 0.90])[acuity]

    present = np.zeros((b, _NF), dtype=bool)
    severity = np.zeros((b, _NF), dtype=np.int64)
    side = np.full((b, _NF), _NO_SIDE, dtype=np.int64)
    sev_p = np.array([0.45, 0.35, 0.20])

    # chronic, per subject
    present[:, CARDIOMEGALY] = h[0] < 0.14
    severity[:, CARDIOMEGALY] = np.searchsorted(np.cumsum([0.45, 0.35]), h[1], side="right")
    present[:, NODULE] = h[2] < 0.06
    severity[:, NODULE] = np.searchsorted(np.cumsum([0.4, 0.4]), h[3], side="right")
    nodule_side = (h[4] < 0.5).astype(np.int64)
    side[:, NODULE] = nodule_side
    nodule_lobe = np.where(nodule_side == _RIGHT, (h[5] * 3).astype(np.int64), (h[5] * 2).astype(np.int64))
    nodule_du = (h[6] - 0.5) * 0.14
    nodule_dv = (h[7] - 0.5) * 0.12
    pacer = h[9] < 0.04
    cm = present[:, CARDIOMEGALY]

    # acute, per study (each line draws a fixed number of numbers)
    sick = acuity >= 1
    icu = acuity == 2
    u = rng.random((b, 8))
    present[:, FRACTURE] = u[:, 0] < 0.03 + 0.02 * sick
    p_devices = np.array([0.02, 0.15, 0.80])[acuity]
    any_lines = u[:, 1] < p_devices
    present[:, EDEMA] = u[:, 2] < 0.02 + 0.22 * cm + 0.03 * (acuity == 1) + 0.08 * icu
    present[:, EFFUSION] = u[:, 3] < 0.06 + 0.40 * present[:, EDEMA] + 0.08 * cm + 0.08 * sick
    present[:, ATELECTASIS] = u[:, 4] < 0.06 + 0.35 * present[:, EFFUSION] + 0.05 * sick
    present[:, CONSOLIDATION] = u[:, 5] < 0.04 + 0.06 * sick + 0.05 * icu
    present[:, PNEUMOTHORAX] = u[:, 6] < 0.015 + 0.05 * any_lines + 0.15 * present[:, FRACTURE]

    sev_draw = _pick(rng, sev_p, b * _NF).reshape(b, _NF)
    for f in (EFFUSION, PNEUMOTHORAX, CONSOLIDATION, EDEMA, FRACTURE):
        severity[:, f] = sev_draw[:, f]
    severity[:, ATELECTASIS] = np.minimum(sev_draw[:, ATELECTASIS], _pick(rng, np.array([0.6, 0.3, 0.1]), b))

    s = rng.random((b, 4))
    eff_side = np.where(
        present[:, EDEMA],
        np.where(s[:, 0] < 0.65, _BILATERAL, (s[:, 0] < 0.85).astype(int)),
        _pick(rng, np.array([0.45, 0.35, 0.20]), b),
    )
    side[:, EFFUSION] = eff_side
    own_atel_side = _pick(rng, np.array([0.35, 0.35, 0.30]), b)
    side[:, ATELECTASIS] = np.where(present[:, EFFUSION] & (s[:, 1] < 0.8), eff_side, own_atel_side)
    side[:, PNEUMOTHORAX] = (s[:, 2] < 0.45).astype(np.int64)  # 55% right
    fracture_side = (s[:, 3] < 0.5).astype(np.int64)
    side[:, FRACTURE] = fracture_side
    # a traumatic pneumothorax is on the side of the fractured rib
    both = present[:, FRACTURE] & present[:, PNEUMOTHORAX]
    side[both, PNEUMOTHORAX] = fracture_side[both]
    side[:, EDEMA] = _BILATERAL
    side[:, CONSOLIDATION] = (rng.random(b) < 0.45).astype(np.int64)
    cons_u = rng.random(b)
    cons_lobe = np.where(side[:, CONSOLIDATION] == _RIGHT, (cons_u * 3).astype(np.int64), (cons_u * 2).astype(np.int64))

    d = rng.random((b, 4))
    devices = np.zeros(b, dtype=np.int64)
    devices |= np.where(any_lines & (d[:, 0] < np.where(icu, 0.65, 0.05)), _ETT, 0)
    devices |= np.where(any_lines & (d[:, 1] < np.where(icu, 0.55, 0.35)), _NGT, 0)
    devices |= np.where(any_lines & (d[:, 2] < 0.6), _CVC, 0)
    devices |= np.where(any_lines & (devices == 0), _CVC, 0)
    devices |= np.where(pacer, _PACER, 0)
    present[:, DEVICES] = devices != 0
    ett_tip = -0.50 + 0.10 * d[:, 3]
    rib_u = rng.random(b)

    # Which present findings the report hedges (only mild ones: the hedged phrasing
    # says "small"/"mild"/"nondisplaced", which must stay true), which absent ones it negates.
    hedge_p = np.array([0.35, 0.40, 0.45, 0.45, 0.40, 0.45, 0.40, 0.0, 0.50])
    uncertain = present & (severity == 0) & (rng.random((b, _NF)) < hedge_p)
    negate_p = np.array([0.70, 0.80, 0.80, 0.60, 0.20, 0.12, 0.45, 0.04, 0.30])
    negated = ~present & (rng.random((b, _NF)) < negate_p)

    # acquisition and anatomy
    a = rng.random((b, 12))
    angle = np.deg2rad(np.clip(rng.normal(0.0, 1.8, b), -5.0, 5.0))
    return _Params(
        ap=ap,
        acuity=acuity,
        angle=angle,
        shift_u=(a[:, 0] - 0.5) * 0.08,
        shift_v=(a[:, 1] - 0.5) * 0.08,
        mag=0.95 + 0.10 * a[:, 2],
        gain=0.85 + 0.20 * a[:, 3],
        bias=0.03 + 0.06 * a[:, 4],
        noise=_NOISE_RANGE[0] + (_NOISE_RANGE[1] - _NOISE_RANGE[0]) * a[:, 5] ** 1.5,
        body_a=0.90 + 0.08 * h[11],
        lung_cx=0.36 + 0.04 * a[:, 6],
        lung_a=0.27 + 0.04 * a[:, 7],
        lung_b=0.80 + 0.06 * a[:, 8],
        dome=0.38 + 0.08 * a[:, 9],
        heart_base=0.95 + 0.10 * h[10],
        rib_period=0.165 + 0.02 * a[:, 10],
        rib_phase=a[:, 11],
        tex_off=rng.random((b, 6)),
        present=present,
        severity=severity,
        side=side,
        uncertain=uncertain,
        negated=negated,
        cons_lobe=cons_lobe,
        nodule_lobe=nodule_lobe,
        nodule_du=nodule_du,
        nodule_dv=nodule_dv,
        nodule_u=h[8],
        devices=devices,
        ett_tip=ett_tip,
        rib_u=rib_u,
        text_seed=rng.integers(0, 2**62, size=b),
    )


# =================================================================================
# rendering
# =================================================================================


class _Frame:
    """Per-sample similarity transform from pixel coordinates to world coordinates.

    ``U = m11 u + m12 v + t1``, ``V = m21 u + m22 v + t2`` with pixel-centre
    coordinates ``u, v`` in (-1, 1). A quadratic (or linear) form in (U, V) is then a
    quadratic form in (u, v); its u-only and v-only parts are (B, 1, W) and (B, H, 1)
    arrays, so the whole (B, H, W) field costs one multiply of the uv cross term and
    two broadcast adds.
    """

    def __init__(self, size: int, angle: np.ndarray, mag: np.ndarray, su: np.ndarray, sv: np.ndarray) -> None:
        self.size = size
        grid = (np.arange(size, dtype=np.float64) + 0.5) / size * 2.0 - 1.0
        self.g = grid
        self.g2 = grid * grid
        self.uv = (grid[:, None] * grid[None, :]).astype(np.float32)  # [v, u]
        c, s = np.cos(angle) / mag, np.sin(angle) / mag
        self.m11, self.m12, self.m21, self.m22 = c, s, -s, c
        self.t1, self.t2 = -su, -sv
        self.pixel = 2.0 / size  # one pixel in (unmagnified) world units

    def sub(self, idx: np.ndarray) -> _Frame:
        f = object.__new__(_Frame)
        f.__dict__.update(self.__dict__)
        for k in ("m11", "m12", "m21", "m22", "t1", "t2"):
            setattr(f, k, getattr(self, k)[idx])
        return f

    def __len__(self) -> int:
        return len(self.m11)

    def quad(self, cuu, cvv, cuv, cu, cv, c0) -> np.ndarray:  # noqa: ANN001 (arrays or floats)
        """cuu U^2 + cvv V^2 + cuv UV + cu U + cv V + c0 on the grid, (B, H, W) float32."""
        m11, m12, m21, m22, t1, t2 = self.m11, self.m12, self.m21, self.m22, self.t1, self.t2
        au = cuu * m11 * m11 + cvv * m21 * m21 + cuv * m11 * m21
        av = cuu * m12 * m12 + cvv * m22 * m22 + cuv * m12 * m22
        auv = 2 * cuu * m11 * m12 + 2 * cvv * m21 * m22 + cuv * (m11 * m22 + m12 * m21)
        bu = 2 * cuu * m11 * t1 + 2 * cvv * m21 * t2 + cuv * (m11 * t2 + m21 * t1) + cu * m11 + cv * m21
        bv = 2 * cuu * m12 * t1 + 2 * cvv * m22 * t2 + cuv * (m12 * t2 + m22 * t1) + cu * m12 + cv * m22
        c = cuu * t1 * t1 + cvv * t2 * t2 + cuv * t1 * t2 + cu * t1 + cv * t2 + c0
        b = len(self)
        au, av, auv, bu, bv, c = (
            np.broadcast_to(np.asarray(x, dtype=np.float64), (b,)) for x in (au, av, auv, bu, bv, c)
        )
        row = (au[:, None] * self.g2 + bu[:, None] * self.g).astype(np.float32)[:, None, :]
        col = (av[:, None] * self.g2 + bv[:, None] * self.g + c[:, None]).astype(np.float32)[:, :, None]
        out = np.multiply(auv.astype(np.float32)[:, None, None], self.uv)
        out += row
        out += col
        return out

    def lin(self, cu, cv, c0) -> np.ndarray:  # noqa: ANN001
        """cu U + cv V + c0 on the grid (one broadcast add)."""
        b = len(self)
        bu = np.broadcast_to(cu * self.m11 + cv * self.m21, (b,))
        bv = np.broadcast_to(cu * self.m12 + cv * self.m22, (b,))
        c = np.broadcast_to(cu * self.t1 + cv * self.t2 + c0, (b,))
        row = (bu[:, None] * self.g).astype(np.float32)[:, None, :]
        col = (bv[:, None] * self.g + c[:, None]).astype(np.float32)[:, :, None]
        return row + col

    def ellipse(self, cx, cy, a, b, phi=0.0, edge_px: float = 1.2) -> np.ndarray:  # noqa: ANN001
        """Soft mask of a (rotated) ellipse: 1 inside, 0 outside, ~edge_px pixels ramp."""
        c, s = np.cos(phi), np.sin(phi)
        ia, ib = 1.0 / np.square(a), 1.0 / np.square(b)
        qa = c * c * ia + s * s * ib
        qb = s * s * ia + c * c * ib
        qc = 2 * c * s * (ia - ib)
        # ramp 0..1 over edge_px pixels at the boundary: k (1 - q), q ~ 1 + 2 d / min(a, b)
        k = -np.minimum(a, b) / (2.0 * edge_px * self.pixel)
        out = self.quad(
            k * qa,
            k * qb,
            k * qc,
            k * (-2 * qa * cx - qc * cy),
            k * (-2 * qb * cy - qc * cx),
            k * (qa * cx * cx + qb * cy * cy + qc * cx * cy) - k,
        )
        return np.clip(out, 0.0, 1.0, out=out)

    def step(self, cuu, cv, cu, c0, edge_px: float) -> np.ndarray:  # noqa: ANN001
        """Soft indicator of ``cuu U^2 + cu U + cv V + c0 > 0`` (|cv| = 1: V-distance)."""
        k = 1.0 / (edge_px * self.pixel)
        out = self.quad(k * cuu, 0.0, 0.0, k * cu, k * cv, k * c0)
        return np.clip(out, 0.0, 1.0, out=out)

    def segment(self, ax, ay, bx, by, width: float, edge_px: float = 0.8) -> np.ndarray:  # noqa: ANN001
        """Soft mask of a line segment of half-width ``width`` (world units)."""
        dx, dy = bx - ax, by - ay
        l2 = dx * dx + dy * dy
        t = self.lin(dx / l2, dy / l2, -(ax * dx + ay * dy) / l2)
        np.clip(t, 0.0, 1.0, out=t)
        pu = self.lin(1.0, 0.0, -ax)
        pu -= _col(dx) * t
        pv = self.lin(0.0, 1.0, -ay)
        pv -= _col(dy) * t
        pu *= pu
        pv *= pv
        pu += pv  # squared distance to the segment
        e = edge_px * self.pixel
        w = width + e / 2
        pu -= w * w
        pu *= -1.0 / (2 * w * e)
        return np.clip(pu, 0.0, 1.0, out=pu)


def _col(x: np.ndarray | float) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).reshape(-1, 1, 1)


@lru_cache(maxsize=8)
def _textures(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Two fixed (2*size)^2 textures, cropped at random per sample.

    ``vessels``: the zero-crossings of smooth noise form a branching, curvy network
    that reads as pulmonary vascular markings (a pneumothorax has none).
    ``patches``: smooth blotches in [0, 1] that make consolidation patchy.
    """
    rng = np.random.default_rng(0x7E87)

    def smooth(width: int) -> np.ndarray:
        x = rng.standard_normal((2 * size, 2 * size))
        for _ in range(3):
            for axis in (0, 1):
                c = np.cumsum(np.concatenate([x, x.take(range(width), axis=axis)], axis=axis), axis=axis)
                x = c.take(range(width, c.shape[axis]), axis=axis) - c.take(range(c.shape[axis] - width), axis=axis)
        return x / x.std()

    v = smooth(max(2, size // 13))
    vessels = np.clip(1.0 - np.abs(v) / 0.25, 0.0, 1.0)
    p = smooth(max(2, size // 10))
    patches = np.clip(0.5 + 0.45 * p, 0.0, 1.0)
    return vessels.astype(np.float32), patches.astype(np.float32)


@lru_cache(maxsize=8)
def _noise_tile(size: int) -> np.ndarray:
    """A fixed field of white Gaussian noise, cropped at a random offset per sample.

    Drawing fresh normals costs ~0.15 ms per 128 px image (15% of the budget); a
    (8*size)^2 tile offers ~50 * size^2 distinct crops, more than enough variety for
    sensor noise, at the cost of one copy.
    """
    rng = np.random.default_rng(0x4015E)
    return rng.standard_normal((8 * size, 8 * size), dtype=np.float32)


def _crop(tile: np.ndarray, offsets: np.ndarray, size: int) -> np.ndarray:
    span = tile.shape[0] - size
    oy = (offsets[:, 0] * span).astype(np.int64)
    ox = (offsets[:, 1] * span).astype(np.int64)
    out = np.empty((len(offsets), size, size), dtype=np.float32)
    for i in range(len(offsets)):
        out[i] = tile[oy[i] : oy[i] + size, ox[i] : ox[i] + size]
    return out


def _add(img: np.ndarray, mask: np.ndarray, density: np.ndarray | float, idx: np.ndarray | None = None) -> None:
    """img += density * mask (on the rows ``idx`` if given); ``mask`` is consumed."""
    mask *= _col(density) if np.ndim(density) else np.float32(density)
    if idx is None:
        img += mask
    else:
        img[idx] += mask


def _sgn(side: np.ndarray) -> np.ndarray:
    """World-U sign of a patient side: the patient's right is image-left (U < 0)."""
    return np.where(side == _RIGHT, -1.0, 1.0)


def _mark(
    masks: np.ndarray, finding: int, soft: np.ndarray, idx: np.ndarray | None = None, level: float = 0.5
) -> None:
    """Adds the pixels where ``soft`` (a finding's drawn shape, 0..1) exceeds ``level`` to the finding's mask.

    Called just before the shape is consumed by :func:`_add`, so each mask is exactly
    the region the finding changed (its half-maximum outline), not a second drawing.
    Structures about a pixel thin (nodules, plate atelectasis, lines) never reach 1/2
    at low resolution; they are marked where drawn at all (``level`` 0.2). A shape that
    stays below ``level`` everywhere (a small finding at 64 px) still marks its
    strongest pixel, so a finding that is drawn never has an empty mask.
    """
    if len(soft) == 0:
        return
    rows = np.arange(len(masks)) if idx is None else idx
    hit = soft > level
    flat = soft.reshape(len(soft), -1)
    faint = np.flatnonzero(~hit.reshape(len(hit), -1).any(axis=1) & (flat.max(axis=1) > 0.0))
    if len(faint):
        peak = np.zeros_like(hit).reshape(len(hit), -1)
        peak[faint, flat[faint].argmax(axis=1)] = True
        hit |= peak.reshape(hit.shape)
    masks[rows, finding] |= hit


def _render(p: _Params, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, size, size) uint8 images and (B, findings, size, size) bool finding masks for one sub-batch."""
    p = _apply_view(p)
    fr = _Frame(size, p.angle, p.mag, p.shift_u, p.shift_v)
    vessels, patches = _textures(size)
    sev, side, present = p.severity, p.side, p.present
    masks = np.zeros((len(p.ap), _NF, size, size), dtype=bool)

    # --- anatomy ---------------------------------------------------------------
    img = fr.ellipse(0.0, 0.0, p.body_a, 1.9, edge_px=2.0)  # barrel-shaped torso
    img *= np.float32(0.42)  # body soft tissue
    heart_scale = _heart_scale(p)
    heart_cx = 0.07 + 0.15 * (heart_scale - 1.0)
    heart_cy = 0.25 - 0.05 * (heart_scale - 1.0)
    heart = fr.ellipse(heart_cx, heart_cy, 0.285 * heart_scale, 0.22 * heart_scale**0.7, phi=0.32, edge_px=1.2)
    not_heart = 1.0 - heart
    big_heart = np.flatnonzero(present[:, CARDIOMEGALY])
    _mark(masks, CARDIOMEGALY, heart[big_heart], big_heart)  # the enlarged cardiac silhouette
    _add(img, heart, 0.09)
    lungs = []
    for s, sign in ((_RIGHT, -1.0), (_LEFT, 1.0)):
        scale = 1.0 if s == _RIGHT else 0.95
        ell = fr.ellipse(sign * p.lung_cx, _LUNG_CY, p.lung_a * scale, p.lung_b, phi=sign * 0.06, edge_px=1.5)
        dome_v = p.dome + (0.0 if s == _RIGHT else 0.05)  # the left hemidiaphragm is lower
        dome_c = sign * (p.lung_cx - 0.02)
        # lung is above the dome: dome_v + kd (U - c)^2 - V > 0
        kd = 1.1
        ell *= fr.step(kd, -1.0, -2 * kd * dome_c, kd * dome_c * dome_c + dome_v, edge_px=1.5)
        ell *= not_heart  # the heart displaces lung
        lungs.append(ell)
    lung = lungs[0] + lungs[1]
    _add(img, fr.ellipse(0.0, 0.1, 0.085, 5.0, edge_px=2.5), 0.09)  # mediastinum and spine
    _add(img, fr.ellipse(0.0, -0.80, 0.026, 0.50, edge_px=1.0), -0.12)  # trachea (air)
    _add(img, fr.ellipse(0.12, -0.36, 0.075, 0.07, edge_px=1.2), 0.08)  # aortic knob
    _add(img, fr.ellipse(0.30, p.dome + 0.20, 0.09, 0.055, edge_px=1.5), -0.12)  # gastric bubble
    for sign in (-1.0, 1.0):  # clavicles: medial ends lower, lateral ends up
        _add(img, fr.ellipse(sign * 0.34, -0.74, 0.31, 0.03, phi=-sign * 0.22, edge_px=1.0), 0.20)

    # --- findings that change aeration (before markings) ---------------------------
    aerated = lung.copy()
    fluids = []  # (rows, fluid mask): ribs show faintly through pleural fluid
    eff = np.flatnonzero(present[:, EFFUSION])
    for s in (_RIGHT, _LEFT):
        idx = eff[(side[eff, EFFUSION] == s) | (side[eff, EFFUSION] == _BILATERAL)]
        if len(idx) == 0:
            continue
        sign = -1.0 if s == _RIGHT else 1.0
        f = fr.sub(idx)
        top = np.array([0.43, 0.20, -0.10])[sev[idx, EFFUSION]] + (p.dome[idx] - 0.42)
        mk = 0.45  # meniscus: the fluid line climbs toward the lateral wall
        mc = sign * 0.12
        # fluid where V - top + mk (U - mc)^2 > 0
        fluid = f.step(mk, 1.0, -2 * mk * mc, mk * mc * mc - top, edge_px=2.5)
        fluid *= lungs[s][idx]
        aerated[idx] -= fluid
        fluids.append((idx, fluid.copy()))
        _mark(masks, EFFUSION, fluid, idx)
        _add(img, fluid, 0.30, idx)

    ptx = np.flatnonzero(present[:, PNEUMOTHORAX])
    if len(ptx):
        f = fr.sub(ptx)
        s_ptx = side[ptx, PNEUMOTHORAX]
        sign = _sgn(s_ptx)
        frac = np.array([0.90, 0.78, 0.60])[sev[ptx, PNEUMOTHORAX]]
        la = p.lung_a[ptx] * np.where(s_ptx == _RIGHT, 1.0, 0.95)
        cx = sign * p.lung_cx[ptx] - sign * (1 - frac) * la * 0.9  # collapses medially ...
        cy = _LUNG_CY + (1 - frac) * p.lung_b[ptx] * 0.7  # ... and toward the base
        inner = f.ellipse(cx, cy, la * frac, p.lung_b[ptx] * frac, edge_px=1.0)
        lung_side = np.where((s_ptx == _RIGHT)[:, None, None], lungs[0][ptx], lungs[1][ptx])
        rim = lung_side * (1.0 - inner)
        aerated[ptx] -= rim
        np.clip(aerated, 0.0, 1.0, out=aerated)
        line = f.ellipse(cx, cy, la * frac + 0.012, p.lung_b[ptx] * frac + 0.012, edge_px=0.8) - inner
        line *= lung_side
        _mark(masks, PNEUMOTHORAX, rim, ptx)
        _add(img, rim, -0.12, ptx)
        _add(img, line, 0.10, ptx)

    # air, lung markings (thicker with edema), ribs
    img -= lung * np.float32(0.30)  # air (``lung`` is still needed below)
    marks = _crop(vessels, p.tex_off[:, :2], size)
    marks *= aerated
    amp = 0.07 * (1.0 + np.where(present[:, EDEMA], 0.3 + 0.3 * sev[:, EDEMA], 0.0))
    _add(img, marks, amp)

    kr = _RIB_CURVE
    phase = fr.quad(-kr / p.rib_period, 0.0, 0.0, 0.0, 1.0 / p.rib_period, p.rib_phase + _RIB_OFFSET / p.rib_period)
    frx = np.flatnonzero(present[:, FRACTURE])
    gap = None
    if len(frx):
        # the rib arc k (phase == k) broken at the lateral wall: a step and a gap
        f = fr.sub(frx)
        sign = _sgn(side[frx, FRACTURE])
        per = p.rib_period[frx]
        uf, vf, k, _ = _fracture_site(p, frx)
        # shift rib k's own cell of the phase (|phase - k| < 1/2) lateral of the break:
        # the lateral fragment is displaced while the neighbouring ribs stay intact
        cell = phase[frx] - _col(k)
        np.abs(cell, out=cell)
        cell *= -10.0
        cell += 4.5  # 1 for |phase - k| < 0.35, ramping to 0 at 0.45
        np.clip(cell, 0.0, 1.0, out=cell)
        cell *= f.step(0.0, 0.0, sign, -sign * uf, edge_px=0.7)  # lateral of the break
        cell *= _col(np.array([0.12, 0.22, 0.30])[sev[frx, FRACTURE]])  # displacement / rib spacing
        phase[frx] -= cell
        gap_w = np.array([0.012, 0.024, 0.036])[sev[frx, FRACTURE]]
        gap = f.ellipse(uf, vf, gap_w, 0.4 * per, edge_px=0.7)
        # the annotated fracture site: the break and the displaced rib end around it (the gap
        # alone is narrower than a pixel at low resolution)
        _mark(masks, FRACTURE, f.ellipse(uf, vf, gap_w + 0.04, 0.5 * per, edge_px=0.7), frx)
    np.floor(phase, out=(fl := np.empty_like(phase)))
    phase -= fl
    phase -= 0.5
    np.abs(phase, out=phase)  # 0 between ribs .. 0.5 on a rib
    phase -= 0.29
    phase *= 6.0
    np.clip(phase, 0.0, 1.0, out=phase)
    if gap is not None:
        phase[frx] *= 1.0 - gap
    phase *= lung
    for idx, fluid in fluids:
        fluid *= -0.6
        fluid += 1.0
        phase[idx] *= fluid
    _add(img, phase, 0.14)

    # --- other findings --------------------------------------------------------------
    cons = np.flatnonzero(present[:, CONSOLIDATION])
    if len(cons):
        f = fr.sub(cons)
        s_c = side[cons, CONSOLIDATION]
        sign = _sgn(s_c)
        cx, cy = _lobe_centre(p, cons, s_c, p.cons_lobe[cons])
        r = np.array([0.10, 0.16, 0.23])[sev[cons, CONSOLIDATION]]
        blob = f.ellipse(cx, cy, 1.15 * r, r, phi=sign * 0.4, edge_px=4.0)
        blob *= np.where((s_c == _RIGHT)[:, None, None], lungs[0][cons], lungs[1][cons])
        _mark(masks, CONSOLIDATION, blob, cons)  # the patch's extent (before its texture)
        blob *= _crop(patches, p.tex_off[cons, 2:], size)
        _add(img, blob, np.array([0.20, 0.27, 0.32])[sev[cons, CONSOLIDATION]], cons)

    nod = np.flatnonzero(present[:, NODULE])
    if len(nod):
        f = fr.sub(nod)
        cx, cy = _lobe_centre(p, nod, side[nod, NODULE], p.nodule_lobe[nod])
        cx = cx + p.nodule_du[nod]
        cy = cy + p.nodule_dv[nod]
        r = _nodule_mm(p)[nod] / 25.0 * 0.06  # 25 mm ~ 0.06 world units, ~4 px at 128
        r = np.maximum(r, 0.022)
        blob = f.ellipse(cx, cy, r, r, edge_px=1.0)
        _mark(masks, NODULE, blob, nod, level=0.2)
        _add(img, blob, np.array([0.24, 0.30, 0.34])[sev[nod, NODULE]], nod)

    atel = np.flatnonzero(present[:, ATELECTASIS])
    for s in (_RIGHT, _LEFT):
        idx = atel[(side[atel, ATELECTASIS] == s) | (side[atel, ATELECTASIS] == _BILATERAL)]
        if len(idx) == 0:
            continue
        sign = -1.0 if s == _RIGHT else 1.0
        f = fr.sub(idx)
        w = np.array([0.016, 0.026, 0.045])[sev[idx, ATELECTASIS]]
        vb = p.dome[idx] + (0.0 if s == _RIGHT else 0.05) - 0.10
        # a plate slightly tilted, lateral end higher: |V - vb + tilt U| < w
        band = f.ellipse(sign * p.lung_cx[idx], vb, 0.5, w, phi=-sign * 0.12, edge_px=1.0)
        band *= lungs[s][idx]
        _mark(masks, ATELECTASIS, band, idx, level=0.2)
        _add(img, band, 0.26, idx)

    ed = np.flatnonzero(present[:, EDEMA])
    if len(ed):
        f = fr.sub(ed)
        haze = f.ellipse(0.02, 0.02, 0.62, 0.55, edge_px=0.62 / (2 * f.pixel))  # smooth perihilar bat wing
        haze *= haze
        haze += 0.25
        haze *= lung[ed]
        _mark(masks, EDEMA, haze, ed)
        _add(img, haze, np.array([0.12, 0.20, 0.28])[sev[ed, EDEMA]], ed)

    dev = np.flatnonzero(present[:, DEVICES])
    if len(dev):
        _draw_devices(img, fr, p, dev, masks)

    # --- acquisition -----------------------------------------------------------------
    img *= _col(p.gain * 255.0)
    img += _col(p.bias * 255.0)
    noise = _crop(_noise_tile(size), p.tex_off[:, 4:], size)
    noise *= _col(p.noise * 255.0)
    img += noise
    np.clip(img, 0.0, 255.0, out=img)
    return img.astype(np.uint8), masks


def _fracture_site(p: _Params, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """World (U, V) of the rib break, the rib arc's phase index and its (posterior) number.

    The break is on the lateral lung at a height set by ``rib_u``, snapped to the
    centre line of the nearest rib arc so the step always cuts a rib.
    """
    sign = _sgn(p.side[idx, FRACTURE])
    per = p.rib_period[idx]
    uf = sign * (p.lung_cx[idx] + 0.30 * p.lung_a[idx])
    v_target = -0.40 + 0.60 * p.rib_u[idx]
    k = np.round((v_target - _RIB_CURVE * uf * uf) / per + p.rib_phase[idx] + _RIB_OFFSET / per)
    vf = (k - p.rib_phase[idx] - _RIB_OFFSET / per) * per + _RIB_CURVE * uf * uf
    number = np.clip(np.round((vf + 0.80) / per) + 2, 3, 10).astype(np.int64)
    return uf, vf, k, number


def _lobe_centre(p: _Params, idx: np.ndarray, side: np.ndarray, lobe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sign = _sgn(side)
    du = np.array([[_LOBES[s][min(k, len(_LOBES[s]) - 1)][1] for k in range(3)] for s in (_RIGHT, _LEFT)])
    dv = np.array([[_LOBES[s][min(k, len(_LOBES[s]) - 1)][2] for k in range(3)] for s in (_RIGHT, _LEFT)])
    return sign * (p.lung_cx[idx] + du[side, lobe]), dv[side, lobe] + 0.5 * (p.dome[idx] - 0.42)


def _draw_devices(img: np.ndarray, fr: _Frame, p: _Params, dev: np.ndarray, masks: np.ndarray) -> None:
    """Tubes and lines as thin bright polylines; the pacemaker as a small bright box."""
    for bit, points, width, density in (
        (_ETT, ((0.0, -1.1), (0.0, None)), 0.011, 0.40),
        (_NGT, ((0.03, -1.1), (0.06, 0.50), (0.30, 0.64)), 0.009, 0.40),
        (_CVC, ((-0.42, -1.05), (-0.13, -0.56), (-0.07, -0.18)), 0.008, 0.40),
        (_PACER, ((0.52, -0.60), (0.14, -0.42), (0.0, 0.05), (0.14, 0.36)), 0.007, 0.45),
    ):
        idx = dev[(p.devices[dev] & bit) != 0]
        if len(idx) == 0:
            continue
        f = fr.sub(idx)
        acc = None
        for (ax, ay), (bx, by) in zip(points[:-1], points[1:], strict=True):
            by = p.ett_tip[idx] if by is None else np.full(len(idx), by)
            seg = f.segment(np.full(len(idx), ax), np.full(len(idx), ay), np.full(len(idx), bx), by, width)
            acc = seg if acc is None else np.maximum(acc, seg, out=acc)
        if bit == _PACER:
            box = f.ellipse(0.55, -0.62, 0.085, 0.06, edge_px=0.8)
            box = np.sqrt(box, out=box)  # flatter, brighter can
            acc = np.maximum(acc, box, out=acc)
            density = np.float32(0.55)
        _mark(masks, DEVICES, acc, idx, level=0.2)
        _add(img, acc, density, idx)


# =================================================================================
# reports
# =================================================================================

_SIZE = {
    EFFUSION: (("small", "trace"), ("moderate", "moderate-sized"), ("large",)),
    PNEUMOTHORAX: (("small", "tiny"), ("moderate", "moderate-sized"), ("large",)),
}
_ORD = {3: "3rd", 4: "4th", 5: "5th", 6: "6th", 7: "7th", 8: "8th", 9: "9th", 10: "10th"}


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def _a(word: str) -> str:
    """The indefinite article for ``word`` ("An 8 mm", "A 12 mm", "An 11 mm")."""
    vowel = word[0].lower() in "aeiou8" or word.split(" ")[0] in ("11", "18")
    return "An" if vowel else "A"


def _report(p: _Params, i: int) -> tuple[str, str]:
    """(findings, impression) of sample ``i`` of the chunk; both agree with its labels.

    One sentence per finding (plus optional combined negations), so the
    mention of every label is unambiguous: present findings are stated with side and
    size, hedged ones carry a hedge cue, negated ones start with "No".
    """
    r = random.Random(int(p.text_seed[i]))
    ch = r.choice
    present = p.present[i]
    unc = p.uncertain[i]
    neg = p.negated[i]
    sev = p.severity[i]
    side = p.side[i]
    ap = bool(p.ap[i])

    def side_word(f: int) -> str:
        return SIDES[int(side[f])]

    lines: list[str] = []  # positive / hedged findings, in reading order
    imp: list[str] = []

    if ap:
        pre = ch(
            (
                "Portable AP view of the chest.",
                "Single portable AP chest radiograph.",
                "AP upright view of the chest.",
                "",
            )
        )
    else:
        pre = ch(("PA view of the chest.", "Frontal view of the chest.", "", ""))

    # devices
    if present[DEVICES]:
        d = int(p.devices[i])
        if d & _ETT:
            cm = int(round((-0.25 - p.ett_tip[i]) * 20 + 3))
            lines.append(
                ch(
                    (
                        f"Endotracheal tube terminates approximately {cm} cm above the carina.",
                        f"The endotracheal tube tip is {cm} cm above the carina.",
                    )
                )
            )
        if d & _NGT:
            lines.append(
                ch(
                    (
                        "Enteric tube courses below the diaphragm with the tip in the stomach.",
                        "A nasogastric tube extends into the stomach.",
                    )
                )
            )
        if d & _CVC:
            lines.append(
                ch(
                    (
                        "Right internal jugular central venous catheter terminates in the mid SVC.",
                        "Right IJ central line with tip in the lower SVC.",
                    )
                )
            )
        if d & _PACER:
            lines.append(
                ch(
                    (
                        "Left chest wall pacemaker with leads in the right atrium and right ventricle.",
                        "Left-sided pacemaker device with leads terminating in the right heart.",
                    )
                )
            )
        if d == _PACER:
            imp.append(ch(("Pacemaker in place.", "Support devices as above.")))
        else:
            imp.append(
                ch(
                    (
                        "Support devices in standard position.",
                        "Lines and tubes as described above.",
                        "Support devices as above.",
                    )
                )
            )

    # lungs
    if present[CONSOLIDATION]:
        lobe = _LOBES[int(side[CONSOLIDATION])][int(p.cons_lobe[i])][0]
        if unc[CONSOLIDATION]:
            s = ch(
                (
                    f"Patchy opacity in the {lobe} may represent early consolidation.",
                    f"Possible consolidation in the {lobe}.",
                    f"Subtle airspace opacity in the {lobe}; consolidation cannot be excluded.",
                )
            )
            imp.append(f"Possible {lobe} consolidation.")
        else:
            adj = ("Small focal", "Focal", "Dense")[sev[CONSOLIDATION]]
            s = ch(
                (
                    f"{adj} consolidation in the {lobe}.",
                    f"{adj} airspace opacity in the {lobe}.",
                    f"There is {adj.lower()} consolidation of the {lobe}.",
                )
            )
            imp.append(ch((f"{_cap(lobe)} consolidation.", f"{adj} {lobe} consolidation.")))
        lines.append(s)
    if present[EDEMA]:
        if unc[EDEMA]:
            s = ch(
                (
                    "Perihilar haziness may represent mild pulmonary edema.",
                    "Possible mild interstitial edema.",
                    "Mild pulmonary vascular congestion is possible.",
                )
            )
            imp.append("Possible mild pulmonary edema.")
        else:
            s = ch(
                [
                    (
                        "Mild pulmonary vascular congestion.",
                        "Mild interstitial edema.",
                        "Mild bilateral interstitial pulmonary edema.",
                    ),
                    ("Moderate pulmonary edema.", "Moderate bilateral perihilar pulmonary edema."),
                    ("Severe pulmonary edema.", "Marked bilateral perihilar alveolar edema."),
                ][sev[EDEMA]]
            )
            imp.append(("Mild", "Moderate", "Severe")[sev[EDEMA]] + " pulmonary edema.")
        lines.append(s)
    if present[NODULE]:
        lobe = _LOBES[int(side[NODULE])][int(p.nodule_lobe[i])][0]
        mm = int(_nodule_mm(p)[i])
        size = f"{mm} mm" if mm < 20 else f"{mm / 10:.1f} cm"
        if unc[NODULE]:
            s = ch(
                (
                    f"Questionable {size} nodular opacity projecting over the {lobe}.",
                    f"Possible {size} nodule in the {lobe}, may represent a nipple shadow.",
                    f"{_a(size)} {size} nodule in the {lobe} cannot be excluded.",
                )
            )
            imp.append(f"Possible {size} {lobe} nodule.")
        else:
            s = ch(
                (
                    f"{size} nodule in the {lobe}.",
                    f"There is {_a(size).lower()} {size} pulmonary nodule in the {lobe}.",
                    f"{_a(size)} {size} rounded nodule projects over the {lobe}.",
                )
            )
            imp.append(f"{_cap(size)} {lobe} pulmonary nodule. Recommend chest CT for further characterization.")
        lines.append(_cap(s))
    if present[ATELECTASIS] and not (
        present[EFFUSION] and not unc[EFFUSION] and not unc[ATELECTASIS] and side[EFFUSION] == side[ATELECTASIS]
    ):
        lines.append(_atelectasis(r, side_word(ATELECTASIS), sev[ATELECTASIS], unc[ATELECTASIS], imp))

    # pleura
    if present[EFFUSION]:
        sw = side_word(EFFUSION)
        bil = side[EFFUSION] == _BILATERAL
        if unc[EFFUSION]:
            angle = "both costophrenic angles" if bil else f"the {sw} costophrenic angle"
            plural = "s" if bil else ""
            s = ch(
                (
                    f"Blunting of {angle} may represent {'small' if bil else 'a small'} pleural effusion{plural}.",
                    f"Possible small {sw} pleural effusion{plural}.",
                    f"{'Small' if bil else 'A small'} {sw} pleural effusion{plural} cannot be excluded.",
                )
            )
            imp.append(f"Possible small {sw} pleural effusion{plural}.")
        else:
            size = ch(_SIZE[EFFUSION][sev[EFFUSION]])
            if bil:
                s = ch(
                    (
                        f"{_cap(size)} bilateral pleural effusions.",
                        f"There are {size} bilateral pleural effusions.",
                        f"{_cap(size)} bilateral effusions.",
                    )
                )
            else:
                s = ch(
                    (
                        f"{_cap(size)} {sw} pleural effusion.",
                        f"There is {_a(size).lower()} {size} {sw} pleural effusion.",
                        f"{_cap(size)} {sw} effusion with blunting of the costophrenic angle.",
                        f"{('Small', 'Moderate', 'Large')[sev[EFFUSION]]} amount of {sw} pleural fluid.",
                    )
                )
            with_atel = present[ATELECTASIS] and not unc[ATELECTASIS] and side[ATELECTASIS] == side[EFFUSION]
            if with_atel:
                joint = " and adjacent " if " with " in s else " with adjacent "
                s = s[:-1] + joint + ("bibasilar " if bil else "") + "atelectasis."
            imp.append(
                f"{_cap(size)} {sw} pleural effusion{'s' if bil else ''}"
                + (" with adjacent atelectasis." if with_atel else ".")
            )
        lines.append(s)
    if present[PNEUMOTHORAX]:
        sw = side_word(PNEUMOTHORAX)
        if unc[PNEUMOTHORAX]:
            s = ch(
                (
                    f"Possible small {sw} apical pneumothorax.",
                    f"A tiny {sw} apical pneumothorax cannot be excluded.",
                    f"Faint lucency at the {sw} apex may represent a small pneumothorax.",
                )
            )
            imp.append(f"Possible small {sw} pneumothorax.")
        else:
            size = ch(_SIZE[PNEUMOTHORAX][sev[PNEUMOTHORAX]])
            where = "apical " if sev[PNEUMOTHORAX] < 2 else ""
            s = ch(
                (
                    f"{_cap(size)} {sw} pneumothorax.",
                    f"There is a {size} {sw} {where}pneumothorax.",
                    f"{_cap(size)} {sw} pneumothorax with a visible pleural line.",
                )
            )
            imp.append(f"{_cap(size)} {sw} pneumothorax.")
        lines.append(s)

    # heart
    if present[CARDIOMEGALY]:
        if unc[CARDIOMEGALY]:
            s = ch(
                (
                    "Heart size is borderline enlarged.",
                    "Borderline cardiomegaly.",
                    "The cardiac silhouette is possibly mildly enlarged.",
                )
            )
            imp.append("Borderline cardiomegaly.")
        else:
            s = ch(
                [
                    (
                        "Mild cardiomegaly.",
                        "The cardiac silhouette is mildly enlarged.",
                        "Mildly enlarged cardiac silhouette.",
                    ),
                    ("Moderate cardiomegaly.", "The heart is moderately enlarged."),
                    (
                        "Marked cardiomegaly.",
                        "The cardiac silhouette is markedly enlarged.",
                        "Severely enlarged cardiac silhouette.",
                    ),
                ][sev[CARDIOMEGALY]]
            )
            imp.append(("Mild", "Moderate", "Marked")[sev[CARDIOMEGALY]] + " cardiomegaly.")
        lines.append(s)

    # bones
    if present[FRACTURE]:
        sw = side_word(FRACTURE)
        rib = _ORD[int(_fracture_site(p, np.array([i]))[3][0])]
        if unc[FRACTURE]:
            s = ch(
                (
                    f"Possible nondisplaced fracture of the {sw} lateral {rib} rib.",
                    f"Cortical irregularity of the {sw} lateral {rib} rib may represent a nondisplaced fracture.",
                )
            )
            imp.append(f"Possible {sw} {rib} rib fracture.")
        else:
            kind = ("nondisplaced", "minimally displaced", "displaced")[sev[FRACTURE]]
            s = ch(
                (
                    f"{_cap(kind)} fracture of the {sw} lateral {rib} rib.",
                    f"There is a {kind} {sw} lateral {rib} rib fracture.",
                )
            )
            imp.append(f"{_cap(kind)} {sw} {rib} rib fracture.")
        lines.append(s)

    # negations
    negs: list[str] = []
    if neg[EFFUSION] and neg[PNEUMOTHORAX] and r.random() < 0.6:
        negs.append(ch(("No pleural effusion or pneumothorax.", "No effusion or pneumothorax.")))
    else:
        if neg[EFFUSION]:
            negs.append(ch(("No pleural effusion.", "There is no pleural effusion.", "No effusion.")))
        if neg[PNEUMOTHORAX]:
            negs.append(ch(("No pneumothorax.", "There is no pneumothorax.")))
    if neg[CONSOLIDATION]:
        negs.insert(
            0, ch(("No focal consolidation.", "There is no focal consolidation.", "No focal airspace consolidation."))
        )
    if neg[EDEMA]:
        negs.append(ch(("No pulmonary edema.", "No evidence of pulmonary edema.")))
    if neg[NODULE]:
        negs.append(ch(("No suspicious pulmonary nodules.", "No pulmonary nodule.")))
    if neg[ATELECTASIS]:
        negs.append("No atelectasis.")
    if neg[CARDIOMEGALY]:
        negs.append(
            ch(
                (
                    "Heart size is normal.",
                    "The cardiac silhouette is normal in size.",
                    "No cardiomegaly.",
                    "The cardiomediastinal silhouette is within normal limits.",
                )
            )
        )
    if neg[FRACTURE]:
        negs.append(
            ch(("No acute osseous abnormality.", "No displaced rib fracture.", "The osseous structures are intact."))
        )
    if neg[DEVICES]:
        negs.append("No support devices.")

    lung_findings = present[[EFFUSION, PNEUMOTHORAX, CONSOLIDATION, NODULE, ATELECTASIS, EDEMA]].any()
    parts = [pre] + lines
    if not lung_findings and r.random() < 0.7:
        parts.append(ch(("The lungs are clear.", "Lungs are clear.", "The lungs are well expanded and clear.")))
    parts += negs
    if not lines and not negs:
        parts.append("The visualized upper abdomen is unremarkable.")
    findings = " ".join(x for x in parts if x)

    acute = present[[EFFUSION, PNEUMOTHORAX, CONSOLIDATION, ATELECTASIS, EDEMA, FRACTURE]].any()
    if not acute:
        imp.append(
            ch(
                (
                    "No acute cardiopulmonary process.",
                    "No acute cardiopulmonary abnormality.",
                    "No acute intrathoracic process.",
                )
            )
        )
    elif neg[PNEUMOTHORAX] and present[FRACTURE] and r.random() < 0.7:
        imp.append("No pneumothorax.")
    return findings, " ".join(imp)


def _atelectasis(r: random.Random, sw: str, sev: int, unc: bool, imp: list[str]) -> str:
    where = "bibasilar" if sw == "bilateral" else f"{sw} basilar"
    base = "both lung bases" if sw == "bilateral" else f"the {sw} lung base"
    if unc:
        imp.append(f"Possible {where} atelectasis.")
        return r.choice((f"Linear opacity at {base} may represent atelectasis.", f"Possible {where} atelectasis."))
    adj = ("Minimal", "Plate-like", "Extensive")[sev]
    imp.append(f"{_cap(where)} atelectasis.")
    return r.choice((f"{adj} {where} atelectasis.", f"{adj} atelectasis at {base}."))


# =================================================================================
# assembling a chunk
# =================================================================================


def _difficulty(p: _Params) -> np.ndarray:
    """Per-sample difficulty in [0, 1]:

    ``0.55 * finding + 0.15 * count + 0.20 * acquisition + 0.10 * hedged`` where

    * ``finding`` = max over present findings of ``hardness[f] * subtlety[severity]``
      (hardness: fracture 1.0, nodule 0.95, pneumothorax 0.9, atelectasis 0.8, edema
      0.75, consolidation 0.65, effusion 0.55, cardiomegaly 0.5, devices 0.15;
      subtlety: mild 1.0, moderate 0.55, large 0.15), 0 for a normal study;
    * ``count`` = min(#findings - 1, 3) / 3: busy images are harder to read fully;
    * ``acquisition`` = mean of the noise level and the contrast loss, each scaled to
      [0, 1] over the generator's range (AP films have lower contrast);
    * ``hedged`` = 1 if the report hedges on any finding (the label is uncertain).

    So a clean, well-exposed normal PA study scores ~0, a large effusion ~0.05-0.2,
    a mild nodule on a noisy AP film ~0.8.
    """
    p = _apply_view(p)
    sub = _VISUAL_HARDNESS[None, :] * _SUBTLETY[p.severity]
    finding = np.where(p.present, sub, 0.0).max(axis=1)
    count = np.clip(p.present.sum(axis=1) - 1, 0, 3) / 3.0
    noise = (p.noise - _NOISE_RANGE[0]) / (_NOISE_RANGE[1] - _NOISE_RANGE[0])
    contrast = (_GAIN_RANGE[1] - p.gain) / (_GAIN_RANGE[1] - _GAIN_RANGE[0])
    acq = np.clip(0.5 * noise + 0.5 * contrast, 0.0, 1.0)
    hedged = p.uncertain.any(axis=1)
    return np.clip(0.55 * finding + 0.15 * count + 0.20 * acq + 0.10 * hedged, 0.0, 1.0).astype(np.float32)


def _labels(p: _Params) -> pa.Array:
    b = len(p.ap)
    values = np.where(p.present, np.where(p.uncertain, -1, 1), 0).astype(np.int8).ravel()
    null = (~p.present & ~p.negated).ravel()
    offsets = pa.array(np.arange(0, b * _NF + 1, _NF, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(values, type=pa.int8(), mask=null))


def _fixed_binary(rows: np.ndarray) -> pa.Array:
    """A binary column of the equal-length byte rows of ``rows`` (B, n), without a copy per row."""
    b, n = rows.shape
    offsets = pa.py_buffer(np.arange(0, b * n + 1, n, dtype=np.int32))
    return pa.Array.from_buffers(pa.binary(), b, [None, offsets, pa.py_buffer(np.ascontiguousarray(rows).reshape(-1))])


def _slice_params(p: _Params, sl: slice) -> _Params:
    return _Params(**{k: v[sl] for k, v in p.__dict__.items()})


def _make_batch(
    schema: pa.Schema, seed: int, chunk: int, start: int, stop: int, subject: np.ndarray, split: np.ndarray, size: int
) -> pa.RecordBatch:
    b = stop - start
    # Always draw a full chunk's parameters, so a short last chunk draws the same
    # numbers for its samples as the same chunk of a longer dataset.
    padded = np.concatenate([subject, np.zeros(CHUNK_SIZE - b, dtype=np.int64)])
    p = _slice_params(_sample_params(seed, chunk, padded), slice(0, b))
    pixels = np.empty((b, size, size), dtype=np.uint8)
    mask_bytes = (_NF * size * size + 7) // 8
    packed = np.empty((b, mask_bytes), dtype=np.uint8)  # per sample: the finding masks, bit-packed
    step = max(1, _RENDER_ELEMENTS // (size * size))
    for s in range(0, b, step):
        sl = slice(s, min(s + step, b))
        pixels[sl], masks = _render(_slice_params(p, sl), size)
        packed[sl] = np.packbits(masks.reshape(len(masks), -1), axis=1)
    reports = [_report(p, i) for i in range(b)]

    ids = range(start, stop)
    image = _fixed_binary(pixels.reshape(b, -1))
    hw = pa.array(np.full(b, size, dtype=np.int32))
    columns = [
        pa.array([f"syn-{i:06d}" for i in ids], pa.string()),
        pa.array([f"p1{int(s):07d}" for s in subject], pa.string()),
        pa.array([f"s5{i:07d}" for i in ids], pa.string()),
        pa.array(np.asarray(SPLITS, dtype=object)[split], pa.string()),
        pa.array(np.where(p.ap, "AP", "PA").astype(object), pa.string()),
        image,
        hw,
        hw,
        pa.array([r[0] for r in reports], pa.string()),
        pa.array([r[1] for r in reports], pa.string()),
        _labels(p),
        _fixed_binary(packed),
        pa.array(_difficulty(p), pa.float32()),
        pa.array(["synthetic"] * b, pa.string()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)
