"""The two errors of the broker side, apart so every broker module can raise them."""

from __future__ import annotations


class BrokerError(RuntimeError):
    """The broker could not be started, did not become ready, or died."""


class BrokerConfigError(ValueError):
    """The Kafka settings are incomplete or contradictory (security, no broker address)."""
