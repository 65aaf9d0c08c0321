"""How every ``curriclip`` command ends on a user error: one line naming the field or file, exit code 2.

Ctrl-C ends a command with exit code 130. Shared by the main CLI and the sub-apps it mounts
(``curriclip taskmap``), so every command answers the same way.
"""

from __future__ import annotations

import functools

import typer

from curriclip.errors import CurriclipError


def user_errors(fn):
    """Turn CurriclipError into a one-line message and exit code 2, and Ctrl-C into exit code 130."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CurriclipError as exc:
            typer.echo(f"curriclip: error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("curriclip: interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper
