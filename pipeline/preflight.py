"""What a worker checks before it spends a minute loading the NLP: its port and its broker.

Both fail in a sentence here rather than deep inside Faust: a port another
process serves on, and a broker that does not answer. The broker's answer also
says whether it is the embedded one, whose workarounds then apply.
"""

from __future__ import annotations

import logging

from pipeline.broker.probe import probe_broker, resolve_embedded
from pipeline.errors import PortInUse
from pipeline.process import port_in_use
from pipeline.settings import Settings

log = logging.getLogger(__name__)


def check_web_port(settings: Settings) -> None:
    """Raise :class:`PortInUse` when something already serves on the worker's web port."""
    if settings.web_port and port_in_use(settings.web_host, settings.web_port):
        raise PortInUse(
            f"{settings.web_host}:{settings.web_port} is already in use (another worker?)"
        )


def prepare_worker(settings: Settings) -> Settings:
    """Check the port and the broker; return ``settings`` with ``embedded_broker`` decided.

    Raises:
        PortInUse: The web port is taken.
        BrokerUnreachable: No Kafka answered within ``settings.bootstrap_timeout``.
    """
    check_web_port(settings)
    info = probe_broker(settings)
    resolved = resolve_embedded(settings, info)
    if resolved.embedded and settings.embedded_broker is None:
        log.info(
            "the broker at %s is the embedded broker (cluster id %s): applying its workarounds",
            settings.kafka_bootstrap_servers,
            info.cluster_id,
        )
    return resolved
