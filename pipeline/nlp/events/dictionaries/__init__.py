"""The reference CAMEO verb-pattern dictionaries, loaded at run time as patterns.

Users of TABARI, PETRARCH and PETRARCH-2 keep their verb knowledge in two
text syntaxes (PETRARCH-2's ``CAMEO.2.0.txt``, TABARI's
``CAMEO.verbpatterns.*.txt``); :func:`load_verb_dictionary` reads either into
the project's :class:`~pipeline.nlp.events.patterns.Pattern` type, so the
coder matches them on the dependency parse beside its own lexicon, and a
user's pattern wins over the own one on the same pattern
(:meth:`~pipeline.nlp.events.lexicon.Lexicon.with_patterns`).

The syntax is detected from the pattern lines: a file is PETRARCH-2 when one
of them has a ``(...)`` prepositional phrase or a ``{...}`` noun phrase,
TABARI otherwise (TABARI writes a line of words, ``_`` joining neighbours).
Everything but the pattern lines (comments, synsets, verb blocks, verb forms,
codes, transformations) is common to both (:mod:`.reader`); the two pattern
syntaxes and what cannot map are in :mod:`.syntax`, synset expansion and
conflicts in :mod:`.compiler`, transformations in :mod:`.transforms`.

A verb line's head is the lemma spaCy gives, so a verb is indexed by its
lowercased base form; the irregular forms in ``{...}`` are added as heads
too (in case the lemmatizer leaves one as it is), the regular forms are not
needed. In a multi-word verb (``+CALL_OFF``, ``RE_+ARREST``) the ``+`` word
is the head, the words after it ``word`` slots that follow it directly, the
words before it ``pre`` slots.
"""

from __future__ import annotations

import gc
import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.nlp.events.dictionaries.compiler import (
    Compiler,
    Conflict,
    Syntax,
)
from pipeline.nlp.events.dictionaries.reader import (
    Code,
    Structure,
    VerbDictionaryError,
    read_structure,
    read_text,
)
from pipeline.nlp.events.dictionaries.syntax import vocabulary
from pipeline.nlp.events.dictionaries.transforms import (
    Transformation,
    TransformationMatch,
    match_transformations,
    parse_transformation,
)
from pipeline.nlp.events.lexicon import Codebook, Lexicon
from pipeline.nlp.events.patterns import Pattern

log = logging.getLogger(__name__)

EXAMPLES = 3
"""Conflicts and skip reasons named in the load log line."""


@dataclass(frozen=True)
class VerbDictionary:
    """One loaded dictionary: its patterns, and what loading it found and left out."""

    path: Path
    syntax: Syntax
    verbs: tuple[Pattern, ...]
    conflicts: tuple[Conflict, ...] = ()
    transformations: tuple[Transformation, ...] = ()
    skipped: Mapping[str, int] = field(default_factory=dict)
    rejected: tuple[str, ...] = ()
    duplicates: int = 0
    blocks: int = 0
    seconds: float = 0.0

    @property
    def name(self) -> str:
        """The file name: what events coded by it carry as their provenance's ``lexicon``."""
        return self.path.name

    def summary(self) -> str:
        """One line for the load log."""
        skipped = sum(self.skipped.values())
        top = sorted(self.skipped.items(), key=lambda kv: -kv[1])[:EXAMPLES]
        reasons = "; ".join(f"{n} {reason}" for reason, n in top)
        return (
            f"{self.name} ({self.syntax}): {len(self.verbs)} patterns from {self.blocks} verb "
            f"blocks in {self.seconds:.2f} s; {self.duplicates} duplicates dropped; "
            f"{skipped} constructs skipped" + (f" ({reasons})" if reasons else "")
        )


_PETRARCH2_GROUP = re.compile(r"\([^()]*\)|\{[^{}]*\}")


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a file loads: half the load time otherwise.

    A load makes some 10**5 small objects and no cycles; every few thousand of
    them the collector would walk the whole heap (in a worker: spaCy's too).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def detect_syntax(structure: Structure) -> Syntax:
    """``petrarch2`` when a pattern line has a ``(...)`` or ``{...}`` group, else ``tabari``.

    A group must open and close: a stray ``}`` in a TABARI line is no group.
    """
    for block in structure.blocks:
        for line in block.patterns:
            if _PETRARCH2_GROUP.search(line.body):
                return "petrarch2"
    return "tabari"


def load_verb_dictionary(
    path: Path,
    codebook: Codebook,
    *,
    syntax: Syntax | None = None,
    strict: bool = True,
    first_order: int = 0,
) -> VerbDictionary:
    """Read a PETRARCH-2 or TABARI verb dictionary into patterns (priority 1).

    Args:
        path: The dictionary file (UTF-8 text).
        codebook: Every code the file names is checked against it.
        syntax: Force a syntax instead of detecting it (see the module docstring).
        strict: True (the default): a malformed line or a code the codebook
            lacks stops loading. False: such a line is left out, and all of
            them are named in one warning (``rejected``); a file that cannot
            be read, or a malformed block or synset header, still stops it.
        first_order: The ``order`` of the first pattern: give a file loaded
            after others the count of their patterns, so the orders run on.

    Returns:
        The patterns (``lexicon`` = the file name, ``line``, ``verb`` = the
        block, ``text`` = the line with its spacing collapsed), the conflicts
        (the first line in file order wins), the transformations, and what was
        skipped, counted by reason. Conflicts are logged once, as a warning.

    Raises:
        VerbDictionaryError: The file is unreadable, binary or not UTF-8, or a
            line is malformed or names an unknown code; the message is
            ``file:line: what is wrong``.
    """
    started = time.perf_counter()
    with _no_gc():
        structure = read_structure(read_text(path), path.name, strict=strict)
        chosen = syntax or detect_syntax(structure)
        words = vocabulary()["prepositions"]
        compiler = Compiler(structure, chosen, codebook, strict, words.__contains__, first_order)
        patterns = compiler.run()
        transformations = _transformations(compiler)
    dictionary = VerbDictionary(
        path=path,
        syntax=chosen,
        verbs=tuple(patterns),
        conflicts=tuple(compiler.conflicts),
        transformations=tuple(transformations),
        skipped=dict(compiler.skipped),
        rejected=tuple(str(e) for e in compiler.rejected),
        duplicates=compiler.duplicates,
        blocks=len(structure.blocks),
        seconds=time.perf_counter() - started,
    )
    _log_load(dictionary)
    return dictionary


def _transformations(compiler: Compiler) -> list[Transformation]:
    """The file's ``~`` lines; a malformed one is an error (or, not strict, left out)."""

    def code_ok(code: str, line: int) -> bool:
        return compiler.code_ok(Code(code), line)

    out: list[Transformation] = []
    for item in compiler.structure.transforms:
        try:
            parsed = parse_transformation(item, compiler.source, code_ok)
        except VerbDictionaryError as error:
            compiler.reject(error)
            continue
        if parsed is not None:
            out.append(parsed)
    return out


def _log_load(dictionary: VerbDictionary) -> None:
    """One line on what was loaded, one on the lines left out, one on the conflicts."""
    log.info("%s", dictionary.summary())
    if dictionary.rejected:
        log.warning(
            "%s: %d malformed lines left out (not strict): %s",
            dictionary.name,
            len(dictionary.rejected),
            "; ".join(dictionary.rejected),
        )
    if dictionary.conflicts:
        examples = "; ".join(str(c) for c in dictionary.conflicts[:EXAMPLES])
        log.warning(
            "%s: %d conflicting patterns (same verb and slots, another code): the first in "
            "file order is kept, e.g. %s",
            dictionary.name,
            len(dictionary.conflicts),
            examples,
        )


def log_transformations(dictionary: VerbDictionary, lexicon: Lexicon) -> list[TransformationMatch]:
    """Say once which transformations the coder's own rules already do, and which none does."""
    matches = match_transformations(dictionary.transformations, dictionary.verbs, lexicon)
    if not matches:
        return matches
    mapped = [m for m in matches if m.rule is not None]
    unmapped = [m for m in matches if m.rule is None]
    log.info(
        "%s: %d transformations; %d done by the coder's own rules (%s); %d cannot map%s",
        dictionary.name,
        len(matches),
        len(mapped),
        ", ".join(f"line {m.transformation.line} {m.rule}" for m in mapped) or "none",
        len(unmapped),
        "".join(
            f"; line {m.transformation.line} {m.transformation.text!r}: {m.reason}"
            for m in unmapped
        ),
    )
    return matches


def extend_lexicon(
    lexicon: Lexicon,
    paths: Sequence[Path],
    codebook: Codebook,
    *,
    strict: bool = True,
) -> Lexicon:
    """The lexicon with every dictionary of ``paths`` on top, later files after earlier ones."""
    loaded: list[VerbDictionary] = []
    for path in paths:
        start = sum(len(d.verbs) for d in loaded)
        loaded.append(load_verb_dictionary(path, codebook, strict=strict, first_order=start))
        log_transformations(loaded[-1], lexicon)
    if not loaded:
        return lexicon
    verbs: Iterable[Pattern] = (p for d in loaded for p in d.verbs)
    with _no_gc():
        return lexicon.with_patterns(verbs)


__all__ = [
    "Conflict",
    "Syntax",
    "Transformation",
    "TransformationMatch",
    "VerbDictionary",
    "VerbDictionaryError",
    "detect_syntax",
    "extend_lexicon",
    "load_verb_dictionary",
    "log_transformations",
    "match_transformations",
]
