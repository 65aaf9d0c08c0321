"""Consolidation: a patchy bright region centred in one lobe."""

from __future__ import annotations

import random

import numpy as np

from curriclip.data.synthetic.codes import CONSOLIDATION, LEFT, RIGHT
from curriclip.data.synthetic.findings.base import Finding, Mention, cap
from curriclip.data.synthetic.params import Params
from curriclip.data.synthetic.scene import LOBES, Scene, lobe_centre, side_sign
from curriclip.data.synthetic.textures import crop, textures

RADIUS = np.array([0.10, 0.16, 0.23])  # world units, by severity
DENSITY = np.array([0.20, 0.27, 0.32])

ADJECTIVES = ("Small focal", "Focal", "Dense")
SENTENCES = {
    "hedged": (
        "Patchy opacity in the {lobe} may represent early consolidation.",
        "Possible consolidation in the {lobe}.",
        "Subtle airspace opacity in the {lobe}; consolidation cannot be excluded.",
    ),
    "stated": (
        "{adjective} consolidation in the {lobe}.",
        "{adjective} airspace opacity in the {lobe}.",
        "There is {adjective_lower} consolidation of the {lobe}.",
    ),
}
IMPRESSIONS = {
    "hedged": "Possible {lobe} consolidation.",
    "stated": ("{Lobe} consolidation.", "{adjective} {lobe} consolidation."),
}
NEGATION = ("No focal consolidation.", "There is no focal consolidation.", "No focal airspace consolidation.")


def draw(scene: Scene) -> None:
    """A soft ellipse in the lobe, confined to its lung, textured with patches."""
    p = scene.p
    cons = scene.rows_with(CONSOLIDATION)
    if len(cons) == 0:
        return
    f = scene.frame.sub(cons)
    s_c = p.side[cons, CONSOLIDATION]
    sign = side_sign(s_c)
    cx, cy = lobe_centre(p, cons, s_c, p.cons_lobe[cons])
    r = RADIUS[p.severity[cons, CONSOLIDATION]]
    blob = f.ellipse(cx, cy, 1.15 * r, r, phi=sign * 0.4, edge_px=4.0)
    blob *= scene.lung_on(cons, s_c)
    scene.mark(CONSOLIDATION, blob, cons)  # the patch's extent (before its texture)
    blob *= crop(textures(scene.size)[1], p.tex_off[cons, 2:], scene.size)
    scene.add(blob, DENSITY[p.severity[cons, CONSOLIDATION]], cons)


def mention(p: Params, i: int, rng: random.Random) -> Mention:
    lobe = LOBES[int(p.side[i, CONSOLIDATION])][int(p.cons_lobe[i])][0]
    if p.uncertain[i, CONSOLIDATION]:
        return Mention.of("hedged", lobe=lobe)
    adjective = ADJECTIVES[p.severity[i, CONSOLIDATION]]
    return Mention.of("stated", lobe=lobe, Lobe=cap(lobe), adjective=adjective, adjective_lower=adjective.lower())


FINDING = Finding(
    index=CONSOLIDATION,
    hardness=0.65,
    hedge_probability=0.45,
    negate_probability=0.60,
    sides=(RIGHT, LEFT),
    in_lungs=True,
    acute=True,
    sentences=SENTENCES,
    impressions=IMPRESSIONS,
    negation=NEGATION,
    mention=mention,
)
