"""The audit reads real topics to their true end and reconciles them.

No worker here: the records are written by hand, so every expected figure is
known. Records go out in multi-record batches on purpose: on the embedded
broker ListOffsets is wrong after such a batch, and an audit that trusted it
would stop early and report articles as missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.codec import Origin, Rejected, dead_letter, encode
from pipeline.settings import Settings
from pipeline.testing import NOW, article_coded, diplomatic_event
from pipeline.tools.audit import TimeRange, audit
from pipeline.topics import TopicNames
from tests.integration.conftest import BrokerHandle

pytestmark = pytest.mark.integration

PARTITIONS = 4


def _settings(broker: BrokerHandle, prefix: str) -> Settings:
    return Settings(
        kafka_bootstrap_servers=broker.bootstrap,
        embedded_broker=broker.embedded,
        topic_prefix=prefix,
        partitions=PARTITIONS,
    )


def _event(event_id: str, article_id: str, goldstein: float = 3.0) -> bytes:
    return encode(diplomatic_event(event_id, article_id, goldstein=goldstein))


def _coded(article_id: str, *event_ids: str) -> bytes:
    return encode(article_coded(article_id, *event_ids))


def _fill(
    broker: BrokerHandle, names: TopicNames, timestamp_ms: int | None = None
) -> dict[str, object]:
    """Write a known scene: 60 ids (+2 repeats, +1 id-less), 3 lost, 1 contradictory event."""
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap, acks="all", linger_ms=50, **broker.client_kwargs
    )
    try:
        ids = [f"art-{i:03d}" for i in range(60)]
        sends = {
            i: producer.send(
                names.raw,
                key=i.encode(),
                value=json.dumps({"id": i, "body": f"Body of {i}."}).encode(),
                timestamp_ms=timestamp_ms,
            )
            for i in ids
        }
        for repeat in ids[:2]:
            producer.send(
                names.raw,
                key=repeat.encode(),
                value=json.dumps({"id": repeat, "body": "again"}).encode(),
                timestamp_ms=timestamp_ms,
            )
        idless = producer.send(names.raw, value=b"\xff\xfe", timestamp_ms=timestamp_ms)
        producer.flush()
        spot = idless.get(timeout=30)
        positions = {i: sends[i].get(timeout=30) for i in ids}
        lost = set(ids[-3:])
        dead = set(ids[50:54])
        for i in ids:
            if i in lost:
                continue
            if i in dead:
                meta = positions[i]
                rejected = Rejected("unsupported_language", "not English", i)
                origin = Origin(names.raw, meta.partition, meta.offset)
                producer.send(
                    names.dlq,
                    key=i.encode(),
                    value=encode(dead_letter(b"{}", origin, "validate", rejected, NOW)),
                )
                continue
            producer.send(names.coded, key=i.encode(), value=_coded(i, f"ev-{i}"))
            producer.send(names.events, key=f"ev-{i}".encode(), value=_event(f"ev-{i}", i))
        # A replay: one article coded twice, its event repeated with the same payload.
        producer.send(names.coded, value=_coded(ids[0], f"ev-{ids[0]}"))
        producer.send(names.events, value=_event(f"ev-{ids[0]}", ids[0]))
        # A contradiction: same event id, different goldstein.
        producer.send(names.events, value=_event(f"ev-{ids[1]}", ids[1], goldstein=-5.0))
        letter = dead_letter(
            b"\xff\xfe",
            Origin(names.raw, spot.partition, spot.offset),
            "validate",
            Rejected("not_utf8", "bad bytes"),
            NOW,
        )
        producer.send(names.dlq, value=encode(letter))
        producer.flush()
    finally:
        producer.close(timeout=5)
    return {"ids": ids, "lost": sorted(lost), "dead": sorted(dead)}


def test_audit_reads_to_the_true_end_and_finds_losses(
    broker: BrokerHandle, unique_name: Callable[[str], str]
) -> None:
    settings = _settings(broker, unique_name("p") + ".")
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    scene = _fill(broker, names)

    report = audit(settings)
    print(f"audit over hand-written topics: {report.to_json()}")
    assert report.complete
    assert (report.input_messages, report.input_ids, report.inputs_without_id) == (63, 60, 1)
    assert report.repeated_input_messages == 2
    assert report.coded == 53
    assert report.dead_letters_by_kind == {"not_utf8": 1, "unsupported_language": 4}
    assert report.missing == scene["lost"]
    assert report.duplicate_terminals == {"art-000": 2}
    assert report.duplicate_event_ids == {"ev-art-000": 2, "ev-art-001": 2}
    assert report.conflicting_event_ids == ["ev-art-001"]
    assert not report.ok


def test_listed_end_offsets_would_have_stopped_short(
    broker: BrokerHandle, unique_name: Callable[[str], str]
) -> None:
    """Why the audit reads the end from a fetch: on the embedded broker the listed one is low."""
    process = broker.require_embedded()
    assert process.running
    settings = _settings(broker, unique_name("p") + ".")
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    _fill(broker, names)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None)
    try:
        tps = [TopicPartition(names.raw, p) for p in range(PARTITIONS)]
        listed = sum(consumer.end_offsets(tps).values())
    finally:
        consumer.close()
    report = audit(settings)
    print(f"raw messages: listed end offsets sum {listed}, audit read {report.input_messages}")
    assert listed < report.input_messages == 63


def test_time_range_limits_inputs(broker: BrokerHandle, unique_name: Callable[[str], str]) -> None:
    settings = _settings(broker, unique_name("p") + ".")
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    old = int(time.time() * 1000) - 3_600_000
    _fill(broker, names, timestamp_ms=old)
    since = TimeRange(since_ms=old + 1)
    report = audit(settings, since)
    assert report.input_messages == 0 and report.missing == []
    window = TimeRange(since_ms=old, until_ms=old + 1)
    report = audit(settings, window)
    # Outputs were written now, after the window, and still count.
    assert report.input_messages == 63
    assert len(report.missing) == 3


def test_cli_exit_status_and_json(broker: BrokerHandle, unique_name: Callable[[str], str]) -> None:
    prefix = unique_name("p") + "."
    settings = _settings(broker, prefix)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    scene = _fill(broker, names)
    env = broker.env() | {"DIPWIRE_TOPIC_PREFIX": prefix}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "audit", "--json"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr.decode()[-2000:]
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["missing"] == scene["lost"]
    text = subprocess.run(
        [sys.executable, "-m", "pipeline", "audit", "--show", "1"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert text.returncode == 1
    out = text.stdout.decode()
    assert "missing (input without a terminal record): 3" in out
    assert "... and 2 more" in out
