"""The two gold formats of ``dipwire eval``, how a file's format is told, and the split.

* **sentences**: one record per line with ``text`` and ``events`` (a list of
  ``{"source", "target", "code"}``); ``id``, ``date``, ``no_events`` and
  ``actor_dictionary`` are used when present;
* **articles**: one article per line with ``body`` and ``events``, each event
  naming its ``sentence`` (an exact substring of the body) and the ``start``
  offset of that sentence, plus ``source``, ``target``, ``code`` and optionally
  ``trigger``, ``location``, ``date`` and ``note``.

A file's format is the format of its first record; every record must share it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

NO_TARGET = "---"
"""The target code of an event without a target, as the gold files write it."""

Triple = tuple[str, str, str]

Part = Literal["work", "held", "all"]
PARTS: tuple[Part, ...] = ("work", "held", "all")

PART_RULE = (
    "a record's part is fixed by its id: held when int(sha256(id).hexdigest(), 16) % 3 == 0 "
    "(about a third), work otherwise"
)
"""The split rule in words, for the help text and the report."""


def part_of(record_id: str) -> Literal["work", "held"]:
    """The part of the gold a record belongs to, a fixed function of its id.

    About one record in three is ``held``: kept out of development, scored
    last. The rule depends on the id alone, so a record never changes side
    when others are added, removed or reordered, and both gold formats (a
    sentence id such as ``petr2-gsr:TEST_2``, an article id such as
    ``wikinews-2015-06-09-talks``) split the same way.
    """
    digest = int(hashlib.sha256(record_id.encode()).hexdigest(), 16)
    return "held" if digest % 3 == 0 else "work"


def in_part(record_id: str, part: Part) -> bool:
    """Whether ``record_id`` is scored when ``--part`` is ``part``."""
    return part == "all" or part_of(record_id) == part


class GoldFormatError(ValueError):
    """A gold file that cannot be read, with the file and line in the message."""


@dataclass(frozen=True)
class GoldRecord:
    """One evaluation sentence."""

    id: str
    text: str
    day: date | None
    dictionary: str
    gold: list[Triple]


@dataclass(frozen=True)
class GoldEvent:
    """One gold event of an article, in the sentence that states it."""

    sentence: str
    start: int
    source: str
    target: str
    code: str
    trigger: str = ""
    location: str | None = None
    date: str | None = None
    note: str = ""

    @property
    def end(self) -> int:
        """The offset just past the sentence in the body."""
        return self.start + len(self.sentence)

    @property
    def triple(self) -> Triple:
        """``(source, target, code)``."""
        return (self.source, self.target, self.code)


@dataclass(frozen=True)
class GoldArticle:
    """One evaluation article with the events its sentences state."""

    id: str
    body: str
    events: tuple[GoldEvent, ...]
    title: str = ""
    day: date | None = None
    url: str | None = None
    source: str | None = None
    license: str | None = None


@dataclass(frozen=True)
class Gold:
    """What a gold file holds: sentence records or articles, never both."""

    kind: Literal["sentences", "articles"]
    records: list[GoldRecord]
    articles: list[GoldArticle]


def is_article(raw: dict[str, Any]) -> bool:
    """A record is an article when it has a body and events that name their sentence."""
    events = raw.get("events")
    return (
        "body" in raw
        and isinstance(events, list)
        and all(isinstance(e, dict) and "sentence" in e and "start" in e for e in events)
    )


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GoldFormatError(f"{path}:{n}: not JSON ({exc.msg})") from None
            if not isinstance(raw, dict):
                raise GoldFormatError(f"{path}:{n}: a record must be a JSON object")
            yield n, raw


def read_gold(path: Path) -> Gold:
    """Read a gold file of either format (told by its first record)."""
    records: list[GoldRecord] = []
    articles: list[GoldArticle] = []
    kind: Literal["sentences", "articles"] | None = None
    for n, raw in _lines(path):
        this: Literal["sentences", "articles"] = "articles" if is_article(raw) else "sentences"
        kind = kind or this
        if this != kind:
            raise GoldFormatError(f"{path}:{n}: a {this[:-1]} record in a file of {kind}")
        try:
            if kind == "articles":
                articles.append(article_of(raw, n))
            else:
                records.append(record_of(raw, n))
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise GoldFormatError(f"{path}:{n}: {reason}") from None
    return Gold(kind or "sentences", records, articles)


def read_records(path: Path) -> list[GoldRecord]:
    """Read a JSON Lines file of gold sentences."""
    gold = read_gold(path)
    if gold.kind != "sentences":
        raise GoldFormatError(f"{path}: holds articles, not sentence records")
    return gold.records


def read_articles(path: Path) -> list[GoldArticle]:
    """Read a JSON Lines file of gold articles."""
    gold = read_gold(path)
    if gold.kind != "articles" and gold.records:
        raise GoldFormatError(f"{path}: holds sentence records, not articles")
    return gold.articles


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def record_of(raw: dict[str, Any], n: int) -> GoldRecord:
    """One sentence record; ``n`` (its line) names it when it has no id."""
    gold = [
        (str(e["source"]), str(e.get("target") or NO_TARGET), str(e["code"]))
        for e in raw.get("events", [])
    ]
    return GoldRecord(
        id=str(raw.get("id", f"line-{n}")),
        text=str(raw["text"]),
        day=_day(raw.get("date")),
        dictionary=str(raw.get("actor_dictionary", "default")),
        gold=[] if raw.get("no_events") else gold,
    )


GOLD_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
"""A gold event date: a day, a month or a year (``2015-06-09``, ``2015-06``, ``2015``)."""


def event_of(raw: dict[str, Any], body: str, k: int) -> GoldEvent:
    """Event ``k`` of an article; its sentence must stand at its offset in ``body``."""
    sentence, start = str(raw["sentence"]), int(raw["start"])
    if start < 0 or body[start : start + len(sentence)] != sentence:
        raise ValueError(f"event {k}: its sentence is not at offset {start} of the body")
    when = raw.get("date")
    if when is not None and not GOLD_DATE.fullmatch(str(when)):
        raise ValueError(f"event {k}: date {when!r} is not YYYY-MM-DD, YYYY-MM or YYYY")
    return GoldEvent(
        sentence=sentence,
        start=start,
        source=str(raw["source"]),
        target=str(raw.get("target") or NO_TARGET),
        code=str(raw["code"]),
        trigger=str(raw.get("trigger") or ""),
        location=str(raw["location"]) if raw.get("location") else None,
        date=str(when) if when is not None else None,
        note=str(raw.get("note") or ""),
    )


def check_sentences(events: Sequence[GoldEvent]) -> None:
    """Refuse gold sentences that overlap without being the same span.

    A predicted event is scored against the gold sentence whose span holds
    its sentence's start; that sentence must be unique. Two events may share
    a sentence (same start and text) but not cut through each other's.
    """
    spans = sorted({(e.start, e.end) for e in events})
    for (start, end), (next_start, _) in zip(spans, spans[1:], strict=False):
        if next_start < end:
            raise ValueError(f"gold sentences at {start} and {next_start} overlap")


def article_of(raw: dict[str, Any], n: int) -> GoldArticle:
    """One gold article; ``n`` (its line) names it when it has no id."""
    body = str(raw["body"])
    events = tuple(event_of(e, body, k) for k, e in enumerate(raw["events"], 1))
    check_sentences(events)
    return GoldArticle(
        id=str(raw.get("id", f"line-{n}")),
        body=body,
        events=events,
        title=str(raw.get("title") or ""),
        day=_day(raw.get("published_at")),
        url=raw.get("url"),
        source=raw.get("source"),
        license=raw.get("license"),
    )
