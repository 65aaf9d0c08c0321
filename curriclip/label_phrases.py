"""Finding labels rendered as a short text, so the text tower can learn from labelled images without reports.

Label-rich, report-poor data (many CheXpert-style labelled images, few reports) leaves the
text tower with only the few reports to learn the finding vocabulary from. Rendering each
image's labels as text (the way CXR-CLIP turns image-label data into image-text pairs) gives
it every labelled image. Present findings are stated ("pleural effusion."), uncertain ones
hedged ("possible edema."), in label order; negative and not-mentioned findings are left out
alike, because the image looks the same for both (whether a report negates a finding is the
writer's choice), so the text is a function of what the image shows. A row with mentions but
no present or uncertain finding reads "no finding."; a row with no mention at all renders as
"" (nothing to learn from).

It sits below ``data`` (which renders the texts into batches) and ``metrics`` (whose zero-shot
prompts word a label the same way), so both spell a finding one way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: How each label value is worded: 1 positive, -1 uncertain (the dataset schema's encoding); 0 is left out.
WORDING = {1.0: "{finding}.", -1.0: "possible {finding}."}
#: The text of a labelled image with nothing present or uncertain.
NO_FINDING = "no finding."


def finding_phrase(label_name: str) -> str:
    """The words of a label name (``pleural_effusion`` -> ``pleural effusion``)."""
    return label_name.replace("_", " ").strip().lower()


def label_sentences(labels: torch.Tensor, label_names: Sequence[str]) -> list[str]:
    """One text per row of ``labels`` (N, K): a sentence per present or uncertain finding, in label order."""
    if labels.ndim != 2 or labels.shape[1] != len(label_names):
        raise ValueError(f"labels {tuple(labels.shape)} do not have one column per label name ({len(label_names)})")
    phrases = [finding_phrase(name) for name in label_names]
    texts = []
    for row in labels.tolist():
        words, mentioned = [], False
        for value, phrase in zip(row, phrases):
            if math.isnan(value):
                continue
            mentioned = True
            if value == 0.0:
                continue
            if value not in WORDING:
                raise ValueError(f"label value {value} of {phrase!r} is not 1, 0, -1 or null")
            words.append(WORDING[value].format(finding=phrase))
        texts.append(" ".join(words) if words else NO_FINDING if mentioned else "")
    return texts
