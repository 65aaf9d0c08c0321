"""One sample with chosen findings, for illustration and tests (:func:`render_case`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from curriclip.data.synthetic.codes import BILATERAL, CVC, DEVICES, ETT, FINDINGS, NGT, NO_SIDE, SEVERITIES, SIDES
from curriclip.data.synthetic.difficulty import difficulty
from curriclip.data.synthetic.findings import ALL
from curriclip.data.synthetic.generator import labels
from curriclip.data.synthetic.params import Params
from curriclip.data.synthetic.render import render
from curriclip.data.synthetic.report import write_report
from curriclip.data.synthetic.sampling import sample_params


@dataclass(frozen=True)
class Case:
    """One rendered sample of :func:`render_case`."""

    image: np.ndarray  # (H, W) uint8
    findings: str
    impression: str
    labels: list[int | None]  # CheXpert encoding, in FINDINGS order
    difficulty: float
    masks: np.ndarray  # (len(FINDINGS), H, W) bool: where each finding is drawn (all False if absent)


def render_case(
    findings: Mapping[str, str | tuple[str, str]] | None = None,
    image_size: int = 128,
    seed: int = 0,
    view: str = "PA",
) -> Case:
    """Render one sample with chosen findings, for illustration and tests.

    ``findings`` maps a finding name to a severity (``"mild" | "moderate" |
    "large"``) or to ``(severity, side)`` with side ``"right" | "left" |
    "bilateral"`` (the patient's side; default right, edema always bilateral).
    Anatomy, exposure and noise come from ``seed`` alone, so two calls with the same
    seed differ only where the findings differ: exactly what is needed to see (or
    test) what a finding does to the image. The report states every requested
    finding (never hedged) and negates all others.
    """
    findings = dict(findings or {})
    if view not in ("PA", "AP"):
        raise ValueError(f"view must be 'PA' or 'AP', got {view!r}")
    p = sample_params(seed, 0, np.zeros(1, dtype=np.int64))
    p.ap[:] = view == "AP"
    p.present[:] = False
    p.uncertain[:] = False
    for name, spec in findings.items():
        _set_finding(p, name, spec)
    p.negated[:] = ~p.present
    p.devices[:] = (ETT | NGT | CVC) if p.present[0, DEVICES] else 0
    images, masks = render(p, image_size)
    text, impression = write_report(p, 0)
    return Case(images[0], text, impression, labels(p).to_pylist()[0], float(difficulty(p)[0]), masks[0])


def _set_finding(p: Params, name: str, spec: str | tuple[str, str]) -> None:
    """Makes finding ``name`` present in the single-sample ``p`` with the requested severity and side."""
    if name not in FINDINGS:
        raise ValueError(f"unknown finding {name!r}; expected one of {FINDINGS}")
    sev, sd = (spec, None) if isinstance(spec, str) else spec
    if sev not in SEVERITIES:
        raise ValueError(f"{name}: severity must be one of {SEVERITIES}, got {sev!r}")
    f = FINDINGS.index(name)
    allowed = ALL[f].sides
    if not allowed:
        side = NO_SIDE
    elif allowed == (BILATERAL,):
        side = BILATERAL
    else:
        side = SIDES.index(sd or "right")
        if side not in allowed:
            raise ValueError(f"{name}: side must be 'right' or 'left'")
    p.present[0, f] = True
    p.severity[0, f] = SEVERITIES.index(sev)
    p.side[0, f] = side
