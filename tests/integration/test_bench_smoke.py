"""``dipwire bench`` end to end on a tiny run: every field of the report, no process left.

No timing is asserted: speed belongs to the benchmark itself, not to a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline.cores import usable_cores
from pipeline.tools.bench.procs import descendants

pytestmark = pytest.mark.integration

ARTICLES = 20


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "bench",
        "--articles",
        str(ARTICLES),
        "--runs",
        "1",
        "--workers",
        "1",
        "--latency-articles",
        "8",
        "--side-by-side",
        "--timeout",
        "200",
        "--out",
        str(out),
    ]
    before = set(descendants(os.getpid()))
    done = subprocess.run(command, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-4000:]
    assert set(descendants(os.getpid())) <= before, "the bench left processes behind"
    data: dict[str, Any] = orjson.loads(Path(out).read_bytes())
    data["_stdout"] = done.stdout
    return data


def test_config_and_machine_facts(report: dict[str, Any]) -> None:
    config = report["config"]
    assert config["articles"] == ARTICLES
    assert config["words"] > 0
    assert config["workers"] == ["1"]
    machine = report["machine"]
    assert machine["cores"] >= 1
    assert machine["python"]
    for package in ("faust-streaming", "aiokafka", "spacy", config["spacy_model"]):
        assert machine["packages"][package], package


def test_limit_codes_every_article(report: dict[str, Any]) -> None:
    limit = report["runs"][0]["limit"]
    assert limit["articles"] == ARTICLES
    assert limit["events"] > 0
    assert limit["articles_per_s"] > 0 and limit["words_per_s"] > 0


def test_pipeline_accounts_for_every_article(report: dict[str, Any]) -> None:
    result = report["runs"][0]["pipeline"]["1"]
    saturation = result["saturation"]
    assert saturation["articles"] == ARTICLES
    assert saturation["coded"] + saturation["dead_letters"] == ARTICLES
    assert saturation["coded"] == ARTICLES
    assert saturation["articles_per_s"] > 0
    cpu = saturation["cpu_seconds"]
    assert cpu["worker-0"] > 0 and cpu["capacity"] > 0
    assert saturation["articles_by_worker"] == {"0": ARTICLES}
    assert saturation["busiest_share"] == 1.0
    assert report["runs"][0]["ratio"]["1"] > 0


def test_latency_has_every_hop(report: dict[str, Any]) -> None:
    latency = report["runs"][0]["pipeline"]["1"]["latency"]
    assert latency["articles"] == 8
    assert latency["end_to_end"]["count"] == 8
    for part in ("end_to_end", "from_receipt"):
        summary = latency[part]
        assert 0 <= summary["p50"] <= summary["p95"] <= summary["p99"] <= summary["max"]
    # The default worker chains extract, enrich and code: one hop from valid to coded.
    assert set(latency["hops"]) == {"validate", "extract+enrich+code"}
    for hop in latency["hops"].values():
        assert hop["count"] == 8
    chained = latency["hops"]["extract+enrich+code"]
    assert chained["work_p50"] > 0
    # Every hop lies inside the end-to-end time of the same articles.
    assert chained["max"] <= latency["end_to_end"]["max"]
    assert report["runs"][0]["pipeline"]["1"]["broker_hop"]["count"] > 0


def test_the_limit_side_by_side_on_every_core(report: dict[str, Any]) -> None:
    run = report["runs"][0]
    side = run["side_by_side"]
    assert side["copies"] == usable_cores()
    assert len(side["per_copy"]) == side["copies"] and min(side["per_copy"]) > 0
    assert side["articles_per_s"] == sum(side["per_copy"])
    assert 0 < run["of_side_by_side"]["1"]
    assert "limit side by side" in report["_stdout"]


def test_memory_of_the_worker(report: dict[str, Any]) -> None:
    rss = report["runs"][0]["pipeline"]["1"]["rss"]
    assert rss["peak_kb"]["0"] > 50_000  # a worker with spaCy loaded is well above 50 MB
    assert rss["window"] == ARTICLES // 2
    assert rss["peak_kb"]["0"] >= rss["first_window_kb"] > 0


def test_medians_targets_and_table(report: dict[str, Any]) -> None:
    median = report["median"]
    assert median["limit"]["articles_per_s"] == report["runs"][0]["limit"]["articles_per_s"]
    targets = {t["target"]: t for t in report["targets"]}
    assert len(targets) == 5
    assert targets["2 workers / 1 worker"]["met"] is None  # one worker count only
    assert targets["pipeline/limit, 1 worker"]["value"] == pytest.approx(median["ratio"]["1"])
    cores = report["config"]["cores"]
    machine = targets["pipeline / (cores x limit), best configuration"]["value"]
    assert machine == pytest.approx(median["ratio"]["1"] / cores)
    assert 0 < median["pipeline"]["1"]["saturation"]["cores_busy"] <= cores + 0.5
    assert "limit (in-process NLP, one core)" in report["_stdout"]
    assert "pipeline, 1 worker" in report["_stdout"]
