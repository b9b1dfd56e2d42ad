"""``dipwire tail``: records of a topic with key, partition, offset and timestamp.

Records of all partitions are shown in timestamp order (then partition and
offset). ``--from-end N`` shows the last N that match, ``--since`` starts at
a time, ``--partition`` picks partitions, ``--filter`` keeps events of a CAMEO
root or a country (or records of an article id or a dead-letter kind), and
``--follow`` then waits for new records and prints them as they arrive.
"""

from __future__ import annotations

import argparse
import heapq
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from pipeline.errors import PipelineError
from pipeline.settings import Settings
from pipeline.tools.audit.command import parse_time
from pipeline.tools.topic_reader import TopicReader, TopicRecord
from pipeline.topics import Role, TopicNames

CHUNK = 500
"""Records read per partition per round."""

FILTER_FIELDS: dict[str, tuple[Role, ...]] = {
    "root": (Role.EVENTS,),
    "code": (Role.EVENTS,),
    "country": (Role.EVENTS,),
    "source": (Role.EVENTS,),
    "target": (Role.EVENTS,),
    "kind": (Role.DLQ,),
    "stage": (Role.DLQ,),
    "id": (Role.EVENTS, Role.CODED, Role.DLQ, Role.RAW),
}
"""What ``--filter FIELD=VALUE[,VALUE]`` can test, and on which topics."""

Match = Callable[[dict[str, Any]], bool]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``dipwire tail``."""
    parser.add_argument(
        "--topic",
        choices=[r.value for r in (Role.EVENTS, Role.CODED, Role.DLQ, Role.RAW)],
        default=Role.EVENTS.value,
        help="which topic (default: events)",
    )
    parser.add_argument("--from-end", type=_positive, metavar="N", help="the last N records")
    parser.add_argument(
        "--since",
        type=parse_since,
        help="records at or after this time: ISO 8601, epoch "
        "seconds, or an age such as 30m, 2h, 1d",
    )
    parser.add_argument(
        "--partition", type=int, action="append", help="only this partition (repeatable)"
    )
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="FIELD=VALUE[,VALUE]",
        help="keep matching records (repeatable, all must match): root=14, code=0231, "
        "country=FRA (source or target), source=, target= (events); kind=, stage= (dlq); "
        "id= (article id, any topic)",
    )
    parser.add_argument("--follow", action="store_true", help="then wait for new records")
    parser.add_argument("--max", type=_positive, default=None, help="stop after N records")
    parser.add_argument(
        "--values", action="store_true", help="print only each record's value (its JSON)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the chosen records; with ``--follow``, go on until interrupted or ``--max``."""
    role = Role(args.topic)
    match = build_filter(args.filter, role)
    since_ms = None if args.since is None else int(args.since.timestamp() * 1000)
    topic = TopicNames.from_settings(settings).of(role)
    shown = 0
    with TopicReader(settings, topic, args.partition) as reader:
        for record in select(reader, match, since_ms, args.from_end, args.max):
            _write(record, args.values)
            shown += 1
        if not args.follow:
            return 0
        for record in reader.follow():
            if args.max is not None and shown >= args.max:
                break
            if keep(record, match, since_ms):
                _write(record, args.values)
                shown += 1
                if args.max is not None and shown >= args.max:
                    break
    return 0


def select(
    reader: TopicReader,
    match: Match | None,
    since_ms: int | None,
    from_end: int | None,
    limit: int | None,
) -> Iterator[TopicRecord]:
    """The records to show before following, in timestamp order."""
    starts = reader.begin if since_ms is None else reader.offsets_at(since_ms)
    if from_end is not None:
        last = last_matching(reader, starts, from_end, match, since_ms)
        yield from last[-limit:] if limit is not None else last
        return
    shown = 0
    for record in forward(reader, starts, match, since_ms):
        if limit is not None and shown >= limit:
            return
        yield record
        shown += 1


def last_matching(
    reader: TopicReader,
    starts: dict[Any, int],
    count: int,
    match: Match | None,
    since_ms: int | None,
) -> list[TopicRecord]:
    """The last ``count`` matching records over all partitions, oldest first.

    Each partition is read backwards from its end in growing windows until it
    has ``count`` matches or reaches its start: the last ``count`` of the topic
    are among the last ``count`` of each partition.
    """
    found: dict[Any, list[TopicRecord]] = {tp: [] for tp in reader.partitions}
    upper = dict(reader.end)
    window = max(count, 1)
    pending = {tp for tp in reader.partitions if upper[tp] > starts[tp]}
    while pending:
        ranges = {tp: (max(starts[tp], upper[tp] - window), upper[tp]) for tp in pending}
        for tp, records in reader.read(ranges).items():
            kept = [r for r in records if keep(r, match, since_ms)]
            found[tp] = kept + found[tp]
            upper[tp] = ranges[tp][0]
        pending = {tp for tp in pending if len(found[tp]) < count and upper[tp] > starts[tp]}
        window = min(window * 4, 50_000)
    merged = sorted((r for records in found.values() for r in records), key=lambda r: r.order)
    return merged[-count:]


def forward(
    reader: TopicReader, starts: dict[Any, int], match: Match | None, since_ms: int | None
) -> Iterator[TopicRecord]:
    """Every matching record from ``starts`` to the ends, merged in timestamp order.

    Partitions are read a chunk at a time; a record is released once every
    partition still being read has reached its timestamp.
    """
    position = dict(starts)
    heap: list[tuple[tuple[int, int, int], TopicRecord]] = []
    pending = {tp for tp in reader.partitions if position[tp] < reader.end[tp]}
    while pending:
        ranges = {tp: (position[tp], min(position[tp] + CHUNK, reader.end[tp])) for tp in pending}
        reached: list[int] = []
        for tp, records in reader.read(ranges).items():
            position[tp] = ranges[tp][1]
            for record in records:
                if keep(record, match, since_ms):
                    heapq.heappush(heap, (record.order, record))
            if position[tp] < reader.end[tp] and records:
                reached.append(records[-1].timestamp_ms)
        pending = {tp for tp in pending if position[tp] < reader.end[tp]}
        watermark = min(reached) if pending and reached else None
        while heap and (watermark is None or heap[0][0][0] <= watermark):
            yield heapq.heappop(heap)[1]


def keep(record: TopicRecord, match: Match | None, since_ms: int | None) -> bool:
    """Whether a record is late enough and matches the filter."""
    if since_ms is not None and record.timestamp_ms < since_ms:
        return False
    if match is None:
        return True
    try:
        value = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        return False
    return isinstance(value, dict) and match(value)


@dataclass(frozen=True)
class _Test:
    field: str
    values: frozenset[str]

    def __call__(self, value: dict[str, Any]) -> bool:
        return bool(self.values & set(field_values(value, self.field)))


def build_filter(specs: Iterable[str], role: Role) -> Match | None:
    """A predicate over a record's JSON value from ``FIELD=VALUE[,VALUE]`` specs, or None.

    Raises:
        PipelineError: A spec is malformed, or its field does not apply to ``role``.
    """
    tests: list[_Test] = []
    for spec in specs:
        field, sep, values = spec.partition("=")
        field = field.strip().lower()
        if not sep or field not in FILTER_FIELDS or not values.strip():
            raise PipelineError(
                f"--filter {spec!r}: expected FIELD=VALUE with FIELD one of "
                + ", ".join(FILTER_FIELDS)
            )
        if role not in FILTER_FIELDS[field]:
            where = ", ".join(r.value for r in FILTER_FIELDS[field])
            raise PipelineError(f"--filter {field}= applies to --topic {where}, not {role.value}")
        wanted = {v.strip() for v in values.split(",") if v.strip()}
        if field in {"country", "source", "target"}:
            wanted = {v.upper() for v in wanted}
        elif field == "root":
            wanted = {v.zfill(2) for v in wanted}
        tests.append(_Test(field, frozenset(wanted)))
    if not tests:
        return None
    return lambda value: all(test(value) for test in tests)


def field_values(value: dict[str, Any], field: str) -> list[str]:
    """The values a filter field has in one record (a country filter looks at both actors)."""
    if field == "root":
        return [str(value.get("cameo_root", ""))]
    if field == "code":
        return [str(value.get("cameo_code", ""))]
    if field == "id":
        return [str(value.get(name)) for name in ("article_id", "id") if value.get(name)]
    if field in {"kind", "stage"}:
        return [str(value.get("error_kind" if field == "kind" else "stage", ""))]
    actors = {"source": ["source_actor"], "target": ["target_actor"]}.get(
        field, ["source_actor", "target_actor"]
    )
    return [
        str(actor["country"])
        for name in actors
        if isinstance(actor := value.get(name), dict) and actor.get("country")
    ]


def render(record: TopicRecord) -> str:
    """One record as a JSON line: topic, partition, offset, timestamp, key and value."""
    try:
        value: Any = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        value = record.value.decode("utf-8", "replace")
    key = None if record.key is None else record.key.decode("utf-8", "replace")
    envelope = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "key": key,
    }
    if record.headers:
        envelope["headers"] = {k: v.decode("utf-8", "replace") for k, v in record.headers}
    envelope["value"] = value
    return orjson.dumps(envelope).decode()


def _write(record: TopicRecord, values_only: bool) -> None:
    line = record.value.decode("utf-8", "replace") if values_only else render(record)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> datetime:
    """An age (``30m``, ``2h``, ``1d``: that long ago), ISO 8601 or epoch seconds, in UTC."""
    age = _AGE.match(text.strip().lower())
    if age:
        delta = timedelta(**{_UNITS[age.group(2)]: float(age.group(1))})
        return datetime.now(UTC) - delta
    return parse_time(text)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
