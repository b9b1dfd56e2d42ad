"""A verb dictionary's text as its parts: synsets, verb blocks and transformations.

Both syntaxes share this layer; only the pattern lines (``- ... [code]``)
differ, and :mod:`.syntax` reads those. The layout, as this reader takes it:

* ``#`` starts a comment anywhere on a line (so does the older ``;``);
  ``<!-- ... -->`` comments may span lines; blank lines are skipped;
* ``&NAME`` opens a synset; the ``+WORD`` lines below it are its members
  (``&NAME_`` or ``+WORD_``: no plural is generated);
* ``--- NAME [code] ---`` opens a verb block (no code: ``---``, no event);
  below it come verb lines, ``VERB {FORMS} [code]`` (``+`` marks the verb of
  a multi-word verb, ``RE_+ARREST``, ``+CALL_OFF``), and pattern lines,
  ``- PATTERN [code]``;
* ``~ a (b c VERB) VERB = a b code`` lines are transformations.

Anything else (a verb line before any block, a pattern outside a block, a
bracket left open) is malformed: :class:`VerbDictionaryError`, whose message
is ``file:line: what is wrong``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline.nlp.data import DataFileError
from pipeline.nlp.events.patterns import NULL_CODE
from pipeline.nlp.phrases import clean_lines


class VerbDictionaryError(DataFileError):
    """A verb dictionary that cannot be read; the message is ``file:line: what is wrong``."""

    hint = (
        "fix the line, or set DIPWIRE_VERB_DICTIONARIES_STRICT=false to leave lines that "
        "cannot be read out (each is named in one warning)"
    )


@dataclass(frozen=True)
class Code:
    """A pattern's ``[active:passive]`` codes; ``None`` = not in that voice (or same)."""

    active: str | None
    passive: str | None = None

    def codes(self) -> list[str]:
        """The codes it names, the null code left out."""
        return [c for c in (self.active, self.passive) if c is not None and c != NULL_CODE]


NULL = Code(NULL_CODE)


@dataclass(frozen=True)
class Member:
    """One member of a synset: a word or a phrase, and whether it takes a plural."""

    words: tuple[str, ...]
    plural: bool


@dataclass
class Synset:
    """``&NAME`` and its ``+`` members."""

    name: str
    line: int
    plural: bool
    members: list[Member] = field(default_factory=list)


@dataclass(frozen=True)
class VerbLine:
    """``VERB {FORMS} [code]``: the verb's words (lowercased), where the verb is, its forms."""

    line: int
    text: str
    words: tuple[str, ...]
    verb_at: int
    forms: tuple[str, ...]
    code: Code | None


@dataclass(frozen=True)
class PatternLine:
    """``- BODY [code]``: the body is read by the syntax's own parser."""

    line: int
    text: str
    body: str
    code: Code | None


@dataclass
class Block:
    """``--- NAME [code] ---`` with its verb lines and pattern lines."""

    name: str
    line: int
    code: Code
    verbs: list[VerbLine] = field(default_factory=list)
    patterns: list[PatternLine] = field(default_factory=list)


@dataclass(frozen=True)
class TransformLine:
    """A ``~`` line, kept as written for :mod:`.transforms`."""

    line: int
    text: str


@dataclass
class Structure:
    """Everything a dictionary file holds, before its patterns are compiled."""

    source: str
    synsets: dict[str, Synset] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    transforms: list[TransformLine] = field(default_factory=list)
    rejected: list[VerbDictionaryError] = field(default_factory=list)


def read_text(path: Path) -> str:
    """The file's text; a binary or non-UTF-8 file is a :class:`VerbDictionaryError`."""
    source = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VerbDictionaryError(source, None, f"cannot read the file: {exc.strerror}") from exc
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise VerbDictionaryError(source, line, "a binary file (NUL byte), not a verb dictionary")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        raise VerbDictionaryError(
            source, line, f"not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8"
        ) from exc


_HEADER = re.compile(r"^---\s*(?P<name>[^\s\[\]-][^\s\[\]]*)?\s*(?P<code>\[[^\]]*\])?[-\s]*$")
_FORMS = r"(?:\{(?P<forms%s>[^{}]*)\})?"
_CODE = r"(?:\[(?P<code%s>[^\]]*)\])?"
_VERB = re.compile(
    r"^(?P<verb>[^\s{}\[\]]+)\s*(?:"
    + _FORMS % 1
    + r"\s*"
    + _CODE % 1
    + "|"
    + _CODE % 2
    + r"\s*"
    + _FORMS % 2
    + r")$"
)
_SYNSET = re.compile(r"^&(?P<name>[A-Za-z0-9][A-Za-z0-9_'-]*)$")


def parse_code(text: str, source: str, line: int) -> Code:
    """Read the inside of ``[...]``: ``042``, ``---``, ``042:043``, ``:173``."""
    raw = text.strip()
    if not raw:
        raise VerbDictionaryError(source, line, "empty code []")
    if ":" not in raw:
        return Code(raw)
    active, _, passive = (part.strip() for part in raw.partition(":"))
    if not passive or ":" in passive:
        raise VerbDictionaryError(source, line, f"bad code pair [{raw}]: write [active:passive]")
    if passive == active:
        return Code(active)  # [062:062]: the same in both voices
    return Code(active or None, passive)


def _code_in(text: str, source: str, line: int) -> tuple[str, Code | None]:
    """Split a line into what comes before its ``[code]`` and the code."""
    if text.count("[") != text.count("]"):
        raise VerbDictionaryError(source, line, "unbalanced [ ]")
    if "[" not in text:
        return text.strip(), None
    if text.count("[") > 1:
        raise VerbDictionaryError(source, line, "more than one [code]")
    start, end = text.index("["), text.index("]")
    if end < start or text[end + 1 :].strip():
        raise VerbDictionaryError(source, line, "the [code] must end the line")
    return text[:start].strip(), parse_code(text[start + 1 : end], source, line)


def _verb_line(text: str, source: str, line: int) -> VerbLine:
    match = _VERB.match(text)
    if match is None:
        raise VerbDictionaryError(
            source, line, f"cannot read the verb line {text!r}: write VERB {{FORMS}} [code]"
        )
    raw = match["verb"].strip("_")
    parts = [p for p in raw.split("_") if p]
    marked = [i for i, p in enumerate(parts) if p.startswith("+")]
    if len(parts) > 1 and len(marked) != 1:
        raise VerbDictionaryError(
            source, line, f"multi-word verb {raw!r} must mark its verb with one + (RE_+ARREST)"
        )
    words = tuple(p.lstrip("+").lower() for p in parts)
    if not words or not all(words):
        raise VerbDictionaryError(source, line, f"cannot read the verb {raw!r}")
    code_text = match["code1"] if match["code1"] is not None else match["code2"]
    code = parse_code(code_text, source, line) if code_text is not None else None
    forms = tuple((match["forms1"] or match["forms2"] or "").split())
    return VerbLine(line, " ".join(text.split()), words, marked[0] if marked else 0, forms, code)


_HYPHEN = re.compile(r"(?<=[a-z0-9])-(?=[a-z])")


@lru_cache(maxsize=1 << 16)
def phrase_of(word: str) -> tuple[str, ...]:
    """A word as written, as the words spaCy makes of it, lowercased.

    ``_`` and blanks join words; a hyphen before a letter splits, as spaCy's
    tokenizer does: "cease-fire" is ("cease", "fire"), "F-16" stays one word.
    """
    parts: list[str] = []
    for chunk in re.split(r"[_\s]+", word.lower().replace('"', "")):
        parts.extend(p for p in _HYPHEN.split(chunk) if p)
    return tuple(parts)


def plural_ok(words: tuple[str, ...]) -> bool:
    """Whether a regular plural is made: not of a word ending in s ("troops", "abrams")."""
    return not words[-1].endswith("s")


def _members(text: str, synset: Synset, source: str, line: int) -> list[Member]:
    """``+WORD``, ``+A_B``, ``+A B``, ``+WORD_`` (no plural), ``+A/B`` (two members)."""
    raw = text[1:].strip()
    plural = synset.plural and not raw.endswith("_")
    out = [Member(w, plural and plural_ok(w)) for w in map(phrase_of, raw.split("/")) if w]
    if not out:
        raise VerbDictionaryError(source, line, f"empty member of synset &{synset.name}")
    return out


class _Reader:
    """The line-by-line state: which synset or block the next line belongs to."""

    def __init__(self, source: str, strict: bool) -> None:
        self.out = Structure(source)
        self.strict = strict
        self.synset: Synset | None = None
        self.block: Block | None = None

    def error(self, line: int, problem: str) -> VerbDictionaryError:
        return VerbDictionaryError(self.out.source, line, problem)

    def feed(self, line: int, text: str) -> None:
        if text.startswith("---"):
            self.header(line, text)
        elif text.startswith("&"):
            self.synset_header(line, text)
        else:
            try:
                self.item(line, text)
            except VerbDictionaryError as error:
                if self.strict:
                    raise
                self.out.rejected.append(error)

    def item(self, line: int, text: str) -> None:
        """A line inside a synset or a block (a lenient load may leave it out)."""
        if text.startswith("~"):
            self.out.transforms.append(TransformLine(line, " ".join(text.split())))
        elif text.startswith("+") and self.synset is not None:
            self.synset.members.extend(_members(text, self.synset, self.out.source, line))
        elif text.startswith("-"):
            block = self.current_block(line, "a pattern line")
            body, code = _code_in(text[1:], self.out.source, line)
            block.patterns.append(PatternLine(line, " ".join(text.split()), body, code))
        else:
            block = self.current_block(line, "a verb line")
            block.verbs.append(_verb_line(text, self.out.source, line))

    def header(self, line: int, text: str) -> None:
        match = _HEADER.match(text)
        if match is None or not match["name"]:
            raise self.error(
                line, f"cannot read the block header {text!r}: write --- NAME [code] ---"
            )
        code = NULL
        if match["code"]:
            code = parse_code(match["code"][1:-1], self.out.source, line)
        self.block = Block(match["name"], line, code)
        self.out.blocks.append(self.block)
        self.synset = None

    def synset_header(self, line: int, text: str) -> None:
        match = _SYNSET.match(text)
        if match is None:
            raise self.error(line, f"cannot read the synset name {text!r}: write &NAME")
        name = match["name"]
        plural = not name.endswith("_")
        name = name.rstrip("_").upper()
        existing = self.out.synsets.get(name)
        self.synset = existing or Synset(name, line, plural)
        self.out.synsets[name] = self.synset
        self.block = None

    def current_block(self, line: int, what: str) -> Block:
        if self.synset is not None:
            raise self.error(
                line, f"{what} inside synset &{self.synset.name} (members start with +)"
            )
        if self.block is None:
            raise self.error(line, f"{what} before any verb block (--- NAME [code] ---)")
        return self.block


def read_structure(text: str, source: str, *, strict: bool = True) -> Structure:
    """Split a dictionary's text into synsets, blocks and transformations.

    Args:
        text: The file's text.
        source: Its name, for messages.
        strict: When false a malformed line inside a synset or block is left
            out and kept in ``rejected``; a malformed header still raises.

    Raises:
        VerbDictionaryError: A line is malformed (the message names file:line).
    """
    reader = _Reader(source, strict)
    for line, raw in clean_lines(text):
        content = raw.split(";", 1)[0].strip()
        if content:
            reader.feed(line, content)
    return reader.out


__all__ = [
    "NULL",
    "Block",
    "Code",
    "Member",
    "PatternLine",
    "Structure",
    "Synset",
    "TransformLine",
    "VerbDictionaryError",
    "VerbLine",
    "parse_code",
    "phrase_of",
    "read_structure",
    "read_text",
]
