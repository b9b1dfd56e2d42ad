"""The Faust side of health: ``/healthz``, ``/readyz``, the lag and broker watches, the quiet log.

Thin: it reads Faust's consumer and producer and feeds ``pipeline.health``,
which decides. Registered on the app by ``pipeline.app.create_pipeline``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import faust

from pipeline import __version__
from pipeline.health import Health, liveness
from pipeline.metrics import Metrics
from pipeline.quietlog import RepeatFilter
from pipeline.quietlog import install as install_log_filter
from pipeline.stages.base import Record

log = logging.getLogger(__name__)

LAG_INTERVAL_SECONDS = 1.0
PROBE_INTERVAL_SECONDS = 2.0
PROBE_TIMEOUT_SECONDS = 5.0
"""The broker probe: a metadata request every 2 s, failed when unanswered within 5 s."""


def progress_recorder(health: Health, metrics: Metrics) -> Callable[[str, Sequence[Record]], None]:
    """The callback an agent calls after publishing a piece of a batch."""

    def progressed(stage: str, records: Sequence[Record]) -> None:
        done: dict[tuple[str, int], int] = {}
        for record in records:
            origin = record.origin
            if origin.partition is not None and origin.offset is not None:
                key = (origin.topic, origin.partition)
                done[key] = max(done.get(key, -1), origin.offset)
        health.stage(stage).progressed(time.monotonic(), done)
        metrics.stage_last_progress.labels(stage).set(time.time())

    return progressed


class Watch:
    """Feeds ``health`` from the app every second and answers the two probes."""

    def __init__(
        self,
        app: faust.App,
        health: Health,
        metrics: Metrics,
        stage_topics: Mapping[str, str],
        *,
        stall_seconds: float,
        children_alive: Callable[[], bool],
    ) -> None:
        self.app = app
        self.health = health
        self.metrics = metrics
        self.stage_topics = dict(stage_topics)
        self.stage_of_topic = {topic: stage for stage, topic in stage_topics.items()}
        self.stall_seconds = stall_seconds
        self.children_alive = children_alive
        self.log_filter = RepeatFilter(on_drop=self._dropped)
        self._earliest: dict[Any, int] = {}
        self._probe: asyncio.Future[None] | None = None
        self._assignment_text: str | None = None

    def _dropped(self, logger: str) -> None:
        self.metrics.log_lines_suppressed.labels(logger).inc()

    def install(self) -> None:
        """Register the pages and the periodic watches on the app."""
        app = self.app

        async def healthz(web: Any, request: Any) -> Any:
            return await self._healthz(web)

        async def readyz(web: Any, request: Any) -> Any:
            return await self._readyz(web)

        app.page("/healthz")(healthz)
        app.page("/readyz")(readyz)
        app.timer(LAG_INTERVAL_SECONDS, name="dipwire-lag-watch")(self.observe_lag)
        app.timer(PROBE_INTERVAL_SECONDS, name="dipwire-broker-watch")(self._start_probe)
        for stage in self.stage_topics:
            self.health.stage(stage)
            self.metrics.stage_last_progress.labels(stage).set(time.time())

    async def _healthz(self, web: Any) -> Any:
        reasons = liveness(self.children_alive())
        body = {"status": "fail" if reasons else "ok", "reasons": reasons, "version": __version__}
        return web.json(body, status=503 if reasons else 200)

    async def _readyz(self, web: Any) -> Any:
        reasons = self.health.readiness(time.monotonic(), self.stall_seconds)
        body = {
            "status": "fail" if reasons else "ok",
            "reasons": reasons,
            "assigned_partitions": self.health.assigned,
            "broker_reachable": self.health.broker.reachable,
        }
        return web.json(body, status=503 if reasons else 200)

    def _log_assignment(self, assignment: list[Any]) -> None:
        """One INFO line when this worker's partitions change (Faust's table is DEBUG)."""
        by_topic: dict[str, set[int]] = {}
        for tp in assignment:
            by_topic.setdefault(tp.topic, set()).add(tp.partition)
        text = "; ".join(
            f"{t} | {sorted(p)}".replace("[", "{").replace("]", "}")
            for t, p in sorted(by_topic.items())
        )
        if text != getattr(self, "_assignment_text", None):
            self._assignment_text = text
            logging.getLogger("pipeline.worker").info("assigned partitions: %s", text or "none")

    async def observe_lag(self) -> None:
        """Assigned partitions and each stage's lag: high watermark minus the next offset to do."""
        install_log_filter(self.log_filter)  # Faust sets its handlers up after the app is made
        consumer = self.app.consumer
        try:
            assignment = [tp for tp in consumer.assignment() if tp.topic in self.stage_of_topic]
        except Exception:  # not started, or rebalancing
            assignment = []
        self.health.assigned = len(assignment)
        self._log_assignment(assignment)
        lags = dict.fromkeys(self.stage_topics, 0)
        for tp in assignment:
            stage = self.stage_of_topic[tp.topic]
            lag = await self._lag(consumer, stage, tp)
            if lag is not None:
                lags[stage] += lag
                self.metrics.consumer_lag.labels(stage, str(tp.partition)).set(lag)
        now = time.monotonic()
        for stage, lag in lags.items():
            self.health.stage(stage).observe_lag(lag, now)

    async def _lag(self, consumer: Any, stage: str, tp: Any) -> int | None:
        try:
            end = consumer.highwater(tp)
        except Exception:
            return None
        if end is None:
            return None
        position = self.health.stage(stage).positions.get((tp.topic, tp.partition))
        if position is None:
            position = getattr(consumer, "_committed_offset", {}).get(tp)
        if position is None:
            position = await self._earliest_offset(consumer, tp)
        return None if position is None else max(int(end) - int(position), 0)

    async def _earliest_offset(self, consumer: Any, tp: Any) -> int | None:
        if tp not in self._earliest:
            try:
                found = await asyncio.wait_for(consumer.earliest_offsets(tp), 2.0)
            except Exception:
                return None
            if tp in found:
                self._earliest[tp] = int(found[tp])
        return self._earliest.get(tp)

    async def _start_probe(self) -> None:
        # A probe may take PROBE_TIMEOUT_SECONDS: run it beside the timer, one at a time.
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self.probe_broker())

    async def probe_broker(self) -> None:
        """One metadata request; a change of state is logged once, each failure counted."""
        error: BaseException | None = None
        try:
            client = self.app.producer._producer.client  # type: ignore[attr-defined]
            await asyncio.wait_for(client.fetch_all_metadata(), PROBE_TIMEOUT_SECONDS)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            error = exc
        ok = error is None
        if not ok:
            self.metrics.broker_probe_failures.inc()
        self.metrics.broker_up.set(1 if ok else 0)
        change = self.health.broker.observe(ok, time.monotonic())
        if change is not None:
            self._report(change, error)

    def _report(self, change: tuple[str, float], error: BaseException | None) -> None:
        state, seconds = change
        suppressed = self.log_filter.reset()
        if state == "lost":
            log.warning(
                "lost the broker (%s); its clients' repeated errors are left out of the log "
                "until it is back (counted in dipwire_broker_probe_failures_total and "
                "dipwire_log_lines_suppressed_total)",
                _describe(error),
            )
        else:
            log.warning(
                "regained the broker after %.1f s unreachable (%d failed probes so far, %d "
                "repeated client log lines left out)",
                seconds,
                self.health.broker.failures,
                suppressed,
            )


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "no error"
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return f"no answer within {PROBE_TIMEOUT_SECONDS:.0f} s"
    return f"{type(error).__name__}: {error}"[:300]
