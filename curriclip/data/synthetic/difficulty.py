"""How hard a sample is to read: the ``difficulty`` column.

Why known: the synthetic benchmark can state each sample's difficulty from what it
drew (finding subtlety, clutter, exposure, a hedged report), which is what the
``metadata`` curriculum scorer orders by and what the learned scorers are checked against.
"""

from __future__ import annotations

import numpy as np

from curriclip.data.synthetic.codes import GAIN_RANGE, NOISE_RANGE
from curriclip.data.synthetic.findings import HARDNESS
from curriclip.data.synthetic.params import Params, apply_view

#: Subtlety multiplier by severity: mild findings are hard, large ones obvious.
SUBTLETY = np.array([1.0, 0.55, 0.15])


def difficulty(p: Params) -> np.ndarray:
    """Per-sample difficulty in [0, 1]:

    ``0.55 * finding + 0.15 * count + 0.20 * acquisition + 0.10 * hedged`` where

    * ``finding`` = max over present findings of ``hardness[f] * subtlety[severity]``
      (hardness: each finding module's ``hardness``, from fracture 1.0 to devices 0.15;
      subtlety: mild 1.0, moderate 0.55, large 0.15), 0 for a normal study;
    * ``count`` = min(#findings - 1, 3) / 3: busy images are harder to read fully;
    * ``acquisition`` = mean of the noise level and the contrast loss, each scaled to
      [0, 1] over the generator's range (AP films have lower contrast);
    * ``hedged`` = 1 if the report hedges on any finding (the label is uncertain).

    So a clean, well-exposed normal PA study scores ~0, a large effusion ~0.05-0.2,
    a mild nodule on a noisy AP film ~0.8.
    """
    p = apply_view(p)
    sub = HARDNESS[None, :] * SUBTLETY[p.severity]
    finding = np.where(p.present, sub, 0.0).max(axis=1)
    count = np.clip(p.present.sum(axis=1) - 1, 0, 3) / 3.0
    noise = (p.noise - NOISE_RANGE[0]) / (NOISE_RANGE[1] - NOISE_RANGE[0])
    contrast = (GAIN_RANGE[1] - p.gain) / (GAIN_RANGE[1] - GAIN_RANGE[0])
    acq = np.clip(0.5 * noise + 0.5 * contrast, 0.0, 1.0)
    hedged = p.uncertain.any(axis=1)
    return np.clip(0.55 * finding + 0.15 * count + 0.20 * acq + 0.10 * hedged, 0.0, 1.0).astype(np.float32)
