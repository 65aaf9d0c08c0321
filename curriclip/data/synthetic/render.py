"""Rendering one sub-batch: anatomy, the findings in their stages, acquisition.

The image is an additive density model, like a real radiograph: body soft tissue,
heart, mediastinum, bones, tubes and fluid add brightness, air in the lungs removes
it, and a per-sample exposure (gain, offset) plus Gaussian noise maps density to
uint8. The order of the stages is part of the output's definition (float32 sums are
not associative): anatomy, findings that change aeration, air and lung markings, ribs
(with a fracture), the other findings, acquisition.
"""

from __future__ import annotations

import numpy as np

from curriclip.data.synthetic.codes import LEFT, RIGHT
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
from curriclip.data.synthetic.frame import col
from curriclip.data.synthetic.params import Params, apply_view
from curriclip.data.synthetic.scene import LUNG_CY, RIB_CURVE, RIB_OFFSET, Scene
from curriclip.data.synthetic.textures import crop, noise_tile, textures


def render(p: Params, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, size, size) uint8 images and (B, findings, size, size) bool finding masks for one sub-batch."""
    scene = Scene.start(apply_view(p), size)
    _draw_anatomy(scene)
    scene.aerated = scene.lung.copy()
    pleural_effusion.draw(scene)  # findings that change aeration, before the markings
    pneumothorax.draw(scene)
    _draw_air_and_markings(scene)
    _draw_ribs(scene)
    consolidation.draw(scene)
    lung_nodule.draw(scene)
    atelectasis.draw(scene)
    edema.draw(scene)
    support_devices.draw(scene)
    return _expose(scene), scene.masks


def _draw_anatomy(scene: Scene) -> None:
    """Torso, heart (its size is cardiomegaly's), lungs, mediastinum, trachea, aorta, stomach, clavicles."""
    p, fr = scene.p, scene.frame
    scene.image = fr.ellipse(0.0, 0.0, p.body_a, 1.9, edge_px=2.0)  # barrel-shaped torso
    scene.image *= np.float32(0.42)  # body soft tissue
    heart_scale = cardiomegaly.heart_scale(p)
    heart_cx = 0.07 + 0.15 * (heart_scale - 1.0)
    heart_cy = 0.25 - 0.05 * (heart_scale - 1.0)
    heart = fr.ellipse(heart_cx, heart_cy, 0.285 * heart_scale, 0.22 * heart_scale**0.7, phi=0.32, edge_px=1.2)
    not_heart = 1.0 - heart
    cardiomegaly.draw(scene, heart)
    scene.add(heart, 0.09)
    scene.lungs = tuple(_lung(scene, side, not_heart) for side in (RIGHT, LEFT))
    scene.lung = scene.lungs[0] + scene.lungs[1]
    scene.add(fr.ellipse(0.0, 0.1, 0.085, 5.0, edge_px=2.5), 0.09)  # mediastinum and spine
    scene.add(fr.ellipse(0.0, -0.80, 0.026, 0.50, edge_px=1.0), -0.12)  # trachea (air)
    scene.add(fr.ellipse(0.12, -0.36, 0.075, 0.07, edge_px=1.2), 0.08)  # aortic knob
    scene.add(fr.ellipse(0.30, p.dome + 0.20, 0.09, 0.055, edge_px=1.5), -0.12)  # gastric bubble
    for sign in (-1.0, 1.0):  # clavicles: medial ends lower, lateral ends up
        scene.add(fr.ellipse(sign * 0.34, -0.74, 0.31, 0.03, phi=-sign * 0.22, edge_px=1.0), 0.20)


def _lung(scene: Scene, side: int, not_heart: np.ndarray) -> np.ndarray:
    """One lung: an ellipse above its hemidiaphragm dome, displaced by the heart."""
    p, fr = scene.p, scene.frame
    sign = -1.0 if side == RIGHT else 1.0
    scale = 1.0 if side == RIGHT else 0.95
    ell = fr.ellipse(sign * p.lung_cx, LUNG_CY, p.lung_a * scale, p.lung_b, phi=sign * 0.06, edge_px=1.5)
    dome_v = p.dome + (0.0 if side == RIGHT else 0.05)  # the left hemidiaphragm is lower
    dome_c = sign * (p.lung_cx - 0.02)
    # lung is above the dome: dome_v + kd (U - c)^2 - V > 0
    kd = 1.1
    ell *= fr.step(kd, -1.0, -2 * kd * dome_c, kd * dome_c * dome_c + dome_v, edge_px=1.5)
    ell *= not_heart  # the heart displaces lung
    return ell


def _draw_air_and_markings(scene: Scene) -> None:
    """Air darkens the lungs; vascular markings show where the lung is still aerated (thicker with edema)."""
    p = scene.p
    scene.image -= scene.lung * np.float32(0.30)
    marks = crop(textures(scene.size)[0], p.tex_off[:, :2], scene.size)
    marks *= scene.aerated
    scene.add(marks, 0.07 * (1.0 + edema.marking_boost(p)))


def _draw_ribs(scene: Scene) -> None:
    """Posterior rib arcs over the lungs, from a phase field (broken where a rib is fractured),
    faint through pleural fluid."""
    p = scene.p
    kr, period = RIB_CURVE, p.rib_period
    phase = scene.frame.quad(-kr / period, 0.0, 0.0, 0.0, 1.0 / period, p.rib_phase + RIB_OFFSET / period)
    fractured = fracture.displace(scene, phase)
    np.floor(phase, out=(fl := np.empty_like(phase)))
    phase -= fl
    phase -= 0.5
    np.abs(phase, out=phase)  # 0 between ribs .. 0.5 on a rib
    phase -= 0.29
    phase *= 6.0
    np.clip(phase, 0.0, 1.0, out=phase)
    if fractured is not None:
        rows, gap = fractured
        phase[rows] *= 1.0 - gap
    phase *= scene.lung
    for idx, fluid in scene.fluids:
        fluid *= -0.6
        fluid += 1.0
        phase[idx] *= fluid
    scene.add(phase, 0.14)


def _expose(scene: Scene) -> np.ndarray:
    """Density to uint8 brightness: per-sample gain and offset, plus sensor noise."""
    p, img = scene.p, scene.image
    img *= col(p.gain * 255.0)
    img += col(p.bias * 255.0)
    noise = crop(noise_tile(scene.size), p.tex_off[:, 4:], scene.size)
    noise *= col(p.noise * 255.0)
    img += noise
    np.clip(img, 0.0, 255.0, out=img)
    return img.astype(np.uint8)
