"""Report sections from free-text radiology reports (MIMIC-CXR style).

MIMIC-CXR reports are free text with upper-case section headers ("FINDINGS:",
"IMPRESSION:", sometimes "CONCLUSION:" or "FINDINGS AND IMPRESSION:"). Only FINDINGS and
IMPRESSION describe the image; history, indication, comparison and technique are
dropped, because they leak information that is not in the pixels.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*([A-Z][A-Z /&]{2,40}):", re.MULTILINE)
_FINDINGS = {"FINDINGS", "FINDING", "FINDINGS AND IMPRESSION", "FINDINGS/IMPRESSION"}
_IMPRESSION = {"IMPRESSION", "IMPRESSIONS", "CONCLUSION", "CONCLUSIONS", "SUMMARY"}


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def split_sections(report: str) -> tuple[str | None, str | None]:
    """(findings, impression) of a free-text report; None for a section that is absent."""
    headers = list(_HEADER.finditer(report))
    findings: list[str] = []
    impression: list[str] = []
    for i, match in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(report)
        body = _clean(report[match.end() : end])
        name = match.group(1).strip()
        if name in _FINDINGS and body:
            findings.append(body)
        elif name in _IMPRESSION and body:
            impression.append(body)
    return (" ".join(findings) or None, " ".join(impression) or None)
