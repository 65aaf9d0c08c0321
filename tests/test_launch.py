"""Ray Tune's Ctrl-C handling seen from curriclip: the interruption is noticed and Ray's own hint is dropped."""

from __future__ import annotations

import inspect
import logging

from curriclip.rundir.launch import fit


class _Tuner:
    def __init__(self, interrupted: bool) -> None:
        self.interrupted = interrupted

    def fit(self) -> None:
        if self.interrupted:  # what ray.tune.tune logs after its SIGINT handler stopped the run
            logging.getLogger("ray.tune.tune").warning(
                "Experiment has been interrupted, but the most recent state was saved.\n"
                "Resume experiment with: Tuner.restore(path='/x', trainable=...)"
            )


def test_fit_notices_the_interruption_and_drops_rays_restore_hint(caplog):
    with caplog.at_level(logging.WARNING):
        assert fit(_Tuner(interrupted=True)) is True
        assert fit(_Tuner(interrupted=False)) is False
    assert not [r for r in caplog.records if "Tuner.restore" in r.getMessage()]
    assert not logging.getLogger("ray.tune.tune").filters  # the filter is removed after each fit


def test_the_message_fit_watches_for_is_the_one_this_ray_logs():
    from ray.tune import tune

    assert "has been interrupted, but the most recent state was" in inspect.getsource(tune.run)
