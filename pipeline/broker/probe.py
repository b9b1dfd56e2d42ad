"""Ask the configured Kafka who it is, once, before a worker starts: fail fast, detect Tansu.

The first request a command makes is where a wrong address shows; kafka-python
would keep trying for 30 s. :func:`probe_broker` waits at most
``settings.bootstrap_timeout`` and reads the cluster id from the metadata
answer. The embedded broker is Tansu, which answers with the cluster id it was
started with (``dipwire-embedded``, see ``pipeline.broker.embedded``) or, started
by anyone else, Tansu's default ``tansu_cluster``: either means its quirks apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.broker.clients import require_bootstrap
from pipeline.broker.embedded import EMBEDDED_CLUSTER_ID
from pipeline.broker.errors import BrokerError
from pipeline.broker.security import kafka_client_kwargs
from pipeline.settings import Settings

__all__ = [
    "BrokerInfo",
    "BrokerUnreachable",
    "probe_broker",
    "resolve_embedded",
]

TANSU_CLUSTER_IDS = frozenset({EMBEDDED_CLUSTER_ID, "tansu_cluster"})
"""Cluster ids that name a Tansu broker: ours, and Tansu's default."""


class BrokerUnreachable(BrokerError):
    """No Kafka answered at the configured address within ``bootstrap_timeout``."""

    def __init__(self, bootstrap: str, timeout: float, cause: str = "") -> None:
        self.bootstrap = bootstrap
        self.timeout = timeout
        super().__init__(f"no Kafka answered at {bootstrap} within {timeout:g} s {cause}".strip())


@dataclass(frozen=True)
class BrokerInfo:
    """What the broker said about itself."""

    cluster_id: str | None
    brokers: int

    @property
    def embedded(self) -> bool:
        """True when the broker is Tansu, whose workarounds then apply."""
        return self.cluster_id in TANSU_CLUSTER_IDS


def probe_broker(settings: Settings) -> BrokerInfo:
    """Bootstrap once against the configured Kafka and read its metadata.

    Raises:
        BrokerUnreachable: Nothing answered within ``settings.bootstrap_timeout``.
        BrokerConfigError: The address or the security settings are missing.
    """
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    bootstrap = require_bootstrap(settings)
    timeout_ms = int(settings.bootstrap_timeout * 1000)
    options = {**kafka_client_kwargs(settings), "request_timeout_ms": max(timeout_ms, 1000)}
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, **options)
    except (KafkaError, OSError) as exc:
        raise BrokerUnreachable(bootstrap, settings.bootstrap_timeout) from exc
    try:
        cluster = admin.describe_cluster()
    except (KafkaError, OSError) as exc:
        raise BrokerUnreachable(bootstrap, settings.bootstrap_timeout, f"({exc})") from exc
    finally:
        admin.close()
    return BrokerInfo(cluster_id=cluster.get("cluster_id"), brokers=len(cluster.get("brokers", [])))


def resolve_embedded(settings: Settings, info: BrokerInfo) -> Settings:
    """``settings`` with ``embedded_broker`` decided: as configured, else as the broker says."""
    if settings.embedded_broker is not None:
        return settings
    return settings.model_copy(update={"embedded_broker": info.embedded})
