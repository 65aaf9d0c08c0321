"""Multi-label finding classification from the report's text embedding (same label policies)."""

from __future__ import annotations

import torch

from curriclip.tasks.base import StepContext, report_rows
from curriclip.tasks.findings import FindingClassification


class TextFindingClassification(FindingClassification):
    name = "text_findings"
    needs = frozenset({"text", "labels"})
    description = "multi-label finding classification from the text embedding (U-ignore / U-zeros / U-ones)"

    def features(self, ctx: StepContext) -> torch.Tensor:
        return ctx.text_features()

    def usable(self, ctx: StepContext) -> torch.Tensor | None:
        """Only rows with a report (sparsity_mode reports leaves the others' texts blank)."""
        return report_rows(ctx.batch)
