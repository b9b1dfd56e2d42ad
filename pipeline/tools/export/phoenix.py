"""One event as a row of a Phoenix event file (the OEDA Phoenix data's 26 columns).

Phoenix's daily files are tab-separated with no header line. Which columns
dipwire fills, and from what, is the README's table ("Exports for event-data
users").
"""

from __future__ import annotations

from pipeline.models import ActorRef, DiplomaticEvent
from pipeline.tools.export.fields import coordinate, event_day, number, text, ymd

ISSUE_PREFIX = "issue:"
"""Topic labels that carry an issue of the issue dictionaries (``issue:<code>``)."""

PHOENIX_COLUMNS: tuple[str, ...] = (
    "EventID",
    "Date",
    "Year",
    "Month",
    "Day",
    "SourceActorFull",
    "SourceActorEntity",
    "SourceActorRole",
    "SourceActorAttribute",
    "TargetActorFull",
    "TargetActorEntity",
    "TargetActorRole",
    "TargetActorAttribute",
    "EventCode",
    "EventRootCode",
    "QuadClass",
    "GoldsteinScore",
    "Issues",
    "Lat",
    "Lon",
    "LocationName",
    "StateName",
    "CountryCode",
    "SentenceID",
    "URLs",
    "NewsSources",
)
"""The columns of a Phoenix event record, in file order."""


def _actor(actor: ActorRef | None) -> list[str]:
    if actor is None:
        return ["", "", "", ""]
    code = text(actor.code)
    return [code, code[:3], actor.agent or "", ""]


def issues(event: DiplomaticEvent) -> str:
    """Phoenix's ``ISSUE,count;ISSUE,count`` from the event's ``issue:`` topic labels."""
    codes = [
        t.topic[len(ISSUE_PREFIX) :].upper()
        for t in event.topics
        if t.topic.startswith(ISSUE_PREFIX)
    ]
    return ";".join(f"{code},1" for code in dict.fromkeys(codes) if code)


def phoenix_row(event: DiplomaticEvent) -> list[str]:
    """The 26 fields of ``event`` in Phoenix's layout."""
    day = event_day(event)
    place = event.location
    row = [
        event.event_id,
        ymd(day),
        str(day.year),
        str(day.month),
        str(day.day),
        *_actor(event.source_actor),
        *_actor(event.target_actor),
        event.cameo_code,
        event.cameo_root,
        str(event.quad_class),
        number(event.goldstein),
        issues(event),
        coordinate(place.latitude) if place else "",
        coordinate(place.longitude) if place else "",
        text(place.text) if place else "",
        "",
        (place.country or "") if place else "",
        f"{text(event.article_id)}_{event.sentence_span.start}",
        text(event.url),
        "",
    ]
    assert len(row) == len(PHOENIX_COLUMNS)
    return row
