"""Ingested samples before they become Arrow rows, and the checks every ingester shares.

An ingester turns a source layout into ``SampleRecord``s (paths and text, no pixels);
``validate_records`` then finds the bad ones (missing or corrupt images, empty reports,
duplicate ids, unknown label values, patients in several splits) and either fails with
the first offenders' ids — never their report text or pixels, which may be credentialed —
or, with ``skip_bad``, drops them and says how many.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from curriclip.data.schema import SPLITS
from curriclip.errors import DataError

#: Accepted label values in the CheXpert encoding (None = not mentioned).
LABEL_VALUES = {1.0, 0.0, -1.0}


@dataclass
class SampleRecord:
    sample_id: str
    subject_id: str
    study_id: str
    image_path: Path
    findings: str | None
    impression: str | None
    labels: list[float | None] = field(default_factory=list)
    split: str | None = None
    view: str | None = None


@dataclass
class IngestReport:
    """What validation dropped (with --skip-bad), by reason."""

    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        if not self.skipped:
            return f"{self.kept} samples, none skipped"
        parts = ", ".join(f"{n} {reason}" for reason, n in self.skipped.items())
        return f"{self.kept} samples kept; skipped {parts}"


def _first(ids: list[str], k: int = 5) -> str:
    """The first ``k`` distinct ids, a repeated one once with its count (``s1 (x2)``)."""
    counts = Counter(ids)
    distinct = list(counts)
    shown = ", ".join(f"{i} (x{counts[i]})" if counts[i] > 1 else i for i in distinct[:k])
    return shown + (f", ... ({len(distinct)} in all)" if len(distinct) > k else "")


def _empty(text: str | None) -> bool:
    return text is None or not text.strip()


def _label_ok(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value in LABEL_VALUES


def validate_records(
    records: list[SampleRecord],
    source: str,
    skip_bad: bool,
    image_check: Callable[[Path], bool] | None = None,
) -> tuple[list[SampleRecord], IngestReport]:
    """Drop or reject bad records; returns the good ones and what was skipped."""
    report = IngestReport()
    problems: dict[str, list[str]] = {}

    def flag(reason: str, bad: list[SampleRecord]) -> None:
        if bad:
            problems[reason] = [r.sample_id for r in bad]

    counts = Counter(r.sample_id for r in records)
    flag("rows with duplicate sample ids", [r for r in records if counts[r.sample_id] > 1])
    flag("missing images", [r for r in records if not r.image_path.is_file()])
    flag("empty reports", [r for r in records if _empty(r.findings) and _empty(r.impression)])
    flag("unknown label values", [r for r in records if not all(_label_ok(v) for v in r.labels)])
    flag(
        f"unknown split values (allowed: {', '.join(SPLITS)})",
        [r for r in records if r.split is not None and r.split not in SPLITS],
    )
    if image_check is not None:
        present = [r for r in records if r.image_path.is_file()]
        flag("corrupt images", [r for r in present if not image_check(r.image_path)])

    splits_of: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if r.split:
            splits_of[r.subject_id].add(r.split)
    leaking = sorted(s for s, splits in splits_of.items() if len(splits) > 1)

    if problems or leaking:
        if not skip_bad:
            if leaking:
                raise DataError(f"{source}: patients in more than one split: {_first(leaking)}")
            reason, ids = next(iter(problems.items()))
            others = f" (also: {', '.join(r for r in problems if r != reason)})" if len(problems) > 1 else ""
            raise DataError(f"{source}: {len(ids)} {reason}: {_first(ids)}{others}; --skip-bad skips such rows")
        bad_ids = {i for ids in problems.values() for i in ids}
        bad_ids |= {r.sample_id for r in records if r.subject_id in set(leaking)}
        report.skipped = {reason: len(ids) for reason, ids in problems.items()}
        if leaking:
            report.skipped["patients in several splits"] = len(leaking)
        records = [r for r in records if r.sample_id not in bad_ids]
    if not records:
        raise DataError(f"{source}: no usable samples")
    if all(r.split is not None for r in records):  # otherwise checked once patients are split
        check_splits(records, source)
    report.kept = len(records)
    return records, report


def check_splits(records: list[SampleRecord], source: str) -> None:
    """Refuse, before any image is decoded, a dataset whose train or test split is empty (every trial reads both)."""
    given = Counter(r.split for r in records)
    empty = [split for split in ("train", "test") if not given[split]]
    if empty:
        raise DataError(
            f"{source}: the {' and '.join(empty)} split{'s are' if len(empty) > 1 else ' is'} empty "
            f"(rows per split: {dict(given)}); every trial trains on train and is scored on test"
        )
