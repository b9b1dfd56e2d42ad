"""Security rules checked statically: no code-executing serializer, secrets stay wrapped, pins.

The worker-level checks (the secret absent from a real worker's log and
``/metrics``, the web port on loopback) are in the integration tier.
"""

from __future__ import annotations

import ast
import logging
import pickle
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from prometheus_client import CollectorRegistry

from pipeline.app import create_pipeline, faust_settings
from pipeline.broker.security import (
    BrokerConfigError,
    faust_security_settings,
    kafka_client_kwargs,
)
from pipeline.codec import Rejected, decode_article
from pipeline.settings import REDACTED, Settings, redact_secrets_in_logs

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pipeline"
SECRET = "s3cr3t-Pa55-do-not-log"

FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle"}
FORBIDDEN_MODULES |= {"jsonpickle", "joblib"}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
UNSAFE_YAML = {"load", "load_all", "unsafe_load", "full_load", "unsafe_load_all"}


def _sources() -> list[Path]:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10, files
    return files


def _violations(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{where} import {a.name}" for a in node.names if _forbidden(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and _forbidden(node.module):
            found.append(f"{where} from {node.module} import")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                found.append(f"{where} {func.id}()")
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "yaml"
                and func.attr in UNSAFE_YAML
            ):
                found.append(f"{where} yaml.{func.attr}()")
            for keyword in node.keywords:
                if (
                    keyword.arg == "shell"
                    and isinstance(keyword.value, ast.Constant)
                    and keyword.value.value is True
                ):
                    found.append(f"{where} shell=True")
    return found


def _forbidden(module: str) -> bool:
    return module.split(".")[0] in FORBIDDEN_MODULES


def test_the_checker_catches_what_it_looks_for(tmp_path: Path) -> None:
    bad = tmp_path / "pipeline" / "bad.py"
    bad.parent.mkdir()
    bad.write_text(
        "import pickle\nfrom marshal import loads\nimport yaml\n"
        "eval('1')\nyaml.load('a')\nyaml.safe_load('a')\n"
        "import subprocess\nsubprocess.run('ls', shell=True)\n"
    )
    found = _violations(bad, tmp_path)
    assert len(found) == 5, found


def test_package_source_has_no_code_executing_serializer_or_eval() -> None:
    found = [v for path in _sources() for v in _violations(path)]
    assert found == []


def test_faust_moves_raw_bytes_and_pydantic_parses_json() -> None:
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:9", embedded_broker=False)
    conf = faust_settings(settings)
    assert (conf["key_serializer"], conf["value_serializer"]) == ("raw", "raw")
    pipeline = create_pipeline(settings, object(), registry=CollectorRegistry())  # type: ignore[arg-type]
    app_conf = pipeline.app.conf
    assert (app_conf.key_serializer, app_conf.value_serializer) == ("raw", "raw")
    assert len(pipeline.app.agents) == 4
    for agent in pipeline.app.agents.values():
        channel = agent.channel
        # None falls back to the app's raw serializer; a codec name here could be "pickle".
        assert channel.key_serializer in (None, "raw")
        assert channel.value_serializer in (None, "raw")
    assert not list(pipeline.app.tables.values())


def test_a_pickle_on_the_wire_is_dead_lettered_not_loaded() -> None:
    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    raw = pickle.dumps(Boom())
    result = decode_article(
        raw, max_message_bytes=1_000, max_body_bytes=1_000, now=datetime.now(UTC)
    )
    assert isinstance(result, Rejected) and result.kind in {"not_utf8", "not_json"}


# --------------------------------------------------------------------------- secrets


def _sasl(**fields: object) -> Settings:
    base: dict[str, object] = {
        "kafka_bootstrap_servers": "kafka:9093",
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": "SCRAM-SHA-512",
        "kafka_sasl_username": "dipwire",
        "kafka_sasl_password": SECRET,
    }
    base.update(fields)
    return Settings(**base)  # type: ignore[arg-type]


def test_security_settings_reach_kafka_python_and_faust() -> None:
    settings = _sasl()
    kwargs = kafka_client_kwargs(settings)
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("dipwire", SECRET)
    credentials = faust_security_settings(_sasl())
    assert credentials.username == "dipwire" and credentials.password == SECRET
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert faust_settings(_sasl())["broker_credentials"] is not None


def test_environment_secret_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIPWIRE_KAFKA_SASL_PASSWORD", SECRET)
    settings = Settings()
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == SECRET
    for text in (repr(settings), str(settings), settings.model_dump_json(), str(vars(settings))):
        assert SECRET not in text


def test_secret_absent_from_faust_credentials_repr_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _sasl(embedded_broker=True)
    with caplog.at_level(logging.DEBUG):
        conf = faust_settings(settings)
        logging.getLogger("dipwire").info("settings: %s; faust: %s", settings, conf)
    assert SECRET not in repr(conf["broker_credentials"])
    assert SECRET not in caplog.text


def test_client_configuration_logged_at_debug_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """kafka-python's admin client logs its configuration, password included, at DEBUG.

    The call below is the one in ``kafka/admin/client.py``; the integration tier
    runs a real worker at DEBUG with SASL settings and checks its whole output.
    """
    settings = _sasl(kafka_security_protocol="SASL_PLAINTEXT")
    config = {"bootstrap_servers": "kafka:9093", **kafka_client_kwargs(settings)}
    before = logging.getLogRecordFactory()
    remove = redact_secrets_in_logs(settings)
    assert logging.getLogRecordFactory() is not before
    try:
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("kafka.admin.client").debug(
                "Starting KafkaAdminClient with configuration: %s", config
            )
            try:
                raise RuntimeError(f"failed with {SECRET!r}")
            except RuntimeError:
                logging.getLogger("dipwire").exception("reported")
    finally:
        remove()
    assert f"'sasl_plain_password': '{REDACTED}'" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in "".join(r.exc_text or "" for r in caplog.records)
    assert logging.getLogRecordFactory() is before


def test_configuration_errors_do_not_echo_the_secret() -> None:
    settings = _sasl(kafka_sasl_username=None)
    for build in (kafka_client_kwargs, faust_security_settings):
        with pytest.raises(BrokerConfigError) as raised:
            build(settings)
        assert SECRET not in str(raised.value)


def test_web_server_binds_loopback_unless_configured() -> None:
    defaults = Settings(kafka_bootstrap_servers="127.0.0.1:9")
    assert defaults.web_host == "127.0.0.1"
    assert faust_settings(defaults)["web_bind"] == "127.0.0.1"
    opened = Settings(kafka_bootstrap_servers="127.0.0.1:9", web_host="0.0.0.0")  # noqa: S104
    assert faust_settings(opened)["web_bind"] == "0.0.0.0"  # noqa: S104


# --------------------------------------------------------------------------- pins


def _requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found = list(project["build-system"]["requires"])
    found += project["project"]["dependencies"]
    for group in project["project"].get("optional-dependencies", {}).values():
        found += group
    return found


def test_every_dependency_has_a_lower_and_an_upper_bound() -> None:
    requirements = _requirements()
    assert len(requirements) > 10
    unbounded = []
    for text in requirements:
        specs = Requirement(text).specifier
        lower = any(s.operator in {">=", ">", "==", "~="} for s in specs)
        upper = any(s.operator in {"<", "<=", "==", "~="} for s in specs)
        if not (lower and upper):
            unbounded.append(text)
    assert unbounded == []
