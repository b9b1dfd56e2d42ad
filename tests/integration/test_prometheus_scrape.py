"""A real Prometheus scrapes a real worker: the metrics, alert rules and dashboard work together.

Debian's ``prometheus`` binary runs on a free loopback port with a config that
scrapes one ``dipwire worker`` (on the session's broker) as job
``dipwire-worker`` and loads ``deploy/prometheus/alerts.yml``. The seed article
is published with ``dipwire ingest``, as the compose producer does.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.process import free_port
from pipeline.settings import Settings
from pipeline.topics import TopicNames
from pipeline.worker import WorkerProcess, child_environment
from tests.integration.conftest import BrokerHandle

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "wang-yi-washington-2023-10.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "dipwire.json"
STAGES = {"validate", "extract", "enrich", "code"}

#: Grafana's variables, as Grafana substitutes them before querying Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}


class Prometheus:
    """Debian's prometheus server in a temporary directory, on a loopback port."""

    def __init__(self, workdir: Path, worker_port: int) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail(
                "prometheus not found on PATH; Debian's `prometheus` package ships it: "
                "run `make system-deps`",
                pytrace=False,
            )
        self.port = free_port()
        config = {
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "evaluation_interval": "1s",
            },
            "rule_files": [str(ALERTS)],
            "scrape_configs": [
                {
                    "job_name": "dipwire-worker",
                    "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}],
                }
            ],
        }
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log_path = workdir / "prometheus.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_path}",
                    f"--storage.tsdb.path={workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:  # Prometheus explains a bad query in the body
            body = json.loads(exc.read())
        return body

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; fails the test on a query error."""
        body = self.api("/api/v1/query", query=expr)
        assert body["status"] == "success", f"{expr}: {body.get('error')}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text(errors="replace")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/-/ready", timeout=2
                ) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        pytest.fail(f"prometheus not ready:\n{self.log_path.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class Stack:
    prometheus: Prometheus
    worker: WorkerProcess


def wait_until(what: str, check: Callable[[], bool], timeout: float, stack: Stack) -> None:
    """Poll ``check`` until it holds; fail with both logs if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        assert stack.worker.alive(), f"worker died:\n{stack.worker.log_tail()}"
        time.sleep(1.0)
    pytest.fail(
        f"timed out waiting for {what}\n--- worker log ---\n{stack.worker.log_tail()}"
        f"\n--- prometheus log ---\n{stack.prometheus.log_path.read_text(errors='replace')}"
    )


def evaluated_at(rule: dict[str, Any]) -> datetime:
    """When Prometheus last evaluated ``rule`` (its RFC 3339 time has nanoseconds)."""
    stamp = re.sub(r"(\.\d{6})\d*", r"\1", rule["lastEvaluation"]).replace("Z", "+00:00")
    return datetime.fromisoformat(stamp)


def total(prometheus: Prometheus, expr: str) -> float:
    result = prometheus.query(f"sum({expr})")
    return float(result[0]["value"][1]) if result else 0.0


@pytest.fixture(scope="module")
def stack(broker: BrokerHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("prometheus-scrape")
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap_servers=broker.bootstrap,
        embedded_broker=broker.embedded,
        topic_prefix=f"scrape-{run}.",
        app_id=f"dipwire-scrape-{run}",
        web_port=0,
    )
    broker.create_topics(list(TopicNames.from_settings(settings).all()), settings.partitions)
    worker = WorkerProcess(settings, log_path=workdir / "worker.log")
    prometheus: Prometheus | None = None
    try:
        worker.start()
        worker.wait_healthy(timeout=180)
        prometheus = Prometheus(workdir, worker.settings.web_port)
        prometheus.wait_ready(timeout=60)
        env = child_environment(worker.settings)
        published = subprocess.run(
            [sys.executable, "-m", "pipeline", "ingest", str(SEED)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert published.returncode == 0, published.stderr
        yield Stack(prometheus, worker)
    finally:
        if prometheus is not None:
            prometheus.stop()
        worker.stop()


def test_prometheus_scrapes_the_pipeline_counters_and_histograms(stack: Stack) -> None:
    prometheus = stack.prometheus
    wanted = (
        "dipwire_stage_messages_in_total",
        "dipwire_stage_processing_seconds_count",
        "dipwire_ingest_to_emit_seconds_count",
        "dipwire_events_total",
    )
    wait_until(
        "non-zero pipeline metrics in Prometheus",
        lambda: all(total(prometheus, name) > 0 for name in wanted),
        timeout=240,
        stack=stack,
    )
    (up,) = prometheus.query('up{job="dipwire-worker"}')
    assert up["value"][1] == "1"
    stages = {
        r["metric"]["stage"]
        for r in prometheus.query("sum by (stage) (dipwire_stage_messages_in_total) > 0")
    }
    assert stages == STAGES
    buckets = prometheus.query('sum by (le) (dipwire_ingest_to_emit_seconds_bucket{le="+Inf"})')
    assert float(buckets[0]["value"][1]) == total(
        prometheus, "dipwire_ingest_to_emit_seconds_count"
    )
    roots = prometheus.query("sum by (cameo_root, quad_class) (dipwire_events_total)")
    assert all(r["metric"]["cameo_root"].isdigit() for r in roots)
    assert {r["metric"]["quad_class"] for r in roots} <= {"1", "2", "3", "4"}
    # Faust's own sensor is registered under the dipwire_faust_ prefix.
    assert total(prometheus, "dipwire_faust_messages_received_total") > 0


def test_every_alert_rule_evaluates_with_health_ok(stack: Stack) -> None:
    prometheus = stack.prometheus
    expected = {
        rule["alert"]
        for group in yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
    }

    def rules() -> list[dict[str, Any]]:
        body = prometheus.api("/api/v1/rules")
        assert body["status"] == "success"
        return [rule for group in body["data"]["groups"] for rule in group["rules"]]

    # Evaluate the rules over the pipeline's series, not over an empty database.
    wait_until(
        "events in Prometheus",
        lambda: total(prometheus, "dipwire_events_total") > 0,
        timeout=240,
        stack=stack,
    )
    since = datetime.now(UTC)
    wait_until(
        "every alert rule to be evaluated again",
        lambda: bool(rules()) and all(evaluated_at(rule) > since for rule in rules()),
        timeout=60,
        stack=stack,
    )
    loaded = rules()
    assert {rule["name"] for rule in loaded} == expected
    unhealthy = {rule["name"]: rule.get("lastError") for rule in loaded if rule["health"] != "ok"}
    assert not unhealthy
    # A worker that is up and scraped does not page anyone.
    firing = {r["name"] for r in loaded if r["state"] == "firing"}
    assert not firing & {"DipwireWorkerDown", "DipwireNoWorkerUp"}


def dashboard_results(prometheus: Prometheus) -> dict[str, bool]:
    """Run every dashboard query as Grafana would; map panel title to "has data"."""
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    shown: dict[str, bool] = {}
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace('instance=~"$instance"', 'instance=~".*"')
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, expr
            result = prometheus.query(expr)  # fails the test on a query error
            shown[panel["title"]] = shown.get(panel["title"], False) or bool(result)
    return shown


def test_every_dashboard_query_runs_against_the_worker_metrics(stack: Stack) -> None:
    prometheus = stack.prometheus
    # Panels about the seed's path through the pipeline must show data; panels
    # about failures, lag or duplicates may rightly be empty. Rates need two
    # samples of a series, so wait for them.
    must_show = {
        "Workers up",
        "Messages in per stage",
        "Messages out per stage",
        "Ingest to emit latency",
        "Stage processing time (p50 / p99)",
        "Events by CAMEO root code",
        "Events by QuadClass",
        "Top dyads by event count",
        "Faust messages received / sent",
    }
    wait_until(
        "data in the dashboard's pipeline panels",
        lambda: all(dashboard_results(prometheus).get(title) for title in must_show),
        timeout=120,
        stack=stack,
    )
    shown = dashboard_results(prometheus)
    assert must_show <= set(shown)
    assert len(shown) >= 20
