"""``curriclip fuse``: fuse the best trials of a search (registered by ``curriclip/cli.py``)."""

from __future__ import annotations

from pathlib import Path

import typer


def fuse(
    run_dir: Path = typer.Argument(..., help="A search's run directory."),
    top: int = typer.Option(3, "--top", min=2, help="How many of the best trials to fuse."),
    method: str = typer.Option("vote", "--method", help="vote (hierarchical majority) or staple (SimpleITK)."),
) -> None:
    """Fuse the segmentations and embeddings of the top-K trials; writes fusion.parquet in the run directory."""
    from curriclip.fusion.run import fuse_run, summary_lines

    result = fuse_run(run_dir.expanduser().resolve(), top, method)
    typer.echo("\n".join(summary_lines(result)))
