"""The findings of the synthetic benchmark, one module each, in ``FINDINGS`` order.

Each module holds how its finding is drawn (``draw``: the one place that marks its
mask), how hard it is to see, how often the report hedges on or negates it, and its
report phrases as tables. Which findings co-occur, and how often, is the sampler's
business (:mod:`curriclip.data.synthetic.sampling`), since it ties findings together.
"""

from __future__ import annotations

import numpy as np

from curriclip.data.synthetic.codes import FINDINGS
from curriclip.data.synthetic.findings import (
    atelectasis,
    cardiomegaly,
    consolidation,
    edema,
    fracture,
    lung_nodule,
    pleural_effusion,
    pneumothorax,
    support_devices,
)
from curriclip.data.synthetic.findings.base import Finding, Mention

#: Every finding's declaration, indexed like FINDINGS.
ALL: tuple[Finding, ...] = tuple(
    module.FINDING
    for module in (
        cardiomegaly,
        pleural_effusion,
        pneumothorax,
        consolidation,
        lung_nodule,
        atelectasis,
        edema,
        support_devices,
        fracture,
    )
)
if [finding.index for finding in ALL] != list(range(len(FINDINGS))):
    raise RuntimeError("synthetic findings must be listed in FINDINGS order")

HARDNESS = np.array([finding.hardness for finding in ALL])
HEDGE_PROBABILITY = np.array([finding.hedge_probability for finding in ALL])
NEGATE_PROBABILITY = np.array([finding.negate_probability for finding in ALL])

__all__ = ["ALL", "HARDNESS", "HEDGE_PROBABILITY", "NEGATE_PROBABILITY", "Finding", "Mention"]
