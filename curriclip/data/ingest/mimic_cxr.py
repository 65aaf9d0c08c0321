"""MIMIC-CXR-JPG + MIMIC-CXR reports, in PhysioNet's layouts.

Images: ``files/pNN/p<subject>/s<study>/<dicom_id>.jpg`` beside
``mimic-cxr-2.0.0-split.csv.gz``, ``mimic-cxr-2.0.0-metadata.csv.gz`` and
``mimic-cxr-2.0.0-chexpert.csv.gz`` (or ``-negbio``). Reports:
``files/pNN/p<subject>/s<study>.txt``. The official split is kept; frontal views (PA,
AP) by default. MIMIC is credentialed: nothing here prints report text or pixels.
"""

from __future__ import annotations

from pathlib import Path

from curriclip.data.ingest.records import SampleRecord
from curriclip.data.ingest.tables import read_table, to_label
from curriclip.data.ingest.text import split_sections

CHEXPERT_COLUMNS = [
    "Atelectasis",
    "Cardiomegaly",
    "Consolidation",
    "Edema",
    "Enlarged Cardiomediastinum",
    "Fracture",
    "Lung Lesion",
    "Lung Opacity",
    "No Finding",
    "Pleural Effusion",
    "Pleural Other",
    "Pneumonia",
    "Pneumothorax",
    "Support Devices",
]
LABEL_NAMES = [c.lower().replace(" ", "_") for c in CHEXPERT_COLUMNS]


def _prefix(subject: str) -> str:
    return f"p{subject[:2]}"


def read_mimic_cxr(
    images: Path, reports: Path, views: tuple[str, ...] = ("PA", "AP"), labeler: str = "chexpert"
) -> tuple[list[SampleRecord], list[str]]:
    """Records of every image of the chosen views, with official splits and CheXpert/NegBio labels."""
    split = read_table(
        images / "mimic-cxr-2.0.0-split.csv.gz", ["dicom_id", "study_id", "subject_id", "split"], "MIMIC-CXR split file"
    )
    meta = read_table(
        images / "mimic-cxr-2.0.0-metadata.csv.gz", ["dicom_id", "ViewPosition"], "MIMIC-CXR metadata file"
    )
    labels = read_table(
        images / f"mimic-cxr-2.0.0-{labeler}.csv.gz",
        ["subject_id", "study_id", *CHEXPERT_COLUMNS],
        f"MIMIC-CXR {labeler} label file",
    )
    table = split.merge(meta[["dicom_id", "ViewPosition"]], on="dicom_id", how="left")
    if views:
        table = table[table["ViewPosition"].isin(views)]
    label_of = {
        (str(row.subject_id), str(row.study_id)): [
            to_label(getattr(row, f"c{i}")) for i in range(len(CHEXPERT_COLUMNS))
        ]
        for row in labels.rename(columns={c: f"c{i}" for i, c in enumerate(CHEXPERT_COLUMNS)}).itertuples()
    }
    sections: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    records = []
    for row in table.itertuples():
        subject, study = str(row.subject_id), str(row.study_id)
        key = (subject, study)
        if key not in sections:
            report_path = reports / "files" / _prefix(subject) / f"p{subject}" / f"s{study}.txt"
            text = report_path.read_text(errors="replace") if report_path.is_file() else ""
            sections[key] = split_sections(text)
        findings, impression = sections[key]
        records.append(
            SampleRecord(
                sample_id=str(row.dicom_id),
                subject_id=subject,
                study_id=study,
                image_path=images / "files" / _prefix(subject) / f"p{subject}" / f"s{study}" / f"{row.dicom_id}.jpg",
                findings=findings,
                impression=impression,
                labels=label_of.get(key, [None] * len(CHEXPERT_COLUMNS)),
                split=str(row.split),
                view=str(row.ViewPosition),
            )
        )
    return records, LABEL_NAMES
