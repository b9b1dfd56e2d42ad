"""Readiness and liveness decisions, the broker's state changes and the quiet client log."""

from __future__ import annotations

import logging

import pytest

from pipeline.health import BrokerWatch, Health, StageWatch, liveness
from pipeline.quietlog import RepeatFilter

pytestmark = pytest.mark.unit


def _ready_health() -> Health:
    health = Health(assigned=4)
    health.broker.observe(True, 0.0)
    return health


def test_a_joined_worker_with_a_reachable_broker_is_ready() -> None:
    assert _ready_health().readiness(10.0, stall_seconds=5) == []


def test_not_ready_before_join_before_the_first_probe_and_while_stopping() -> None:
    health = Health()
    reasons = health.readiness(0.0, stall_seconds=5)
    assert any("no partitions" in r for r in reasons)
    assert "broker not probed yet" in reasons
    ready = _ready_health()
    ready.stopping = True
    assert ready.readiness(0.0, stall_seconds=5) == ["stopping"]


def test_not_ready_while_the_broker_is_unreachable() -> None:
    health = _ready_health()
    health.broker.observe(False, 1.0)
    assert health.readiness(2.0, stall_seconds=5) == ["broker unreachable"]


def test_a_stage_with_lag_and_no_progress_is_stalled_after_the_limit() -> None:
    health = _ready_health()
    watch = health.stage("extract")
    watch.progressed(0.0, {("t", 0): 9})
    watch.observe_lag(3, now=100.0)  # lag appeared after a long idle time
    assert health.readiness(104.0, stall_seconds=5) == []
    reasons = health.readiness(106.0, stall_seconds=5)
    assert reasons == ["stage extract: no progress for 6 s with 3 message(s) of lag"]
    watch.progressed(107.0, {("t", 0): 12})
    assert health.readiness(110.0, stall_seconds=5) == []
    assert watch.positions == {("t", 0): 13}


def test_an_idle_stage_is_never_stalled() -> None:
    watch = StageWatch()
    watch.observe_lag(0, now=1.0)
    assert watch.stalled_for(10_000.0) == 0.0
    watch.observe_lag(2, now=10.0)
    watch.observe_lag(0, now=11.0)
    assert watch.lag_since is None and watch.stalled_for(500.0) == 0.0


def test_broker_changes_are_reported_once_each_and_failures_counted() -> None:
    broker = BrokerWatch()
    assert broker.observe(True, 0.0) is None
    assert broker.observe(True, 2.0) is None
    assert broker.observe(False, 4.0) == ("lost", 4.0)
    assert broker.observe(False, 6.0) is None
    assert broker.observe(False, 8.0) is None
    assert broker.observe(True, 10.0) == ("regained", 6.0)
    assert broker.failures == 3
    assert BrokerWatch().observe(False, 0.0) == ("lost", 0.0)


def test_liveness_fails_only_for_a_dead_parse_process() -> None:
    assert liveness(True) == []
    assert liveness(False) == ["a parse process is not alive"]


def _record(name: str, msg: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, None, None)


def test_repeated_client_lines_pass_once_per_window_and_state() -> None:
    now = [0.0]
    dropped: list[str] = []
    quiet = RepeatFilter(window=60.0, clock=lambda: now[0], on_drop=dropped.append)
    line = "Unable connect to node with id %s: %s"
    assert quiet.filter(_record("aiokafka.conn", line))
    assert not any(quiet.filter(_record("aiokafka.conn", line)) for _ in range(100))
    assert quiet.filter(_record("aiokafka.consumer.fetcher", "Failed fetch messages from %s"))
    assert dropped == ["aiokafka"] * 100
    now[0] = 61.0
    assert quiet.filter(_record("aiokafka.conn", line))  # a reminder after the window
    assert quiet.reset() == 100
    assert quiet.filter(_record("aiokafka.conn", line))  # a new state: logged again


def test_the_pipelines_own_lines_and_info_lines_always_pass() -> None:
    quiet = RepeatFilter()
    for _ in range(5):
        assert quiet.filter(_record("pipeline.watch", "lost the broker (%s)"))
        assert quiet.filter(_record("aiokafka.conn", "connected", logging.INFO))
    assert quiet.reset() == 0
