"""docker-compose.yml: interpolated as compose does, parsed by the compose_spec parser,
checked against the settings the worker reads; its topic job run under /bin/sh.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose

from pipeline import topics
from pipeline.settings import Settings
from tests.deploy.artefacts import (
    ALERTS_FILE,
    DASHBOARD_FILE,
    DASHBOARD_PROVIDER_FILE,
    DATASOURCE_FILE,
    DOCKERFILE,
    PROMETHEUS_DIR,
    REPO,
    brokers,
    environment,
    interpolate,
    load_compose,
    run_topic_script,
    secret_env_names,
    settings_env_names,
    settings_from,
)

pytestmark = pytest.mark.deploy


def test_settings_env_names_come_from_the_model() -> None:
    names = settings_env_names()
    assert names["DIPWIRE_WEB_PORT"] == "web_port"
    assert names["KAFKA_BOOTSTRAP_SERVERS"] == "kafka_bootstrap_servers"
    assert "DIPWIRE_NOT_A_SETTING" not in names
    assert "DIPWIRE_KAFKA_SASL_PASSWORD" in secret_env_names()
    assert "DIPWIRE_KAFKA_SASL_USERNAME" not in secret_env_names()


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


@pytest.mark.parametrize(
    "env",
    [
        {},
        {
            "DIPWIRE_PARTITIONS": "9",
            "DIPWIRE_TOPIC_PREFIX": "staging.",
            "DIPWIRE_MAX_MESSAGE_BYTES": "2097152",
        },
    ],
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
    limit = f"max.message.bytes={worker.max_message_bytes}"
    assert all(limit in c["configs"].split(",") for c in calls), calls
