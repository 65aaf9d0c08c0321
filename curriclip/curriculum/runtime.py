"""One trial's curriculum while it trains: scorer -> order (with its control) -> paced sampler, and the schedule.

The training loop makes one ``TrialCurriculum`` and calls three hooks (the CurML shape:
a curriculum is a few hooks around a loop, not a trainer):

- ``start_epoch(epoch, model, rng)`` at every epoch start: a dynamic scorer re-scores
  the pool with the current model and the sampler's order is rebuilt;
- ``batch(step, rng)`` / ``weights(step)``: the sample indices and task loss weights;
- ``epoch_metrics(last_step)``: what the epoch report adds (data fraction, score
  threshold, admitted difficulty, scoring time).

Static scorers score once, when the object is made; that happens before a resumed
trial restores its random state, exactly as in the uninterrupted run, so the order is
the same. Dynamic scorers score at each epoch start from the restored model and state,
which again matches the uninterrupted run. Without pacing the order does not matter and
nothing is scored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from curriclip.curriculum import difficulty, pacing, scorers
from curriclip.curriculum.sampler import PacedSampler
from curriclip.curriculum.schedule import TaskSchedule


class TrialCurriculum:
    def __init__(
        self,
        cfg: Any,
        train: Any,
        tokens: Any,
        rng: np.random.Generator,
        device: Any = None,
        build_model: Callable[[], Any] | None = None,
    ) -> None:
        self.cfg = cfg
        self.total_steps = cfg.total_steps
        self.n = len(train)
        self.schedule = TaskSchedule(
            tuple(cfg.tasks), cfg.stage_span, cfg.schedule, cfg.stage_pacing, dict(cfg.stage_pacing_params)
        )
        self.scorer = scorers.create(cfg.scorer, cfg.scorer_params)
        self.timed = scorers.get(cfg.scorer).needs_model and cfg.control != "random"
        self.ctx = difficulty.ScoringContext(
            train=train, tokens=tokens, config=cfg, device=device, build_model=build_model
        )
        self.paced = cfg.pacing != "none"
        self.rescore = self.paced and self.scorer.dynamic and cfg.control != "random"
        self.scores: np.ndarray | None = None
        self.scoring_time_s = 0.0
        order = np.arange(self.n)
        if self.paced and not self.rescore:
            order = self._order(epoch=0, model=None, rng=rng)
        self.sampler = PacedSampler(order, pacing.get(cfg.pacing), cfg.pacing_params, cfg.total_steps, cfg.batch_size)

    def _order(self, epoch: int, model: Any, rng: np.random.Generator) -> np.ndarray:
        started = time.monotonic()
        if self.cfg.control != "random":
            self.ctx.epoch, self.ctx.model = epoch, model
            self.scores = np.asarray(self.scorer.score(self.ctx), dtype=np.float64)
        order = difficulty.curriculum_order(self.scores, self.cfg.control, rng, self.n)
        # timed only where it costs: model-based scorers (metadata ones take microseconds, and a
        # timing-free report keeps two runs of one config identical)
        self.scoring_time_s = time.monotonic() - started if self.timed else 0.0
        return order

    def start_epoch(self, epoch: int, model: Any, rng: np.random.Generator) -> None:
        """Re-score with the current model (dynamic scorers only)."""
        if self.rescore:
            self.sampler.order = self._order(epoch, model, rng)
        elif epoch > 0:
            self.scoring_time_s = 0.0

    def batch(self, step: int, rng: np.random.Generator) -> np.ndarray:
        return self.sampler.batch(step, rng)

    def weights(self, step: int) -> dict[str, float]:
        return self.schedule.weights(step, self.total_steps)

    def epoch_metrics(self, last_step: int, difficulty_column: np.ndarray | None = None) -> dict[str, float]:
        """Per-epoch curriculum metrics at the epoch's last step.

        ``score_threshold``: the highest score admitted (self-paced: the loss threshold
        lambda; NaN without scores); ``pool_difficulty``: mean dataset difficulty of the
        admitted pool (comparable across scorers and controls); ``scoring_time_s``: time
        spent scoring with a model at this epoch's start (the teacher's training counts in
        epoch 1; 0 for metadata scorers).
        """
        pool = self.sampler.pool_size(last_step)
        admitted = self.sampler.order[:pool]
        out = {
            "data_fraction": pool / self.n,
            "score_threshold": float(self.scores[admitted].max()) if self.scores is not None else float("nan"),
            "scoring_time_s": self.scoring_time_s,
        }
        if difficulty_column is not None:
            out["pool_difficulty"] = float(np.asarray(difficulty_column, dtype=np.float64)[admitted].mean())
        return out
