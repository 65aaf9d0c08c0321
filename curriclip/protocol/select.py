"""Select on validation, then plan the confirm runs: each arm's winner per level, K fresh paired seeds.

Only search-phase trials that ran their whole budget can win (a pruned trial's last
score is from an earlier epoch). Ties go to the earlier trial id, so selection is a
function of the search's records alone. The confirm plan gives seed k to every arm at a
level: the same initialisation, batch order and sparsity-subset draw (``subset_seed``
is the seed too, so the subset's own variance is inside the interval).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from curriclip.config import ExperimentConfig, TrialConfig
from curriclip.errors import CurriclipError
from curriclip.names import FINAL_PREFIX, TUNED_ARMS, Arm, Control, Phase, Split, Status
from curriclip.names import TrialColumn as Col


@dataclass(frozen=True)
class Winner:
    """An arm's validation winner at one level: the search trial the confirm runs re-run."""

    arm: Arm
    level: float
    trial_id: str
    search_score: float
    config: dict


@dataclass(frozen=True)
class ConfirmRun:
    """One planned confirm run: an arm at a level with confirm seed number ``seed_index``."""

    arm: Arm
    level: float
    seed_index: int
    source_trial_id: str
    search_score: float
    trial: dict

    @property
    def key(self) -> tuple[str, float, int]:
        return (str(self.arm), round(self.level, 9), int(self.trial["seed"]))


def search_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The search-phase rows of ``trials.parquet`` (all rows of a run from before the protocol)."""
    if trials.empty or Col.PHASE not in trials.columns:
        return trials
    return trials[trials[Col.PHASE].fillna(Phase.SEARCH) == Phase.SEARCH]


def check_selected_on_validate(trials: pd.DataFrame) -> None:
    """Refuse a search whose trials were scored on test: its winners would be chosen by the split that judges them."""
    search = search_trials(trials)
    if search.empty or Col.SPLIT_EVALUATED not in search.columns:
        return
    on_test = int((search[Col.SPLIT_EVALUATED] == Split.TEST).sum())
    if on_test:
        raise CurriclipError(
            f"{on_test} search trial(s) of this run were evaluated on test (split_evaluated = test): "
            "winners must be selected on validate; re-run the search with this curriclip"
        )


def configuration_counts(trials: pd.DataFrame, experiment: ExperimentConfig) -> list[dict]:
    """Per tuned arm and level: the search configurations tried, completed (whole budget), pruned and errored."""
    search = search_trials(trials)
    rows = []
    for arm in TUNED_ARMS:
        if arm not in experiment.protocol.arms:
            continue
        for level in experiment.space.sparsity:
            at = (
                search[(search[Col.ARM] == arm) & (search[Col.SPARSITY].sub(level).abs() < 1e-9)]
                if len(search)
                else search
            )
            status = at[Col.STATUS] if len(at) else pd.Series(dtype=str)
            rows.append(
                {
                    "arm": str(arm),
                    "level": float(level),
                    "tried": int(len(at)),
                    "completed": int((status == Status.COMPLETED).sum()),
                    "pruned": int((status == Status.PRUNED).sum()),
                    "errored": int((status == Status.ERRORED).sum()),
                }
            )
    return rows


def select_winners(trials: pd.DataFrame, experiment: ExperimentConfig) -> dict[tuple[str, float], Winner]:
    """(arm, level) -> the completed search trial with the best final validation ``search.metric``."""
    metric = f"{FINAL_PREFIX}{experiment.search.metric}"
    search = search_trials(trials)
    if search.empty or metric not in search.columns:
        raise CurriclipError("no search-phase results to select from (did the search run?)")
    done = search[(search[Col.STATUS] == Status.COMPLETED) & search[metric].notna()]
    winners: dict[tuple[str, float], Winner] = {}
    for arm in TUNED_ARMS:
        if arm not in experiment.protocol.arms:
            continue
        for level in experiment.space.sparsity:
            rows = done[(done[Col.ARM] == arm) & (done[Col.SPARSITY].sub(level).abs() < 1e-9)]
            if rows.empty:
                continue
            best = rows.sort_values([metric, Col.TRIAL_ID], ascending=[False, True]).iloc[0]
            config = json.loads(best[Col.CONFIG_JSON])
            winners[(str(arm), level)] = Winner(arm, level, str(best[Col.TRIAL_ID]), float(best[metric]), config)
    return winners


def _confirm_config(config: dict, arm: Arm, seed: int) -> dict:
    """The winner's config re-run as ``arm`` in the confirm phase with ``seed`` (its subset seed too)."""
    fields = {**config, "arm": arm, "phase": Phase.CONFIRM, "seed": seed, "subset_seed": seed}
    if arm == Arm.CURRICULUM_RANDOM:
        fields["control"] = Control.RANDOM
    return TrialConfig.model_validate(fields).model_dump(mode="json")


#: Arms whose confirm runs re-run another arm's winner: (arm it re-runs)
DERIVED_FROM = {Arm.CURRICULUM_RANDOM: Arm.CURRICULUM, Arm.SHUFFLED_CONTROL: Arm.SINGLE_TASK}


def confirm_plan(
    experiment: ExperimentConfig, winners: dict[tuple[str, float], Winner], seeds: int
) -> tuple[list[ConfirmRun], list[str]]:
    """(runs, notes): every arm x level x confirm seed 0..seeds-1 whose source winner exists.

    A missing winner (every configuration of an arm at a level was pruned or failed) is
    not silently skipped: it is named in ``notes``, which the caller prints.
    """
    runs, notes = [], []
    for level in experiment.space.sparsity:
        for arm in experiment.protocol.arms:
            source = DERIVED_FROM.get(arm, arm)
            winner = winners.get((str(source), level))
            if winner is None:
                notes.append(f"{arm} at {level:g}: no completed {source} search trial to confirm")
                continue
            for k in range(seeds):
                seed = experiment.protocol.confirm_seed(k)
                trial = _confirm_config(winner.config, arm, seed)
                runs.append(ConfirmRun(arm, level, k, winner.trial_id, winner.search_score, trial))
    return runs, notes
