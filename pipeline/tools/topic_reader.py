"""Reading chosen offset ranges of one topic's partitions, for ``dipwire tail`` and ``replay``.

It reads with the one group-less reader (:mod:`pipeline.broker.clients`):
nothing is committed, no consumer group is disturbed. Partition ends are
the true ends (``pipeline.broker.quirks.true_end_offsets``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline.errors import PipelineError
from pipeline.settings import Settings

log = logging.getLogger(__name__)

IDLE_TIMEOUT_SECONDS = 15.0
"""Seconds without progress before a range read stops short (the broker went away)."""


@dataclass(frozen=True)
class TopicRecord:
    """One record of a topic: where it is, when it was written, its key, value and headers."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def timestamp(self) -> datetime:
        """The record timestamp, in UTC."""
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    @property
    def order(self) -> tuple[int, int, int]:
        """Sort key across partitions: time, then partition and offset."""
        return self.timestamp_ms, self.partition, self.offset


class TopicReader:
    """The partitions of one topic, their first and end offsets, and reads of offset ranges."""

    def __init__(self, settings: Settings, topic: str, partitions: Iterable[int] | None = None):
        from pipeline.broker.clients import open_reader, require_bootstrap
        from pipeline.broker.quirks import true_end_offsets
        from pipeline.broker.security import kafka_client_kwargs

        self.topic = topic
        self.embedded = settings.embedded
        self.consumer = open_reader(settings, [topic])
        try:
            tps = sorted(self.consumer.assignment(), key=lambda tp: tp.partition)
            if not tps:
                raise PipelineError(f"topic {topic} does not exist (is this the right broker?)")
            self.partitions = _chosen(tps, partitions, topic)
            self.consumer.assign(self.partitions)
            self.begin: dict[Any, int] = dict(self.consumer.beginning_offsets(self.partitions))
            self.end: dict[Any, int] = true_end_offsets(
                require_bootstrap(settings), self.partitions, kafka_client_kwargs(settings)
            )
        except BaseException:
            self.consumer.close()
            raise

    def close(self) -> None:
        """Close the consumer."""
        self.consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def offsets_at(self, timestamp_ms: int) -> dict[Any, int]:
        """Per partition, where records at or after ``timestamp_ms`` may start."""
        from pipeline.broker.quirks import offsets_for_time

        return offsets_for_time(
            self.consumer, self.partitions, timestamp_ms, self.end, embedded=self.embedded
        )

    def read(self, ranges: Mapping[Any, tuple[int, int]]) -> dict[Any, list[TopicRecord]]:
        """The records of each partition's ``[start, end)``, in offset order.

        Raises:
            PipelineError: Nothing arrived for :data:`IDLE_TIMEOUT_SECONDS`.
        """
        wanted = {tp: r for tp, r in ranges.items() if r[0] < r[1]}
        out: dict[Any, list[TopicRecord]] = {tp: [] for tp in ranges}
        if not wanted:
            return out
        self.consumer.pause(*self.partitions)
        for tp, (start, _) in wanted.items():
            self.consumer.seek(tp, start)
        self.consumer.resume(*wanted)
        pending = set(wanted)
        last = time.monotonic()
        while pending:
            batch = self.consumer.poll(timeout_ms=200)
            for tp, records in batch.items():
                start, end = wanted.get(tp, (0, 0))
                out[tp].extend(_view(r) for r in records if start <= r.offset < end)
            if batch:
                last = time.monotonic()
            done = {tp for tp in pending if self.consumer.position(tp) >= wanted[tp][1]}
            self.consumer.pause(*done)
            pending -= done
            if pending and time.monotonic() - last > IDLE_TIMEOUT_SECONDS:
                raise PipelineError(f"no progress reading {self.topic} for {IDLE_TIMEOUT_SECONDS}s")
        return out

    def follow(self) -> Iterator[TopicRecord]:
        """Every record written after the ends taken at the start, as it arrives; never ends.

        What one fetch brings is in timestamp order; fetches in the order they come.
        """
        for tp in self.partitions:
            self.consumer.seek(tp, self.end[tp])
        self.consumer.resume(*self.partitions)
        while True:
            batch = self.consumer.poll(timeout_ms=500)
            arrived = [_view(r) for records in batch.values() for r in records]
            yield from sorted(arrived, key=lambda r: r.order)


def _chosen(tps: list[Any], wanted: Iterable[int] | None, topic: str) -> list[Any]:
    if wanted is None:
        return tps
    by_number = {tp.partition: tp for tp in tps}
    missing = sorted(set(wanted) - set(by_number))
    if missing:
        raise PipelineError(
            f"topic {topic} has no partition {', '.join(map(str, missing))} "
            f"(it has {min(by_number)}-{max(by_number)})"
        )
    return [by_number[p] for p in sorted(set(wanted))]


def _view(record: Any) -> TopicRecord:
    return TopicRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp,
        key=record.key,
        value=record.value if record.value is not None else b"",
        headers=tuple((k, v or b"") for k, v in (record.headers or ())),
    )
