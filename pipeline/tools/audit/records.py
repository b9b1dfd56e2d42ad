"""The audit's decoded records: each topic's messages read with the message models.

An input is decoded only far enough to find the id it claims, as the validate
stage would (it may be anything a producer sent); an output must be the model
its topic carries (``ArticleCoded``, ``DeadLetter``, ``DiplomaticEvent``),
validated by pydantic, or it is counted as unreadable.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from pipeline.models import MAX_ID_LENGTH, ArticleCoded, DeadLetter, DiplomaticEvent
from pipeline.topics import Role

VOLATILE_FIELDS = frozenset({"emitted_at", "ingested_at", "received_at", "coded_at", "failed_at"})
"""Wall-clock stamps a replay legitimately changes; left out when payloads are compared."""

AUDITED: tuple[Role, ...] = (Role.RAW, Role.CODED, Role.DLQ, Role.EVENTS)
"""The topics the audit reads: the input, both terminal topics and the events."""


@dataclass(frozen=True)
class InputRecord:
    """One message of ``articles.raw``: where it sits and the id it claims, if readable."""

    partition: int
    offset: int
    article_id: str | None


@dataclass(frozen=True)
class TerminalRecord:
    """An ``ArticleCoded`` or a ``DeadLetter``: the record that closes an article's account."""

    kind: Literal["coded", "dead_letter"]
    article_id: str | None
    error_kind: str | None = None
    origin_topic: str | None = None
    origin_partition: int | None = None
    origin_offset: int | None = None
    event_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventRecord:
    """One ``DiplomaticEvent``, its payload reduced to a digest (volatile stamps left out)."""

    event_id: str
    article_id: str | None
    digest: str


@dataclass
class Records:
    """Everything read from the four topics, decoded; ``unreadable`` counts what was not."""

    inputs: list[InputRecord] = field(default_factory=list)
    terminals: list[TerminalRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    unreadable: Counter[str] = field(default_factory=Counter)


def read_input(partition: int, offset: int, value: bytes | None) -> InputRecord:
    """Decode a raw message just enough to find its id, as the validate stage would."""
    article_id: str | None = None
    try:
        data = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        candidate = data.get("id")
        if isinstance(candidate, str) and candidate:
            article_id = candidate[:MAX_ID_LENGTH]
    return InputRecord(partition, offset, article_id)


def read_coded(value: bytes | None) -> TerminalRecord | None:
    """Decode an ``ArticleCoded``; None if it is not one."""
    try:
        coded = ArticleCoded.model_validate_json(value or b"")
    except ValidationError:
        return None
    return TerminalRecord("coded", coded.article_id, event_ids=tuple(coded.event_ids))


def read_dead_letter(value: bytes | None) -> TerminalRecord | None:
    """Decode a ``DeadLetter``; None if it is not one."""
    try:
        letter = DeadLetter.model_validate_json(value or b"")
    except ValidationError:
        return None
    return TerminalRecord(
        "dead_letter",
        letter.article_id,
        error_kind=letter.error_kind,
        origin_topic=letter.topic,
        origin_partition=letter.partition,
        origin_offset=letter.offset,
    )


def read_event(value: bytes | None) -> EventRecord | None:
    """Decode a ``DiplomaticEvent``; None if it is not one."""
    try:
        event = DiplomaticEvent.model_validate_json(value or b"")
    except ValidationError:
        return None
    digest = payload_digest(event.model_dump(mode="json"))
    return EventRecord(event.event_id, event.article_id, digest)


def payload_digest(data: Mapping[str, Any]) -> str:
    """A digest of ``data`` with its volatile stamps removed, independent of key order."""
    canonical = orjson.dumps(_without_volatile(data), option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE_FIELDS}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def decode_record(
    source: Role, partition: int, offset: int, value: bytes | None, into: Records
) -> None:
    """Decode one record of ``source`` (one of :data:`AUDITED`) and add it to ``into``."""
    if source == Role.RAW:
        into.inputs.append(read_input(partition, offset, value))
        return
    decoded: TerminalRecord | EventRecord | None
    if source == Role.CODED:
        decoded = read_coded(value)
    elif source == Role.DLQ:
        decoded = read_dead_letter(value)
    else:
        decoded = read_event(value)
    if decoded is None:
        into.unreadable[source.value] += 1
    elif isinstance(decoded, EventRecord):
        into.events.append(decoded)
    else:
        into.terminals.append(decoded)


def records_from(
    raw: Iterable[tuple[int, int, bytes]],
    coded: Iterable[bytes] = (),
    dlq: Iterable[bytes] = (),
    events: Iterable[bytes] = (),
) -> Records:
    """Decode records given as plain values: ``(partition, offset, bytes)`` for inputs."""
    records = Records()
    for partition, offset, value in raw:
        decode_record(Role.RAW, partition, offset, value, records)
    for role, values in ((Role.CODED, coded), (Role.DLQ, dlq), (Role.EVENTS, events)):
        for value in values:
            decode_record(role, 0, 0, value, records)
    return records
