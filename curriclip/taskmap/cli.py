"""``curriclip taskmap``: build a task map (TaCo) and show the orderings it suggests.

User errors (unknown family, a dataset without the masks a family needs, a bad path)
print one line and exit with code 2, like every curriclip command.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from curriclip.cli_errors import user_errors
from curriclip.errors import CurriclipError

taskmap_app = typer.Typer(
    help="Map tasks into one embedding space (Task-Contrastive Learning) and order curricula by it.",
    no_args_is_help=True,
)


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip()) if text else ()


def run_on_cluster(address: str, **kwargs) -> Path:
    """``build_map`` as a Ray task on the cluster at ``address`` (paths must be visible to its nodes)."""
    import ray

    from curriclip.cluster import check_reachable
    from curriclip.taskmap.mapping import build_map

    check_reachable(address)
    try:
        ray.init(address=address, include_dashboard=False, logging_level="WARNING")
    except ConnectionError as exc:
        raise CurriclipError(f"--address {address}: cannot connect to a Ray cluster ({exc})") from None
    task = ray.remote(num_cpus=kwargs.pop("cpus"))(build_map)
    return Path(ray.get(task.remote(**kwargs)))


@taskmap_app.command("map")
@user_errors
def map_command(
    dataset_dir: Path = typer.Argument(
        ..., help="A curriclip dataset directory (synthetic, MIMIC-CXR, IU X-Ray, CSV)."
    ),
    out: Path = typer.Option(Path("."), "--out", help="Directory that receives taskmap/ (e.g. a run directory)."),
    preset: str = typer.Option("default", "--preset", help="smoke (CI-sized, < 1 min) | default (minutes on 2 CPUs)."),
    failure_tasks: bool = typer.Option(True, "--failure-tasks/--no-failure-tasks", help="Train with failure tasks."),
    encoder: str | None = typer.Option(None, "--encoder", help="resnet10 | resnet18 | resnet34 | resnet50 (TaCo)."),
    families: str | None = typer.Option(None, "--families", help="Comma-separated task families (default: all)."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Training steps (default: the preset's)."),
    image_size: int | None = typer.Option(None, "--image-size", min=16, help="Pair side in pixels."),
    seed: int = typer.Option(0, "--seed", help="Seed of the encoder and of every sampled task instance."),
    clip_preset: str = typer.Option("tiny", "--clip-preset", help="Model preset of the CLIP baseline's tower."),
    clip_checkpoint: Path | None = typer.Option(None, "--clip-checkpoint", help="A trained trial's state.pt."),
    clip_pretrained: Path | None = typer.Option(
        None, "--clip-pretrained", help="Local open_clip weights for the baseline (default: an untrained tower)."
    ),
    clip_model: str = typer.Option("ViT-B-32", "--clip-model", help="open_clip architecture of --clip-pretrained."),
    held_out: str | None = typer.Option(
        None, "--held-out", help="Real families left out of training, evaluated as unseen (default: the preset's)."
    ),
    address: str | None = typer.Option(None, "--address", help="Ray cluster (auto | HOST:PORT); default: here."),
    cpus: int = typer.Option(1, "--cpus", min=1, help="CPUs of the Ray task (with --address)."),
) -> None:
    """Train the task encoder on DATASET_DIR, evaluate it against the CLIP baseline, write OUT/taskmap/."""
    from curriclip.taskmap import FAMILIES
    from curriclip.taskmap.encoder import ENCODERS
    from curriclip.taskmap.train import PRESETS

    if preset not in PRESETS:
        raise CurriclipError(f"--preset {preset!r}: expected one of {', '.join(PRESETS)}")
    if encoder is not None and encoder not in ENCODERS:
        raise CurriclipError(f"--encoder {encoder!r}: expected one of {', '.join(ENCODERS)}")
    from curriclip.cli_paths import writable_directory
    from curriclip.models.presets import PRESETS as MODEL_PRESETS

    chosen = _names(families)
    for name in chosen:
        FAMILIES.check(name)
    try:  # both checked before minutes of training, not after
        MODEL_PRESETS.check(clip_preset)
    except CurriclipError as exc:
        raise CurriclipError(f"--clip-preset: {exc}") from None
    if clip_checkpoint is not None and not clip_checkpoint.expanduser().is_file():
        raise CurriclipError(f"--clip-checkpoint {clip_checkpoint}: file not found (a trained trial's state.pt)")
    if not dataset_dir.expanduser().is_dir():
        raise CurriclipError(f"{dataset_dir}: dataset directory does not exist")
    writable_directory(out.expanduser().resolve(), "--out")
    updates = {"failure_tasks": failure_tasks, "seed": seed, "families": chosen}
    if held_out is not None:
        updates["held_out"] = _names(held_out)
        for name in updates["held_out"]:
            FAMILIES.check(name)
    updates.update({k: v for k, v in {"encoder": encoder, "steps": steps, "image_size": image_size}.items() if v})
    settings = dataclasses.replace(PRESETS[preset], **updates)
    kwargs = dict(
        dataset_dir=str(dataset_dir.expanduser().resolve()),
        out=str(out.expanduser().resolve()),
        settings=settings,
        clip_preset=clip_preset,
        clip_checkpoint=str(clip_checkpoint) if clip_checkpoint else None,
        clip_pretrained=(clip_model, str(clip_pretrained.expanduser().resolve())) if clip_pretrained else None,
    )
    if address:
        path = run_on_cluster(address, cpus=cpus, **kwargs)
    else:
        from curriclip.taskmap.mapping import build_map

        path = build_map(log=lambda line: typer.echo(line, err=True), **kwargs)
    typer.echo(path)


@taskmap_app.command("orderings")
@user_errors
def orderings_command(
    map_dir: Path = typer.Argument(..., help="A task map (OUT/taskmap) or a run directory holding one."),
    tasks: str = typer.Option("findings,rotation", "--tasks", help="Comma-separated auxiliary tasks."),
) -> None:
    """Print the orderings ``space.ordering_prior: taco`` would try first for these auxiliary tasks."""
    from curriclip.names import ITC
    from curriclip.taskmap.prior import prior_orderings
    from curriclip.tasks import TASKS

    names = list(_names(tasks))
    if not names:
        raise CurriclipError("--tasks: list at least one auxiliary task")
    for name in names:
        if name == ITC:
            raise CurriclipError("--tasks: list auxiliary tasks only; itc is always part of the ordering")
        try:
            TASKS.check(name)
        except CurriclipError as exc:
            raise CurriclipError(f"--tasks: {exc}") from None
    for name, ordering in prior_orderings(map_dir, names).items():
        typer.echo(f"{name}: {' > '.join(ordering)}")


@taskmap_app.command("stability")
@user_errors
def stability_command(
    map_dirs: list[Path] = typer.Argument(..., help="Task maps of one dataset built with different --seed."),
    tasks: str = typer.Option(
        "findings,rotation,denoising,masked_image", "--tasks", help="Comma-separated auxiliary tasks."
    ),
) -> None:
    """How stable the ordering prior is over map seeds: Kendall's tau of the tasks' centrality, per map pair."""
    from curriclip.taskmap.prior import prior_stability

    result = prior_stability(map_dirs, list(_names(tasks)))
    taus = ", ".join(f"{tau:+.2f}" for tau in result["kendall_tau"])
    typer.echo(f"Kendall tau over {result['maps']} maps: mean {result['kendall_tau_mean']:+.2f} ({taus})")
    for name, share in result["same_ordering_share"].items():
        typer.echo(f"{name}: the same ordering in {share:.0%} of map pairs")


@taskmap_app.command("families")
def families_command() -> None:
    """List the task families with their category."""
    from curriclip.taskmap import FAMILIES

    for name, family in FAMILIES.items():
        typer.echo(f"{name:18s} {family.category:15s} {family.description}")
