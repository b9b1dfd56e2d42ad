"""The reconciliation: every input matched to its terminal record; repeats and contradictions.

A pure function over decoded records (:mod:`pipeline.tools.audit.records`), so
it is tested with hand-made ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from pipeline.tools.audit.records import Records

Position = tuple[int, int]
"""A record's ``(partition, offset)`` on the input topic."""


@dataclass(frozen=True)
class AuditReport:
    """The outcome of one audit; ``ok`` is False when something was lost or contradicts itself."""

    input_messages: int
    input_ids: int
    inputs_without_id: int
    repeated_input_messages: int
    coded: int
    dead_letters: int
    dead_letters_by_kind: dict[str, int]
    missing: list[str]
    duplicate_terminals: dict[str, int]
    coded_and_dead_lettered: list[str]
    events: int
    distinct_events: int
    duplicate_event_ids: dict[str, int]
    conflicting_event_ids: list[str]
    missing_events: list[str]
    unreadable: dict[str, int]
    complete: bool = True

    @property
    def ok(self) -> bool:
        """True when every partition was read to its end, nothing is missing, no payload differs."""
        return self.complete and not (
            self.missing or self.missing_events or self.conflicting_event_ids
        )

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON-ready object, with ``ok`` included."""
        return {**asdict(self), "ok": self.ok}


def reconcile(records: Records, raw_topic: str) -> AuditReport:
    """Match every input message to a terminal record; find repeats and contradictions.

    An input is accounted for when its id has a terminal record (coded or dead
    letter), or when a dead letter names its exact position on ``raw_topic``
    (how a message without a readable id is matched). Every input message of an
    id after the first is a repeat: the validate stage drops it, or, after a
    restart that emptied its memory, codes it again (a duplicate terminal).

    Args:
        records: Decoded records of the four topics.
        raw_topic: Full name of the input topic, to match dead letters by position.

    Returns:
        The report; its lists are sorted so two audits of the same topics compare equal.
    """
    terminal_ids, kinds_by_id = _terminals_by_id(records)
    positions = _dead_letter_positions(records, raw_topic)
    input_ids: Counter[str] = Counter(i.article_id for i in records.inputs if i.article_id)
    missing = _missing(records, raw_topic, terminal_ids, positions)
    event_counts: Counter[str] = Counter(e.event_id for e in records.events)
    digests: dict[str, set[str]] = {}
    for event in records.events:
        digests.setdefault(event.event_id, set()).add(event.digest)
    promised = {e for t in records.terminals for e in t.event_ids}
    letters = [t for t in records.terminals if t.kind == "dead_letter"]
    return AuditReport(
        input_messages=len(records.inputs),
        input_ids=len(input_ids),
        inputs_without_id=sum(1 for i in records.inputs if i.article_id is None),
        repeated_input_messages=sum(n - 1 for n in input_ids.values()),
        coded=len({t.article_id for t in records.terminals if t.kind == "coded"}),
        dead_letters=len(letters),
        dead_letters_by_kind=dict(sorted(Counter(t.error_kind or "?" for t in letters).items())),
        missing=sorted(missing),
        duplicate_terminals={k: n for k, n in sorted(terminal_ids.items()) if n > 1},
        coded_and_dead_lettered=sorted(k for k, v in kinds_by_id.items() if len(v) > 1),
        events=len(records.events),
        distinct_events=len(event_counts),
        duplicate_event_ids={k: n for k, n in sorted(event_counts.items()) if n > 1},
        conflicting_event_ids=sorted(k for k, v in digests.items() if len(v) > 1),
        missing_events=sorted(promised - event_counts.keys()),
        unreadable=dict(sorted(records.unreadable.items())),
    )


def _terminals_by_id(records: Records) -> tuple[Counter[str], dict[str, set[str]]]:
    """Terminal records per article id, and the kinds (coded, dead letter) each id has."""
    counts: Counter[str] = Counter()
    kinds: dict[str, set[str]] = {}
    for terminal in records.terminals:
        if terminal.article_id is not None:
            counts[terminal.article_id] += 1
            kinds.setdefault(terminal.article_id, set()).add(terminal.kind)
    return counts, kinds


def _dead_letter_positions(records: Records, raw_topic: str) -> set[Position]:
    """The input positions that dead letters name (how an id-less input is accounted for)."""
    return {
        (t.origin_partition, t.origin_offset)
        for t in records.terminals
        if t.origin_topic == raw_topic
        and t.origin_partition is not None
        and t.origin_offset is not None
    }


def _missing(
    records: Records, raw_topic: str, terminal_ids: Counter[str], positions: set[Position]
) -> set[str]:
    """Inputs without a terminal record: by id, or by position for an input without one.

    An id is accounted for by a terminal record of its own or, when the id was
    unreadable to the stage, by a dead letter at one of its positions.
    """
    missing: set[str] = set()
    id_positions: dict[str, list[Position]] = {}
    for item in records.inputs:
        position = (item.partition, item.offset)
        if item.article_id is None:
            if position not in positions:
                missing.add(f"{raw_topic}[{item.partition}]@{item.offset}")
        else:
            id_positions.setdefault(item.article_id, []).append(position)
    for article_id, seen_at in id_positions.items():
        if not terminal_ids[article_id] and not any(p in positions for p in seen_at):
            missing.add(article_id)
    return missing


def iter_problems(report: AuditReport) -> Iterator[str]:
    """One line per reason the audit failed, for logs and assertions."""
    if report.missing:
        yield f"{len(report.missing)} input(s) without a terminal record"
    if report.missing_events:
        yield f"{len(report.missing_events)} event(s) named by articles.coded are absent"
    if report.conflicting_event_ids:
        yield f"{len(report.conflicting_event_ids)} event id(s) with different payloads"
    if not report.complete:
        yield "some partitions were not read to their end"
