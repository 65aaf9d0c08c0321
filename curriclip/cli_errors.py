"""How every ``curriclip`` command ends on a user error: one line naming the field or file, exit code 2.

Ctrl-C ends a command with exit code 130. Shared by the main CLI and the sub-apps it mounts
(``curriclip taskmap``), so every command answers the same way: a bad option value
(``--seeds 0``) is one line too, not Click's usage box, and a file the system refuses to
write (read-only, under a regular file, a directory where a file goes) is named in one line.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

try:  # Typer vendors Click from 0.25 on; its exceptions are the ones its parser raises
    from typer import _click as click
except ImportError:  # pragma: no cover - an older Typer on Click itself
    import click

from curriclip.errors import CurriclipError

#: ``OSError``s that are the user's to fix (the path they gave), answered in one line instead of a traceback.
USER_OS_ERRORS = {
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.ENAMETOOLONG,
}


def error_line(message: str) -> None:
    typer.echo(f"curriclip: error: {message}", err=True)


def interrupted(message: str = "curriclip: interrupted") -> None:
    """End on Ctrl-C with exit code 130 after ``message`` (the process itself ends in ``exit_process``)."""
    typer.echo(message, err=True)
    raise typer.Exit(130)


def exit_process(code: int) -> None:
    """End the ``curriclip`` process with ``code`` (130: interrupted).

    Ctrl-C can land while Ray starts or tears down; the interpreter's own shutdown then
    crashes inside Ray's core (SIGSEGV instead of 130), so an interrupted command that
    loaded Ray ends here, its output flushed, without running finalizers. Only the
    command-line entry point calls this: in-process callers (tests, notebooks) get
    ``typer.Exit(130)`` and keep their interpreter.
    """
    if code == 130 and "ray" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(code)


def user_errors(fn):
    """Turn CurriclipError (and a path the system refuses) into one line and exit code 2, Ctrl-C into 130."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CurriclipError as exc:
            error_line(str(exc))
            raise typer.Exit(2) from None
        except OSError as exc:
            if exc.errno not in USER_OS_ERRORS or not exc.filename:
                raise
            error_line(f"{exc.filename}: {exc.strerror}")
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            interrupted()

    return wrapper


class OneLineErrors(TyperGroup):
    """A Typer group whose option and argument errors print one line (``curriclip: error: ...``), exit code 2."""

    def main(self, args: Any = None, prog_name: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        try:
            code = super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # `curriclip` alone: the help, as Click prints it
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.ClickException as exc:
            error_line(exc.format_message().replace("\n", " "))
            sys.exit(2)
        except click.exceptions.Abort:
            typer.echo("curriclip: interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)
