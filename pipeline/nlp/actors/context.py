"""Countries from an agent's context: coordination and the wire dateline.

An agent noun with no country of its own ("police", ---COP) may take one from
around it: a coordinated partner ("Danish media and government" -> DNKGOV) or
the dateline that opens the story ("KABUL (AFP) - Police arrested ..." ->
AFGCOP).
"""

from __future__ import annotations

from spacy.tokens import Doc

from pipeline.nlp.actors.codes import UNKNOWN, ActorCodes
from pipeline.nlp.actors.phrases import ActorMention

_DATELINE_MARKS = frozenset({":", "--", "\u2014", "\u2013", "-"})
_DATELINE_MAX = 10
_NAME_POS = frozenset({"PROPN", "NOUN", "ADJ", "X"})


def dateline_end(doc: Doc) -> int | None:
    """The index of the mark that ends a wire dateline at the start of ``doc``, if any.

    A dateline is a few capitalised names (and commas or an agency in brackets)
    closed by a colon or a dash within the first ``_DATELINE_MAX`` tokens:
    "GAZA CITY, Palestinian Territories:", "KABUL (AFP) -".
    """
    for tok in doc[: _DATELINE_MAX + 1]:
        if tok.text in _DATELINE_MARKS:
            head = doc[: tok.i]
            words = [t for t in head if not t.is_punct]
            if not words or tok.i == 0:
                return None
            if all(t.text[:1].isupper() and t.pos_ in _NAME_POS for t in words):
                return tok.i
            return None
        if tok.is_sent_start and tok.i > 0:
            return None
    return None


def dateline(doc: Doc, mentions: list[ActorMention], codes: ActorCodes) -> list[ActorMention]:
    """A dateline names where the story was filed, not an actor of it.

    "GAZA CITY, Palestinian Territories: Four children were killed ...": the
    places before the colon are dropped as mentions, and an agent of unknown
    country in the dateline's sentence ("children", ---CVL) takes the first
    place's code (PSEGZACVL), as wire-service coders read it.
    """
    end = dateline_end(doc)
    if end is None:
        return mentions
    places = [m for m in mentions if m.end <= end]
    base = next((m.ref.code for m in places if m.ref.country is not None), None)
    if not places:
        return mentions
    sentence_end = doc[end].sent.end if end < len(doc) else end
    out: list[ActorMention] = []
    for mention in mentions:
        if mention.end <= end:
            continue
        ref = mention.ref
        if base is not None and mention.start < sentence_end and ref.code.startswith(UNKNOWN):
            if ref.agent is not None:
                code = codes.combine(base, ref.agent)
                country, agent = codes.parts(code)
                ref = ref.model_copy(update={"code": code, "country": country, "agent": agent})
                mention = ActorMention(mention.start, mention.end, ref)
        out.append(mention)
    return out


def share_country(
    doc: Doc, mentions: list[ActorMention], bases: list[str | None], codes: ActorCodes
) -> list[ActorMention]:
    """Coordinated agents share a country: "Danish media and government" -> DNKGOV."""
    owner: dict[int, int] = {}
    for i, mention in enumerate(mentions):
        for t in range(mention.start, mention.end):
            owner[t] = i
    out = list(mentions)
    for i, mention in enumerate(mentions):
        if not mention.ref.code.startswith(UNKNOWN) or mention.ref.agent is None:
            continue
        head = doc[mention.end - 1]
        partners = [head.head] if head.dep_ == "conj" else []
        partners += [t for t in head.children if t.dep_ == "conj"]
        for partner in partners:
            j = owner.get(partner.i)
            if j is None or j == i or bases[j] is None:
                continue
            base = bases[j]
            assert base is not None
            code = codes.combine(base, mention.ref.agent)
            country, agent = codes.parts(code)
            name = f"{mentions[j].ref.name.rsplit(' ', 1)[0]} {mention.ref.name}"
            out[i] = ActorMention(
                mention.start,
                mention.end,
                mention.ref.model_copy(
                    update={"code": code, "country": country, "agent": agent, "name": name}
                ),
            )
            break
    return out
