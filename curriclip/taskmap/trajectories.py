"""Trajectories: one task modified step by step (brightness, rotation, noise), from a small strength on.

Each sweep keeps its images and seed fixed and raises one strength from a small ε to
its maximum, so any movement of the embedding comes from the modification alone. The
sweep starts at ε, not at 0: strength 0 is the identity (no-op), which training with
failure tasks pushes away from every real task, so a sweep from 0 would jump at its
first step. TaCo reports such sweeps move smoothly; the smoothness measure is the rank
correlation of strength with distance from the start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curriclip.taskmap.sampling import TaskData, TaskInstance, distinct_sources

#: sweep -> (family, smallest strength ε, largest strength)
SWEEPS = {
    "brightness": ("brightness", 0.02, 0.4),
    "rotation": ("rotation", 5.0, 180.0),
    "noise": ("denoising", 0.02, 0.4),
}


@dataclass(frozen=True)
class SweepPoint:
    sweep: str
    repeat: int
    instance: TaskInstance


def sweep_points(data: TaskData, points: int, repeats: int, set_size: int, seed: int) -> list[SweepPoint]:
    """``repeats`` sweeps of ``points`` strengths each, per sweep family; one image set per repeat."""
    rng = np.random.default_rng(seed)
    out = []
    for sweep, (family, smallest, largest) in SWEEPS.items():
        for repeat in range(repeats):
            rows = distinct_sources(data, np.arange(len(data)), 2 * set_size, rng)
            instance_seed = int(rng.integers(0, 2**31 - 1))
            for strength in np.linspace(smallest, largest, points):
                instance = TaskInstance(
                    family,
                    float(strength),
                    tuple(int(r) for r in rows[:set_size]),
                    tuple(int(r) for r in rows[set_size:]),
                    instance_seed,
                )
                out.append(SweepPoint(sweep, repeat, instance))
    return out
