"""Trainables: one trial as a plain function (``run_trial``) and its Ray Tune adapter.

The Ray adapter (``tune_trainable``) and the Ray Train driver (``train_driver``) are
imported only by the search, so ``curriclip train`` and the tests of the training loop
do not need Ray.
"""

from curriclip.trainables.loop import run_trial

__all__ = ["run_trial"]
