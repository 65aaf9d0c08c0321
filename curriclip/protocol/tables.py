"""The confirm phase's tables: ``confirm.parquet``, ``per_pair.parquet`` and ``answer.json``.

``confirm.parquet`` has one row per arm x level x confirm seed with the final test
metrics (and the untrained model's, a control); ``per_pair.parquet`` the confirm runs'
per-pair test scores, the unit the two-level bootstrap resamples; ``answer.json`` the
verdict table (``curriclip.protocol.answer``), so scripts read the answer without HTML.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path

import pandas as pd

from curriclip.names import FINAL_PREFIX, Phase
from curriclip.names import TrialColumn as Col
from curriclip.search.storage import RunLocation

#: The test metrics a confirm row keeps (``mean_r1`` is the mean of image->text and text->image R@1); ``collapsed``
#: is the embedding-spread flag (``curriclip.metrics.spread``).
CONFIRM_METRICS = ("clip_score", "retrieval_auc", "clip_score_gap", "mean_r1", "collapsed")
PROTOCOL_FILES = ["confirm.parquet", "per_pair.parquet", "answer.json"]


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


def jsonable(value):
    """``value`` with NaN and infinities as null and numpy scalars as Python numbers (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    write(tmp)
    os.replace(tmp, path)


def write_protocol_tables(run: RunLocation, staging: Path, trials: pd.DataFrame, per_pair: pd.DataFrame) -> list[str]:
    """Write the confirm phase's tables and the answer into ``staging``; the names written."""
    from curriclip.protocol.answer import build_answer
    from curriclip.protocol.select import select_winners
    from curriclip.search.launch import read_run

    experiment, _ = read_run(run.uri)
    winners = select_winners(trials, experiment)
    confirm = confirm_table(trials, experiment, winners)
    pairs = per_pair_table(per_pair, confirm)
    answer = build_answer(experiment, confirm, pairs)
    _atomic(staging / "confirm.parquet", lambda p: confirm.to_parquet(p, index=False))
    _atomic(staging / "per_pair.parquet", lambda p: pairs.to_parquet(p, index=False))
    _atomic(
        staging / "answer.json",
        lambda p: p.write_text(json.dumps(jsonable(answer), indent=1, allow_nan=False), encoding="utf-8"),
    )
    return list(PROTOCOL_FILES)
