"""MLflow: Ray Tune's ``MLflowLoggerCallback`` with curriclip's run names, parameters, tags and epochs as steps.

Ray's callback opens one MLflow run per trial on the driver. It tags every run alike and
logs Ray's nested config and every result key; this subclass names each run after its
arm, level and seed, tags it with them, logs the trial config flattened as parameters and
the metrics at the trial's epoch, in one batch per call (a SQLite store answers in
milliseconds, not one transaction per value). With a SQLite store the experiment's
artifacts go to ``mlartifacts/`` beside the database, as ``mlflow server`` would put them.
"""

from __future__ import annotations

from pathlib import Path

from ray.air.integrations.mlflow import MLflowLoggerCallback

from curriclip.tracking.fields import result_metrics, result_step, run_name, trial_params, trial_tags

#: The tag that tells curriclip's runs apart (``trial`` or ``answer``) and the tag naming the run directory.
KIND_TAG, RUN_TAG = "curriclip.kind", "curriclip.run"
BATCH = 100  # MLflow's limit of parameters per log_batch call


def artifact_location(tracking_uri: str) -> str | None:
    """Artifacts beside a SQLite store (``mlartifacts/``); None: MLflow's own default for other stores."""
    if tracking_uri.startswith("sqlite:///"):
        return str(Path(tracking_uri.removeprefix("sqlite:///")).parent / "mlartifacts")
    return None


def experiment_id(client, name: str, tracking_uri: str) -> str:
    """The MLflow experiment ``name``, created (with its artifact location) when it does not exist."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return client.create_experiment(name, artifact_location=artifact_location(tracking_uri))


def log_batch(
    client,
    run_id: str,
    metrics: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    step: int = 0,
    tags: dict[str, str] | None = None,
) -> None:
    """Metrics, parameters and tags in as few calls as MLflow allows."""
    import time

    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    items = list((params or {}).items())
    for start in range(0, max(len(items), 1), BATCH):
        chunk = items[start : start + BATCH]
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, step) for k, v in (metrics or {}).items()] if start == 0 else [],
            params=[Param(k, v[:6000]) for k, v in chunk],
            tags=[RunTag(k, v) for k, v in (tags or {}).items()] if start == 0 else [],
        )


class CurriclipMLflowCallback(MLflowLoggerCallback):
    """One MLflow run per trial: named and tagged by arm, phase, level and seed; config as parameters."""

    def __init__(self, tracking_uri: str, experiment_name: str, run_dir: str) -> None:
        super().__init__(tracking_uri=tracking_uri, experiment_name=experiment_name, tags={RUN_TAG: run_dir})
        self.tags[KIND_TAG] = "trial"

    def setup(self, *args, **kwargs) -> None:
        from mlflow.tracking import MlflowClient

        experiment_id(MlflowClient(self.tracking_uri), self.experiment_name, self.tracking_uri)
        super().setup(*args, **kwargs)

    def _client(self):
        from mlflow.tracking import MlflowClient

        return MlflowClient(self.tracking_uri)

    def log_trial_start(self, trial) -> None:
        if trial in self._trial_runs:  # a trial restarted from its checkpoint keeps its run
            return
        tags = {**self.tags, **trial_tags(trial.config), "trial_id": trial.trial_id}
        run = self.mlflow_util.start_run(tags=tags, run_name=run_name(trial.config, trial.trial_id))
        self._trial_runs[trial] = run.info.run_id
        log_batch(self._client(), run.info.run_id, params=trial_params(trial.config))

    def log_trial_result(self, iteration: int, trial, result: dict) -> None:
        if trial not in self._trial_runs:
            self.log_trial_start(trial)
        log_batch(self._client(), self._trial_runs[trial], metrics=result_metrics(result), step=result_step(result))

    def log_trial_end(self, trial, failed: bool = False) -> None:
        if trial in self._trial_runs:
            self.mlflow_util.end_run(run_id=self._trial_runs[trial], status="FAILED" if failed else "FINISHED")
