"""``curriclip data synth``, ``mimic-cxr``, ``iu-xray`` and ``csv``: datasets in curriclip's Arrow schema.

Registered on the main CLI's ``data`` group by ``add_commands`` (the BRATS commands are
``curriclip.data.brats.cli``'s), so ``curriclip/cli.py`` needs one line for them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from curriclip.cli_paths import new_dataset_directory
from curriclip.errors import CurriclipError


def add_commands(data_app: typer.Typer, user_errors: Callable) -> None:
    """Register the dataset commands under ``data``."""
    data_app.command("synth")(user_errors(data_synth))
    data_app.command("mimic-cxr")(user_errors(data_mimic))
    data_app.command("iu-xray")(user_errors(data_iu_xray))
    data_app.command("csv")(user_errors(data_csv))


def comma_list(values: list[str] | None) -> list[str] | None:
    """A list option given as repeated flags, comma-separated, or both (``--x a,b --x c``)."""
    if values is None:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def data_synth(
    out: Path = typer.Option(..., "--out", help="Dataset directory to create (must not exist)."),
    n: int = typer.Option(3000, "--n", min=10, help="Number of samples."),
    image_size: int = typer.Option(128, "--image-size", min=16, help="Image side in pixels."),
    seed: int = typer.Option(0, "--seed", help="Generator seed."),
    variant: str | None = typer.Option(
        None, "--variant", help="A planted-effect variant (noisy_hard_pairs); default: the benchmark itself."
    ),
    noise_fraction: float = typer.Option(
        0.0, "--noise-fraction", help="noisy_hard_pairs: the fraction of training pairs that get another's report."
    ),
    noise_band: float | None = typer.Option(
        None,
        "--noise-band",
        help="noisy_hard_pairs: the hardest fraction of the training pairs they are drawn from (default: twice it).",
    ),
) -> None:
    """Generate the synthetic chest-X-ray benchmark (images, reports, labels, difficulty), or a planted variant."""
    from curriclip.data.sources import generate_synthetic

    planted_options(variant, noise_fraction, noise_band)
    path = generate_synthetic(
        new_dataset_directory(out),
        n=n,
        image_size=image_size,
        seed=seed,
        variant=variant,
        noise_fraction=noise_fraction,
        noise_band=noise_band,
    )
    typer.echo(path)


def planted_options(variant: str | None, noise_fraction: float, noise_band: float | None = None) -> None:
    """``--variant``, ``--noise-fraction`` and ``--noise-band`` checked as the data block checks them."""
    from pydantic import ValidationError

    from curriclip.config.sections import DataConfig

    try:
        DataConfig(variant=variant, noise_fraction=noise_fraction, noise_band=noise_band)
    except ValidationError as exc:
        error = exc.errors()[0]
        model_level = "noise_band" if "noise_band (" in error["msg"] else "variant"  # those checks name no field
        field = str(error["loc"][0]) if error["loc"] else model_level
        option = {"noise_fraction": "--noise-fraction", "noise_band": "--noise-band"}.get(field, "--variant")
        raise CurriclipError(f"{option}: {error['msg'].removeprefix('Value error, ')}") from None


def _ingest(name: str, out: Path, image_size: int, skip_bad: bool, ray_mode: bool | None, **kwargs) -> None:
    from curriclip.data.ingest import INGESTERS, ingest

    out = new_dataset_directory(out)

    path, report = ingest(
        INGESTERS.get(name),
        out.expanduser().resolve(),
        image_size,
        source=name,
        skip_bad=skip_bad,
        use_ray=ray_mode,
        **kwargs,
    )
    typer.echo(f"{name}: {report.summary()}", err=True)
    typer.echo(path)


_OUT = typer.Option(..., "--out", help="Dataset directory to create (must not exist).")
_SIZE = typer.Option(128, "--image-size", min=16, help="Images are padded to square and resized to this side.")
_SKIP = typer.Option(
    False, "--skip-bad", help="Skip bad rows (missing/corrupt images, empty reports, ...) and count them."
)
_RAY = typer.Option(
    None, "--ray/--no-ray", help="Decode images with Ray Data (default: for sources over 20,000 images)."
)


def data_mimic(
    images: Path = typer.Option(..., "--images", help="MIMIC-CXR-JPG root (files/, mimic-cxr-2.0.0-*.csv.gz)."),
    reports: Path = typer.Option(..., "--reports", help="MIMIC-CXR reports root (files/pNN/p<subject>/s<study>.txt)."),
    out: Path = _OUT,
    image_size: int = _SIZE,
    views: str = typer.Option("PA,AP", "--views", help="Comma-separated ViewPosition values to keep."),
    labeler: str = typer.Option("chexpert", "--labeler", help="chexpert | negbio label file."),
    skip_bad: bool = _SKIP,
    ray_mode: bool | None = _RAY,
) -> None:
    """Ingest MIMIC-CXR-JPG with its free-text reports (official splits, CheXpert labels)."""
    if labeler not in ("chexpert", "negbio"):
        raise CurriclipError(f"--labeler: expected chexpert or negbio, got {labeler!r}")
    _ingest(
        "mimic-cxr",
        out,
        image_size,
        skip_bad,
        ray_mode,
        images=images,
        reports=reports,
        views=tuple(v.strip() for v in views.split(",") if v.strip()),
        labeler=labeler,
    )


def data_iu_xray(
    images: Path = typer.Option(..., "--images", help="Folder the image file names are relative to."),
    out: Path = _OUT,
    reports: Path | None = typer.Option(None, "--reports", help="indiana_reports.csv (Kaggle layout)."),
    projections: Path | None = typer.Option(None, "--projections", help="indiana_projections.csv (Kaggle layout)."),
    annotation: Path | None = typer.Option(None, "--annotation", help="R2Gen annotation.json (instead of the CSVs)."),
    image_size: int = _SIZE,
    skip_bad: bool = _SKIP,
    ray_mode: bool | None = _RAY,
) -> None:
    """Ingest IU X-Ray / Open-i (Kaggle CSVs or R2Gen annotation.json); patient-level split when none is given."""
    if annotation:
        _ingest("iu-xray-r2gen", out, image_size, skip_bad, ray_mode, annotation=annotation, images=images)
    elif reports and projections:
        _ingest(
            "iu-xray",
            out,
            image_size,
            skip_bad,
            ray_mode,
            reports_csv=reports,
            projections_csv=projections,
            images=images,
        )
    else:
        raise CurriclipError("iu-xray: give --annotation (R2Gen) or both --reports and --projections (Kaggle)")


def data_csv(
    table: Path = typer.Option(..., "--table", help="CSV or Parquet file, one row per image-report pair."),
    image_col: str = typer.Option(..., "--image-col", help="Column of image paths (relative to the table's folder)."),
    text_col: str = typer.Option(..., "--text-col", help="Column of report text (findings)."),
    out: Path = _OUT,
    label_cols: list[str] | None = typer.Option(
        None, "--label-cols", help="Label columns, CheXpert-encoded (repeat the option or separate with commas)."
    ),
    impression_col: str | None = typer.Option(None, "--impression-col", help="Optional impression column."),
    id_col: str | None = typer.Option(None, "--id-col", help="Sample id column (default: row number)."),
    subject_col: str | None = typer.Option(None, "--subject-col", help="Patient id column (for splits/subsets)."),
    split_col: str | None = typer.Option(None, "--split-col", help="Split column (train/validate/test)."),
    image_size: int = _SIZE,
    skip_bad: bool = _SKIP,
    ray_mode: bool | None = _RAY,
) -> None:
    """Ingest any table of image paths and texts."""
    _ingest(
        "csv",
        out,
        image_size,
        skip_bad,
        ray_mode,
        table=table,
        image_col=image_col,
        text_col=text_col,
        label_cols=comma_list(label_cols),
        id_col=id_col,
        subject_col=subject_col,
        split_col=split_col,
        impression_col=impression_col,
    )
