"""Trajectories: one task modified step by step (brightness, rotation, noise), from the unmodified task on.

Each sweep keeps its images and seed fixed and raises one strength from 0 (the
identity, i.e. the unmodified images) to its maximum, so any movement of the embedding
comes from the modification alone. TaCo reports such sweeps move smoothly; the
smoothness measure is the rank correlation of strength with distance from the start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curriclip.taskmap.sampling import TaskData, TaskInstance

#: sweep -> (family, largest strength); every sweep starts at strength 0
SWEEPS = {"brightness": ("brightness", 0.4), "rotation": ("rotation", 180.0), "noise": ("denoising", 0.4)}


@dataclass(frozen=True)
class SweepPoint:
    sweep: str
    repeat: int
    instance: TaskInstance


def sweep_points(data: TaskData, points: int, repeats: int, set_size: int, seed: int) -> list[SweepPoint]:
    """``repeats`` sweeps of ``points`` strengths each, per sweep family; one image set per repeat."""
    rng = np.random.default_rng(seed)
    out = []
    for sweep, (family, largest) in SWEEPS.items():
        for repeat in range(repeats):
            rows = rng.choice(len(data), size=2 * set_size, replace=False)
            instance_seed = int(rng.integers(0, 2**31 - 1))
            for strength in np.linspace(0.0, largest, points):
                instance = TaskInstance(
                    family,
                    float(strength),
                    tuple(int(r) for r in rows[:set_size]),
                    tuple(int(r) for r in rows[set_size:]),
                    instance_seed,
                )
                out.append(SweepPoint(sweep, repeat, instance))
    return out
