"""The radiology report of a sample: findings and impression, assembled from phrase tables.

One sentence per present finding (from its module's tables, in reading order: devices,
lungs, pleura, heart, bones), then the negations, so the mention of every label is
unambiguous: present findings are stated with side and size, hedged ones carry a hedge
cue ("possible", "may represent", "cannot be excluded", "borderline"), negated ones
start with "No". The words come from a per-sample ``random.Random`` stream; the order in
which it is drawn (listed below) is part of the output's definition.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from curriclip.data.synthetic.codes import (
    ATELECTASIS,
    CARDIOMEGALY,
    CONSOLIDATION,
    DEVICES,
    EDEMA,
    EFFUSION,
    FRACTURE,
    NODULE,
    PNEUMOTHORAX,
)
from curriclip.data.synthetic.findings import ALL
from curriclip.data.synthetic.findings.base import Choice, pick
from curriclip.data.synthetic.params import Params

PREAMBLES = {
    "AP": (
        "Portable AP view of the chest.",
        "Single portable AP chest radiograph.",
        "AP upright view of the chest.",
        "",
    ),
    "PA": ("PA view of the chest.", "Frontal view of the chest.", "", ""),
}
#: Findings sentences are written (and their words drawn) in this order.
READING_ORDER = (DEVICES, CONSOLIDATION, EDEMA, NODULE, ATELECTASIS, EFFUSION, PNEUMOTHORAX, CARDIOMEGALY, FRACTURE)
#: Negation words are drawn in this order, and written in the next one.
NEGATION_DRAW_ORDER = (
    EFFUSION,
    PNEUMOTHORAX,
    CONSOLIDATION,
    EDEMA,
    NODULE,
    ATELECTASIS,
    CARDIOMEGALY,
    FRACTURE,
    DEVICES,
)
NEGATION_WRITE_ORDER = (
    CONSOLIDATION,
    EFFUSION,
    PNEUMOTHORAX,
    EDEMA,
    NODULE,
    ATELECTASIS,
    CARDIOMEGALY,
    FRACTURE,
    DEVICES,
)
#: Both pleural negations in one sentence, with this probability.
PLEURAL_NEGATION = (0.6, ("No pleural effusion or pneumothorax.", "No effusion or pneumothorax."))
#: Without a lung finding, "the lungs are clear" with this probability.
CLEAR_LUNGS = (0.7, ("The lungs are clear.", "Lungs are clear.", "The lungs are well expanded and clear."))
NOTHING_ELSE = "The visualized upper abdomen is unremarkable."  # when nothing was stated or negated
NO_ACUTE_PROCESS = (
    "No acute cardiopulmonary process.",
    "No acute cardiopulmonary abnormality.",
    "No acute intrathoracic process.",
)
#: After a rib fracture the impression says there is no pneumothorax (when negated) with this probability.
FRACTURE_WITHOUT_PNEUMOTHORAX = (0.7, "No pneumothorax.")


def fill(rng: random.Random, choice: Choice, words: Mapping[str, object]) -> str:
    """A template from ``choice`` (drawn if several) with ``words`` filled in."""
    return pick(rng, choice).format_map(words)


def write_report(p: Params, i: int) -> tuple[str, str]:
    """(findings, impression) of sample ``i`` of the chunk; both agree with its labels."""
    rng = random.Random(int(p.text_seed[i]))
    preamble = pick(rng, PREAMBLES["AP" if p.ap[i] else "PA"])
    sentences, impressions = _mentions(p, i, rng)
    negations = _negations(p, i, rng)

    parts = [preamble, *sentences]
    in_lungs = any(p.present[i, finding.index] for finding in ALL if finding.in_lungs)
    probability, clear = CLEAR_LUNGS
    if not in_lungs and rng.random() < probability:
        parts.append(pick(rng, clear))
    parts += negations
    if not sentences and not negations:
        parts.append(NOTHING_ELSE)
    findings = " ".join(part for part in parts if part)

    acute = any(p.present[i, finding.index] for finding in ALL if finding.acute)
    probability, no_pneumothorax = FRACTURE_WITHOUT_PNEUMOTHORAX
    if not acute:
        impressions.append(pick(rng, NO_ACUTE_PROCESS))
    elif p.negated[i, PNEUMOTHORAX] and p.present[i, FRACTURE] and rng.random() < probability:
        impressions.append(no_pneumothorax)
    return findings, " ".join(impressions)


def _mentions(p: Params, i: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Sentences and impressions of the present findings, in reading order."""
    sentences: list[str] = []
    impressions: list[str] = []
    for index in READING_ORDER:
        finding = ALL[index]
        if not p.present[i, index]:
            continue
        mention = finding.mention(p, i, rng)
        if mention is None:  # stated together with another finding
            continue
        sentences += [fill(rng, finding.sentences[key], mention.words) for key in mention.sentences]
        impressions.append(fill(rng, finding.impressions[mention.impression], mention.words))
    return sentences, impressions


def _negations(p: Params, i: int, rng: random.Random) -> list[str]:
    """The negation sentences of the negated findings, in writing order."""
    negated = p.negated[i]
    written: dict[int, str] = {}
    probability, pleural = PLEURAL_NEGATION
    paired = negated[EFFUSION] and negated[PNEUMOTHORAX] and rng.random() < probability
    if paired:
        written[EFFUSION] = pick(rng, pleural)
    for index in NEGATION_DRAW_ORDER:
        if negated[index] and not (paired and index in (EFFUSION, PNEUMOTHORAX)):
            written[index] = pick(rng, ALL[index].negation)
    return [written[index] for index in NEGATION_WRITE_ORDER if index in written]
