"""Names block their insides; media outlets are actors of the media sector."""

from __future__ import annotations

from datetime import date

import pytest
from spacy.language import Language

from pipeline.models import ActorRef
from pipeline.nlp.actors.coder import ActorCoder

pytestmark = pytest.mark.unit

DAY = date(2024, 3, 12)


@pytest.fixture(scope="module")
def coder() -> ActorCoder:
    return ActorCoder.load()


def refs(nlp: Language, coder: ActorCoder, text: str) -> dict[str, ActorRef]:
    return {m.ref.text: m.ref for m in coder.find(nlp(text), DAY)}


def test_a_newspaper_named_after_a_country_is_no_country(nlp: Language, coder: ActorCoder) -> None:
    found = refs(nlp, coder, "The senator told USA Today that she would oppose the bill.")
    assert "USA" not in found
    assert all(ref.code != "USA" for ref in found.values())
    assert found["USA Today"].code == "USAMED"


def test_a_place_inside_an_unknown_name_is_dropped(nlp: Language, coder: ActorCoder) -> None:
    found = refs(nlp, coder, "Shares fell on the Karachi Stock Exchange on Monday.")
    assert found == {}


def test_an_agent_noun_inside_a_law_is_no_actor(nlp: Language, coder: ActorCoder) -> None:
    found = refs(nlp, coder, "Lawmakers in Chile passed the Civil Unions Act on Friday.")
    assert [ref.code for ref in found.values()] == ["CHLLEG"]
    assert not any(ref.agent == "LAB" for ref in found.values())


@pytest.mark.parametrize(
    "text",
    [
        "The Chilean minister declared his opposition to the plan.",
        "Peru's opposition to the treaty worried Chile.",
    ],
)
def test_opposition_to_something_is_no_opposition_party(
    nlp: Language, coder: ActorCoder, text: str
) -> None:
    found = refs(nlp, coder, text)
    assert found, text
    assert not any(ref.agent == "OPP" for ref in found.values()), found


def test_the_opposition_is_still_an_actor(nlp: Language, coder: ActorCoder) -> None:
    assert refs(nlp, coder, "The Chilean opposition met in Lima.")["Chilean opposition"].code == (
        "CHLOPP"
    )


def test_a_name_whose_head_is_an_agent_is_an_actor(nlp: Language, coder: ActorCoder) -> None:
    found = refs(
        nlp,
        coder,
        "The Japan Coast Guard said the Islamabad High Court and the Chinese Embassy "
        "had been told.",
    )
    assert found["Japan Coast Guard"].code == "JPNMIL"
    assert found["Islamabad High Court"].code == "PAKJUD"
    assert found["Chinese Embassy"].code == "CHNGOV"


def test_an_agent_noun_modifying_a_thing_is_no_actor(nlp: Language, coder: ActorCoder) -> None:
    found = refs(nlp, coder, "Iran's civilian nuclear programme alarmed Israel.")
    assert {ref.code for ref in found.values()} == {"IRN", "ISR"}
    found = refs(nlp, coder, "Gunmen attacked a police station in Quetta.")
    assert "police" not in found
    assert [ref.agent for ref in found.values() if ref.agent] == ["UAF"]


def test_an_agent_noun_modifying_people_stays_an_actor(nlp: Language, coder: ActorCoder) -> None:
    found = refs(nlp, coder, "Rebel fighters ambushed government troops near the border.")
    assert found["Rebel"].agent == "REB"
    assert found["government troops"].agent == "MIL"


def test_news_agencies_and_broadcasters_are_media_of_their_country(
    nlp: Language, coder: ActorCoder
) -> None:
    found = refs(
        nlp,
        coder,
        "The Associated Press said Reuters, Al Jazeera and Xinhua had also seen the letter, "
        "while the AP's rival AFP quoted the BBC.",
    )
    assert found["Associated Press"].code == "USAMED"
    assert found["Associated Press"].agent == "MED"
    assert found["Reuters"].code == "GBRMED"
    assert found["Al Jazeera"].code == "QATMED"
    assert found["Xinhua"].code == "CHNMED"
    assert found["AFP"].code == "FRAMED"
    assert found["BBC"].code == "GBRMED"


def test_the_ap_reported(nlp: Language, coder: ActorCoder) -> None:
    found = refs(nlp, coder, "The AP reported that talks in Doha had stalled.")
    assert found["AP"].code == "USAMED"
    assert found["AP"].country == "USA"


def test_an_outlet_named_like_a_council_needs_its_whole_name(
    nlp: Language, coder: ActorCoder
) -> None:
    found = refs(nlp, coder, "The Guardian Council rejected the bill, the Guardian reported.")
    assert [ref.code for ref in found.values()] == ["GBRMED"]
    assert "Guardian Council" not in " ".join(found)
