"""Sample difficulty scorers: map a training pool to a difficulty per sample.

A scorer returns one float per sample (higher = harder); pacing then admits the
easiest fraction. The spine ships the *metadata* scorer, which trusts the dataset's own
``difficulty`` column (the synthetic benchmark knows it exactly).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from curriclip.registry import new_registry

#: name -> fn(difficulty_column, rng) -> per-sample scores
SCORERS = new_registry("difficulty scorer", "scorers")


@SCORERS.register("metadata")
def metadata(difficulty: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The dataset's difficulty column as given."""
    return np.asarray(difficulty, dtype=np.float64)


def get(name: str) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    return SCORERS.get(name)


def easiest_first(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices sorted from easiest to hardest; ties broken at random (seeded), not by id."""
    tiebreak = rng.random(len(scores))
    return np.lexsort((tiebreak, scores))
