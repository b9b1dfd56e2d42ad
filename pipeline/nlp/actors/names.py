"""Names block their insides: a phrase inside a longer name is no actor of its own.

A gazetteer match can sit inside the name of something else: "USA" in "told
USA Today", "Unions" in "the Civil Unions Act", "Scotland" in "Scotland
Yard", "Tehran" in "the Tehran Times". Such a match is dropped unless the
name itself is an actor, which it is when

* one match is the whole name ("the Associated Press", a media outlet), or
* the name's head word belongs to a match inside it: "the Japan Coast Guard"
  (head "Guard", agent "coast guard" -> JPNMIL), "the Islamabad High Court"
  (PAKJUD), "the Chinese Embassy" (CHNGOV).

Names are spaCy's ORG, WORK_OF_ART, LAW, EVENT, FAC and PRODUCT entities, and
runs of two or more capitalised proper nouns the model left untagged; a run
that ends in a person's name or holds a title ("Prime Minister Brown",
"Foreign Minister Wang Yi") is a title before a name, not a name.

An agent noun used as a modifier of a noun that names no person is no actor
either: "Iran's civilian nuclear programme" has no Iranian civilians, "a
police station" no police, "civilian casualties" no civilians. The modifier
stays an actor before an agent noun ("government troops") or before one of
the nouns that ``agents.toml`` lists under ``[modifiers] heads`` ("rebel
fighters", "opposition supporters", "coast guard vessels").
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Container, Sequence

from spacy.symbols import PROPN
from spacy.tokens import Doc

from pipeline.nlp.actors.phrases import Raw

NAME_LABELS = frozenset({"ORG", "WORK_OF_ART", "LAW", "EVENT", "FAC", "PRODUCT"})
"""spaCy entity labels whose spans are names of things that are not (all) actors."""

_LEADING = frozenset({"the", "a", "an"})
_TRAILING = frozenset({"'s", "'", "\u2019s", "\u2019"})
_MODIFIER_DEPS = frozenset({"amod", "compound"})


def _trimmed(doc: Doc, start: int, end: int) -> tuple[int, int]:
    """A name without its article and possessive: "the Associated Press's" -> "Associated Press"."""
    while start < end and doc[start].lower_ in _LEADING:
        start += 1
    while end > start and doc[end - 1].lower_ in _TRAILING:
        end -= 1
    return start, end


def _capitalised(doc: Doc) -> list[bool]:
    """For each token, whether it is a capitalised proper noun ("Karachi", "USA").

    Read from attribute arrays, not Token objects: this looks at every token.
    """
    rows = doc.to_array(["POS", "IS_TITLE", "IS_UPPER", "IS_ALPHA"]).tolist()
    return [pos == PROPN and (title or upper) and alpha for pos, title, upper, alpha in rows]


def _runs(doc: Doc, taken: list[bool]) -> list[tuple[int, int, int]]:
    """Runs of two or more capitalised proper nouns outside entity names, with their heads."""
    capitalised = _capitalised(doc)
    out: list[tuple[int, int, int]] = []
    i = 0
    while i < len(doc):
        if taken[i] or not capitalised[i]:
            i += 1
            continue
        end = i + 1
        while end < len(doc) and not taken[end] and capitalised[end] and not doc[end].is_sent_start:
            end += 1
        if end - i >= 2 and doc[end - 1].ent_type_ != "PERSON":
            out.append((i, end, end - 1))
        i = end
    return out


def names(doc: Doc) -> list[tuple[int, int, int]]:
    """Every name of ``doc`` as ``(start, end, head)`` token indices, in order."""
    found: list[tuple[int, int, int]] = []
    taken = [False] * len(doc)
    for ent in doc.ents:
        if ent.label_ in NAME_LABELS:
            start, end = _trimmed(doc, ent.start, ent.end)
            if end - start >= 2:
                found.append((ent.start, ent.end, ent.root.i))
            for i in range(ent.start, ent.end):
                taken[i] = True
    found.extend(_runs(doc, taken))
    return sorted(found)


def _name_keeps(doc: Doc, raws: Sequence[Raw], start: int, end: int, head: int) -> bool:
    """Whether the matches inside a name make it an actor (see the module docstring)."""
    whole = _trimmed(doc, start, end)
    if any(_trimmed(doc, raw.start, raw.end) == whole for raw in raws):
        return True
    if any(raw.hit.agent is not None and raw.hit.agent.title for raw in raws):
        return True  # "Prime Minister Brown" where the model tagged no PERSON
    return any(raw.start <= head < raw.end for raw in raws)


def drop_name_insides(doc: Doc, raws: list[Raw]) -> list[Raw]:
    """The matches of ``raws`` (in document order) that are not inside a name of something else."""
    starts = [raw.start for raw in raws]
    dropped: set[int] = set()
    for start, end, head in names(doc):
        first = bisect_left(starts, start)
        inside = [n for n in range(first, bisect_left(starts, end)) if raws[n].end <= end]
        if inside and not _name_keeps(doc, [raws[n] for n in inside], start, end, head):
            dropped.update(inside)
    return [raw for n, raw in enumerate(raws) if n not in dropped]


def drop_modifier_agents(doc: Doc, raws: list[Raw], heads: Container[str]) -> list[Raw]:
    """Drop agent nouns that modify a noun naming no person ("civilian nuclear programme")."""
    covered = [False] * len(doc)
    for raw in raws:
        for i in range(raw.start, raw.end):
            covered[i] = True
    out: list[Raw] = []
    for raw in raws:
        last = doc[raw.end - 1]
        head = last.head
        if (
            raw.hit.actor is None
            and raw.hit.agent is not None
            and last.dep_ in _MODIFIER_DEPS
            and head.i >= raw.end
            and head.pos_ == "NOUN"
            and not covered[head.i]
            and head.lower_ not in heads
            and head.lemma_.lower() not in heads
        ):
            continue
        out.append(raw)
    return out
