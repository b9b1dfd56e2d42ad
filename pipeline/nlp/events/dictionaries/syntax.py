"""The body of a pattern line, in either syntax, as a list of slot specifications.

A spec says what a slot constrains with *references* (a literal word or phrase,
or a synset still to expand); :mod:`.compiler` turns specs into
:class:`~pipeline.nlp.events.patterns.Slot` values. The two syntaxes:

PETRARCH-2 (``- * (TO {BANNED PARTIES}) $ [1722]``): material before ``*``
precedes the verb (``pre`` slots), after it follows; a bare word is the head
of a noun phrase (a ``word`` slot), ``{MOD HEAD}`` a noun phrase with a
modifier (``np``), ``(PREP ...)`` a prepositional phrase (``pp``: ``(PREP)``
any object, ``(PREP NOUN)``, ``(PREP {MOD HEAD})``, ``(PREP +)`` / ``(PREP $)``
its object is the target / source).

TABARI (``- * AID TO + [070]``): one line of words, ``*`` the verb; a blank
lets other words come between two words, ``_`` does not (``adjacent``);
``$`` the source, ``+`` the target, ``%`` a compound actor, ``^`` skips a
noun phrase. A preposition just before ``$``/``+`` becomes a ``pp`` slot with
that actor, in either syntax.

What cannot map is dropped and counted (the counts reach the load log):

* ``%`` (compound actor): the coder finds compound actors itself;
* ``^`` (skip a phrase): slots are not ordered, so there is nothing to skip;
* ``$``/``+`` not after a preposition: the coder's own rules find subject and
  object ("- $ * + [...]" says what they already do);
* in TABARI, a second ``*``, and a pattern without ``*`` (read as PETRARCH-1
  did: every word comes before the verb).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from pipeline.nlp.data import read_toml
from pipeline.nlp.events.dictionaries.reader import VerbDictionaryError, phrase_of
from pipeline.nlp.events.patterns import ActorRole, SlotKind

Phrase = tuple[str, ...]
MARKERS = frozenset({"$", "+", "%", "^"})
ROLE: dict[str, ActorRole] = {"$": "source", "+": "target"}
SKIP_REASONS = {
    "%": "% compound-actor marker (the coder finds compound actors itself)",
    "^": "^ skip marker (slots are not ordered: nothing to skip)",
    "$": "$ or + not after a preposition (the coder's subject and object rules apply)",
    "+": "$ or + not after a preposition (the coder's subject and object rules apply)",
    "*": "second * in a pattern (ignored)",
    "article": "article a/an/the (left out: a slot names a phrase's head)",
    "no-star": "pattern without * (read as PETRARCH-1 did: all words before the verb)",
}
_TOKENS = re.compile(r"[(){}*]|[^\s(){}*]+")


@dataclass(frozen=True)
class Ref:
    """A word position of a pattern: literal alternatives (each a phrase), or a synset."""

    phrases: tuple[Phrase, ...] = ()
    synset: str = ""


@dataclass(frozen=True)
class Spec:
    """One slot to be: its kind, the word (or head, or object), modifier and preposition."""

    kind: SlotKind
    word: Ref | None = None
    modifier: Ref | None = None
    prep: Ref | None = None
    actor: ActorRole = ""
    adjacent: bool = False


@dataclass
class Parsed:
    """The specs of a pattern line and what it dropped."""

    specs: list[Spec]
    skipped: Counter[str]


IsPrep = Callable[[Ref], bool]
"""Whether a reference names prepositions only (it needs the synsets, so it is given)."""


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, frozenset[str]]:
    """The prepositions and articles of ``pipeline/data/verb_dictionaries.toml``."""
    data = read_toml("verb_dictionaries.toml")
    return {
        key: frozenset(str(w).lower() for w in data[key]) for key in ("prepositions", "articles")
    }


def is_article(token: str) -> bool:
    """True for "A", "AN", "THE" (see the data file)."""
    return token.lower() in vocabulary()["articles"]


def ref_of(token: str, source: str, line: int) -> Ref:
    """A word, phrase (``A_B``), alternatives (``BY/WITH``) or synset (``&NAME``)."""
    stray = next((c for c in token if c in "(){}[]"), None)
    if stray is not None:
        raise VerbDictionaryError(source, line, f"stray {stray} in {token!r}")
    if token.startswith("&"):
        name = token[1:].rstrip("_").upper()
        if not name:
            raise VerbDictionaryError(source, line, "a & without a synset name")
        return Ref(synset=name)
    phrases = tuple(p for p in (phrase_of(alt) for alt in token.split("/")) if p)
    if not phrases:
        raise VerbDictionaryError(source, line, f"cannot read the word {token!r}")
    return Ref(phrases=phrases)


def _attach_marker(specs: list[Spec], marker: str, is_prep: IsPrep, skipped: Counter[str]) -> None:
    """``WITH +``: the preposition before an actor marker becomes a ``pp`` slot."""
    last = specs[-1] if specs else None
    if marker in ROLE and last is not None and last.kind == "word" and last.word is not None:
        if is_prep(last.word):
            specs[-1] = Spec("pp", prep=last.word, actor=ROLE[marker])
            return
    skipped[SKIP_REASONS[marker]] += 1


# ----------------------------------------------------------------------------- TABARI


def _tabari_elements(body: str) -> Iterator[tuple[str, bool]]:
    """Each word of a TABARI body and whether ``_`` joins it to the one before."""
    for token in body.replace("*", " * ").split():
        for i, part in enumerate(token.split("_")):
            if part:
                yield part, i > 0


def parse_tabari(body: str, source: str, line: int, is_prep: IsPrep) -> Parsed:
    """Read a TABARI pattern body (the text between ``-`` and the code)."""
    skipped: Counter[str] = Counter()
    elements = list(_tabari_elements(body))
    stars = [i for i, (text, _) in enumerate(elements) if text == "*"]
    if not stars:
        skipped[SKIP_REASONS["no-star"]] += 1
    verb_at = stars[0] if stars else len(elements)
    specs: list[Spec] = []
    for text, _ in elements[:verb_at]:
        if text in MARKERS or is_article(text):
            skipped[SKIP_REASONS[text if text in MARKERS else "article"]] += 1
        else:
            specs.append(Spec("pre", ref_of(text, source, line)))
    previous_kept = True  # the verb itself
    for text, joined in elements[verb_at + 1 :]:
        if text in MARKERS or text == "*" or is_article(text):
            if text in ROLE:
                _attach_marker(specs, text, is_prep, skipped)
            else:
                skipped[SKIP_REASONS[text if text in SKIP_REASONS else "article"]] += 1
            previous_kept = False
            continue
        specs.append(Spec("word", ref_of(text, source, line), adjacent=joined and previous_kept))
        previous_kept = True
    return Parsed(specs, skipped)


# ------------------------------------------------------------------------- PETRARCH-2


def _groups(body: str, source: str, line: int) -> list[tuple[str, list[str]]]:
    """Tokens grouped: ``("word", [w])``, ``("np", words)``, ``("pp", tokens)``, ``("*", [])``."""
    tokens = _TOKENS.findall(body)
    out: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in ("(", "{"):
            close = ")" if token == "(" else "}"
            end = i + 1
            while end < len(tokens) and tokens[end] != close:
                if tokens[end] == token or (token == "{" and tokens[end] in "()"):
                    raise VerbDictionaryError(source, line, f"nested {tokens[end]} in {token}...")
                end += 1
            if end == len(tokens):
                raise VerbDictionaryError(source, line, f"unclosed {token}")
            inner = tokens[i + 1 : end]
            if not inner:
                raise VerbDictionaryError(source, line, f"empty {token}{close}")
            out.append(("pp" if token == "(" else "np", inner))
            i = end + 1
        elif token in (")", "}"):
            raise VerbDictionaryError(source, line, f"unmatched {token}")
        else:
            out.append(("*" if token == "*" else "word", [token]))
            i += 1
    return out


def _np_specs(words: list[str], source: str, line: int) -> list[Spec]:
    """``{M1 M2 HEAD}``: an ``np`` slot on the head and its nearest modifier, words for the rest."""
    flat = [w for token in words for w in token.split("_") if w and not is_article(w)]
    if not flat:
        raise VerbDictionaryError(source, line, f"{{{' '.join(words)}}} names no noun")
    if any(w in MARKERS or w == "*" for w in flat):
        raise VerbDictionaryError(source, line, f"a marker inside {{{' '.join(words)}}}")
    refs = [ref_of(w, source, line) for w in flat]
    if len(refs) == 1:
        return [Spec("word", refs[0])]
    return [Spec("word", r) for r in refs[:-2]] + [Spec("np", refs[-1], modifier=refs[-2])]


def _pp_specs(tokens: list[str], source: str, line: int, skipped: Counter[str]) -> list[Spec]:
    """``(PREP ...)``: the preposition, its object (or an actor, or nothing), extra nouns."""
    prep_token, rest = tokens[0], tokens[1:]
    if prep_token in MARKERS or prep_token in "{}*":
        raise VerbDictionaryError(
            source, line, f"({' '.join(tokens)}) must start with a preposition"
        )
    spec = Spec("pp", prep=ref_of(prep_token, source, line))
    extra: list[Spec] = []
    i = 0
    while i < len(rest):
        token = rest[i]
        if token in ROLE:
            spec = replace(spec, actor=ROLE[token])
        elif token in MARKERS:
            skipped[SKIP_REASONS[token]] += 1
        elif is_article(token):
            skipped[SKIP_REASONS["article"]] += 1
        elif token == "{":
            end = rest.index("}", i) if "}" in rest[i:] else -1
            if end < 0 or "{" in rest[i + 1 : end]:
                raise VerbDictionaryError(source, line, "unbalanced { } inside (...)")
            np = _np_specs(rest[i + 1 : end], source, line)
            if spec.word is None:
                head = np[-1]
                spec = replace(spec, word=head.word, modifier=head.modifier)
                extra.extend(np[:-1])
            else:
                extra.extend(np)
            i = end
        elif token in ("*", "}"):
            raise VerbDictionaryError(source, line, f"{token} inside (...)")
        elif spec.word is None:
            spec = replace(spec, word=ref_of(token, source, line))
        else:
            extra.append(Spec("word", ref_of(token, source, line)))
        i += 1
    return [spec, *extra]


def _pre_specs(tokens: list[str], source: str, line: int, skipped: Counter[str]) -> list[Spec]:
    """Material before ``*``: every word a ``pre`` slot (braces and brackets flattened)."""
    out: list[Spec] = []
    for token in tokens:
        if token in "{}":
            continue
        if token in MARKERS or is_article(token):
            skipped[SKIP_REASONS[token if token in MARKERS else "article"]] += 1
        else:
            out.append(Spec("pre", ref_of(token, source, line)))
    return out


def parse_petrarch2(body: str, source: str, line: int, is_prep: IsPrep) -> Parsed:
    """Read a PETRARCH-2 pattern body (the text between ``-`` and the code)."""
    skipped: Counter[str] = Counter()
    groups = _groups(body, source, line)
    stars = [i for i, (kind, _) in enumerate(groups) if kind == "*"]
    if len(stars) != 1:
        problem = "no * marking the verb" if not stars else "more than one *"
        raise VerbDictionaryError(source, line, f"pattern has {problem}")
    specs: list[Spec] = []
    for _, tokens in groups[: stars[0]]:
        specs.extend(_pre_specs(tokens, source, line, skipped))
    for kind, tokens in groups[stars[0] + 1 :]:
        if kind == "np":
            specs.extend(_np_specs(tokens, source, line))
        elif kind == "pp":
            specs.extend(_pp_specs(tokens, source, line, skipped))
        elif tokens[0] in ROLE:
            _attach_marker(specs, tokens[0], is_prep, skipped)
        elif tokens[0] in MARKERS:
            skipped[SKIP_REASONS[tokens[0]]] += 1
        elif is_article(tokens[0]):
            skipped[SKIP_REASONS["article"]] += 1
        else:
            specs.append(Spec("word", ref_of(tokens[0], source, line)))
    return Parsed(specs, skipped)


__all__ = [
    "MARKERS",
    "SKIP_REASONS",
    "is_article",
    "vocabulary",
    "IsPrep",
    "Parsed",
    "Phrase",
    "Ref",
    "Spec",
    "parse_petrarch2",
    "parse_tabari",
    "ref_of",
]
