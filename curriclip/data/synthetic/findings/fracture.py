"""Rib fracture: a gap and a step in one lateral rib arc.

A gap of 1.5 / 3 / 4.5 px at 128 px and the lateral fragment displaced by 12 / 22 / 30%
of the rib spacing. Drawn in the rib stage: :func:`displace` bends the rib's phase field
before the ribs are shaped, the returned gap is cut out afterwards.
"""

from __future__ import annotations

import random

import numpy as np

from curriclip.data.synthetic.codes import FRACTURE, LEFT, RIGHT, SIDES
from curriclip.data.synthetic.findings.base import Finding, Mention, cap
from curriclip.data.synthetic.frame import col
from curriclip.data.synthetic.params import Params
from curriclip.data.synthetic.scene import RIB_CURVE, RIB_OFFSET, Scene, side_sign

DISPLACEMENT = np.array([0.12, 0.22, 0.30])  # of the rib spacing, by severity
GAP_HALF_WIDTH = np.array([0.012, 0.024, 0.036])  # world units, by severity

ORDINALS = {3: "3rd", 4: "4th", 5: "5th", 6: "6th", 7: "7th", 8: "8th", 9: "9th", 10: "10th"}
KINDS = ("nondisplaced", "minimally displaced", "displaced")
SENTENCES = {
    "hedged": (
        "Possible nondisplaced fracture of the {side} lateral {rib} rib.",
        "Cortical irregularity of the {side} lateral {rib} rib may represent a nondisplaced fracture.",
    ),
    "stated": (
        "{Kind} fracture of the {side} lateral {rib} rib.",
        "There is a {kind} {side} lateral {rib} rib fracture.",
    ),
}
IMPRESSIONS = {"hedged": "Possible {side} {rib} rib fracture.", "stated": "{Kind} {side} {rib} rib fracture."}
NEGATION = ("No acute osseous abnormality.", "No displaced rib fracture.", "The osseous structures are intact.")


def fracture_site(p: Params, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """World (U, V) of the rib break, the rib arc's phase index and its (posterior) number.

    The break is on the lateral lung at a height set by ``rib_u``, snapped to the
    centre line of the nearest rib arc so the step always cuts a rib.
    """
    sign = side_sign(p.side[idx, FRACTURE])
    per = p.rib_period[idx]
    uf = sign * (p.lung_cx[idx] + 0.30 * p.lung_a[idx])
    v_target = -0.40 + 0.60 * p.rib_u[idx]
    k = np.round((v_target - RIB_CURVE * uf * uf) / per + p.rib_phase[idx] + RIB_OFFSET / per)
    vf = (k - p.rib_phase[idx] - RIB_OFFSET / per) * per + RIB_CURVE * uf * uf
    number = np.clip(np.round((vf + 0.80) / per) + 2, 3, 10).astype(np.int64)
    return uf, vf, k, number


def displace(scene: Scene, phase: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Shifts the broken rib's lateral fragment in the rib ``phase`` field and marks the site.

    Returns (rows, gap): the soft gap to cut out of the drawn ribs of those rows, or None
    when no sample has a fracture.
    """
    p = scene.p
    frx = scene.rows_with(FRACTURE)
    if len(frx) == 0:
        return None
    # the rib arc k (phase == k) broken at the lateral wall: a step and a gap
    f = scene.frame.sub(frx)
    sign = side_sign(p.side[frx, FRACTURE])
    per = p.rib_period[frx]
    uf, vf, k, _ = fracture_site(p, frx)
    # shift rib k's own cell of the phase (|phase - k| < 1/2) lateral of the break:
    # the lateral fragment is displaced while the neighbouring ribs stay intact
    cell = phase[frx] - col(k)
    np.abs(cell, out=cell)
    cell *= -10.0
    cell += 4.5  # 1 for |phase - k| < 0.35, ramping to 0 at 0.45
    np.clip(cell, 0.0, 1.0, out=cell)
    cell *= f.step(0.0, 0.0, sign, -sign * uf, edge_px=0.7)  # lateral of the break
    cell *= col(DISPLACEMENT[p.severity[frx, FRACTURE]])  # displacement / rib spacing
    phase[frx] -= cell
    gap_w = GAP_HALF_WIDTH[p.severity[frx, FRACTURE]]
    gap = f.ellipse(uf, vf, gap_w, 0.4 * per, edge_px=0.7)
    # the annotated fracture site: the break and the displaced rib end around it (the gap
    # alone is narrower than a pixel at low resolution)
    scene.mark(FRACTURE, f.ellipse(uf, vf, gap_w + 0.04, 0.5 * per, edge_px=0.7), frx)
    return frx, gap


def mention(p: Params, i: int, rng: random.Random) -> Mention:
    words = {"side": SIDES[int(p.side[i, FRACTURE])], "rib": ORDINALS[int(fracture_site(p, np.array([i]))[3][0])]}
    if p.uncertain[i, FRACTURE]:
        return Mention.of("hedged", **words)
    kind = KINDS[p.severity[i, FRACTURE]]
    return Mention.of("stated", **words, kind=kind, Kind=cap(kind))


FINDING = Finding(
    index=FRACTURE,
    hardness=1.0,
    hedge_probability=0.50,
    negate_probability=0.30,
    sides=(RIGHT, LEFT),
    in_lungs=False,
    acute=True,
    sentences=SENTENCES,
    impressions=IMPRESSIONS,
    negation=NEGATION,
    mention=mention,
)
