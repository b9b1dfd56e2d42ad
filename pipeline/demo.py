"""``dipwire demo``: broker, worker and seed articles in one command; events printed as they come.

Each coded event goes to stdout as one JSON line and, described for a person,
to stderr, with the dead letters and a summary of the worker's ``/metrics``.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from pipeline.errors import PipelineError
from pipeline.ingest import SEEDS_DIR, publish, read_articles
from pipeline.settings import Settings
from pipeline.topics import TopicNames
from pipeline.worker import WorkerProcess

METRICS_SHOWN = (
    "dipwire_stage_messages_in_total",
    "dipwire_stage_messages_out_total",
    "dipwire_ingest_to_emit_seconds_count",
    "dipwire_events_total",
    "dipwire_dead_letters_total",
)
"""The counters of ``/metrics`` the demo shows at the end: each stage moved, events came out."""


def run_demo(settings: Settings, paths: Sequence[Path], timeout: float) -> int:
    """Start what is needed, publish the articles of ``paths`` (the seeds), print their events.

    Raises:
        PipelineError: No article was found, the worker died, or ``timeout``
            passed before every article had its terminal record.
    """
    from pipeline.broker.admin import create_pipeline_topics
    from pipeline.broker.embedded import start_if_needed

    names_given = [str(p) for p in (paths or [SEEDS_DIR])]
    messages = list(read_articles(names_given))
    expected = {key.decode() for key, _ in messages if key is not None}
    if not messages:
        raise PipelineError(f"no articles found in {', '.join(names_given)}")
    with contextlib.ExitStack() as stack:
        settings, broker = start_if_needed(settings, stack)
        if broker is not None:
            print(f"demo: embedded broker at {broker.bootstrap}", file=sys.stderr)
        names = create_pipeline_topics(settings)
        worker = stack.enter_context(WorkerProcess(settings))
        settings = worker.settings
        print(
            f"demo: worker pid {worker.pid}, metrics at {worker.url}/metrics, "
            f"log {worker.log_path}",
            file=sys.stderr,
        )
        sent = publish(settings, messages)
        print(f"demo: published {sent} article(s); waiting for the pipeline", file=sys.stderr)
        tally = _Tally(names, set(expected))
        if not _collect(settings, tally, timeout, worker):
            raise PipelineError(
                f"timed out after {timeout:.0f} s before every article was accounted for; "
                f"worker log tail:\n{worker.log_tail()}"
            )
        _print_metrics_summary(worker)
        print(
            f"demo: {len(expected)} article(s): {tally.coded} coded, {tally.dead} dead-lettered, "
            f"{len(tally.events)} event(s) on {names.events}",
            file=sys.stderr,
        )
    return 0


@dataclass
class _Tally:
    """What the demo has seen: the events shown, and the articles still without an account."""

    names: TopicNames
    pending: set[str]
    events: set[str] = field(default_factory=set)
    coded: int = 0
    dead: int = 0

    def show(self, topic: str, value: bytes) -> None:
        """Print a new event; count a terminal record of an expected article."""
        data = orjson.loads(value)
        if topic == self.names.events and data["event_id"] not in self.events:
            self.events.add(data["event_id"])
            sys.stdout.write(value.decode() + "\n")
            sys.stdout.flush()
            print("  " + describe_event(data), file=sys.stderr)
        elif topic == self.names.coded and data["article_id"] in self.pending:
            self.pending.discard(data["article_id"])
            self.coded += 1
        elif topic == self.names.dlq and data.get("article_id") in self.pending:
            self.pending.discard(data["article_id"])
            self.dead += 1
            print(f"  dead letter: {data['error_kind']}: {data['reason']}", file=sys.stderr)


def _collect(settings: Settings, tally: _Tally, timeout: float, worker: WorkerProcess) -> bool:
    """Show records until every expected article has a terminal record; False on timeout."""
    from pipeline.broker.clients import open_reader

    names = tally.names
    consumer = open_reader(settings, (names.events, names.coded, names.dlq))
    deadline = time.monotonic() + timeout
    try:
        while tally.pending and time.monotonic() < deadline:
            if not worker.alive():
                raise PipelineError(f"the worker exited early; its log:\n{worker.log_tail()}")
            _show_batch(tally, consumer.poll(timeout_ms=250))
        if not tally.pending:
            # Events of the last article may sit on other partitions than its account.
            _show_batch(tally, consumer.poll(timeout_ms=500))
    finally:
        consumer.close()
    return not tally.pending


def _show_batch(tally: _Tally, batch: dict[object, list[object]]) -> None:
    for tp, records in batch.items():
        for record in records:
            tally.show(tp.topic, record.value)  # type: ignore[attr-defined]


def describe_event(event: dict[str, object]) -> str:
    """One line for a person: the dyad, the code and name, Goldstein, quad class, confidence."""
    source = event["source_actor"]
    target = event.get("target_actor")
    assert isinstance(source, dict)
    target_code = target["code"] if isinstance(target, dict) else "-"
    return (
        f"{source['code']} -> {target_code}  {event['cameo_code']} {event['event_name']} "
        f"(goldstein {event['goldstein']}, quad {event['quad_class']}, "
        f"confidence {float(str(event['confidence'])):.2f})"
    )


def _print_metrics_summary(worker: WorkerProcess) -> None:
    """Show that /metrics moved: the pipeline's counters as the worker exports them."""
    url = worker.url + "/metrics"
    try:
        text = worker.metrics_text()
    except OSError as exc:
        print(f"demo: could not read {url}: {exc}", file=sys.stderr)
        return
    print(f"demo: metrics from {url}:", file=sys.stderr)
    for line in text.splitlines():
        if line.startswith(METRICS_SHOWN):
            print(f"  {line}", file=sys.stderr)
