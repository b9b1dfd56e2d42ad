"""deploy/k8s: validated against the Kubernetes JSON schemas (kubernetes-validate, offline)
and checked against the settings; its topic job run under /bin/sh.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pipeline import topics
from tests.deploy.artefacts import (
    K8S_DIR,
    K8S_VERSIONS,
    README,
    dockerfile_stages,
    run_topic_script,
    secret_env_names,
    settings_env_names,
    settings_from,
)

pytestmark = pytest.mark.deploy


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
    paths = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in paths.items():
        get = container[probe]["httpGet"]
        assert get["path"] == path and get["port"] == "web", probe
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
    assert service["spec"]["publishNotReadyAddresses"] is True
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
    limit = f"max.message.bytes={settings.max_message_bytes}"
    assert all(limit in c["configs"].split(",") for c in calls), calls
    (props_path,) = {c["--command-config"] for c in calls}
    props = Path(props_path).read_text(encoding="utf-8")
    assert f"security.protocol={settings.kafka_security_protocol}" in props
    assert f"sasl.mechanism={settings.kafka_sasl_mechanism}" in props
    assert settings.kafka_sasl_password is not None
    assert f'password="{settings.kafka_sasl_password.get_secret_value()}"' in props


def _cpu(quantity: str) -> float:
    """A Kubernetes CPU quantity (``1250m``, ``2``) in cores."""
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _memory(quantity: str) -> int:
    """A memory quantity as Kubernetes (``1Gi``) or prose (``1 GiB``) writes it, in bytes."""
    match = re.fullmatch(r"(\d+)\s*([KMG])i(?:B)?", quantity.strip())
    assert match, f"not a binary memory quantity: {quantity!r}"
    return int(match[1]) * 1024 ** "KMG".index(match[2]) * 1024


def test_deploy_readme_states_the_deployments_resources() -> None:
    (deployment,) = k8s_kind("Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    text = README.read_text(encoding="utf-8")
    stated = re.search(
        r"\*\*Resources\*\*: requests (\S+) CPU / ([\d.]+ \w+), limits (\S+) CPU / ([\d.]+ \w+)",
        text,
    )
    assert stated, "deploy/README.md has no Resources line"
    assert _cpu(stated[1]) == _cpu(str(requests["cpu"]))
    assert _memory(stated[2]) == _memory(requests["memory"])
    assert _cpu(stated[3]) == _cpu(str(limits["cpu"]))
    assert _memory(stated[4]) == _memory(limits["memory"])
    scaling = re.search(r"`requests\.cpu: (\S+)`, `limits\.cpu: (\S+)`", text)
    assert scaling, "the Scaling section names no CPU request and limit"
    assert (_cpu(scaling[1]), _cpu(scaling[2])) == (
        _cpu(str(requests["cpu"])),
        _cpu(str(limits["cpu"])),
    )


def test_resource_quantities_are_read_right() -> None:
    assert (_cpu("1250m"), _cpu("2")) == (1.25, 2.0)
    assert _memory("1Gi") == _memory("1 GiB") == 1024**3
    assert _memory("768 MiB") == 768 * 1024**2
