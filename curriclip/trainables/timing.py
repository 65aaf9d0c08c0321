"""Where a trial process spends its time outside training: a per-process stopwatch of named phases.

A trial's own clock (``epoch_time_s``) covers training and evaluation; what it does
before the first epoch (opening the dataset, building the model, evaluating the
untrained model) and between epochs (writing checkpoints) is overhead that decides how
many small trials a machine can afford. ``PHASES`` adds up the seconds spent in each
named phase; the Tune trainable resets it when a trial starts and reports it beside the
metrics (``timing``), and ``benchmarks/bench_trial_overhead.py`` turns it into an
overhead budget. One trial runs in a process at a time, so one stopwatch per process
is enough; it costs two clock reads per phase.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class PhaseClock:
    """Seconds per named phase since the last ``reset``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def reset(self) -> None:
        self.seconds = {}

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def snapshot(self) -> dict[str, float]:
        return dict(self.seconds)


#: This process's stopwatch (phases: data_open, model_build, build_rest, untrained_eval, checkpoint_write).
PHASES = PhaseClock()
