"""The project's own lexicon: every CAMEO code covered, no pattern with two codes."""

from __future__ import annotations

import dataclasses
import math
import tomllib

import pytest

from pipeline.nlp.data import data_file
from pipeline.nlp.events import lexicon as lexicon_module
from pipeline.nlp.events.lexicon import Codebook, Lexicon
from pipeline.nlp.events.patterns import NULL_CODE, Pattern

pytestmark = pytest.mark.unit


def own_patterns(lexicon: Lexicon) -> list[Pattern]:
    seen: dict[int, Pattern] = {}
    for table in (lexicon.verbs, lexicon.nouns):
        for patterns in table.values():
            for pattern in patterns:
                seen[id(pattern)] = pattern
    return list(seen.values())


def expanded(pattern: Pattern) -> int:
    """Head alternatives times the alternatives of each further word."""
    return len(pattern.heads) * math.prod(len(slot.words) for slot in pattern.slots)


def test_the_own_lexicon_has_thousands_of_patterns_over_many_files(lexicon: Lexicon) -> None:
    patterns = own_patterns(lexicon)
    assert sum(expanded(p) for p in patterns) >= 2_500
    assert len({p.lexicon for p in patterns}) >= 21  # verbs.toml and one file per root


def test_every_cameo_code_is_the_code_of_some_pattern(lexicon: Lexicon, codebook: Codebook) -> None:
    coded = {p.code for p in own_patterns(lexicon)}
    missing = sorted(code for code in codebook if code not in coded)
    assert missing == []


@pytest.mark.parametrize("table", ["verbs", "nouns"])
def test_no_pattern_is_written_twice_with_two_codes(lexicon: Lexicon, table: str) -> None:
    codes: dict[tuple[str, tuple[frozenset[str], ...]], set[str]] = {}
    for head, patterns in getattr(lexicon, table).items():
        for pattern in patterns:
            key = (head, tuple(slot.words for slot in pattern.slots))
            codes.setdefault(key, set()).add(pattern.code or "")
    twice = {key: found for key, found in codes.items() if len(found) > 1}
    assert twice == {}


def test_null_patterns_block_senses_and_name_no_code(lexicon: Lexicon, codebook: Codebook) -> None:
    nulls = [p for p in own_patterns(lexicon) if p.code == NULL_CODE]
    assert nulls, "the lexicon blocks no verb sense"
    lexicon.check(codebook)


def test_a_future_act_is_coded_as_the_intent_to_do_it(lexicon: Lexicon) -> None:
    future, intent = lexicon.transform("future"), lexicon.transform("intent")
    assert future.rules == intent.rules  # one table, written once
    assert future.apply("085") == "0354" and future.apply("190") == "138"


def test_a_transform_cannot_extend_an_unknown_one() -> None:
    from pipeline.nlp.events.lexicon import _read_transforms

    with pytest.raises(ValueError, match="extends unknown transform 'nope'"):
        _read_transforms({"future": {"extends": "nope"}})


def test_every_syntax_list_is_read_into_its_field() -> None:
    names = {f.name for f in dataclasses.fields(Lexicon)}
    assert set(lexicon_module._SYNTAX_SETS) <= names
    with data_file("cameo/verbs.toml").open("rb") as handle:
        syntax = tomllib.load(handle)["syntax"]
    assert set(syntax) == set(lexicon_module._SYNTAX_SETS)
    loaded = Lexicon.load()
    for name, values in syntax.items():
        assert getattr(loaded, name) == frozenset(values), name
