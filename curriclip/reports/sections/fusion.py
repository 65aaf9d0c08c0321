"""Fusion: the top K trials fused by hierarchical majority vote / STAPLE (BRATS), when ``curriclip fuse`` ran.

One row per fusion (K, method): the fused per-case Dice per region and alignment metrics, marked
where the fusion is better than the best member (interval over cases excluding zero), and which
trial was best on which region; the figure (``figures.fusion``) puts every member beside the
inter-rater floor. Read from ``fusion.json``, which ``curriclip fuse`` writes.
"""

from __future__ import annotations

import json

from curriclip.names import RunFile

from ..blocks import Cell, Column, Plot, Table, cell, num, text
from ..results import Results
from . import Section


def _row(fusion: dict) -> list[Cell]:
    regions = list(fusion["best_trial_per_region"])
    above = fusion["fusion_above_every_trial"]
    columns = [f"dice_{r}" for r in regions] + ["clip_score", "clip_score_gap", "i2t_r1"]
    shown = [
        num(fusion["fusion"][c], ".3f", "better" if above.get(c) else "") for c in columns if c in fusion["fusion"]
    ]
    best = ", ".join(f"{region}: {trial}" for region, trial in fusion["best_trial_per_region"].items())
    everywhere = ", ".join(fusion["one_trial_best_on_all_regions"]) or "none"
    return [num(fusion["top_k"], "d"), cell(fusion["method"]), *shown, cell(best), cell(everywhere)]


def blocks(results: Results) -> list:
    from ..figures.fusion import draw

    path = results.run_dir / RunFile.FUSION_SUMMARY
    try:
        section = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (ValueError, UnicodeDecodeError):
        results.notes.append(f"{path}: unreadable; run `curriclip fuse` again to rewrite it")
        section = None
    if not section or not section.get("fusions"):
        return []
    first = section["fusions"][0]
    regions = list(first["best_trial_per_region"])
    labels = ["K", "method", *(f"fused Dice {r}" for r in regions), "fused CLIP score", "fused gap", "fused R@1"]
    columns = [Column(label, numeric=i == 0 or i >= 2) for i, label in enumerate(labels)]
    columns += [Column("best single trial per region"), Column("one trial best on all regions")]
    floor = ", ".join(f"{r} {v:.3f}" for r, v in first["floor"].items() if v == v) or "no rater masks"
    return [
        text(
            "Members selected by {selection}. A fused Dice is marked when it is better than the best member "
            "(paired over test cases, interval excluding zero). Rater floor (rater vs consensus): {floor}.",
            selection=first["selection"],
            floor=floor,
        ),
        Table(columns, [_row(fusion) for fusion in section["fusions"]], css="answer"),
        Plot(draw(section)),
    ]


SECTION = Section("fusion", "Fusion", "Fusion of the best trials (BRATS)", blocks, optional=True)
