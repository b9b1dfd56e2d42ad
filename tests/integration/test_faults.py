"""Fault tests: real broker, real worker processes, faults injected; the audit judges.

Two kinds of worker run here:

* the real one, ``python -m pipeline worker`` (spaCy and all), for crashes,
  broker outages, rebalances, poison messages and the dead-letter catalogue;
* a *gated* worker: the same Faust app, agents and stages built by
  ``pipeline.app.create_pipeline``, but with a stand-in analyzer (no spaCy)
  and a sink that can hold or fail a publish. It makes the delivery path
  observable: whether input offsets are committed before outputs are acked.

Every test reconciles with ``pipeline.tools.audit`` and prints what it measured.
Times are bounded by deadlines; nothing asserts on speed.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.broker.quirks import true_end_offsets
from pipeline.process import free_port
from pipeline.settings import Settings
from pipeline.tools.audit import AuditReport, audit
from pipeline.topics import TopicNames
from pipeline.worker import WorkerProcess
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
from pipeline.broker.admin import create_topics
from pipeline.broker.quirks import apply_embedded_quirks
from pipeline.broker.security import kafka_client_kwargs
from pipeline.models import AnnotatedArticle, EnrichedArticle, Tone
from pipeline.nlp.issues import Discards
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

    def code_article(self, item, *, pipeline_version, emitted_at):
        return [], Discards()


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
        return await self.inner.publish(outputs)


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
    return [json.loads(value) for value in _raw_values(broker, topic)]


# --------------------------------------------------------------------------- a corpus of our own

_COUNTRIES = [
    ("China", "Chinese", "Beijing", "Foreign Minister Wang Yi"),
    ("the United States", "American", "Washington", "Secretary of State Antony Blinken"),
    ("Russia", "Russian", "Moscow", "Foreign Minister Sergei Lavrov"),
    ("Japan", "Japanese", "Tokyo", "Prime Minister Fumio Kishida"),
    ("India", "Indian", "New Delhi", "External Affairs Minister Subrahmanyam Jaishankar"),
    ("France", "French", "Paris", "President Emmanuel Macron"),
    ("Germany", "German", "Berlin", "Chancellor Olaf Scholz"),
    ("Brazil", "Brazilian", "Brasilia", "President Luiz Inacio Lula da Silva"),
    ("Turkey", "Turkish", "Ankara", "President Recep Tayyip Erdogan"),
    ("Iran", "Iranian", "Tehran", "Foreign Minister Hossein Amirabdollahian"),
    ("South Korea", "South Korean", "Seoul", "President Yoon Suk Yeol"),
    ("Egypt", "Egyptian", "Cairo", "President Abdel Fattah el-Sisi"),
]
_TOPICS = [
    "trade and tariffs",
    "the war in Ukraine",
    "maritime security",
    "climate finance",
    "nuclear non-proliferation",
    "grain exports",
    "energy supplies",
    "visa rules for students",
]
_SENTENCES = [
    "{l1} met {l2} in {city2} on {day} to discuss {topic}.",
    "{c1} accused {c2} of undermining talks on {topic}, a government spokesman said.",
    "{adj1} officials urged {c2} to resume negotiations on {topic} before the end of the year.",
    "The two governments signed an agreement on {topic} after {hours} hours of talks.",
    "{c2} rejected the criticism and said it would defend its interests.",
    "{l1} praised the talks as constructive, according to the {adj1} foreign ministry.",
    "{c1} threatened new sanctions against {c2} over its role in {topic}.",
    "Leaders of {c1} and {c2} plan to meet again in {city1} next month.",
    "{adj2} troops held exercises near the border, which {c1} condemned as a provocation.",
    "{c1} offered {c2} humanitarian aid after the floods, officials in {city1} said.",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def corpus(n: int, seed: int, prefix: str) -> list[tuple[bytes | None, bytes]]:
    """``n`` short wire-style articles, keyed by id, each body distinct."""
    rng = random.Random(seed)
    messages: list[tuple[bytes | None, bytes]] = []
    for i in range(n):
        (c1, adj1, city1, l1), (c2, adj2, city2, l2) = rng.sample(_COUNTRIES, 2)
        fill = {
            "c1": c1,
            "c2": c2,
            "adj1": adj1,
            "adj2": adj2,
            "city1": city1,
            "city2": city2,
            "l1": l1,
            "l2": l2,
            "day": rng.choice(_DAYS),
            "topic": rng.choice(_TOPICS),
            "hours": rng.randint(2, 30),
        }
        sentences = [s.format(**fill) for s in rng.sample(_SENTENCES, 3)]
        sentences.append(f"It was round {i + 1} of the talks, officials said.")
        body = " ".join(s[0].upper() + s[1:] for s in sentences)
        article_id = f"{prefix}-{i:04d}"
        message = {
            "id": article_id,
            "title": sentences[0][:80],
            "body": body,
            "source": "dipwire fault tests",
            "published_at": f"2024-03-{1 + i % 28:02d}T12:00:00Z",
            "language": "en",
        }
        messages.append((article_id.encode(), json.dumps(message).encode()))
    return messages


# --------------------------------------------------------------------------- real workers


@pytest.fixture
def workers() -> Iterator[Callable[..., WorkerProcess]]:
    """Start real ``python -m pipeline worker`` children; all are killed after the test."""
    started: list[WorkerProcess] = []

    def start(settings: Settings, **extra_env: str) -> WorkerProcess:
        worker = WorkerProcess(settings.model_copy(update={"web_port": 0}), extra_env=extra_env)
        worker.start()
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.kill()
            worker.log_path.unlink(missing_ok=True)


def _metric(worker: WorkerProcess, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include ``labels``; 0 if absent or unreachable."""
    try:
        text = worker.metrics_text()
    except OSError:
        return 0.0
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, label_text = head.partition("{")
        if metric != name:
            continue
        if all(f'{k}="{v}"' in label_text for k, v in labels.items()):
            total += float(value)
    return total


def _healthy(*started: WorkerProcess) -> None:
    for worker in started:
        worker.wait_healthy(timeout=180)


def test_kill_9_mid_stream_loses_nothing_and_replays_identically(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    workers: Callable[..., WorkerProcess],
) -> None:
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    first = workers(settings)
    _healthy(first)
    total = 500
    _publish(broker, names.raw, corpus(total, seed=1, prefix="k9"))
    started = time.monotonic()
    _wait(
        lambda: _metric(first, "dipwire_articles_coded_total") >= 100,
        240,
        "100 articles coded before the crash",
    )
    first.kill()
    at_kill = audit(settings)
    assert at_kill.coded < total, "the crash came too late to be mid-stream"
    second = workers(settings)
    _healthy(second)
    report = _audit_until_accounted(settings, total, 420)
    elapsed = time.monotonic() - started
    print(
        f"kill -9 after {at_kill.coded}/{total} coded; after restart: {report.coded} coded, "
        f"{report.dead_letters} dead letters, {len(report.duplicate_terminals)} articles with a "
        f"repeated terminal record, {len(report.duplicate_event_ids)} repeated event ids "
        f"({report.events} event records, {report.distinct_events} distinct), "
        f"{len(report.conflicting_event_ids)} with a different payload; {elapsed:.0f} s"
    )
    assert report.ok, report.to_json()
    assert report.missing == [] and report.conflicting_event_ids == []
    assert report.coded == total and report.dead_letters == 0


def test_broker_paused_for_ten_seconds_worker_recovers_without_restart(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    workers: Callable[..., WorkerProcess],
) -> None:
    process = broker.require_embedded()
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    worker = workers(settings)
    _healthy(worker)
    pid = worker.pid
    total = 120
    messages = corpus(total, seed=2, prefix="pause")
    errors: list[BaseException] = []

    def trickle() -> None:
        producer = KafkaProducer(
            bootstrap_servers=broker.bootstrap, acks="all", request_timeout_ms=60_000
        )
        try:
            futures = []
            for key, value in messages:
                futures.append(producer.send(names.raw, key=key, value=value))
                time.sleep(0.1)
            producer.flush()
            for future in futures:
                future.get(timeout=60)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            producer.close(timeout=10)

    publisher = threading.Thread(target=trickle, name="trickle")
    publisher.start()
    _wait(lambda: _metric(worker, "dipwire_articles_coded_total") >= 5, 120, "articles flowing")
    before = _metric(worker, "dipwire_articles_coded_total")
    process.pause()
    try:
        time.sleep(10)
    finally:
        process.resume()
    publisher.join(timeout=120)
    assert not publisher.is_alive() and errors == [], errors
    report = _audit_until_accounted(settings, total, 300)
    print(
        f"broker paused 10 s with {before:.0f}/{total} coded; worker pid {pid} "
        f"{'unchanged' if worker.pid == pid and worker.alive() else 'RESTARTED'}; after: "
        f"{report.coded} coded, {len(report.duplicate_terminals)} repeated terminal records, "
        f"{len(report.duplicate_event_ids)} repeated event ids"
    )
    assert worker.alive() and worker.pid == pid, worker.log_tail()
    assert report.ok and report.coded == total, report.to_json()


def test_two_workers_split_partitions_and_one_takes_over(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    workers: Callable[..., WorkerProcess],
) -> None:
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    one, two = workers(settings), workers(settings)
    _healthy(one, two)
    total = 240
    _publish(broker, names.raw, corpus(total, seed=3, prefix="pair"))

    def both_busy() -> bool:
        return all(_metric(w, "dipwire_stage_messages_in_total") > 0 for w in (one, two))

    _wait(both_busy, 240, "both workers to process messages")
    seen = {w.pid: _metric(w, "dipwire_stage_messages_in_total") for w in (one, two)}
    one.kill()
    survivor_before = _metric(two, "dipwire_stage_messages_in_total")
    report = _audit_until_accounted(settings, total, 420)
    survivor_after = _metric(two, "dipwire_stage_messages_in_total")
    print(
        f"two workers: messages in per worker before the kill {seen}; survivor went from "
        f"{survivor_before:.0f} to {survivor_after:.0f}; {report.coded} coded, "
        f"{len(report.duplicate_terminals)} repeated terminal records, "
        f"{len(report.duplicate_event_ids)} repeated event ids"
    )
    assert all(count > 0 for count in seen.values())
    assert survivor_after > survivor_before
    assert report.ok and report.coded == total, report.to_json()


def test_poison_messages_mid_partition_do_not_block_what_follows(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    workers: Callable[..., WorkerProcess],
) -> None:
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    worker = workers(settings)
    _healthy(worker)
    good = corpus(20, seed=4, prefix="pp")
    poison: list[tuple[bytes | None, bytes]] = [
        (b"same", b"\xff\xfe\x00 not text"),
        (b"same", b'{"id": "pp-poison", "body": {"nested": true}}'),
        (b"same", b"[" * 50_000),
    ]
    # One key for everything: one partition, the poison in its middle.
    messages = [(b"same", value) for _, value in good[:10]] + poison
    messages += [(b"same", value) for _, value in good[10:]]
    metadata = _publish(broker, names.raw, messages)
    assert len({m.partition for m in metadata}) == 1
    report = _audit_until_accounted(settings, len(messages), 300)
    coded = {d["article_id"] for d in _read_json(broker, names.coded)}
    print(f"poison mid-partition: {report.coded} coded, dead letters {report.dead_letters_by_kind}")
    assert {f"pp-{i:04d}" for i in range(10, 20)} <= coded
    assert report.ok and report.coded == 20
    assert report.dead_letters_by_kind == {"invalid_fields": 1, "not_json": 1, "not_utf8": 1}


# --------------------------------------------------------------------------- the catalogue


def _nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth):
        value = {"x": value}
    return value


def _doc(article_id: str, body: object, **fields: object) -> bytes:
    return json.dumps({"id": article_id, "body": body, **fields}).encode()


def test_dead_letter_catalogue_through_a_real_worker(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    workers: Callable[..., WorkerProcess],
) -> None:
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    worker = workers(settings)
    _healthy(worker)
    story = "Envoys of Chile and Peru met in Lima on Monday to settle a fishing dispute."
    other = "Bolivia recalled its ambassador from Santiago after the border incident."
    ten_mb = _doc("cat-10mb", "Envoys met. " * 900_000)
    assert len(ten_mb) > 10_000_000
    # (key, message, expected outcome): a dead-letter kind, or "coded", or "dropped".
    cases: list[tuple[bytes | None, bytes, str]] = [
        (None, b"\xc3\x28 \xff not UTF-8", "not_utf8"),
        (None, b"id=1&body=text", "not_json"),
        (None, b'[{"id": "x", "body": "y"}]', "not_object"),
        (b"cat-nobody", json.dumps({"id": "cat-nobody"}).encode(), "invalid_fields"),
        (b"cat-typed", _doc("cat-typed", ["a", "b"]), "invalid_fields"),
        (b"cat-empty", _doc("cat-empty", ""), "empty_body"),
        (b"cat-blank", _doc("cat-blank", " \n\t \r\n "), "empty_body"),
        (b"cat-big", _doc("cat-big", "word " * 210_000), "body_too_large"),
        (b"cat-10mb", ten_mb, "message_too_large"),
        (b"cat-deep", _doc("cat-deep", story, meta=_nested(80)), "too_deep"),
        (
            b"cat-fr",
            _doc("cat-fr", "Les envoyes se sont rencontres.", language="fr"),
            "unsupported_language",
        ),
        (b"cat-html", _doc("cat-html", f"<div><p>{story}</p><script>x()</script></div>"), "coded"),
        (b"cat-ctrl", _doc("cat-ctrl", f"\x00{other}\x07\u200b"), "coded"),
        (
            b"cat-twice",
            _doc("cat-twice", "Talks between Chile and Peru ended on Tuesday."),
            "coded",
        ),
        (
            b"cat-twice",
            _doc("cat-twice", "Talks between Chile and Peru ended on Tuesday."),
            "dropped",
        ),
        # Same key, so the same partition and a known order: the twin comes second.
        (
            b"cat-twice",
            _doc("cat-twin", "Talks between  Chile and Peru ended on Tuesday. "),
            "duplicate_body",
        ),
    ]
    metadata = _publish(
        broker, names.raw, [(k, v) for k, v, _ in cases], max_request_size=16_000_000
    )
    report = _audit_until_accounted(settings, len(cases), 240)
    letters = _read_json(broker, names.dlq)
    by_position = {(d["partition"], d["offset"]): d for d in letters}
    outcome = {
        (m.partition, m.offset): by_position[(m.partition, m.offset)]["error_kind"]
        for m in metadata
        if (m.partition, m.offset) in by_position
    }
    expected_letters = {
        (m.partition, m.offset): kind
        for (_, _, kind), m in zip(cases, metadata, strict=True)
        if kind not in {"coded", "dropped"}
    }
    print(f"catalogue through a worker: {report.dead_letters_by_kind}, {report.coded} coded")
    assert outcome == expected_letters
    big = by_position[(metadata[8].partition, metadata[8].offset)]
    assert big["payload_truncated"] and big["payload_size"] == len(ten_mb)
    assert report.ok and report.coded == 3 and report.repeated_input_messages == 1
    valid = {a["id"]: a["body"] for a in _read_json(broker, names.valid)}
    assert valid["cat-html"] == story and valid["cat-ctrl"] == other
    assert _metric(worker, "dipwire_duplicates_total", reason="id") == 1
    assert _metric(worker, "dipwire_dead_letters_total", kind="message_too_large") == 1


def test_a_hundred_thousand_token_article_is_parsed_truncated(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    workers: Callable[..., WorkerProcess],
) -> None:
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    worker = workers(settings)
    _healthy(worker)
    sentences = [body for _, body in corpus(60, seed=5, prefix="long")]
    texts = [json.loads(b)["body"] for b in sentences]
    long_body = " ".join(texts[i % len(texts)] for i in range(2_000))
    tokens = len(long_body.split())
    assert tokens > 100_000 and len(long_body.encode()) < settings.max_body_bytes
    after = corpus(5, seed=6, prefix="after")
    messages = [(b"long", _doc("long", long_body))] + [(b"long", v) for _, v in after]
    started = time.monotonic()
    _publish(broker, names.raw, messages)
    report = _audit_until_accounted(settings, len(messages), 240)
    elapsed = time.monotonic() - started
    coded = {c["article_id"]: c for c in _read_json(broker, names.coded)}
    written = (names.annotated, names.enriched, names.events, names.coded)
    largest = max(len(value) for topic in written for value in _raw_values(broker, topic))
    print(
        f"{tokens:,}-token article ({len(long_body):,} chars, limit {settings.max_nlp_chars:,}): "
        f"truncated={coded['long']['truncated']}, {coded['long']['events']} events, largest "
        f"output message {largest:,} bytes; it and 5 articles behind it done in "
        f"{elapsed:.0f} s"
    )
    assert report.ok and report.coded == 6
    assert coded["long"]["truncated"] is True
    assert not any(coded[f"after-{i:04d}"]["truncated"] for i in range(5))
    assert largest < settings.max_message_bytes
    assert _metric(worker, "dipwire_articles_truncated_total") == 1


def _raw_values(broker: BrokerHandle, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=52_428_800,
        **broker.client_kwargs,
    )
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        ends = true_end_offsets(broker.bootstrap, tps, broker.client_kwargs)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        values: list[bytes] = []
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, "could not read to the end"
            for records in consumer.poll(timeout_ms=200).values():
                values += [r.value for r in records]
        return values
    finally:
        consumer.close()
