"""Places: the gazetteer, the dateline, and the place of each event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from spacy.language import Language

from pipeline.models import Article, DiplomaticEvent, Location
from pipeline.nlp.event_places import ArticlePlaces
from pipeline.nlp.places import Gazetteer, dateline_place, find_locations, place_roots

pytestmark = pytest.mark.unit

NOW = datetime(2023, 10, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def gazetteer(analyzer: Any) -> Gazetteer:
    places: Gazetteer = analyzer.places
    return places


def events(analyzer: Any, body: str) -> list[DiplomaticEvent]:
    article = Article(id="t", body=body, published_at=NOW)
    found: list[DiplomaticEvent] = analyzer.analyze(article, pipeline_version="t", emitted_at=NOW)
    assert found, f"nothing coded in {body!r}"
    return found


def places_of(found: list[DiplomaticEvent]) -> set[str | None]:
    return {e.location.text if e.location else None for e in found}


# --------------------------------------------------------------------- gazetteer


def test_the_gazetteer_resolves_names_as_the_news_writes_them(gazetteer: Gazetteer) -> None:
    def where(name: str) -> tuple[str | None, bool]:
        place = gazetteer.resolve(name)
        assert place is not None, name
        return place.country, place.latitude is not None

    # Countries under their other names, in the possessive, without coordinates.
    assert where("U.S.") == ("USA", False)
    assert where("Britain") == ("GBR", False)
    assert where("South Korea's") == ("KOR", False)
    # Cities with coordinates, accents and articles aside.
    assert where("Montreal") == ("CAN", True)
    assert where("Fallujah") == ("IRQ", True)
    assert where("New York") == ("USA", True)  # the city, not the state
    assert where("Texas") == ("USA", False)  # the state, not Texas City
    assert where("Geneva") == ("CHE", True)  # the Swiss city, not Geneva, Illinois
    assert where("Singapore") == ("SGP", True)  # a city-state is its city
    assert where("Panama") == ("PAN", False)  # a country named like its capital is not
    # A seat of government is in its country's capital.
    assert where("the White House") == ("USA", True)
    assert where("Kremlin") == ("RUS", True)
    assert gazetteer.resolve("Blinken") is None


def test_capitals(gazetteer: Gazetteer) -> None:
    kabul = gazetteer.capital("AFG")
    assert kabul is not None and kabul.country == "AFG"
    assert kabul.latitude == pytest.approx(34.53, abs=0.1)
    assert gazetteer.capital("XXX") is None


def test_dateline_place(nlp: Language, gazetteer: Gazetteer) -> None:
    doc = nlp("KABUL (AFP) - Taliban fighters attacked a police post on Tuesday.")
    roots = place_roots(doc, find_locations(doc, gazetteer))
    place = dateline_place(doc, roots, gazetteer)
    assert place is not None and place.text == "KABUL" and place.country == "AFG"
    assert place.latitude == pytest.approx(34.53, abs=0.1)
    assert place.span is not None and doc.text[place.span.start : place.span.end] == "KABUL"
    plain = nlp("Taliban fighters attacked a police post in Kabul on Tuesday.")
    assert dateline_place(plain, {}, gazetteer) is None


# ---------------------------------------------------------------- event places


def test_the_place_the_verb_governs(analyzer: Any) -> None:
    found = events(analyzer, "Sergei Lavrov met Hossein Amirabdollahian in Geneva on Monday.")
    assert places_of(found) == {"Geneva"}
    location = found[0].location
    assert location is not None and location.country == "CHE"
    assert location.latitude == pytest.approx(46.2, abs=0.1)


def test_a_place_a_noun_down_the_phrase(analyzer: Any) -> None:
    found = events(analyzer, "Afghan and Pakistani troops clashed near the border town of Chaman.")
    assert places_of(found) == {"Chaman"}
    found = events(
        analyzer,
        "Ukraine's foreign minister met the Turkish ambassador at the UN headquarters in New York.",
    )
    assert places_of(found) == {"New York"}


def test_a_place_of_the_sentence_that_is_not_an_actor(analyzer: Any) -> None:
    found = events(analyzer, "Talks in Islamabad between India and Pakistan ended on Friday.")
    assert places_of(found) == {"Islamabad"}
    assert {e.location.country for e in found if e.location} == {"PAK"}


def test_a_statement_between_countries_has_no_place(analyzer: Any) -> None:
    found = events(analyzer, "China criticised Japan on Tuesday.")
    assert places_of(found) == {None}


def test_a_statement_is_placed_where_the_story_s_lead_is_set(analyzer: Any) -> None:
    found = events(
        analyzer,
        "Thousands of people marched in Geneva on Monday. China criticised Japan on Tuesday.",
    )
    assert places_of([e for e in found if e.cameo_root == "11"]) == {"Geneva"}


def test_a_place_deep_in_a_noun_phrase_or_a_relative_clause_is_not_the_event(
    analyzer: Any,
) -> None:
    found = events(
        analyzer,
        "Washington urged China to curb exports of chemicals behind overdose deaths "
        "in the United States.",
    )
    assert places_of([e for e in found if e.cameo_root == "02"]) == {None}
    found = events(
        analyzer,
        "Secretary of State Antony Blinken asked Chinese Foreign Minister Wang Yi to "
        "release Americans who are detained in China.",
    )
    assert places_of([e for e in found if e.cameo_code == "0253"]) == {None}
    # The detention itself happened there.
    assert places_of([e for e in found if e.cameo_root == "17"]) == {"China"}


def test_a_material_event_happens_on_the_ground_of_its_actor(analyzer: Any) -> None:
    # The target is a place: the strike happened there.
    found = events(analyzer, "Israel struck Gaza on Tuesday.")
    assert places_of(found) == {"Gaza"}
    # Coercion happens where the source is; the city may qualify the actor's word.
    found = events(analyzer, "San Jose police arrested the woman on Friday.")
    assert places_of(found) == {"San Jose"}


def test_the_capital_of_the_sentence_country(analyzer: Any) -> None:
    found = events(analyzer, "Kenyan police arrested 30 protesters in the capital on Monday.")
    location = found[0].location
    assert location is not None and location.text == "the capital"
    assert location.country == "KEN"
    assert location.latitude == pytest.approx(-1.28, abs=0.1)  # Nairobi


def test_the_dateline_is_the_last_resort(analyzer: Any) -> None:
    found = events(analyzer, "KABUL (AFP) - The Taliban government condemned Pakistan on Monday.")
    location = found[0].location
    assert location is not None and location.text == "KABUL" and location.country == "AFG"
    # A place in the sentence comes first.
    found = events(analyzer, "KABUL (AFP) - Pakistani and Indian envoys met in Dubai on Monday.")
    assert places_of(found) == {"Dubai"}


def test_an_unknown_name_an_actor_took_is_no_place(nlp: Language, gazetteer: Gazetteer) -> None:
    # The tagger calls "Blinken" a place (GPE); the actor coder took it for the US envoy.
    doc = nlp("Blinken hosted Wang in Washington on Thursday.")
    locations = find_locations(doc, gazetteer)
    assert {loc.text for loc in locations} >= {"Blinken", "Washington"}
    places = ArticlePlaces(doc, locations, gazetteer, actor_tokens={0})
    assert {loc.text for loc in places.roots.values()} == {"Washington"}
    # A name no actor took stays a place, if one the gazetteer does not know.
    assert len(ArticlePlaces(doc, locations, gazetteer, actor_tokens=set()).roots) == 2


def test_locations_carry_their_span(analyzer: Any) -> None:
    body = "Sergei Lavrov met Hossein Amirabdollahian in Geneva on Monday."
    for event in events(analyzer, body):
        location: Location | None = event.location
        assert location is not None and location.span is not None
        assert body[location.span.start : location.span.end] == location.text


def test_a_visit_happens_at_the_host(analyzer: Any) -> None:
    found = events(analyzer, "Chinese President Xi Jinping visited Vietnam on Tuesday.")
    assert {(e.cameo_code, e.location.country if e.location else None) for e in found} == {
        ("042", "VNM")
    }
    found = events(analyzer, "Vietnam hosted Chinese President Xi Jinping on Tuesday.")
    assert {(e.cameo_code, e.location.country if e.location else None) for e in found} == {
        ("043", "VNM")
    }


def test_an_infinitive_of_purpose_shares_its_clause_place(analyzer: Any) -> None:
    found = events(analyzer, "Antony Blinken was in Geneva on Tuesday to meet Sergei Lavrov.")
    assert places_of(found) == {"Geneva"}
    assert {str(e.event_date) for e in found} == {"2023-10-24"}


def test_an_in_phrase_of_the_event_word_is_its_place_even_if_taken_for_a_party(
    analyzer: Any,
) -> None:
    # The actor coder reads "Beijing" as China, a party of the summit; it is also where.
    found = events(analyzer, "The deal was announced during a summit in Beijing by Tony Blair.")
    summit = [e for e in found if e.trigger == "summit"]
    assert summit and places_of(summit) == {"Beijing"}
    # Deeper down, a place that is an actor is the topic, not the place.
    found = events(analyzer, "Britain criticised the crackdown in China on Monday.")
    assert places_of(found) == {None}
