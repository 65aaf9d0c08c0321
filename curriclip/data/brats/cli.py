"""``curriclip data synth-brats``, ``curriclip data brats`` and ``curriclip fuse``, added to the main CLI.

The commands live here so that ``curriclip/cli.py`` needs one line: ``add_commands(app, data_app, user_errors)``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer


def add_commands(app: typer.Typer, data_app: typer.Typer, user_errors: Callable) -> None:
    """Register the BRATS data commands under ``data`` and ``fuse`` at the top level."""
    data_app.command("synth-brats")(user_errors(synth_brats))
    data_app.command("brats")(user_errors(brats))
    app.command("fuse")(user_errors(fuse))


def synth_brats(
    out: Path = typer.Option(..., "--out", help="Dataset directory to create (must not exist)."),
    n_cases: int = typer.Option(60, "--n-cases", min=3, help="Number of simulated patients."),
    slices_per_case: int = typer.Option(4, "--slices-per-case", min=1, help="Axial slices per patient."),
    image_size: int = typer.Option(64, "--image-size", min=16, help="Image side in pixels."),
    raters: int = typer.Option(4, "--raters", min=0, help="Simulated raters per region (0: none)."),
    seed: int = typer.Option(0, "--seed", help="Generator seed."),
) -> None:
    """Generate the simulated-tumour benchmark: T1/T1c/T2/FLAIR slices, WT/TC/ET masks, reports, raters."""
    from curriclip.data.brats.synth import generate_synth_brats

    path = generate_synth_brats(out.expanduser().resolve(), n_cases, slices_per_case, image_size, raters, seed)
    typer.echo(path)


def brats(
    cases: Path = typer.Option(..., "--cases", help="Folder of BraTS20_Training_NNN case folders (BraTS 2020)."),
    reports: Path | None = typer.Option(
        None,
        "--reports",
        help="TextBraTS reports: a folder of <case id>*.txt files, or a .csv/.parquet table with columns "
        "case_id (or id, case) and report (or text, findings).",
    ),
    out: Path = typer.Option(..., "--out", help="Dataset directory to create (must not exist)."),
    slices_per_case: int = typer.Option(8, "--slices-per-case", min=1, help="Axial slices with the most tumour."),
    image_size: int = typer.Option(128, "--image-size", min=8, help="Slices are cropped square and resized."),
    templated: bool = typer.Option(
        True,
        "--templated-reports/--skip-missing-reports",
        help="Cases without a report: a report templated from the labels (labelled as such) or skipped and counted.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the patient-level split."),
) -> None:
    """Ingest BraTS 2020 cases (4 contrasts as channels, nested WT/TC/ET masks) with TextBraTS reports.

    Channels T1, T1c, T2, FLAIR; intensity per volume and contrast: brain voxels' 0.5..99.5th
    percentile mapped to 1..255, background 0. Bad input (missing contrast, shapes that differ,
    labels outside {0,1,2,4}, non-NIfTI file, file names that do not match the case folder) stops
    with one line and writes nothing; BraTS 2020 case 355's misnamed seg file is rejected too:
    rename it to <case>_seg.nii.
    """
    from curriclip.data.brats.ingest import ingest_brats

    path, counts = ingest_brats(
        cases.expanduser().resolve(),
        out.expanduser().resolve(),
        reports.expanduser().resolve() if reports else None,
        slices_per_case,
        image_size,
        templated,
        seed,
    )
    typer.echo(f"brats: {counts['cases']} cases, {counts['slices']} slices, {counts['skipped']} skipped", err=True)
    typer.echo(path)


def fuse(
    run_dir: Path = typer.Argument(..., help="A search's run directory."),
    top: int = typer.Option(3, "--top", min=2, help="How many of the best trials to fuse."),
    method: str = typer.Option("vote", "--method", help="vote (hierarchical majority) or staple (SimpleITK)."),
    select_by: str | None = typer.Option(
        None, "--select-by", help="dice | clip_score: the validate metric members are selected by (default: search's)."
    ),
) -> None:
    """Fuse the segmentations and embeddings of the top-K trials; writes fusion.parquet in the run directory."""
    from curriclip.fusion.run import fuse_run, summary_lines

    result = fuse_run(run_dir.expanduser().resolve(), top, method, select_by)
    typer.echo("\n".join(summary_lines(result)))
