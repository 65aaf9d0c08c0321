"""The confirm phase's tables: ``confirm.parquet``, ``per_pair.parquet`` and ``answer.json``.

``confirm.parquet`` has one row per arm x level x confirm seed with the final test
metrics (and the untrained model's, a control); ``per_pair.parquet`` the confirm runs'
per-pair test scores, the unit the two-level bootstrap resamples; ``answer.json`` the
verdict table (``curriclip.protocol.answer``), so scripts read the answer without HTML.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from curriclip.names import FINAL_PREFIX, Phase, RunFile, Status
from curriclip.names import TrialColumn as Col
from curriclip.rundir.atomic import atomic_json, atomic_parquet
from curriclip.rundir.reading import read_run
from curriclip.rundir.storage import RunLocation

#: The test metrics a confirm row keeps (``mean_r1`` is the mean of image->text and text->image R@1); ``collapsed``
#: is the embedding-spread flag (``curriclip.metrics.spread``).
CONFIRM_METRICS = ("clip_score", "retrieval_auc", "clip_score_gap", "mean_r1", "collapsed")
PROTOCOL_FILES = [RunFile.CONFIRM, RunFile.PER_PAIR, RunFile.ANSWER]


def _final(rows: pd.DataFrame, key: str) -> pd.Series:
    column = f"{FINAL_PREFIX}{key}"
    return rows[column] if column in rows.columns else pd.Series(float("nan"), index=rows.index)


def confirm_table(trials: pd.DataFrame, experiment, winners: dict) -> pd.DataFrame:
    """One row per confirm run: what it re-ran, its seed, its final test metrics and the untrained model's."""
    rows = trials[trials[Col.PHASE] == Phase.CONFIRM].copy()
    configs = rows[Col.CONFIG_JSON].map(json.loads)
    offset = experiment.protocol.confirm_seed_offset
    from curriclip.protocol.select import DERIVED_FROM

    def source(cfg: dict) -> tuple[str | None, float]:
        arm = DERIVED_FROM.get(cfg["arm"], cfg["arm"])
        level = float(cfg["label_fraction"] if cfg.get("sparsity_mode") == "labels" else cfg["sparsity"])
        winner = winners.get((str(arm), level))
        return (winner.trial_id, winner.search_score) if winner else (None, float("nan"))

    sources = configs.map(source)
    table = pd.DataFrame(
        {
            "level": rows[Col.SPARSITY].astype(float),
            "arm": rows[Col.ARM].astype(str),
            "seed": rows[Col.SEED].astype(int),
            "seed_index": rows[Col.SEED].astype(int) - offset,
            "trial_id": rows[Col.TRIAL_ID].astype(str),
            "source_trial_id": sources.map(lambda s: s[0]),
            "status": rows[Col.STATUS].astype(str),
            "search_score": sources.map(lambda s: s[1]).astype(float),
        }
    )
    for prefix in ("", "init_"):
        for metric in ("clip_score", "retrieval_auc", "clip_score_gap", "collapsed"):
            table[f"{prefix}{metric}"] = _final(rows, f"{prefix}{metric}").to_numpy()
        r1 = (_final(rows, f"{prefix}i2t_r1") + _final(rows, f"{prefix}t2i_r1")) / 2
        table[f"{prefix}mean_r1"] = r1.to_numpy()
    return table.sort_values(["level", "arm", "seed"]).reset_index(drop=True)


def per_pair_table(per_pair: pd.DataFrame, confirm: pd.DataFrame) -> pd.DataFrame:
    """The per-pair scores with each run's level, arm and seed."""
    if per_pair.empty:
        return per_pair
    keys = confirm[["trial_id", "level", "arm", "seed", "seed_index"]]
    table = keys.merge(per_pair, on="trial_id", how="inner")
    return table.drop(columns="trial_id").sort_values(["level", "arm", "seed", "sample_id"]).reset_index(drop=True)


def damaged_dependencies(trials: pd.DataFrame) -> dict[tuple[str, float], list[str]]:
    """(arm, level) -> the damaged trials its verdicts depend on.

    A damaged search trial might have been its arm's winner at its level (selection could
    not read it), so every arm re-running that arm's winner depends on it; a damaged
    confirm run is missing from its own arm's seeds.
    """
    from curriclip.protocol.select import DERIVED_FROM

    if trials.empty or Col.STATUS not in trials.columns:
        return {}
    depends: dict[tuple[str, float], list[str]] = {}
    for _, row in trials[trials[Col.STATUS] == Status.DAMAGED].iterrows():
        arm, level = str(row[Col.ARM]), round(float(row[Col.SPARSITY]), 9)
        arms = [arm]
        if row[Col.PHASE] != Phase.CONFIRM:
            arms += [str(derived) for derived, source in DERIVED_FROM.items() if str(source) == arm]
        for name in arms:
            depends.setdefault((name, level), []).append(str(row[Col.TRIAL_ID]))
    return depends


def mark_damaged(answer: dict, depends: dict[tuple[str, float], list[str]]) -> dict:
    """Each verdict that depends on a damaged trial says so (in its sentence too); the answer lists them all."""
    for comparison in answer["comparisons"]:
        level = round(float(comparison["level"]), 9)
        ids = sorted({t for arm in (comparison["arm"], comparison["reference"]) for t in depends.get((arm, level), [])})
        if ids:
            comparison["damaged_trials"] = ids
            comparison["sentence"] += (
                f" This verdict depends on damaged trial(s) {', '.join(ids)}, whose records were cut short "
                "(trials.parquet's error column names each file)."
            )
    answer["damaged_trials"] = sorted({t for ids in depends.values() for t in ids})
    return answer


def write_protocol_tables(run: RunLocation, staging: Path, trials: pd.DataFrame, per_pair: pd.DataFrame) -> list[str]:
    """Write the confirm phase's tables and the answer into ``staging``; the names written."""
    from curriclip.protocol.answer import build_answer
    from curriclip.protocol.select import configuration_counts, select_winners

    experiment, _ = read_run(run.uri)
    winners = select_winners(trials, experiment)
    confirm = confirm_table(trials, experiment, winners)
    pairs = per_pair_table(per_pair, confirm)
    answer = mark_damaged(
        build_answer(experiment, confirm, pairs, configuration_counts(trials, experiment)), damaged_dependencies(trials)
    )
    atomic_parquet(confirm, staging / RunFile.CONFIRM)
    atomic_parquet(pairs, staging / RunFile.PER_PAIR)
    atomic_json(staging / RunFile.ANSWER, answer)
    return list(PROTOCOL_FILES)
