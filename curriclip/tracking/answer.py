"""The confirmed answer (``answer.json``) logged once as a tracker run of its own.

After the confirm phase, the trackers that saw the trials also get the answer: one
MLflow run (kind ``answer``) whose metrics are each comparison's mean difference and
Holm-corrected interval, whose tags are the verdicts and whose note is the summary;
one W&B run (job type ``answer``) with the same numbers and the comparisons as a table.
An MLflow answer run is keyed by the answer's hash, so logging the same answer again
(a confirm phase re-run that added nothing) adds no second run.
"""

from __future__ import annotations

import hashlib
import json
import math

from curriclip.config import ExperimentConfig
from curriclip.names import RunFile
from curriclip.tracking.mlflow_tracker import KIND_TAG, RUN_TAG, experiment_id, log_batch

ANSWER_SHA_TAG = "curriclip.answer_sha"


def comparison_key(c: dict) -> str:
    """``curriculum_vs_single_task/clip_score/0.3``: one comparison, as a tracker key."""
    return f"{c['arm']}_vs_{c['reference']}/{c['metric']}/{float(c['level']):g}"


def answer_metrics(answer: dict) -> dict[str, float]:
    """Each comparison's mean difference, corrected interval and detectable effect (finite values only)."""
    out = {}
    for c in answer.get("comparisons", []):
        key = comparison_key(c)
        low, high = (c.get("corrected_ci") or [None, None])[:2]
        values = {"diff_mean": c.get("diff_mean"), "ci_low": low, "ci_high": high}
        values["detectable_effect"] = c.get("detectable_effect")
        for name, value in values.items():
            if isinstance(value, (int, float)) and math.isfinite(value):
                out[f"{key}/{name}"] = float(value)
    return out


def answer_tags(answer: dict) -> dict[str, str]:
    """Each comparison's verdict (``verdict/curriculum_vs_single_task/clip_score/0.3`` = ``better``)."""
    return {f"verdict/{comparison_key(c)}": str(c.get("verdict")) for c in answer.get("comparisons", [])}


def answer_params(answer: dict) -> dict[str, str]:
    """What the answer was computed with: alpha, K, seeds, levels, arms, metrics and margins."""
    keys = ("alpha", "k", "confirm_seeds", "levels", "arms", "headline_metric", "robust_metric", "reference_arm")
    params = {key: json.dumps(answer.get(key)) for key in keys if key in answer}
    for metric, margin in (answer.get("equivalence_margin") or {}).items():
        params[f"equivalence_margin/{metric}"] = json.dumps(margin)
    return params


def log_answer_mlflow(experiment: ExperimentConfig, tracking_uri: str, run_dir: str, text: str) -> str | None:
    """One MLflow run holding the answer; its id, or None when this very answer was logged before."""
    from mlflow.tracking import MlflowClient

    answer = json.loads(text)
    sha = hashlib.sha256(text.encode()).hexdigest()[:16]
    client = MlflowClient(tracking_uri)
    name = experiment.tracking.mlflow.experiment or experiment.name
    exp_id = experiment_id(client, name, tracking_uri)
    done = client.search_runs([exp_id], filter_string=f"tags.`{ANSWER_SHA_TAG}` = '{sha}'", max_results=1)
    if done:
        return None
    tags = {KIND_TAG: "answer", RUN_TAG: run_dir, ANSWER_SHA_TAG: sha, "phase": "answer"}
    tags["mlflow.note.content"] = str(answer.get("summary", ""))
    run = client.create_run(exp_id, run_name=f"{experiment.name} answer", tags=tags)
    run_id = run.info.run_id
    log_batch(client, run_id, metrics=answer_metrics(answer), params=answer_params(answer), tags=answer_tags(answer))
    client.log_text(run_id, text, RunFile.ANSWER)
    client.set_terminated(run_id)
    return run_id


def log_answer_wandb(experiment: ExperimentConfig, directory: str, text: str) -> None:
    """One W&B run (job type ``answer``) with the answer's numbers, verdicts and comparisons table."""
    import pandas as pd
    import wandb

    answer = json.loads(text)
    settings = experiment.tracking.wandb
    run = wandb.init(
        project=settings.project,
        entity=settings.entity,
        mode=settings.mode,
        dir=directory,
        group=experiment.name,
        job_type="answer",
        name=f"{experiment.name} answer",
        config=answer_params(answer),
        tags=["phase:answer"],
        reinit="create_new",
    )
    try:
        run.summary.update({**answer_metrics(answer), **answer_tags(answer), "summary": answer.get("summary", "")})
        rows = [
            {"level": c["level"], "arm": c["arm"], "reference": c["reference"], "metric": c["metric"],
             "diff_mean": c.get("diff_mean"), "ci_low": (c.get("corrected_ci") or [None])[0],
             "ci_high": (c.get("corrected_ci") or [None, None])[1], "verdict": c.get("verdict"),
             "detectable_effect": c.get("detectable_effect")}
            for c in answer.get("comparisons", [])
        ]  # fmt: skip
        if rows:
            run.log({"answer": wandb.Table(dataframe=pd.DataFrame(rows))})
    finally:
        run.finish()
