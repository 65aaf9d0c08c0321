"""``curriclip fuse``: fuse the best trials of a search (registered by ``curriclip/cli.py``)."""

from __future__ import annotations

from pathlib import Path

import typer

#: Fusion methods (``curriclip.fusion.vote.fuse``).
METHODS = ("vote", "staple")


def fuse(
    run_dir: Path = typer.Argument(..., help="A search's run directory."),
    top: int = typer.Option(3, "--top", min=2, help="How many of the best trials to fuse."),
    method: str = typer.Option("vote", "--method", help="vote (hierarchical majority) or staple (SimpleITK)."),
    select_by: str | None = typer.Option(
        None, "--select-by", help="dice | clip_score: the validate metric members are selected by (default: search's)."
    ),
) -> None:
    """Fuse the segmentations and embeddings of the top-K trials; writes fusion.parquet in the run directory."""
    from curriclip.errors import CurriclipError
    from curriclip.fusion.run import fuse_run, summary_lines

    if method not in METHODS:  # before any trial is loaded or predicted
        raise CurriclipError(f"--method {method!r}: expected {' or '.join(METHODS)}")
    run_dir = run_dir.expanduser().resolve()
    if not run_dir.is_dir():
        raise CurriclipError(f"{run_dir}: run directory not found")
    result = fuse_run(run_dir, top, method, select_by)
    typer.echo("\n".join(summary_lines(result)))
