"""End to end on a real broker and a real worker: seed in, events out, bad input contained."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.settings import Settings
from pipeline.topics import TopicNames
from pipeline.worker import WorkerProcess
from tests.integration.conftest import BrokerHandle, KafkaClients

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = json.loads((ROOT / "seeds" / "wang-yi-washington-2023-10.json").read_text())
EVENT_SCHEMA = json.loads((ROOT / "schemas" / "diplomatic_event.schema.json").read_text())
LETTER_SCHEMA = json.loads((ROOT / "schemas" / "dead_letter.schema.json").read_text())


@pytest.fixture(scope="module")
def running(broker: BrokerHandle) -> Iterator[tuple[WorkerProcess, TopicNames]]:
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap_servers=broker.bootstrap,
        embedded_broker=broker.embedded,
        topic_prefix=f"e2e-{run}.",
        app_id=f"dipwire-e2e-{run}",
        web_port=0,
    )
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), settings.partitions)
    with WorkerProcess(settings) as worker:
        worker.wait_healthy(timeout=180)
        yield worker, names


def _publish(clients: KafkaClients, names: TopicNames, article: dict[str, Any]) -> None:
    clients.producer.send(names.raw, key=article["id"].encode(), value=json.dumps(article).encode())
    clients.producer.flush()


def _read_until(
    clients: KafkaClients, topics: list[str], done: Any, timeout: float = 120.0
) -> dict[str, list[dict[str, Any]]]:
    consumer = clients.consumer(*topics, consumer_timeout_ms=1000)
    seen: dict[str, list[dict[str, Any]]] = {t: [] for t in topics}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(seen):
        for batch in consumer.poll(timeout_ms=500).values():
            for record in batch:
                seen[record.topic].append(json.loads(record.value))
    assert done(seen), f"timed out; got { ({t: len(v) for t, v in seen.items()}) }"
    return seen


def test_seed_article_becomes_diplomatic_events(
    running: tuple[WorkerProcess, TopicNames], kafka_clients: KafkaClients
) -> None:
    worker, names = running
    _publish(kafka_clients, names, SEED)

    def coded(seen: dict[str, list[dict[str, Any]]]) -> bool:
        return any(c["article_id"] == SEED["id"] for c in seen[names.coded])

    seen = _read_until(kafka_clients, [names.events, names.coded], coded)
    record = next(c for c in seen[names.coded] if c["article_id"] == SEED["id"])
    # Events may land on other partitions after the accounting record: wait for all of them.
    seen = _read_until(
        kafka_clients,
        [names.events],
        lambda s: len({e["event_id"] for e in s[names.events]}) >= record["events"],
    )
    events = {e["event_id"]: e for e in seen[names.events] if e["article_id"] == SEED["id"]}
    assert set(events) == set(record["event_ids"])
    assert len(events) >= 3
    for event in events.values():
        jsonschema.validate(event, EVENT_SCHEMA)
        span = event["sentence_span"]
        assert SEED["body"][span["start"] : span["end"]] == event["sentence"]
    dyads = {
        (e["source_actor"]["country"], (e["target_actor"] or {}).get("country"), e["cameo_root"])
        for e in events.values()
    }
    assert any({s, t} == {"USA", "CHN"} and root in {"03", "04"} for s, t, root in dyads), dyads
    # Countries on both sides, never one country acting on itself.
    assert all(s and t and s != t for s, t, _ in dyads), dyads
    # Every meeting is placed; "arrived on Thursday" is dated by its sentence.
    meetings = [e for e in events.values() if e["cameo_root"] == "04"]
    assert meetings and all(e["location"] for e in meetings), meetings
    assert "2023-10-26" in {e["event_date"] for e in meetings}


def test_malformed_input_is_dead_lettered_and_the_worker_goes_on(
    running: tuple[WorkerProcess, TopicNames], kafka_clients: KafkaClients
) -> None:
    worker, names = running
    bad = {
        "not_utf8": (b"bad-1", b"\xff\xfe\xfa"),
        "not_json": (b"bad-2", b"{this is not json"),
        "invalid_fields": (b"bad-3", json.dumps({"id": "bad-3", "title": "no body"}).encode()),
        "empty_body": (b"bad-4", json.dumps({"id": "bad-4", "body": "   "}).encode()),
        "body_too_large": (b"bad-5", json.dumps({"id": "bad-5", "body": "x" * 1_000_001}).encode()),
    }
    for key, value in bad.values():
        kafka_clients.producer.send(names.raw, key=key, value=value)
    good = {
        "id": f"after-bad-{uuid.uuid4().hex[:6]}",
        "body": "France and Germany signed a treaty.",
    }
    kafka_clients.producer.send(names.raw, key=good["id"].encode(), value=json.dumps(good).encode())
    kafka_clients.producer.flush()

    def all_in(seen: dict[str, list[dict[str, Any]]]) -> bool:
        kinds = {d["error_kind"] for d in seen[names.dlq]}
        return set(bad) <= kinds and any(c["article_id"] == good["id"] for c in seen[names.coded])

    seen = _read_until(kafka_clients, [names.dlq, names.coded], all_in)
    for letter in seen[names.dlq]:
        jsonschema.validate(letter, LETTER_SCHEMA)
        assert letter["reason"]
    assert worker.alive()

    families = {f.name: f for f in text_string_to_metric_families(worker.metrics_text())}
    letters = {
        s.labels["kind"]: s.value
        for s in families["dipwire_dead_letters"].samples
        if s.name.endswith("_total")
    }
    assert all(letters.get(kind, 0) >= 1 for kind in bad), letters


def test_metrics_show_every_stage_moving(
    running: tuple[WorkerProcess, TopicNames], kafka_clients: KafkaClients
) -> None:
    worker, names = running
    article = {"id": f"metrics-{uuid.uuid4().hex[:6]}", "body": "Japan hosted talks with India."}
    kafka_clients.producer.send(
        names.raw, key=article["id"].encode(), value=json.dumps(article).encode()
    )
    kafka_clients.producer.flush()
    _read_until(
        kafka_clients,
        [names.coded],
        lambda s: any(c["article_id"] == article["id"] for c in s[names.coded]),
    )
    text = worker.metrics_text()
    samples = {
        (s.name, s.labels.get("stage")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    for stage in ("validate", "extract", "enrich", "code"):
        assert samples[("dipwire_stage_messages_in_total", stage)] >= 1, stage
        assert samples[("dipwire_stage_processing_seconds_count", stage)] >= 1, stage
    assert samples[("dipwire_ingest_to_emit_seconds_count", None)] >= 1
    assert any(name.startswith("dipwire_faust_") for name, _ in samples)
