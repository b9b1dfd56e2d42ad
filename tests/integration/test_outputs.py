"""What consumers get from a real worker: headers on every output, the example consumers
(Python and Node) reading and validating events.diplomatic, and ``dipwire export``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline import headers
from pipeline.models import MESSAGE_MODELS, SCHEMA_VERSION
from pipeline.settings import Settings
from pipeline.topics import Role, TopicNames
from pipeline.worker import WorkerProcess
from tests.integration.conftest import BrokerHandle, KafkaClients

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SEED = json.loads((ROOT / "seeds" / "wang-yi-washington-2023-10.json").read_text())
SECOND = {
    "id": "outputs-second",
    "body": "Japan hosted talks with India in Tokyo on Monday.",
    "published_at": "2024-05-06",
    "url": "https://example.org/wire/japan-india",
}
BAD = b"{this is not json"

SCHEMA_OF_ROLE = {
    Role.VALID: "article",
    Role.ANNOTATED: "annotated_article",
    Role.ENRICHED: "enriched_article",
    Role.EVENTS: "diplomatic_event",
    Role.CODED: "article_coded",
    Role.DLQ: "dead_letter",
}


@dataclass
class Run:
    """A worker that has coded :data:`SEED` and :data:`SECOND` and dead-lettered :data:`BAD`."""

    worker: WorkerProcess
    names: TopicNames
    prefix: str
    records: dict[str, list[Any]]
    event_ids: set[str]


def _read_all(clients: KafkaClients, topics: list[str], done: Any, timeout: float) -> list[Any]:
    consumer = clients.consumer(*topics, consumer_timeout_ms=1000)
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(seen):
        for batch in consumer.poll(timeout_ms=500).values():
            seen.extend(batch)
    assert done(seen), f"timed out with {len(seen)} records"
    return seen


@pytest.fixture(scope="module")
def run(broker: BrokerHandle) -> Iterator[Run]:
    tag = uuid.uuid4().hex[:8]
    prefix = f"outputs-{tag}."
    settings = Settings(
        kafka_bootstrap_servers=broker.bootstrap,
        embedded_broker=broker.embedded,
        topic_prefix=prefix,
        app_id=f"dipwire-outputs-{tag}",
        web_port=0,
    )
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), settings.partitions)
    clients = KafkaClients(broker)
    try:
        with WorkerProcess(settings) as worker:
            worker.wait_healthy(timeout=180)
            for item in (SEED, SECOND):
                clients.producer.send(
                    names.raw, key=item["id"].encode(), value=json.dumps(item).encode()
                )
            clients.producer.send(names.raw, key=b"outputs-bad", value=BAD)
            clients.producer.flush()
            ids = {SEED["id"], SECOND["id"]}
            accounts = _read_all(
                clients,
                [names.coded, names.dlq],
                lambda seen: (
                    ids <= {json.loads(r.value).get("article_id") for r in seen}
                    and any(r.topic == names.dlq for r in seen)
                ),
                timeout=180,
            )
            event_ids = {
                event_id
                for r in accounts
                if r.topic == names.coded
                for event_id in json.loads(r.value)["event_ids"]
            }
            assert event_ids, "the seed article yields events"
            topics = [names.of(role) for role in SCHEMA_OF_ROLE]
            records = _read_all(
                clients,
                topics,
                lambda seen: (
                    event_ids
                    <= {json.loads(r.value)["event_id"] for r in seen if r.topic == names.events}
                    and {r.topic for r in seen} == set(topics)
                ),
                timeout=60,
            )
            by_topic: dict[str, list[Any]] = {topic: [] for topic in topics}
            for record in records:
                by_topic[record.topic].append(record)
            yield Run(worker, names, prefix, by_topic, event_ids)
    finally:
        clients.close()


def test_every_output_record_carries_schema_version_content_type_and_article(run: Run) -> None:
    for role, schema in SCHEMA_OF_ROLE.items():
        records = run.records[run.names.of(role)]
        assert records, role
        for record in records:
            got = headers.decode_headers(record.headers)
            value = MESSAGE_MODELS[schema].model_validate_json(record.value)
            assert got[headers.SCHEMA] == schema, (role, got)
            assert got[headers.SCHEMA_VERSION_HEADER] == headers.SCHEMA_VERSION_TEXT
            assert got[headers.SCHEMA_VERSION_HEADER].split(".")[0] == str(SCHEMA_VERSION)
            assert got[headers.CONTENT_TYPE] == "application/json"
            assert got.get(headers.ARTICLE_ID) == headers.article_id_of(value), (role, got)
    # Not JSON, so no article id was read: the header is left out, not guessed from the key.
    (letter,) = [r for r in run.records[run.names.dlq] if r.key == b"outputs-bad"]
    assert headers.ARTICLE_ID not in headers.decode_headers(letter.headers)
    assert json.loads(letter.value)["article_id"] is None


# --------------------------------------------------------------------------- example consumers


@pytest.fixture(scope="module")
def node_consumer() -> list[str]:
    """The Node example's command; its dependencies installed from its lock file."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        pytest.skip("node is not installed: the Node example consumer cannot run")
    folder = EXAMPLES / "node"
    if not (folder / "node_modules" / "kafkajs").is_dir():
        assert npm is not None, "node is installed but npm is not"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=folder, check=True, timeout=300)
    return [node, str(folder / "consumer.js"), "--idle-ms", "8000"]


@pytest.fixture(params=["python", "node"])
def example(request: pytest.FixtureRequest) -> list[str]:
    if request.param == "node":
        command: list[str] = request.getfixturevalue("node_consumer")
        return command
    return [sys.executable, str(EXAMPLES / "python" / "consumer.py"), "--idle-seconds", "8"]


def _consume(command: list[str], broker: BrokerHandle, prefix: str) -> tuple[int, list[dict], str]:
    env = {**broker.env(), "DIPWIRE_TOPIC_PREFIX": prefix}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, lines, done.stderr


def test_example_consumer_reads_and_validates_the_workers_events(
    run: Run, broker: BrokerHandle, example: list[str]
) -> None:
    code, lines, stderr = _consume(example, broker, run.prefix)
    assert code == 0, stderr
    assert {line["event_id"] for line in lines} == run.event_ids
    for line in lines:
        assert line["headers"][headers.SCHEMA] == "diplomatic_event"
        assert line["headers"][headers.ARTICLE_ID] == line["article_id"]
    assert f"valid {len(run.event_ids)}, invalid 0, skipped 0" in stderr, stderr


def test_example_consumer_ignores_new_fields_skips_other_majors_and_flags_broken_events(
    run: Run, broker: BrokerHandle, kafka_clients: KafkaClients, example: list[str]
) -> None:
    prefix = f"crafted-{uuid.uuid4().hex[:8]}."
    topic = f"{prefix}events.diplomatic"
    broker.create_topics([topic], 1)
    real = run.records[run.names.events][0]
    event = json.loads(real.value)
    newer = {**event, "event_id": "newer-minor", "added_later": {"x": 1}}
    broken = {k: v for k, v in event.items() if k != "cameo_code"} | {"event_id": "broken"}
    next_major = [(n, v) for n, v in real.headers if n != headers.SCHEMA_VERSION_HEADER]
    next_major.append((headers.SCHEMA_VERSION_HEADER, f"{SCHEMA_VERSION + 1}.0".encode()))
    sends = [
        (real.value, real.headers),
        (json.dumps(newer).encode(), real.headers),
        (json.dumps(event).encode(), next_major),
        (json.dumps(broken).encode(), real.headers),
    ]
    for value, record_headers in sends:
        kafka_clients.producer.send(topic, value=value, headers=list(record_headers))
    kafka_clients.producer.flush()

    code, lines, stderr = _consume(example, broker, prefix)
    assert code == 1, stderr
    assert [line["event_id"] for line in lines] == [event["event_id"], "newer-minor"]
    assert "valid 2, invalid 1, skipped 1" in stderr, stderr
    assert "cameo_code" in stderr
