"""Pneumothorax: air between lung and chest wall.

A very dark rim without lung markings at the apex and lateral wall, bounded by a thin
bright visceral pleural line (collapsed lung 90 / 78 / 60% size).
"""

from __future__ import annotations

import random

import numpy as np

from curriclip.data.synthetic.codes import LEFT, PNEUMOTHORAX, RIGHT, SIDES
from curriclip.data.synthetic.findings.base import Finding, Mention, cap
from curriclip.data.synthetic.params import Params
from curriclip.data.synthetic.scene import LUNG_CY, Scene, side_sign

#: Size of the collapsed lung relative to the full one, by severity.
LUNG_FRACTION = np.array([0.90, 0.78, 0.60])
RIM_DENSITY, LINE_DENSITY = -0.12, 0.10

SIZE_WORDS = (("small", "tiny"), ("moderate", "moderate-sized"), ("large",))
WHERE_WORDS = ("apical ", "apical ", "")  # a large one is no longer apical
SENTENCES = {
    "hedged": (
        "Possible small {side} apical pneumothorax.",
        "A tiny {side} apical pneumothorax cannot be excluded.",
        "Faint lucency at the {side} apex may represent a small pneumothorax.",
    ),
    "stated": (
        "{Size} {side} pneumothorax.",
        "There is a {size} {side} {where}pneumothorax.",
        "{Size} {side} pneumothorax with a visible pleural line.",
    ),
}
IMPRESSIONS = {"hedged": "Possible small {side} pneumothorax.", "stated": "{Size} {side} pneumothorax."}
NEGATION = ("No pneumothorax.", "There is no pneumothorax.")


def draw(scene: Scene) -> None:
    """The lung collapses medially and toward the base; the rim it leaves loses its air markings."""
    p = scene.p
    ptx = scene.rows_with(PNEUMOTHORAX)
    if len(ptx) == 0:
        return
    f = scene.frame.sub(ptx)
    s_ptx = p.side[ptx, PNEUMOTHORAX]
    sign = side_sign(s_ptx)
    frac = LUNG_FRACTION[p.severity[ptx, PNEUMOTHORAX]]
    la = p.lung_a[ptx] * np.where(s_ptx == RIGHT, 1.0, 0.95)
    cx = sign * p.lung_cx[ptx] - sign * (1 - frac) * la * 0.9  # collapses medially ...
    cy = LUNG_CY + (1 - frac) * p.lung_b[ptx] * 0.7  # ... and toward the base
    inner = f.ellipse(cx, cy, la * frac, p.lung_b[ptx] * frac, edge_px=1.0)
    lung_side = scene.lung_on(ptx, s_ptx)
    rim = lung_side * (1.0 - inner)
    scene.aerated[ptx] -= rim
    np.clip(scene.aerated, 0.0, 1.0, out=scene.aerated)
    line = f.ellipse(cx, cy, la * frac + 0.012, p.lung_b[ptx] * frac + 0.012, edge_px=0.8) - inner
    line *= lung_side
    scene.mark(PNEUMOTHORAX, rim, ptx)
    scene.add(rim, RIM_DENSITY, ptx)
    scene.add(line, LINE_DENSITY, ptx)


def mention(p: Params, i: int, rng: random.Random) -> Mention:
    side = SIDES[int(p.side[i, PNEUMOTHORAX])]
    if p.uncertain[i, PNEUMOTHORAX]:
        return Mention.of("hedged", side=side)
    severity = p.severity[i, PNEUMOTHORAX]
    size = rng.choice(SIZE_WORDS[severity])
    return Mention.of("stated", side=side, size=size, Size=cap(size), where=WHERE_WORDS[severity])


FINDING = Finding(
    index=PNEUMOTHORAX,
    hardness=0.9,
    hedge_probability=0.45,
    negate_probability=0.80,
    sides=(RIGHT, LEFT),
    in_lungs=True,
    acute=True,
    sentences=SENTENCES,
    impressions=IMPRESSIONS,
    negation=NEGATION,
    mention=mention,
)
