from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings import Settings
from pipeline.topics import TopicNames

pytestmark = pytest.mark.unit


def test_defaults_use_the_embedded_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    settings = Settings()
    assert settings.starts_broker and settings.embedded
    assert settings.web_host == "127.0.0.1"


def test_bootstrap_servers_turn_the_embedded_broker_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    settings = Settings()
    assert not settings.starts_broker and not settings.embedded


def test_prefix_and_dictionary_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIPWIRE_TOPIC_PREFIX", "staging.")
    monkeypatch.setenv("DIPWIRE_ACTOR_DICTIONARIES", "a.txt,b.txt")
    settings = Settings()
    assert TopicNames.from_settings(settings).raw == "staging.articles.raw"
    assert settings.actor_dictionaries == [Path("a.txt"), Path("b.txt")]


def test_secret_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIPWIRE_KAFKA_SASL_PASSWORD", "hunter2-secret")
    settings = Settings()
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in str(settings.model_dump())
