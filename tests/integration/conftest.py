"""Shared fixtures of the integration tier: one broker per session, fresh names per test.

Without ``KAFKA_BOOTSTRAP_SERVERS`` the session starts one embedded broker; with
it every test runs against that Kafka (security settings come from the
``DIPWIRE_KAFKA_*`` variables) and the tests that need the embedded broker's
process (pause, restart, its quirks) skip.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer

from pipeline.broker.admin import create_topics, wait_for_kafka
from pipeline.broker.embedded import EmbeddedBroker
from pipeline.broker.security import kafka_client_kwargs
from pipeline.settings import Settings

PARSE_PROCESSES = "1"
"""Parse processes of the workers these tests start unless a test sets its own.

The default (``auto``: one per core, plus the long lane) would start three spaCy
processes per worker on a 2-core runner, and several tests run two workers and
a broker at once; the chained stages, the lane and the children are the same
code with one process, and ``test_parse_processes`` runs two."""


@pytest.fixture(scope="session", autouse=True)
def _one_parse_process_per_worker() -> Iterator[None]:
    saved = os.environ.get("DIPWIRE_NLP_PROCESSES")
    os.environ.setdefault("DIPWIRE_NLP_PROCESSES", PARSE_PROCESSES)
    yield
    if saved is None:
        os.environ.pop("DIPWIRE_NLP_PROCESSES", None)


@dataclass
class BrokerHandle:
    """The Kafka the integration tests talk to."""

    bootstrap: str
    #: The embedded broker process, or None for an external Kafka.
    process: EmbeddedBroker | None
    #: Security arguments for kafka-python clients (empty for the embedded broker).
    client_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.process is not None

    def require_embedded(self) -> EmbeddedBroker:
        """Return the broker process, skipping the test on an external Kafka."""
        if self.process is None:
            pytest.skip("needs the embedded broker (KAFKA_BOOTSTRAP_SERVERS is set)")
        return self.process

    def env(self) -> dict[str, str]:
        """Environment for a child process (a worker, the CLI) that must use this broker."""
        env = dict(os.environ)
        env["KAFKA_BOOTSTRAP_SERVERS"] = self.bootstrap
        env["DIPWIRE_EMBEDDED_BROKER"] = "true" if self.embedded else "false"
        return env

    def create_topics(self, names: list[str], partitions: int) -> None:
        create_topics(self.bootstrap, names, partitions, client_kwargs=self.client_kwargs)


@pytest.fixture(scope="session")
def broker() -> Iterator[BrokerHandle]:
    """The session's Kafka: the embedded broker unless KAFKA_BOOTSTRAP_SERVERS is set."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        kwargs = kafka_client_kwargs(Settings())
        wait_for_kafka(external, timeout=30, client_kwargs=kwargs)
        yield BrokerHandle(external, None, kwargs)
        return
    with EmbeddedBroker() as process:
        yield BrokerHandle(process.bootstrap, process)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Return a factory of names no other test (or earlier run on a real Kafka) uses.

    ``unique_name("in")`` gives e.g. ``test-round-trip-3f9a1c2e-in``; use it for
    topics, consumer groups and app ids.
    """
    test = re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name).strip("-")[:60]
    run = uuid.uuid4().hex[:8]

    def make(suffix: str) -> str:
        return f"{test}-{run}-{suffix}"

    return make


class KafkaClients:
    """A kafka-python producer and a consumer factory; everything is closed after the test."""

    def __init__(self, broker: BrokerHandle) -> None:
        self._broker = broker
        self._producer: KafkaProducer | None = None
        self._consumers: list[KafkaConsumer] = []

    @property
    def producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self._broker.bootstrap,
                acks="all",
                request_timeout_ms=30_000,
                **self._broker.client_kwargs,
            )
        return self._producer

    def consumer(self, *topics: str, **kwargs: Any) -> KafkaConsumer:
        """A consumer reading ``topics`` from the beginning; pass ``group_id`` to join a group."""
        options: dict[str, Any] = {
            "auto_offset_reset": "earliest",
            "enable_auto_commit": False,
            "fetch_max_wait_ms": 100,
            "consumer_timeout_ms": 10_000,
            **self._broker.client_kwargs,
        }
        if self._broker.embedded and kwargs.get("group_id"):
            # The embedded broker holds a JoinGroup for half the session timeout;
            # kafka-python's 10 s default makes every join slow.
            options.update(session_timeout_ms=3000, heartbeat_interval_ms=500)
        options.update(kwargs)
        consumer = KafkaConsumer(*topics, bootstrap_servers=self._broker.bootstrap, **options)
        self._consumers.append(consumer)
        return consumer

    def read(self, *topics: str, count: int, timeout: float = 20.0) -> list[Any]:
        """Read ``count`` records of ``topics`` from the beginning, without a group.

        Fails the test if fewer arrive within ``timeout`` seconds.
        """
        consumer = self.consumer(*topics)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(records) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"read {len(records)} of {count} records from {topics}")
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        return records

    def close(self) -> None:
        for consumer in self._consumers:
            consumer.close()
        if self._producer is not None:
            self._producer.close(timeout=5)


@pytest.fixture
def kafka_clients(broker: BrokerHandle) -> Iterator[KafkaClients]:
    """kafka-python clients bound to the session broker."""
    clients = KafkaClients(broker)
    try:
        yield clients
    finally:
        clients.close()
