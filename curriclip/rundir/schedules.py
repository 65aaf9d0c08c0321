"""Each search-phase curriculum's planned schedule, exported with the run (``schedules.parquet``).

The schedule is a pure function of a trial's config (``curriclip.curriculum.inspect``):
exporting it beside the trials lets the report draw every curriculum's task weights and
data fraction from a file, without the curriculum engine. ``x`` is training time in
epochs; a trial stopped early keeps only what it trained.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from curriclip.curriculum.inspect import schedule_table
from curriclip.names import FINAL_PREFIX, Arm, Phase, Status
from curriclip.names import TrialColumn as Col

COLUMNS = ["trial_id", "x", "task", "weight", "data_fraction"]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def planned_schedule(row: pd.Series) -> pd.DataFrame:
    """One trial's planned schedule, long form (``COLUMNS``); a config the engine cannot read raises."""
    cfg = json.loads(row[Col.CONFIG_JSON] or "{}")
    pairs = row.get(f"{FINAL_PREFIX}train_pairs")
    table = schedule_table(cfg) if _missing(pairs) else schedule_table(cfg, train_pairs=int(pairs))
    n_epochs = float(cfg.get("epochs") or row[Col.EPOCHS_DONE] or 1)
    planned = pd.DataFrame(
        {
            "trial_id": str(row[Col.TRIAL_ID]),
            "x": table["progress"].astype(float) * n_epochs,
            "task": table["task"].astype(str),
            "weight": table["weight"].astype(float),
            "data_fraction": table["data_fraction"].astype(float),
        }
    )
    done = row[Col.EPOCHS_DONE]
    if row[Col.STATUS] != Status.COMPLETED and not _missing(done):
        planned = planned[planned["x"] <= float(done)]
    return planned


def schedules_table(trials: pd.DataFrame) -> pd.DataFrame:
    """The planned schedules of the search phase's curriculum trials (a config the engine cannot read is left out)."""
    if trials.empty or Col.ARM not in trials.columns:
        return pd.DataFrame(columns=COLUMNS)
    phase = trials[Col.PHASE] if Col.PHASE in trials.columns else Phase.SEARCH
    curricula = trials[(trials[Col.ARM] == Arm.CURRICULUM) & (phase == Phase.SEARCH)]
    frames = []
    for _, row in curricula.iterrows():
        try:
            frames.append(planned_schedule(row))
        except Exception:  # noqa: BLE001 - a config the engine cannot read: the report uses its epochs
            continue
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)
