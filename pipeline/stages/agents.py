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

from pipeline.codec import Origin, Rejected
from pipeline.headers import output_headers
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
from pipeline.stages.fit import Fitted, fit_outputs
from pipeline.stages.lane import LongLane
from pipeline.stages.publish import Outcome, publish_until_acked
from pipeline.topics import Role

log = logging.getLogger(__name__)

NO_LIMIT = 2**62
"""The record-size limit of an agent that is given none (tests, in-process runs)."""


class Sink(Protocol):
    """Where a stage's outputs go."""

    async def publish(self, outputs: Sequence[Output]) -> Sequence[Outcome]:
        """Send every output; return, once each is settled, one outcome per output.

        An outcome is ``None`` when the broker acknowledged the output, else the
        error that stopped it (:mod:`pipeline.stages.publish` sorts them out).
        """
        ...


class TopicSink:
    """Publishes outputs to Faust topics by role and waits for the broker's acks.

    Every record carries the headers of :func:`pipeline.headers.output_headers`.
    """

    def __init__(self, topics: Mapping[Role, Any]) -> None:
        self._topics = topics

    async def publish(self, outputs: Sequence[Output]) -> list[Outcome]:
        """Send all outputs, then await every delivery future together; one outcome each."""
        outcomes: list[Outcome] = [None] * len(outputs)
        pending: list[tuple[int, Awaitable[Any]]] = []
        for i, output in enumerate(outputs):
            topic = self._topics[output.role]
            try:  # the producer refuses an oversized record here, before sending
                pending.append(
                    (
                        i,
                        await topic.send(
                            key=output.key,
                            value=output.payload(),
                            headers=output_headers(output.value),
                        ),
                    )
                )
            except Exception as exc:
                outcomes[i] = exc
        results = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
        for (i, _), result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result  # cancelled: a stop still stops
                outcomes[i] = result
        return outcomes


@dataclass
class ListSink:
    """Keeps published outputs in memory: the sink for agent tests and in-process runs."""

    outputs: list[Output] = field(default_factory=list)

    async def publish(self, outputs: Sequence[Output]) -> list[Outcome]:
        """Append the outputs; all are acknowledged."""
        self.outputs.extend(outputs)
        return [None] * len(outputs)

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
    metrics.batch_size.labels(stage).observe(received)
    letters = result.dead_letters()
    if result.steps:  # chained: each step counted as its own agent counts it
        inner = sum(step.seconds for name, step in result.steps.items() if name != stage)
        for name, step in result.steps.items():
            # the agent's own step also holds the publishing and waiting of the batch
            took = max(seconds - inner, 0.0) if name == stage else step.seconds
            _count_step(metrics, name, step.received, step.out, took)
    else:
        out = len(result.outputs) - len(letters)
        _count_step(metrics, stage, received, out, seconds)
    for reason, count in result.duplicates.items():
        metrics.duplicates.labels(reason).inc(count)
    if result.truncated:
        metrics.truncated.inc(result.truncated)
    for scope, count in result.discarded.items():
        if count:
            metrics.discarded.labels(scope).inc(count)
    for letter in letters:  # under the stage (or chained step) that wrote it
        metrics.dead_letters.labels(letter.stage, letter.error_kind).inc()
        if letter.error_kind != "duplicate_body":
            metrics.messages_failed.labels(letter.stage).inc()
    for output in result.outputs:
        value = output.value
        if isinstance(value, DiplomaticEvent):
            _count_event(metrics, value, published_at)
        elif isinstance(value, ArticleCoded):
            metrics.articles_coded.inc()
            if value.received_at is not None:
                latency = (published_at - value.received_at).total_seconds()
                metrics.ingest_to_emit_seconds.observe(max(latency, 0.0))


def _count_step(metrics: Metrics, stage: str, received: int, out: int, seconds: float) -> None:
    """Messages in and out of one stage, and its seconds shared among what it took in."""
    metrics.messages_in.labels(stage).inc(received)
    if received:
        share = seconds / received
        for _ in range(received):
            metrics.processing_seconds.labels(stage).observe(share)
    if out:
        metrics.messages_out.labels(stage).inc(out)


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


PieceRunner = Callable[[Stage, Executor | None, Sequence[Record]], Awaitable[None]]
"""Processes one piece on a stage and an executor, publishes it until acknowledged."""


def _piece_runner(
    stage_id: str,
    sink: Sink,
    metrics: Metrics,
    max_message_bytes: int,
    on_progress: Callable[[str, Sequence[Record]], None] | None,
) -> PieceRunner:
    """Process a piece, fit and publish its outputs until acknowledged, and account for it."""

    async def run_piece(on: Stage, pool: Executor | None, piece: Sequence[Record]) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        now = utcnow()
        result, fitted = await loop.run_in_executor(
            pool, process_and_fit, on, piece, now, max_message_bytes
        )
        published = await publish_until_acked(
            sink.publish,
            stage_id,
            fitted.outputs,
            limit=max_message_bytes,
            origins=origins(piece),
        )
        elapsed = time.perf_counter() - started
        result.outputs = published.acked
        record_batch(metrics, stage_id, len(piece), result, elapsed, utcnow())
        _record_publish(metrics, stage_id, fitted, published.retried)
        if on_progress is not None:
            on_progress(stage_id, piece)

    return run_piece


def make_agent(
    stage: Stage,
    sink: Sink,
    metrics: Metrics,
    executor: Executor | None,
    batch_size: int,
    within: float,
    highwater: Callable[[str, int], int | None] | None = None,
    chunk_bytes: int | None = None,
    max_message_bytes: int = NO_LIMIT,
    lane: LongLane | None = None,
    on_progress: Callable[[str, Sequence[Record]], None] | None = None,
) -> Callable[[StreamOfEvents], Awaitable[None]]:
    """Build the Faust agent function of ``stage``.

    The CPU-bound ``stage.process`` runs in ``executor`` (one thread per stage,
    see ``pipeline.app``) so the event loop keeps heartbeating while spaCy works.
    With ``chunk_bytes``, a taken batch is processed shortest message first in
    pieces of about that many bytes, each published as soon as it is done: a
    short article taken with a long one does not wait for the long one's parse.
    The batch is still acknowledged only after its last piece is published.
    With ``lane``, a long message goes to the lane's own stage meanwhile
    (:mod:`pipeline.stages.lane`). Outputs are fitted to ``max_message_bytes``
    (:mod:`pipeline.stages.fit`) and published until acknowledged
    (:mod:`pipeline.stages.publish`); ``on_progress`` hears of each piece.
    """
    run_piece = _piece_runner(stage.id, sink, metrics, max_message_bytes, on_progress)

    async def agent(stream: StreamOfEvents) -> None:
        batches: AsyncIterator[Sequence[Any]] = stream.take_events(batch_size, within=within)
        async for events in batches:
            records = [record_of(event) for event in events]
            rest = records
            if lane is not None:
                rest = await lane.divert(events, records, run_piece, stream.ack)
            for piece in pieces(rest, chunk_bytes) if rest else ():
                await run_piece(stage, executor, piece)
            if highwater is not None:
                _record_lag(metrics, stage.id, records, highwater)

    agent.__name__ = f"{stage.id}_agent"
    agent.__qualname__ = agent.__name__
    return agent


def record_of(event: Any) -> Record:
    """The stage's view of one Faust event: its bytes, where it was read, key and headers."""
    message = event.message
    return Record(
        value=_as_bytes(event.value),
        origin=Origin(message.topic, message.partition, message.offset),
        key=_as_bytes(event.key) if event.key is not None else None,
        headers=_headers(event.headers),
    )


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


def process_and_fit(
    stage: Stage, records: Sequence[Record], now: datetime, max_message_bytes: int
) -> tuple[BatchResult, Fitted]:
    """Run the stage on ``records`` and encode its outputs, each made to fit the limit."""
    result = process_or_reject(stage, records, now)
    return result, fit_outputs(result.outputs, max_message_bytes)


def origins(records: Sequence[Record]) -> dict[str, Origin]:
    """Where each keyed record of a batch was read, by the article id it is keyed by."""
    return {key: r.origin for r in records if (key := record_key_id(r)) is not None}


def _record_publish(metrics: Metrics, stage: str, fitted: Fitted, retried: int) -> None:
    if fitted.reduced:
        metrics.outputs_reduced.labels(stage).inc(fitted.reduced)
    if retried:
        metrics.publish_retries.labels(stage).inc(retried)


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


def _headers(headers: Any) -> tuple[tuple[str, bytes], ...]:
    """Faust's headers of an event (a mapping, or pairs) as a tuple of pairs."""
    if not headers:
        return ()
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((str(k), b"" if v is None else _as_bytes(v)) for k, v in pairs)


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"expected raw bytes from the topic, got {type(value).__name__}")
