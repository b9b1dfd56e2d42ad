"""Verb blocks to :class:`~pipeline.nlp.events.patterns.Pattern` values.

Every verb line becomes a bare pattern with its code (its own, else the
block's); every pattern line becomes one pattern per *variant* for each verb
shape of its block (the single-word verbs share one; a multi-word verb's own
words come first). Variants come from references that cannot live in one
slot: a synset's multi-word members ("ARMED_FORCES" is an ``np`` slot on
"forces" with the modifier "armed", beside a ``word`` slot for the synset's
single words), a preposition synset or ``BY/WITH`` (one ``pp`` slot per
preposition).

A synset's members match lowercased, in the singular and, unless the synset
or the member ends with ``_`` or the word ends with "s" (mostly a plural
already: "TROOPS"), in the regular plural too: "&CURRENCY" holds "dollar"
and "dollars".

Conflicts: the same head with the same slots under two codes keeps the first
in file order; the later one loses that head (and is dropped when it has no
head left), and the pair is reported. The same pattern with the same code
again is a duplicate, dropped silently but counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from itertools import product
from typing import Literal

from pipeline.nlp.events.dictionaries.reader import (
    Block,
    Code,
    PatternLine,
    Structure,
    VerbDictionaryError,
    VerbLine,
)
from pipeline.nlp.events.dictionaries.syntax import (
    Parsed,
    Phrase,
    Ref,
    Spec,
    parse_petrarch2,
    parse_tabari,
)
from pipeline.nlp.events.lexicon import Codebook
from pipeline.nlp.events.patterns import Pattern, Slot
from pipeline.nlp.phrases import plural_of

Syntax = Literal["petrarch2", "tabari"]
MAX_VARIANTS = 512
"""Most patterns one line may expand into; a line past it is skipped and counted."""


class _Skip(Exception):
    """A pattern line that compiles to nothing, and why (counted, not an error)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Conflict:
    """Two lines with the same pattern (heads and slots) and different codes: the first wins."""

    heads: frozenset[str]
    kept: Pattern
    dropped: Pattern

    def __str__(self) -> str:
        heads = ",".join(sorted(self.heads))
        return (
            f"line {self.dropped.line} {self.dropped.text!r} ({heads}) loses to "
            f"line {self.kept.line} {self.kept.text!r}"
        )


def _codes(pattern: Pattern) -> tuple[str | None, str | None]:
    return pattern.code, pattern.passive_code


@dataclass(frozen=True)
class Multi:
    """The multi-word phrases of a reference as one modifier-and-head slot."""

    modifiers: frozenset[str]
    heads: frozenset[str]


def _split(phrases: Iterable[Phrase]) -> tuple[frozenset[str], Multi | None]:
    """The single words of ``phrases``, and their multi-word phrases as one group.

    The group is any of the phrases' next-to-last words before any of their
    last words: &MILITARY's "armed forces", "ground forces" and "combat
    brigades" are one ``np`` slot on "forces|brigades" with the modifiers
    "armed|ground|combat", and "rocket propelled grenade" is matched on
    "propelled grenade". It lets "ground brigades" through too, which costs
    nothing in news text and keeps a synset of 40 phrases from making 40
    patterns of every line that names it.
    """
    singles: set[str] = set()
    heads: set[str] = set()
    modifiers: set[str] = set()
    for phrase in phrases:
        if len(phrase) == 1:
            singles.add(phrase[0])
        else:
            modifiers.add(phrase[-2])
            heads.add(phrase[-1])
    multi = Multi(frozenset(modifiers), frozenset(heads)) if heads else None
    return frozenset(singles), multi


@dataclass
class Compiler:
    """Compiles one file's blocks; collects patterns, conflicts and skip counts."""

    structure: Structure
    syntax: Syntax
    codebook: Codebook
    strict: bool
    is_prep_word: Callable[[str], bool]
    first_order: int = 0
    patterns: list[Pattern] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    _seen: dict[tuple[Slot, ...], dict[str, Pattern]] = field(default_factory=dict)
    _conflicts: dict[tuple[int, int], tuple[Pattern, Pattern, set[str]]] = field(
        default_factory=dict
    )
    _resolved: dict[str, list[Phrase]] = field(default_factory=dict)
    _notes: set[str] = field(default_factory=set)
    _bases: frozenset[str] = frozenset()
    _variants: dict[Spec, tuple[list[tuple[Slot, ...]], set[str]]] = field(default_factory=dict)

    def note(self, reason: str) -> None:
        """Count ``reason`` once for the line being compiled."""
        self._notes.add(reason)

    @property
    def rejected(self) -> list[VerbDictionaryError]:
        """Lines a lenient load left out (the reader's and the compiler's)."""
        return self.structure.rejected

    def reject(self, error: VerbDictionaryError) -> None:
        """Raise ``error`` when strict, else leave its line out and remember why."""
        if self.strict:
            raise error
        self.structure.rejected.append(error)

    @property
    def source(self) -> str:
        """The file name, for messages and provenance."""
        return self.structure.source

    @property
    def conflicts(self) -> list[Conflict]:
        """The conflicts found, in the order of the losing line."""
        items = sorted(self._conflicts.values(), key=lambda c: (c[1].line or 0, c[0].line or 0))
        return [Conflict(frozenset(heads), kept, dropped) for kept, dropped, heads in items]

    def run(self) -> list[Pattern]:
        """Compile every block in file order."""
        self._bases = frozenset(
            verb.words[verb.verb_at] for block in self.structure.blocks for verb in block.verbs
        )
        for block in self.structure.blocks:
            self.block(block)
        return self.patterns

    # ------------------------------------------------------------------ references

    def resolve(self, ref: Ref) -> list[Phrase]:
        """A reference's phrases: its literal alternatives, or its synset's members."""
        if not ref.synset:
            return list(ref.phrases)
        if ref.synset in self._resolved:
            return self._resolved[ref.synset]
        synset = self.structure.synsets.get(ref.synset)
        if synset is None:
            raise _Skip(f"refers to an undefined synset &{ref.synset}")
        out: dict[Phrase, None] = {}
        for member in synset.members:
            out[member.words] = None
            if member.plural:
                out[(*member.words[:-1], plural_of(member.words[-1]))] = None
        self._resolved[ref.synset] = list(out)
        return self._resolved[ref.synset]

    def is_prep(self, ref: Ref) -> bool:
        """True when every alternative of ``ref`` is one preposition."""
        try:
            phrases = self.resolve(ref)
        except _Skip:
            return False
        return bool(phrases) and all(len(p) == 1 and self.is_prep_word(p[0]) for p in phrases)

    # ------------------------------------------------------------------------ slots

    def phrases(self, ref: Ref) -> list[Phrase]:
        """:meth:`resolve`, with an empty synset a skip."""
        phrases = self.resolve(ref)
        if not phrases:
            raise _Skip(f"refers to an empty synset &{ref.synset}")
        return phrases

    def variants(self, spec: Spec) -> list[tuple[Slot, ...]]:
        """The slot tuples one spec stands for (several when a synset needs them)."""
        cached = self._variants.get(spec)
        if cached is None:
            outer, self._notes = self._notes, set()
            try:
                cached = self._variants[spec] = (self._compute_variants(spec), self._notes)
            finally:
                self._notes = outer | self._notes
        else:
            self._notes |= cached[1]
        return cached[0]

    def _compute_variants(self, spec: Spec) -> list[tuple[Slot, ...]]:
        if spec.kind == "pp":
            return self._pp_variants(spec)
        assert spec.word is not None
        singles, multis = _split(self.phrases(spec.word))
        out: list[tuple[Slot, ...]] = []
        if spec.kind == "np":
            if multis:
                self.note("multi-word synset member as the head of {...} (left out)")
            if singles:
                out.append((Slot("np", singles, modifiers=self._modifiers(spec.modifier)),))
            return out
        if singles:
            out.append((Slot(spec.kind, singles, actor=spec.actor, adjacent=spec.adjacent),))
        if multis is not None and spec.kind == "pre":
            out.append((Slot("pre", multis.modifiers), Slot("pre", multis.heads)))
        elif multis is not None:
            out.append((Slot("np", multis.heads, modifiers=multis.modifiers),))
        return out

    def _modifiers(self, ref: Ref | None) -> frozenset[str]:
        """A modifier's words; of a multi-word member, the word next to the head."""
        if ref is None:
            return frozenset()
        return frozenset(p[-1] for p in self.phrases(ref))

    def _pp_variants(self, spec: Spec) -> list[tuple[Slot, ...]]:
        assert spec.prep is not None
        preps, multi_preps = _split(self.phrases(spec.prep))
        if multi_preps:
            self.note("multi-word preposition (left out)")
        objects: list[tuple[frozenset[str], frozenset[str]]] = []
        if spec.word is None:
            objects.append((frozenset(), frozenset()))
        else:
            singles, multis = _split(self.phrases(spec.word))
            if singles:
                objects.append((singles, self._modifiers(spec.modifier)))
            if multis is not None and spec.modifier is not None:
                self.note("multi-word synset member with a modifier in (...) (left out)")
            elif multis is not None:
                objects.append((multis.heads, multis.modifiers))
        return [
            (Slot("pp", words, modifiers, prep, spec.actor),)
            for prep in sorted(preps)
            for words, modifiers in objects
        ]

    def expand(self, parsed: Parsed) -> list[tuple[Slot, ...]]:
        """Every combination of the specs' variants, as slot tuples."""
        options = [self.variants(spec) for spec in parsed.specs]
        if any(not o for o in options):
            raise _Skip("a slot with no word left (only multi-word phrases where one word fits)")
        count = 1
        for o in options:
            count *= len(o)
        if count > MAX_VARIANTS:
            raise _Skip(f"expands into more than {MAX_VARIANTS} patterns")
        return [tuple(s for part in combo for s in part) for combo in product(*options)]

    # ----------------------------------------------------------------------- blocks

    def code_ok(self, code: Code, line: int) -> bool:
        """Check the codes against the codebook (an unknown one is an error, see ``reject``)."""
        for value in code.codes():
            if value not in self.codebook:
                self.reject(VerbDictionaryError(self.source, line, f"unknown CAMEO code {value!r}"))
                return False
        return True

    def verb_shape(self, verb: VerbLine) -> tuple[frozenset[str], tuple[Slot, ...]]:
        """A verb line's heads (base and irregular forms) and its multi-word slots.

        A form that is another verb line's base form is left to that verb: the
        lemmatizer gives "found" for "they found a party", so FIND's irregular
        "found" must not take FOUND's sentences.
        """
        at = verb.verb_at
        base = verb.words[at]
        heads = {base}
        for form in verb.forms:
            parts = [p for p in form.split("_") if p]
            if len(parts) != len(verb.words):
                self.skipped["verb form with other words than its verb (left out)"] += 1
                continue
            head = parts[at].strip("+").lower()
            if head != base and head in self._bases:
                self.skipped["irregular form that is another verb's base form (left to it)"] += 1
                continue
            heads.add(head)
        before = tuple(Slot("pre", frozenset({w})) for w in verb.words[:at])
        after = tuple(Slot("word", frozenset({w}), adjacent=True) for w in verb.words[at + 1 :])
        return frozenset(heads), before + after

    def block(self, block: Block) -> None:
        """Compile one verb block: its pattern lines, then its verbs' bare patterns.

        The bare patterns come last so that a ``- * [code]`` line, which gives
        the block's verbs a code of their own, beats the block's default code
        instead of conflicting with it.
        """
        if block.patterns and not block.verbs:
            problem = f"block {block.name} has patterns but no verbs"
            self.reject(VerbDictionaryError(self.source, block.line, problem))
            return
        default_ok = self.code_ok(block.code, block.line)
        shapes = [(verb, *self.verb_shape(verb)) for verb in block.verbs]
        groups: dict[tuple[Slot, ...], set[str]] = {}
        for _, heads, slots in shapes:
            groups.setdefault(slots, set()).update(heads)
        for line in block.patterns:
            if line.code is not None or default_ok:
                self.pattern_line(block, line, groups)
        for verb, heads, slots in shapes:
            if verb.code is None and not default_ok:
                continue
            if verb.code is None or self.code_ok(verb.code, verb.line):
                code = verb.code or block.code
                default = verb.code is None
                self.emit(heads, slots, code, verb.text, verb.line, block.name, default=default)

    def pattern_line(
        self, block: Block, line: PatternLine, groups: dict[tuple[Slot, ...], set[str]]
    ) -> None:
        """Compile one ``-`` line for every verb shape of its block."""
        code = line.code
        if code is None:
            if self.syntax == "petrarch2":
                self.reject(VerbDictionaryError(self.source, line.line, "pattern has no [code]"))
                return
            code = block.code  # TABARI: a pattern without a code confirms the block's
        if not self.code_ok(code, line.line):
            return
        parse = parse_petrarch2 if self.syntax == "petrarch2" else parse_tabari
        try:
            parsed = parse(line.body, self.source, line.line, self.is_prep)
        except VerbDictionaryError as error:
            self.reject(error)
            return
        self.skipped.update(parsed.skipped)
        self._notes.clear()
        try:
            variants = self.expand(parsed)
        except _Skip as skip:
            self.skipped[f"pattern {skip.reason} (skipped)"] += 1
            return
        finally:
            self.skipped.update(self._notes)
        for slots in variants:
            for verb_slots, heads in groups.items():
                self.emit(
                    frozenset(heads), verb_slots + slots, code, line.text, line.line, block.name
                )

    def emit(
        self,
        heads: frozenset[str],
        slots: tuple[Slot, ...],
        code: Code,
        text: str,
        line: int,
        verb: str,
        *,
        default: bool = False,
    ) -> None:
        """Add a pattern, minus the heads an earlier line already has with these slots.

        ``default``: a verb line with the block's code, which yields to a
        ``- * [code]`` line of the same block without a conflict.
        """
        pattern = Pattern(
            heads=heads,
            slots=slots,
            code=code.active,
            passive_code=code.passive,
            text=text,
            order=self.first_order + len(self.patterns),
            lexicon=self.source,
            line=line,
            verb=verb,
            priority=1,
        )
        seen = self._seen.get(slots)
        if seen is None:  # the usual case: no earlier line has these slots
            self._seen[slots] = dict.fromkeys(heads, pattern)
            self.patterns.append(pattern)
            return
        keep: set[str] = set()
        duplicate = False
        for head in heads:
            first = seen.get(head)
            if first is None:
                seen[head] = pattern
                keep.add(head)
            elif _codes(first) == _codes(pattern):
                duplicate = True
            elif not (default and first.verb == verb):
                key = (first.line or 0, line)
                self._conflicts.setdefault(key, (first, pattern, set()))[2].add(head)
        if not keep:
            self.duplicates += 1 if duplicate else 0
            return
        if keep != heads:
            pattern = replace(pattern, heads=frozenset(keep))
        self.patterns.append(pattern)


__all__ = ["MAX_VARIANTS", "Compiler", "Conflict", "Syntax"]
