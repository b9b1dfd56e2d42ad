"""Fault tests: real broker, real worker processes, faults injected; the audit judges.

Two kinds of worker run here:

* the real one, ``python -m pipeline worker`` (spaCy and all), for crashes,
  broker outages, rebalances, poison messages and the dead-letter catalogue;
* a *gated* worker: the same Faust app, agents and stages built by
  ``pipeline.app.create_pipeline``, but with a stand-in analyzer (no spaCy)
  and a sink that can hold or fail a publish. It makes the delivery path
  observable: whether input offsets are committed before outputs are acked.

Every test reconciles with ``pipeline.audit`` and prints what it measured.
Times are bounded by deadlines; nothing asserts on speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.audit import AuditReport, audit
from pipeline.process import free_port
from pipeline.settings import Settings
from pipeline.topics import TopicNames
from tests.integration.conftest import BrokerHandle

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 4

# --------------------------------------------------------------------------- the gated worker

GATED_WORKER = r'''
"""A worker whose sink can hold or fail a publish; its analyzer is a stand-in."""
import asyncio
import os
import pathlib

import faust

from pipeline.app import create_pipeline
from pipeline.broker import apply_embedded_quirks, create_topics, kafka_client_kwargs
from pipeline.models import AnnotatedArticle, EnrichedArticle, Tone
from pipeline.settings import Settings
from pipeline.stages.agents import TopicSink
from pipeline.topics import TopicNames

GATE = pathlib.Path(os.environ["GATE_DIR"])
MODE = os.environ["GATE_MODE"]


class StandInAnalyzer:
    def annotate(self, articles):
        if MODE == "short-results":
            return []  # a broken analyzer: fewer results than articles
        if MODE == "raise-on-one" and any("POISON" in a.body for a in articles):
            raise RuntimeError("the analyzer cannot read this article")
        return [AnnotatedArticle(article=a, tokens=[], sentences=[], actors=[]) for a in articles]

    def enrich(self, items):
        tone = Tone(compound=0.0, gdelt=0.0, positive=0.0, negative=0.0)
        return [EnrichedArticle(**i.model_dump(), tone=tone) for i in items]

    def code(self, item, *, pipeline_version, emitted_at):
        return []


class GateSink:
    def __init__(self):
        self.inner = None
        self.calls = 0

    async def publish(self, outputs):
        self.calls += 1
        (GATE / "entered").touch()
        if MODE == "hold":
            while not (GATE / "open").exists():
                await asyncio.sleep(0.05)
        elif MODE == "fail-once" and self.calls == 1:
            raise RuntimeError("injected: the first publish fails")
        await self.inner.publish(outputs)


settings = Settings()
names = TopicNames.from_settings(settings)
if settings.embedded:
    apply_embedded_quirks()
create_topics(
    settings.kafka_bootstrap_servers,
    names.all(),
    partitions=settings.partitions,
    client_kwargs=kafka_client_kwargs(settings),
)
sink = GateSink()
pipeline = create_pipeline(settings, StandInAnalyzer(), sink=sink)
sink.inner = TopicSink(
    {
        role: pipeline.app.topic(getattr(names, role), key_type=bytes, value_type=bytes)
        for role in ("valid", "annotated", "enriched", "events", "coded", "dlq")
    }
)
faust.Worker(pipeline.app, loglevel="INFO", quiet=True).execute_from_commandline()
'''


class GatedWorker:
    """The gated worker as a child process (``python -c``), with ``/healthz`` on a free port."""

    def __init__(self, broker: BrokerHandle, settings: Settings, mode: str, gate: Path) -> None:
        self.gate = gate
        self.port = free_port()
        self.log = gate / f"worker-{self.port}.log"
        env = broker.env() | {
            "DIPWIRE_TOPIC_PREFIX": settings.topic_prefix,
            "DIPWIRE_APP_ID": settings.app_id,
            "DIPWIRE_PARTITIONS": str(settings.partitions),
            "DIPWIRE_WEB_PORT": str(self.port),
            "GATE_DIR": str(gate),
            "GATE_MODE": mode,
        }
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", GATED_WORKER, "worker"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def gated(broker: BrokerHandle, tmp_path: Path) -> Iterator[Callable[..., GatedWorker]]:
    started: list[GatedWorker] = []

    def start(settings: Settings, mode: str) -> GatedWorker:
        worker = GatedWorker(broker, settings, mode, tmp_path)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.kill()


# --------------------------------------------------------------------------- helpers


def _settings(broker: BrokerHandle, unique_name: Callable[[str], str], **fields: Any) -> Settings:
    return Settings(
        kafka_bootstrap_servers=broker.bootstrap,
        embedded_broker=broker.embedded,
        topic_prefix=unique_name("t") + ".",
        app_id=unique_name("app"),
        partitions=PARTITIONS,
        **fields,
    )


def _wait(condition: Callable[[], Any], timeout: float, what: str, poll: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def _publish(
    broker: BrokerHandle, topic: str, messages: list[tuple[bytes | None, bytes]], **options: Any
) -> list[Any]:
    """Publish and wait for every ack; returns the record metadata in order."""
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap, acks="all", **broker.client_kwargs, **options
    )
    try:
        futures = [producer.send(topic, key=key, value=value) for key, value in messages]
        producer.flush()
        return [f.get(timeout=60) for f in futures]
    finally:
        producer.close(timeout=10)


def _committed(broker: BrokerHandle, group: str, topic: str) -> dict[int, int | None]:
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=group,
        enable_auto_commit=False,
        **broker.client_kwargs,
    )
    try:
        return {p: consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)}
    finally:
        consumer.close()


def _audit_until_accounted(settings: Settings, inputs: int, timeout: float) -> AuditReport:
    """Audit until every one of ``inputs`` raw messages has its terminal record."""
    last: list[AuditReport] = []

    def accounted() -> bool:
        report = audit(settings)
        last[:] = [report]
        return report.input_messages >= inputs and not report.missing

    try:
        _wait(accounted, timeout, f"{inputs} inputs accounted for", poll=2.0)
    except AssertionError as exc:
        report = last[0] if last else None
        raise AssertionError(f"{exc}; last audit: {report.to_json() if report else None}") from exc
    return last[0]


def _simple(n: int, prefix: str = "a") -> list[tuple[bytes | None, bytes]]:
    return [
        (f"{prefix}{i}".encode(), json.dumps({"id": f"{prefix}{i}", "body": f"Item {i}."}).encode())
        for i in range(n)
    ]


# --------------------------------------------------------------------------- delivery semantics


def test_offsets_are_committed_only_after_outputs_are_acked(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    gated: Callable[..., GatedWorker],
    tmp_path: Path,
) -> None:
    """Hold the validate stage's publish: nothing may be committed; crash; the batch replays."""
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    held = gated(settings, "hold")
    _publish(broker, names.raw, _simple(12))
    _wait(lambda: (tmp_path / "entered").exists(), 90, "the stage to reach its publish")
    # Faust commits acked offsets every 2.8 s; give it three chances to (wrongly) commit.
    time.sleep(9)
    held_commits = _committed(broker, settings.app_id, names.raw)
    valid_during_hold = audit(settings)
    print(f"while the publish is held: committed {held_commits}, coded {valid_during_hold.coded}")
    assert all(offset in (None, 0) for offset in held_commits.values()), held_commits
    assert held.process.poll() is None, held.log_tail()

    held.kill()  # a crash between processing and publishing
    (tmp_path / "open").touch()
    gated(settings, "open")
    report = _audit_until_accounted(settings, 12, 120)
    commits = _wait(
        lambda: (
            (c := _committed(broker, settings.app_id, names.raw))
            and sum(v or 0 for v in c.values()) == 12
            and c
        ),
        60,
        "offsets of all 12 inputs committed",
    )
    print(f"after the crash and a restart: {report.coded} coded, committed {commits}")
    assert report.ok and report.coded == 12


def test_a_failed_publish_is_retried_not_dropped(
    broker: BrokerHandle, unique_name: Callable[[str], str], gated: Callable[..., GatedWorker]
) -> None:
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    worker = gated(settings, "fail-once")
    _publish(broker, names.raw, _simple(20))
    report = _audit_until_accounted(settings, 20, 120)
    log = worker.log_tail()
    print(f"one injected publish failure: {report.coded} coded, {report.dead_letters} dead letters")
    assert "injected: the first publish fails" in log and "retrying" in log
    assert report.ok and report.coded == 20


def test_a_stage_failing_a_whole_batch_dead_letters_it(
    broker: BrokerHandle, unique_name: Callable[[str], str], gated: Callable[..., GatedWorker]
) -> None:
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    gated(settings, "short-results")
    _publish(broker, names.raw, _simple(10))
    report = _audit_until_accounted(settings, 10, 120)
    print(f"analyzer returning too few results: {report.dead_letters_by_kind}")
    assert report.ok and report.dead_letters_by_kind == {"stage_error": 10}


def test_an_analyzer_raising_on_one_article_dead_letters_only_that_one(
    broker: BrokerHandle, unique_name: Callable[[str], str], gated: Callable[..., GatedWorker]
) -> None:
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    gated(settings, "raise-on-one")
    messages = _simple(15)
    messages[7] = (b"a7", json.dumps({"id": "a7", "body": "A POISON article."}).encode())
    _publish(broker, names.raw, messages)
    report = _audit_until_accounted(settings, 15, 120)
    letters = _read_json(broker, names.dlq)
    print(f"analyzer raising on one article: {report.coded} coded, {report.dead_letters_by_kind}")
    assert report.ok and report.coded == 14
    assert [(d["article_id"], d["error_kind"], d["stage"]) for d in letters] == [
        ("a7", "stage_error", "extract")
    ]


def _read_json(broker: BrokerHandle, topic: str) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        **broker.client_kwargs,
    )
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        from pipeline.broker import true_end_offsets

        ends = true_end_offsets(broker.bootstrap, tps, broker.client_kwargs)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        values: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, "could not read to the end"
            for records in consumer.poll(timeout_ms=200).values():
                values += [json.loads(r.value) for r in records]
        return values
    finally:
        consumer.close()
