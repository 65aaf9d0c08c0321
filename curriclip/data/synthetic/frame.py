"""Pixel <-> world coordinates and the soft shapes every drawing is made of.

A quadratic form in world coordinates (U, V) is still a quadratic form in pixel
coordinates, so each shape costs three broadcast operations on a ``(B, H, W)`` array;
that is what makes thousands of samples per second possible without per-pixel Python.
"""

from __future__ import annotations

import numpy as np


def col(x: np.ndarray | float) -> np.ndarray:
    """A per-sample scalar as a (B, 1, 1) float32 array, to scale (B, H, W) fields."""
    return np.asarray(x, dtype=np.float32).reshape(-1, 1, 1)


class Frame:
    """Per-sample similarity transform from pixel coordinates to world coordinates.

    ``U = m11 u + m12 v + t1``, ``V = m21 u + m22 v + t2`` with pixel-centre
    coordinates ``u, v`` in (-1, 1). A quadratic (or linear) form in (U, V) is then a
    quadratic form in (u, v); its u-only and v-only parts are (B, 1, W) and (B, H, 1)
    arrays, so the whole (B, H, W) field costs one multiply of the uv cross term and
    two broadcast adds.
    """

    def __init__(self, size: int, angle: np.ndarray, mag: np.ndarray, su: np.ndarray, sv: np.ndarray) -> None:
        self.size = size
        grid = (np.arange(size, dtype=np.float64) + 0.5) / size * 2.0 - 1.0
        self.g = grid
        self.g2 = grid * grid
        self.uv = (grid[:, None] * grid[None, :]).astype(np.float32)  # [v, u]
        c, s = np.cos(angle) / mag, np.sin(angle) / mag
        self.m11, self.m12, self.m21, self.m22 = c, s, -s, c
        self.t1, self.t2 = -su, -sv
        self.pixel = 2.0 / size  # one pixel in (unmagnified) world units

    def sub(self, idx: np.ndarray) -> Frame:
        """The frame of the samples ``idx`` only (findings are drawn on the rows that have them)."""
        f = object.__new__(Frame)
        f.__dict__.update(self.__dict__)
        for k in ("m11", "m12", "m21", "m22", "t1", "t2"):
            setattr(f, k, getattr(self, k)[idx])
        return f

    def __len__(self) -> int:
        return len(self.m11)

    def quad(self, cuu, cvv, cuv, cu, cv, c0) -> np.ndarray:  # noqa: ANN001 (arrays or floats)
        """cuu U^2 + cvv V^2 + cuv UV + cu U + cv V + c0 on the grid, (B, H, W) float32."""
        m11, m12, m21, m22, t1, t2 = self.m11, self.m12, self.m21, self.m22, self.t1, self.t2
        au = cuu * m11 * m11 + cvv * m21 * m21 + cuv * m11 * m21
        av = cuu * m12 * m12 + cvv * m22 * m22 + cuv * m12 * m22
        auv = 2 * cuu * m11 * m12 + 2 * cvv * m21 * m22 + cuv * (m11 * m22 + m12 * m21)
        bu = 2 * cuu * m11 * t1 + 2 * cvv * m21 * t2 + cuv * (m11 * t2 + m21 * t1) + cu * m11 + cv * m21
        bv = 2 * cuu * m12 * t1 + 2 * cvv * m22 * t2 + cuv * (m12 * t2 + m22 * t1) + cu * m12 + cv * m22
        c = cuu * t1 * t1 + cvv * t2 * t2 + cuv * t1 * t2 + cu * t1 + cv * t2 + c0
        b = len(self)
        au, av, auv, bu, bv, c = (
            np.broadcast_to(np.asarray(x, dtype=np.float64), (b,)) for x in (au, av, auv, bu, bv, c)
        )
        row = (au[:, None] * self.g2 + bu[:, None] * self.g).astype(np.float32)[:, None, :]
        column = (av[:, None] * self.g2 + bv[:, None] * self.g + c[:, None]).astype(np.float32)[:, :, None]
        out = np.multiply(auv.astype(np.float32)[:, None, None], self.uv)
        out += row
        out += column
        return out

    def lin(self, cu, cv, c0) -> np.ndarray:  # noqa: ANN001
        """cu U + cv V + c0 on the grid (one broadcast add)."""
        b = len(self)
        bu = np.broadcast_to(cu * self.m11 + cv * self.m21, (b,))
        bv = np.broadcast_to(cu * self.m12 + cv * self.m22, (b,))
        c = np.broadcast_to(cu * self.t1 + cv * self.t2 + c0, (b,))
        row = (bu[:, None] * self.g).astype(np.float32)[:, None, :]
        column = (bv[:, None] * self.g + c[:, None]).astype(np.float32)[:, :, None]
        return row + column

    def ellipse(self, cx, cy, a, b, phi=0.0, edge_px: float = 1.2) -> np.ndarray:  # noqa: ANN001
        """Soft mask of a (rotated) ellipse: 1 inside, 0 outside, ~edge_px pixels ramp."""
        c, s = np.cos(phi), np.sin(phi)
        ia, ib = 1.0 / np.square(a), 1.0 / np.square(b)
        qa = c * c * ia + s * s * ib
        qb = s * s * ia + c * c * ib
        qc = 2 * c * s * (ia - ib)
        # ramp 0..1 over edge_px pixels at the boundary: k (1 - q), q ~ 1 + 2 d / min(a, b)
        k = -np.minimum(a, b) / (2.0 * edge_px * self.pixel)
        out = self.quad(
            k * qa,
            k * qb,
            k * qc,
            k * (-2 * qa * cx - qc * cy),
            k * (-2 * qb * cy - qc * cx),
            k * (qa * cx * cx + qb * cy * cy + qc * cx * cy) - k,
        )
        return np.clip(out, 0.0, 1.0, out=out)

    def step(self, cuu, cv, cu, c0, edge_px: float) -> np.ndarray:  # noqa: ANN001
        """Soft indicator of ``cuu U^2 + cu U + cv V + c0 > 0`` (|cv| = 1: V-distance)."""
        k = 1.0 / (edge_px * self.pixel)
        out = self.quad(k * cuu, 0.0, 0.0, k * cu, k * cv, k * c0)
        return np.clip(out, 0.0, 1.0, out=out)

    def segment(self, ax, ay, bx, by, width: float, edge_px: float = 0.8) -> np.ndarray:  # noqa: ANN001
        """Soft mask of a line segment of half-width ``width`` (world units)."""
        dx, dy = bx - ax, by - ay
        l2 = dx * dx + dy * dy
        t = self.lin(dx / l2, dy / l2, -(ax * dx + ay * dy) / l2)
        np.clip(t, 0.0, 1.0, out=t)
        pu = self.lin(1.0, 0.0, -ax)
        pu -= col(dx) * t
        pv = self.lin(0.0, 1.0, -ay)
        pv -= col(dy) * t
        pu *= pu
        pv *= pv
        pu += pv  # squared distance to the segment
        e = edge_px * self.pixel
        w = width + e / 2
        pu -= w * w
        pu *= -1.0 / (2 * w * e)
        return np.clip(pu, 0.0, 1.0, out=pu)
