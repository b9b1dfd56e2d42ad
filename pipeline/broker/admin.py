"""Topic administration and readiness: create topics with their partitions, wait for a Kafka.

Both work the same against the embedded broker and a real Kafka; they take a
bootstrap address and the security arguments of
:func:`pipeline.broker.security.kafka_client_kwargs`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.broker.errors import BrokerError
from pipeline.broker.security import kafka_client_kwargs
from pipeline.settings import Settings
from pipeline.topics import TopicNames

log = logging.getLogger(__name__)

__all__ = ["create_pipeline_topics", "create_topics", "topic_configs", "wait_for_kafka"]


def wait_for_kafka(
    bootstrap: str, *, timeout: float = 15.0, client_kwargs: Mapping[str, Any] | None = None
) -> None:
    """Block until ``bootstrap`` answers ApiVersions and Metadata requests.

    Args:
        bootstrap: ``host:port[,host:port]``.
        timeout: Seconds to keep trying.
        client_kwargs: Security arguments from :func:`kafka_client_kwargs`.

    Raises:
        BrokerError: No answer within ``timeout``.
    """
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        remaining_ms = max(int((deadline - time.monotonic()) * 1000), 100)
        try:
            # Bootstrapping does the ApiVersions exchange; list_topics is a metadata request.
            options = {
                **dict(client_kwargs or {}),
                "bootstrap_timeout_ms": remaining_ms,
                "request_timeout_ms": min(remaining_ms, 5000),
            }
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, **options)
        except (KafkaError, OSError) as exc:
            last_error = exc
            time.sleep(0.05)
            continue
        try:
            admin.list_topics()
            return
        except (KafkaError, OSError) as exc:
            last_error = exc
            time.sleep(0.05)
        finally:
            admin.close()
    raise BrokerError(f"Kafka at {bootstrap} did not answer within {timeout:.1f}s: {last_error}")


def create_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    replication_factor: int = 1,
    client_kwargs: Mapping[str, Any] | None = None,
    *,
    timeout: float = 30.0,
    configs: Mapping[str, str] | None = None,
) -> None:
    """Create topics with an explicit partition count and wait until metadata shows them.

    The embedded broker auto-creates a topic with 4 partitions on first use and
    cannot add partitions later, so every topic is created here first. Topics
    that already exist are left as they are (a warning names any whose
    partition count differs). Works the same against a real Kafka.

    Args:
        bootstrap: ``host:port[,host:port]``.
        names: Topic names.
        partitions: Partitions per topic.
        replication_factor: Replicas per partition (1 on the embedded broker).
        client_kwargs: Security arguments from :func:`kafka_client_kwargs`.
        timeout: Seconds to wait for the topics to appear with leaders.
        configs: Topic configs of the new topics (``max.message.bytes``); an
            existing topic keeps its own.

    Raises:
        BrokerError: The broker refused a topic, or metadata did not show every
            topic with its partitions and leaders within ``timeout``.
    """
    from kafka import KafkaAdminClient
    from kafka.errors import TopicAlreadyExistsError, for_code

    wanted = list(dict.fromkeys(names))
    if not wanted:
        return
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=int(timeout * 1000),
        **dict(client_kwargs or {}),
    )
    try:
        new = {name: _new_topic(partitions, replication_factor, configs) for name in wanted}
        response = admin.create_topics(new, timeout_ms=int(timeout * 1000), raise_errors=False)
        created: set[str] = set()
        for topic in response["topics"]:
            error = for_code(topic["error_code"])
            if topic["error_code"] == 0:
                created.add(topic["name"])
            elif error is not TopicAlreadyExistsError:
                message = topic.get("error_message") or error.__name__
                raise BrokerError(f"could not create topic {topic['name']!r}: {message}")
        _wait_for_partitions(admin, wanted, created, partitions, timeout)
    finally:
        admin.close()


def _new_topic(
    partitions: int, replication_factor: int, configs: Mapping[str, str] | None
) -> dict[str, Any]:
    """One topic of a CreateTopics request, as kafka-python's admin client takes it."""
    return {
        "num_partitions": partitions,
        "replication_factor": replication_factor,
        "configs": dict(configs or {}),
    }


def _wait_for_partitions(
    admin: Any, names: list[str], created: set[str], partitions: int, timeout: float
) -> None:
    """Poll metadata until every topic has its partitions, each with a leader."""
    deadline = time.monotonic() + timeout
    pending: dict[str, str] = {}
    while True:
        pending = {}
        by_name = {t["name"]: t for t in admin.describe_topics(names)}
        for name in names:
            topic = by_name.get(name)
            parts = (topic or {}).get("partitions") or []
            if topic is None or topic.get("error_code", 0) != 0:
                pending[name] = "not in metadata"
            elif name in created and len(parts) != partitions:
                pending[name] = f"{len(parts)}/{partitions} partitions"
            elif not parts or any(p.get("leader_id", -1) < 0 for p in parts):
                pending[name] = "partition without leader"
        if not pending:
            break
        if time.monotonic() > deadline:
            raise BrokerError(f"topics not ready after {timeout:.1f}s: {pending}")
        time.sleep(0.05)
    for name in names:
        if name not in created:
            count = len(by_name[name]["partitions"])
            if count != partitions:
                log.warning(
                    "topic %s already exists with %d partitions, not %d", name, count, partitions
                )


def create_pipeline_topics(settings: Settings, extra: Iterable[str] = ()) -> TopicNames:
    """Create every topic of the pipeline (and ``extra`` ones) as ``settings`` configure them.

    Args:
        settings: Broker address, security, topic prefix, partitions and replication.
        extra: Further full topic names to create the same way (a probe topic).

    Returns:
        The pipeline's topic names.
    """
    if not settings.kafka_bootstrap_servers:
        raise BrokerError("topics need a broker address; start the embedded broker first")
    names = TopicNames.from_settings(settings)
    create_topics(
        settings.kafka_bootstrap_servers,
        [*names.all(), *extra],
        partitions=settings.partitions,
        replication_factor=settings.replication_factor,
        client_kwargs=kafka_client_kwargs(settings),
        configs=topic_configs(settings),
    )
    return names


def topic_configs(settings: Settings) -> dict[str, str]:
    """The configs of every pipeline topic: records up to ``DIPWIRE_MAX_MESSAGE_BYTES``.

    A Kafka's default ``message.max.bytes`` (about 1 MB) is below the
    pipeline's default limit (12 MiB), and an enriched article is several
    times its body (1.6 MB for a body at the NLP limit), so the topics raise
    their own limit to the clients'. The deployment's topic jobs set the same.
    """
    return {"max.message.bytes": str(settings.max_message_bytes)}
