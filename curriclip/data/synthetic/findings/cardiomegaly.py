"""Cardiomegaly: an enlarged heart.

Cardiothoracic ratio ~0.50 / 0.56 / 0.64 for mild / moderate / large, vs ~0.42 normal;
an AP view magnifies every heart by 10% (a normal one to ~0.46), the classic confounder.
The heart itself is anatomy (every sample has one); this finding sets its size and
marks the enlarged silhouette.
"""

from __future__ import annotations

import random

import numpy as np

from curriclip.data.synthetic.codes import CARDIOMEGALY
from curriclip.data.synthetic.findings.base import Finding, Mention
from curriclip.data.synthetic.params import Params
from curriclip.data.synthetic.scene import Scene

#: Drawn heart size relative to the subject's normal one, by severity.
SCALE = np.array([1.20, 1.36, 1.55])
AP_MAGNIFICATION = 1.10

SENTENCES = {
    "hedged": (
        "Heart size is borderline enlarged.",
        "Borderline cardiomegaly.",
        "The cardiac silhouette is possibly mildly enlarged.",
    ),
    "mild": ("Mild cardiomegaly.", "The cardiac silhouette is mildly enlarged.", "Mildly enlarged cardiac silhouette."),
    "moderate": ("Moderate cardiomegaly.", "The heart is moderately enlarged."),
    "large": (
        "Marked cardiomegaly.",
        "The cardiac silhouette is markedly enlarged.",
        "Severely enlarged cardiac silhouette.",
    ),
}
IMPRESSIONS = {
    "hedged": "Borderline cardiomegaly.",
    "mild": "Mild cardiomegaly.",
    "moderate": "Moderate cardiomegaly.",
    "large": "Marked cardiomegaly.",
}
NEGATION = (
    "Heart size is normal.",
    "The cardiac silhouette is normal in size.",
    "No cardiomegaly.",
    "The cardiomediastinal silhouette is within normal limits.",
)
VARIANTS = ("mild", "moderate", "large")


def heart_scale(p: Params) -> np.ndarray:
    """Drawn heart size: the subject's normal size, x1.2/1.36/1.55 for mild/moderate/large
    cardiomegaly, x1.1 on AP films (magnification of the anterior heart)."""
    cm = np.where(p.present[:, CARDIOMEGALY], SCALE[p.severity[:, CARDIOMEGALY]], 1.0)
    return p.heart_base * cm * np.where(p.ap, AP_MAGNIFICATION, 1.0)


def draw(scene: Scene, heart: np.ndarray) -> None:
    """Marks the enlarged cardiac silhouette (the renderer draws every heart, at :func:`heart_scale`)."""
    rows = scene.rows_with(CARDIOMEGALY)
    scene.mark(CARDIOMEGALY, heart[rows], rows)


def mention(p: Params, i: int, rng: random.Random) -> Mention:
    if p.uncertain[i, CARDIOMEGALY]:
        return Mention.of("hedged")
    return Mention.of(VARIANTS[p.severity[i, CARDIOMEGALY]])


FINDING = Finding(
    index=CARDIOMEGALY,
    hardness=0.5,
    hedge_probability=0.35,
    negate_probability=0.70,
    sides=(),
    in_lungs=False,
    acute=False,
    sentences=SENTENCES,
    impressions=IMPRESSIONS,
    negation=NEGATION,
    mention=mention,
)
