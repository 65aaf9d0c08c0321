"""Paths a command will write, refused before any work when they cannot be: under a regular file, read-only.

Every command that writes (``search --storage``, ``report --out``, ``data ... --out``,
``taskmap map --out``, ``train --out``) checks its output here first, so a bad path is one
line naming it, not a traceback after minutes of work.
"""

from __future__ import annotations

import os
from pathlib import Path

from curriclip.errors import CurriclipError


def _nearest_existing(path: Path) -> Path:
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return existing


def writable_directory(path: Path, option: str) -> None:
    """Refuse a directory that cannot be created or written (one under a file, or on a read-only place)."""
    existing = _nearest_existing(path)
    if not existing.is_dir():
        raise CurriclipError(f"{option} {path}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CurriclipError(f"{option} {path}: {existing} is not writable")


def writable_file(path: Path, option: str) -> Path:
    """Refuse a file that cannot be written: a directory of that name, a parent that is a file or read-only."""
    path = path.expanduser().resolve()
    if path.is_dir():
        raise CurriclipError(f"{option} {path}: is a directory (name the file to write)")
    if path.exists() and not os.access(path, os.W_OK):
        raise CurriclipError(f"{option} {path}: is not writable")
    writable_directory(path.parent, option)
    return path


def new_dataset_directory(out: Path, option: str = "--out") -> Path:
    """A data command's output directory, refused before any image is read when it exists or cannot be written."""
    out = out.expanduser().resolve()
    if out.exists():
        raise CurriclipError(f"{option} {out}: already exists (choose another {option} or delete it)")
    writable_directory(out, option)
    return out
