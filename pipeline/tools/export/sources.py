"""Where exported events come from: JSON Lines files of events, or the events topic.

A JSONL file holds one ``DiplomaticEvent`` a line, as ``dipwire tail`` prints
them; a line that is not one stops the export with its file and line number
(nothing is written). The topic is read from its beginning to its true end
with the group-less reader: nothing is committed, no consumer group moves.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
from pydantic import ValidationError

from pipeline.errors import PipelineError
from pipeline.models import DiplomaticEvent
from pipeline.settings import Settings
from pipeline.topics import TopicNames

log = logging.getLogger(__name__)


class ExportInputError(PipelineError):
    """An input line is not a diplomatic event."""


TAIL_KEYS = frozenset({"topic", "partition", "offset", "value"})
"""The keys of a line ``dipwire tail`` prints: the record's value is the event."""


def _event_of(line: str) -> object:
    """The event of one line: the line itself, or the value of a ``dipwire tail`` line."""
    data = orjson.loads(line)
    if isinstance(data, dict) and TAIL_KEYS <= data.keys():
        return data["value"]
    return data


def _event_at(line: str, where: str) -> DiplomaticEvent:
    try:
        data = _event_of(line)
    except orjson.JSONDecodeError as exc:
        raise ExportInputError(f"{where}: not JSON ({exc})") from None
    try:
        return DiplomaticEvent.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "line"
        raise ExportInputError(
            f"{where}: not a diplomatic event ({field}: {first['msg']})"
        ) from None


def read_jsonl(paths: Sequence[str]) -> Iterator[DiplomaticEvent]:
    """The events of JSON Lines files (``-`` is stdin); blank lines are skipped.

    Raises:
        ExportInputError: A line is not a ``DiplomaticEvent``.
    """
    for name in paths:
        stream = sys.stdin if name == "-" else Path(name).open(encoding="utf-8")
        try:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                yield _event_at(line, f"{name}:{number}")
        finally:
            if stream is not sys.stdin:
                stream.close()


def read_topic(settings: Settings, *, idle_timeout: float = 15.0) -> list[DiplomaticEvent]:
    """Every event on the events topic, from its beginning to each partition's true end.

    A record that is not an event is skipped and counted in one warning. The
    end of each partition comes from a fetch's high watermark
    (``pipeline.broker.quirks.true_end_offsets``): the embedded broker's
    ListOffsets answer is wrong after multi-record batches.

    Raises:
        ExportInputError: A partition made no progress for ``idle_timeout`` seconds.
    """
    from pipeline.broker.clients import open_reader, require_bootstrap
    from pipeline.broker.quirks import true_end_offsets
    from pipeline.broker.security import kafka_client_kwargs

    topic = TopicNames.from_settings(settings).events
    consumer = open_reader(settings, [topic])
    events: list[DiplomaticEvent] = []
    unreadable = 0
    try:
        partitions = sorted(consumer.assignment())
        if not partitions:
            raise ExportInputError(f"topic {topic} does not exist on this broker")
        ends = true_end_offsets(
            require_bootstrap(settings), partitions, kafka_client_kwargs(settings)
        )
        pending = {tp for tp in partitions if consumer.position(tp) < ends[tp]}
        last_progress = time.monotonic()
        while pending:
            for tp, records in consumer.poll(timeout_ms=200).items():
                last_progress = time.monotonic()
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    try:
                        events.append(DiplomaticEvent.model_validate_json(record.value or b""))
                    except ValidationError:
                        unreadable += 1
            pending = {tp for tp in pending if consumer.position(tp) < ends[tp]}
            if pending and time.monotonic() - last_progress > idle_timeout:
                raise ExportInputError(
                    f"{topic}: no progress for {idle_timeout:.0f} s before the end of "
                    + ", ".join(f"partition {tp.partition}" for tp in sorted(pending))
                )
    finally:
        consumer.close()
    if unreadable:
        log.warning(
            "export: %d record(s) on %s are not diplomatic events; skipped", unreadable, topic
        )
    return events
