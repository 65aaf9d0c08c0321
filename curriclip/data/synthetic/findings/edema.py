"""Edema: bilateral perihilar ("bat-wing") haze and thickened lung markings."""

from __future__ import annotations

import random

import numpy as np

from curriclip.data.synthetic.codes import BILATERAL, EDEMA
from curriclip.data.synthetic.findings.base import Finding, Mention
from curriclip.data.synthetic.params import Params
from curriclip.data.synthetic.scene import Scene

DENSITY = np.array([0.12, 0.20, 0.28])  # of the haze, by severity

SENTENCES = {
    "hedged": (
        "Perihilar haziness may represent mild pulmonary edema.",
        "Possible mild interstitial edema.",
        "Mild pulmonary vascular congestion is possible.",
    ),
    "mild": (
        "Mild pulmonary vascular congestion.",
        "Mild interstitial edema.",
        "Mild bilateral interstitial pulmonary edema.",
    ),
    "moderate": ("Moderate pulmonary edema.", "Moderate bilateral perihilar pulmonary edema."),
    "large": ("Severe pulmonary edema.", "Marked bilateral perihilar alveolar edema."),
}
IMPRESSIONS = {
    "hedged": "Possible mild pulmonary edema.",
    "mild": "Mild pulmonary edema.",
    "moderate": "Moderate pulmonary edema.",
    "large": "Severe pulmonary edema.",
}
NEGATION = ("No pulmonary edema.", "No evidence of pulmonary edema.")
VARIANTS = ("mild", "moderate", "large")


def marking_boost(p: Params) -> np.ndarray:
    """Extra lung-marking amplitude (fraction of normal): +30 / 60 / 90% with edema, 0 without."""
    return np.where(p.present[:, EDEMA], 0.3 + 0.3 * p.severity[:, EDEMA], 0.0)


def draw(scene: Scene) -> None:
    """The perihilar haze over both lungs (the thickened markings are :func:`marking_boost`)."""
    ed = scene.rows_with(EDEMA)
    if len(ed) == 0:
        return
    f = scene.frame.sub(ed)
    haze = f.ellipse(0.02, 0.02, 0.62, 0.55, edge_px=0.62 / (2 * f.pixel))  # smooth perihilar bat wing
    haze *= haze
    haze += 0.25
    haze *= scene.lung[ed]
    scene.mark(EDEMA, haze, ed)
    scene.add(haze, DENSITY[scene.p.severity[ed, EDEMA]], ed)


def mention(p: Params, i: int, rng: random.Random) -> Mention:
    if p.uncertain[i, EDEMA]:
        return Mention.of("hedged")
    return Mention.of(VARIANTS[p.severity[i, EDEMA]])


FINDING = Finding(
    index=EDEMA,
    hardness=0.75,
    hedge_probability=0.40,
    negate_probability=0.45,
    sides=(BILATERAL,),
    in_lungs=True,
    acute=True,
    sentences=SENTENCES,
    impressions=IMPRESSIONS,
    negation=NEGATION,
    mention=mention,
)
