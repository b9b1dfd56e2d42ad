"""One event as a row of the GDELT 2.0 event file (the 61 columns of the Event codebook).

GDELT's rows are tab-separated, with no header line, in files named
``YYYYMMDDHHMMSS.export.CSV``. Which columns dipwire fills, and from what, is
the README's table ("Exports for event-data users"); the rest stay empty, as
GDELT leaves a column empty that it cannot fill.
"""

from __future__ import annotations

import hashlib

from pipeline.models import ActorRef, DiplomaticEvent
from pipeline.tools.export.fields import Geo, added_at, event_day, geo, number, text, ymd

ACTOR_FIELDS = (
    "Code",
    "Name",
    "CountryCode",
    "KnownGroupCode",
    "EthnicCode",
    "Religion1Code",
    "Religion2Code",
    "Type1Code",
    "Type2Code",
    "Type3Code",
)
GEO_FIELDS = ("Type", "FullName", "CountryCode", "ADM1Code", "ADM2Code", "Lat", "Long", "FeatureID")

GDELT_COLUMNS: tuple[str, ...] = (
    "GlobalEventID",
    "Day",
    "MonthYear",
    "Year",
    "FractionDate",
    *(f"Actor1{field}" for field in ACTOR_FIELDS),
    *(f"Actor2{field}" for field in ACTOR_FIELDS),
    "IsRootEvent",
    "EventCode",
    "EventBaseCode",
    "EventRootCode",
    "QuadClass",
    "GoldsteinScale",
    "NumMentions",
    "NumSources",
    "NumArticles",
    "AvgTone",
    *(f"Actor1Geo_{field}" for field in GEO_FIELDS),
    *(f"Actor2Geo_{field}" for field in GEO_FIELDS),
    *(f"ActionGeo_{field}" for field in GEO_FIELDS),
    "DATEADDED",
    "SOURCEURL",
)
"""The columns of a GDELT 2.0 event record, in file order."""

assert len(GDELT_COLUMNS) == 61


def global_event_id(event_id: str) -> int:
    """GDELT's numeric id: the first 60 bits of a SHA-256 of the event id (stable across runs)."""
    return int(hashlib.sha256(event_id.encode()).hexdigest()[:15], 16)


def _actor(actor: ActorRef | None) -> list[str]:
    if actor is None:
        return [""] * len(ACTOR_FIELDS)
    return [
        text(actor.code),
        text(actor.name).upper(),
        actor.country or "",
        "",
        "",
        "",
        "",
        actor.agent or "",
        "",
        "",
    ]


def gdelt_row(event: DiplomaticEvent) -> list[str]:
    """The 61 fields of ``event`` as GDELT 2.0 writes them."""
    day = event_day(event)
    fraction = day.year + day.timetuple().tm_yday / 365
    code = event.cameo_code
    row = [
        str(global_event_id(event.event_id)),
        ymd(day),
        day.strftime("%Y%m"),
        str(day.year),
        f"{fraction:.4f}",
        *_actor(event.source_actor),
        *_actor(event.target_actor),
        "",
        code,
        code[:3],
        event.cameo_root,
        str(event.quad_class),
        number(event.goldstein),
        "1",
        "1",
        "1",
        number(event.tone.document.gdelt),
        *Geo().columns(),
        *Geo().columns(),
        *geo(event.location).columns(),
        added_at(event).strftime("%Y%m%d%H%M%S"),
        text(event.url),
    ]
    assert len(row) == len(GDELT_COLUMNS)
    return row
