"""Names and integer codes every part of the generator shares.

Why one module: the parameter arrays are indexed by finding, severity and side codes;
the sampler, the renderer and the report writer must agree on them, and the dataset's
definition (same seed, same bytes) depends on every constant here.
"""

from __future__ import annotations

from curriclip.data.schema import DEFAULT_LABEL_NAMES

#: Bumped whenever the generator's output changes, so cached datasets are regenerated.
GENERATOR_VERSION = 2  # 2: per-finding masks
#: Samples per generated chunk. Part of the output's definition: every chunk draws
#: from its own random stream seeded by ``(seed, chunk index)``, so changing this
#: changes the dataset.
CHUNK_SIZE = 256

FINDINGS = DEFAULT_LABEL_NAMES
SEVERITIES = ("mild", "moderate", "large")
SIDES = ("right", "left", "bilateral")  # the PATIENT's side

(CARDIOMEGALY, EFFUSION, PNEUMOTHORAX, CONSOLIDATION, NODULE, ATELECTASIS, EDEMA, DEVICES, FRACTURE) = range(
    len(FINDINGS)
)
N_FINDINGS = len(FINDINGS)
RIGHT, LEFT, BILATERAL = 0, 1, 2
NO_SIDE = -1
#: Support-device bits of ``Params.devices``.
ETT, NGT, CVC, PACER = 1, 2, 4, 8

#: Gaussian noise sigma, in units of full scale.
NOISE_RANGE = (0.008, 0.05)
#: Density -> brightness gain (after the AP reduction).
GAIN_RANGE = (0.74, 1.05)
