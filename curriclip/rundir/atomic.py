"""Whole files or nothing: every file a run writes goes to a temporary name beside it, then is renamed.

A reader (the report, ``curriclip confirm``, a user's notebook) never sees half a file,
and an interrupted write leaves the previous version in place.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path`` that no other writer picks."""
    return path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` and rename ``tmp`` to ``path``; a failed write removes ``tmp`` and leaves ``path``."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_text(path: str | Path, text: str) -> Path:
    return atomic_bytes(path, text.encode("utf-8"))


def atomic_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def jsonable(value):
    """``value`` with NaN and infinities as null and numpy scalars as Python numbers (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def atomic_json(path: str | Path, value: object) -> Path:
    """``value`` as strict JSON (NaN as null), indented by one space."""
    return atomic_text(path, json.dumps(jsonable(value), indent=1, allow_nan=False))
