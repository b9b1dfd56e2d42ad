"""Read Phoenix/PETRARCH issue and discard dictionaries.

Issue dictionary, one entry a line, grouped in sections::

    <ISSUE CATEGORY="EDUCATION" TYPE="ALL">
    n:teacher [TEACHERS]
    early+childhood education [EARLY_CHILDHOOD_EDUCATION]
    ~financial literacy
    </ISSUE>

* ``PHRASE [CODE]``: the phrase marks the issue ``CODE``; several
  ``PHRASE [CODE]`` pairs may share a line, and ``PHRASE [A] [B]`` gives the
  phrase two codes;
* ``n:WORD`` is a noun: its plural matches too (the actor loader's
  :func:`~pipeline.nlp.actors.dictionaries.plural_of`); ``v:WORD`` is a verb:
  its ``-s``, ``-ed`` and ``-ing`` forms match too, as PETRARCH makes them;
* ``+`` joins two words by a blank or a hyphen ("pre+school" is "pre school"
  and "pre-school");
* ``~PHRASE`` is an exclusion: where it occurs in a sentence, no issue of its
  section is coded in that sentence; ``~~PHRASE`` does the same for the whole
  story (PETRARCH-2 documents this and implements it as "no issue at all in
  the sentence"; the documented reading is the one kept here);
* ``<ISSUE CATEGORY="...">`` ... ``</ISSUE>`` delimit a section; the
  ``TYPE`` attribute is read by nothing;
* ``#`` starts a comment; blank lines are skipped.

A phrase without a code is skipped, as PETRARCH skips it (the Phoenix file
has a few); a line that cannot be read at all raises
:class:`DictionaryFormatError` with its file and line.

Discard dictionary: one phrase a line. A sentence that contains a phrase is
not coded; a phrase written ``+PHRASE`` makes the whole story not coded. As in
the actor dictionaries, a last word without a trailing ``_`` is a stem
(``CRICKET`` also matches "cricketer" and "cricketers").
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.nlp.data import DataFileError
from pipeline.nlp.phrases import Phrase, clean_lines, plural_of

log = logging.getLogger(__name__)

_TAG = re.compile(r"^<\s*(/?)\s*ISSUE\b([^>]*)>$", re.IGNORECASE)
_CATEGORY = re.compile(r'CATEGORY\s*=\s*"([^"]*)"', re.IGNORECASE)
_PAIR = re.compile(r"([^\[\]]*)\[([^\[\]]*)\]")
_CODE = re.compile(r"^[A-Za-z0-9_-]+$")
_WORDY = re.compile(r"\w")

MAX_FORMS = 64
"""Most surface forms one entry may expand to (each ``n:``/``v:`` word multiplies them)."""


class DictionaryFormatError(DataFileError):
    """A dictionary line that cannot be read: ``file:line: what is wrong``."""


@dataclass(frozen=True, slots=True)
class IssueEntry:
    """One issue phrase: its surface forms, its code and the section it stands in."""

    text: str
    forms: tuple[Phrase, ...]
    code: str
    category: str | None
    source: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class IssueExclusion:
    """A ``~`` phrase: no issue of ``category`` (None: of any) where it occurs."""

    text: str
    forms: tuple[Phrase, ...]
    category: str | None
    story: bool
    source: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class IssueDictionary:
    """The entries and exclusions of one issue file."""

    entries: tuple[IssueEntry, ...]
    exclusions: tuple[IssueExclusion, ...]
    source: str = ""

    @property
    def codes(self) -> set[str]:
        """Every issue code the file names."""
        return {entry.code for entry in self.entries}


@dataclass(frozen=True, slots=True)
class DiscardPhrase:
    """One discard phrase; ``story`` when it was written ``+PHRASE``."""

    text: str
    phrase: Phrase
    story: bool
    source: str = ""
    line: int = 0


def read_dictionary_text(path: Path) -> str:
    """Return the text of a dictionary file, which must be UTF-8 (a BOM is allowed).

    Raises:
        DictionaryFormatError: The file is not UTF-8; the error names the line
            and column of the first byte that is not.
        OSError: The file cannot be read.
    """
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DictionaryFormatError(
            str(path), line, f"not UTF-8: byte 0x{data[exc.start]:02x} at column {column}"
        ) from None


def verb_forms(word: str) -> list[str]:
    """The regular forms PETRARCH makes of a verb: itself, ``-s``, ``-ed`` and ``-ing``."""
    if word.lower().endswith("e"):
        return [word, word + "s", word + "d", word[:-1] + "ing"]
    return [word, word + "s", word + "ed", word + "ing"]


def phrase_forms(text: str, source: str, line: int) -> tuple[Phrase, ...]:
    """Expand an issue phrase into the phrases it matches (``n:``, ``v:``, ``+``).

    Raises:
        DictionaryFormatError: A prefix without its word, or a phrase with no words.
    """
    choices: list[list[str]] = []
    for word in text.replace("+", " ").split():
        prefix, body = word[:2].lower(), word[2:]
        if prefix in ("n:", "v:"):
            if not body:
                raise DictionaryFormatError(source, line, f"{word!r} has no word after {prefix}")
            choices.append([body, plural_of(body)] if prefix == "n:" else verb_forms(body))
        else:
            choices.append([word])
    forms: list[Phrase] = []
    for combination in itertools.islice(itertools.product(*choices), MAX_FORMS):
        phrase = Phrase.parse(" ".join(combination), stems=False)
        if phrase is not None and phrase not in forms:
            forms.append(phrase)
    if not forms:
        raise DictionaryFormatError(source, line, f"no words in phrase {text.strip()!r}")
    return tuple(forms)


class _IssueReader:
    """The state of one pass over an issue file: the open section, what was read."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.category: str | None = None
        self.entries: list[IssueEntry] = []
        self.exclusions: list[IssueExclusion] = []
        self.uncoded: list[int] = []

    def read(self, number: int, line: str) -> None:
        if line.startswith("<"):
            self._tag(number, line)
        elif line.startswith("~"):
            self._exclusion(number, line)
        else:
            self._entries(number, line)

    def _fail(self, number: int, problem: str) -> DictionaryFormatError:
        return DictionaryFormatError(self.source, number, problem)

    def _tag(self, number: int, line: str) -> None:
        match = _TAG.match(line)
        if match is None:
            raise self._fail(number, f"unknown tag {line!r} (expected <ISSUE ...> or </ISSUE>)")
        if match.group(1):
            # The Phoenix file closes one section twice; a stray close changes nothing.
            self.category = None
            return
        category = _CATEGORY.search(match.group(2))
        if category is None or not category.group(1).strip():
            raise self._fail(number, 'an <ISSUE> section needs CATEGORY="NAME"')
        self.category = category.group(1).strip()

    def _exclusion(self, number: int, line: str) -> None:
        story = line.startswith("~~")
        text = line[2:] if story else line[1:]
        if "[" in text or "]" in text:
            raise self._fail(number, f"an exclusion (~) takes no code: {line!r}")
        forms = phrase_forms(text, self.source, number)
        self.exclusions.append(
            IssueExclusion(text.strip(), forms, self.category, story, self.source, number)
        )

    def _entries(self, number: int, line: str) -> None:
        end = 0
        text = ""
        for match in _PAIR.finditer(line):
            if line[end : match.start()].strip():
                raise self._fail(number, f"unbalanced brackets: {line!r}")
            phrase, code = match.group(1).strip(), match.group(2).strip()
            end = match.end()
            if phrase:
                text = phrase
            elif not text:
                raise self._fail(number, f"a code without a phrase: [{code}]")
            if not _CODE.match(code):
                raise self._fail(number, f"bad issue code [{code}] (letters, digits, _ and -)")
            forms = phrase_forms(text, self.source, number)
            self.entries.append(
                IssueEntry(text, forms, code.upper(), self.category, self.source, number)
            )
        rest = line[end:]
        if "[" in rest or "]" in rest:
            raise self._fail(number, f"unbalanced brackets: {line!r}")
        if _WORDY.search(rest):
            self.uncoded.append(number)


def parse_issue_text(text: str, source: str = "") -> IssueDictionary:
    """Parse the text of an issue dictionary.

    Args:
        text: The file's content.
        source: The file's name, for error messages and :attr:`IssueEntry.source`.

    Returns:
        Every entry and exclusion, in file order.

    Raises:
        DictionaryFormatError: A line cannot be read, or the text holds no entry.
    """
    reader = _IssueReader(source)
    for number, line in clean_lines(text):
        reader.read(number, line.strip())
    if not reader.entries:
        raise DictionaryFormatError(source, None, "no issue entries (PHRASE [CODE] lines)")
    if reader.uncoded:
        log.warning(
            "%s: %d phrase(s) without a [CODE] skipped (first at line %d)",
            source,
            len(reader.uncoded),
            reader.uncoded[0],
        )
    return IssueDictionary(tuple(reader.entries), tuple(reader.exclusions), source)


def _discards(text: str, source: str) -> Iterator[DiscardPhrase]:
    for number, line in clean_lines(text):
        stripped = line.strip()
        story = stripped.startswith("+")
        body = stripped[1:] if story else stripped
        phrase = Phrase.parse(body)
        if phrase is None:
            raise DictionaryFormatError(source, number, f"no words in discard phrase {line!r}")
        yield DiscardPhrase(body.strip(), phrase, story, source, number)


def parse_discard_text(text: str, source: str = "") -> list[DiscardPhrase]:
    """Parse the text of a discard dictionary.

    Raises:
        DictionaryFormatError: A line has no words, or the text holds no phrase.
    """
    phrases = list(_discards(text, source))
    if not phrases:
        raise DictionaryFormatError(source, None, "no discard phrases")
    return phrases


def load_issue_dictionary(path: Path) -> IssueDictionary:
    """Read an issue dictionary file (see the module docstring for the format)."""
    return parse_issue_text(read_dictionary_text(path), str(path))


def load_discard_dictionary(path: Path) -> list[DiscardPhrase]:
    """Read a discard dictionary file (see the module docstring for the format)."""
    return parse_discard_text(read_dictionary_text(path), str(path))
