"""Ingesters: real dataset layouts -> curriclip's Arrow schema (one registry entry and CLI command each)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from curriclip.data.ingest.images import readable
from curriclip.data.ingest.records import IngestReport, SampleRecord, validate_records
from curriclip.data.ingest.write import write_records
from curriclip.registry import Registry

#: name -> reader(**kwargs) -> (records, label_names)
INGESTERS = Registry("ingester", "ingesters")
INGESTERS.lazy("mimic-cxr", "curriclip.data.ingest.mimic_cxr:read_mimic_cxr")
INGESTERS.lazy("iu-xray", "curriclip.data.ingest.iu_xray:read_iu_kaggle")
INGESTERS.lazy("iu-xray-r2gen", "curriclip.data.ingest.iu_xray:read_iu_r2gen")
INGESTERS.lazy("csv", "curriclip.data.ingest.table:read_image_text_table")
INGESTERS.lazy("brats", "curriclip.data.brats.ingest:ingest_brats")  # writes itself: -> (path, counts)


def ingest(
    reader: Callable[..., tuple[list[SampleRecord], list[str]]],
    out: Path,
    image_size: int,
    source: str,
    skip_bad: bool = False,
    use_ray: bool | None = None,
    **kwargs,
) -> tuple[Path, IngestReport]:
    """Read, validate (ids only in errors), decode and write a dataset atomically."""
    records, label_names = reader(**kwargs)
    where = str(kwargs.get("table") or source)  # errors name the user's file where there is one
    records, report = validate_records(records, where, skip_bad, image_check=readable)
    path = write_records(records, out, label_names, image_size, source, report, use_ray=use_ray)
    return path, report


__all__ = ["INGESTERS", "IngestReport", "SampleRecord", "ingest", "validate_records"]
