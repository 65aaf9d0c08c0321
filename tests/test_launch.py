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


def test_fit_notices_the_interruption_when_rays_logger_is_set_quieter(caplog):
    """Ray's ``logging_level="ERROR"`` (or a user's logging config) must not hide the interruption from fit."""
    logger = logging.getLogger("ray.tune.tune")
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with caplog.at_level(logging.DEBUG):
            logger.setLevel(logging.ERROR)  # caplog.at_level sets the root only; ray.tune.tune stays at ERROR

            class _Noisy(_Tuner):
                def fit(self) -> None:
                    logger.warning("an ordinary warning the user silenced")
                    super().fit()

            assert fit(_Noisy(interrupted=True)) is True
        assert logger.level == logging.ERROR  # restored
        assert not [r for r in caplog.records if r.name == "ray.tune.tune"]  # nothing silenced leaks out
    finally:
        logger.setLevel(before)


def test_the_message_fit_watches_for_is_the_one_this_ray_logs():
    from ray.tune import tune

    assert "has been interrupted, but the most recent state was" in inspect.getsource(tune.run)
