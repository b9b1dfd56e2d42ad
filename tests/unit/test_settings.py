from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from pipeline.settings import Settings, env_name
from pipeline.topics import TopicNames
from pipeline.worker import child_environment, worker_environment

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


def _non_default(name: str, value: object) -> object:
    """A valid value for field ``name`` that differs from its default ``value``."""
    special: dict[str, object] = {
        "kafka_bootstrap_servers": "kafka-1:9092,kafka-2:9092",
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": "SCRAM-SHA-512",
        "kafka_sasl_password": SecretStr("s3cret"),
        "kafka_ssl_key_password": SecretStr("k3y"),
        "processing_guarantee": "exactly_once",
        "embedded_broker": True,
        "log_level": "DEBUG",
        "log_format": "json",
        "nlp_processes": 3,
    }
    if name in special:
        return special[name]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 3
    if isinstance(value, float):
        return value * 2.5
    if isinstance(value, list):
        return [Path("/dicts/a.txt"), Path("/dicts/b.txt")]
    if name.endswith("file"):
        return Path(f"/certs/{name}.pem")
    return f"x-{name}-{value}"


def test_every_setting_survives_the_child_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings(kafka_bootstrap_servers="k:9092")
    changed = {name: _non_default(name, getattr(defaults, name)) for name in Settings.model_fields}
    original = Settings(**changed)
    env = worker_environment(original)
    assert set(env) == {env_name(name) for name in Settings.model_fields}
    for key in list(os.environ):
        if key.startswith("DIPWIRE_") or key == "KAFKA_BOOTSTRAP_SERVERS":
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    rebuilt = Settings()
    for name in Settings.model_fields:
        before, after = getattr(original, name), getattr(rebuilt, name)
        if isinstance(before, SecretStr):
            before, after = before.get_secret_value(), after.get_secret_value()
        assert after == before, name
        assert before != getattr(defaults, name) or name == "embedded_broker", name


def test_a_child_does_not_inherit_a_setting_left_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(kafka_bootstrap_servers="k:9092")
    monkeypatch.setenv("DIPWIRE_KAFKA_SASL_USERNAME", "parent-only")
    monkeypatch.setenv("UNRELATED_VARIABLE", "kept")
    env = child_environment(settings, {"EXTRA": "1"})
    assert "DIPWIRE_KAFKA_SASL_USERNAME" not in env
    assert env["UNRELATED_VARIABLE"] == "kept" and env["EXTRA"] == "1"
    assert env["DIPWIRE_EMBEDDED_BROKER"] == "false"


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_settings_table() -> set[str]:
    """The variables named in the first column of the README's Configuration table."""
    section = README.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first))
    return names


def test_the_readme_settings_table_lists_every_setting() -> None:
    documented = readme_settings_table()
    assert documented, "no Configuration table found in README.md"
    variables = {env_name(field) for field in Settings.model_fields}
    assert variables - documented == set(), "settings missing from the README's table"
    assert documented - variables == set(), "the README's table names no such setting"
