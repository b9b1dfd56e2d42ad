"""The benchmark's pure parts: statistics, medians over runs, targets, memory, report shape."""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline.tools import bench
from pipeline.tools.bench import procs
from pipeline.tools.bench.articles import (
    load_articles,
    repeat_articles,
    rss_window,
    tagged,
    word_count,
)
from pipeline.tools.bench.collect import Collected
from pipeline.tools.bench.latency import latency_report
from pipeline.tools.bench.procs import MemorySample, memory_report, parse_memory, peak_kb
from pipeline.tools.bench.profile import summarize_profile
from pipeline.tools.bench.report import format_table
from pipeline.tools.bench.stats import check_targets, median_of_runs, percentile, summarize

pytestmark = pytest.mark.unit


# --------------------------------------------------------------------------- statistics


def test_percentile_interpolates_between_ranks_like_numpy() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == 2.5
    # numpy.percentile([1, 2, 3, 4], 95) == 3.85
    assert percentile(values, 95) == pytest.approx(3.85)


def test_percentile_ignores_input_order_and_handles_one_value() -> None:
    assert percentile([9.0, 1.0, 5.0], 50) == 5.0
    assert percentile([7.0], 99) == 7.0


@pytest.mark.parametrize("q", [-1.0, 100.5])
def test_percentile_rejects_out_of_range(q: float) -> None:
    with pytest.raises(ValueError):
        percentile([1.0], q)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summarize_reports_tail_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    summary = summarize(values)
    assert summary["count"] == 100
    assert summary["p50"] == pytest.approx(50.5)
    assert summary["p99"] == pytest.approx(99.01)
    assert summary["max"] == 100.0
    assert summary["mean"] == pytest.approx(50.5)


def test_summarize_of_nothing_is_only_a_count() -> None:
    assert summarize([]) == {"count": 0}


def test_median_of_runs_takes_medians_of_nested_numbers() -> None:
    runs = [
        {"limit": {"articles_per_s": 10.0}, "ratio": {"1": 0.8}, "note": "a", "runs": [1]},
        {"limit": {"articles_per_s": 30.0}, "ratio": {"1": 0.9}, "note": "b", "runs": [2]},
        {"limit": {"articles_per_s": 20.0}, "ratio": {"1": 1.0}, "note": "c", "runs": [3]},
    ]
    merged = median_of_runs(runs)
    assert merged == {"limit": {"articles_per_s": 20.0}, "ratio": {"1": 0.9}}


def test_median_of_runs_leaves_out_what_a_run_lacks_and_booleans() -> None:
    runs: list[dict[str, Any]] = [
        {"scaling": 1.5, "ok": True, "pipeline": {"1": {"x": 1}}},
        {"ok": False, "pipeline": {"1": {"x": 3}}},
    ]
    assert median_of_runs(runs) == {"pipeline": {"1": {"x": 2}}}


# --------------------------------------------------------------------------- targets


def _median(
    ratio: float, p99: float, scaling: float | None, growth: float, machine: float | None = None
) -> dict[str, Any]:
    pipeline: dict[str, Any] = {
        "1": {"latency": {"end_to_end": {"p99": p99}}, "rss": {"growth": growth}}
    }
    median: dict[str, Any] = {"ratio": {"1": ratio}, "pipeline": pipeline}
    if machine is not None:
        median["of_machine"] = {"1": ratio / 2, "2": machine}
    if scaling is not None:
        median["scaling"] = scaling
    return median


def test_the_memory_target_reads_the_growth_after_the_first_window() -> None:
    median = _median(0.95, 0.8, 1.9, 0.42)  # the first window holds the start-up
    median["pipeline"]["1"]["rss"]["growth_after_first_window"] = 0.007
    checks = {c["target"]: c for c in check_targets(median)}
    memory = checks["worker RSS growth after the first window"]
    assert memory["value"] == 0.007 and memory["met"] is True


def test_targets_met_and_missed() -> None:
    good = {c["target"]: c["met"] for c in check_targets(_median(0.95, 0.8, 1.9, 0.02, 0.9))}
    assert all(good.values()), good
    bad = {c["target"]: c["met"] for c in check_targets(_median(0.5, 1.2, 1.2, 0.3, 0.6))}
    assert not any(bad.values()), bad


def test_targets_not_measured_are_none() -> None:
    checks = check_targets(_median(0.95, 0.8, None, 0.02))
    scaling = next(c for c in checks if c["target"].startswith("2 workers"))
    assert scaling["met"] is None and scaling["value"] is None
    assert [c["met"] for c in check_targets({})] == [None, None, None, None, None]


def test_target_thresholds_are_inclusive() -> None:
    checks = check_targets(_median(0.90, 1.0, 1.8, 0.10, 0.85))
    assert all(c["met"] for c in checks)


def test_the_machine_target_takes_the_best_configuration() -> None:
    # 1 worker reaches 0.45 of two cores' parse limit, 2 workers 0.87: the machine is used.
    checks = {c["target"]: c for c in check_targets(_median(0.9, 0.8, 1.9, 0.02, 0.87))}
    machine = checks["pipeline / (cores x limit), best configuration"]
    assert machine["value"] == pytest.approx(0.87) and machine["met"] is True


@pytest.mark.parametrize(
    ("spec", "configs"),
    [
        ("1", [(1, None)]),
        ("both", [(1, None), (2, None)]),
        ("1,1x2, 2", [(1, None), (1, 2), (2, None)]),
        ("2x0", [(2, 0)]),
    ],
)
def test_worker_configurations(spec: str, configs: list[tuple[int, int | None]]) -> None:
    assert bench.command.worker_configs(spec) == configs


def test_machine_configurations_follow_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.command, "cores", lambda: 4)
    assert bench.command.worker_configs("machine") == [(1, None), (1, 1), (4, 1)]
    assert [bench.command.config_key(*c) for c in bench.command.worker_configs("machine")] == [
        "1",
        "1x1",
        "4x1",
    ]


@pytest.mark.parametrize("spec", ["3y", "0", "1,,2", "x2"])
def test_bad_worker_configurations_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="--workers"):
        bench.command.worker_configs(spec)


# --------------------------------------------------------------------------- articles


def test_repeated_seeds_get_distinct_ids_and_keep_bodies() -> None:
    seeds = [{"id": "a", "body": "one two"}, {"id": "b", "body": "three"}]
    copies = repeat_articles(seeds, 5)
    assert len(copies) == 5
    assert len({c["id"] for c in copies}) == 5
    assert [c["body"] for c in copies] == ["one two", "three", "one two", "three", "one two"]
    assert seeds[0]["id"] == "a"  # the seeds themselves are untouched


def test_tagged_messages_carry_the_tagged_id_as_key_and_in_the_json() -> None:
    messages = tagged([{"id": "x", "body": "b"}], "t")
    key, value = messages[0]
    assert key == "x~t"
    assert orjson.loads(value) == {"id": "x~t", "body": "b"}


def test_load_articles_reads_the_first_lines_of_a_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    lines = [orjson.dumps({"id": f"a{i}", "body": "w " * i}) for i in range(5)]
    corpus.write_bytes(b"\n".join(lines) + b"\n\n")
    articles = load_articles(corpus, 3)
    assert [a["id"] for a in articles] == ["a0", "a1", "a2"]
    assert word_count(articles[2]) == 2


def test_load_articles_without_corpus_repeats_the_seeds() -> None:
    articles = load_articles(None, 7)
    assert len(articles) == 7
    assert len({a["id"] for a in articles}) == 7
    assert all(a["body"] for a in articles)


def test_rss_window_never_lets_the_two_windows_overlap() -> None:
    assert rss_window(1000, 5000) == 1000
    assert rss_window(1000, 1000) == 500
    assert rss_window(1000, 1) == 1


# --------------------------------------------------------------------------- memory


STATUS = """Name:\tpython
VmPeak:\t  900000 kB
VmHWM:\t  412345 kB
VmRSS:\t  400000 kB
Threads:\t3
"""


def test_parse_memory_reads_rss_and_high_water_mark() -> None:
    assert parse_memory(STATUS) == (400000, 412345)
    assert parse_memory("Name:\tkthreadd\n") is None


def test_read_memory_of_this_process() -> None:
    memory = procs.read_memory(os.getpid())
    assert memory is not None
    rss, hwm = memory
    assert 0 < rss <= hwm


def test_descendants_finds_a_child(tmp_path: Path) -> None:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in procs.descendants(os.getpid())
        assert procs.cpu_seconds(child.pid) >= 0.0
    finally:
        child.kill()
        child.wait()


def _sample(done: int, rss: tuple[int, ...], phase: str = "throughput") -> MemorySample:
    return MemorySample(at=0.0, phase=phase, done=done, rss_kb=rss, hwm_kb=rss)


def test_memory_report_compares_first_and_last_windows() -> None:
    samples = [
        _sample(0, (50,), phase="warm-up"),
        _sample(0, (100,)),
        _sample(5, (102,)),
        _sample(9, (104,)),
        _sample(50, (300,)),
        _sample(91, (110,)),
        _sample(95, (112,)),
        _sample(100, (114,)),
    ]
    report = memory_report(samples, "throughput", total=100, window=10)
    assert report["first_window_kb"] == 102
    assert report["last_window_kb"] == 112
    assert report["growth"] == pytest.approx(112 / 102 - 1)
    assert report["peak_kb"] == {"0": 300}
    # After the first 10 articles (the sample at done=50) to the last sample.
    assert report["after_first_window_kb"] == 300
    assert report["end_kb"] == 114
    assert report["growth_after_first_window"] == pytest.approx(114 / 300 - 1)
    assert report["trajectory"] == {"0": 100, "5": 103, "50": 300, "90": 110, "95": 112, "100": 114}


def test_memory_report_sums_workers_and_keeps_each_peak() -> None:
    samples = [_sample(0, (100, 200)), _sample(10, (110, 190)), _sample(20, (120, 400))]
    report = memory_report(samples, "throughput", total=20, window=10)
    assert report["first_window_kb"] == 300
    assert report["last_window_kb"] == statistics.median([300, 520])
    assert peak_kb(samples) == {"0": 120, "1": 400}


def test_memory_report_without_window_samples_has_no_growth() -> None:
    report = memory_report([_sample(50, (100,))], "throughput", total=100, window=10)
    assert "growth" not in report
    assert memory_report([], "throughput", 1, 1) == {}


def test_cpu_snapshot_attributes_the_rest_of_the_machine_to_other() -> None:
    before = procs.CpuSnapshot({"worker-0": 10.0, "broker": 1.0}, 2.0, 100.0, 400.0)
    after = procs.CpuSnapshot({"worker-0": 18.0, "broker": 2.5}, 3.0, 115.0, 420.0)
    used = after.since(before)
    assert used == pytest.approx(
        {"worker-0": 8.0, "broker": 1.5, "bench": 1.0, "other": 4.5, "capacity": 20.0}
    )


def test_machine_cpu_seconds_counts_busy_within_total() -> None:
    busy, total = procs.machine_cpu_seconds()
    assert 0 < busy <= total


# --------------------------------------------------------------------------- latency


def test_latency_report_from_record_timestamps() -> None:
    topics = {
        "raw": "r",
        "valid": "v",
        "annotated": "a",
        "enriched": "e",
        "coded": "c",
    }
    data = Collected(
        timestamps={
            "r": {"x": 1_000, "y": 2_000},
            "v": {"x": 1_100, "y": 2_050},
            "a": {"x": 1_400, "y": 2_350},
            "e": {"x": 1_500, "y": 2_400},
            "c": {"x": 1_600, "y": 2_700},
        },
        values={
            "x": orjson.dumps(
                {
                    "received_at": "1970-01-01T00:00:01.050000+00:00",
                    "timings": [{"stage": "extract", "seconds": 0.2}],
                }
            )
        },
        terminal={"x": ("c", 1_600), "y": ("c", 2_700)},
    )
    report = latency_report(data, topics, {"x": 10, "y": 20_000}, long={"y"})
    assert report["articles"] == 2
    assert report["long_articles"] == 1
    assert report["short_end_to_end"]["count"] == 1
    assert report["short_end_to_end"]["max"] == pytest.approx(0.6)
    assert [(s["id"], s["chars"]) for s in report["slowest"]] == [("y", 20_000), ("x", 10)]
    assert report["slowest"][0]["seconds"] == pytest.approx(0.7)
    assert report["end_to_end"]["count"] == 2
    assert report["end_to_end"]["max"] == pytest.approx(0.7)
    assert report["end_to_end"]["p50"] == pytest.approx(0.65)
    assert report["from_receipt"]["p50"] == pytest.approx(0.55)
    assert report["to_receipt"]["p50"] == pytest.approx(0.05)
    assert report["to_receipt"]["count"] == 1
    assert report["hops"]["validate"]["p50"] == pytest.approx(0.075)
    assert report["hops"]["extract"]["p50"] == pytest.approx(0.3)
    assert report["hops"]["extract"]["work_p50"] == pytest.approx(0.2)
    assert report["hops"]["code"]["max"] == pytest.approx(0.3)
    assert "work_p50" not in report["hops"]["enrich"]


def test_a_chained_worker_has_one_hop_from_valid_to_coded() -> None:
    topics = {"raw": "r", "valid": "v", "annotated": "a", "enriched": "e", "coded": "c"}
    timings = [{"stage": s, "seconds": t} for s, t in (("extract", 0.2), ("enrich", 0.01))]
    data = Collected(
        timestamps={
            "r": {"x": 1_000},
            "v": {"x": 1_100},
            "a": {},
            "e": {},
            "c": {"x": 1_500},
        },
        values={"x": orjson.dumps({"timings": [*timings, {"stage": "code", "seconds": 0.02}]})},
        terminal={"x": ("c", 1_500)},
    )
    hops = latency_report(data, topics)["hops"]
    assert list(hops) == ["validate", "extract+enrich+code"]
    assert hops["extract+enrich+code"]["p50"] == pytest.approx(0.4)
    assert hops["extract+enrich+code"]["work_p50"] == pytest.approx(0.23)


# --------------------------------------------------------------------------- profile


def test_summarize_profile_counts_self_and_inclusive_time() -> None:
    collapsed = "\n".join(
        [
            "main (a.py);run (b.py);parse (spacy.py) 6",
            "main (a.py);run (b.py);dumps (json.py) 3",
            "main (a.py);poll (kafka.py) 1",
            "garbage line",
        ]
    )
    summary = summarize_profile(collapsed)
    assert summary["samples"] == 10
    assert summary["self"][0] == ("parse (spacy.py)", 0.6)
    inclusive = dict(summary["inclusive"])
    assert inclusive["main (a.py)"] == 1.0
    assert inclusive["run (b.py)"] == pytest.approx(0.9)
    assert summarize_profile("") == {"samples": 0}


def test_summarize_profile_counts_a_recursive_function_once_per_stack() -> None:
    summary = summarize_profile("f (x.py);f (x.py);g (x.py) 4\n")
    assert dict(summary["inclusive"])["f (x.py)"] == 1.0


# --------------------------------------------------------------------------- report


def _run_report(limit: float, one: float, two: float) -> dict[str, Any]:
    def pipeline(rate: float) -> dict[str, Any]:
        return {
            "saturation": {
                "articles_per_s": rate,
                "words_per_s": rate * 300,
                "busiest_share": 0.52,
                "cpu_seconds": {
                    "worker-0": 9.0,
                    "broker": 1.0,
                    "bench": 0.2,
                    "other": 2.0,
                    "capacity": 20.0,
                },
            },
            "latency": {
                "rate": rate / 2,
                "end_to_end": {"p50": 0.3, "p95": 0.6, "p99": 0.8},
                "hops": {"extract": {"p50": 0.2, "p95": 0.3, "p99": 0.4, "work_p50": 0.1}},
                "slowest": [{"id": "a", "seconds": 2.0, "chars": 9000}],
            },
            "broker_hop": {"p50": 0.05, "p95": 0.06, "p99": 0.07},
            "rss": {
                "peak_kb": {"0": 400_000},
                "window": 10,
                "first_window_kb": 300_000,
                "last_window_kb": 303_000,
                "growth": 0.01,
            },
        }

    return {
        "limit": {"articles_per_s": limit, "words_per_s": limit * 300},
        "pipeline": {"1": pipeline(one), "2": pipeline(two)},
        "ratio": {"1": one / limit, "2": two / limit},
        "of_machine": {"1": one / (2 * limit), "2": two / (2 * limit)},
        "scaling": two / one,
    }


def test_report_shape_and_table() -> None:
    runs = [_run_report(10, 9.5, 18.0), _run_report(10.5, 10.0, 19.0), _run_report(10, 9.2, 17.5)]
    median = median_of_runs(runs)
    report = {
        "config": {"articles": 20, "source": "seeds", "runs": 3},
        "runs": runs,
        "median": median,
        "targets": check_targets(median),
    }
    assert median["limit"]["articles_per_s"] == 10
    assert median["pipeline"]["2"]["saturation"]["articles_per_s"] == 18.0
    assert median["scaling"] == pytest.approx(statistics.median([1.8947, 1.9, 1.9022]), rel=1e-3)
    table = format_table(report)
    assert "limit (in-process NLP, one core)" in table
    assert "pipeline, 2 workers" in table
    assert "scaling, 2 workers / 1 worker: 1.90" in table
    assert "of machine: throughput / (2 cores x the one-core limit)" in table
    two_workers = next(line for line in table.splitlines() if line.startswith("pipeline, 2"))
    assert two_workers.split()[-3] == "0.90"  # 18 / (2 x 10), the column "of machine"
    assert "hop extract" in table and "work p50 0.100" in table
    assert "peak 391 MB" in table
    assert "slowest: 2.00 s (9,000 chars)" in table
    assert "busiest of 2 workers parsed 52.0% of the articles" in table
    assert "core-seconds: worker-0 9, broker 1, bench 0, other 2 of 20" in table
    assert "MISSED" not in table
    # JSON-serialisable as written to --out
    assert orjson.loads(orjson.dumps(report))["median"]["ratio"]["1"] == pytest.approx(
        median["ratio"]["1"]
    )


def test_parser_defaults_and_choices() -> None:
    parser = argparse.ArgumentParser()
    bench.configure_parser(parser)
    args = parser.parse_args([])
    assert (args.corpus, args.articles, args.workers, args.runs, args.rate) == (
        None,
        200,
        "1",
        3,
        None,
    )
    assert args.skip_limit is False
    assert parser.parse_args(["--workers", "both"]).workers == "both"


def test_run_refuses_bad_worker_configurations(capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import build_parser
    from pipeline.settings import Settings

    args = build_parser().parse_args(["bench", "--workers", "two"])
    assert bench.run(args, Settings()) == 2
    assert "'two' is not W or WxP" in capsys.readouterr().err


def test_cli_knows_the_bench_command() -> None:
    from pipeline.cli import build_parser

    args = build_parser().parse_args(["bench", "--articles", "5", "--runs", "1"])
    assert args.handler is bench.run
    assert (args.articles, args.runs) == (5, 1)


def test_run_refuses_a_missing_corpus(tmp_path: Path) -> None:
    from pipeline.cli import build_parser
    from pipeline.settings import Settings

    args = build_parser().parse_args(["bench", "--corpus", str(tmp_path / "none.jsonl")])
    assert bench.run(args, Settings()) == 2


def test_the_code_stage_share_is_measured_and_reported_against_its_target() -> None:
    from pipeline.settings import Settings
    from pipeline.testing import EchoAnalyzer
    from pipeline.tools.bench.coding import format_coding, measure_coding
    from pipeline.tools.bench.limit import valid_articles

    settings = Settings()
    articles = valid_articles(settings, [{"id": f"a{n}", "body": "Words. " * 40} for n in range(4)])
    report = measure_coding(EchoAnalyzer(events=2), settings, articles)
    assert report["articles"] == 4 and report["own"]["events"] == 8
    assert "with_verbs" not in report
    table = format_coding(report)
    assert "code, own lexicon" in table and "% of the parse" in table
    full = {"config": {"articles": 4, "source": "x", "runs": 1}, "coding": report}
    share = report["own"]["share_of_parse"]
    assert ("met" if share <= 0.15 else "MISSED") in format_table(full).splitlines()[-1]
    # Chained, the target reads the share without the Doc rebuild.
    report["rebuild_cpu_ms"] = report["own"]["cpu_ms"]
    report["own"]["chained_share_of_parse"] = 0.0
    chained = {**full, "config": {**full["config"], "chain_stages": True}}
    last = format_table(chained).splitlines()[-1]
    assert "(chained)" in last and last.split()[-1] == "met" and "0.000" in last
