"""Verb and noun patterns as constraints on a dependency parse, and their matcher.

One pattern type serves every source of patterns: the project's own lexicon
(``pipeline/data/cameo/verbs.toml`` and ``lexicon/*.toml``) and the reference
CAMEO verb dictionaries a user loads at run time (PETRARCH-2 and TABARI
syntax, :mod:`pipeline.nlp.events.dictionaries`). A pattern is anchored on a
head lemma (the verb, or an event noun) and lists *slots*, each a constraint on
the head's phrase in the parse:

* ``word``: a word of the head's phrase (a particle, the object's head, an
  adverb): "cut *ties*", "set *out*"; ``adjacent`` asks it to follow the head
  (or the previous slot's word) directly, as TABARI's ``_`` does;
* ``np``: a noun phrase head with one of its modifiers, PETRARCH-2's
  ``{MOD HEAD}``: "sent *{riot police}*";
* ``pp``: a prepositional phrase of the head (or of its object), PETRARCH-2's
  ``(PREP NOUN)``, with the noun optional: "appear *(in court)*", "rush *(to)*";
  ``actor`` says that its object is the event's target or source (TABARI's
  ``+`` and ``$`` after a preposition);
* ``pre``: a word before the head, in its subject or its auxiliaries and
  adverbs (PETRARCH-2's material before ``*``): "*military* moved".

The most specific pattern that fits wins (more constrained words first); on a
tie a user's dictionary wins over the project's lexicon, then the earlier
pattern. A pattern whose code is ``---`` fits and yields no event: it blocks
the verb's other senses ("cut production" is no event though "cut ties" is).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter
from typing import Literal

from spacy.tokens import Token

NULL_CODE = "---"
"""A pattern with this code fits but codes no event."""

SlotKind = Literal["word", "np", "pp", "pre"]
ActorRole = Literal["", "source", "target"]

# Dependencies that open a phrase of their own: a pattern's words are not looked for below them.
PHRASE_STOP = frozenset(
    {
        "nsubj",
        "nsubjpass",
        "csubj",
        "csubjpass",
        "ccomp",
        "xcomp",
        "advcl",
        "relcl",
        "parataxis",
        "conj",
        "cc",
        "punct",
        "mark",
        "acl",
        "appos",
        "expl",
        "meta",
        "npadvmod",
        "advmod",
        "aux",
        "auxpass",
        "neg",
    }
)
_MODIFIER_DEPS = frozenset({"compound", "amod", "nmod", "nummod", "poss", "nn", "npadvmod"})
_PREP_DEPS = frozenset({"prep", "agent", "dative", "prt"})
_PRE_DEPS = frozenset({"nsubj", "nsubjpass", "aux", "auxpass", "neg", "advmod", "npadvmod"})
# Prepositions of time and circumstance: what they introduce is not an argument
# of the verb, so a pattern's words are not looked for below them unless the
# pattern names the preposition itself ("announced the deal during a summit" is
# no announcement of a summit; "met during the summit" does not make "meet" a
# summit pattern).
ADJUNCT_PREPS = frozenset(
    {"during", "after", "before", "amid", "amidst", "despite", "since", "until", "following"}
    | {"throughout", "ahead", "prior", "besides", "beyond", "like", "unlike", "as"}
)


@dataclass(frozen=True)
class Slot:
    """One constraint of a pattern on the head's phrase (see the module docstring)."""

    kind: SlotKind
    words: frozenset[str] = frozenset()
    modifiers: frozenset[str] = frozenset()
    prep: str = ""
    actor: ActorRole = ""
    adjacent: bool = False

    @property
    def weight(self) -> int:
        """How much the slot narrows the pattern: one per constrained word."""
        return (1 if self.words else 0) + (1 if self.modifiers else 0) + (1 if self.prep else 0)


@dataclass(frozen=True)
class Pattern:
    """A head lemma plus slots, and the CAMEO code it yields.

    Attributes:
        heads: Lemmas (or lowercased forms) of the verb or event noun.
        slots: Constraints on the head's phrase, all of which must hold.
        code: The code in the active voice (``---`` = no event, ``None`` = the
            pattern does not apply in the active voice).
        passive_code: The code when the head is a passive verb; ``None`` means
            the active code applies in both voices.
        symmetric: The event holds both ways ("A met B").
        swap: The pattern's prepositional object is the source, the subject the
            target ("A received assurances from B").
        topic: The direct object is the topic, never the target ("discussed X").
        text: The pattern as written in its file.
        order: Position in its file; breaks ties between equally specific patterns.
        lexicon: The file it comes from (``verbs.toml`` or a dictionary's name).
        line: Its line in a user's dictionary.
        verb: The dictionary's verb block it belongs to.
        priority: 1 for a user's dictionary, 0 for the project's lexicon.
    """

    heads: frozenset[str]
    slots: tuple[Slot, ...] = ()
    code: str | None = None
    passive_code: str | None = None
    symmetric: bool = False
    swap: bool = False
    topic: bool = False
    text: str = ""
    order: int = 0
    lexicon: str = ""
    line: int | None = None
    verb: str | None = None
    priority: int = 0

    @property
    def specificity(self) -> int:
        """The number of constrained words besides the head."""
        return sum(slot.weight for slot in self.slots)

    def code_for(self, passive: bool) -> str | None:
        """The code of the pattern in the given voice (``None`` when it does not apply)."""
        if passive and self.passive_code is not None:
            return self.passive_code
        return self.code

    @property
    def key(self) -> tuple[frozenset[str], tuple[Slot, ...]]:
        """What makes two patterns "the same pattern", whatever their codes."""
        return self.heads, self.slots

    @cached_property
    def needs(self) -> tuple[frozenset[str], ...]:
        """Word sets of which the head's phrase must hold one each for the pattern to fit.

        A cheap necessary condition checked before the slots are fitted: a word
        slot's words, a noun slot's head words, a phrase slot's preposition.
        Words before the verb (``pre`` slots) are not in the phrase, so they
        add nothing here.
        """
        out: list[frozenset[str]] = []
        for slot in self.slots:
            if slot.kind in ("word", "np") and slot.words:
                out.append(slot.words)
            elif slot.kind == "pp" and slot.prep:
                out.append(frozenset({slot.prep}))
        return tuple(out)


@dataclass(frozen=True)
class PatternMatch:
    """A pattern that fits a head token: the code, the tokens it used, its actor slots."""

    pattern: Pattern
    code: str
    tokens: tuple[int, ...]
    source: int | None = None
    target: int | None = None

    @property
    def null(self) -> bool:
        """True when the pattern fits but codes no event."""
        return self.code == NULL_CODE


class HeadPatterns(tuple[Pattern, ...]):
    """The patterns of one head in precedence order, with an index by the words they need.

    A reference dictionary gives a common verb hundreds of patterns, most of
    which name a word the phrase at hand does not hold; the index skips those
    without trying them, and the order of the rest is kept.
    """

    def candidates(self, present: set[str]) -> list[Pattern]:
        """The patterns whose every needed word set meets ``present``, in order."""
        free, by_word = self._index
        picked = set(free)
        for word in present:
            picked.update(by_word.get(word, ()))
        return [
            self[i]
            for i in sorted(picked)
            if all(not present.isdisjoint(need) for need in self[i].needs[1:])
        ]

    @cached_property
    def _index(self) -> tuple[tuple[int, ...], dict[str, list[int]]]:
        free: list[int] = []
        by_word: dict[str, list[int]] = {}
        for i, pattern in enumerate(self):
            if not pattern.needs:
                free.append(i)
                continue
            for word in pattern.needs[0]:
                by_word.setdefault(word, []).append(i)
        return tuple(free), by_word


def index_patterns(patterns: Iterable[Pattern]) -> dict[str, tuple[Pattern, ...]]:
    """Patterns by head, most specific first, then the user's, then in file order.

    The sort key is computed once a pattern, not once a head: a reference
    dictionary gives a pattern up to forty heads (a verb block's synonyms).
    """
    index: dict[str, list[tuple[tuple[int, int, int], Pattern]]] = {}
    for pattern in patterns:
        key = (-pattern.specificity, -pattern.priority, pattern.order)
        for head in pattern.heads:
            index.setdefault(head, []).append((key, pattern))
    return {
        head: HeadPatterns(p for _, p in sorted(items, key=itemgetter(0)))
        for head, items in index.items()
    }


def merge_indexes(
    *indexes: Mapping[str, Sequence[Pattern]],
) -> dict[str, tuple[Pattern, ...]]:
    """One index over several, with the same precedence as :func:`index_patterns`."""
    merged: list[Pattern] = []
    seen: set[int] = set()
    for index in indexes:
        for patterns in index.values():
            for pattern in patterns:
                if id(pattern) not in seen:
                    seen.add(id(pattern))
                    merged.append(pattern)
    return index_patterns(merged)


_UNDOUBLED = re.compile(r"[^aeiouy]*[aeiou][bcdfgklmnprstvz]")
"""A word of one short vowel and one final consonant: English doubles the
consonant before ``-ing`` and ``-ed`` (spar, sparring, sparred)."""


def lemma(tok: Token) -> str:
    """The token's lemma, lowercased (its text when the lemma is empty).

    The tagger's lemmatiser strips ``-ing`` and ``-ed`` whole from words it does
    not know, so "sparing" becomes "spar"; since "spar" would double its
    consonant ("sparring"), an undoubled form is of the verb in ``-e``
    ("spare"), as "hoping" is of "hope".
    """
    word = (tok.lemma_ or tok.text).lower()
    text = tok.lower_
    undoubled = text in (word + "ing", word + "ed") and _UNDOUBLED.fullmatch(word)
    return word + "e" if undoubled else word


def is_passive(tok: Token) -> bool:
    """True when ``tok`` is a passive verb ("was attacked", "attacked by X")."""
    return any(c.dep_ in ("nsubjpass", "auxpass") for c in tok.children) or (
        tok.tag_ == "VBN" and any(c.dep_ == "agent" for c in tok.children)
    )


def phrase(tok: Token) -> list[Token]:
    """The tokens of ``tok``'s phrase, breadth first, not crossing into clauses or subjects."""
    out: list[Token] = []
    # An adverb after the head belongs to its phrase ("worked together", "hit back").
    stack = [
        (c, 1)
        for c in tok.children
        if c.dep_ not in PHRASE_STOP or (c.dep_ == "advmod" and c.i > tok.i)
    ]
    while stack:
        node, depth = stack.pop(0)
        out.append(node)
        if depth < 4:
            stack.extend((c, depth + 1) for c in node.children if c.dep_ not in PHRASE_STOP)
    return out


def _is(tok: Token, words: frozenset[str]) -> bool:
    return lemma(tok) in words or tok.lower_ in words


def _before(tok: Token) -> list[Token]:
    """Words before ``tok`` that belong to it: its subject, auxiliaries, adverbs, negation."""
    out: list[Token] = []
    for child in tok.children:
        if child.i < tok.i and child.dep_ in _PRE_DEPS:
            out.extend(child.subtree)
    return out


def match(
    tok: Token, index: Mapping[str, Sequence[Pattern]], *, words: Sequence[Token] | None = None
) -> PatternMatch | None:
    """The best pattern of ``index`` that fits ``tok``, or ``None``.

    Args:
        tok: The head: a verb or an event noun.
        index: Patterns by head (:func:`index_patterns`).
        words: The head's phrase, when the caller has it already.
    """
    patterns = index.get(lemma(tok)) or index.get(tok.lower_)
    if not patterns:
        return None
    passive = is_passive(tok)
    scope = list(words) if words is not None else phrase(tok)
    adjuncts = {t.i: a for t in scope if (a := _adjunct_preps(t, tok))}
    present = {lemma(t) for t in scope} | {t.lower_ for t in scope}
    indexed = patterns if isinstance(patterns, HeadPatterns) else HeadPatterns(patterns)
    patterns = indexed.candidates(present)
    before: list[Token] | None = None
    for pattern in patterns:
        code = pattern.code_for(passive)
        if code is None:
            continue
        if before is None and any(s.kind == "pre" for s in pattern.slots):
            before = _before(tok)
        fit = _fit(pattern, tok, scope, before or [], adjuncts)
        if fit is not None:
            used, source, target = fit
            return PatternMatch(pattern, code, used, source, target)
    return None


def _fit(
    pattern: Pattern,
    tok: Token,
    scope: Sequence[Token],
    before: Sequence[Token],
    adjuncts: Mapping[int, frozenset[str]],
) -> tuple[tuple[int, ...], int | None, int | None] | None:
    used: list[int] = []
    taken = {tok.i}
    roles: dict[str, int] = {}
    last = tok.i
    if adjuncts:
        named = {word for slot in pattern.slots for word in slot.words} | {
            slot.prep for slot in pattern.slots if slot.prep
        }
        scope = [t for t in scope if not adjuncts.get(t.i, frozenset()) - named]
    for slot in pattern.slots:
        hit = _fit_slot(slot, scope, before, taken, last)
        if hit is None:
            return None
        head, extra, role_token = hit
        taken.add(head)
        taken.update(extra)
        used.append(head)
        used.extend(extra)
        last = max(last, head)
        if slot.actor and role_token is not None:
            roles[slot.actor] = role_token
    return tuple(used), roles.get("source"), roles.get("target")


def _adjunct_preps(tok: Token, head: Token) -> frozenset[str]:
    """The time or circumstance prepositions between ``tok`` and ``head``."""
    found: set[str] = set()
    node = tok
    for _ in range(6):
        if node.i == head.i or node.head.i == node.i:
            break
        if node.dep_ == "prep" and node.lower_ in ADJUNCT_PREPS:
            found.add(node.lower_)
        node = node.head
    return frozenset(found)


def _fit_slot(
    slot: Slot, scope: Sequence[Token], before: Sequence[Token], taken: set[int], last: int
) -> tuple[int, tuple[int, ...], int | None] | None:
    """The token a slot takes, the other tokens it covers, and its actor's token."""
    if slot.kind == "pre":
        for t in before:
            if t.i not in taken and _is(t, slot.words):
                return t.i, (), None
        return None
    for t in scope:
        if t.i in taken:
            continue
        if slot.kind == "word":
            if (
                _is(t, slot.words)
                and (not slot.adjacent or t.i == last + 1)
                and (t.dep_ not in _PREP_DEPS or _reaches(t, taken))
            ):
                return t.i, (), t.i if slot.actor else None
        elif slot.kind == "np":
            if _is(t, slot.words):
                mod = _modifier(t, slot.modifiers, taken)
                if mod is not None:
                    return t.i, (mod,), None
        elif t.dep_ in _PREP_DEPS and t.lower_ == slot.prep and _reaches(t, taken):
            found = _prep_object(t, slot, taken)
            if found is not None:
                return t.i, found[0], found[1]
    return None


def _reaches(prep: Token, taken: set[int]) -> bool:
    """Whether a preposition belongs to the pattern's phrase, not to another one's object.

    It hangs on the head, its object or a word the pattern already took; one
    under the object of an unmatched preposition does not ("left the court
    with no comments to reporters" has no "leave to").
    """
    return prep.head.i in taken or prep.head.dep_ != "pobj"


def _modifier(head: Token, modifiers: frozenset[str], taken: set[int]) -> int | None:
    for child in head.children:
        if child.dep_ in _MODIFIER_DEPS and child.i not in taken and _is(child, modifiers):
            return child.i
    if head.i > 0:
        left = head.doc[head.i - 1]
        if left.i not in taken and _is(left, modifiers):
            return left.i
    return None


def _prep_object(
    prep: Token, slot: Slot, taken: set[int]
) -> tuple[tuple[int, ...], int | None] | None:
    """What a ``pp`` slot needs under its preposition: the object (and its modifier)."""
    objects = [c for c in prep.children if c.dep_ in ("pobj", "pcomp", "dobj")]
    if not slot.words:
        target = objects[0].i if objects else None
        return (), target
    for obj in objects:
        if obj.i in taken or not _is(obj, slot.words):
            continue
        if not slot.modifiers:
            return (obj.i,), obj.i
        mod = _modifier(obj, slot.modifiers, taken)
        if mod is not None:
            return (obj.i, mod), obj.i
    return None


__all__ = [
    "NULL_CODE",
    "Pattern",
    "PatternMatch",
    "Slot",
    "index_patterns",
    "is_passive",
    "lemma",
    "match",
    "merge_indexes",
    "phrase",
]
