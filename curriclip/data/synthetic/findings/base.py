"""What every finding module declares: its difficulty, report behaviour and phrases.

Why data: a report sentence is a template from a phrase table filled with a few
words the finding computes (side, lobe, size); the report writer does the choosing
and the assembling for every finding alike, so a finding's wording lives in one table
and its drawing in one function of its module.

Phrase tables hold a :data:`Choice`: a ``str`` is used as it is; a ``tuple`` is a set of
alternatives of which the report's random stream picks one (even a 1-tuple draws a
number: the generator's output depends on it).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from curriclip.data.synthetic.params import Params

Choice = str | tuple[str, ...]


def cap(text: str) -> str:
    """``text`` with its first letter upper-case (the rest unchanged)."""
    return text[0].upper() + text[1:]


def article(word: str) -> str:
    """The indefinite article for ``word`` ("An 8 mm", "A 12 mm", "An 11 mm")."""
    vowel = word[0].lower() in "aeiou8" or word.split(" ")[0] in ("11", "18")
    return "An" if vowel else "A"


def pick(rng: random.Random, choice: Choice) -> str:
    """``choice`` itself if a string, else one of its alternatives drawn from ``rng``."""
    return choice if isinstance(choice, str) else rng.choice(choice)


@dataclass(frozen=True)
class Mention:
    """How a present finding is written up: which sentence and impression tables to
    draw from, and the words that fill their templates."""

    sentences: tuple[str, ...]  # keys of Finding.sentences, one sentence each, in order
    impression: str  # key of Finding.impressions
    words: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, variant: str, **words: object) -> Mention:
        """One sentence and the impression, both from the tables' ``variant`` entry."""
        return cls((variant,), variant, words)


@dataclass(frozen=True)
class Finding:
    """One finding's declaration (its drawing is the module's ``draw`` function)."""

    index: int  # position in FINDINGS
    #: How hard the finding is to see at all (1 = hardest), at mild severity.
    hardness: float
    #: P(the report hedges on a present, mild finding), P(it negates an absent one).
    hedge_probability: float
    negate_probability: float
    #: Side codes it may have; () for none, (BILATERAL,) when always bilateral.
    sides: tuple[int, ...]
    in_lungs: bool  # counts against "the lungs are clear"
    acute: bool  # counts against "no acute cardiopulmonary process"
    sentences: Mapping[str, Choice]
    impressions: Mapping[str, Choice]
    negation: Choice
    #: The words of a present finding's mention; may draw from the report's stream.
    mention: Callable[[Params, int, random.Random], Mention | None]
