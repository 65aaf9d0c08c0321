"""Drawing one chunk's parameters: acquisition, anatomy, findings and report cues.

Why one module for all findings: prevalence and co-occurrence tie findings together
(an effusion is likelier with edema, a pneumothorax with a fractured rib), and every
chunk must draw the same numbers in the same order forever (the dataset's definition),
so the draws are listed here in their fixed order, one step per function.

Prevalence and co-occurrence (approximate, see the report of the module's tests): an
acuity level (55% outpatient, 30% inpatient, 15% ICU) drives the view (AP for
8/45/90%), support devices (2/15/80%), consolidation and edema. Cardiomegaly and
nodules are per-subject (chronic); edema is much more likely with cardiomegaly;
effusions with edema (then mostly bilateral) and cardiomegaly; atelectasis with
effusion (same side); pneumothorax with central lines and rib fractures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curriclip.data.synthetic.codes import (
    ATELECTASIS,
    BILATERAL,
    CARDIOMEGALY,
    CONSOLIDATION,
    CVC,
    DEVICES,
    EDEMA,
    EFFUSION,
    ETT,
    FRACTURE,
    N_FINDINGS,
    NGT,
    NO_SIDE,
    NODULE,
    NOISE_RANGE,
    PACER,
    PNEUMOTHORAX,
    RIGHT,
)
from curriclip.data.synthetic.findings import HEDGE_PROBABILITY, NEGATE_PROBABILITY
from curriclip.data.synthetic.params import Params

SEVERITY_PROBABILITY = np.array([0.45, 0.35, 0.20])  # mild, moderate, large


def hash_uniform(seed: int, ids: np.ndarray, stream: int) -> np.ndarray:
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


def pick(rng: np.random.Generator, probs: np.ndarray, size: int) -> np.ndarray:
    """Index drawn from rows of ``probs`` ((B, k) or (k,)), vectorised."""
    cdf = np.cumsum(np.broadcast_to(probs, (size, np.shape(probs)[-1])), axis=1)
    u = rng.random(size)[:, None] * cdf[:, -1:]
    return (u >= cdf).sum(axis=1)


@dataclass
class _Findings:
    """The finding part of :class:`Params`, filled step by step."""

    present: np.ndarray
    severity: np.ndarray
    side: np.ndarray
    cons_lobe: np.ndarray | None = None
    nodule_lobe: np.ndarray | None = None
    nodule_du: np.ndarray | None = None
    nodule_dv: np.ndarray | None = None
    devices: np.ndarray | None = None
    ett_tip: np.ndarray | None = None

    @classmethod
    def empty(cls, b: int) -> _Findings:
        return cls(
            present=np.zeros((b, N_FINDINGS), dtype=bool),
            severity=np.zeros((b, N_FINDINGS), dtype=np.int64),
            side=np.full((b, N_FINDINGS), NO_SIDE, dtype=np.int64),
        )


def sample_params(seed: int, chunk: int, subject: np.ndarray) -> Params:
    """Draw one chunk's parameters; a fixed number of draws per call keeps it stable."""
    b = len(subject)
    rng = np.random.default_rng([seed, 0xC4E57, chunk])
    traits = [hash_uniform(seed, subject, s) for s in range(12)]

    acuity = pick(rng, np.array([0.55, 0.30, 0.15]), b)
    ap = rng.random(b) < np.array([0.08, 0.45, 0.90])[acuity]
    findings = _Findings.empty(b)
    _chronic(findings, traits)
    any_lines = _acute(findings, rng, acuity)
    _devices(findings, rng, any_lines, acuity == 2, pacer=traits[9] < 0.04)
    rib_u = rng.random(b)
    uncertain, negated = _report_cues(rng, findings)
    acquisition_and_anatomy = _acquisition_and_anatomy(rng, traits)
    text_seed = rng.integers(0, 2**62, size=b)  # the last draw
    return Params(
        ap=ap,
        acuity=acuity,
        **acquisition_and_anatomy,
        present=findings.present,
        severity=findings.severity,
        side=findings.side,
        uncertain=uncertain,
        negated=negated,
        cons_lobe=findings.cons_lobe,
        nodule_lobe=findings.nodule_lobe,
        nodule_du=findings.nodule_du,
        nodule_dv=findings.nodule_dv,
        nodule_u=traits[8],
        devices=findings.devices,
        ett_tip=findings.ett_tip,
        rib_u=rib_u,
        text_seed=text_seed,
    )


def _chronic(findings: _Findings, traits: list[np.ndarray]) -> None:
    """Per-subject findings (cardiomegaly, a nodule), from the subject's hashed traits."""
    present, severity, side = findings.present, findings.severity, findings.side
    present[:, CARDIOMEGALY] = traits[0] < 0.14
    severity[:, CARDIOMEGALY] = np.searchsorted(np.cumsum([0.45, 0.35]), traits[1], side="right")
    present[:, NODULE] = traits[2] < 0.06
    severity[:, NODULE] = np.searchsorted(np.cumsum([0.4, 0.4]), traits[3], side="right")
    nodule_side = (traits[4] < 0.5).astype(np.int64)
    side[:, NODULE] = nodule_side
    findings.nodule_lobe = np.where(
        nodule_side == RIGHT, (traits[5] * 3).astype(np.int64), (traits[5] * 2).astype(np.int64)
    )
    findings.nodule_du = (traits[6] - 0.5) * 0.14
    findings.nodule_dv = (traits[7] - 0.5) * 0.12


def _acute(findings: _Findings, rng: np.random.Generator, acuity: np.ndarray) -> np.ndarray:
    """Per-study findings, their severities and sides; returns which samples have lines or tubes."""
    b = len(acuity)
    present, severity = findings.present, findings.severity
    cm = present[:, CARDIOMEGALY]
    sick = acuity >= 1
    icu = acuity == 2
    u = rng.random((b, 8))  # each line draws a fixed number of numbers
    present[:, FRACTURE] = u[:, 0] < 0.03 + 0.02 * sick
    any_lines = u[:, 1] < np.array([0.02, 0.15, 0.80])[acuity]
    present[:, EDEMA] = u[:, 2] < 0.02 + 0.22 * cm + 0.03 * (acuity == 1) + 0.08 * icu
    present[:, EFFUSION] = u[:, 3] < 0.06 + 0.40 * present[:, EDEMA] + 0.08 * cm + 0.08 * sick
    present[:, ATELECTASIS] = u[:, 4] < 0.06 + 0.35 * present[:, EFFUSION] + 0.05 * sick
    present[:, CONSOLIDATION] = u[:, 5] < 0.04 + 0.06 * sick + 0.05 * icu
    present[:, PNEUMOTHORAX] = u[:, 6] < 0.015 + 0.05 * any_lines + 0.15 * present[:, FRACTURE]

    sev_draw = pick(rng, SEVERITY_PROBABILITY, b * N_FINDINGS).reshape(b, N_FINDINGS)
    for f in (EFFUSION, PNEUMOTHORAX, CONSOLIDATION, EDEMA, FRACTURE):
        severity[:, f] = sev_draw[:, f]
    severity[:, ATELECTASIS] = np.minimum(sev_draw[:, ATELECTASIS], pick(rng, np.array([0.6, 0.3, 0.1]), b))
    _acute_sides(findings, rng)
    return any_lines


def _acute_sides(findings: _Findings, rng: np.random.Generator) -> None:
    """Sides of the acute findings (and the consolidation's lobe)."""
    present, side = findings.present, findings.side
    b = len(present)
    s = rng.random((b, 4))
    eff_side = np.where(
        present[:, EDEMA],
        np.where(s[:, 0] < 0.65, BILATERAL, (s[:, 0] < 0.85).astype(int)),
        pick(rng, np.array([0.45, 0.35, 0.20]), b),
    )
    side[:, EFFUSION] = eff_side
    own_atel_side = pick(rng, np.array([0.35, 0.35, 0.30]), b)
    side[:, ATELECTASIS] = np.where(present[:, EFFUSION] & (s[:, 1] < 0.8), eff_side, own_atel_side)
    side[:, PNEUMOTHORAX] = (s[:, 2] < 0.45).astype(np.int64)  # 55% right
    fracture_side = (s[:, 3] < 0.5).astype(np.int64)
    side[:, FRACTURE] = fracture_side
    # a traumatic pneumothorax is on the side of the fractured rib
    both = present[:, FRACTURE] & present[:, PNEUMOTHORAX]
    side[both, PNEUMOTHORAX] = fracture_side[both]
    side[:, EDEMA] = BILATERAL
    side[:, CONSOLIDATION] = (rng.random(b) < 0.45).astype(np.int64)
    cons_u = rng.random(b)
    findings.cons_lobe = np.where(
        side[:, CONSOLIDATION] == RIGHT, (cons_u * 3).astype(np.int64), (cons_u * 2).astype(np.int64)
    )


def _devices(
    findings: _Findings, rng: np.random.Generator, any_lines: np.ndarray, icu: np.ndarray, pacer: np.ndarray
) -> None:
    """Which tubes and lines each sample has (ICU patients: mostly intubated), and the ETT tip."""
    b = len(any_lines)
    d = rng.random((b, 4))
    devices = np.zeros(b, dtype=np.int64)
    devices |= np.where(any_lines & (d[:, 0] < np.where(icu, 0.65, 0.05)), ETT, 0)
    devices |= np.where(any_lines & (d[:, 1] < np.where(icu, 0.55, 0.35)), NGT, 0)
    devices |= np.where(any_lines & (d[:, 2] < 0.6), CVC, 0)
    devices |= np.where(any_lines & (devices == 0), CVC, 0)
    devices |= np.where(pacer, PACER, 0)
    findings.present[:, DEVICES] = devices != 0
    findings.devices = devices
    findings.ett_tip = -0.50 + 0.10 * d[:, 3]


def _report_cues(rng: np.random.Generator, findings: _Findings) -> tuple[np.ndarray, np.ndarray]:
    """Which present findings the report hedges, which absent ones it negates.

    Only mild ones are hedged: the hedged phrasing says "small"/"mild"/"nondisplaced",
    which must stay true.
    """
    present = findings.present
    b = len(present)
    uncertain = present & (findings.severity == 0) & (rng.random((b, N_FINDINGS)) < HEDGE_PROBABILITY)
    negated = ~present & (rng.random((b, N_FINDINGS)) < NEGATE_PROBABILITY)
    return uncertain, negated


def _acquisition_and_anatomy(rng: np.random.Generator, traits: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Pose, exposure, noise, body and lung shape, ribs, texture offsets (as PA values)."""
    b = len(traits[0])
    a = rng.random((b, 12))
    angle = np.deg2rad(np.clip(rng.normal(0.0, 1.8, b), -5.0, 5.0))
    return {
        "angle": angle,
        "shift_u": (a[:, 0] - 0.5) * 0.08,
        "shift_v": (a[:, 1] - 0.5) * 0.08,
        "mag": 0.95 + 0.10 * a[:, 2],
        "gain": 0.85 + 0.20 * a[:, 3],
        "bias": 0.03 + 0.06 * a[:, 4],
        "noise": NOISE_RANGE[0] + (NOISE_RANGE[1] - NOISE_RANGE[0]) * a[:, 5] ** 1.5,
        "body_a": 0.90 + 0.08 * traits[11],
        "lung_cx": 0.36 + 0.04 * a[:, 6],
        "lung_a": 0.27 + 0.04 * a[:, 7],
        "lung_b": 0.80 + 0.06 * a[:, 8],
        "dome": 0.38 + 0.08 * a[:, 9],
        "heart_base": 0.95 + 0.10 * traits[10],
        "rib_period": 0.165 + 0.02 * a[:, 10],
        "rib_phase": a[:, 11],
        "tex_off": rng.random((b, 6)),
    }
