"""What consumers get from a real worker: headers on every output, the example consumers
(Python and Node) reading and validating events.diplomatic, and ``dipwire export``
(real CLI subprocesses) writing files that are read back."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from pipeline import headers
from pipeline.models import MESSAGE_MODELS, SCHEMA_VERSION, DiplomaticEvent
from pipeline.settings import Settings
from pipeline.tools.export.gdelt import GDELT_COLUMNS, global_event_id
from pipeline.tools.export.phoenix import PHOENIX_COLUMNS
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
        # Unchained, so every topic carries records and every schema's headers are checked
        # (chained, the events, accounts and dead letters go through the same sink).
        chain_stages=False,
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


# --------------------------------------------------------------------------- dipwire export


def _cli(broker: BrokerHandle, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**broker.env(), "DIPWIRE_TOPIC_PREFIX": prefix}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _rows(path: Path) -> list[list[str]]:
    return [line.rstrip("\n").split("\t") for line in path.read_text(encoding="utf-8").splitlines()]


def _events(run: Run) -> dict[str, DiplomaticEvent]:
    return {
        event.event_id: event
        for event in (
            DiplomaticEvent.model_validate_json(r.value) for r in run.records[run.names.events]
        )
    }


def test_export_a_day_from_the_topic_reads_back_in_both_layouts(
    run: Run, broker: BrokerHandle, tmp_path: Path
) -> None:
    events = _events(run)
    day = min(e.emitted_at for e in events.values()).astimezone(UTC).date()
    expected = {i for i, e in events.items() if e.emitted_at.astimezone(UTC).date() == day}
    done = _cli(broker, run.prefix, "export", "--from-topic", "--day", day.isoformat(),
                "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    stamp = day.strftime("%Y%m%d")
    gdelt_file, phoenix_file = (
        tmp_path / f"{stamp}.export.CSV",
        tmp_path / f"phoenix.events.{stamp}.txt",
    )
    assert sorted(done.stdout.split()) == sorted([str(gdelt_file), str(phoenix_file)])
    gdelt = _rows(gdelt_file)
    assert all(len(row) == len(GDELT_COLUMNS) == 61 for row in gdelt)
    by_gdelt_id = {str(global_event_id(i)): events[i] for i in expected}
    assert {row[0] for row in gdelt} == set(by_gdelt_id) and len(gdelt) == len(expected)
    for row in gdelt:
        fields = dict(zip(GDELT_COLUMNS, row, strict=True))
        event = by_gdelt_id[fields["GlobalEventID"]]
        assert fields["EventCode"] == event.cameo_code
        assert fields["Actor1Code"] == event.source_actor.code
        assert fields["QuadClass"] == str(event.quad_class)
        assert fields["DATEADDED"] == event.emitted_at.astimezone(UTC).strftime("%Y%m%d%H%M%S")
        assert fields["SOURCEURL"] == (event.url or "")
    phoenix = _rows(phoenix_file)
    assert all(len(row) == len(PHOENIX_COLUMNS) == 26 for row in phoenix)
    assert {row[0] for row in phoenix} == expected
    for row in phoenix:
        fields = dict(zip(PHOENIX_COLUMNS, row, strict=True))
        event = events[fields["EventID"]]
        assert (fields["SourceActorFull"], fields["EventCode"]) == (
            event.source_actor.code,
            event.cameo_code,
        )
        target = event.target_actor.code if event.target_actor else ""
        assert fields["TargetActorFull"] == target


def test_export_from_a_jsonl_file_of_tail_output_in_quarter_hour_files(
    run: Run, broker: BrokerHandle, tmp_path: Path
) -> None:
    tailed = _cli(broker, run.prefix, "tail", "--topic", "events")
    assert tailed.returncode == 0, tailed.stderr
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_text(tailed.stdout, encoding="utf-8")
    out = tmp_path / "out"
    done = _cli(broker, run.prefix, "export", str(jsonl), "--interval", "15min",
                "--format", "phoenix", "--header", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = _events(run)
    expected_files = {
        "phoenix.events."
        + e.emitted_at.astimezone(UTC)
        .replace(minute=e.emitted_at.minute // 15 * 15)
        .strftime("%Y%m%d%H%M")
        + ".txt"
        for e in events.values()
    }
    assert {p.name for p in out.iterdir()} == expected_files
    ids = []
    for path in out.iterdir():
        rows = _rows(path)
        assert rows[0] == list(PHOENIX_COLUMNS)
        ids += [row[0] for row in rows[1:]]
    assert sorted(ids) == sorted(events) == sorted(run.event_ids)


def test_export_stops_on_a_line_that_is_not_an_event(
    run: Run, broker: BrokerHandle, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(run.records[run.names.events][0].value.decode() + '\n{"event_id": "x"}\n')
    done = _cli(broker, run.prefix, "export", str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert f"{bad}:2: not a diplomatic event" in done.stderr
    assert not (tmp_path / "out").exists()
