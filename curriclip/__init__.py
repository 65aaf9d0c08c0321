"""curriclip: curriculum searches for multi-task CLIP models on sparse medical image-text data.

The design card's three rooms are visible here: ``spaces`` (what to try), ``trainables``
(one trial), ``search`` (how to run many on Ray). They load on first use, so that
``curriclip.reports`` (which needs neither torch nor Ray) stays light.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_ROOMS = ("spaces", "trainables", "search")
__all__ = ["__version__", *_ROOMS]


def __getattr__(name: str):
    if name in _ROOMS:
        return importlib.import_module(f"curriclip.{name}")
    raise AttributeError(f"module 'curriclip' has no attribute {name!r}")
