"""Security and size settings for kafka-python and Faust; Faust settings for the embedded broker."""

from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from pipeline.broker.quirks import faust_broker_settings
from pipeline.broker.security import (
    BrokerConfigError,
    faust_security_settings,
    kafka_client_kwargs,
)
from pipeline.settings import Settings

pytestmark = pytest.mark.unit

PASSWORD = "s3cr3t-Pa55"
KEY_PASSWORD = "key-Pa55"


def settings(**overrides: Any) -> Settings:
    return Settings(**overrides)


@pytest.fixture(scope="module")
def client_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and its key, encrypted with KEY_PASSWORD."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "client.pem", directory / "client.key"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=dipwire-test",
            "-passout", f"pass:{KEY_PASSWORD}",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


# --- kafka-python ------------------------------------------------------------


def test_plaintext_gives_only_the_protocol_and_role_limits() -> None:
    plain = settings(max_message_bytes=2_000_000)
    assert kafka_client_kwargs(plain) == {
        "security_protocol": "PLAINTEXT",
        "bootstrap_timeout_ms": 10_000,
    }
    assert kafka_client_kwargs(plain, "producer") == {
        "security_protocol": "PLAINTEXT",
        "bootstrap_timeout_ms": 10_000,
        "max_request_size": 2_000_000,
    }
    assert kafka_client_kwargs(plain, "consumer") == {
        "security_protocol": "PLAINTEXT",
        "bootstrap_timeout_ms": 10_000,
        "max_partition_fetch_bytes": 2_000_000,
        "fetch_max_bytes": 2_000_000,
    }


def test_sasl_ssl_maps_every_field_and_unwraps_the_secrets(client_cert: tuple[Path, Path]) -> None:
    cert, key = client_cert
    secure = settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="svc-dipwire",
        kafka_sasl_password=PASSWORD,
        kafka_ssl_cafile=cert,
        kafka_ssl_certfile=cert,
        kafka_ssl_keyfile=key,
        kafka_ssl_key_password=KEY_PASSWORD,
    )
    assert kafka_client_kwargs(secure) == {
        "security_protocol": "SASL_SSL",
        "bootstrap_timeout_ms": 10_000,
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "svc-dipwire",
        "sasl_plain_password": PASSWORD,
        "ssl_cafile": str(cert),
        "ssl_certfile": str(cert),
        "ssl_keyfile": str(key),
        "ssl_password": KEY_PASSWORD,
    }


def test_sasl_plaintext_defaults_to_plain_and_sends_no_tls_files() -> None:
    sasl = settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="u",
        kafka_sasl_password=PASSWORD,
        kafka_ssl_cafile=Path("ignored-without-tls.pem"),
    )
    assert kafka_client_kwargs(sasl) == {
        "security_protocol": "SASL_PLAINTEXT",
        "bootstrap_timeout_ms": 10_000,
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "u",
        "sasl_plain_password": PASSWORD,
    }


def test_passwords_never_show_in_the_settings_repr_str_or_dump() -> None:
    secure = settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="u",
        kafka_sasl_password=PASSWORD,
        kafka_ssl_certfile=Path("c.pem"),
        kafka_ssl_key_password=KEY_PASSWORD,
    )
    for text in (repr(secure), str(secure), secure.model_dump_json()):
        assert PASSWORD not in text
        assert KEY_PASSWORD not in text
    kwargs = kafka_client_kwargs(secure)
    assert (kwargs["sasl_plain_password"], kwargs["ssl_password"]) == (PASSWORD, KEY_PASSWORD)


@pytest.mark.parametrize(
    ("client", "role"),
    [(KafkaAdminClient, "any"), (KafkaProducer, "producer"), (KafkaConsumer, "consumer")],
)
def test_every_argument_is_one_the_kafka_python_client_accepts(client: Any, role: Any) -> None:
    secure = settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="u",
        kafka_sasl_password=PASSWORD,
        kafka_ssl_cafile=Path("ca.pem"),
        kafka_ssl_certfile=Path("c.pem"),
        kafka_ssl_keyfile=Path("k.pem"),
        kafka_ssl_key_password=KEY_PASSWORD,
    )
    # The clients reject unknown arguments; checking the names avoids a network connect.
    assert set(kafka_client_kwargs(secure, role)) <= set(client.DEFAULT_CONFIG)


@pytest.mark.parametrize(
    "overrides",
    [
        {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u"},
        {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_password": PASSWORD},
        {"kafka_security_protocol": "SSL", "kafka_ssl_keyfile": Path("k.pem")},
    ],
)
def test_incomplete_security_settings_are_refused(overrides: dict[str, Any]) -> None:
    broken = settings(**overrides)
    with pytest.raises(BrokerConfigError):
        kafka_client_kwargs(broken)
    with pytest.raises(BrokerConfigError):
        faust_security_settings(broken)


# --- Faust credentials ------------------------------------------------------------


def test_plaintext_needs_no_faust_credentials() -> None:
    assert faust_security_settings(settings()) is None


def test_sasl_plaintext_becomes_sasl_credentials_without_tls() -> None:
    creds = faust_security_settings(
        settings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_mechanism="SCRAM-SHA-256",
            kafka_sasl_username="svc",
            kafka_sasl_password=PASSWORD,
        )
    )
    assert isinstance(creds, faust.SASLCredentials)
    assert PASSWORD not in repr(creds)
    # What aiokafka finally receives, through Faust's own mapping.
    auth = credentials_to_aiokafka_auth(creds)
    assert auth == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "svc",
        "sasl_plain_password": PASSWORD,
        "ssl_context": None,
    }


def test_ssl_becomes_an_ssl_context_with_the_ca_and_the_client_key(
    client_cert: tuple[Path, Path],
) -> None:
    cert, key = client_cert
    creds = faust_security_settings(
        settings(
            kafka_security_protocol="SSL",
            kafka_ssl_cafile=cert,
            kafka_ssl_certfile=cert,
            kafka_ssl_keyfile=key,
            kafka_ssl_key_password=KEY_PASSWORD,
        )
    )
    assert isinstance(creds, faust.SSLCredentials)
    context = creds.context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "dipwire-test"),),)]
    auth = credentials_to_aiokafka_auth(creds)
    assert auth == {"security_protocol": "SSL", "ssl_context": context}


def test_a_wrong_key_password_fails_when_the_context_is_built(
    client_cert: tuple[Path, Path],
) -> None:
    cert, key = client_cert
    wrong = settings(
        kafka_security_protocol="SSL",
        kafka_ssl_certfile=cert,
        kafka_ssl_keyfile=key,
        kafka_ssl_key_password="not-the-password",
    )
    with pytest.raises(ssl.SSLError):
        faust_security_settings(wrong)


def test_sasl_ssl_becomes_sasl_credentials_over_tls(client_cert: tuple[Path, Path]) -> None:
    cert, _ = client_cert
    creds = faust_security_settings(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_username="svc",
            kafka_sasl_password=PASSWORD,
            kafka_ssl_cafile=cert,
        )
    )
    assert isinstance(creds, faust.SASLCredentials)
    auth = credentials_to_aiokafka_auth(creds)
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "PLAIN"
    assert isinstance(auth["ssl_context"], ssl.SSLContext)


# --- Faust settings for the embedded broker -----------------------------------------


def test_real_kafka_gets_no_embedded_broker_settings() -> None:
    assert faust_broker_settings(False) == {}
    assert faust_broker_settings(False, processing_guarantee="exactly_once") == {}


def test_embedded_broker_gets_fast_group_settings_and_at_least_once() -> None:
    assert faust_broker_settings(True) == {
        "broker_session_timeout": 2.0,
        "broker_heartbeat_interval": 0.5,
        "broker_rebalance_timeout": 2.0,
        "consumer_group_instance_id": None,
        "processing_guarantee": "at_least_once",
        "producer_max_batch_size": 1,
    }


def test_exactly_once_on_the_embedded_broker_is_downgraded_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline.broker.quirks"):
        conf = faust_broker_settings(True, processing_guarantee="exactly_once")
    assert conf["processing_guarantee"] == "at_least_once"
    assert any("exactly_once" in r.getMessage() for r in caplog.records)


def test_faust_accepts_the_embedded_broker_settings() -> None:
    conf = faust.Settings("probe", **faust_broker_settings(True))
    assert conf.broker_session_timeout == 2.0
    assert conf.broker_heartbeat_interval == 0.5
    assert conf.broker_rebalance_timeout == 2.0
    assert conf.consumer_group_instance_id is None
    assert conf.processing_guarantee.value == "at_least_once"
    assert conf.producer_max_batch_size == 1
