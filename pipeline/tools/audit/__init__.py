"""``dipwire audit``: reconcile what went into the pipeline with what came out.

Every article read from ``articles.raw`` must end in exactly one terminal
record: an ``ArticleCoded`` on ``articles.coded`` or a ``DeadLetter`` on
``articles.dlq``. The one exception is a second copy of an id, which the
validate stage drops because the first copy already has its record. Under
at-least-once delivery a replay may add a second terminal record or repeat an
event; that is reported, not an error, as long as a repeated event id always
carries the same payload.

The reconciliation (:func:`reconcile`) is a pure function over decoded records
so it can be tested with hand-made ones; :func:`read_topics` does the Kafka
part with kafka-python, without a consumer group (nothing is committed), from
the beginning of every partition to its true end.

Exit status: 0 when every input is accounted for, 1 when an input has no
terminal record, an event promised by an ``ArticleCoded`` is absent, or one
event id carries two different payloads.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from pipeline.models import MAX_ID_LENGTH
from pipeline.settings import Settings
from pipeline.topics import TopicNames

log = logging.getLogger(__name__)

VOLATILE_FIELDS = frozenset({"emitted_at", "ingested_at", "received_at", "coded_at", "failed_at"})
"""Wall-clock stamps a replay legitimately changes; left out when payloads are compared."""

Source = Literal["raw", "coded", "dlq", "events"]


# --------------------------------------------------------------------------- decoded records


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
    data = _object(value)
    if data is None or not isinstance(data.get("article_id"), str):
        return None
    event_ids = data.get("event_ids") or []
    if not isinstance(event_ids, list) or not all(isinstance(e, str) for e in event_ids):
        return None
    return TerminalRecord("coded", data["article_id"], event_ids=tuple(event_ids))


def read_dead_letter(value: bytes | None) -> TerminalRecord | None:
    """Decode a ``DeadLetter``; None if it is not one."""
    data = _object(value)
    if data is None or not isinstance(data.get("error_kind"), str):
        return None
    article_id = data.get("article_id")
    partition = data.get("partition")
    offset = data.get("offset")
    topic = data.get("topic")
    return TerminalRecord(
        "dead_letter",
        article_id if isinstance(article_id, str) else None,
        error_kind=data["error_kind"],
        origin_topic=topic if isinstance(topic, str) else None,
        origin_partition=partition if isinstance(partition, int) else None,
        origin_offset=offset if isinstance(offset, int) else None,
    )


def read_event(value: bytes | None) -> EventRecord | None:
    """Decode a ``DiplomaticEvent``; None if it has no event id."""
    data = _object(value)
    if data is None or not isinstance(data.get("event_id"), str):
        return None
    article_id = data.get("article_id")
    return EventRecord(
        data["event_id"], article_id if isinstance(article_id, str) else None, payload_digest(data)
    )


def payload_digest(data: Mapping[str, Any]) -> str:
    """A digest of ``data`` with its volatile stamps removed, independent of key order."""
    stable = _without_volatile(data)
    canonical = orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE_FIELDS}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def _object(value: bytes | None) -> dict[str, Any] | None:
    try:
        data = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def decode_record(
    source: Source, partition: int, offset: int, value: bytes | None, into: Records
) -> None:
    """Decode one record of ``source`` and add it to ``into``."""
    if source == "raw":
        into.inputs.append(read_input(partition, offset, value))
        return
    decoded: TerminalRecord | EventRecord | None
    if source == "coded":
        decoded = read_coded(value)
    elif source == "dlq":
        decoded = read_dead_letter(value)
    else:
        decoded = read_event(value)
    if decoded is None:
        into.unreadable[source] += 1
    elif isinstance(decoded, EventRecord):
        into.events.append(decoded)
    else:
        into.terminals.append(decoded)


# --------------------------------------------------------------------------- reconciliation


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
    terminal_ids: Counter[str] = Counter()
    kinds_by_id: dict[str, set[str]] = {}
    positions: set[tuple[int, int]] = set()
    for terminal in records.terminals:
        if terminal.article_id is not None:
            terminal_ids[terminal.article_id] += 1
            kinds_by_id.setdefault(terminal.article_id, set()).add(terminal.kind)
        if (
            terminal.origin_topic == raw_topic
            and terminal.origin_partition is not None
            and terminal.origin_offset is not None
        ):
            positions.add((terminal.origin_partition, terminal.origin_offset))

    input_ids: Counter[str] = Counter()
    missing: set[str] = set()
    without_id = 0
    for item in records.inputs:
        position = (item.partition, item.offset)
        if item.article_id is None:
            without_id += 1
            if position not in positions:
                missing.add(f"{raw_topic}[{item.partition}]@{item.offset}")
            continue
        input_ids[item.article_id] += 1
    # An id is accounted for by a terminal record of its own or, when the id was
    # unreadable to the stage, by a dead letter at one of its positions.
    id_positions: dict[str, list[tuple[int, int]]] = {}
    for item in records.inputs:
        if item.article_id is not None:
            id_positions.setdefault(item.article_id, []).append((item.partition, item.offset))
    for article_id in input_ids:
        if terminal_ids[article_id]:
            continue
        if any(p in positions for p in id_positions[article_id]):
            continue
        missing.add(article_id)

    event_counts: Counter[str] = Counter()
    digests: dict[str, set[str]] = {}
    for event in records.events:
        event_counts[event.event_id] += 1
        digests.setdefault(event.event_id, set()).add(event.digest)
    promised = {e for t in records.terminals for e in t.event_ids}
    letters = [t for t in records.terminals if t.kind == "dead_letter"]

    return AuditReport(
        input_messages=len(records.inputs),
        input_ids=len(input_ids),
        inputs_without_id=without_id,
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


# --------------------------------------------------------------------------- reading Kafka


@dataclass(frozen=True)
class TimeRange:
    """Record timestamps (ms since the epoch) that bound the inputs; None is open."""

    since_ms: int | None = None
    until_ms: int | None = None

    def admits_input(self, timestamp_ms: int) -> bool:
        """Inputs must lie in ``[since, until)``."""
        if self.since_ms is not None and timestamp_ms < self.since_ms:
            return False
        return self.until_ms is None or timestamp_ms < self.until_ms

    def admits_output(self, timestamp_ms: int) -> bool:
        """Outputs are read from ``since`` to the end: a late terminal record still counts."""
        return self.since_ms is None or timestamp_ms >= self.since_ms


def read_topics(
    settings: Settings,
    time_range: TimeRange = TimeRange(),
    *,
    idle_timeout: float = 15.0,
) -> Records:
    """Read the input and the three output topics from the beginning to their true end.

    The end of each partition is taken from a fetch response's high watermark
    (``pipeline.broker.quirks.true_end_offsets``): the embedded broker's ListOffsets
    answer is wrong after multi-record batches, and a reader that trusted it
    would stop early and report articles as missing.

    Args:
        settings: Broker address, security settings and topic prefix.
        time_range: Bounds on record timestamps; see :class:`TimeRange`.
        idle_timeout: Seconds without progress before giving up on a partition
            that has not reached its end; the report is then marked incomplete.

    Returns:
        The decoded records; ``Records.unreadable["incomplete"]`` counts
        partitions that were not read to their end.
    """
    from pipeline.broker.clients import open_reader, require_bootstrap
    from pipeline.broker.quirks import true_end_offsets
    from pipeline.broker.security import kafka_client_kwargs

    bootstrap = require_bootstrap(settings)
    names = TopicNames.from_settings(settings)
    sources: dict[str, Source] = {
        names.raw: "raw",
        names.coded: "coded",
        names.dlq: "dlq",
        names.events: "events",
    }
    # Transactional producers leave aborted records behind; only a real Kafka has them.
    isolation = (
        "read_committed"
        if settings.processing_guarantee == "exactly_once" and not settings.embedded
        else "read_uncommitted"
    )
    consumer = open_reader(settings, sources, isolation_level=isolation)
    records = Records()
    try:
        partitions = sorted(consumer.assignment())
        if not partitions:
            return records
        ends = true_end_offsets(bootstrap, partitions, kafka_client_kwargs(settings))
        pending = {tp for tp in partitions if consumer.position(tp) < ends[tp]}
        last_progress = time.monotonic()
        while pending:
            batch = consumer.poll(timeout_ms=200)
            for tp, batch_records in batch.items():
                source = sources[tp.topic]
                for record in batch_records:
                    if record.offset >= ends[tp]:
                        continue
                    admitted = (
                        time_range.admits_input(record.timestamp)
                        if source == "raw"
                        else time_range.admits_output(record.timestamp)
                    )
                    if admitted:
                        decode_record(source, tp.partition, record.offset, record.value, records)
            if batch:
                last_progress = time.monotonic()
            done = {tp for tp in pending if consumer.position(tp) >= ends[tp]}
            pending -= done
            for tp in done:
                consumer.pause(tp)
            if pending and time.monotonic() - last_progress > idle_timeout:
                log.warning(
                    "audit: no progress for %.0f s; stopping short on %s",
                    idle_timeout,
                    ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in pending)),
                )
                records.unreadable["incomplete"] += len(pending)
                break
    finally:
        consumer.close()
    return records


def audit(settings: Settings, time_range: TimeRange = TimeRange()) -> AuditReport:
    """Read the topics and reconcile them."""
    records = read_topics(settings, time_range)
    report = reconcile(records, TopicNames.from_settings(settings).raw)
    if records.unreadable.get("incomplete"):
        return dataclasses.replace(report, complete=False)
    return report


# --------------------------------------------------------------------------- command line


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``dipwire audit``."""
    parser.add_argument(
        "--since",
        type=parse_time,
        default=None,
        help="only inputs with a record timestamp at or after this (ISO 8601 or epoch seconds)",
    )
    parser.add_argument(
        "--until",
        type=parse_time,
        default=None,
        help="only inputs with a record timestamp before this; later outputs still count",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--show", type=int, default=20, help="ids listed per problem in the text report"
    )


def parse_time(text: str) -> datetime:
    """Parse ISO 8601 (naive means UTC) or seconds since the epoch."""
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the audit and print the report; 1 when something is missing or contradicts itself."""
    if not settings.kafka_bootstrap_servers:
        sys.stderr.write(
            "dipwire audit: KAFKA_BOOTSTRAP_SERVERS is not set; point it at the broker the "
            "worker uses (an embedded broker started now would be empty)\n"
        )
        return 2
    time_range = TimeRange(
        since_ms=_ms(args.since),
        until_ms=_ms(args.until),
    )
    report = audit(settings, time_range)
    if args.json:
        sys.stdout.write(orjson.dumps(report.to_json()).decode() + "\n")
    else:
        sys.stdout.write(render(report, TopicNames.from_settings(settings), args.show))
    return 0 if report.ok else 1


def _ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def render(report: AuditReport, names: TopicNames, show: int = 20) -> str:
    """The report as text for a person."""
    lines = [
        f"inputs ({names.raw}): {report.input_messages} message(s), {report.input_ids} "
        f"distinct id(s), {report.inputs_without_id} without a readable id, "
        f"{report.repeated_input_messages} repeated id(s)",
        f"coded ({names.coded}): {report.coded} article(s)",
        f"dead letters ({names.dlq}): {report.dead_letters}"
        + "".join(f"\n  {kind}: {n}" for kind, n in report.dead_letters_by_kind.items()),
        f"events ({names.events}): {report.events} record(s), {report.distinct_events} "
        "distinct id(s)",
        _listed("missing (input without a terminal record)", report.missing, show),
        _listed(
            "duplicate terminal records (article id x records)",
            [f"{k} x{n}" for k, n in report.duplicate_terminals.items()],
            show,
        ),
        _listed("both coded and dead-lettered", report.coded_and_dead_lettered, show),
        _listed(
            "duplicate event ids (id x records)",
            [f"{k} x{n}" for k, n in report.duplicate_event_ids.items()],
            show,
        ),
        _listed("event ids with different payloads", report.conflicting_event_ids, show),
        _listed("events named by articles.coded but absent", report.missing_events, show),
    ]
    if report.unreadable:
        lines.append(
            "unreadable records: " + ", ".join(f"{k}: {n}" for k, n in report.unreadable.items())
        )
    if not report.complete:
        lines.append("WARNING: some partitions were not read to their end")
    lines.append("OK: every input is accounted for" if report.ok else "FAILED")
    return "\n".join(lines) + "\n"


def _listed(title: str, items: Sequence[str], show: int) -> str:
    head = f"{title}: {len(items)}"
    shown = "".join(f"\n  {item}" for item in items[:show])
    more = f"\n  ... and {len(items) - show} more" if len(items) > show else ""
    return head + shown + more


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


def records_from(
    raw: Iterable[tuple[int, int, bytes]],
    coded: Iterable[bytes] = (),
    dlq: Iterable[bytes] = (),
    events: Iterable[bytes] = (),
) -> Records:
    """Decode records given as plain values: ``(partition, offset, bytes)`` for inputs."""
    records = Records()
    for partition, offset, value in raw:
        decode_record("raw", partition, offset, value, records)
    for value in coded:
        decode_record("coded", 0, 0, value, records)
    for value in dlq:
        decode_record("dlq", 0, 0, value, records)
    for value in events:
        decode_record("events", 0, 0, value, records)
    return records
