"""A run directory's result files, read into normalised DataFrames.

Reads only ``trials.parquet``, ``epochs.parquet``, ``experiment.yaml`` and, once the confirm phase
has run, ``confirm.parquet`` and ``answer.json`` (any of which may be missing, empty or half-written
while a search starts: a missing file is not an error). Every contract column exists afterwards
with its dtype, so figures never test for columns. Columns that could carry a dataset's report
text or images are dropped here, on reading, so no such text can reach the page.

Trials are split by phase: ``Results.trials`` holds the search phase (what selected the winners,
scored on the validation split; runs from before the protocol have no phase column and count as
search trials scored on test), ``Results.confirm_trials`` the confirm phase's re-runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from curriclip.names import ANSWER_SCHEMA, PARAM_PREFIX, EpochColumn, Phase, RunFile, Status, TrialColumn

from .style import is_missing

# Protocol names; StrEnum members compare equal to the strings older result files hold.
PHASE, SPLIT_EVALUATED = TrialColumn.PHASE, TrialColumn.SPLIT_EVALUATED
SEARCH_PHASE, CONFIRM_PHASE = Phase.SEARCH, Phase.CONFIRM
VALIDATE_SPLIT, TEST_SPLIT = "validate", "test"
ANSWER_FILE, CONFIRM_FILE = RunFile.ANSWER, RunFile.CONFIRM

TRIAL_COLUMNS = {
    TrialColumn.TRIAL_ID: "str",
    TrialColumn.STATUS: "str",
    TrialColumn.ARM: "str",
    PHASE: "str",
    SPLIT_EVALUATED: "str",
    TrialColumn.SPARSITY: "float",
    TrialColumn.SEED: "int",
    TrialColumn.PACING: "str",
    TrialColumn.ORDERING: "str",
    TrialColumn.LR: "float",
    TrialColumn.EPOCHS_DONE: "int",
    TrialColumn.FINAL_CLIP_SCORE: "float",
    TrialColumn.BEST_CLIP_SCORE: "float",
    TrialColumn.INIT_CLIP_SCORE: "float",
    TrialColumn.ERROR: "str",
    TrialColumn.CONFIG_JSON: "str",
}
# Metric columns of epochs.parquet the report reads (they are not fixed columns of EpochColumn).
CLIP_SCORE, LOSS, DATA_FRACTION, ACTIVE_TASKS = "clip_score", "loss", "data_fraction", "active_tasks"
EPOCH_COLUMNS = {
    EpochColumn.TRIAL_ID: "str",
    EpochColumn.ARM: "str",
    EpochColumn.SPARSITY: "float",
    EpochColumn.EPOCH: "int",
    CLIP_SCORE: "float",
    LOSS: "float",
    DATA_FRACTION: "float",
    ACTIVE_TASKS: "str",
    EpochColumn.TIME_S: "float",
}
# confirm.parquet: one row per arm x level x seed, final test metrics and the untrained model's (``init_*``).
CONFIRM_COLUMNS = {
    "level": "float",
    "arm": "str",
    "seed": "int",
    "seed_index": "int",
    "trial_id": "str",
    "source_trial_id": "str",
    "status": "str",
    "search_score": "float",
    "clip_score": "float",
    "retrieval_auc": "float",
    "clip_score_gap": "float",
    "mean_r1": "float",
    "collapsed": "float",
    "init_clip_score": "float",
    "init_retrieval_auc": "float",
    "init_clip_score_gap": "float",
    "init_mean_r1": "float",
}
STATUS_ORDER = tuple(Status)
#: Curriculum choices recorded only inside config_json in older runs, derived as columns.
DERIVED_CHOICES = ("weighting", "scorer")

# Columns that could carry a credentialed dataset's report text or images (MIMIC-CXR findings /
# impression sections, captions, pixels). Result files should never hold them; if one does, the
# report drops it on reading. Numeric columns of the same name (``loss/findings``) are kept.
SENSITIVE_NAMES = {
    "findings", "impression", "impressions", "report", "reports", "report_text", "text", "texts", "caption",
    "captions", "image", "images", "image_path", "image_bytes", "pixels", "findings_text", "impression_text",
    "sentence", "sentences", "note", "notes",
}  # fmt: skip


@dataclass
class Results:
    """What a run directory holds, normalised: every contract column exists with its dtype."""

    run_dir: Path
    trials: pd.DataFrame
    epochs: pd.DataFrame
    experiment_yaml: str | None = None
    notes: list[str] = field(default_factory=list)  # problems met while reading
    confirm_trials: pd.DataFrame = field(default_factory=lambda: _normalise(pd.DataFrame(), TRIAL_COLUMNS))
    confirm: pd.DataFrame = field(default_factory=lambda: _normalise(pd.DataFrame(), CONFIRM_COLUMNS))
    answer: dict | None = None  # answer.json, once the confirm phase has run
    legacy: bool = False  # trials.parquet predates the protocol (no phase column): selected on test
    schedules: pd.DataFrame = field(default_factory=pd.DataFrame)  # schedules.parquet: planned curriculum schedules

    @property
    def experiment(self) -> dict:
        """experiment.yaml parsed (empty when absent or unreadable)."""
        if not self.experiment_yaml:
            return {}
        try:
            import yaml

            data = yaml.safe_load(self.experiment_yaml)
        except Exception:  # noqa: BLE001 - a broken file only loses the Pareto detection
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def run_name(self) -> str:
        return self.run_dir.resolve().name or str(self.run_dir)

    @property
    def all_trials(self) -> pd.DataFrame:
        """Search- and confirm-phase trials together (the trial table, the inspector, the status badges)."""
        if self.confirm_trials.empty:
            return self.trials
        return pd.concat([self.trials, self.confirm_trials], ignore_index=True)

    @property
    def empty(self) -> bool:
        no_answer = self.answer is None and self.confirm.empty
        return self.trials.empty and self.confirm_trials.empty and self.epochs.empty and no_answer

    @property
    def search_split(self) -> str:
        """The split the search-phase scores were computed on: 'validate', or 'test' in runs before the protocol."""
        splits = set(self.trials[SPLIT_EVALUATED].dropna()) if not self.trials.empty else set()
        return TEST_SPLIT if self.legacy or TEST_SPLIT in splits else VALIDATE_SPLIT

    def status_counts(self) -> dict[str, int]:
        trials = self.all_trials
        if trials.empty:
            return {}
        counts = trials[TrialColumn.STATUS].fillna("unknown").value_counts()
        order = [s for s in STATUS_ORDER if s in counts] + sorted(s for s in counts.index if s not in STATUS_ORDER)
        return {str(s): int(counts[s]) for s in order}


def _normalise(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    df = df.copy()
    for col, kind in columns.items():
        col = str(col)
        if col not in df.columns:
            df[col] = pd.Series([None] * len(df), dtype="object" if kind == "str" else "float64")
        if kind == "float":
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
        elif kind == "int":
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
        else:
            s = df[col].astype("object")
            df[col] = s.where(s.notna(), None).map(lambda v: v if v is None else str(v))
    for col in df.columns:  # other numeric columns (param/*, final/*, loss/*) as float
        if col not in columns and pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
            df[col] = df[col].astype("float64")
    return df.reset_index(drop=True).copy()  # each column set above is its own block: copy() consolidates them


def is_sensitive(name: object, series: pd.Series | None = None) -> bool:
    """A column (or config key) named like dataset text, unless it holds numbers."""
    last = str(name).rsplit("/", 1)[-1].lower()
    if last not in SENSITIVE_NAMES:
        return False
    return series is None or not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def drop_sensitive(df: pd.DataFrame) -> pd.DataFrame:
    bad = [c for c in df.columns if is_sensitive(c, df[c]) or df[c].map(lambda v: isinstance(v, bytes)).any()]
    return df.drop(columns=bad) if bad else df


def clean_config(text: object) -> dict:
    """A trial's config_json as a dict, without any key that could carry dataset text."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        cfg = json.loads(text)
    except (TypeError, ValueError):
        return {}
    if not isinstance(cfg, dict):
        return {}
    return {k: v for k, v in cfg.items() if not (is_sensitive(k) and not isinstance(v, (int, float, bool)))}


def _derive_choices(trials: pd.DataFrame) -> pd.DataFrame:
    """Curriculum choices recorded only inside config_json (weighting, scorer) as columns."""
    if trials.empty:
        return trials
    configs = None
    for key in DERIVED_CHOICES:
        if key in trials.columns:
            continue
        if PARAM_PREFIX + key in trials.columns:
            trials[key] = trials[PARAM_PREFIX + key].map(lambda v: None if is_missing(v) else str(v))
            continue
        if configs is None:
            configs = trials[TrialColumn.CONFIG_JSON].map(clean_config)
        vals = configs.map(lambda c, k=key: None if c.get(k) is None else str(c.get(k)))
        if vals.notna().any():
            trials[key] = vals
    return trials


def _read_parquet(path: Path, notes: list[str]) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame()
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # half-written or corrupt: report it, render the rest
        notes.append(f"could not read {path.name} (still being written?): {type(exc).__name__}: {exc}")
        return pd.DataFrame()


def _fill_epochs_from_trials(epochs: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """Arm and sparsity from trials where the epoch rows lack them; rows in (trial, epoch) order."""
    if not trials.empty:
        info = trials.set_index(TrialColumn.TRIAL_ID)
        for col in (EpochColumn.ARM, EpochColumn.SPARSITY):
            epochs[col] = epochs[col].fillna(epochs[EpochColumn.TRIAL_ID].map(info[col]))
    return epochs.sort_values([EpochColumn.TRIAL_ID, EpochColumn.EPOCH]).reset_index(drop=True)


def _fill_phase(raw: pd.DataFrame) -> pd.DataFrame:
    """Runs before the protocol lack ``phase`` / ``split_evaluated``: their trials were searched and scored on test."""
    raw = raw.copy()
    if PHASE not in raw.columns:
        raw[PHASE] = SEARCH_PHASE
    if SPLIT_EVALUATED not in raw.columns:
        raw[SPLIT_EVALUATED] = TEST_SPLIT
    raw[PHASE] = raw[PHASE].fillna(SEARCH_PHASE)
    return raw


def load_answer(run_dir: Path, notes: list[str]) -> dict | None:
    """answer.json as a dict; None when absent (the confirm phase has not run) or unreadable (with a note)."""
    path = run_dir / ANSWER_FILE
    if not path.exists():
        return None
    try:
        answer = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        notes.append(f"could not read {ANSWER_FILE} (still being written?): {type(exc).__name__}: {exc}")
        return None
    if not isinstance(answer, dict):
        notes.append(f"{ANSWER_FILE} is not a JSON object: the confirmed answer is not shown")
        return None
    if answer.get("schema") != ANSWER_SCHEMA:
        notes.append(f"{ANSWER_FILE} has schema {answer.get('schema')!r}, this report reads schema {ANSWER_SCHEMA}")
    return answer


def _drop_confirm_epochs(epochs: pd.DataFrame, confirm_trials: pd.DataFrame) -> pd.DataFrame:
    """Epoch rows of the search phase only: the dynamics figures show how the search's trials trained."""
    if epochs.empty or confirm_trials.empty:
        return epochs
    return epochs[~epochs[EpochColumn.TRIAL_ID].isin(set(confirm_trials[TrialColumn.TRIAL_ID]))]


def load_results(run_dir: str | Path) -> Results:
    """Read a run directory's result files; missing or unreadable files give empty frames."""
    run_dir = Path(run_dir)
    notes: list[str] = []
    raw = drop_sensitive(_read_parquet(run_dir / RunFile.TRIALS, notes))
    legacy = not raw.empty and PHASE not in raw.columns
    trials = _normalise(_fill_phase(raw), TRIAL_COLUMNS)
    epochs = _normalise(drop_sensitive(_read_parquet(run_dir / RunFile.EPOCHS, notes)), EPOCH_COLUMNS)
    confirm = _normalise(drop_sensitive(_read_parquet(run_dir / CONFIRM_FILE, notes)), CONFIRM_COLUMNS)
    trials = _derive_choices(trials)
    # Drop rows without an id: nothing can be said about them.
    trials = trials[trials[TrialColumn.TRIAL_ID].notna()].drop_duplicates(TrialColumn.TRIAL_ID, keep="last")
    epochs = epochs[epochs[EpochColumn.TRIAL_ID].notna()]
    if not trials.empty:
        order = [TrialColumn.SPARSITY, TrialColumn.ARM, TrialColumn.TRIAL_ID]
        trials = trials.sort_values(order, na_position="last").reset_index(drop=True)
    is_confirm = trials[PHASE] == CONFIRM_PHASE
    confirm_trials, trials = trials[is_confirm].reset_index(drop=True), trials[~is_confirm].reset_index(drop=True)
    epochs = _drop_confirm_epochs(epochs, confirm_trials)
    if not epochs.empty:
        epochs = _fill_epochs_from_trials(epochs, trials)
    yaml_path = run_dir / RunFile.EXPERIMENT
    experiment_yaml = None
    if yaml_path.exists():
        try:
            experiment_yaml = yaml_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            notes.append(f"could not read experiment.yaml: {exc}")
    answer = load_answer(run_dir, notes)
    schedules = _read_parquet(run_dir / RunFile.SCHEDULES, notes)
    results = Results(
        run_dir, trials, epochs, experiment_yaml, notes, confirm_trials, confirm, answer, legacy, schedules
    )
    results.notes[:0] = planted_notes(run_dir, results.experiment)  # first in the header
    return results


def planted_notes(run_dir: Path, experiment: dict) -> list[str]:
    """Header notes that a run is a calibration run on planted data, so nobody takes it for a real one.

    Reads ``run.json``'s ``dataset_dir`` and that dataset's ``manifest.json`` (its ``variant`` entry,
    written by ``curriclip.data.sources.generate_synthetic``), the experiment's sparsity mode, and whether its
    design is planted-order's (which plants nothing in the data: the benchmark's own easiest pairs are the design).
    """
    try:
        dataset_dir = Path(json.loads((run_dir / RunFile.RUN).read_text())["dataset_dir"])
        manifest = json.loads((dataset_dir / "manifest.json").read_text())
    except (OSError, KeyError, TypeError, ValueError):
        return []
    notes = []
    variant = manifest.get("variant") or {}
    tested = what_the_curriculum_tests((experiment.get("space") or {}).get("pacing") or {})
    if variant.get("name") == "noisy_hard_pairs":
        fraction = variant.get("noise_fraction", 0)
        band = variant.get("noise_band", 2 * fraction)  # manifests before noise_band: twice the noise
        notes.append(
            f"Planted data (calibration run, not a real result): the synthetic benchmark's noisy_hard_pairs variant, "
            f"in which {variant.get('noisy_pairs')} training pairs ({100 * fraction:.0f}%, "
            f"drawn from the hardest {100 * band:.0f}%) "
            "carry another pair's report; validate and test are clean. The metadata scorer's difficulty is the "
            "image's: an oracle for difficulty, and for noise as far as that band is noisy."
        )
        notes[-1] += f" {tested}" if tested else ""
    if manifest.get("source") == "synthetic" and not variant and _planted_order_design(experiment):
        notes.append(
            "Planted setting (calibration run, not a real result): planted-order, an effect of order alone. The "
            "synthetic benchmark's easiest pairs are normal studies whose reports differ little beyond phrasing, so an "
            "easiest-first pool starts on pairs with almost no image-specific text; the planted answer is "
            "curriculum worse than curriculum_random."
        )
        notes[-1] += f" {tested}" if tested else ""
    if manifest.get("source") == "synthetic" and (experiment.get("space") or {}).get("sparsity_mode") == "reports":
        notes.append(
            "Planted setting (calibration run, not a real result): label-rich, report-poor (sparsity_mode reports) "
            "on the synthetic benchmark: the levels keep a fraction of the image-report pairs, while the image-only "
            "and label tasks see every training image."
        )
    return notes


def _planted_order_design(experiment: dict) -> bool:
    """Whether a run's arms and curriculum space are the ``planted-order`` preset's (under any run name)."""
    from curriclip.presets import preset_experiment

    planted = preset_experiment("planted-order").model_dump(mode="json")
    space, protocol = experiment.get("space") or {}, experiment.get("protocol") or {}
    return protocol.get("arms") == planted["protocol"]["arms"] and all(
        space.get(key) == planted["space"][key] for key in ("pacing", "stage_span", "scorer")
    )


def what_the_curriculum_tests(pacing_space: dict) -> str:
    """On noisy planted data: whether curriculum vs curriculum_random measures order, or oracle data selection.

    A pacing whose pool never reaches every pair (``a`` >= 1, the fraction of training after which all
    data is used) keeps the easiest pairs for the whole budget: with the metadata scorer the hardest
    (noisy) pairs are never drawn, which is static data selection by an oracle, not an effect of order.
    """
    reaches = [(params or {}).get("a", (None, None))[1] for params in pacing_space.values() if isinstance(params, dict)]
    if reaches and all(a is not None and a >= 1.0 for a in reaches):
        return (
            "The curricula searched never admit every pair (a = 1): they are static oracle data selection, "
            "not an effect of curriculum order."
        )
    if reaches and all(a is not None and a <= 0.6 for a in reaches):
        return (
            f"The curricula searched admit every pair by {max(reaches):.0%} of training at the latest, like "
            "curriculum_random: curriculum vs curriculum_random differs in the order of the pairs alone."
        )
    return ""


def ordering_tasks(ordering: object) -> list[str]:
    """'itc > findings > rotation' -> ['itc', 'findings', 'rotation'] (also accepts ',' lists)."""
    if is_missing(ordering):
        return []
    text = str(ordering)
    parts = text.split(">") if ">" in text else text.split(",")
    return [p.strip() for p in parts if p.strip()]
