"""Atelectasis: a thin bright plate-like band at a lung base (thicker when larger)."""

from __future__ import annotations

import random

import numpy as np

from curriclip.data.synthetic.codes import ATELECTASIS, BILATERAL, LEFT, RIGHT, SIDES
from curriclip.data.synthetic.findings.base import Finding, Mention, cap
from curriclip.data.synthetic.findings.pleural_effusion import absorbs_atelectasis
from curriclip.data.synthetic.params import Params
from curriclip.data.synthetic.scene import Scene

HALF_WIDTH = np.array([0.016, 0.026, 0.045])  # world units, by severity
DENSITY = 0.26

ADJECTIVES = ("Minimal", "Plate-like", "Extensive")
SENTENCES = {
    "hedged": ("Linear opacity at {base} may represent atelectasis.", "Possible {where} atelectasis."),
    "stated": ("{adjective} {where} atelectasis.", "{adjective} atelectasis at {base}."),
}
IMPRESSIONS = {"hedged": "Possible {where} atelectasis.", "stated": "{Where} atelectasis."}
NEGATION = "No atelectasis."


def draw(scene: Scene) -> None:
    """A slightly tilted plate just above each affected hemidiaphragm, confined to its lung."""
    p = scene.p
    rows = scene.rows_with(ATELECTASIS)
    for side in (RIGHT, LEFT):
        idx = scene.rows_on(rows, ATELECTASIS, side)
        if len(idx) == 0:
            continue
        sign = -1.0 if side == RIGHT else 1.0
        f = scene.frame.sub(idx)
        w = HALF_WIDTH[p.severity[idx, ATELECTASIS]]
        vb = p.dome[idx] + (0.0 if side == RIGHT else 0.05) - 0.10
        # a plate slightly tilted, lateral end higher: |V - vb + tilt U| < w
        band = f.ellipse(sign * p.lung_cx[idx], vb, 0.5, w, phi=-sign * 0.12, edge_px=1.0)
        band *= scene.lungs[side][idx]
        scene.mark(ATELECTASIS, band, idx, level=0.2)
        scene.add(band, DENSITY, idx)


def mention(p: Params, i: int, rng: random.Random) -> Mention | None:
    if absorbs_atelectasis(p, i):
        return None  # stated in the effusion's sentence
    side = SIDES[int(p.side[i, ATELECTASIS])]
    where = "bibasilar" if side == "bilateral" else f"{side} basilar"
    base = "both lung bases" if side == "bilateral" else f"the {side} lung base"
    words = {"where": where, "Where": cap(where), "base": base}
    if p.uncertain[i, ATELECTASIS]:
        return Mention.of("hedged", **words)
    return Mention.of("stated", **words, adjective=ADJECTIVES[p.severity[i, ATELECTASIS]])


FINDING = Finding(
    index=ATELECTASIS,
    hardness=0.8,
    hedge_probability=0.45,
    negate_probability=0.12,
    sides=(RIGHT, LEFT, BILATERAL),
    in_lungs=True,
    acute=True,
    sentences=SENTENCES,
    impressions=IMPRESSIONS,
    negation=NEGATION,
    mention=mention,
)
