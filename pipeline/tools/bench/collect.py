"""The broker side of the benchmark: publish articles, collect what the topics say about them.

A :class:`Collector` reads topics with the one group-less reader and notes,
per article id, when each topic first had it; :func:`probe_fetch_wait`
measures what one idle hop through the broker costs.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.settings import Settings
from pipeline.tools.bench.errors import BenchError
from pipeline.tools.bench.stats import summarize


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
