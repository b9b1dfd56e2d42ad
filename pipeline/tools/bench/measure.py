"""The pipeline measured: a fresh broker and N real workers; saturation, latency and memory.

The workers are the real ``dipwire worker`` (started through
:class:`~pipeline.worker.WorkerProcess`); throughput runs from the first
publish to the last terminal record (``ArticleCoded`` or ``DeadLetter``),
start-up excluded.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.settings import Settings
from pipeline.tools.bench.articles import rss_window, tagged, word_count
from pipeline.tools.bench.collect import Collector, probe_fetch_wait, publish
from pipeline.tools.bench.errors import BenchError
from pipeline.tools.bench.latency import measure_latency
from pipeline.tools.bench.procs import CpuSnapshot, MemorySampler, memory_report, peak_kb
from pipeline.tools.bench.profile import start_profilers, stop_profilers, summarize_profile
from pipeline.topics import TERMINAL, TopicNames


@dataclass
class _Progress:
    phase: str = "start"
    collector: Collector | None = None

    def __call__(self) -> tuple[str, int]:
        return self.phase, self.collector.done if self.collector else 0


@dataclass
class _Rig:
    """What one measurement runs on: settings with fresh names, workers, producer, broker pid."""

    settings: Settings
    names: TopicNames
    procs: list[Any]
    producer: Any
    broker_pid: int | None

    def alive(self) -> bool:
        """True while every worker runs."""
        return all(p.alive() for p in self.procs)

    def pids(self) -> dict[str, int]:
        """The processes whose CPU is counted, by name."""
        pids = {f"worker-{i}": p.pid for i, p in enumerate(self.procs)}
        if self.broker_pid is not None:
            pids["broker"] = self.broker_pid
        return pids


def measure_pipeline(
    settings: Settings,
    articles: Sequence[dict[str, Any]],
    workers: int,
    args: argparse.Namespace,
    *,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    """Start a broker and ``workers`` worker processes, then measure throughput and latency."""
    logs = Path(tempfile.mkdtemp(prefix="dipwire-bench-"))
    result: dict[str, Any] = {"workers": workers}
    progress = _Progress()
    with contextlib.ExitStack() as stack:
        started = time.perf_counter()
        rig = _start_rig(stack, settings, workers, logs, args.timeout, result)
        sampler = stack.enter_context(MemorySampler([p.pid for p in rig.procs], progress))
        progress.phase = "warm-up"
        _warm_up(rig, articles, args.timeout)
        result["startup_seconds"] = time.perf_counter() - started
        progress.phase = "throughput"
        result.update(_saturation(rig, articles, args, progress, profile_dir))
        sampler.sample()
        window = rss_window(args.rss_window, len(articles))
        result["rss"] = memory_report(sampler.samples, "throughput", len(articles), window)
        count = min(args.latency_articles, len(articles))
        if count > 0:
            progress.phase = "latency"
            rate = args.latency_rate or result["saturation"]["articles_per_s"] / 2
            latency = measure_latency(
                rig.settings, rig.names, rig.producer, articles[:count], rate, args
            )
            result["latency"] = {**latency, "rate": rate}
        result["rss"]["peak_kb"] = peak_kb(sampler.samples)
        for proc in rig.procs:
            proc.stop()
        shutil.rmtree(logs, ignore_errors=True)
    return result


def _start_rig(
    stack: contextlib.ExitStack,
    settings: Settings,
    workers: int,
    logs: Path,
    timeout: float,
    result: dict[str, Any],
) -> _Rig:
    """Broker, fresh topics, the idle-hop probe, healthy workers and a producer."""
    from pipeline.broker.admin import create_pipeline_topics
    from pipeline.broker.clients import open_producer
    from pipeline.broker.embedded import start_if_needed
    from pipeline.worker import WorkerProcess

    settings, broker = start_if_needed(settings, stack)
    # Fresh topics and group per measurement, also on a shared Kafka.
    token = uuid.uuid4().hex[:8]
    settings = settings.model_copy(
        update={
            "topic_prefix": f"{settings.topic_prefix}bench-{token}.",
            "app_id": f"{settings.app_id}-bench-{token}",
            "web_port": 0,
        }
    )
    probe_topic = f"{settings.topic_prefix}probe"
    names = create_pipeline_topics(settings, [probe_topic])
    result["broker_hop"] = probe_fetch_wait(settings, probe_topic)
    # The benchmark replays the same bodies under new ids (warm-up, throughput,
    # latency, seed copies); the body de-duplication would dead-letter them.
    worker_settings = settings.model_copy(update={"dedupe_window": 0})
    procs = [
        stack.enter_context(WorkerProcess(worker_settings, log_path=logs / f"worker-{i}.log"))
        for i in range(workers)
    ]
    stack.callback(_keep_logs_on_error, logs)
    for proc in procs:
        proc.wait_healthy(timeout=timeout)
    producer = open_producer(settings)
    stack.callback(producer.close)
    return _Rig(settings, names, procs, producer, broker.pid if broker else None)


def _saturation(
    rig: _Rig,
    articles: Sequence[dict[str, Any]],
    args: argparse.Namespace,
    progress: _Progress,
    profile_dir: Path | None,
) -> dict[str, Any]:
    """Publish every article (at ``--rate``, or at once) and time them to their terminal records."""
    names = rig.names
    terminal = [names.of(role) for role in TERMINAL]
    messages = tagged(articles, "t")
    collector = Collector(rig.settings, terminal, terminal, [k for k, _ in messages])
    progress.collector = collector
    profilers = start_profilers(profile_dir, rig.procs, len(rig.procs)) if profile_dir else []
    extracted_before = [_extracted(p) for p in rig.procs]
    cpu_before = CpuSnapshot.take(rig.pids())
    try:
        began = publish(rig.producer, names.raw, messages, args.rate)
        collector.wait(args.timeout, rig.alive)
        cpu = CpuSnapshot.take(rig.pids()).since(cpu_before)
    finally:
        stop_profilers(profilers)
        collector.close()
    result: dict[str, Any] = {}
    if profilers:
        result["profile"] = [summarize_profile(path.read_text()) for path, _ in profilers]
        result["profile_files"] = [str(path) for path, _ in profilers]
    saturation = _throughput(collector, names, began, articles)
    worker_cpu = sum(v for k, v in cpu.items() if k.startswith("worker-"))
    saturation["worker_cpu_seconds"] = worker_cpu
    saturation["articles_per_cpu_s"] = len(messages) / max(worker_cpu, 1e-9)
    saturation["cpu_seconds"] = cpu
    # How many cores were busy (workers, broker, bench, anything else): what the run used.
    busy = sum(v for k, v in cpu.items() if k != "capacity")
    saturation["cores_busy"] = busy / max(saturation["seconds"], 1e-9)
    # Articles each worker parsed: keys decide the partition, so the split is uneven
    # and the busiest worker sets the pace.
    shares = [_extracted(p) - n for p, n in zip(rig.procs, extracted_before, strict=True)]
    saturation["articles_by_worker"] = {str(i): n for i, n in enumerate(shares)}
    saturation["busiest_share"] = max(shares) / max(sum(shares), 1)
    result["saturation"] = saturation
    return result


def _keep_logs_on_error(logs: Path) -> None:
    if logs.exists():
        print(f"bench: worker logs kept in {logs}", file=sys.stderr)


def _warm_up(rig: _Rig, articles: Sequence[dict[str, Any]], timeout: float) -> None:
    """Send a few articles until every worker has coded some: the group is then settled."""
    terminal = [rig.names.of(role) for role in TERMINAL]
    deadline = time.monotonic() + timeout
    for round_ in range(10):
        batch = [
            {**articles[i % len(articles)], "id": f"warm-up-{round_}-{i}"}
            for i in range(4 * len(rig.procs))
        ]
        messages = tagged(batch, "w")
        collector = Collector(
            rig.settings,
            terminal,
            terminal,
            [k for k, _ in messages],
        )
        try:
            publish(rig.producer, rig.names.raw, messages, None)
            collector.wait(max(deadline - time.monotonic(), 1.0), rig.alive)
        finally:
            collector.close()
        if all(_extracted(proc) > 0 for proc in rig.procs):
            return
    raise BenchError("the workers never all took part; the consumer group did not settle")


def _extracted(proc: Any) -> float:
    """How many messages the worker's extract stage has taken, from its ``/metrics``."""
    prefix = 'dipwire_stage_messages_in_total{stage="extract"}'
    for line in proc.metrics_text().splitlines():
        if line.startswith(prefix):
            return float(line.split()[-1])
    return 0.0


def _throughput(
    collector: Collector, names: TopicNames, began: float, articles: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    terminal = collector.data.terminal
    last_ms = max(ts for _, ts in terminal.values())
    first_ms = min(ts for _, ts in terminal.values())
    seconds = max(last_ms / 1000 - began, 1e-9)
    words = sum(word_count(a) for a in articles)
    kinds = Counter(topic for topic, _ in terminal.values())
    return {
        "articles": len(terminal),
        "coded": kinds.get(names.coded, 0),
        "dead_letters": kinds.get(names.dlq, 0),
        "seconds": seconds,
        "first_done_seconds": max(first_ms / 1000 - began, 0.0),
        "articles_per_s": len(terminal) / seconds,
        "words_per_s": words / seconds,
    }
