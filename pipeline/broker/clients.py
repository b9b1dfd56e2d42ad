"""The one group-less reader and the one producer of the CLI and the tools (kafka-python).

``dipwire ingest``, ``tail``, ``demo``, ``audit`` and ``bench`` read and write
topics beside the pipeline, never as part of its consumer group: a reader
joins no group and commits nothing, so reading never moves the pipeline's
offsets, and it never creates a topic (the embedded broker would create one
with 4 partitions, which it cannot change later). The producer waits for every
in-sync replica, as the pipeline's own producers do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pipeline.broker.errors import BrokerConfigError
from pipeline.broker.security import kafka_client_kwargs
from pipeline.settings import Settings

if TYPE_CHECKING:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

__all__ = ["open_producer", "open_reader", "reader", "require_bootstrap"]

KAFKA_PYTHON_FETCH_MAX_BYTES = 52_428_800
"""kafka-python's default ``fetch_max_bytes``; a reader never asks for less."""


def require_bootstrap(settings: Settings) -> str:
    """The broker address, or a message that says how to get one.

    Raises:
        BrokerConfigError: ``KAFKA_BOOTSTRAP_SERVERS`` is not set.
    """
    if not settings.kafka_bootstrap_servers:
        raise BrokerConfigError(
            "KAFKA_BOOTSTRAP_SERVERS is not set; start a broker (`dipwire broker` prints its "
            "address) or use `dipwire demo`, which starts its own"
        )
    return settings.kafka_bootstrap_servers


def reader(
    bootstrap: str, client_kwargs: Mapping[str, Any] | None = None, **options: Any
) -> KafkaConsumer:
    """A kafka-python consumer in no group: nothing is committed, no topic is created.

    Args:
        bootstrap: ``host:port[,host:port]``.
        client_kwargs: Security and size arguments from :func:`kafka_client_kwargs`.
        **options: Further kafka-python consumer options; they win over the defaults.

    Returns:
        A consumer with nothing assigned.
    """
    from kafka import KafkaConsumer

    defaults: dict[str, Any] = {
        "group_id": None,
        "enable_auto_commit": False,
        "allow_auto_create_topics": False,
        "fetch_max_wait_ms": 100,
    }
    return KafkaConsumer(
        bootstrap_servers=bootstrap, **{**defaults, **dict(client_kwargs or {}), **options}
    )


def open_reader(
    settings: Settings,
    topics: Iterable[str],
    *,
    start: Mapping[TopicPartition, int] | None = None,
    **options: Any,
) -> KafkaConsumer:
    """The reader of ``topics``: every partition assigned, at its beginning or at ``start``.

    Args:
        settings: Broker address, security settings and ``max_message_bytes``.
        topics: Full topic names; a topic that does not exist adds no partition.
        start: Offsets to start from, by partition (a partition left out starts at 0).
        **options: Further kafka-python consumer options.

    Returns:
        The consumer, assigned and positioned.
    """
    from kafka import TopicPartition

    client_kwargs = kafka_client_kwargs(settings, "consumer")
    client_kwargs["fetch_max_bytes"] = max(settings.max_message_bytes, KAFKA_PYTHON_FETCH_MAX_BYTES)
    consumer = reader(require_bootstrap(settings), client_kwargs, **options)
    partitions = [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    consumer.assign(partitions)
    if start is None:
        consumer.seek_to_beginning(*partitions)
    else:
        for tp in partitions:
            consumer.seek(tp, start.get(tp, 0))
    return consumer


def open_producer(settings: Settings, **options: Any) -> KafkaProducer:
    """The producer: waits for all in-sync replicas, requests up to ``max_message_bytes``.

    Args:
        settings: Broker address, security settings and ``max_message_bytes``.
        **options: Further kafka-python producer options (``linger_ms=0`` for a probe).

    Returns:
        A kafka-python producer.
    """
    from kafka import KafkaProducer

    defaults: dict[str, Any] = {"acks": "all", "linger_ms": 5}
    return KafkaProducer(
        bootstrap_servers=require_bootstrap(settings),
        **{**defaults, **kafka_client_kwargs(settings, "producer"), **options},
    )


Send = tuple[str, bytes | None, bytes, list[tuple[str, bytes]] | None]
"""One record to publish: topic, key, value and headers (or None)."""


def publish_all(settings: Settings, records: Iterable[Send]) -> int:
    """Publish ``records`` with one producer, wait for every ack, return how many were sent.

    Raises:
        kafka.errors.KafkaError: A record was not acknowledged within 30 s.
    """
    producer = open_producer(settings)
    try:
        futures = [
            producer.send(topic, key=key, value=value, headers=headers)
            for topic, key, value, headers in records
        ]
        producer.flush()
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close()
    return len(futures)
