"""The search phase: Ray Tune's Tuner + the curriculum searcher + per-(arm, level) schedulers, and its resume.

A run directory ``<storage>/<name>/`` holds Ray Tune's experiment state (which
``Tuner.restore`` resumes), ``experiment.yaml`` (the validated experiment as run) and
``run.json`` (the resolved dataset). Exports, the confirm phase and the report follow
in ``curriclip.pipeline``.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from curriclip.cluster import check_reachable, init_ray
from curriclip.config import MIN_CONFIRM_SEEDS, ExperimentConfig, parse_experiment
from curriclip.data.sources import resolve as resolve_dataset
from curriclip.errors import ConfigError, CurriclipError
from curriclip.names import ITC, TRIAL_KEYS, Arm, RunFile
from curriclip.rundir.export import check_records
from curriclip.rundir.launch import concurrency, fit, local_gpus_visible, run_config, trainable_for, trial_dirname
from curriclip.rundir.progress import ProgressPrinter
from curriclip.rundir.reading import read_run
from curriclip.rundir.storage import RunLocation, is_uri, join
from curriclip.search.idle_processes import keep_idle_processes
from curriclip.tracking import require_trackers, tracker_callbacks

if TYPE_CHECKING:
    import optuna
    from ray.tune.schedulers import TrialScheduler

    from curriclip.search.searcher import CurriculumSearcher


def _check_local_gpus(experiment: ExperimentConfig, address: str | None) -> None:
    """A local search asking for GPUs on a machine without one fails at once, before the dataset and Ray."""
    local = not (address or os.environ.get("RAY_ADDRESS"))
    if local and experiment.resources.gpus_per_trial > 0 and not local_gpus_visible():
        raise ConfigError("resources.gpus_per_trial: trials ask for GPUs but this machine has none (no --address)")


def reported_keys(experiment: ExperimentConfig) -> set[str]:
    """Every key a trial reports: metrics (and their untrained ``init_`` values), losses, the rest."""
    from curriclip.metrics import METRICS

    metric_keys = {key for _, metric in METRICS.items() for key in metric.keys}
    losses = {"loss", *(f"loss/{task}" for task in (ITC, *experiment.space.tasks))}
    return metric_keys | {f"init_{key}" for key in metric_keys} | losses | set(TRIAL_KEYS)


def _check_metric_names(experiment: ExperimentConfig) -> None:
    """A misspelt ``search.metric`` or objective is refused before anything runs (Ray would wait on it forever)."""
    search = experiment.search
    asked = [("search.metric", search.metric)] + [("search.objectives", key) for key in search.objectives or {}]
    known = reported_keys(experiment)
    for field, name in asked:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else " (see a run's epochs.parquet columns)"
            raise ConfigError(f"{field}: {name!r} is not a metric a trial reports{hint}")


def _check_sparsity_mode(experiment: ExperimentConfig) -> None:
    """A sparsity mode that no task of the space can feel would train every level alike: refused."""
    from curriclip.names import SparsityMode
    from curriclip.tasks import TASKS

    space = experiment.space
    needs = {name: TASKS.get(name).needs for name in space.tasks}
    if space.sparsity_mode == SparsityMode.LABELS and not any("labels" in n for n in needs.values()):
        raise ConfigError(
            f"space.sparsity_mode: labels subsets finding labels, but no task of space.tasks ({', '.join(space.tasks)})"
            " learns from labels: every level would train alike (add findings, or use sparsity_mode: pairs)"
        )
    if space.sparsity_mode == SparsityMode.REPORTS and not any("text" not in n for n in needs.values()):
        raise ConfigError(
            f"space.sparsity_mode: reports keeps images without their reports, but no task of space.tasks "
            f"({', '.join(space.tasks)}) learns from an image alone: every level would train as in "
            "sparsity_mode: pairs (add rotation or findings, or use pairs)"
        )


def _check_confirm_seeds(experiment: ExperimentConfig) -> None:
    """A confirm phase too small to test any comparison is refused (0 skips the phase)."""
    k = experiment.protocol.confirm_seeds
    if 0 < k < MIN_CONFIRM_SEEDS:
        raise ConfigError(
            f"protocol.confirm_seeds: {k} seed cannot test any comparison (a paired difference needs "
            f"{MIN_CONFIRM_SEEDS} seeds): use 0 (search phase only) or at least {MIN_CONFIRM_SEEDS}"
        )


def _run_config(experiment: ExperimentConfig, name: str, storage: str, total: int):
    progress = ProgressPrinter(total, experiment.search.metric, experiment.training.epochs)
    callbacks = [progress, *tracker_callbacks(experiment, join(storage, name))]
    # PBT hands a weaker trial the checkpoint a stronger one had when it was judged; the weaker trial may
    # restart only after the stronger one trained several epochs on, so no checkpoint may be pruned under PBT
    # (a pruned one errors the exploiting trial: "does not exist on storage anymore").
    keep = None if experiment.search.scheduler == "pbt" else 1
    return run_config(name, storage, callbacks, keep_checkpoints=keep)


def _with_overrides(
    experiment: ExperimentConfig, name: str | None, storage: str | None, num_trials: int | None
) -> ExperimentConfig:
    """The experiment with the command line's --name, --storage and --num-trials applied (re-validated)."""
    if not (name or storage or num_trials is not None):
        return experiment
    raw = experiment.model_dump()
    raw.update({key: value for key, value in (("name", name), ("storage", storage)) if value})
    if num_trials is not None:
        raw["search"]["num_trials"] = num_trials
    return parse_experiment(raw, source="command line")


def _check_new(experiment: ExperimentConfig) -> RunLocation:
    """The run directory of a new search, refused when it already holds a run (checked first: it is cheap)."""
    run = RunLocation(join(experiment.storage, experiment.name))
    if run.has_entries():
        raise CurriclipError(
            f"{run.uri}: run directory already exists; continue it with `curriclip resume {run.uri}` "
            "or pick another --name"
        )
    return run


def _new_run(experiment: ExperimentConfig) -> tuple[RunLocation, str]:
    """The (empty) run directory of a new search and its resolved dataset directory."""
    run = _check_new(experiment)
    data = experiment.data
    dataset_dir = resolve_dataset(data.source, **data.source_options())
    return run, str(dataset_dir)


def _prior_orderings(experiment: ExperimentConfig) -> dict[str, list[str]] | None:
    """The task map's orderings when ``space.ordering_prior`` asks for them (read before anything is written)."""
    if experiment.space.ordering_prior == "none":
        return None
    from curriclip.taskmap.prior import experiment_orderings

    return experiment_orderings(experiment)


def search_points(experiment: ExperimentConfig) -> list[dict]:
    """The Optuna points a search tries first: the user's, then each curriculum's level and the baselines' lr."""
    from curriclip.spaces import matched_points

    return [*experiment.search.points, *matched_points(experiment)]


def curriculum_searcher(
    experiment: ExperimentConfig,
    space: Any,
    baselines: list[dict],
    points: list[dict],
    storage_url: str | None = None,
    sampler: optuna.samplers.BaseSampler | None = None,
) -> CurriculumSearcher:
    """The search's ``CurriculumSearcher``, as a live search and its replay (``curriclip.search.replay``) build it."""
    from curriclip.search.searcher import CurriculumSearcher

    search = experiment.search
    return CurriculumSearcher(
        space=space,
        baselines=baselines,
        epochs=experiment.training.epochs,
        metric=list(search.objectives) if search.objectives else search.metric,
        mode=list(search.objectives.values()) if search.objectives else "max",
        points_to_evaluate=points,
        seed=search.sampler_seed,
        n_startup_trials=search.n_startup_trials,
        storage_url=storage_url,
        study_name=experiment.name,
        sampler=sampler,
    )


def _proposals(
    experiment: ExperimentConfig,
    dataset_dir: str,
    baselines: list[dict],
    concurrency: int,
    run,
    prior_orderings: dict[str, list[str]] | None = None,
):
    """(searcher, param_space, num_samples): Optuna proposing curricula after the baselines, or all drawn up front."""
    from ray import tune

    from curriclip.search.searcher import CurriculumLimiter
    from curriclip.spaces import CurriculumSpace, curriculum_trials, random_population
    from curriclip.spaces.priors import with_prior_points

    search = experiment.search
    points = search_points(experiment)
    if prior_orderings:  # the prior's orderings first
        points = with_prior_points(experiment, points, prior_orderings)
    if search.proposer != "optuna":  # every config drawn up front, one grid value each: no searcher
        population = random_population(experiment, dataset_dir, points, prior_orderings)
        return None, {"trial": tune.grid_search(baselines + [c["trial"] for c in population])}, 1
    # SQLite beside the run when it is local; a remote run keeps the study in the searcher state Ray stores there.
    default_study = None if run.remote else f"sqlite:///{run.path}/{RunFile.OPTUNA_DB}"
    searcher = curriculum_searcher(
        experiment,
        CurriculumSpace(experiment, dataset_dir, prior_orderings),
        baselines,
        points,
        storage_url=search.optuna_storage or default_study,
    )
    limiter = CurriculumLimiter(
        searcher,
        max_concurrent=concurrency,
        batch=experiment.protocol.synchronous,
        study_trials=curriculum_trials(experiment),
    )
    return limiter, None, len(baselines) + curriculum_trials(experiment)


def scheduler_for(experiment: ExperimentConfig) -> TrialScheduler:
    """The search's scheduler (a live search and its replay build it alike)."""
    from curriclip.search.pbt import make_pbt_scheduler
    from curriclip.search.scheduler import make_scheduler

    search = experiment.search
    if search.scheduler == "pbt":
        return make_pbt_scheduler(experiment, search.metric, seed=search.sampler_seed)
    return make_scheduler(
        search.scheduler,
        search.metric,
        "max",
        experiment.training.epochs,
        search.grace_period,
        search.reduction_factor,
        judge_from=judge_from(experiment),
    )


def _judged_from(experiment: ExperimentConfig) -> str:
    """How the scheduler judges, in words for the search's first line."""
    if experiment.search.scheduler not in ("asha", "median"):
        return ""
    epoch = judge_from(experiment)
    if epoch >= experiment.training.epochs:
        return " never stopping a trial: a curriculum of this space may be judgeable only at the last epoch"
    return f" judging every arm from epoch {epoch}"


def judge_from(experiment: ExperimentConfig) -> int:
    """The first epoch any tuned arm is judged at: the latest a searched curriculum becomes judgeable (else 1)."""
    from curriclip.search.scheduler import latest_ready_epoch
    from curriclip.spaces import curriculum_trials

    if not curriculum_trials(experiment):
        return 1
    training = experiment.training
    return latest_ready_epoch(experiment.space, training.epochs, training.steps_per_epoch)


@dataclass
class SearchPlan:
    """A search phase checked in full and ready to start: nothing is written and Ray is not started yet."""

    experiment: ExperimentConfig
    run: RunLocation
    storage_root: str
    dataset_dir: str
    baselines: list[dict]
    prior_orderings: dict[str, list[str]] | None
    address: str | None

    @property
    def curriculum_trials(self) -> int:
        from curriclip.spaces import curriculum_trials

        return curriculum_trials(self.experiment)

    @property
    def total(self) -> int:
        return len(self.baselines) + self.curriculum_trials

    def per_arm(self) -> dict[str, int]:
        tuned = (Arm.SINGLE_TASK, Arm.MULTITASK)
        counts = {str(arm): sum(1 for b in self.baselines if b["arm"] == arm) for arm in tuned}
        return {**counts, str(Arm.CURRICULUM): self.curriculum_trials}


def plan_search_phase(
    experiment: ExperimentConfig,
    name: str | None = None,
    storage: str | None = None,
    address: str | None = None,
    num_trials: int | None = None,
) -> SearchPlan:
    """Every check of a new search, before anything is written or Ray starts: the plan, or one error."""
    from curriclip.spaces import search_baselines

    experiment = _with_overrides(experiment, name, storage, num_trials)
    _check_new(experiment)
    require_trackers(experiment.tracking)
    _check_local_gpus(experiment, address)
    _check_metric_names(experiment)
    _check_sparsity_mode(experiment)
    _check_confirm_seeds(experiment)
    check_reachable(address)  # an address nothing answers at is refused within seconds
    prior_orderings = _prior_orderings(experiment)  # a missing or broken task map is refused before Ray starts
    storage_root = (
        experiment.storage if is_uri(experiment.storage) else str(Path(experiment.storage).expanduser().resolve())
    )
    run, dataset_dir = _new_run(experiment)
    baselines = search_baselines(experiment, dataset_dir)  # the tuned baseline arms, handed out before Optuna's
    return SearchPlan(experiment, run, storage_root, dataset_dir, baselines, prior_orderings, address)


def run_search_phase(
    experiment: ExperimentConfig,
    name: str | None = None,
    storage: str | None = None,
    address: str | None = None,
    num_trials: int | None = None,
    trainable=None,
    plan: SearchPlan | None = None,
) -> tuple[ExperimentConfig, RunLocation, int]:
    """Run the search phase (blocking): (the experiment as run, its run directory, the planned trial count).

    ``trainable`` replaces curriclip's Ray Tune trainable (benchmarks of the search machinery only);
    ``plan`` is a plan already checked by ``plan_search_phase``.
    """
    from ray import tune

    from curriclip.trainables.tune_trainable import reuse_processes

    plan = plan or plan_search_phase(experiment, name, storage, address, num_trials)
    experiment, run, dataset_dir, baselines, total = (
        plan.experiment,
        plan.run,
        plan.dataset_dir,
        plan.baselines,
        plan.total,
    )
    _say_validate_split(experiment, dataset_dir)
    init_ray(address)
    slots = concurrency(experiment)  # a trial that fits no node of the cluster is refused here, before any write
    try:
        run.write_text(RunFile.EXPERIMENT, yaml.safe_dump(experiment.model_dump(mode="json"), sort_keys=False))
        run.write_text(RunFile.RUN, json.dumps({"dataset_dir": dataset_dir, "total_trials": total}, indent=2))
        searcher, param_space, num_samples = _proposals(
            experiment, dataset_dir, baselines, slots, run, plan.prior_orderings
        )
    except BaseException:  # the run never started: leave no directory that `resume` would take for one
        _discard(run)
        raise
    per_arm = plan.per_arm()
    print(
        f"curriclip: search phase (validate split): {per_arm[Arm.SINGLE_TASK]} single-task + "
        f"{per_arm[Arm.MULTITASK]} multitask + {plan.curriculum_trials} curriculum configurations "
        f"({experiment.protocol.tuning} tuning, {experiment.search.proposer} proposals"
        f"{', synchronous window' if experiment.protocol.synchronous and searcher is not None else ''}, "
        f"{experiment.search.scheduler} scheduler{_judged_from(experiment)}), {slots} at a time, into {run.uri}",
        file=sys.stderr,
        flush=True,
    )
    tuner = tune.Tuner(
        trainable or trainable_for(experiment),
        param_space=param_space,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=scheduler_for(experiment),
            num_samples=num_samples,
            max_concurrent_trials=None if searcher is not None else slots,  # the limiter's job otherwise
            trial_dirname_creator=trial_dirname,
            reuse_actors=reuse_processes(),  # warm trial processes (curriclip.trainables.tune_trainable)
        ),
        run_config=_run_config(experiment, experiment.name, plan.storage_root, total),
    )
    with keep_idle_processes(slots if reuse_processes() else 0):
        fit(tuner)
    return experiment, run, total


def _discard(run: RunLocation) -> None:
    """Remove a new run's directory (it was empty or absent before this search: ``_new_run`` checked)."""
    import shutil

    if run.remote:
        run.fs.delete_dir(run.path)
    else:
        shutil.rmtree(run.path, ignore_errors=True)


def _say_validate_split(experiment: ExperimentConfig, dataset_dir: str) -> None:
    """One line when the dataset has no validate split and the search carves one from train."""
    from curriclip.data.heldout import has_validate
    from curriclip.data.store import read_manifest

    if not has_validate(read_manifest(dataset_dir).get("counts", {})):
        print(
            f"curriclip: {dataset_dir} has no validate split: carving {experiment.protocol.validate_fraction:.0%} "
            "of the training patients (stratified, fixed seed) as validate; both phases train on the rest",
            file=sys.stderr,
            flush=True,
        )


def resume_search_phase(
    run_dir: str | Path, address: str | None = None, resume_errored: bool = False, restart_errored: bool = False
) -> tuple[ExperimentConfig, RunLocation, int]:
    """Continue an interrupted search phase: finished trials stay finished, the searcher's state comes back."""
    from ray import tune

    from curriclip.trainables.tune_trainable import reuse_processes

    experiment, meta = read_run(run_dir)
    require_trackers(experiment.tracking)  # Ray restores the tracker callbacks with the Tuner
    run = RunLocation(run_dir)
    run.require_writable("resume")
    check_reachable(address)
    check_records(run)  # a damaged trial record is named, never passed on to Ray with only a warning
    if not tune.Tuner.can_restore(run.uri):
        raise CurriclipError(f"{run.uri}: no Ray Tune experiment state to resume (did the search start?)")
    init_ray(address)
    slots = concurrency(experiment)
    tuner = tune.Tuner.restore(
        run.uri,
        trainable=trainable_for(experiment),
        resume_errored=resume_errored,
        restart_errored=restart_errored,
    )
    with keep_idle_processes(slots if reuse_processes() else 0):
        fit(tuner)
    return experiment, run, int(meta["total_trials"])
