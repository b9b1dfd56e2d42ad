"""A worker parsing in two child processes: both parse; killing one mid-stream loses nothing."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.settings import Settings
from pipeline.tools.bench.procs import descendants
from pipeline.topics import TopicNames
from pipeline.worker import WorkerProcess
from tests.integration.conftest import BrokerHandle, KafkaClients

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = json.loads((ROOT / "seeds" / "wang-yi-washington-2023-10.json").read_text())
ARTICLES = 40


def _parse_children(worker: WorkerProcess) -> list[int]:
    found = []
    for pid in descendants(worker.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(pid)
    return found


def test_two_parse_processes_share_the_work_and_survive_a_kill(
    broker: BrokerHandle, kafka_clients: KafkaClients, unique_name: Callable[[str], str]
) -> None:
    settings = Settings(
        kafka_bootstrap_servers=broker.bootstrap,
        embedded_broker=broker.embedded,
        topic_prefix=unique_name("t") + ".",
        app_id=unique_name("app"),
        web_port=0,
        nlp_processes=2,
        batch_size=2,
    )
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), settings.partitions)
    with WorkerProcess(settings) as worker:
        worker.wait_healthy(timeout=180)
        # Two parse processes and the long lane's (started after them: the higher pid).
        children = sorted(_parse_children(worker))
        assert len(children) == 3, children

        ids = [f"{settings.app_id}-{n}" for n in range(ARTICLES)]
        for n, article_id in enumerate(ids):
            # Distinct bodies: the validate stage dead-letters a repeated body under a new id.
            body = f"{SEED['body']}\n\nUpdate {n}: the talks went on."
            article = {**SEED, "id": article_id, "body": body}
            kafka_clients.producer.send(
                names.raw, key=article_id.encode(), value=json.dumps(article).encode()
            )
        kafka_clients.producer.flush()

        consumer = kafka_clients.consumer(names.coded, names.dlq, consumer_timeout_ms=1000)
        coded: set[str] = set()
        letters: list[dict[str, object]] = []
        killed = False
        deadline = time.monotonic() + 300
        while len(coded) + len(letters) < ARTICLES and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                for record in batch:
                    value = json.loads(record.value)
                    if record.topic == names.coded:
                        coded.add(value["article_id"])
                    else:
                        letters.append(value)
            if not killed and len(coded) >= 4:
                os.kill(children[0], signal.SIGKILL)
                killed = True
        assert killed
        assert worker.alive()
        # A record the child was parsing when it died is retried, not dead-lettered:
        # only a record that kills a fresh child again would be.
        assert letters == []
        assert coded == set(ids)
        assert _parse_children(worker), "no parse process after the restart"
        log = worker.log_tail(20_000)
        assert "child process died" in log
