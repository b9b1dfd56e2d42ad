"""The TABARI/PETRARCH dictionary loader and the phrase index."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from pipeline.nlp.actors.dictionaries import (
    CodeRule,
    load_actor_dictionary,
    load_agent_dictionary,
    parse_actor_text,
    parse_agent_text,
    parse_code,
    parse_date,
    resolve_code,
)
from pipeline.nlp.phrases import Phrase, PhraseIndex, plural_of, word_keys

pytestmark = pytest.mark.unit


def by_name(text: str) -> dict[str, list[CodeRule]]:
    return {e.name: list(e.rules) for e in parse_actor_text(text, "test")}


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("U.S.", ["us"]),
        ("US", ["us"]),
        ("U.S.-led", ["us", "led"]),
        ("China's", ["china", "s"]),
        ("China\u2019s", ["china", "s"]),
        ("'s", ["s"]),
        ("Élysée", ["elysee"]),
        ("Guinea-Bissau", ["guinea", "bissau"]),
        ("-", []),
        ("(", []),
        ("Xi'an", ["xian"]),
    ],
)
def test_word_keys_normalise_case_punctuation_and_accents(text: str, keys: list[str]) -> None:
    assert list(word_keys(text)) == keys


def test_phrase_parse_marks_stems_only_without_trailing_underscore() -> None:
    assert Phrase.parse("UNITED_STATES_") == Phrase(("united", "states"), stem=False)
    assert Phrase.parse("ARGENTIN") == Phrase(("argentin",), stem=True)
    # Short stems would catch names, so they match whole words only.
    assert Phrase.parse("OMAN") == Phrase(("oman",), stem=False)
    assert Phrase.parse("PRESIDENT HOSNI MURBARAK") == Phrase(
        ("president", "hosni", "murbarak"), stem=True
    )


# --------------------------------------------------------------------------- dates and codes


def test_parse_date_six_and_eight_digits() -> None:
    assert parse_date("20121115") == date(2012, 11, 15)
    assert parse_date("090120") == date(2009, 1, 20)
    assert parse_date("300101") == date(2030, 1, 1)
    assert parse_date("510724") == date(1951, 7, 24)
    with pytest.raises(ValueError):
        parse_date("2004017")
    with pytest.raises(ValueError):
        parse_date("20100931")


def test_parse_code_restrictions() -> None:
    assert parse_code("CHNGOV >20121115") == CodeRule("CHNGOV", start=date(2012, 11, 15))
    assert parse_code("HOB < 950601") == CodeRule("HOB", end=date(1995, 6, 1))
    assert parse_code("AFGELI 620101-780427") == CodeRule(
        "AFGELI", date(1962, 1, 1), date(1978, 4, 27)
    )
    assert parse_code("HOBGOV 19950601 - 19990815") == CodeRule(
        "HOBGOV", date(1995, 6, 1), date(1999, 8, 15)
    )
    assert parse_code(" ~COP") is None  # agent codes are not actor codes
    assert parse_code("pse") == CodeRule("PSE")
    assert parse_code("ELR/GAL") == CodeRule("ELR")
    assert parse_code("+++") is None
    assert parse_code("---") == CodeRule("---")
    with pytest.raises(ValueError):
        parse_code("USA 20100101-20090101")


def test_resolve_code_first_matching_restriction_then_default() -> None:
    rules = [
        CodeRule("ZEN"),
        CodeRule("ZENCVL", end=date(2001, 1, 1)),
        CodeRule("ZENSPY", date(2003, 5, 1), date(2003, 5, 3)),
        CodeRule("ZENMIL", date(2001, 1, 1), date(2005, 1, 1)),
        CodeRule("ZENGOV", start=date(2005, 1, 1)),
    ]
    assert resolve_code(rules, date(2000, 6, 1)) == "ZENCVL"
    assert resolve_code(rules, date(2003, 5, 2)) == "ZENSPY"  # listed first, so it wins
    assert resolve_code(rules, date(2003, 5, 3)) == "ZENMIL"  # ranges end exclusive
    assert resolve_code(rules, date(2005, 1, 1)) == "ZENGOV"  # and start inclusive
    assert resolve_code(rules, None) == "ZEN"
    only_dated = [CodeRule("QQQGOV", date(2010, 1, 1), date(2012, 1, 1))]
    assert resolve_code(only_dated, date(2015, 1, 1)) is None
    assert resolve_code([CodeRule("QQQ", start=date(2010, 1, 1))], None) == "QQQ"


# --------------------------------------------------------------------------- actor files

ACTOR_FILE = """\
<!-- A test dictionary written for these tests -->
<!--
# everything in here is a comment
BOGUS_ENTRY [XXX]
-->
# a whole-line comment
ZENDARIA_  [ZEN]   # trailing comment
+ZENDARIAN
+THE_ZEN_REPUBLIC_
VOSS_ARIADNE_
+ARIADNE_VOSS
\t[ZEN]
\t[ZENGOV 20100101-20150101]
\t[ZENELI >20150101]
ORLO_PENN_ [QQQGOV 120101-141231] [QQQELI]
KELMAR [KEL] <!-- inline comment --> # and another
<! -- old-style marker -->
MIRROR STATE [MIR]
DISCARDED [+++]
BAD_DATE [ZZZ 2004017-20061201]
NO_CODE_AT_ALL
---STOP---
AFTER_STOP [AFT]
"""


def test_actor_file_entries_synonyms_and_codes(tmp_path: Path) -> None:
    path = tmp_path / "test.actors.txt"
    path.write_text(ACTOR_FILE, encoding="utf-8")
    entries = load_actor_dictionary(path)
    names = {e.name: e for e in entries}
    assert set(names) == {"Zendaria", "Voss Ariadne", "Orlo Penn", "Kelmar", "Mirror State"}
    zen = names["Zendaria"]
    assert [p.keys for p in zen.phrases] == [
        ("zendaria",),
        ("zendarian",),
        ("the", "zen", "republic"),
    ]
    assert [p.stem for p in zen.phrases] == [False, True, False]
    assert zen.rules == (CodeRule("ZEN"),)
    assert zen.source == "test.actors.txt"
    voss = names["Voss Ariadne"]
    assert voss.code_on(date(2009, 12, 31)) == "ZEN"
    assert voss.code_on(date(2012, 6, 1)) == "ZENGOV"
    assert voss.code_on(date(2016, 6, 1)) == "ZENELI"
    penn = names["Orlo Penn"]
    assert penn.rules == (
        CodeRule("QQQGOV", date(2012, 1, 1), date(2014, 12, 31)),
        CodeRule("QQQELI"),
    )
    assert names["Mirror State"].phrases[0].keys == ("mirror", "state")


def test_actor_file_skips_comments_discards_bad_dates_and_stop() -> None:
    rules = by_name(ACTOR_FILE)
    assert "Bogus Entry" not in rules
    assert "Discarded" not in rules  # only a discard code: no usable code
    assert "Bad Date" not in rules  # its only code has an unreadable date
    assert "No Code At All" not in rules
    assert "After Stop" not in rules


def test_entry_names_are_readable() -> None:
    names = by_name("REPUBLIC_OF_THE_ZEN_ISLANDS_ [ZEN]\nPEOPLE'S_ARMY_OF_QOR [QORMIL]\n")
    assert set(names) == {"Republic of the Zen Islands", "People's Army of Qor"}


def test_codes_may_precede_synonyms() -> None:
    rules = by_name("GRENLO_ [GRN]\n+GRENLOVIAN\n\t[GRNGOV >20200101]\n")
    assert rules == {"Grenlo": [CodeRule("GRN"), CodeRule("GRNGOV", start=date(2020, 1, 1))]}


# --------------------------------------------------------------------------- agent files

AGENT_FILE = """\
<!-- test agents -->
!PERSON! = MAN, MEN, WOMAN, WOMEN
!MIN! = MINISTER, MINISTERS
LEGISLATOR [~LEG]
ALMONER {ALMONERS_GENERAL} [~REL]
CONSTABULARY {} [~COP]
DEPUTY [~LEG]
WITNESS [~CVL]
TRIBUNE!PERSON! [~LEG]
!MIN!_OF_LIGHTHOUSES [~GOV]
FIELD_HOSPITAL_ALLIANCE [NGO~]
NO_CODE_HERE
"""


def test_agent_file_plurals_prefixes_and_substitution_sets() -> None:
    entries = {e.name: e for e in parse_agent_text(AGENT_FILE, "test")}
    forms = {name: sorted(" ".join(p.keys) for p in e.phrases) for name, e in entries.items()}
    assert forms["legislator"] == ["legislator", "legislators"]
    assert forms["almoner"] == ["almoner", "almoners general"]
    assert forms["constabulary"] == ["constabulary"]
    assert forms["deputy"] == ["deputies", "deputy"]
    assert forms["witness"] == ["witness", "witnesses"]
    assert forms["tribuneman"] == ["tribuneman", "tribunemen", "tribunewoman", "tribunewomen"]
    assert forms["minister of lighthouses"] == [
        "minister of lighthouses",
        "ministers of lighthouses",
    ]
    assert entries["legislator"].code == "LEG" and not entries["legislator"].prefix
    assert entries["field hospital alliance"].code == "NGO"
    assert entries["field hospital alliance"].prefix
    assert "no code here" not in entries


def test_load_agent_dictionary_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "test.agents.txt"
    path.write_text(AGENT_FILE, encoding="utf-8")
    assert len(load_agent_dictionary(path)) == 8


@pytest.mark.parametrize(
    ("word", "plural"),
    [
        ("SOLDIER", "SOLDIERS"),
        ("AUTHORITY", "AUTHORITIES"),
        ("ENVOY", "ENVOYS"),
        ("WITNESS", "WITNESSES"),
        ("spokesman", "spokesmen"),
        ("German", "Germans"),
    ],
)
def test_plural_of(word: str, plural: str) -> None:
    assert plural_of(word) == plural


# --------------------------------------------------------------------------- the index


def test_index_longest_match_first_and_stems() -> None:
    index: PhraseIndex[str] = PhraseIndex()
    index.add(Phrase(("south",)), "S")
    index.add(Phrase(("south", "korea")), "KOR")
    index.add(Phrase(("argentin",), stem=True), "ARG")
    index.add(Phrase(("the", "zen", "republ"), stem=True), "ZEN")
    keys = ["the", "south", "korea", "and", "argentina", "argentinians", "argentinianism"]
    assert [m.value for m in index.matches(keys, 1)] == ["KOR", "S"]
    assert list(index.matches(keys, 0)) == []
    arg = next(index.matches(keys, 4))
    assert (arg.value, arg.stem, arg.end) == ("ARG", True, 5)
    assert [m.value for m in index.matches(keys, 5)] == ["ARG"]
    assert list(index.matches(keys, 6)) == []  # the ending is too long for a stem
    zen = next(index.matches(["the", "zen", "republic"], 0))
    assert (zen.value, zen.end) == ("ZEN", 3)


def test_index_later_phrase_replaces_earlier() -> None:
    index: PhraseIndex[str] = PhraseIndex()
    index.add(Phrase(("zimbabwe",)), "ZWE")
    index.add(Phrase(("zimbabwe",), stem=True), "ZBW")
    assert [m.value for m in index.matches(["zimbabwe"], 0)] == ["ZBW"]
    index.add(Phrase(("zimbabwe",)), "ZWE")
    assert [m.value for m in index.matches(["zimbabwe"], 0)] == ["ZWE"]
    assert index.get(Phrase(("zimbabwe",))) == "ZWE"
    assert len(index) == 1


# --------------------------------------------------------------------------- load time


def test_large_generated_dictionary_loads(
    tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    """A 60,000-entry dictionary loads; the time is reported, not asserted."""
    lines = ["# generated for the load-time test"]
    for i in range(60_000):
        lines.append(f"ACTOR_{i}_NAME_{i % 97}_  [C{i % 900:03d}]")
        if i % 3 == 0:
            lines.append(f"+ALIAS_{i}_OF_ACTOR")
        if i % 5 == 0:
            lines.append(f"\t[C{i % 900:03d}GOV {2000 + i % 20}0101-{2001 + i % 20}0101]")
    path = tmp_path / "large.actors.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    entries = load_actor_dictionary(path)
    index: PhraseIndex[int] = PhraseIndex()
    for n, entry in enumerate(entries):
        for phrase in entry.phrases:
            index.add(phrase, n)
    seconds = time.perf_counter() - started
    record_property("load_seconds", round(seconds, 3))
    print(f"\nloaded {path.stat().st_size / 1e6:.1f} MB, {len(index)} phrases in {seconds:.2f} s")
    assert len(entries) == 60_000
    assert len(index) == 80_000
    found = next(index.matches(["alias", "999", "of", "actor"], 0))
    assert entries[found.value].name == "Actor 999 Name 29"
