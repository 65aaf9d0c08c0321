"""Names shared by every layer: arms, controls, trial statuses and result-table columns.

They sit at the bottom of the package (no torch, no Ray, no Plotly) so that the search,
the trainables, the exports and the reports spell them one way. ``StrEnum`` members
compare equal to their strings, so result files written before these enums existed
still read the same.
"""

from __future__ import annotations

from enum import StrEnum


class Arm(StrEnum):
    """What a trial stands for in the comparison."""

    SINGLE_TASK = "single_task"  # ITC alone: the reference every other arm is compared with
    MULTITASK = "multitask"  # the same auxiliary tasks and weighting, every task from step 0, no pacing
    CURRICULUM = "curriculum"  # searched orderings, pacing and staging
    CURRICULUM_RANDOM = "curriculum_random"  # the selected curriculum with its sample order shuffled
    SHUFFLED_CONTROL = "shuffled_control"  # the single-task recipe on shuffled image-report pairs


#: Every arm, in the order reports list them.
ARMS = tuple(Arm)
#: Arms the search phase tunes (each with the same budget under ``protocol.tuning: matched``).
TUNED_ARMS = (Arm.SINGLE_TASK, Arm.MULTITASK, Arm.CURRICULUM)
#: The arm every comparison is made against.
REFERENCE_ARM = Arm.SINGLE_TASK
#: Arms that train ITC alone without pacing: the baseline and the shuffled-pairs negative control.
ITC_ONLY_ARMS = (Arm.SINGLE_TASK, Arm.SHUFFLED_CONTROL)
#: The task whose alignment CLIP score measures; every ordering contains it.
ITC = "itc"


class Control(StrEnum):
    """Curriculum controls: easiest first, hardest first, or a seeded random order."""

    NONE = "none"
    ANTI = "anti"
    RANDOM = "random"


class SparsityMode(StrEnum):
    """What a sparsity level subsets: the image-report pairs, the finding labels of all pairs, or the reports only.

    ``reports`` (label-rich, report-poor): only the image-report pairing is subsampled; image-only and
    label tasks see every training image, ITC and the text tasks only the kept pairs.
    """

    PAIRS = "pairs"
    LABELS = "labels"
    REPORTS = "reports"


class Phase(StrEnum):
    """Which phase of the protocol a trial belongs to: the search ranks on validate, confirm reads test once."""

    SEARCH = "search"
    CONFIRM = "confirm"


class Split(StrEnum):
    """Dataset splits (``curriclip.data.schema.SPLITS`` spells the same values)."""

    TRAIN = "train"
    VALIDATE = "validate"
    TEST = "test"


#: The held-out split each phase evaluates on: the search never sees ``test``.
EVAL_SPLIT = {Phase.SEARCH: Split.VALIDATE, Phase.CONFIRM: Split.TEST}


class Status(StrEnum):
    """A trial's status in ``trials.parquet``."""

    COMPLETED = "completed"
    PRUNED = "pruned"
    ERRORED = "errored"
    RUNNING = "running"
    PENDING = "pending"
    DAMAGED = "damaged"  # ended, but its record is shorter than its checkpoint or Ray's own state: not reinterpreted


#: Statuses of a trial that will not run again (a resumed search leaves it as it is).
ENDED_STATUSES = (Status.COMPLETED, Status.PRUNED, Status.ERRORED, Status.DAMAGED)


class TrialColumn(StrEnum):
    """Columns of ``trials.parquet`` (one row per trial)."""

    TRIAL_ID = "trial_id"
    STATUS = "status"
    ARM = "arm"
    PHASE = "phase"  # search | confirm (runs before the protocol: search)
    SPLIT_EVALUATED = "split_evaluated"  # validate | test (runs before the protocol: test)
    SPARSITY = "sparsity"  # the trial's sparsity level: the *kept* fraction (of pairs or of labels)
    SPARSITY_MODE = "sparsity_mode"
    SEED = "seed"
    PACING = "pacing"
    ORDERING = "ordering"
    LR = "lr"
    STAGE_SPAN = "stage_span"
    EPOCHS_DONE = "epochs_done"
    RESTARTS = "restarts"
    FINAL_CLIP_SCORE = "final_clip_score"
    BEST_CLIP_SCORE = "best_clip_score"
    INIT_CLIP_SCORE = "init_clip_score"
    TEST_SPLIT_HASH = "test_split_hash"
    THREADS = "threads"  # torch threads the trial ran on (its numbers depend on them)
    VERSIONS = "versions"  # python and library versions the trial ran with
    ERROR = "error"
    CONFIG_JSON = "config_json"
    STARTED_AT = "started_at"


class EpochColumn(StrEnum):
    """Fixed columns of ``epochs.parquet`` (one row per trial and epoch; metric columns follow)."""

    TRIAL_ID = "trial_id"
    ARM = "arm"
    SPARSITY = "sparsity"
    EPOCH = "epoch"
    TIME_S = "time_s"


class RunFile(StrEnum):
    """The files of a run directory that curriclip writes and reads (Ray Tune's own state aside)."""

    EXPERIMENT = "experiment.yaml"  # the validated experiment as run
    RUN = "run.json"  # the resolved dataset and the planned trial count
    OPTUNA_DB = "optuna.db"  # the Optuna study of a local run
    TRIALS = "trials.parquet"  # one row per trial (both phases)
    EPOCHS = "epochs.parquet"  # one row per trial and epoch
    SCHEDULES = "schedules.parquet"  # each search-phase curriculum's schedule, epoch by epoch
    CONFIRM = "confirm.parquet"  # one row per confirm run: arm x level x seed, final test metrics
    PER_PAIR = "per_pair.parquet"  # the confirm runs' per-pair test scores
    ANSWER = "answer.json"  # the verdict table
    FUSION = "fusion.parquet"  # ``curriclip fuse``'s rows
    FUSION_SUMMARY = "fusion.json"  # what those rows say: per fusion, best members and the floor
    REPORT = "report.html"


#: The version of answer.json's layout: the protocol writes it and the report reads only this one.
ANSWER_SCHEMA = 2


#: Prefix of the searcher's parameter columns in ``trials.parquet`` (``param/order_0``, ...).
PARAM_PREFIX = "param/"
#: Prefix of the last epoch's metrics in ``trials.parquet`` (``final/clip_score``, ...).
FINAL_PREFIX = "final/"
#: A confirm run's per-pair test scores, a JSON file in its last checkpoint (``per_pair.parquet`` gathers them).
PER_PAIR_FILE = "per_pair.json"
#: The headline metric: CLIP score on the held-out split (Hessel et al. 2021).
HEADLINE_METRIC = "clip_score"

#: What every trial reports each epoch besides its metrics (``curriclip.metrics``, also as ``init_<key>`` for the
#: untrained model) and its losses (``loss``, ``loss/<task>``); a test keeps this list and the loop in step.
TRIAL_KEYS = (
    "epoch",
    "data_fraction",
    "score_threshold",
    "scoring_time_s",
    "pool_difficulty",
    "active_tasks",
    "train_pairs",
    "test_pairs",
    "test_split_hash",
    "split_evaluated",
    "logit_scale",
    "threads",
    "versions",
    "epoch_time_s",
    "time_s",
    "timing",  # the Tune trainable's overhead phases and time stamps (a dict; the exports leave it out)
)
