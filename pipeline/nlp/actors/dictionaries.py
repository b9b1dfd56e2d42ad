"""Actor and agent dictionaries in the TABARI/PETRARCH text format, and the phrase index.

Many event-data users keep their actors in the plain-text format that TABARI,
PETRARCH and PETRARCH2 read, so the pipeline loads such files at run time and
merges them with its own gazetteer. The format, as this loader reads it:

* one entry a line; words are joined by ``_`` (or blanks); a trailing ``_``
  makes the last word a whole word, without it the last word is a stem
  (``ARGENTIN`` matches "Argentina" and "Argentine");
* ``+PHRASE`` lines are synonyms of the entry above them;
* codes in brackets, on the entry line or on indented lines below it, several
  per entry: ``[CODE]`` is the default, ``[CODE >YYYYMMDD]`` applies from a
  date on, ``[CODE <YYYYMMDD]`` before it, ``[CODE YYMMDD-YYMMDD]`` (or 8-digit
  dates) within a range; six-digit years 00-30 are 20YY, the rest 19YY;
* ``#`` starts a comment anywhere on a line; ``<!-- ... -->`` comments may span
  lines; ``---STOP---`` ends the file;
* agent files hold ``PHRASE {PLURAL} [~CODE]`` lines: ``~GOV`` is appended to
  the actor code, ``NGO~`` is put before it; regular plurals are generated,
  ``{}`` suppresses them, ``{FORMS}`` gives irregular ones; ``!SET! = A, B``
  defines a substitution set used as ``CONGRESS!PERSON!``.

Matching works on *keys*: each word lower-cased, accents folded, periods,
apostrophes and brackets dropped, split at hyphens and slashes, with a
possessive ``'s`` split off. The same function turns spaCy tokens into keys, so
"U.S.", "US" and "U.S.-led" meet the dictionary's ``U.S.`` and ``US`` alike.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

MIN_STEM = 5
"""Shortest stem that matches as a prefix; shorter ones ("IRAN") would catch names."""
MAX_STEM_SUFFIX = 4
"""Longest ending a stem may take ("ARGENTIN" + "ians")."""

_DROP = str.maketrans("", "", ".'`\"()[]{}\u2019\u2018\u201c\u201d")
_SPLIT = re.compile(r"[-\u2010\u2011\u2012\u2013\u2014/]+")
_BRACKETS = re.compile(r"\[([^\]]*)\]")
_CODE_OK = re.compile(r"^[A-Z0-9-]+$")
_DATE_DIGITS = re.compile(r"\d+")


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


@dataclass(frozen=True, slots=True)
class CodeRule:
    """One code of an entry, valid from ``start`` (inclusive) to ``end`` (exclusive)."""

    code: str
    start: date | None = None
    end: date | None = None

    @property
    def restricted(self) -> bool:
        """Whether the code carries a date restriction."""
        return self.start is not None or self.end is not None

    def applies(self, day: date) -> bool:
        """Whether the restriction holds on ``day``."""
        if self.start is not None and day < self.start:
            return False
        return self.end is None or day < self.end


def resolve_code(rules: Sequence[CodeRule], day: date | None) -> str | None:
    """Pick the code of an entry for a story date.

    The first date-restricted code whose interval holds wins, as in TABARI;
    otherwise the (last) unrestricted code. Without a date the unrestricted
    code is used, or else the latest open-ended one.

    Args:
        rules: The entry's codes in file order.
        day: The story date, if known.

    Returns:
        The code, or None when no code applies on that date.
    """
    default: str | None = None
    open_ended: str | None = None
    for rule in rules:
        if not rule.restricted:
            default = rule.code
        elif day is None:
            if rule.end is None:
                open_ended = rule.code
        elif rule.applies(day):
            return rule.code
    if default is not None:
        return default
    return open_ended if day is None else None


def parse_date(text: str) -> date:
    """Parse ``YYMMDD`` (00-30 is 20YY) or ``YYYYMMDD``.

    Raises:
        ValueError: When the string is not a valid date in either form.
    """
    digits = text.strip()
    if len(digits) == 8:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    if len(digits) == 6:
        year = int(digits[:2])
        year += 2000 if year <= 30 else 1900
        return date(year, int(digits[2:4]), int(digits[4:6]))
    raise ValueError(f"not a YYMMDD or YYYYMMDD date: {text!r}")


def parse_code(body: str) -> CodeRule | None:
    """Parse the inside of one ``[...]`` code group of an actor dictionary.

    Args:
        body: e.g. ``"CHNGOV >20121115"``, ``"AFGELI 620101-780427"``, ``"USA"``.

    Returns:
        The rule, or None for discard markers (``+++``, ``###``) and unreadable
        restrictions.

    Raises:
        ValueError: When the date restriction cannot be read.
    """
    text = body.strip()
    if not text:
        return None
    code, _, rest = text.partition(" ")
    # Slash alternatives ("ELR/GAL") are a TABARI leftover; the first one is the code.
    code = code.split("/")[0].strip().upper()
    if not code or not _CODE_OK.match(code):
        return None
    rest = rest.strip()
    if not rest:
        return CodeRule(code)
    if rest[0] in "<>":
        match = _DATE_DIGITS.search(rest)
        if match is None:
            raise ValueError(f"no date after {rest[0]!r}")
        day = parse_date(match.group())
        return CodeRule(code, end=day) if rest[0] == "<" else CodeRule(code, start=day)
    first, sep, second = rest.partition("-")
    if not sep:
        raise ValueError(f"unreadable date restriction {rest!r}")
    start, end = parse_date(first), parse_date(second)
    if end < start:
        raise ValueError(f"range ends before it starts: {rest!r}")
    return CodeRule(code, start=start, end=end)


@dataclass(frozen=True, slots=True)
class ActorEntry:
    """One actor: its phrases, its (date-bounded) codes and where it came from."""

    name: str
    phrases: tuple[Phrase, ...]
    rules: tuple[CodeRule, ...]
    source: str = ""
    line: int = 0

    def code_on(self, day: date | None) -> str | None:
        """The code that applies on ``day`` (see :func:`resolve_code`)."""
        return resolve_code(self.rules, day)


@dataclass(frozen=True, slots=True)
class AgentEntry:
    """One agent noun phrase and its code; ``prefix`` codes go before the actor's."""

    name: str
    phrases: tuple[Phrase, ...]
    code: str
    prefix: bool = False
    source: str = ""
    line: int = 0


_SMALL_WORDS = frozenset({"of", "the", "and", "for", "in", "on", "de", "du", "la", "al", "el"})


def _readable(text: str) -> str:
    """``UNITED_STATES_OF_AMERICA`` -> ``United States of America``."""
    words = text.replace("_", " ").lower().split()
    return " ".join(
        w if i and w in _SMALL_WORDS else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )


def _clean_lines(text: str) -> Iterator[tuple[int, str]]:
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


def parse_actor_text(text: str, source: str = "") -> list[ActorEntry]:
    """Parse the text of an actor dictionary.

    Args:
        text: The file's content.
        source: A label for log messages and :attr:`ActorEntry.source`.

    Returns:
        Every entry that has at least one usable code.
    """
    entries: list[ActorEntry] = []
    name = ""
    phrases: list[Phrase] = []
    rules: list[CodeRule] = []
    first_line = 0
    skipped = 0

    def flush() -> None:
        nonlocal skipped
        if phrases and rules:
            entries.append(ActorEntry(name, tuple(phrases), tuple(rules), source, first_line))
        elif phrases:
            skipped += 1

    def add_codes(line: str, number: int) -> None:
        nonlocal skipped
        for body in _BRACKETS.findall(line):
            try:
                rule = parse_code(body)
            except ValueError as exc:
                log.debug("%s:%d: %s; code skipped", source, number, exc)
                skipped += 1
                continue
            if rule is not None:
                rules.append(rule)

    for number, line in _clean_lines(text):
        stripped = line.lstrip()
        head = stripped[0]
        if head == "[":
            add_codes(stripped, number)
            continue
        phrase_text = stripped.split("[", 1)[0].split(";", 1)[0]
        if head == "+":
            phrase = Phrase.parse(phrase_text[1:])
            if phrase is not None and (phrases or rules):
                phrases.append(phrase)
            add_codes(stripped, number)
            continue
        flush()
        phrase = Phrase.parse(phrase_text)
        name = _readable(phrase_text.strip().rstrip("_"))
        phrases = [phrase] if phrase is not None else []
        rules = []
        first_line = number
        add_codes(stripped, number)
    flush()
    if skipped:
        log.debug("%s: %d codes or entries skipped", source, skipped)
    return entries


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


def parse_agent_text(text: str, source: str = "") -> list[AgentEntry]:
    """Parse the text of an agent dictionary.

    Args:
        text: The file's content.
        source: A label for log messages and :attr:`AgentEntry.source`.

    Returns:
        One entry per agent line (substitution sets expanded, plurals included).
    """
    entries: list[AgentEntry] = []
    sets: dict[str, list[str]] = {}
    for number, line in _clean_lines(text):
        stripped = line.strip()
        if "!" in stripped and "=" in stripped and "[" not in stripped:
            marker, _, members = stripped.partition("=")
            sets[marker.strip().strip("!")] = [m.strip() for m in members.split(",") if m.strip()]
            continue
        codes = _BRACKETS.findall(stripped)
        if not codes:
            log.debug("%s:%d: agent without a code; skipped", source, number)
            continue
        raw_code = codes[0].replace(" ", "")
        prefix = raw_code.endswith("~") and not raw_code.startswith("~")
        code = raw_code.strip("~").upper()
        if not code or not _CODE_OK.match(code):
            continue
        body = stripped.split("[", 1)[0].strip()
        forms: list[str]
        if "!" in body:
            before, _, rest = body.partition("!")
            marker, _, after = rest.partition("!")
            if marker not in sets:
                log.debug("%s:%d: unknown substitution set !%s!", source, number, marker)
                continue
            forms = [before + member + after for member in sets[marker]]
        elif "{" in body:
            singular, _, rest = body.partition("{")
            plural = rest.partition("}")[0].strip()
            forms = [singular.strip()] + ([plural] if plural else [])
        else:
            forms = [body, plural_of(body.rstrip("_"))]
        phrases = tuple(p for p in (Phrase.parse(f, stems=False) for f in forms) if p is not None)
        if phrases:
            name = _readable(forms[0]).lower()
            entries.append(AgentEntry(name, phrases, code, prefix, source, number))
    return entries


def load_actor_dictionary(path: Path) -> list[ActorEntry]:
    """Read an actor dictionary file (UTF-8, undecodable bytes replaced)."""
    return parse_actor_text(path.read_text(encoding="utf-8", errors="replace"), path.name)


def load_agent_dictionary(path: Path) -> list[AgentEntry]:
    """Read an agent dictionary file (UTF-8, undecodable bytes replaced)."""
    return parse_agent_text(path.read_text(encoding="utf-8", errors="replace"), path.name)


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
