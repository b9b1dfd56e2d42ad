"""deploy/grafana: every query names only metrics the worker exports and parses as PromQL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.artefacts import (
    DASHBOARD_FILE,
    DATASOURCE_FILE,
    PROMETHEUS_SYNTHETIC,
    exported_metric_names,
    promql_metric_names,
    run,
    tool,
)

pytestmark = pytest.mark.deploy


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
