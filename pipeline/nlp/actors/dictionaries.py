"""Actor and agent dictionaries in the TABARI/PETRARCH text format.

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

Phrases are matched as keys (:mod:`pipeline.nlp.phrases`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.nlp.phrases import Phrase, clean_lines, plural_of

log = logging.getLogger(__name__)

_BRACKETS = re.compile(r"\[([^\]]*)\]")
_CODE_OK = re.compile(r"^[A-Z0-9-]+$")
_DATE_DIGITS = re.compile(r"\d+")


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

    for number, line in clean_lines(text):
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
    for number, line in clean_lines(text):
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
