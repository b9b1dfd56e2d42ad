"""A dipwire consumer in Python: read events.diplomatic, check headers, validate, print.

Reads the topic with kafka-python, checks each record's headers (a record of
another schema or another major version is skipped), validates its value
against ``schemas/diplomatic_event.schema.json`` with jsonschema and prints one
JSON line per valid event on stdout; problems and a summary go to stderr. It
needs only ``kafka-python`` and ``jsonschema`` (``pip install kafka-python
jsonschema``), not dipwire itself.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 python examples/python/consumer.py --max 10

Without ``--group`` it joins no consumer group: every partition from its
beginning, nothing committed. With ``--group ID`` it reads as a member of that
group and commits what it has read. Exit status 0, or 1 when an event failed
validation.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
from kafka import KafkaConsumer, TopicPartition

SCHEMA_HEADER = "dipwire-schema"
VERSION_HEADER = "dipwire-schema-version"
SCHEMA_NAME = "diplomatic_event"
DEFAULT_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Options; the broker and the topic prefix default to dipwire's own variables."""
    prefix = os.environ.get("DIPWIRE_TOPIC_PREFIX", "")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument("--topic", default=f"{prefix}events.diplomatic")
    parser.add_argument("--group", default=None, help="consumer group (default: none)")
    parser.add_argument("--max", type=int, default=None, help="stop after N valid events")
    parser.add_argument("--idle-seconds", type=float, default=15.0, help="stop when idle")
    parser.add_argument("--follow", action="store_true", help="never stop when idle")
    parser.add_argument("--schemas", type=Path, default=DEFAULT_SCHEMAS)
    args = parser.parse_args(argv)
    if not args.brokers:
        parser.error("set KAFKA_BOOTSTRAP_SERVERS or pass --brokers")
    return args


def load_validator(schemas: Path) -> tuple[jsonschema.Draft202012Validator, int]:
    """The event schema's validator, and the major version its ``$id`` names."""
    schema = json.loads((schemas / f"{SCHEMA_NAME}.schema.json").read_text(encoding="utf-8"))
    found = re.search(r":v(\d+):", schema["$id"])
    assert found, schema["$id"]
    return jsonschema.Draft202012Validator(schema), int(found.group(1))


def open_consumer(args: argparse.Namespace) -> KafkaConsumer:
    """A consumer of the topic from its beginning, in ``args.group`` or in none."""
    common: dict[str, Any] = {"bootstrap_servers": args.brokers.split(","), "fetch_max_wait_ms": 250}
    if args.group:
        return KafkaConsumer(
            args.topic,
            group_id=args.group,
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            **common,
        )
    consumer = KafkaConsumer(group_id=None, enable_auto_commit=False, **common)
    partitions = [TopicPartition(args.topic, p) for p in consumer.partitions_for_topic(args.topic) or ()]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    return consumer


def check(record: Any, validator: jsonschema.Draft202012Validator, major: int) -> tuple[str, Any]:
    """``("valid", line)``, ``("skipped", why)`` or ``("invalid", why)`` for one record."""
    headers = {name: (value or b"").decode("utf-8", "replace") for name, value in record.headers or []}
    name, version = headers.get(SCHEMA_HEADER), headers.get(VERSION_HEADER)
    if (name and name != SCHEMA_NAME) or (version and int(version.split(".")[0]) != major):
        return "skipped", f"{name} {version} (this reader: v{major})"
    try:
        event = json.loads(record.value)
    except ValueError as exc:
        return "invalid", f"not JSON ({exc})"
    errors = sorted(validator.iter_errors(event), key=lambda e: list(e.absolute_path))
    if errors:
        return "invalid", "; ".join(f"/{'/'.join(map(str, e.absolute_path))} {e.message}" for e in errors)
    target = event.get("target_actor")
    return "valid", {
        "event_id": event["event_id"],
        "article_id": event["article_id"],
        "cameo_code": event["cameo_code"],
        "source": event["source_actor"]["code"],
        "target": target["code"] if target else None,
        "headers": headers,
    }


def main(argv: list[str] | None = None) -> int:
    """Read, check and print until ``--max`` valid events or ``--idle-seconds`` of quiet."""
    args = parse_args(argv)
    validator, major = load_validator(args.schemas)
    consumer = open_consumer(args)
    counts = {"read": 0, "valid": 0, "invalid": 0, "skipped": 0}
    last_record = time.monotonic()
    try:
        while args.follow or time.monotonic() - last_record < args.idle_seconds:
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    last_record = time.monotonic()
                    counts["read"] += 1
                    outcome, detail = check(record, validator, major)
                    counts[outcome] += 1
                    if outcome == "valid":
                        sys.stdout.write(json.dumps(detail) + "\n")
                        sys.stdout.flush()
                    else:
                        sys.stderr.write(f"{outcome} {tp.topic}[{tp.partition}]@{record.offset}: {detail}\n")
                    if args.max is not None and counts["valid"] >= args.max:
                        return _done(counts)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return _done(counts)


def _done(counts: dict[str, int]) -> int:
    sys.stderr.write(", ".join(f"{name} {count}" for name, count in counts.items()) + "\n")
    return 1 if counts["invalid"] else 0


if __name__ == "__main__":
    sys.exit(main())
