"""Article-level coreference: later mentions that take the code of an earlier one.

A later surname ("Wang" after "Chinese Foreign Minister Wang Yi") or a title
with the definite article ("the president" after "President Emmanuel Macron")
takes the code of the earlier full mention, with match ``coref``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from spacy.tokens import Doc

from pipeline.models import ActorRef, Span
from pipeline.nlp.actors.gazetteer import Agent
from pipeline.nlp.actors.phrases import DETERMINERS, ActorMention, Chain, Raw, is_person
from pipeline.nlp.phrases import word_keys

_OTHER_OFFICES = frozenset({"vice", "deputy", "former"})
_NAME_PARTICLES = frozenset(
    {"al", "el", "bin", "ibn", "de", "da", "van", "von", "der", "le", "jr", "mr"}
)


@dataclass(slots=True)
class Coref:
    """What the article has said so far, for surnames and titles."""

    names: dict[str, tuple[int, ActorRef]] = field(default_factory=dict)
    titles: dict[str, ActorRef] = field(default_factory=dict)


def remember(
    doc: Doc,
    chain: Chain,
    primary: Raw | None,
    agent: Agent | None,
    ref: ActorRef,
    day: date | None,
    coref: Coref,
) -> None:
    """Note the names and titles of a coded chain for the mentions that follow."""
    person: tuple[int, int] | None = chain.person_tokens
    if primary is not None and is_person(doc, primary):
        person = (primary.start, primary.end)
    if person is None:
        return
    # Any part of the name may come back alone: the surname ("Blinken") or,
    # with family names first, the first token ("Wang" of "Wang Yi").
    tokens = [
        t
        for t in doc[person[0] : person[1]]
        if (t.pos_ == "PROPN" or t.is_title)
        and len(t.text.rstrip(".")) > 1
        and t.lower_ not in _NAME_PARTICLES
    ]
    for n, token in enumerate(reversed(tokens)):
        for key in word_keys(token.text):
            if n == 0 or key not in coref.names:
                coref.names[key] = (person[1], ref)
    if agent is not None and agent.title:
        coref.titles[agent.name] = ref
    if primary is not None and primary.hit.actor is not None:
        title = primary.hit.actor.title_on(day)
        if title is not None:
            coref.titles[title] = ref


def title_coref(doc: Doc, chain: Chain, agent: Agent, coref: Coref) -> ActorRef | None:
    """The earlier holder of a title said again with "the" ("the president"), if any.

    A one-word title also finds a longer one that ends in it, when only one
    actor held such a title: "the minister" after "Foreign Minister Wang Yi",
    "the secretary" after "Defense Secretary Lloyd Austin". "Vice" and
    "deputy" titles are other offices and are not found so.
    """
    if not agent.title or chain.start == 0:
        return None
    if doc[chain.start - 1].lower_ not in DETERMINERS:
        return None
    found = coref.titles.get(agent.name)
    if found is not None or " " in agent.name:
        return found
    holders = {
        ref.code: ref
        for title, ref in coref.titles.items()
        if title.split()[-1] == agent.name and title.split()[0] not in _OTHER_OFFICES
    }
    return next(iter(holders.values())) if len(holders) == 1 else None


def surname_mentions(doc: Doc, coref: Coref, taken: set[int]) -> Iterator[ActorMention]:
    """Later parts of names said in full earlier: "Wang" after "Wang Yi"."""
    if not coref.names:
        return
    for token in doc:
        if token.i in taken or token.pos_ != "PROPN" or token.ent_type_ in ("GPE", "NORP"):
            continue
        keys = word_keys(token.text)
        if len(keys) != 1 or keys[0] not in coref.names:
            continue
        after, ref = coref.names[keys[0]]
        if token.i < after:
            continue
        span = Span(start=token.idx, end=token.idx + len(token.text))
        yield ActorMention(
            token.i,
            token.i + 1,
            ref.model_copy(update={"text": token.text, "span": span, "match": "coref"}),
            person=True,
        )


def abbreviation_mentions(
    doc: Doc, mentions: list[ActorMention], taken: set[int]
) -> Iterator[ActorMention]:
    """Later uses of an abbreviation the article defines for an actor.

    "the Sudanese Liberation Movement (SLM)" makes a later "SLM" the same actor,
    with match ``alias``; the abbreviation in brackets itself is not another
    mention.
    """
    defined: dict[str, tuple[int, ActorRef]] = {}
    for mention in mentions:
        end = mention.end
        if mention.person or end + 2 >= len(doc):
            continue
        opening, short, closing = doc[end], doc[end + 1], doc[end + 2]
        if opening.text == "(" and closing.text == ")" and _is_abbreviation(short.text):
            defined.setdefault(short.text, (end + 3, mention.ref))
    if not defined:
        return
    for token in doc:
        found = defined.get(token.text)
        if found is None or token.i < found[0] or token.i in taken:
            continue
        span = Span(start=token.idx, end=token.idx + len(token.text))
        update = {"text": token.text, "span": span, "match": "alias"}
        yield ActorMention(token.i, token.i + 1, found[1].model_copy(update=update))


def _is_abbreviation(text: str) -> bool:
    """Two to eight capitals, digits allowed after the first: "SLM", "JEM", "G20"."""
    return 2 <= len(text) <= 8 and text[0].isupper() and text.isupper() and text.isalnum()
