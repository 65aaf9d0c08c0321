"""Task schedules: which tasks train, with which loss weights, at step t.

A schedule turns a task *ordering* (ITC anywhere in it) into loss weights per step.
Stages are the intervals between the steps at which tasks join; their lengths come from
a pacing function (``stage_pacing``) run over the first ``stage_span`` of training:
the k-th of n tasks joins once that function has covered k/n of its way from its
starting value to 1. The default, linear pacing with ``a = 1``, gives equal stages, so
with ordering (rotation, findings, itc) and span 0.6 rotation starts at step 0,
findings at 20% and ITC at 40% of training; a convex function (exponential, quadratic)
gives long early stages and short late ones, a concave one (root, logarithmic) the
opposite, and ``none`` starts every task at step 0 (plain multi-task learning).

Modes (``MODES``):

- **cumulative**: tasks join stage by stage and stay (weight 1 once joined).
- **sequential**: one task per stage. An auxiliary task trains only during its own
  stage, except the last task of the ordering, which continues to the end of training
  (something must train after the last stage begins). ITC, the task CLIP score
  measures, never leaves once it has joined: (rotation, itc, findings) trains rotation,
  then ITC, then ITC + findings; (rotation, findings, itc) is classic sequential
  pre-training; (itc, rotation, findings) keeps ITC throughout and swaps the auxiliary
  task per stage. A stage of length 0 (two tasks joining at the same step) is skipped.
- **ramped**: tasks join as in cumulative, but each task after the first ramps its loss
  weight in by the same stage pacing function, run over its own stage (the last task's
  ramp ends with the span), so a task's weight goes from the function's starting value
  to 1 before the next task joins. The first task trains at weight 1 from step 0.

A single-task ordering ``(itc,)`` trains ITC at weight 1 from step 0 in every mode.
This module is pure (no torch), so ``curriclip.curriculum.inspect`` can draw a schedule
from a trial's config alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from curriclip.curriculum import pacing
from curriclip.names import ITC

MODES = ("cumulative", "sequential", "ramped")

#: The task CLIP score measures: it keeps training to the end in every mode.
TARGET_TASK = ITC

#: Default stage pacing: linear over the whole span, i.e. equal stages.
DEFAULT_STAGE_PACING = "linear"
DEFAULT_STAGE_PACING_PARAMS: dict[str, float] = {"a": 1.0}


@dataclass(frozen=True)
class TaskSchedule:
    ordering: tuple[str, ...]
    stage_span: float = 0.5
    mode: str = "cumulative"
    stage_pacing: str = DEFAULT_STAGE_PACING
    stage_pacing_params: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_STAGE_PACING_PARAMS))

    def __post_init__(self) -> None:
        if not self.ordering:
            raise ValueError("a task schedule needs at least one task")
        if len(set(self.ordering)) != len(self.ordering):
            raise ValueError(f"task ordering repeats a task: {self.ordering}")
        if not 0 <= self.stage_span <= 1:
            raise ValueError(f"stage_span must lie in [0, 1], got {self.stage_span}")
        if self.mode not in MODES:
            raise ValueError(f"unknown schedule mode {self.mode!r} (known: {', '.join(MODES)})")
        fn = pacing.get(self.stage_pacing)
        unknown = set(self.stage_pacing_params) - set(fn.params)
        if unknown:
            raise ValueError(f"stage pacing {self.stage_pacing!r} has no parameter(s) {sorted(unknown)}")
        object.__setattr__(self, "_starts", {})

    # -- stages --------------------------------------------------------------------------

    def span_steps(self, total_steps: int) -> int:
        """Length of the span over which tasks join, in steps."""
        return int(round(self.stage_span * total_steps))

    def _g(self, step: int, span: int) -> float:
        return pacing.get(self.stage_pacing)(step, span, **dict(self.stage_pacing_params))

    def start_steps(self, total_steps: int) -> tuple[int, ...]:
        """The step at which each task of the ordering joins (non-decreasing; the first is 0)."""
        cache: dict[int, tuple[int, ...]] = self._starts  # type: ignore[attr-defined]
        if total_steps in cache:
            return cache[total_steps]
        n, span = len(self.ordering), self.span_steps(total_steps)
        starts = [0] * n
        if n > 1 and span > 0:
            values = [self._g(t, span) for t in range(span + 1)]
            g0 = values[0]
            if g0 < 1.0:
                t = 0
                for k in range(1, n):
                    target = g0 + (1.0 - g0) * k / n
                    while t < span and values[t] < target - 1e-12:
                        t += 1
                    starts[k] = t
        cache[total_steps] = tuple(starts)
        return cache[total_steps]

    def start_step(self, task: str, total_steps: int) -> int:
        """The first step at which ``task`` contributes to the loss."""
        return self.start_steps(total_steps)[self.ordering.index(task)]

    def stages(self, total_steps: int) -> list[tuple[str, int, int]]:
        """(task, first step, end step) of each task's own stage; the last ends with training."""
        starts = self.start_steps(total_steps)
        ends = [*starts[1:], total_steps]
        return [(task, s, e) for task, s, e in zip(self.ordering, starts, ends)]

    # -- weights -------------------------------------------------------------------------

    def weights(self, step: int, total_steps: int) -> dict[str, float]:
        """Loss weight of every active task at ``step`` (inactive tasks are absent)."""
        starts = self.start_steps(total_steps)
        n = len(self.ordering)
        out: dict[str, float] = {}
        for k, task in enumerate(self.ordering):
            start = starts[k]
            if step < start:
                continue
            if self.mode == "cumulative":
                out[task] = 1.0
            elif self.mode == "sequential":
                end = starts[k + 1] if k + 1 < n else math.inf
                if step < end or task == TARGET_TASK or k == n - 1:
                    out[task] = 1.0
            else:  # ramped
                out[task] = 1.0 if k == 0 else self._ramp(step - start, k, starts, total_steps)
        return out

    def _ramp(self, since: int, k: int, starts: tuple[int, ...], total_steps: int) -> float:
        end = starts[k + 1] if k + 1 < len(starts) else max(self.span_steps(total_steps), starts[k])
        length = end - starts[k]
        if length <= 0:
            return 1.0
        return min(1.0, self._g(since, length))
