"""IU X-Ray (Open-i) as commonly distributed.

Two layouts: the Kaggle one (``indiana_reports.csv``: uid, MeSH, Problems, image,
indication, comparison, findings, impression; ``indiana_projections.csv``: uid,
filename, projection; an image folder) and R2Gen's ``annotation.json`` (train/val/test
lists of id, report, image_path). IU X-Ray ships no split, so patients are split
deterministically unless R2Gen's split is used. Labels come from the ``Problems`` field
mapped onto CheXpert-style names where a term matches (others stay "not mentioned").
"""

from __future__ import annotations

import json
from pathlib import Path

from curriclip.data.ingest.records import SampleRecord
from curriclip.data.ingest.tables import read_table
from curriclip.data.schema import DEFAULT_LABEL_NAMES
from curriclip.errors import DataError

#: Problems term (lower case) -> label name
PROBLEM_TERMS = {
    "cardiomegaly": "cardiomegaly",
    "pleural effusion": "pleural_effusion",
    "pneumothorax": "pneumothorax",
    "consolidation": "consolidation",
    "pneumonia": "consolidation",
    "nodule": "lung_nodule",
    "mass": "lung_nodule",
    "atelectasis": "atelectasis",
    "pulmonary atelectasis": "atelectasis",
    "edema": "edema",
    "pulmonary edema": "edema",
    "medical device": "support_devices",
    "catheters, indwelling": "support_devices",
    "fractures, bone": "fracture",
}


def problems_to_labels(problems: str | None) -> list[float | None]:
    names = list(DEFAULT_LABEL_NAMES)
    terms = {t.strip().lower() for t in (problems or "").split(";") if t.strip()}
    if terms == {"normal"}:
        return [0.0] * len(names)
    labels: list[float | None] = [None] * len(names)
    for term in terms:
        if term in PROBLEM_TERMS:
            labels[names.index(PROBLEM_TERMS[term])] = 1.0
    return labels


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float)) or str(value).strip() in ("", "nan"):
        return None
    return str(value).strip()


def read_iu_kaggle(
    reports_csv: Path, projections_csv: Path, images: Path, projection: str = "Frontal"
) -> tuple[list[SampleRecord], list[str]]:
    reports = read_table(reports_csv, ["uid", "Problems", "findings", "impression"], "IU X-Ray reports table")
    projections = read_table(projections_csv, ["uid", "filename", "projection"], "IU X-Ray projections table")
    table = projections[projections["projection"] == projection].merge(reports, on="uid", how="left")
    records = []
    for row in table.itertuples():
        records.append(
            SampleRecord(
                sample_id=Path(str(row.filename)).stem,
                subject_id=f"iu{row.uid}",
                study_id=f"iu{row.uid}",
                image_path=images / str(row.filename),
                findings=_text(row.findings),
                impression=_text(row.impression),
                labels=problems_to_labels(_text(row.Problems)),
                view=projection,
            )
        )
    return records, list(DEFAULT_LABEL_NAMES)


def read_iu_r2gen(annotation: Path, images: Path) -> tuple[list[SampleRecord], list[str]]:
    if not annotation.is_file():
        raise DataError(f"{annotation}: R2Gen annotation file not found")
    try:
        data = json.loads(annotation.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{annotation}: invalid JSON ({exc.msg})") from None
    split_names = {"train": "train", "val": "validate", "test": "test"}
    records = []
    for key, split in split_names.items():
        for i, entry in enumerate(data.get(key, [])):
            missing = [k for k in ("id", "report", "image_path") if k not in entry]
            if missing:
                raise DataError(f"{annotation}: {key}[{i}] lacks {', '.join(missing)}")
            paths = entry["image_path"] if isinstance(entry["image_path"], list) else [entry["image_path"]]
            uid = str(entry["id"]).split("_")[0]
            records.append(
                SampleRecord(
                    sample_id=str(entry["id"]),
                    subject_id=uid,
                    study_id=str(entry["id"]),
                    image_path=images / paths[0],
                    findings=_text(entry["report"]),
                    impression=None,
                    labels=[],
                    split=split,
                    view="Frontal",
                )
            )
    if not records:
        raise DataError(f"{annotation}: no train/val/test entries")
    return records, list(DEFAULT_LABEL_NAMES)
