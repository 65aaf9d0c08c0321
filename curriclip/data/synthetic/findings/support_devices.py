"""Support devices: thin bright tubes and lines, and a chest-wall pacemaker with leads.

Endotracheal tube, enteric tube and central venous catheter are drawn as polylines
(``Params.devices`` holds one bit per device); the pacemaker adds a bright can.
The report writes one sentence per device.
"""

from __future__ import annotations

import random

import numpy as np

from curriclip.data.synthetic.codes import CVC, DEVICES, ETT, NGT, PACER
from curriclip.data.synthetic.findings.base import Finding, Mention
from curriclip.data.synthetic.params import Params
from curriclip.data.synthetic.scene import Scene

#: (device bit, world polyline (None: the ETT tip of the sample), half-width, density).
LINES = (
    (ETT, ((0.0, -1.1), (0.0, None)), 0.011, 0.40),
    (NGT, ((0.03, -1.1), (0.06, 0.50), (0.30, 0.64)), 0.009, 0.40),
    (CVC, ((-0.42, -1.05), (-0.13, -0.56), (-0.07, -0.18)), 0.008, 0.40),
    (PACER, ((0.52, -0.60), (0.14, -0.42), (0.0, 0.05), (0.14, 0.36)), 0.007, 0.45),
)
PACER_DENSITY = 0.55  # leads and can together, brighter than the leads alone

SENTENCES = {
    "endotracheal tube": (
        "Endotracheal tube terminates approximately {cm} cm above the carina.",
        "The endotracheal tube tip is {cm} cm above the carina.",
    ),
    "enteric tube": (
        "Enteric tube courses below the diaphragm with the tip in the stomach.",
        "A nasogastric tube extends into the stomach.",
    ),
    "central line": (
        "Right internal jugular central venous catheter terminates in the mid SVC.",
        "Right IJ central line with tip in the lower SVC.",
    ),
    "pacemaker": (
        "Left chest wall pacemaker with leads in the right atrium and right ventricle.",
        "Left-sided pacemaker device with leads terminating in the right heart.",
    ),
}
IMPRESSIONS = {
    "pacemaker only": ("Pacemaker in place.", "Support devices as above."),
    "lines": (
        "Support devices in standard position.",
        "Lines and tubes as described above.",
        "Support devices as above.",
    ),
}
NEGATION = "No support devices."
SENTENCE_OF_BIT = {ETT: "endotracheal tube", NGT: "enteric tube", CVC: "central line", PACER: "pacemaker"}


def draw(scene: Scene) -> None:
    """Tubes and lines as thin bright polylines; the pacemaker as a small bright box."""
    p = scene.p
    dev = scene.rows_with(DEVICES)
    if len(dev) == 0:
        return
    for bit, points, width, density in LINES:
        idx = dev[(p.devices[dev] & bit) != 0]
        if len(idx) == 0:
            continue
        f = scene.frame.sub(idx)
        shape = None
        for (ax, ay), (bx, by) in zip(points[:-1], points[1:], strict=True):
            by = p.ett_tip[idx] if by is None else np.full(len(idx), by)
            seg = f.segment(np.full(len(idx), ax), np.full(len(idx), ay), np.full(len(idx), bx), by, width)
            shape = seg if shape is None else np.maximum(shape, seg, out=shape)
        if bit == PACER:
            box = f.ellipse(0.55, -0.62, 0.085, 0.06, edge_px=0.8)
            box = np.sqrt(box, out=box)  # flatter, brighter can
            shape = np.maximum(shape, box, out=shape)
            density = np.float32(PACER_DENSITY)
        scene.mark(DEVICES, shape, idx, level=0.2)
        scene.add(shape, density, idx)


def mention(p: Params, i: int, rng: random.Random) -> Mention:
    devices = int(p.devices[i])
    cm = int(round((-0.25 - p.ett_tip[i]) * 20 + 3))
    sentences = tuple(SENTENCE_OF_BIT[bit] for bit in (ETT, NGT, CVC, PACER) if devices & bit)
    return Mention(sentences, "pacemaker only" if devices == PACER else "lines", {"cm": cm})


FINDING = Finding(
    index=DEVICES,
    hardness=0.15,
    hedge_probability=0.0,
    negate_probability=0.04,
    sides=(),
    in_lungs=False,
    acute=False,
    sentences=SENTENCES,
    impressions=IMPRESSIONS,
    negation=NEGATION,
    mention=mention,
)
