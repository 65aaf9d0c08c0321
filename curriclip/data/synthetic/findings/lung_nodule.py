"""Lung nodule: a small round bright blob (4-6 / 8-12 / 15-25 mm), one per subject."""

from __future__ import annotations

import random

import numpy as np

from curriclip.data.synthetic.codes import LEFT, NODULE, RIGHT
from curriclip.data.synthetic.findings.base import Finding, Mention, article, cap
from curriclip.data.synthetic.params import Params
from curriclip.data.synthetic.scene import LOBES, Scene, lobe_centre

#: Diameter range in mm, by severity.
MM_LOW = np.array([4.0, 8.0, 15.0])
MM_HIGH = np.array([6.0, 12.0, 25.0])
DENSITY = np.array([0.24, 0.30, 0.34])

SENTENCES = {
    "hedged": (
        "Questionable {size} nodular opacity projecting over the {lobe}.",
        "Possible {size} nodule in the {lobe}, may represent a nipple shadow.",
        "{A} {size} nodule in the {lobe} cannot be excluded.",
    ),
    "stated": (
        "{Size} nodule in the {lobe}.",
        "There is {a} {size} pulmonary nodule in the {lobe}.",
        "{A} {size} rounded nodule projects over the {lobe}.",
    ),
}
IMPRESSIONS = {
    "hedged": "Possible {size} {lobe} nodule.",
    "stated": "{Size} {lobe} pulmonary nodule. Recommend chest CT for further characterization.",
}
NEGATION = ("No suspicious pulmonary nodules.", "No pulmonary nodule.")


def nodule_mm(p: Params) -> np.ndarray:
    """Nodule diameter in mm: 4-6 (mild), 8-12 (moderate), 15-25 (large)."""
    sev = p.severity[:, NODULE]
    lo = MM_LOW[sev]
    hi = MM_HIGH[sev]
    return np.round(lo + (hi - lo) * p.nodule_u).astype(np.int64)


def draw(scene: Scene) -> None:
    """A round blob near its lobe's centre, at least ~1.5 px across."""
    p = scene.p
    nod = scene.rows_with(NODULE)
    if len(nod) == 0:
        return
    f = scene.frame.sub(nod)
    cx, cy = lobe_centre(p, nod, p.side[nod, NODULE], p.nodule_lobe[nod])
    cx = cx + p.nodule_du[nod]
    cy = cy + p.nodule_dv[nod]
    r = nodule_mm(p)[nod] / 25.0 * 0.06  # 25 mm ~ 0.06 world units, ~4 px at 128
    r = np.maximum(r, 0.022)
    blob = f.ellipse(cx, cy, r, r, edge_px=1.0)
    scene.mark(NODULE, blob, nod, level=0.2)
    scene.add(blob, DENSITY[p.severity[nod, NODULE]], nod)


def mention(p: Params, i: int, rng: random.Random) -> Mention:
    lobe = LOBES[int(p.side[i, NODULE])][int(p.nodule_lobe[i])][0]
    mm = int(nodule_mm(p)[i])
    size = f"{mm} mm" if mm < 20 else f"{mm / 10:.1f} cm"
    words = {"lobe": lobe, "size": size, "Size": cap(size), "A": article(size), "a": article(size).lower()}
    return Mention.of("hedged" if p.uncertain[i, NODULE] else "stated", **words)


FINDING = Finding(
    index=NODULE,
    hardness=0.95,
    hedge_probability=0.40,
    negate_probability=0.20,
    sides=(RIGHT, LEFT),
    in_lungs=True,
    acute=False,
    sentences=SENTENCES,
    impressions=IMPRESSIONS,
    negation=NEGATION,
    mention=mention,
)
