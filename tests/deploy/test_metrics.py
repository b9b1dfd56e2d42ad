"""The metrics and their alerts: naming conventions, promtool on the config, the rules and
their unit tests, and deploy/README.md documenting every metric.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.app import FAUST_METRICS_PREFIX
from pipeline.metrics import create_metrics
from tests.deploy.artefacts import (
    ALERTS_FILE,
    EXPECTED_ALERTS,
    PROMETHEUS_DIR,
    PROMETHEUS_SYNTHETIC,
    README,
    RULE_TESTS,
    exported_metric_names,
    pipeline_families,
    promql_metric_names,
    run,
    tool,
)

pytestmark = pytest.mark.deploy


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


# --------------------------------------------------------------------------- README


def test_readme_documents_metrics_tools_and_limits() -> None:
    readme = README.read_text(encoding="utf-8")
    for family in pipeline_families():
        exposed = f"{family.name}_total" if family.type == "counter" else family.name
        assert f"`{exposed}" in readme, f"{exposed} is not documented"
    for word in ("promtool", "hadolint", "kubernetes-validate", "compose-spec", "docker-compose"):
        assert word in readme
    assert re.search(r"Docker .*does not run", readme), "say that the containers were not run"
