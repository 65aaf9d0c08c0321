"""Build the tabular curriculum benchmark: every configuration of a grid over the default space, trained once per seed.

Each row of ``table.parquet`` is one epoch of one run (configuration x level x seed): the
validate retrieval AUC and CLIP score after that epoch and the epoch's wall time, at the
default preset's size (data, model, budget). The curriculum grid is the default space on a
grid: the 6 orderings of itc, findings and rotation, the four pacing functions with their
``a`` (when the whole pool is admitted) at 0.2 and 0.8 and ``b`` (the starting fraction) at
0.2, and stage spans 0.2 and 0.8 (96 configurations per level); the curricula train at one learning rate (under
matched tuning the search does not tune a curriculum's lr, it takes the baselines' draws).
The single-task and multitask arms, whose only tuned parameter is the learning rate, get a
log grid of learning rates over ``space.lr``. Configurations are built by the search's own
``CurriculumSpace`` from their Optuna parameters, so a row is exactly the trial the search
would run.

The runs are done in pieces (one Parquet file per run under ``--work``) so an interrupted build
resumes where it stopped; ``--jobs`` runs at a time, each on one thread (the numbers do not
depend on it). Then the pieces are gathered into ``benchmarks/curriculum_table/table.parquet``
with the build's commit, versions, seeds and wall time in its metadata.

    python benchmarks/curriculum_table/build.py --work /tmp/ctable --jobs 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TABLE = HERE / "table.parquet"

ITEMS = ["itc", "findings", "rotation"]
PACINGS = ["linear", "root", "exponential", "step"]
PACING_A = [0.2, 0.8]
PACING_B = [0.2]
SPANS = [0.2, 0.8]
CURRICULUM_LR = 7.7e-4  # the geometric middle of the default space.lr (3e-4, 2e-3)
BASELINE_LRS = 4  # log grid over space.lr, ends included
SEEDS = [0, 1]


def curriculum_params() -> list[dict]:
    """The Optuna parameters of every curriculum configuration of the grid (levels and seeds apart)."""
    out = []
    for ordering, pacing, a, b, span in itertools.product(
        itertools.permutations(ITEMS), PACINGS, PACING_A, PACING_B, SPANS
    ):
        keys = {f"key_{task}": ordering.index(task) / (len(ITEMS) - 1) for task in ITEMS}
        out.append({**keys, "pacing": pacing, f"{pacing}_a": a, f"{pacing}_b": b, "stage_span": span})
    return out


def baseline_lrs(low: float, high: float) -> list[float]:
    return [float(v) for v in np.exp(np.linspace(np.log(low), np.log(high), BASELINE_LRS))]


def run_specs(experiment, dataset_dir: str) -> list[dict]:
    """Every run of the table: {key, arm, level, seed, params, fields} (fields: the TrialConfig's)."""
    import optuna

    from curriclip.config import TrialConfig, level_fields
    from curriclip.names import ITC, Arm
    from curriclip.spaces import CurriculumSpace
    from curriclip.spaces.space import base_trial_fields

    space = CurriculumSpace(experiment, dataset_dir)
    base = base_trial_fields(experiment, dataset_dir)
    specs = []
    for level in experiment.space.sparsity:
        for number, params in enumerate(curriculum_params()):
            trial = optuna.trial.FixedTrial({**params, "sparsity": level, "lr": CURRICULUM_LR})
            cfg = space(trial)["trial"]
            for seed in SEEDS:
                key = f"curriculum-{number:03d}-{level:g}-{seed}"
                specs.append(
                    {
                        "key": key,
                        "arm": "curriculum",
                        "config": number,
                        "level": level,
                        "seed": seed,
                        "params": params,
                        "fields": {**cfg, "seed": seed},
                    }
                )
        for arm, tasks in (("single_task", [ITC]), ("multitask", [ITC, *experiment.space.tasks])):
            for number, lr in enumerate(baseline_lrs(*experiment.space.lr)):
                extra = {"stage_span": 0.0} if arm == "multitask" else {}
                cfg = TrialConfig(
                    **{**base, "lr": lr, "tasks": tasks, **extra},
                    arm=Arm(arm),
                    pacing="none",
                    seed=0,
                    **level_fields(experiment.space.sparsity_mode, level),
                ).model_dump()
                for seed in SEEDS:
                    specs.append(
                        {
                            "key": f"{arm}-{number:03d}-{level:g}-{seed}",
                            "arm": arm,
                            "config": number,
                            "level": level,
                            "seed": seed,
                            "params": {"lr": lr},
                            "fields": {**cfg, "seed": seed},
                        }
                    )
    return specs


def _train(spec: dict, out: str) -> float:
    """One run in a worker process: its per-epoch validate curve, written to ``out`` (temp name, then rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curriclip.config import TrialConfig
    from curriclip.trainables import run_trial

    started = time.monotonic()
    epochs: list[dict] = []

    def report(metrics: dict, state) -> None:
        epochs.append(
            {
                "epoch": int(metrics["epoch"]),
                "retrieval_auc": float(metrics["retrieval_auc"]),
                "clip_score": float(metrics["clip_score"]),
                "epoch_time_s": float(metrics["epoch_time_s"]),
            }
        )

    run_trial(TrialConfig(**{**spec["fields"], "device": "cpu", "threads": 1}), report)
    params = spec["params"]
    ordering = ">".join(spec["fields"]["tasks"]) if spec["arm"] == "curriculum" else ""
    pacing = params.get("pacing", "none")
    rows = [
        {
            "arm": spec["arm"],
            "config": spec["config"],
            "level": spec["level"],
            "seed": spec["seed"],
            "ordering": ordering,
            "pacing": pacing,
            "a": params.get(f"{pacing}_a", float("nan")),
            "b": params.get(f"{pacing}_b", float("nan")),
            "stage_span": params.get("stage_span", float("nan")),
            "lr": float(spec["fields"]["lr"]),
            "params": json.dumps(params, sort_keys=True),
            **epoch,
        }
        for epoch in epochs
    ]
    tmp = Path(out).with_suffix(".tmp")
    pq.write_table(pa.Table.from_pylist(rows), tmp)
    tmp.rename(out)
    return time.monotonic() - started


def gather(work: Path, specs: list[dict], meta: dict) -> Path:
    """All pieces in one Parquet file (sorted, float32 metrics) with the build's provenance in its metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(work / f"{spec['key']}.parquet") for spec in specs]
    table = pa.concat_tables(tables).sort_by(
        [
            ("arm", "ascending"),
            ("level", "ascending"),
            ("config", "ascending"),
            ("seed", "ascending"),
            ("epoch", "ascending"),
        ]
    )
    for name in ("retrieval_auc", "clip_score", "epoch_time_s", "a", "b", "stage_span"):
        table = table.set_column(table.schema.get_field_index(name), name, table[name].cast(pa.float32()))
    table = table.replace_schema_metadata({b"curriclip": json.dumps(meta).encode()})
    tmp = TABLE.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.rename(TABLE)
    return TABLE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/curriculum-table"), help="the pieces (resumable)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="only the first N runs (a timing pilot)")
    args = parser.parse_args()

    from curriclip.data.sources import resolve
    from curriclip.presets import preset_experiment
    from curriclip.trainables.provenance import VERSIONS

    experiment = preset_experiment("default")
    dataset_dir = str(resolve(experiment.data.source, **experiment.data.source_options()))
    specs = run_specs(experiment, dataset_dir)
    args.work.mkdir(parents=True, exist_ok=True)
    left_over = [spec for spec in specs if not (args.work / f"{spec['key']}.parquet").exists()]
    todo = left_over[: args.limit]
    print(
        f"table: {len(specs)} runs, {len(specs) - len(left_over)} done, {len(todo)} to do, {args.jobs} at a time",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    spent = 0.0
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_train, spec, str(args.work / f"{spec['key']}.parquet")) for spec in todo]
        for done, future in enumerate(futures, start=1):
            spent += future.result()
            elapsed = time.monotonic() - started
            left = elapsed / done * (len(todo) - done)
            print(
                f"table: {done}/{len(todo)} runs, {elapsed / 60:.1f} min, about {left / 60:.0f} min left",
                file=sys.stderr,
                flush=True,
            )
    wall_file = args.work / "wall_s.txt"  # summed over the build's sessions (it resumes)
    wall = time.monotonic() - started
    wall_file.write_text(f"{wall + (float(wall_file.read_text()) if wall_file.exists() else 0.0)}\n")
    if args.limit is not None:
        print(f"pilot: {len(todo)} runs in {wall:.0f} s ({spent / max(len(todo), 1):.1f} s a run)", file=sys.stderr)
        return
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout
    meta = {
        "commit": commit.strip(),
        "versions": VERSIONS,
        "preset": "default",
        "seeds": SEEDS,
        "levels": list(experiment.space.sparsity),
        "curriculum_lr": CURRICULUM_LR,
        "grid": {
            "pacing": PACINGS,
            "a": PACING_A,
            "b": PACING_B,
            "stage_span": SPANS,
            "baseline_lr": baseline_lrs(*experiment.space.lr),
        },
        "configs_per_level": len(curriculum_params()),
        "build_wall_s": float(wall_file.read_text()),
        "jobs": args.jobs,
        "runs": len(specs),
    }
    path = gather(args.work, specs, meta)
    print(f"table: {path} ({path.stat().st_size / 1e6:.2f} MB), {len(specs)} runs", file=sys.stderr)


if __name__ == "__main__":
    main()
