"""Any CSV or Parquet table of image paths and report texts (with optional CheXpert-encoded labels)."""

from __future__ import annotations

from pathlib import Path

from curriclip.data.ingest.records import SampleRecord
from curriclip.data.ingest.tables import read_table, to_label


def read_image_text_table(
    table: Path,
    image_col: str,
    text_col: str,
    label_cols: list[str] | None = None,
    id_col: str | None = None,
    subject_col: str | None = None,
    split_col: str | None = None,
    impression_col: str | None = None,
    image_root: Path | None = None,
) -> tuple[list[SampleRecord], list[str]]:
    """Records of every row; relative image paths resolve against ``image_root`` (default: the table's folder)."""
    label_cols = list(label_cols or [])
    optional = [c for c in (id_col, subject_col, split_col, impression_col) if c]
    df = read_table(table, [image_col, text_col, *label_cols, *optional], "image-text table")
    root = image_root or table.parent
    records = []
    # without an id column a sample is named after where it is: its CSV line (the header is line 1), or its
    # 1-based Parquet row, so an error about ``line0000006`` points at line 6 of the file
    prefix, first = ("row", 1) if table.suffix == ".parquet" else ("line", 2)
    for i, row in enumerate(df.to_dict("records")):
        sample_id = str(row[id_col]) if id_col else f"{prefix}{i + first:07d}"
        image = Path(str(row[image_col]))
        text = row[text_col]
        impression = row[impression_col] if impression_col else None
        records.append(
            SampleRecord(
                sample_id=sample_id,
                subject_id=str(row[subject_col]) if subject_col else sample_id,
                study_id=sample_id,
                image_path=image if image.is_absolute() else root / image,
                findings=None if text is None or str(text) == "nan" else str(text),
                impression=None if impression is None or str(impression) == "nan" else str(impression),
                labels=[to_label(row[c]) for c in label_cols],
                split=str(row[split_col]) if split_col and str(row[split_col]) != "nan" else None,
            )
        )
    names = [c.lower().replace(" ", "_") for c in label_cols]
    return records, names
