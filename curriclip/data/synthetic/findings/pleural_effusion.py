"""Pleural effusion: fluid filling the lung base.

The lung base fills with soft-tissue density under a meniscus that climbs laterally;
the costophrenic angle is blunted (mild) up to half the lung (large); the
hemidiaphragm silhouette disappears. An unhedged effusion with atelectasis on the same
side is reported in one sentence ("... with adjacent atelectasis").
"""

from __future__ import annotations

import random

import numpy as np

from curriclip.data.synthetic.codes import ATELECTASIS, BILATERAL, EFFUSION, LEFT, RIGHT, SIDES
from curriclip.data.synthetic.findings.base import Finding, Mention, article, cap
from curriclip.data.synthetic.params import Params
from curriclip.data.synthetic.scene import Scene

#: World V of the fluid level at the lung's middle, by severity (for a dome at 0.42).
FLUID_TOP = np.array([0.43, 0.20, -0.10])
DENSITY = 0.30

SIZE_WORDS = (("small", "trace"), ("moderate", "moderate-sized"), ("large",))
AMOUNT_WORDS = ("Small", "Moderate", "Large")
SENTENCES = {
    "hedged": (
        "Blunting of the {side} costophrenic angle may represent a small pleural effusion.",
        "Possible small {side} pleural effusion.",
        "A small {side} pleural effusion cannot be excluded.",
    ),
    "hedged bilateral": (
        "Blunting of both costophrenic angles may represent small pleural effusions.",
        "Possible small bilateral pleural effusions.",
        "Small bilateral pleural effusions cannot be excluded.",
    ),
    "stated": (
        "{Size} {side} pleural effusion.",
        "There is {a} {size} {side} pleural effusion.",
        "{Size} {side} effusion with blunting of the costophrenic angle.",
        "{Amount} amount of {side} pleural fluid.",
    ),
    "stated with atelectasis": (
        "{Size} {side} pleural effusion with adjacent atelectasis.",
        "There is {a} {size} {side} pleural effusion with adjacent atelectasis.",
        "{Size} {side} effusion with blunting of the costophrenic angle and adjacent atelectasis.",
        "{Amount} amount of {side} pleural fluid with adjacent atelectasis.",
    ),
    "stated bilateral": (
        "{Size} bilateral pleural effusions.",
        "There are {size} bilateral pleural effusions.",
        "{Size} bilateral effusions.",
    ),
    "stated bilateral with atelectasis": (
        "{Size} bilateral pleural effusions with adjacent bibasilar atelectasis.",
        "There are {size} bilateral pleural effusions with adjacent bibasilar atelectasis.",
        "{Size} bilateral effusions with adjacent bibasilar atelectasis.",
    ),
}
IMPRESSIONS = {
    "hedged": "Possible small {side} pleural effusion.",
    "hedged bilateral": "Possible small bilateral pleural effusions.",
    "stated": "{Size} {side} pleural effusion.",
    "stated with atelectasis": "{Size} {side} pleural effusion with adjacent atelectasis.",
    "stated bilateral": "{Size} bilateral pleural effusions.",
    "stated bilateral with atelectasis": "{Size} bilateral pleural effusions with adjacent atelectasis.",
}
NEGATION = ("No pleural effusion.", "There is no pleural effusion.", "No effusion.")


def draw(scene: Scene) -> None:
    """Fluid at the base of each affected lung: replaces aerated lung, keeps the ribs faint."""
    p = scene.p
    rows = scene.rows_with(EFFUSION)
    for side in (RIGHT, LEFT):
        idx = scene.rows_on(rows, EFFUSION, side)
        if len(idx) == 0:
            continue
        sign = -1.0 if side == RIGHT else 1.0
        f = scene.frame.sub(idx)
        top = FLUID_TOP[p.severity[idx, EFFUSION]] + (p.dome[idx] - 0.42)
        mk = 0.45  # meniscus: the fluid line climbs toward the lateral wall
        mc = sign * 0.12
        # fluid where V - top + mk (U - mc)^2 > 0
        fluid = f.step(mk, 1.0, -2 * mk * mc, mk * mc * mc - top, edge_px=2.5)
        fluid *= scene.lungs[side][idx]
        scene.aerated[idx] -= fluid
        scene.fluids.append((idx, fluid.copy()))
        scene.mark(EFFUSION, fluid, idx)
        scene.add(fluid, DENSITY, idx)


def absorbs_atelectasis(p: Params, i: int) -> bool:
    """Whether sample ``i``'s effusion sentence also states its atelectasis (same side, neither hedged)."""
    return bool(
        p.present[i, EFFUSION]
        and p.present[i, ATELECTASIS]
        and not p.uncertain[i, EFFUSION]
        and not p.uncertain[i, ATELECTASIS]
        and p.side[i, EFFUSION] == p.side[i, ATELECTASIS]
    )


def mention(p: Params, i: int, rng: random.Random) -> Mention:
    side = int(p.side[i, EFFUSION])
    bilateral = " bilateral" if side == BILATERAL else ""
    if p.uncertain[i, EFFUSION]:
        return Mention.of("hedged" + bilateral, side=SIDES[side])
    severity = p.severity[i, EFFUSION]
    size = rng.choice(SIZE_WORDS[severity])
    variant = "stated" + bilateral + (" with atelectasis" if absorbs_atelectasis(p, i) else "")
    words = {"side": SIDES[side], "size": size, "Size": cap(size), "a": article(size).lower()}
    return Mention.of(variant, **words, Amount=AMOUNT_WORDS[severity])


FINDING = Finding(
    index=EFFUSION,
    hardness=0.55,
    hedge_probability=0.40,
    negate_probability=0.80,
    sides=(RIGHT, LEFT, BILATERAL),
    in_lungs=True,
    acute=True,
    sentences=SENTENCES,
    impressions=IMPRESSIONS,
    negation=NEGATION,
    mention=mention,
)
