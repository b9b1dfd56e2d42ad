"""The security settings as client options: the only place a secret is unwrapped.

:func:`kafka_client_kwargs` is for kafka-python (the CLI, the tools, topic
administration), :func:`faust_security_settings` for Faust's
``broker_credentials``. Both refuse incomplete settings (SASL without a
password, a key without a certificate) before any client is built.
"""

from __future__ import annotations

import ssl
from typing import Any, Literal

from pydantic import SecretStr

from pipeline.broker.errors import BrokerConfigError
from pipeline.settings import Settings

__all__ = ["BrokerConfigError", "faust_security_settings", "kafka_client_kwargs"]


def _reveal(secret: SecretStr | None) -> str | None:
    """Unwrap a secret: the only place one leaves its ``SecretStr``, never logged."""
    return None if secret is None else secret.get_secret_value()


def _check_security(settings: Settings) -> None:
    protocol = settings.kafka_security_protocol
    if protocol.startswith("SASL"):
        if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
            raise BrokerConfigError(
                f"kafka_security_protocol={protocol} needs kafka_sasl_username and "
                "kafka_sasl_password"
            )
    if (settings.kafka_ssl_keyfile or settings.kafka_ssl_key_password) and not (
        settings.kafka_ssl_certfile
    ):
        raise BrokerConfigError("kafka_ssl_keyfile/key_password need kafka_ssl_certfile")


def kafka_client_kwargs(
    settings: Settings, role: Literal["any", "producer", "consumer"] = "any"
) -> dict[str, Any]:
    """Keyword arguments for kafka-python clients from the security and size settings.

    Args:
        settings: The pipeline settings.
        role: ``"any"`` gives only arguments every client accepts (admin,
            producer, consumer); ``"producer"`` adds ``max_request_size`` and
            ``"consumer"`` adds the fetch limits, both from ``max_message_bytes``.

    Returns:
        Arguments to pass to ``KafkaAdminClient``, ``KafkaProducer`` or
        ``KafkaConsumer`` next to ``bootstrap_servers``. They contain the SASL
        password in clear: do not log them.

    Raises:
        BrokerConfigError: SASL without username/password, or a key without a cert.
    """
    _check_security(settings)
    protocol = settings.kafka_security_protocol
    # kafka-python waits 30 s for a first answer by default; a wrong address should say so sooner.
    kwargs: dict[str, Any] = {
        "security_protocol": protocol,
        "bootstrap_timeout_ms": int(settings.bootstrap_timeout * 1000),
    }
    if protocol.startswith("SASL"):
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism or "PLAIN"
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        kwargs["sasl_plain_password"] = _reveal(settings.kafka_sasl_password)
    if protocol.endswith("SSL"):
        if settings.kafka_ssl_cafile:
            kwargs["ssl_cafile"] = str(settings.kafka_ssl_cafile)
        if settings.kafka_ssl_certfile:
            kwargs["ssl_certfile"] = str(settings.kafka_ssl_certfile)
        if settings.kafka_ssl_keyfile:
            kwargs["ssl_keyfile"] = str(settings.kafka_ssl_keyfile)
        if settings.kafka_ssl_key_password is not None:
            kwargs["ssl_password"] = _reveal(settings.kafka_ssl_key_password)
    if role == "producer":
        kwargs["max_request_size"] = settings.max_message_bytes
    elif role == "consumer":
        kwargs["max_partition_fetch_bytes"] = settings.max_message_bytes
        kwargs["fetch_max_bytes"] = settings.max_message_bytes
    return kwargs


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH,
        cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
    )
    if settings.kafka_ssl_certfile:
        context.load_cert_chain(
            str(settings.kafka_ssl_certfile),
            str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
            password=_reveal(settings.kafka_ssl_key_password),
        )
    return context


def faust_security_settings(settings: Settings) -> Any:
    """Build Faust's ``broker_credentials`` from the security settings.

    Args:
        settings: The pipeline settings.

    Returns:
        ``faust.SASLCredentials`` (with an SSL context for SASL_SSL),
        ``faust.SSLCredentials``, or ``None`` for PLAINTEXT.

    Raises:
        BrokerConfigError: SASL without username/password, or a key without a cert.
    """
    _check_security(settings)
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    import faust

    context = _ssl_context(settings) if protocol.endswith("SSL") else None
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=_reveal(settings.kafka_sasl_password),
        mechanism=settings.kafka_sasl_mechanism or "PLAIN",
        ssl_context=context,
    )
