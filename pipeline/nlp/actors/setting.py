"""The article's setting: its dateline and its dominant country, the last source of a country.

An agent that neither its phrase nor its sentence places takes the country
where the article is set; ``ActorRef.match`` ends in ``+dateline`` or
``+article``:

* the dateline: "KABUL (AFP) - ... Police said ..." -> AFGCOP anywhere in the
  story. In the dateline's own sentence the dateline comes first, before the
  sentence's other countries, as wire-service coders read it ("GAZA CITY,
  Palestinian Territories: Four children were killed ..." -> PSEGZACVL);
* without a dateline, the country the article names most often with a clear
  margin (more mentions than any other, and at least twice the runner-up):
  a story that names Germany, the Bundestag and Berlin and France once gives
  its bare "officials" DEUGOV; one that names Germany and France twice each
  gives nothing. Institutions and cities count for their country ("Scotland
  Yard", "Karachi"); repeated coreferent mentions and context-placed agents
  do not.

An agent with no country anywhere keeps ``---``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Sequence
from dataclasses import dataclass

from spacy.tokens import Doc, Token

from pipeline.nlp.actors.codes import ActorCodes
from pipeline.nlp.actors.context import place, placed_by_text, unplaced
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
            if all(_dateline_word(t) for t in words):
                return tok.i
            return None
        if tok.is_sent_start and tok.i > 0:
            return None
    return None


def _dateline_word(tok: Token) -> bool:
    """A name, or a date's number ("WASHINGTON, Oct 26 (Reuters) -")."""
    return (tok.text[:1].isupper() and tok.pos_ in _NAME_POS) or (
        tok.like_num and tok.ent_type_ == "DATE"
    )


@dataclass(frozen=True, slots=True)
class Dateline:
    """Where a story was filed: the code of its first place and where its sentence ends."""

    code: str
    sentence_end: int


def split_dateline(
    doc: Doc, mentions: list[ActorMention]
) -> tuple[list[ActorMention], Dateline | None]:
    """Drop the dateline's places from the mentions: they say where the story was filed.

    Returns:
        The other mentions and the dateline (None without one, or when its
        places have no country).
    """
    end = dateline_end(doc)
    if end is None:
        return mentions, None
    places = [m for m in mentions if m.end <= end]
    if not places:
        return mentions, None
    rest = [m for m in mentions if m.end > end]
    code = next((m.ref.code for m in places if m.ref.country is not None), None)
    if code is None:
        return rest, None
    sentence_end = doc[end].sent.end if end < len(doc) else end
    return rest, Dateline(code, sentence_end)


def place_in_dateline_sentence(
    mentions: list[ActorMention],
    dateline: Dateline | None,
    codes: ActorCodes,
    skip: Container[int] = (),
) -> list[ActorMention]:
    """Agents of unknown country in the dateline's own sentence take the dateline's place.

    Mentions that start at ``skip`` are left alone.
    """
    if dateline is None:
        return mentions
    return [
        place(m, dateline.code, "dateline", codes)
        if m.start < dateline.sentence_end and unplaced(m) and m.start not in skip
        else m
        for m in mentions
    ]


def dominant_country(mentions: Sequence[ActorMention]) -> str | None:
    """The country the article names most, when it leads the next by a clear margin."""
    counts = Counter(
        m.ref.country for m in mentions if placed_by_text(m) and not m.ref.match.startswith("coref")
    )
    ranked = counts.most_common(2)
    if not ranked:
        return None
    top = ranked[0][1]
    second = ranked[1][1] if len(ranked) > 1 else 0
    if top > second and top >= 2 * second:
        return ranked[0][0]
    return None


def place_by_setting(
    mentions: list[ActorMention],
    dateline: Dateline | None,
    codes: ActorCodes,
    skip: Container[int] = (),
) -> list[ActorMention]:
    """Agents still of unknown country take the dateline's place, else the dominant country.

    Mentions that start at ``skip`` are left alone.
    """
    if not any(unplaced(m) for m in mentions):
        return mentions
    if dateline is not None:
        base, how = dateline.code, "dateline"
    else:
        dominant = dominant_country(mentions)
        if dominant is None:
            return mentions
        base, how = dominant, "article"
    return [
        place(m, base, how, codes) if unplaced(m) and m.start not in skip else m for m in mentions
    ]
