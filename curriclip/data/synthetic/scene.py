"""The image being drawn, its finding masks, and the anatomy findings are drawn against.

Why a scene object: findings are drawn in stages between the anatomy (an effusion
replaces aerated lung before the lung markings are laid, a fracture bends a rib before
the ribs are drawn), so each finding's drawing needs the intermediate fields (lungs,
aerated lung, pleural fluid); the scene carries them from one stage to the next.
Every finding adds its region to its mask through :meth:`Scene.mark`, in one place per
finding module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from curriclip.data.synthetic.codes import BILATERAL, LEFT, N_FINDINGS, RIGHT
from curriclip.data.synthetic.frame import Frame, col
from curriclip.data.synthetic.params import Params

LUNG_CY = 0.0  # world V of the lung ellipses' centres
RIB_CURVE, RIB_OFFSET = 0.55, 0.68  # rib arcs: phase = (V - curve U^2 + offset) / period + phase0
#: Lobes per side: (name, U offset toward lateral, V).
LOBES = {
    RIGHT: (("right upper lobe", 0.0, -0.42), ("right middle lobe", -0.06, 0.08), ("right lower lobe", 0.05, 0.24)),
    LEFT: (("left upper lobe", 0.0, -0.38), ("left lower lobe", 0.06, 0.24)),
}


def side_sign(side: np.ndarray) -> np.ndarray:
    """World-U sign of a patient side: the patient's right is image-left (U < 0)."""
    return np.where(side == RIGHT, -1.0, 1.0)


def lobe_centre(p: Params, idx: np.ndarray, side: np.ndarray, lobe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World (U, V) of the centre of lobe ``lobe`` on ``side`` for the samples ``idx``."""
    sign = side_sign(side)
    du = np.array([[LOBES[s][min(k, len(LOBES[s]) - 1)][1] for k in range(3)] for s in (RIGHT, LEFT)])
    dv = np.array([[LOBES[s][min(k, len(LOBES[s]) - 1)][2] for k in range(3)] for s in (RIGHT, LEFT)])
    return sign * (p.lung_cx[idx] + du[side, lobe]), dv[side, lobe] + 0.5 * (p.dome[idx] - 0.42)


@dataclass
class Scene:
    """One rendering sub-batch: parameters (as seen on the film), frame, image and masks.

    ``lungs`` (right, left), ``lung`` (their sum), ``aerated`` (lung still holding air)
    and ``fluids`` ((rows, pleural fluid) pairs, through which ribs show faintly) are
    set by the renderer and the findings as the drawing proceeds.
    """

    p: Params
    frame: Frame
    image: np.ndarray  # (B, H, W) float32 density, then brightness
    masks: np.ndarray  # (B, findings, H, W) bool
    lungs: tuple[np.ndarray, ...] = ()
    lung: np.ndarray | None = None
    aerated: np.ndarray | None = None
    fluids: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    @classmethod
    def start(cls, p: Params, size: int) -> Scene:
        frame = Frame(size, p.angle, p.mag, p.shift_u, p.shift_v)
        masks = np.zeros((len(p.ap), N_FINDINGS, size, size), dtype=bool)
        return cls(p, frame, np.empty(0, dtype=np.float32), masks)

    @property
    def size(self) -> int:
        return self.frame.size

    def rows_with(self, finding: int) -> np.ndarray:
        """Indices of the samples that have ``finding``."""
        return np.flatnonzero(self.p.present[:, finding])

    def rows_on(self, rows: np.ndarray, finding: int, side: int) -> np.ndarray:
        """The ``rows`` whose ``finding`` is on ``side`` or bilateral."""
        sides = self.p.side[rows, finding]
        return rows[(sides == side) | (sides == BILATERAL)]

    def lung_on(self, rows: np.ndarray, sides: np.ndarray) -> np.ndarray:
        """The lung (right or left, per row) of the samples ``rows``."""
        return np.where((sides == RIGHT)[:, None, None], self.lungs[0][rows], self.lungs[1][rows])

    def add(self, shape: np.ndarray, density: np.ndarray | float, rows: np.ndarray | None = None) -> None:
        """image += density * shape (on the ``rows`` if given); ``shape`` is consumed."""
        shape *= col(density) if np.ndim(density) else np.float32(density)
        if rows is None:
            self.image += shape
        else:
            self.image[rows] += shape

    def mark(self, finding: int, soft: np.ndarray, rows: np.ndarray | None = None, level: float = 0.5) -> None:
        """Adds the pixels where ``soft`` (a finding's drawn shape, 0..1) exceeds ``level`` to the finding's mask.

        Called just before the shape is consumed by :meth:`add`, so each mask is exactly
        the region the finding changed (its half-maximum outline), not a second drawing.
        Each finding module calls it once, in its ``draw``: the place to add other masks
        (e.g. simulated raters' outlines) of that finding.
        Structures about a pixel thin (nodules, plate atelectasis, lines) never reach 1/2
        at low resolution; they are marked where drawn at all (``level`` 0.2). A shape that
        stays below ``level`` everywhere (a small finding at 64 px) still marks its
        strongest pixel, so a finding that is drawn never has an empty mask.
        """
        if len(soft) == 0:
            return
        masks = self.masks
        rows = np.arange(len(masks)) if rows is None else rows
        hit = soft > level
        flat = soft.reshape(len(soft), -1)
        faint = np.flatnonzero(~hit.reshape(len(hit), -1).any(axis=1) & (flat.max(axis=1) > 0.0))
        if len(faint):
            peak = np.zeros_like(hit).reshape(len(hit), -1)
            peak[faint, flat[faint].argmax(axis=1)] = True
            hit |= peak.reshape(hit.shape)
        masks[rows, finding] |= hit
