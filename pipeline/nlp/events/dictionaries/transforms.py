"""The ``~`` transformations of a verb dictionary, and the coder rules they correspond to.

A transformation rewrites an event embedded under another verb. In
``~ a (b . ATTACK) SAY = a b 112`` the speaker ``a`` says that ``b``
attacked with no target named (``.``); the event coded is ``a`` -> ``b``
112 (accuse). ``_`` stands for the outer verb's own subject, a variable code
(``Q``) for "whatever the inner verb codes".

The coder does not run a dictionary's transformations: it has rules of its
own, data in ``verbs.toml`` (``[transform.*]`` with the verb classes), applied
to every event whatever pattern coded it. :func:`match_transformations` says
for each transformation which of those rules gives the same result, checked
on the inner verb's code:

* ``a (a b V) SAY = a b 015`` -> ``claim`` (a speaker reporting its own force);
* ``a (b . V) SAY = a b 112`` -> ``accusation`` (someone else's, on no one named);
* ``a (a b Q) SAY = a b Q`` -> ``speech`` (a reported event keeps its code);
* ``a (_ b V) WANT = a b 138`` -> ``intent``, ``a (_ b V) ATTEMPT = ...`` ->
  ``attempt`` (the classes of complement-taking verbs).

Any other shape (``a (b . ATTACK) WANT = a b 021``: wanting someone else to
attack, with no target) has no counterpart; it is listed at load and left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pipeline.nlp.events.dictionaries.reader import TransformLine, VerbDictionaryError
from pipeline.nlp.events.lexicon import Lexicon
from pipeline.nlp.events.patterns import NULL_CODE, Pattern

_SHAPE = re.compile(
    r"^~\s*(?P<speaker>[^\s()=]+)\s*\(\s*(?P<source>[^\s()=]+)\s+(?P<target>[^\s()=]+)\s+"
    r"(?P<inner>[^\s()=]+)\s*\)\s*(?P<verb>[^\s()=]+)\s*=\s*(?P<r_source>[^\s()=]+)\s+"
    r"(?P<r_target>[^\s()=]+)\s+(?P<code>[^\s()=]+)$"
)
EMBEDDING_CLASSES = ("intent", "attempt", "appeal", "demand", "refusal", "failure")
"""Verb classes of the lexicon whose complement's code a transform rewrites."""


@dataclass(frozen=True)
class Transformation:
    """``~ speaker (source target INNER) VERB = r_source r_target code``."""

    line: int
    text: str
    speaker: str
    source: str
    target: str
    inner: str
    verb: str
    result_source: str
    result_target: str
    code: str

    @property
    def keeps_code(self) -> bool:
        """True when the result code is the inner verb's own (``... Q) SAY = a b Q``)."""
        return self.code == self.inner


@dataclass(frozen=True)
class TransformationMatch:
    """A transformation and the coder rule that does the same (``None``: none does)."""

    transformation: Transformation
    rule: str | None
    reason: str


def parse_transformation(
    item: TransformLine, source: str, code_ok: Callable[[str, int], bool]
) -> Transformation | None:
    """Read one ``~`` line; ``None`` when ``code_ok`` turns its code down.

    Raises:
        VerbDictionaryError: The line does not have the shape above.
    """
    match = _SHAPE.match(item.text)
    if match is None:
        raise VerbDictionaryError(
            source,
            item.line,
            "cannot read the transformation: write ~ a (b c VERB) VERB = a b CODE",
        )
    code = match["code"]
    if code != match["inner"] and not code_ok(code, item.line):
        return None
    return Transformation(
        line=item.line,
        text=item.text,
        speaker=match["speaker"],
        source=match["source"],
        target=match["target"],
        inner=match["inner"],
        verb=match["verb"],
        result_source=match["r_source"],
        result_target=match["r_target"],
        code=code,
    )


def bare_codes(patterns: Iterable[Pattern]) -> dict[str, str]:
    """The code each head has with no slots (its first bare pattern's), null codes left out."""
    out: dict[str, str] = {}
    for pattern in patterns:
        if pattern.slots or pattern.code in (None, NULL_CODE):
            continue
        for head in pattern.heads:
            out.setdefault(head, str(pattern.code))
    return out


def _inner_code(verb: str, own: Mapping[str, str], lexicon: Lexicon) -> str | None:
    head = verb.lower()
    if head in own:
        return own[head]
    for pattern in lexicon.verbs.get(head, ()):
        if not pattern.slots and pattern.code not in (None, NULL_CODE):
            return pattern.code
    return None


def _candidate(t: Transformation, lexicon: Lexicon) -> str | None:
    """The coder rule whose shape the transformation has, before codes are compared."""
    outer = t.verb.lower()
    speech = lexicon.in_class("speech", outer)
    to_speaker = t.result_source == t.speaker
    if speech and t.keeps_code and (t.result_source, t.result_target) == (t.source, t.target):
        return "speech"
    if speech and to_speaker and t.source == t.speaker and t.result_target == t.target:
        return "claim"
    if speech and to_speaker and t.target == "." and t.result_target == t.source:
        return "accusation"
    if t.source == "_" and to_speaker and t.result_target == t.target:
        return next((c for c in EMBEDDING_CLASSES if lexicon.in_class(c, outer)), None)
    return None


def match_transformation(
    t: Transformation, own: Mapping[str, str], lexicon: Lexicon
) -> TransformationMatch:
    """Which coder rule gives what ``t`` gives (see the module docstring)."""
    rule = _candidate(t, lexicon)
    if rule is None:
        return TransformationMatch(t, None, "no rule of the coder has this shape")
    if rule == "speech":
        return TransformationMatch(t, rule, "a reported event keeps its code")
    inner = _inner_code(t.inner, own, lexicon)
    if inner is None:
        return TransformationMatch(t, None, f"no code for the verb {t.inner}")
    transform = lexicon.transform(rule)
    got = transform.apply(inner)
    if got is None and transform.default == "keep":
        got = inner
    if got != t.code:
        return TransformationMatch(
            t, None, f"the coder's {rule} rule gives {got or 'no event'} for {t.inner} ({inner})"
        )
    return TransformationMatch(t, rule, f"the coder's {rule} rule: {t.inner} ({inner}) -> {got}")


def match_transformations(
    transformations: Sequence[Transformation], patterns: Iterable[Pattern], lexicon: Lexicon
) -> list[TransformationMatch]:
    """Match every transformation of a dictionary against the coder's rules."""
    own = bare_codes(patterns)
    return [match_transformation(t, own, lexicon) for t in transformations]


__all__ = [
    "Transformation",
    "TransformationMatch",
    "bare_codes",
    "match_transformation",
    "match_transformations",
    "parse_transformation",
]
