"""A polite stop (SIGTERM) and health that tells the truth: real workers, the audit judges.

* SIGTERM to one of two workers mid-stream repeats no account;
* SIGTERM while the broker is frozen exits within the stop deadline, and a
  restarted worker loses nothing;
* ``/readyz`` is false before the worker joined its group, while the broker is
  frozen and while a stage is stalled, true otherwise; ``/healthz`` stays true.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from pipeline.tools.audit import audit
from pipeline.topics import TopicNames
from pipeline.worker import WorkerProcess
from tests.integration.conftest import BrokerHandle
from tests.integration.test_faults import (
    PARTITIONS,
    _audit_until_accounted,
    _healthy,
    _metric,
    _publish,
    _settings,
    _wait,
    corpus,
    workers,  # noqa: F401  (the fixture)
)

pytestmark = pytest.mark.integration


def _stop_timed(worker: WorkerProcess, grace: float = 60.0) -> float:
    """SIGTERM and wait; the seconds until the process exited (SIGKILL after ``grace``)."""
    started = time.monotonic()
    worker.stop(grace=grace)
    return time.monotonic() - started


def test_sigterm_of_one_of_two_workers_mid_stream_repeats_nothing(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    workers: Callable[..., WorkerProcess],  # noqa: F811
) -> None:
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    one, two = workers(settings), workers(settings)
    _healthy(one, two)
    total = 50
    _publish(broker, names.raw, corpus(total, seed=7, prefix="term"))
    _wait(
        lambda: _metric(one, "dipwire_stage_messages_in_total", stage="extract") >= 3,
        240,
        "the first worker to parse articles",
    )
    at_stop = audit(settings)
    seconds = _stop_timed(one)
    log = one.log_tail(20_000)
    print(log)
    report = _audit_until_accounted(settings, total, 420)
    print(
        f"SIGTERM of one of two workers after {at_stop.coded}/{total} coded: exited in "
        f"{seconds:.1f} s (code {one.process.returncode if one.process else None}); after: "
        f"{report.coded} coded, {len(report.duplicate_terminals)} repeated accounts, "
        f"{len(report.duplicate_event_ids)} repeated event ids ({report.events} event records, "
        f"{report.distinct_events} distinct)"
    )
    assert at_stop.coded < total, "the stop came too late to be mid-stream"
    assert report.ok and report.coded == total, report.to_json()
    assert report.duplicate_terminals == {}, (report.to_json(), log)
    assert report.duplicate_event_ids == {}, report.to_json()
    assert one.process is not None and one.process.returncode == 0, log
