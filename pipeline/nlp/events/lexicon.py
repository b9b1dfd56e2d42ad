"""The CAMEO codebook and the verb lexicon, both read from data files.

``pipeline/data/cameo/codes.toml`` holds every CAMEO event code with its name,
Goldstein value, QuadClass and PLOVER type; ``pipeline/data/cameo/verbs.toml``
holds the verb and noun patterns the coder matches, the verb classes that take
an event as complement (intent, appeal, demand, refusal, threat, speech) and
the code transforms they apply. Users extend either file without touching code.

QuadClass follows GDELT's mapping of CAMEO roots:

======  ==========================  ===========
Quad    Meaning                     CAMEO roots
======  ==========================  ===========
1       verbal cooperation          01-05
2       material cooperation        06-08
3       verbal conflict             09-13
4       material conflict           14-20
======  ==========================  ===========
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.nlp.data import data_file, read_toml
from pipeline.nlp.events.patterns import NULL_CODE, Pattern, Slot, index_patterns


def _read_toml(name: str, path: Path | None) -> dict[str, Any]:
    return read_toml("cameo", name, path=path)


def root_of(code: str) -> str:
    """Return the two-digit CAMEO root of a 3- or 4-digit event code (``"0352"`` -> ``"03"``)."""
    return code[:2]


def quad_class_of_root(root: str) -> int:
    """Return GDELT's QuadClass for a CAMEO root: 1-4, see the module docstring."""
    value = int(root)
    if not 1 <= value <= 20:
        raise ValueError(f"not a CAMEO root: {root!r}")
    if value <= 5:
        return 1
    if value <= 8:
        return 2
    if value <= 13:
        return 3
    return 4


@dataclass(frozen=True)
class CameoCode:
    """One CAMEO event code with everything a ``DiplomaticEvent`` carries about it."""

    code: str
    name: str
    goldstein: float
    quad_class: int
    plover_type: str | None
    plover_mode: str | None

    @property
    def root(self) -> str:
        """The two-digit root."""
        return root_of(self.code)


class Codebook:
    """Lookup of CAMEO event codes, loaded from ``codes.toml``."""

    def __init__(self, codes: Mapping[str, CameoCode], root_names: Mapping[str, str]) -> None:
        self._codes = dict(codes)
        self._root_names = dict(root_names)

    @classmethod
    def load(cls, path: Path | None = None) -> Codebook:
        """Read the codebook (the packaged one unless ``path`` is given)."""
        data = _read_toml("codes.toml", path)
        roots: dict[str, Any] = data["roots"]
        codes: dict[str, CameoCode] = {}
        for code, entry in data["codes"].items():
            root = roots[root_of(code)]
            quad = int(root.get("quad_class", quad_class_of_root(root_of(code))))
            plover = entry.get("plover", root.get("plover", "")) or None
            mode = entry.get("mode", root.get("mode", "")) or None
            codes[code] = CameoCode(
                code=code,
                name=str(entry["name"]),
                goldstein=float(entry["goldstein"]),
                quad_class=quad,
                plover_type=plover,
                plover_mode=mode if plover else None,
            )
        return cls(codes, {key: str(value["name"]) for key, value in roots.items()})

    def __contains__(self, code: object) -> bool:
        return code in self._codes

    def __len__(self) -> int:
        return len(self._codes)

    def __iter__(self) -> Iterable[str]:
        return iter(self._codes)

    def get(self, code: str) -> CameoCode:
        """Return the entry for ``code``; raise ``KeyError`` for an unknown code."""
        return self._codes[code]

    def root_name(self, root: str) -> str:
        """Return the name of a two-digit root, e.g. ``"19"`` -> ``"Fight"``."""
        return self._root_names[root]

    def roots(self) -> list[str]:
        """Return the twenty roots in order."""
        return sorted(self._root_names)


# --------------------------------------------------------------------------- lexicon


@dataclass(frozen=True)
class Transform:
    """A code rewrite applied when an event is embedded under some construction.

    ``rules`` maps a code prefix (a 4-digit code, a 3-digit code or a 2-digit
    root) to the resulting code, ``""`` meaning "no event". ``default`` says
    what happens when no rule applies: ``keep`` the inner code, use the
    governing verb's ``own`` code, or ``drop`` the event.
    """

    rules: Mapping[str, str]
    default: str = "keep"

    def apply(self, code: str) -> str | None:
        """Return the rule's code for ``code``, ``None`` when it matched nothing."""
        for key in (code, code[:3], code[:2]):
            if key in self.rules:
                return self.rules[key]
        return None


_SKIP_WORDS = {"...", "*", "…"}
LEXICON_DIR = "lexicon"
"""Further pattern files of the project's own lexicon, beside ``verbs.toml``."""


def parse_pattern(text: str, value: Any, order: int, lexicon: str = "verbs.toml") -> Pattern:
    """One ``verbs.toml`` entry as a :class:`Pattern`: a head, then words of its phrase.

    Raises:
        ValueError: The entry is empty or its value is neither a code nor a table.
    """
    parts = [p for p in text.lower().split() if p not in _SKIP_WORDS]
    if not parts:
        raise ValueError(f"{lexicon}: empty lexicon pattern: {text!r}")
    if isinstance(value, str):
        options: dict[str, Any] = {"code": value}
    elif isinstance(value, dict):
        options = value
    else:
        raise ValueError(f"{lexicon}: pattern {text!r}: value must be a code or a table")
    return Pattern(
        heads=frozenset(parts[0].split("|")),
        slots=tuple(Slot("word", frozenset(p.split("|"))) for p in parts[1:]),
        code=str(options["code"]),
        symmetric=bool(options.get("symmetric", False)),
        swap=bool(options.get("swap", False)),
        topic=bool(options.get("topic", False)),
        text=text,
        order=order,
        lexicon=lexicon,
    )


def _read_patterns(data: Mapping[str, Any], table: str, lexicon: str, start: int) -> list[Pattern]:
    return [
        parse_pattern(text, value, start + i, lexicon)
        for i, (text, value) in enumerate(data.get(table, {}).items())
    ]


def _own_pattern_files() -> list[tuple[str, dict[str, Any]]]:
    """The packaged ``lexicon/*.toml`` files, in name order."""
    folder = data_file("cameo", LEXICON_DIR)
    if not folder.is_dir():
        return []
    names = sorted(f.name for f in folder.iterdir() if f.name.endswith(".toml"))
    return [(f"{LEXICON_DIR}/{n}", read_toml("cameo", LEXICON_DIR, n)) for n in names]


def _merged(
    own: Mapping[str, tuple[Pattern, ...]], extra: Iterable[Pattern]
) -> Mapping[str, tuple[Pattern, ...]]:
    numbered = [p if p.order == i else replace(p, order=i) for i, p in enumerate(extra)]
    if not numbered:
        return own
    mine = {id(p): p for patterns in own.values() for p in patterns}  # once, whatever its heads
    return index_patterns([*mine.values(), *numbered])


@dataclass(frozen=True)
class StatementTone:
    """How a statement with no event of its own is coded by the tone of what it says."""

    negative: float
    positive: float
    criticise: str
    praise: str
    pessimistic: str
    optimistic: str

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> StatementTone:
        """Read ``[statement_tone]`` of ``verbs.toml``."""
        return cls(
            negative=float(table["negative"]),
            positive=float(table["positive"]),
            criticise=str(table["criticise"]),
            praise=str(table["praise"]),
            pessimistic=str(table["pessimistic"]),
            optimistic=str(table["optimistic"]),
        )

    def codes(self) -> tuple[str, ...]:
        """The codes it can give."""
        return (self.criticise, self.praise, self.pessimistic, self.optimistic)


@dataclass(frozen=True)
class Unarmed:
    """Who bears no arms, and what their "fighting" is (``[unarmed]`` in ``verbs.toml``)."""

    roots: frozenset[str]
    crowds: frozenset[str]
    crowd_code: str
    civilians: frozenset[str]
    civilian_code: str
    offices: frozenset[str]

    def code_for(self, code: str, agent: str | None, partner: str | None = None) -> str | None:
        """``code`` done by an actor of ``agent``, with one of ``partner`` in a mutual act.

        Kept, rewritten, or ``None`` (no event): a mutual fight with an office on
        either side is no use of force ("the government and the lawmakers fought").
        """
        if root_of(code) not in self.roots:
            return code
        if agent in self.offices or partner in self.offices:
            return None
        if agent in self.crowds:
            return self.crowd_code
        if agent in self.civilians:
            return self.civilian_code
        return code

    def codes(self) -> tuple[str, ...]:
        """The codes it can give."""
        return (self.crowd_code, self.civilian_code)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Unarmed:
        """Read the ``[unarmed]`` table."""
        return cls(
            roots=frozenset(table["roots"]),
            crowds=frozenset(table["crowds"]),
            crowd_code=str(table["crowd_code"]),
            civilians=frozenset(table["civilians"]),
            civilian_code=str(table["civilian_code"]),
            offices=frozenset(table["offices"]),
        )


_SYNTAX_SETS = (
    "light_verbs", "object_control", "solo_roots", "mutual", "place_target_roots",
    "authority_roots", "from_source_roots", "adjunct_target_preps", "kind_modifier_roots",
    "hostile_nouns", "reciprocal", "shared_nouns", "people_nouns", "proposal_nouns",
    "open_complement_roots", "message_nouns", "gerund_subject_preps",
)  # fmt: skip
"""The word and code lists of ``[syntax]`` in ``verbs.toml``, each a field of :class:`Lexicon`."""


def _word_sets(syntax: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[syntax]`` lists as the frozensets of the :class:`Lexicon` fields of their names."""
    return {name: frozenset(syntax.get(name, [])) for name in _SYNTAX_SETS}


@dataclass(frozen=True)
class Lexicon:
    """Verb and noun patterns, complement-taking verb classes and code transforms."""

    verbs: Mapping[str, tuple[Pattern, ...]]
    nouns: Mapping[str, tuple[Pattern, ...]]
    classes: Mapping[str, frozenset[str]]
    transforms: Mapping[str, Transform]
    light_verbs: frozenset[str] = field(default_factory=frozenset)
    object_control: frozenset[str] = field(default_factory=frozenset)
    hypothetical_aux: frozenset[str] = field(default_factory=frozenset)
    future_aux: frozenset[str] = field(default_factory=frozenset)
    appeal_aux: frozenset[str] = field(default_factory=frozenset)
    solo_roots: frozenset[str] = field(default_factory=frozenset)
    mutual: frozenset[str] = field(default_factory=frozenset)
    place_target_roots: frozenset[str] = field(default_factory=frozenset)
    authority_roots: frozenset[str] = field(default_factory=frozenset)
    from_source_roots: frozenset[str] = field(default_factory=frozenset)
    adjunct_target_preps: frozenset[str] = field(default_factory=frozenset)
    kind_modifier_roots: frozenset[str] = field(default_factory=frozenset)
    hostile_nouns: frozenset[str] = field(default_factory=frozenset)
    reciprocal: frozenset[str] = field(default_factory=frozenset)
    shared_nouns: frozenset[str] = field(default_factory=frozenset)
    people_nouns: frozenset[str] = field(default_factory=frozenset)
    proposal_nouns: frozenset[str] = field(default_factory=frozenset)
    open_complement_roots: frozenset[str] = field(default_factory=frozenset)
    message_nouns: frozenset[str] = field(default_factory=frozenset)
    gerund_subject_preps: frozenset[str] = field(default_factory=frozenset)
    statement_tone: StatementTone | None = None
    unarmed: Unarmed | None = None

    @classmethod
    def load(cls, path: Path | None = None, codebook: Codebook | None = None) -> Lexicon:
        """Read the lexicon (the packaged one unless ``path`` is given).

        Args:
            path: A ``verbs.toml``-format file to read instead of the packaged one.
            codebook: When given, every code the lexicon yields is checked against it.

        Raises:
            ValueError: A pattern is malformed or names a code the codebook lacks.
        """
        data = _read_toml("verbs.toml", path)
        name = path.name if path is not None else "verbs.toml"
        files = [(name, data)] + (_own_pattern_files() if path is None else [])
        verb_patterns: list[Pattern] = []
        noun_patterns: list[Pattern] = []
        for source, content in files:
            verb_patterns += _read_patterns(content, "verbs", source, len(verb_patterns))
            noun_patterns += _read_patterns(content, "nouns", source, len(noun_patterns))
        verbs = index_patterns(verb_patterns)
        nouns = index_patterns(noun_patterns)
        classes = {
            name: frozenset(str(v).lower() for v in values)
            for name, values in data.get("classes", {}).items()
        }
        transforms = _read_transforms(data.get("transform", {}))
        modality = data.get("modality", {})
        lexicon = cls(
            verbs=verbs,
            nouns=nouns,
            classes=classes,
            transforms=transforms,
            **_word_sets(data.get("syntax", {})),
            statement_tone=(
                StatementTone.from_table(data["statement_tone"])
                if "statement_tone" in data
                else None
            ),
            unarmed=Unarmed.from_table(data["unarmed"]) if "unarmed" in data else None,
            hypothetical_aux=frozenset(modality.get("hypothetical", [])),
            future_aux=frozenset(modality.get("future", [])),
            appeal_aux=frozenset(modality.get("appeal", [])),
        )
        if codebook is not None:
            lexicon.check(codebook)
        return lexicon

    def with_patterns(self, verbs: Iterable[Pattern], nouns: Iterable[Pattern] = ()) -> Lexicon:
        """A new lexicon whose indexes hold ``verbs`` and ``nouns`` beside its own patterns.

        The precedence is that of :func:`~pipeline.nlp.events.patterns.index_patterns`:
        the most specific pattern first; on a tie a pattern of higher priority (a
        user's dictionary, 1) before the own lexicon's (0), then the earlier one.
        The given patterns are numbered in the order given (a pattern already
        at its place keeps its object), so of two dictionaries loaded one
        after the other the first wins a tie: "cut ties"
        in a user's file beats the own "cut ties", while the own "fire rockets at"
        still beats a user's bare "fire".
        """
        return replace(
            self,
            verbs=_merged(self.verbs, verbs),
            nouns=_merged(self.nouns, nouns),
        )

    def check(self, codebook: Codebook) -> None:
        """Raise ``ValueError`` if a pattern or transform yields a code the codebook lacks."""
        bad: list[str] = []
        for table in (self.verbs, self.nouns):
            for patterns in table.values():
                bad.extend(
                    f"{p.lexicon}: {p.text} -> {code}"
                    for p in patterns
                    for code in (p.code, p.passive_code)
                    if code is not None and code != NULL_CODE and code not in codebook
                )
        for name, transform in self.transforms.items():
            bad.extend(
                f"transform.{name}.{key} -> {value}"
                for key, value in transform.rules.items()
                if value and value not in codebook
            )
        if self.statement_tone is not None:
            bad.extend(
                f"statement_tone -> {code}"
                for code in self.statement_tone.codes()
                if code not in codebook
            )
        if self.unarmed is not None:
            bad.extend(f"unarmed -> {c}" for c in self.unarmed.codes() if c not in codebook)
        if bad:
            raise ValueError("unknown CAMEO codes in the lexicon: " + ", ".join(sorted(set(bad))))

    def in_class(self, name: str, lemma: str) -> bool:
        """True when ``lemma`` belongs to the verb class ``name`` (speech, intent, ...)."""
        return lemma.lower() in self.classes.get(name, frozenset())

    def is_mutual(self, code: str) -> bool:
        """True when coordinated subjects with no target act on each other under ``code``."""
        return any(code.startswith(prefix) for prefix in self.mutual)

    def transform(self, name: str) -> Transform:
        """Return the named transform; an absent one keeps every code."""
        return self.transforms.get(name, Transform(rules={}))


def _read_transforms(tables: Mapping[str, Any]) -> dict[str, Transform]:
    """The ``[transform.NAME]`` tables; ``extends = "OTHER"`` starts from OTHER's rules."""
    transforms: dict[str, Transform] = {}
    for name, table in tables.items():
        rules: dict[str, str] = {}
        base = table.get("extends")
        if base is not None:
            if base not in tables or base == name:
                raise ValueError(f"transform.{name}: extends unknown transform {base!r}")
            rules.update((str(k), str(v)) for k, v in tables[base].items() if k not in _META)
        rules.update((str(k), str(v)) for k, v in table.items() if k not in _META)
        transforms[name] = Transform(rules=rules, default=str(table.get("default", "keep")))
    return transforms


_META = frozenset({"default", "extends"})
