"""Who did it to whom: the argument rules of the event coder, on sentences of our own."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.models import ActorRef, Span
from pipeline.nlp.events.coder import same_actor

from .conftest import analyzed

pytestmark = pytest.mark.unit


def dyads(analyzer: Any, text: str) -> set[tuple[str, str | None, str]]:
    return {
        (e.source_actor.code, e.target_actor.code if e.target_actor else None, e.cameo_code[:2])
        for e in analyzed(analyzer, text)
    }


@pytest.mark.parametrize(
    ("text", "partners"),
    [
        ("Norway, with Sweden and Denmark, condemned Russia on Friday.", {"NOR", "SWE", "DNK"}),
        ("Chile, along with Peru, criticised Bolivia over the dispute.", {"CHL", "PER"}),
    ],
)
def test_partners_set_beside_the_subject_act_too(
    analyzer: Any, text: str, partners: set[str]
) -> None:
    found = dyads(analyzer, text)
    assert {s for s, _, root in found if root == "11"} == partners


def test_a_with_phrase_after_the_verb_is_the_target_not_a_partner(analyzer: Any) -> None:
    found = dyads(analyzer, "Egypt met with Jordan in Amman.")
    assert ("EGY", "JOR", "04") in found
    assert all(source != "JOR" or target == "EGY" for source, target, _ in found)


@pytest.mark.parametrize(
    "text",
    [
        "The Turkish foreign minister told reporters that Greece had violated the agreement.",
        "The Turkish foreign minister told the BBC that Greece had violated the agreement.",
    ],
)
def test_the_audience_of_a_statement_is_not_its_target(analyzer: Any, text: str) -> None:
    found = dyads(analyzer, text)
    assert found and {(s, t) for s, t, _ in found} == {("TURGOV", "GRC")}


def test_a_quote_of_its_own_speaks_for_the_last_speaker(analyzer: Any) -> None:
    text = (
        '"We are ready for talks," the Syrian president said. '
        '"We will accuse Israel before the United Nations."'
    )
    found = dyads(analyzer, text)
    assert any(s == "SYRGOV" and t == "ISR" for s, t, _ in found), found


def test_a_state_and_its_government_are_one_actor() -> None:
    def ref(code: str, country: str | None) -> ActorRef:
        return ActorRef(text=code, name=code, code=code, country=country, span=Span(start=0, end=1))

    assert same_actor(ref("USA", "USA"), ref("USAGOV", "USA"))
    assert same_actor(ref("CHNGOV", "CHN"), ref("CHNGOV", "CHN"))
    assert not same_actor(ref("USAGOV", "USA"), ref("USAOPP", "USA"))
    assert not same_actor(ref("CHN", "CHN"), ref("CHNCVL", "CHN"))
    assert not same_actor(ref("USA", "USA"), ref("CHNGOV", "CHN"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Brazilian president said Argentina was a trusted and valued partner.", "051"),
        ("The Chinese foreign minister said Japan was lying and dangerous.", "111"),
        ("The Chilean president said Peru had arrived for the summit.", "010"),
    ],
)
def test_a_statement_is_coded_by_what_it_says(analyzer: Any, text: str, expected: str) -> None:
    codes = {e.cameo_code for e in analyzed(analyzer, text) if e.trigger == "said"}
    assert codes == {expected}


def test_news_media_reporting_is_not_an_event(analyzer: Any) -> None:
    found = dyads(analyzer, "The BBC reported that the Kenyan president met Uganda's president.")
    assert not {s for s, _, _ in found if s.endswith("MED")}


@pytest.mark.parametrize(
    ("text", "dyad"),
    [
        (
            "Maria Lopez, a spokeswoman for the Chilean foreign ministry, criticised Bolivia.",
            ("CHLGOV", "BOL", "11"),
        ),
        (
            "Juan Perez, one of the Peruvian lawmakers who signed the letter, has condemned Chile.",
            ("PERLEG", "CHL", "11"),
        ),
    ],
)
def test_an_unknown_name_is_the_actor_its_apposition_describes(
    analyzer: Any, text: str, dyad: tuple[str, str, str]
) -> None:
    assert dyad in dyads(analyzer, text)


def test_an_apposition_does_not_replace_a_known_name(analyzer: Any) -> None:
    found = dyads(analyzer, "Chile, a neighbour of Peru, criticised Bolivia.")
    assert ("CHL", "BOL", "11") in found
    assert not any(source == "PER" for source, _, _ in found)


@pytest.mark.parametrize(
    ("text", "dyad"),
    [
        ("Kenyan protesters staged protests in Nairobi on Friday.", ("KENOPP", None, "14")),
        ("Chilean demonstrators held a rally outside the parliament.", ("CHLOPP", None, "14")),
    ],
)
def test_a_solo_event_whose_object_is_its_own_noun_is_coded(
    analyzer: Any, text: str, dyad: tuple[str, None, str]
) -> None:
    assert dyad in dyads(analyzer, text)


def test_a_solo_verb_with_an_object_of_another_sense_is_no_event(analyzer: Any) -> None:
    assert not dyads(analyzer, "Kenyan engineers demonstrated the new system in Nairobi.")
