"""The ``curriclip`` command line: search, resume, report, train, list, data.

User errors (bad experiment file, unknown name, missing path, bad dataset) print one
line naming the field or file and exit with code 2; nothing is left half-written.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from curriclip.cli_errors import OneLineErrors, exit_process, interrupted, user_errors
from curriclip.cli_paths import writable_directory, writable_file
from curriclip.config.protocol import MIN_CONFIRM_SEEDS
from curriclip.data.brats.cli import add_commands as add_brats_commands
from curriclip.data.cli import add_commands as add_data_commands
from curriclip.errors import CurriclipError
from curriclip.fusion.cli import fuse
from curriclip.taskmap.cli import taskmap_app

app = typer.Typer(
    help="Curriculum searches for multi-task CLIP models on sparse medical image-text data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=OneLineErrors,
)
data_app = typer.Typer(help="Create datasets in curriclip's Arrow schema.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(taskmap_app, name="taskmap")


def _summary(outcome) -> None:
    from curriclip.names import RunFile

    typer.echo(f"run directory: {outcome.run_dir}")
    typer.echo(f"  trials:  {outcome.run_dir}/{RunFile.TRIALS}")
    typer.echo(f"  epochs:  {outcome.run_dir}/{RunFile.EPOCHS}")
    typer.echo(f"  report:  {outcome.run_dir}/{RunFile.REPORT}")
    if outcome.confirm_planned:
        typer.echo(f"  answer:  {outcome.run_dir}/{RunFile.ANSWER}")
    if not outcome.complete:
        typer.echo(
            f"search stopped with {outcome.finished}/{outcome.total} trials finished; "
            f"continue it with: curriclip resume {outcome.run_dir}",
            err=True,
        )
        raise typer.Exit(130)
    if outcome.errored:
        typer.echo(f"{outcome.errored} trial(s) errored; see the report's trial table", err=True)
    if outcome.confirm_missing:
        typer.echo(
            f"the confirm phase lacks {outcome.confirm_missing} run(s); continue it with: "
            f"curriclip confirm {outcome.run_dir}",
            err=True,
        )
        raise typer.Exit(130)


@app.command()
@user_errors
def search(
    experiment: Path | None = typer.Argument(None, help="Experiment YAML (overrides the preset's settings)."),
    preset: str = typer.Option(
        "default", "--preset", help="Experiment preset: smoke | default (see `curriclip list experiments`)."
    ),
    name: str | None = typer.Option(None, "--name", help="Run name (the run directory is <storage>/<name>)."),
    storage: str | None = typer.Option(None, "--storage", help="Where run directories go (default: ./runs)."),
    address: str | None = typer.Option(
        None, "--address", help="Ray cluster address (auto | HOST:PORT); default: start a local Ray."
    ),
    num_trials: int | None = typer.Option(
        None, "--num-trials", min=0, help="Number of curriculum trials Optuna proposes."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check everything and print the plan (arms, levels, trials, time); train nothing."
    ),
) -> None:
    """Run a curriculum search: single-task baselines at every sparsity level + Optuna-proposed curricula."""
    from curriclip.config import read_yaml
    from curriclip.presets import preset_experiment

    if name is not None and not name.strip():
        raise CurriclipError("--name: empty (give the run a name, or leave --name out for the preset's)")
    overrides = read_yaml(experiment) if experiment else None
    if overrides is not None and not isinstance(overrides, dict):
        raise CurriclipError(f"{experiment}: expected a mapping of settings")
    # validated before Ray, torch and open_clip are imported: a mistyped field is answered at once
    exp = preset_experiment(preset, overrides, source=str(experiment) if experiment else None)
    if "://" not in (storage or exp.storage):
        writable_directory(Path(storage or exp.storage).expanduser(), "--storage" if storage else "storage:")
    from curriclip.tracking import require_trackers

    require_trackers(exp.tracking)  # a missing tracker package is said before Ray and torch load

    if dry_run:
        from curriclip.pipeline import dry_run as plan_lines

        typer.echo("\n".join(plan_lines(exp, name=name, storage=storage, address=address, num_trials=num_trials)))
        return
    from curriclip.pipeline import run_search

    _summary(run_search(exp, name=name, storage=storage, address=address, num_trials=num_trials))


@app.command()
@user_errors
def resume(
    run_dir: str = typer.Argument(..., help="Run directory (or URI) of an interrupted search."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address."),
    resume_errored: bool = typer.Option(
        False, "--resume-errored", help="Re-run errored trials from their last checkpoint."
    ),
    restart_errored: bool = typer.Option(False, "--restart-errored", help="Re-run errored trials from scratch."),
) -> None:
    """Continue a search stopped by Ctrl-C or a crash, without re-running finished trials."""
    from curriclip.pipeline import resume_search

    if resume_errored and restart_errored:
        raise CurriclipError("--resume-errored and --restart-errored exclude each other")
    _summary(resume_search(run_dir, address=address, resume_errored=resume_errored, restart_errored=restart_errored))


@app.command()
@user_errors
def confirm(
    run_dir: str = typer.Argument(..., help="Run directory (or URI) of a finished search."),
    seeds: int | None = typer.Option(
        None,
        "--seeds",
        min=MIN_CONFIRM_SEEDS,
        help="K: a planned look (protocol.looks), seeds per arm and level (default: the first).",
    ),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address."),
) -> None:
    """Re-run each arm's validation winner with K fresh paired seeds on test (adds seeds, resumes, never twice)."""
    from curriclip.pipeline import confirm as run_confirm

    again = f"curriclip confirm {run_dir}" + (f" --seeds {seeds}" if seeds else "")
    try:
        outcome = run_confirm(run_dir, seeds=seeds, address=address)
    except KeyboardInterrupt:  # outside Ray Tune's own handling (starting Ray, exporting)
        interrupted(f"confirm interrupted; continue it with: {again}")
    if outcome.interrupted:
        typer.echo(
            f"confirm interrupted: {outcome.done}/{outcome.planned} runs done ({outcome.ran} finished now); "
            f"the answer is not updated until the phase is whole; continue it with: {again}",
            err=True,
        )
        raise typer.Exit(130)
    typer.echo(
        f"confirm: {outcome.done}/{outcome.planned} runs done ({outcome.ran} run now, {outcome.errored} errored); "
        f"answer in {run_dir}/answer.json and report.html"
    )
    if outcome.errored or outcome.done < outcome.planned:
        raise typer.Exit(1)


#: Seconds between polls of a watched run's files (``report --watch`` without a value).
WATCH_EVERY = 5.0


@app.command()
@user_errors
def report(
    run_dir: str = typer.Argument(..., help="Run directory or URI (s3://..., gs://...); may still be running."),
    out: Path | None = typer.Option(None, "--out", help="HTML file to write (default: RUN_DIR/report.html)."),
    export: Path | None = typer.Option(
        None,
        "--export",
        help="Also write paper exports into DIR: answer table (CSV, LaTeX), figures (SVG, PDF), "
        "methods paragraph (figures need pip install 'curriclip\\[export]' and a Chromium).",
    ),
    watch: float | None = typer.Option(
        None,
        "--watch",
        min=0.05,
        metavar="[SECONDS]",
        help=f"Re-render whenever the run's files change, polling every SECONDS (default {WATCH_EVERY:g}), until "
        "the run is finished or Ctrl-C.",
    ),
    serve: int | None = typer.Option(
        None,
        "--serve",
        min=0,
        max=65535,
        metavar="PORT",
        help="While watching, serve the run directory on http://127.0.0.1:PORT/report.html (the page reloads itself).",
    ),
) -> None:
    """Export the run's results to Parquet and render the interactive HTML report; also paper exports (--export)
    and a report that follows a running search (--watch, --serve)."""
    from curriclip.names import RunFile
    from curriclip.pipeline import report as render_report
    from curriclip.rundir.export import has_ray_state
    from curriclip.rundir.storage import RunLocation

    out = writable_file(out, "--out") if out is not None else None  # before the run: nothing read, nothing written
    run = RunLocation(run_dir)
    if not run.exists():
        raise CurriclipError(f"{run.uri}: run directory not found")
    ray_state = has_ray_state(run)
    if not ray_state and not (not run.remote and run.exists(RunFile.TRIALS)):
        raise CurriclipError(f"{run.uri}: neither Ray Tune state nor {RunFile.TRIALS} found (not a run directory)")
    if export is not None:
        writable_directory(export, "--export")
        if run.remote:
            raise CurriclipError("--export: needs a local run directory (copy the run, then export)")
        from curriclip.reports.export.figures import check_exporter

        check_exporter()  # before any rendering: a missing kaleido or browser is said at once
    if serve is not None and watch is None:
        watch = WATCH_EVERY
    if watch is not None:
        if run.remote or out is not None:
            raise CurriclipError("--watch: follows a local run directory's own report.html (no --out, no URI)")
        _watch_report(run.path, ray_state, watch, serve)
    else:
        typer.echo(render_report(run_dir, out))
    if export is not None:
        from curriclip.reports.export import export_run

        for path in export_run(run.path, export):  # the tables just exported, the figures of the page just rendered
            typer.echo(path)


def _watch_report(run_dir: str, ray_state: bool, every: float, port: int | None) -> None:
    """Re-render ``run_dir``'s report whenever its files change until the run is finished (Ctrl-C: exit 130)."""
    import contextlib
    from datetime import UTC, datetime

    from curriclip.pipeline import publish
    from curriclip.reports import build_report
    from curriclip.reports.live import serve, watch

    refresh = every if port is not None else None

    def render() -> None:
        if ray_state:
            publish(run_dir, refresh=refresh)
        else:
            build_report(run_dir, refresh=refresh)

    def said(status) -> None:
        line = status.sentence() if status is not None else "no run.json, so no search to follow: rendered once"
        typer.echo(f"{datetime.now(UTC):%H:%M:%S} report.html rendered: {line}", err=True)

    with serve(run_dir, port) if port is not None else contextlib.nullcontext() as url:
        if url:
            typer.echo(f"curriclip: serving {url} (Ctrl-C stops)", err=True)
        watch(run_dir, render, every=every, on_render=said)
    typer.echo(f"{run_dir}/report.html")


@app.command()
@user_errors
def train(
    trial_config: Path = typer.Argument(..., help="Trial config JSON (or a Ray trial's params.json)."),
    out: Path | None = typer.Option(None, "--out", help="Directory for metrics.jsonl and the last checkpoint."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="torch CPU threads."),
) -> None:
    """Run one trial without Ray (debugging, tests); prints one JSON line of metrics per epoch."""
    import torch

    from curriclip.config import load_trial_config
    from curriclip.trainables import run_trial
    from curriclip.trainables.provenance import VERSIONS, recorded

    cfg = load_trial_config(trial_config)
    found = recorded(trial_config)  # a search's trial: replay it on the threads it ran on
    if threads or (found and cfg.threads is None):
        cfg = cfg.model_copy(update={"threads": threads or found["threads"]})
        if found and not threads:
            typer.echo(f"replaying on {found['threads']} torch thread(s), as the trial ran", err=True)
    if found and found["versions"] and found["versions"] != VERSIONS:
        typer.echo(
            f"the trial ran with {found['versions']}; this replay has {VERSIONS}: its numbers may differ", err=True
        )
    if out:
        writable_directory(out, "--out")
        (out / "metrics.jsonl").unlink(missing_ok=True)

    def report(metrics: dict, make_state) -> None:
        line = json.dumps(metrics, sort_keys=True)
        typer.echo(line)
        if out:
            out.mkdir(parents=True, exist_ok=True)  # only once there is something to write
            with open(out / "metrics.jsonl", "a") as f:
                f.write(line + "\n")
            tmp = out / ".state.pt.tmp"
            torch.save(make_state(), tmp)
            os.replace(tmp, out / "state.pt")

    run_trial(cfg, report)


@app.command("list")
@user_errors
def list_names(kind: str | None = typer.Argument(None, help="Registry to list (default: all).")) -> None:
    """Print the registered names: tasks, pacing, presets, experiments, scorers, weightings, metrics, sources."""
    from curriclip.registry import all_registries

    ALL = all_registries()
    kinds = [kind] if kind else list(ALL)
    for k in kinds:
        if k not in ALL:
            raise CurriclipError(f"unknown kind {k!r} (known: {', '.join(ALL)})")
        if kind:
            typer.echo("\n".join(ALL[k].names()))
        else:
            typer.echo(f"{k}: {', '.join(ALL[k].names())}")


add_data_commands(data_app, user_errors)  # data synth, mimic-cxr, iu-xray, csv
add_brats_commands(data_app, user_errors)  # data synth-brats, data brats
app.command("fuse")(user_errors(fuse))


def optional_values(argv: list[str], defaults: dict[str, str]) -> list[str]:
    """``argv`` with each option of ``defaults`` given its default value where it stands without one
    (``report RUN --watch`` -> ``report RUN --watch 5``): Typer has no option with an optional value."""
    out = []
    for i, arg in enumerate(argv):
        out.append(arg)
        if arg in defaults:
            following = argv[i + 1] if i + 1 < len(argv) else None
            try:
                float(following)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                out.append(defaults[arg])
    return out


def main() -> None:
    try:
        app(args=optional_values(sys.argv[1:], {"--watch": f"{WATCH_EVERY:g}"}), prog_name="curriclip")
    except SystemExit as stop:
        if stop.code == 130:
            exit_process(130)
        raise


if __name__ == "__main__":
    sys.exit(main())
