"""The event coder's working state: actor mentions, arguments, event frames, the doc.

Plain data shared by the coder's parts (:mod:`frames`, :mod:`arguments`,
:mod:`targets`, :mod:`coder`); no behaviour beyond bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from spacy.tokens import Doc

from pipeline.models import ActorRef, Modality
from pipeline.nlp.events.patterns import Pattern


def same_actor(a: ActorRef, b: ActorRef) -> bool:
    """True when two codes name one actor: equal, or a state and its government.

    CAMEO codes a state acting as such either way ("China", "Beijing", "the
    Chinese government"), so "Biden's aides raised Washington's concerns" has
    no USA -> USAGOV event; a state and another of its sectors are two actors
    (USAGOV -> USAOPP, CHN -> CHNCVL).
    """
    if a.code == b.code:
        return True
    country = a.country
    if country is None or country != b.country:
        return False
    return {a.code, b.code} == {country, country + "GOV"}


class Mention(Protocol):
    """What the coder needs from an actor mention (``pipeline.nlp.actors.coder.ActorMention``)."""

    @property
    def start(self) -> int:
        """First token index (inclusive)."""
        ...

    @property
    def end(self) -> int:
        """Last token index (exclusive)."""
        ...

    @property
    def ref(self) -> ActorRef:
        """The coded actor."""
        ...


@dataclass(frozen=True)
class Derived:
    """An actor the coder infers from other mentions (an agent in a coordinated country)."""

    start: int
    end: int
    ref: ActorRef


@dataclass
class Arg:
    """Actors filling one role, with how they were found."""

    mentions: list[Mention]
    how: str
    token: int | None = None
    via_speech: int | None = None  # index of the reporting verb whose subject a pronoun took
    #: How many of ``mentions`` are the phrase itself; the rest are partners set
    #: beside it ("X, along with Y and Z, signed"), who act with it, not on each other.
    principals: int | None = None


@dataclass
class Frame:
    """An event candidate anchored on one verb (or event noun)."""

    head: int
    code: str
    pattern: Pattern | None
    matched: tuple[int, ...]
    kind: str = "verb"  # verb, noun, speech
    negated: bool = False
    modality: Modality = "asserted"
    source: Arg | None = None
    target: Arg | None = None
    symmetric: bool = False
    consumed: bool = False
    extra: dict[str, int] = field(default_factory=dict)
    inner: Frame | None = None  # the reported or denied event this one is about


@dataclass
class DocState:
    """What the coder knows of the doc while it reads it: mentions by token, the last subject."""

    doc: Doc
    by_token: dict[int, Mention]
    last_subjects: list[Mention] = field(default_factory=list)
    last_speaker: list[Mention] = field(default_factory=list)

    def remember_subjects(self, doc: Doc, start: int, end: int, frames: dict[int, Frame]) -> None:
        """Keep the main subject of a sentence for pronouns in the next one."""
        for i in range(start, end):
            tok = doc[i]
            if tok.dep_ in ("nsubj", "nsubjpass") and tok.head.dep_ == "ROOT":
                if tok.pos_ == "PRON":
                    return  # the antecedent carries over
                mentions = [
                    self.by_token[j]
                    for j in range(tok.left_edge.i, tok.i + 1)
                    if j in self.by_token
                ]
                unique: list[Mention] = []
                for m in mentions:
                    if m not in unique:
                        unique.append(m)
                if unique:
                    self.last_subjects = unique[-1:]
                return
