"""A polite stop: on SIGTERM stop fetching, finish what is held, commit, leave, exit in time.

Faust's own stop (faust-streaming 0.15.3) cancels the agents and the consumer
thread before the last commit goes out: every output a worker had published
since its last commit (every 2.8 s) was then made again by the next owner of
the partition, and again at each later stage (3-4 copies of an article's
account). :class:`DrainingWorker` stops in this order instead:

1. readiness turns false (``stopping``);
2. fetching stops: the partitions are paused and the buffered, not yet taken
   records are dropped (they are not acknowledged, so the next owner reads them);
3. the agents finish the batches they hold and publish them; the consumer
   waits until every taken record is acknowledged, then commits;
4. Faust's stop runs: LeaveGroup, producer flush, the parse processes end.

A watchdog exits the process after ``stop_seconds`` whatever happens (a broker
that does not answer, a publish being retried): it then stops as a crash
would, and the next owner replays, identically, what was not committed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from typing import Any

import faust

from pipeline.health import Health

log = logging.getLogger(__name__)

EXIT_UNCLEAN = 1
"""Exit status when the stop deadline passed before the commit."""


class DrainingWorker(faust.Worker):
    """A Faust worker whose SIGTERM and SIGINT drain and commit before the normal stop."""

    def __init__(self, app: faust.App, *, health: Health, stop_seconds: float, **kwargs: Any):
        super().__init__(app, **kwargs)
        self._health = health
        self._stop_seconds = stop_seconds
        self._draining = False

    def _on_sigterm(self) -> None:
        self._begin_drain(signal.SIGTERM)

    def _on_sigint(self) -> None:
        self._begin_drain(signal.SIGINT)

    def _begin_drain(self, signum: signal.Signals) -> None:
        if self._draining:
            return
        self._draining = True
        self._health.stopping = True
        log.info(
            "%s: stopping politely (fetching stopped; finishing, publishing and committing "
            "what this worker holds; exit in at most %.0f s)",
            signum.name,
            self._stop_seconds,
        )
        start_watchdog(self._stop_seconds)
        asyncio.ensure_future(self._drain_then_stop(signum), loop=self.loop)

    async def _drain_then_stop(self, signum: signal.Signals) -> None:
        started = time.monotonic()
        # Leave time for Faust's own stop (LeaveGroup, flush) within the deadline.
        budget = max(self._stop_seconds - 5.0, self._stop_seconds / 2)
        drained = await drain(self.app, budget)
        if not drained:
            log.error(
                "could not finish and commit within %.0f s (is the broker reachable?); exiting "
                "now: what was not committed is replayed by the partitions' next owner",
                budget,
            )
            os._exit(EXIT_UNCLEAN)
        log.info("drained and committed in %.1f s; leaving the group", time.monotonic() - started)
        self._flag_as_shutdown_by_signal()
        self._schedule_shutdown(signum)


async def drain(app: Any, timeout: float) -> bool:
    """Stop fetching, wait until every taken record is acknowledged, commit; False on timeout."""
    consumer = app.consumer
    try:
        assignment = consumer.assignment()
    except Exception:  # never started: nothing is held
        return True
    consumer.stop_flow()
    app.flow_control.suspend()
    consumer.pause_partitions(assignment)
    # Records fetched but not taken by an agent: dropped, never acknowledged, so they
    # stay uncommitted and the next owner reads them. What an agent took it finishes.
    app.flow_control.clear()
    try:
        await asyncio.wait_for(_finish_and_commit(consumer), timeout)
    except TimeoutError:
        return False
    return True


async def _finish_and_commit(consumer: Any) -> None:
    await consumer.wait_empty()  # waits for the acks, committing as they come
    await consumer.commit()


def start_watchdog(seconds: float) -> threading.Timer:
    """Exit the process ``seconds`` from now unless it has exited by then."""

    def expire() -> None:
        log.error("still running %.0f s after the stop signal; exiting now", seconds)
        logging.shutdown()
        os._exit(EXIT_UNCLEAN)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.name = "dipwire-stop-watchdog"
    timer.start()
    return timer
