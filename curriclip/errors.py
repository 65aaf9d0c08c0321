"""User-facing errors: the CLI prints their one-line message and exits with code 2.

Anything that is the user's to fix (a bad experiment file, an unknown name, a missing
path, a corrupt dataset) raises a ``CurriclipError``; everything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class CurriclipError(Exception):
    """An error in the user's input, reported as one line naming the field or file."""


class ConfigError(CurriclipError):
    """An experiment file or trial config that does not validate."""


class DataError(CurriclipError):
    """A dataset that is missing, malformed or inconsistent."""


class UnknownNameError(CurriclipError, KeyError):
    """A name that is not in its registry."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind, self.name, self.known = kind, name, known
        super().__init__(f"unknown {kind} {name!r} (known: {', '.join(known) or 'none'})")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]
