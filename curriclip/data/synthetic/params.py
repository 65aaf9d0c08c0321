"""The per-sample parameters of one chunk, as arrays, and how the view changes them.

Why arrays of a whole chunk: every drawing and every statistic is vectorised over the
samples; a finding is drawn on the sub-batch of rows that have it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass
class Params:
    """Everything about one chunk of samples, as (B,) or (B, 9) arrays."""

    ap: np.ndarray  # bool: AP (portable) view
    acuity: np.ndarray  # 0 outpatient, 1 inpatient, 2 ICU
    angle: np.ndarray  # rotation, radians
    shift_u: np.ndarray
    shift_v: np.ndarray
    mag: np.ndarray  # magnification
    gain: np.ndarray  # PA values; see apply_view for AP films
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
    devices: np.ndarray  # bit mask of ETT | NGT | CVC | PACER (see codes)
    ett_tip: np.ndarray
    rib_u: np.ndarray  # height of the fractured rib within the lateral lung, [0, 1)
    text_seed: np.ndarray

    def rows(self, sl: slice) -> Params:
        """The parameters of the samples in ``sl``."""
        return Params(**{k: v[sl] for k, v in self.__dict__.items()})


def apply_view(p: Params) -> Params:
    """Parameters as seen on the film: AP (portable, supine or semi-erect) films have
    lower contrast (gain x0.87, more scatter: +0.03 offset) and a shallower inspiration
    (shorter lungs, higher diaphragm) than PA films. (The magnified heart is in
    :func:`curriclip.data.synthetic.findings.cardiomegaly.heart_scale`.)"""
    ap = p.ap.astype(np.float64)
    return replace(
        p,
        gain=p.gain * (1.0 - 0.13 * ap),
        bias=p.bias + 0.03 * ap,
        lung_b=p.lung_b - 0.04 * ap,
        dome=p.dome - 0.05 * ap,
    )
