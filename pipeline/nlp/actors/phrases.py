"""Phrases of a doc: the gazetteer's matches (scan) and the noun phrases they form (chain).

Step 1, :func:`scan`: the longest match of every phrase over the tokens' keys
(see :func:`pipeline.nlp.actors.dictionaries.word_keys`), left to right, so
"U.S.-led", "China's" and "Palestinians" meet their entries.

Step 2, :func:`chain`: mentions in one noun phrase are chained: a country or
demonym before an agent noun ("Russian military" -> RUSMIL), a title before a
name ("Secretary of State Antony Blinken" -> the person's code), an agent with
a following "of/in/from <country>" ("lawmakers in Ukraine" -> UKRLEG).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from spacy.tokens import Doc

from pipeline.models import ActorRef
from pipeline.nlp.actors.gazetteer import Hit
from pipeline.nlp.phrases import PhraseIndex, word_keys

_POSSESSIVE = frozenset({"'s", "'", "\u2019s", "\u2019", "s"})
_FILLER_POS = frozenset({"ADJ", "NOUN", "PROPN", "NUM"})
_LINK_PREPS = frozenset({"of", "in", "from"})
DETERMINERS = frozenset({"the"})
_MAX_FILLER = 3


@dataclass(frozen=True, slots=True)
class ActorMention:
    """One coded actor mention: tokens ``[start, end)`` of the doc and its reference.

    ``person`` says that the mention names one person (a curated office-holder,
    a name, a title), which pronouns such as "he" may refer to.
    """

    start: int
    end: int
    ref: ActorRef
    person: bool = False


@dataclass(slots=True)
class Raw:
    """A phrase found in the doc, in token indices."""

    start: int
    end: int
    hit: Hit
    as_agent: bool = False

    @property
    def is_actor(self) -> bool:
        """Whether this phrase is read as an actor here."""
        return self.hit.actor is not None and not self.as_agent

    @property
    def is_agent(self) -> bool:
        """Whether this phrase is read as an agent here."""
        return self.hit.agent is not None and (self.as_agent or self.hit.actor is None)


@dataclass(slots=True)
class Chain:
    """Mentions of one noun phrase, resolved together."""

    parts: list[Raw]
    start: int
    end: int
    person_tokens: tuple[int, int] | None = None
    extra_actor: Raw | None = None

    @property
    def actors(self) -> list[Raw]:
        """The chain's actor phrases, a prepositional one ("in Ukraine") last."""
        found = [p for p in self.parts if p.is_actor]
        if self.extra_actor is not None:
            found.append(self.extra_actor)
        return found

    @property
    def agents(self) -> list[Raw]:
        """The chain's agent phrases in order."""
        return [p for p in self.parts if p.is_agent]


def person_spans(doc: Doc) -> list[tuple[int, int] | None]:
    """For each token, the PERSON entity it is part of."""
    spans: list[tuple[int, int] | None] = [None] * len(doc)
    for ent in doc.ents:
        if ent.label_ == "PERSON":
            for i in range(ent.start, ent.end):
                spans[i] = (ent.start, ent.end)
    return spans


# --------------------------------------------------------------------------- step 1: scan


def scan(doc: Doc, index: PhraseIndex[Hit]) -> Iterator[Raw]:
    """Yield the phrases of ``index`` found in ``doc``, longest match first, left to right."""
    keys: list[str] = []
    key_token: list[int] = []
    token_first: list[bool] = []
    for token in doc:
        for j, key in enumerate(word_keys(token.text)):
            keys.append(key)
            key_token.append(token.i)
            token_first.append(j == 0)
    person = person_spans(doc)
    pos = 0
    while pos < len(keys):
        if not token_first[pos]:
            pos += 1
            continue
        found = None
        for match in index.matches(keys, pos):
            start = key_token[match.start]
            end = key_token[match.end - 1] + 1
            if _acceptable(doc, start, end, match.value, person):
                found = Raw(start, end, match.value)
                pos = match.end
                break
        if found is None:
            pos += 1
            continue
        # A match that ends inside a token ("U.S." of "U.S.-led") still takes the
        # whole token; skip the token's remaining keys.
        while pos < len(keys) and not token_first[pos]:
            pos += 1
        yield found


def _acceptable(
    doc: Doc, start: int, end: int, hit: Hit, person: list[tuple[int, int] | None]
) -> bool:
    span = doc[start:end]
    if any(token.is_sent_start for token in span[1:]):
        return False
    if hit.actor is None:
        return True
    if not any(ch.isupper() for token in span for ch in token.text):
        return False
    if end - start == 1:
        token = doc[start]
        letters = token.text.replace(".", "")
        if len(letters) <= 3 and not letters.isupper():
            return False
    # A place or group name inside a longer person's name ("Michael Jordan").
    name = person[start]
    if name is not None and not hit.actor.person and end <= name[1]:
        return name == (start, end)
    return True


# --------------------------------------------------------------------------- step 2: chain


def chain(doc: Doc, raws: list[Raw]) -> list[Chain]:
    """Group the phrases of one noun phrase into chains, resolved together later."""
    chains: list[Chain] = []
    for raw in raws:
        if raw.hit.kind == "block":
            continue
        if chains and _linkable(doc, chains[-1], raw):
            last = chains[-1]
            last.parts.append(raw)
            last.end = raw.end
        else:
            chains.append(Chain([raw], raw.start, raw.end))
    merged: list[Chain] = []
    for current in chains:
        if merged and _prepositional(doc, merged[-1], current):
            merged[-1].extra_actor = current.parts[0]
            merged[-1].end = current.end
            continue
        merged.append(current)
    for current in merged:
        _absorb_name(doc, current)
    return merged


def is_person(doc: Doc, raw: Raw) -> bool:
    """Whether a phrase names a person: a curated one or a PERSON entity."""
    if raw.hit.actor is not None and raw.hit.actor.person:
        return True
    return any(token.ent_type_ == "PERSON" for token in doc[raw.start : raw.end])


def _linkable(doc: Doc, chain: Chain, raw: Raw) -> bool:
    last = chain.parts[-1]
    gap = doc[chain.end : raw.start]
    if len(gap) > _MAX_FILLER or doc[raw.start].is_sent_start:
        return False
    for token in gap:
        if token.text.lower() in _POSSESSIVE or token.text == "-":
            continue
        if token.pos_ not in _FILLER_POS or token.ent_type_ in ("GPE", "NORP"):
            return False
    has_actor = bool(chain.actors)
    if raw.hit.agent is not None and (raw.hit.actor is None or has_actor):
        # "the Russian foreign minister", "Foreign Ministry spokesman", "Rwanda's Senate".
        raw.as_agent = True
        return True
    # raw is an actor.
    if is_person(doc, raw):
        # A name joins only right after its title or a possessive ("Russia's Lavrov").
        if any(token.text.lower() not in _POSSESSIVE for token in gap):
            return False
        return last.is_agent or not any(is_person(doc, p) for p in chain.actors)
    if last.is_agent and not has_actor and not gap and last.hit.agent is not None:
        # "MSF Arnor": an agent right before a country.
        return last.hit.agent.prefix
    return False


def _prepositional(doc: Doc, left: Chain, right: Chain) -> bool:
    """``lawmakers in Ukraine``: an agent-only chain, a preposition, a lone actor."""
    if left.actors or len(right.parts) != 1 or not right.parts[0].is_actor:
        return False
    actor = right.parts[0]
    if actor.hit.actor is None or actor.hit.actor.person:
        return False
    gap = [t for t in doc[left.end : right.start]]
    if not gap or len(gap) > 2 or gap[0].lower_ not in _LINK_PREPS:
        return False
    # Troops "in" a country are as often foreign troops as its own.
    agents = left.agents
    if gap[0].lower_ == "in" and agents and agents[-1].hit.agent is not None:
        if agents[-1].hit.agent.code.startswith("MIL"):
            return False
    if len(gap) == 2 and gap[1].lower_ not in DETERMINERS:
        return False
    after = right.end
    # "Opponents of Rwanda's Senate": the country belongs to what follows.
    if after < len(doc) and doc[after].text.lower() in _POSSESSIVE:
        return False
    return not doc[right.start].is_sent_start


def _absorb_name(doc: Doc, chain: Chain) -> None:
    """Take an unknown person's name after a title into the chain's span."""
    last = chain.parts[-1]
    if not last.is_agent or chain.end != last.end:
        return
    end = chain.end
    while end < len(doc) and doc[end].ent_type_ == "PERSON" and doc[end].pos_ == "PROPN":
        end += 1
    if end > chain.end:
        chain.person_tokens = (chain.end, end)
        chain.end = end
