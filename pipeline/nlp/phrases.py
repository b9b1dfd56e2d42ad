"""Phrases as matching keys, the phrase index, and the line rules of PETRARCH-format files.

Shared by every reader of the field's dictionaries (actors, agents, verbs,
issues, discards) and by the matchers over the parse.

Matching works on *keys*: each word lower-cased, accents folded, periods,
apostrophes and brackets dropped, split at hyphens and slashes, with a
possessive ``'s`` split off. The same function turns spaCy tokens into keys, so
"U.S.", "US" and "U.S.-led" meet a dictionary's ``U.S.`` and ``US`` alike. A
phrase's last word may be a stem (``ARGENTIN`` matches "Argentina").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

T = TypeVar("T")

MIN_STEM = 5
"""Shortest stem that matches as a prefix; shorter ones ("IRAN") would catch names."""
MAX_STEM_SUFFIX = 4
"""Longest ending a stem may take ("ARGENTIN" + "ians")."""

_DROP = str.maketrans("", "", ".'`\"()[]{}\u2019\u2018\u201c\u201d")
_SPLIT = re.compile(r"[-\u2010\u2011\u2012\u2013\u2014/]+")


@lru_cache(maxsize=1 << 16)
def word_keys(text: str) -> tuple[str, ...]:
    """Return the matching keys of one word or token.

    Args:
        text: A token as spaCy split it, or one word of a dictionary phrase.

    Returns:
        Zero or more keys; punctuation-only input gives none.
    """
    if text.isalnum() and text.isascii():
        return (text.lower(),)
    if not text.isascii():
        folded = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in folded if not unicodedata.combining(c))
        text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = text.lower()
    out: list[str] = []
    for part in _SPLIT.split(text):
        possessive = len(part) > 2 and part.endswith("'s")
        if possessive:
            part = part[:-2]
        part = part.translate(_DROP)
        if part:
            out.append(part)
        if possessive:
            out.append("s")
    return tuple(out)


def phrase_keys(words: Iterable[str]) -> tuple[str, ...]:
    """Return the keys of a sequence of words, flattened."""
    return tuple(k for w in words for k in word_keys(w))


@dataclass(frozen=True, slots=True)
class Phrase:
    """A phrase as a key sequence; when ``stem`` the last key matches as a prefix."""

    keys: tuple[str, ...]
    stem: bool = False

    @classmethod
    def parse(cls, text: str, *, stems: bool = True) -> Phrase | None:
        """Parse dictionary phrase text such as ``UNITED_STATES_`` or ``ARGENTIN``.

        Args:
            text: The phrase with ``_`` or blanks between words.
            stems: Whether a last word without a trailing ``_`` is a stem.

        Returns:
            The phrase, or None when it has no words.
        """
        raw = text.strip()
        whole_word = raw.endswith("_")
        keys = phrase_keys(w for w in re.split(r"[_\s]+", raw) if w)
        if not keys:
            return None
        stem = (
            stems
            and not whole_word
            and len(keys[-1]) >= MIN_STEM
            and keys[-1].isalpha()
            and raw[-1:].isalpha()
        )
        return cls(keys, stem)


def clean_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, content)`` with comments removed and blank lines skipped."""
    in_comment = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if in_comment:
            end = line.find("-->")
            if end < 0:
                continue
            line = line[end + 3 :]
            in_comment = False
        while True:
            start = line.find("<!")
            if start < 0:
                break
            end = line.find(">", start)
            close = line.find("-->", start)
            if close >= 0:
                line = line[:start] + line[close + 3 :]
            elif line[start:].startswith("<!--") or end < 0:
                line = line[:start]
                in_comment = True
                break
            else:
                line = line[:start] + line[end + 1 :]
        hash_at = line.find("#")
        if hash_at >= 0:
            line = line[:hash_at]
        if "---STOP---" in line:
            return
        if line.strip():
            yield number, line.rstrip()


def plural_of(phrase: str) -> str:
    """Regular English plural of the last word of an upper- or lower-case phrase."""
    if not phrase:
        return phrase
    upper = phrase[-1].isupper()
    low = phrase.lower()
    if low.endswith("man") and not low.endswith(("human", "german", "roman")):
        out = phrase[:-3] + "men"
    elif low.endswith("y") and low[-2:-1] not in ("a", "e", "o", "u"):
        out = phrase[:-1] + "ies"
    elif low.endswith(("s", "x", "z", "ch", "sh")):
        out = phrase + "es"
    else:
        out = phrase + "s"
    return out.upper() if upper else out


@dataclass(frozen=True, slots=True)
class Match(Generic[T]):
    """A phrase found in a key sequence: ``keys[start:end]``."""

    start: int
    end: int
    value: T
    stem: bool


class PhraseIndex(Generic[T]):
    """Phrases keyed on their first key, candidates sorted longest first.

    Adding the same phrase again replaces its value, so later dictionaries
    override earlier ones where they overlap.
    """

    def __init__(self) -> None:
        self._by_first: dict[str, dict[tuple[str, ...], tuple[bool, T]]] = {}
        self._stems: dict[str, T] = {}
        self._sorted: dict[str, list[tuple[tuple[str, ...], bool, T]]] = {}
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, phrase: Phrase, value: T) -> None:
        """Add a phrase, replacing any earlier value of the same phrase."""
        first, rest = phrase.keys[0], phrase.keys[1:]
        bucket = self._by_first.setdefault(first, {})
        if len(phrase.keys) == 1:
            # One key is stored either as a whole word or as a stem: the later wins.
            known = first in self._stems or () in bucket
            self._stems.pop(first, None)
            bucket.pop((), None)
            if not known:
                self._size += 1
            if phrase.stem:
                self._stems[first] = value
                self._sorted.pop(first, None)
                return
        elif rest not in bucket:
            self._size += 1
        bucket[rest] = (phrase.stem, value)
        self._sorted.pop(first, None)

    def get(self, phrase: Phrase) -> T | None:
        """The value stored for exactly this phrase (whole word or stem), if any."""
        if len(phrase.keys) == 1 and phrase.keys[0] in self._stems:
            return self._stems[phrase.keys[0]]
        found = self._by_first.get(phrase.keys[0], {}).get(phrase.keys[1:])
        return found[1] if found is not None else None

    def freeze(self) -> None:
        """Sort every bucket now, so that lookups only read (safe across threads)."""
        for first in self._by_first:
            self._candidates(first)

    def _candidates(self, first: str) -> list[tuple[tuple[str, ...], bool, T]]:
        found = self._sorted.get(first)
        if found is None:
            bucket = self._by_first.get(first, {})
            found = sorted(
                ((rest, stem, value) for rest, (stem, value) in bucket.items()),
                key=lambda item: (-len(item[0]), item[1]),
            )
            self._sorted[first] = found
        return found

    def matches(self, keys: Sequence[str], start: int) -> Iterator[Match[T]]:
        """Yield every phrase that starts at ``keys[start]``, longest first.

        Whole-word matches come before stem matches of the same length.
        """
        first = keys[start]
        n = len(keys)
        for rest, stem, value in self._candidates(first):
            end = start + 1 + len(rest)
            if end > n:
                continue
            if stem:
                if tuple(keys[start + 1 : end - 1]) != rest[:-1]:
                    continue
                if not _stem_ok(rest[-1], keys[end - 1]):
                    continue
            elif tuple(keys[start + 1 : end]) != rest:
                continue
            yield Match(start, end, value, stem)
        if self._stems:
            exact = self._stems.get(first)
            if exact is not None:
                yield Match(start, start + 1, exact, True)
                return
            for cut in range(len(first) - 1, MIN_STEM - 1, -1):
                if len(first) - cut > MAX_STEM_SUFFIX:
                    break
                stemmed = self._stems.get(first[:cut])
                if stemmed is not None and first[cut:].isalpha():
                    yield Match(start, start + 1, stemmed, True)
                    break

    def __iter__(self) -> Iterator[tuple[Phrase, T]]:
        for first, bucket in self._by_first.items():
            for rest, (stem, value) in bucket.items():
                yield Phrase((first, *rest), stem), value
        for key, value in self._stems.items():
            yield Phrase((key,), True), value


def _stem_ok(stem: str, key: str) -> bool:
    if key == stem:
        return True
    return key.startswith(stem) and len(key) - len(stem) <= MAX_STEM_SUFFIX and key.isalpha()
