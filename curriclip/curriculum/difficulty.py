"""Sample difficulty scorers and curriculum controls: from a training pool to a sample order.

A scorer returns one float per training sample, **higher = harder**; the order is then
easiest first and pacing admits the easiest fraction. The interface is two calls:

    scorer = scorers.create(name, params)         # a Scorer; params = the trial's scorer_params
    scores = scorer.score(ctx)                    # ctx: ScoringContext built by the training loop

The loop scores once at trial start, and again at the start of every epoch when
``scorer.dynamic`` is true (scores that depend on the model being trained). Scorers:

- ``metadata``: the dataset's own ``difficulty`` column (the synthetic benchmark knows it).
- ``finding_count``: number of positive findings (labels == 1); more findings = harder.
- ``report_length``: words in the report text; longer = harder.
- ``transfer_teacher`` (Hacohen & Weinshall 2019, transfer scoring; Weinshall et al.
  2018): per-sample ITC loss under a reference model of the trial's own architecture,
  trained briefly (``steps``) on the same training subset.
- ``self_paced`` (Kumar et al. 2010, hard self-paced weights v_i = 1[l_i < lambda]):
  the current model's per-sample ITC loss, re-scored every epoch. The growing threshold
  lambda is set by the pacing function: at step t the admitted samples are exactly those
  whose current loss lies below the f(t)-quantile, and lambda is reported per epoch as
  ``score_threshold``.
- ``image_text_agreement``: 1 - cos(image, text) of each pair under the current model,
  re-scored every epoch (pairs the model already aligns are easy).

The model-based scorers live in ``curriclip.curriculum.model_scorers`` (torch) and are
imported only when created, so this module and ``curriclip.curriculum.inspect`` stay
torch-free while ``curriclip list scorers`` still lists every scorer.

Controls (``CONTROLS``), chosen by the trial's ``control``: ``none`` (easiest first),
``anti`` (hardest first: the same scores, reversed) and ``random`` (a seeded random
order, scores unused, with the same pacing). No pacing is the pacing function ``none``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from curriclip.names import Control

CONTROLS = tuple(Control)


@dataclass
class ScoringContext:
    """What a scorer may look at; the training loop builds it once and updates ``epoch``/``model``."""

    train: Any  # SplitArrays of the trial's training subset (images, texts, labels, difficulty)
    tokens: Any = None  # token ids aligned with ``train``
    config: Any = None  # the TrialConfig (seed, batch_size, lr, ...)
    model: Any = None  # the model being trained (dynamic scorers)
    device: Any = None
    build_model: Callable[[], Any] | None = None  # a fresh untrained model, built as the trial builds its own
    epoch: int = 0


class Scorer:
    """Base class: ``score(ctx) -> (N,) float64``, higher = harder."""

    #: re-scored at the start of every epoch (the scores depend on the model being trained)
    dynamic: bool = False

    def __init__(self, **params: float) -> None:
        self.params = params

    def score(self, ctx: ScoringContext) -> np.ndarray:
        raise NotImplementedError


# --- metadata scorers (static, no model) ------------------------------------------------------


class Metadata(Scorer):
    def score(self, ctx: ScoringContext) -> np.ndarray:
        return np.asarray(ctx.train.difficulty, dtype=np.float64)


class FindingCount(Scorer):
    def score(self, ctx: ScoringContext) -> np.ndarray:
        labels = np.asarray(ctx.train.labels, dtype=np.float64)
        return (labels == 1).sum(axis=1).astype(np.float64)  # NaN (not mentioned) compares False


class ReportLength(Scorer):
    def score(self, ctx: ScoringContext) -> np.ndarray:
        return np.asarray([len(text.split()) for text in ctx.train.texts], dtype=np.float64)


# --- orders and controls ----------------------------------------------------------------------


def easiest_first(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices sorted from easiest to hardest; ties broken at random (seeded), not by id."""
    tiebreak = rng.random(len(scores))
    return np.lexsort((tiebreak, scores))


def curriculum_order(scores: np.ndarray | None, control: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """The sample order pacing admits from: easiest first, hardest first (anti) or random."""
    if control == "random":
        return rng.permutation(n)
    if scores is None or len(scores) != n:
        raise ValueError(f"control {control!r} needs one score per sample ({n})")
    if control == "anti":
        return easiest_first(-np.asarray(scores, dtype=np.float64), rng)
    if control == "none":
        return easiest_first(scores, rng)
    raise ValueError(f"unknown control {control!r} (known: {', '.join(CONTROLS)})")
