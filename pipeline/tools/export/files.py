"""Events into files: one file per 15-minute or daily slot, per layout, written whole.

A slot is taken from the time the event was added (``emitted_at``, GDELT's
``DATEADDED``) or from the day it happened (``--by event``). Repeated event
ids (a replay after a crash publishes the same event again) are written once.
Rows are sorted by the time added, then the event id, so the same events
always give the same bytes; a file is written to a temporary name and renamed,
so a reader never sees half of one.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from enum import StrEnum
from pathlib import Path

from pipeline.models import DiplomaticEvent
from pipeline.tools.export.fields import added_at, event_day
from pipeline.tools.export.gdelt import GDELT_COLUMNS, gdelt_row
from pipeline.tools.export.phoenix import PHOENIX_COLUMNS, phoenix_row


class Interval(StrEnum):
    """How much time one file covers."""

    QUARTER = "15min"
    DAY = "day"


class SlotBy(StrEnum):
    """Which time puts an event in a slot."""

    ADDED = "added"
    EVENT = "event"


@dataclass(frozen=True)
class Layout:
    """A file layout: its columns, its row builder and its file names."""

    name: str
    columns: tuple[str, ...]
    row: Callable[[DiplomaticEvent], list[str]]
    file_name: Callable[[datetime, Interval], str]


def _gdelt_name(start: datetime, interval: Interval) -> str:
    stamp = start.strftime("%Y%m%d%H%M%S" if interval is Interval.QUARTER else "%Y%m%d")
    return f"{stamp}.export.CSV"


def _phoenix_name(start: datetime, interval: Interval) -> str:
    stamp = start.strftime("%Y%m%d%H%M" if interval is Interval.QUARTER else "%Y%m%d")
    return f"phoenix.events.{stamp}.txt"


LAYOUTS: dict[str, Layout] = {
    "gdelt": Layout("gdelt", GDELT_COLUMNS, gdelt_row, _gdelt_name),
    "phoenix": Layout("phoenix", PHOENIX_COLUMNS, phoenix_row, _phoenix_name),
}
"""Every export layout, by its ``--format`` name."""


def slot_time(event: DiplomaticEvent, by: SlotBy) -> datetime:
    """The moment that places ``event`` in a slot, in UTC."""
    if by is SlotBy.EVENT:
        return datetime.combine(event_day(event), time(), tzinfo=UTC)
    return added_at(event)


def slot_start(moment: datetime, interval: Interval) -> datetime:
    """The start of the 15-minute or daily slot that holds ``moment``."""
    if interval is Interval.DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def distinct(events: Iterable[DiplomaticEvent]) -> list[DiplomaticEvent]:
    """One event per id: the earliest added of its copies."""
    kept: dict[str, DiplomaticEvent] = {}
    for event in events:
        seen = kept.get(event.event_id)
        if seen is None or added_at(event) < added_at(seen):
            kept[event.event_id] = event
    return list(kept.values())


@dataclass(frozen=True)
class Window:
    """Slot times ``[since, until)``; None is open."""

    since: datetime | None = None
    until: datetime | None = None

    def admits(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in the window."""
        if self.since is not None and moment < self.since:
            return False
        return self.until is None or moment < self.until


def slots(
    events: Iterable[DiplomaticEvent], interval: Interval, by: SlotBy, window: Window
) -> dict[datetime, list[DiplomaticEvent]]:
    """The distinct events in ``window``, by slot start, each slot sorted (time added, id)."""
    out: dict[datetime, list[DiplomaticEvent]] = {}
    for event in distinct(events):
        moment = slot_time(event, by)
        if window.admits(moment):
            out.setdefault(slot_start(moment, interval), []).append(event)
    for members in out.values():
        members.sort(key=lambda e: (added_at(e), e.event_id))
    return dict(sorted(out.items()))


def _line(fields: Iterable[str]) -> str:
    """One tab-separated line; a tab or line break inside a field becomes a blank."""
    return "\t".join(_BREAKS.sub(" ", field) for field in fields) + "\n"


_BREAKS = re.compile(r"[\t\r\n]")


def write_rows(path: Path, rows: Iterable[list[str]], header: tuple[str, ...] | None) -> None:
    """Write tab-separated rows to ``path`` through a temporary file in the same folder."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            if header is not None:
                out.write(_line(header))
            out.writelines(_line(row) for row in rows)
        # mkstemp makes the file private; an export is as readable as any new file.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@dataclass(frozen=True)
class Written:
    """One file written: where, which layout, how many events."""

    path: Path
    layout: str
    events: int


def export(
    events: Iterable[DiplomaticEvent],
    out_dir: Path,
    layouts: Iterable[str],
    interval: Interval,
    by: SlotBy = SlotBy.ADDED,
    window: Window = Window(),
    header: bool = False,
) -> list[Written]:
    """Write every slot of ``events`` in every layout into ``out_dir``; return what was written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    grouped = slots(events, interval, by, window)
    written = []
    for name in layouts:
        layout = LAYOUTS[name]
        for start, members in grouped.items():
            path = out_dir / layout.file_name(start, interval)
            rows = (layout.row(event) for event in members)
            write_rows(path, rows, layout.columns if header else None)
            written.append(Written(path, name, len(members)))
    return written
