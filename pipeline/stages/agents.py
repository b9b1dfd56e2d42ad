"""The thin Faust side of every stage: take a batch, process it off the loop, publish, count.

Delivery: a batch's input offsets are acknowledged only after every output of
the batch has been acknowledged by the broker (``Sink.publish`` returns when
all sends are acked), because ``stream.take_events`` acks the batch only after
the loop body returns. A crash between the two replays the batch: at least
once, with deterministic event ids so consumers can drop repeats.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pipeline.codec import Origin, Rejected, encode
from pipeline.metrics import Metrics
from pipeline.models import ArticleCoded, DiplomaticEvent, utcnow
from pipeline.stages.base import (
    BatchResult,
    Output,
    Record,
    Stage,
    crash_reason,
    record_key_id,
    reject,
)
from pipeline.topics import Role

log = logging.getLogger(__name__)

PUBLISH_RETRY_FIRST_SECONDS = 0.5
PUBLISH_RETRY_MAX_SECONDS = 30.0
"""Backoff between attempts to publish a batch's outputs (doubling up to the maximum)."""


class Sink(Protocol):
    """Where a stage's outputs go."""

    async def publish(self, outputs: Sequence[Output]) -> None:
        """Send every output; return once the broker has acknowledged all of them."""
        ...


class TopicSink:
    """Publishes outputs to Faust topics by role and waits for the broker's acks."""

    def __init__(self, topics: Mapping[Role, Any]) -> None:
        self._topics = topics

    async def publish(self, outputs: Sequence[Output]) -> None:
        """Send all outputs, then await every delivery future together."""
        pending: list[Awaitable[Any]] = []
        for output in outputs:
            topic = self._topics[output.role]
            pending.append(await topic.send(key=output.key, value=encode(output.value)))
        if pending:
            await asyncio.gather(*pending)


@dataclass
class ListSink:
    """Keeps published outputs in memory: the sink for agent tests and in-process runs."""

    outputs: list[Output] = field(default_factory=list)

    async def publish(self, outputs: Sequence[Output]) -> None:
        """Append the outputs."""
        self.outputs.extend(outputs)

    def by_role(self, role: Role | str) -> list[Any]:
        """The published models of one role, in order."""
        return [o.value for o in self.outputs if o.role == role]


def record_batch(
    metrics: Metrics,
    stage: str,
    received: int,
    result: BatchResult,
    seconds: float,
    published_at: datetime,
) -> None:
    """Count one processed batch: in/out/failed, dead letters, timing, events and latency."""
    metrics.messages_in.labels(stage).inc(received)
    metrics.batch_size.labels(stage).observe(received)
    if received:
        share = seconds / received
        for _ in range(received):
            metrics.processing_seconds.labels(stage).observe(share)
    for reason, count in result.duplicates.items():
        metrics.duplicates.labels(reason).inc(count)
    if result.truncated:
        metrics.truncated.inc(result.truncated)
    for scope, count in result.discarded.items():
        if count:
            metrics.discarded.labels(scope).inc(count)
    letters = result.dead_letters()
    for letter in letters:
        metrics.dead_letters.labels(stage, letter.error_kind).inc()
    failed = sum(1 for letter in letters if letter.error_kind != "duplicate_body")
    if failed:
        metrics.messages_failed.labels(stage).inc(failed)
    out = len(result.outputs) - len(letters)
    if out:
        metrics.messages_out.labels(stage).inc(out)
    for output in result.outputs:
        value = output.value
        if isinstance(value, DiplomaticEvent):
            _count_event(metrics, value, published_at)
        elif isinstance(value, ArticleCoded):
            metrics.articles_coded.inc()
            if value.received_at is not None:
                latency = (published_at - value.received_at).total_seconds()
                metrics.ingest_to_emit_seconds.observe(max(latency, 0.0))


def _count_event(metrics: Metrics, event: DiplomaticEvent, published_at: datetime) -> None:
    quad = str(event.quad_class)
    metrics.events.labels(event.cameo_root, quad).inc()
    source = event.source_actor.country or "none"
    target = (event.target_actor.country if event.target_actor else None) or "none"
    metrics.dyad_events.labels(source, target, quad).inc()
    metrics.dyad_tone.labels(source, target).observe(event.tone.sentence.gdelt)
    metrics.last_event_timestamp.set(published_at.timestamp())


StreamOfEvents = Any
"""A Faust stream (``faust.StreamT``); untyped upstream."""


def make_agent(
    stage: Stage,
    sink: Sink,
    metrics: Metrics,
    executor: Executor | None,
    batch_size: int,
    within: float,
    highwater: Callable[[str, int], int | None] | None = None,
    chunk_bytes: int | None = None,
    on_progress: Callable[[str, Sequence[Record]], None] | None = None,
) -> Callable[[StreamOfEvents], Awaitable[None]]:
    """Build the Faust agent function of ``stage``.

    The CPU-bound ``stage.process`` runs in ``executor`` (one thread per stage,
    see ``pipeline.app``) so the event loop keeps heartbeating while spaCy works.
    With ``chunk_bytes``, a taken batch is processed shortest message first in
    pieces of about that many bytes, each published as soon as it is done: a
    short article taken with a long one does not wait for the long one's parse.
    The batch is still acknowledged only after its last piece is published.
    ``on_progress`` is told of every piece once it is published (readiness).
    """

    async def agent(stream: StreamOfEvents) -> None:
        loop = asyncio.get_running_loop()
        batches: AsyncIterator[Sequence[Any]] = stream.take_events(batch_size, within=within)
        async for events in batches:
            records = [
                Record(
                    value=_as_bytes(event.value),
                    origin=Origin(
                        event.message.topic, event.message.partition, event.message.offset
                    ),
                    key=_as_bytes(event.key) if event.key is not None else None,
                )
                for event in events
            ]
            for piece in pieces(records, chunk_bytes):
                started = time.perf_counter()
                now = utcnow()
                result = await loop.run_in_executor(executor, process_or_reject, stage, piece, now)
                await publish_until_acked(sink, stage.id, result.outputs)
                elapsed = time.perf_counter() - started
                record_batch(metrics, stage.id, len(piece), result, elapsed, utcnow())
                if on_progress is not None:
                    on_progress(stage.id, piece)
            if highwater is not None:
                _record_lag(metrics, stage.id, records, highwater)

    agent.__name__ = f"{stage.id}_agent"
    agent.__qualname__ = agent.__name__
    return agent


def pieces(records: Sequence[Record], chunk_bytes: int | None) -> list[Sequence[Record]]:
    """Split a batch into pieces of at most ``chunk_bytes``, shortest messages first.

    Without ``chunk_bytes`` the batch is one piece, in its order. A message
    larger than ``chunk_bytes`` is a piece of its own.
    """
    if chunk_bytes is None or len(records) < 2:
        return [records]
    out: list[list[Record]] = []
    size = 0
    for record in sorted(records, key=lambda r: len(r.value)):
        if out and size + len(record.value) <= chunk_bytes:
            out[-1].append(record)
            size += len(record.value)
        else:
            out.append([record])
            size = len(record.value)
    return list(out)


def process_or_reject(stage: Stage, records: Sequence[Record], now: datetime) -> BatchResult:
    """Run ``stage.process``; if it raises for the whole batch, dead-letter every record.

    Stages isolate failures per message, so this only catches a bug in a stage
    itself. Without it the agent would crash, and Faust's supervisor restarts
    an agent without redelivering the batch it had taken: the stage would stall
    until the worker restarted.
    """
    try:
        return stage.process(records, now)
    except Exception as exc:
        log.exception(
            "stage %s: batch of %d failed as a whole; dead-lettering it", stage.id, len(records)
        )
        crashed = crash_reason(exc)
        return BatchResult(
            outputs=[
                reject(
                    record,
                    stage.id,
                    Rejected(crashed.kind, crashed.reason, record_key_id(record)),
                    now,
                )
                for record in records
            ]
        )


def _rejected(crashed: Rejected, record: Record) -> Rejected:
    return Rejected(crashed.kind, crashed.reason, record_key_id(record))


async def publish_until_acked(sink: Sink, stage: str, outputs: Sequence[Output]) -> None:
    """Publish ``outputs``, retrying with backoff until the broker has acknowledged all of them.

    The batch is acknowledged (and its offsets become committable) only when
    this returns, so retrying keeps at-least-once: a retry may repeat outputs
    already acked, which carry the same keys and deterministic ids. Letting the
    error escape instead would crash the agent, and Faust restarts it without
    redelivering the batch: the stage stalled silently while the worker looked
    healthy.
    """
    delay = PUBLISH_RETRY_FIRST_SECONDS
    while True:
        try:
            await sink.publish(outputs)
            return
        except Exception as exc:  # CancelledError is not an Exception: a stop still stops
            log.error(
                "stage %s: publishing %d output(s) failed (%s: %s); retrying in %.1f s",
                stage,
                len(outputs),
                type(exc).__name__,
                exc,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, PUBLISH_RETRY_MAX_SECONDS)


def _record_lag(
    metrics: Metrics,
    stage: str,
    records: Sequence[Record],
    highwater: Callable[[str, int], int | None],
) -> None:
    last: dict[tuple[str, int], int] = {}
    for record in records:
        origin = record.origin
        if origin.partition is not None and origin.offset is not None:
            last[(origin.topic, origin.partition)] = origin.offset
    for (topic, partition), offset in last.items():
        end = highwater(topic, partition)
        if end is not None:
            metrics.consumer_lag.labels(stage, str(partition)).set(max(end - offset - 1, 0))


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"expected raw bytes from the topic, got {type(value).__name__}")
