"""A polite stop (SIGTERM) and health that tells the truth: real workers, the audit judges.

* SIGTERM of a worker commits everything it finished: a single worker's offsets
  stand at the end of every partition after its stop;
* SIGTERM to one of two workers mid-stream repeats no account and no event,
  neither on the stopped worker's partitions nor on the survivor's;
* SIGTERM while the broker is frozen exits within the stop deadline, and a new
  worker loses nothing;
* ``/readyz`` is false before the worker joined its group, while the broker is
  frozen and while a stage is stalled, true otherwise; ``/healthz`` stays true.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.tools.audit import audit
from pipeline.topics import TopicNames
from pipeline.worker import WorkerProcess
from tests.integration.conftest import BrokerHandle
from tests.integration.test_faults import (
    PARTITIONS,
    GatedWorker,
    _audit_until_accounted,
    _committed,
    _healthy,
    _metric,
    _publish,
    _settings,
    _simple,
    _wait,
    corpus,
    gated,  # noqa: F401  (the fixture)
    workers,  # noqa: F401  (the fixture)
)

pytestmark = pytest.mark.integration

STOP_LIMIT = 30.0


def _probe(base: str, path: str) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of ``base + path``; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(base + path, timeout=3) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return 0, {}


def _stop_timed(worker: WorkerProcess, grace: float = 60.0) -> float:
    """SIGTERM and wait; the seconds until the process exited (SIGKILL after ``grace``)."""
    started = time.monotonic()
    worker.stop(grace=grace)
    return time.monotonic() - started


def _assigned(log: str, topic: str) -> set[int]:
    """The partitions of ``topic`` a worker's log says it was given last."""
    found: set[int] = set()
    # The worker's own line ("assigned partitions: T | {0, 2}") and aiokafka's
    # ("Setting newly assigned partitions {TopicPartition(topic='T', partition=0), ...}").
    for line in log.splitlines():
        if "assigned partitions" not in line:
            continue
        mine = re.search(re.escape(topic) + r"\s*\|\s*\{([0-9, ]*)\}", line)
        theirs = re.findall(r"topic='" + re.escape(topic) + r"', partition=(\d+)", line)
        if mine is not None:
            found = {int(p) for p in mine.group(1).split(",") if p.strip()}
        elif "Setting newly assigned" in line:
            found = {int(p) for p in theirs}
    return found


def test_sigterm_commits_everything_the_worker_finished(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    workers: Callable[..., WorkerProcess],  # noqa: F811
) -> None:
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    worker = workers(settings)
    _healthy(worker)
    metadata = _publish(broker, names.raw, corpus(30, seed=8, prefix="commit"))
    _audit_until_accounted(settings, 30, 240)
    seconds = _stop_timed(worker)
    ends: dict[int, int] = {}
    for m in metadata:
        ends[m.partition] = max(ends.get(m.partition, 0), m.offset + 1)
    committed = _committed(broker, settings.app_id, names.raw)
    print(f"one worker stopped in {seconds:.1f} s: raw committed {committed}, ends {ends}")
    assert worker.process is not None and worker.process.returncode == 0, worker.log_tail()
    assert {p: committed[p] for p in ends} == ends


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
    metadata = _publish(broker, names.raw, corpus(total, seed=7, prefix="term"))
    partition_of = {f"term-{i:04d}": m.partition for i, m in enumerate(metadata)}
    _wait(
        lambda: _metric(one, "dipwire_stage_messages_in_total", stage="extract") >= 3,
        240,
        "the first worker to parse articles",
    )
    at_stop = audit(settings)
    seconds = _stop_timed(one)
    log = one.log_tail(400_000)
    held = _assigned(log, names.raw)
    report = _audit_until_accounted(settings, total, 420)
    repeated = {partition_of[a] for a in report.duplicate_terminals}
    print(
        f"SIGTERM of one of two workers after {at_stop.coded}/{total} coded: exited in "
        f"{seconds:.1f} s; it held raw partitions {sorted(held)}; after: {report.coded} coded, "
        f"{len(report.duplicate_terminals)} repeated accounts (on partitions {sorted(repeated)}), "
        f"{len(report.duplicate_event_ids)} repeated event ids ({report.events} event records, "
        f"{report.distinct_events} distinct)"
    )
    assert held, log
    assert one.process is not None and one.process.returncode == 0, log
    assert seconds <= STOP_LIMIT
    assert report.ok and report.coded == total, report.to_json()
    assert report.duplicate_terminals == {}, report.to_json()
    assert report.duplicate_event_ids == {} and report.conflicting_event_ids == []


def test_sigterm_while_the_broker_is_frozen_exits_in_time_and_loses_nothing(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    workers: Callable[..., WorkerProcess],  # noqa: F811
) -> None:
    process = broker.require_embedded()
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    first = workers(settings)
    _healthy(first)
    total = 40
    _publish(broker, names.raw, corpus(total, seed=9, prefix="frozen"))
    _wait(lambda: _metric(first, "dipwire_articles_coded_total") >= 3, 240, "articles flowing")
    process.pause()
    try:
        seconds = _stop_timed(first)
    finally:
        process.resume()
    log = first.log_tail(400_000)
    second = workers(settings)
    _healthy(second)
    report = _audit_until_accounted(settings, total, 420)
    print(
        f"SIGTERM with the broker frozen: exited in {seconds:.1f} s (status "
        f"{first.process.returncode if first.process else None}); after a new worker: "
        f"{report.coded} coded, {len(report.duplicate_terminals)} repeated accounts, "
        f"{len(report.conflicting_event_ids)} event ids with different payloads"
    )
    assert seconds <= STOP_LIMIT, log
    assert report.ok and report.coded == total and report.missing == [], report.to_json()
    assert report.conflicting_event_ids == []


def test_readyz_false_before_join_and_while_the_broker_is_frozen(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    workers: Callable[..., WorkerProcess],  # noqa: F811
) -> None:
    process = broker.require_embedded()
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    worker = workers(settings)
    # Freeze the broker the moment the web server answers: the worker cannot join.
    _wait(lambda: _probe(worker.url, "/healthz")[0] == 200, 180, "/healthz", poll=0.05)
    process.pause()
    try:
        before = [_probe(worker.url, "/readyz") for _ in range(3)]
        live = _probe(worker.url, "/healthz")[0]
        joined_early = "newly assigned partitions" in worker.log_tail(400_000)
    finally:
        process.resume()
    ready = _wait(lambda: _probe(worker.url, "/readyz")[0] == 200, 120, "/readyz after join")
    assert ready
    process.pause()
    try:
        frozen = _wait(
            lambda: (lambda r: r if r[0] == 503 else None)(_probe(worker.url, "/readyz")),
            30,
            "/readyz to fail with the broker frozen",
        )
        live_frozen = _probe(worker.url, "/healthz")[0]
    finally:
        process.resume()
    _wait(lambda: _probe(worker.url, "/readyz")[0] == 200, 60, "/readyz after the broker is back")
    _publish(broker, names.raw, _simple(5, "rz"))
    report = _audit_until_accounted(settings, 5, 240)
    log = worker.log_tail(400_000)
    print(
        f"before join: {[s for s, _ in before]} {before[-1][1].get('reasons')} (joined before "
        f"the freeze: {joined_early}); frozen: {frozen[0]} {frozen[1].get('reasons')}; "
        f"/healthz {live}, {live_frozen}; 'lost the broker' logged "
        f"{log.count('lost the broker')}x, 'regained' {log.count('regained the broker')}x"
    )
    assert all(status == 503 for status, _ in before), before
    assert any("partitions" in r for r in before[-1][1]["reasons"]) or joined_early
    assert live == 200 and live_frozen == 200
    assert "broker unreachable" in frozen[1]["reasons"]
    assert log.count("lost the broker") >= 1 and log.count("regained the broker") >= 1
    assert report.ok and report.coded == 5


def test_readyz_false_while_a_stage_is_stalled(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    gated: Callable[..., GatedWorker],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DIPWIRE_STALL_SECONDS", "3")
    settings = _settings(broker, unique_name)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), PARTITIONS)
    held = gated(settings, "hold")
    url = f"http://127.0.0.1:{held.port}"
    _wait(lambda: _probe(url, "/readyz")[0] == 200, 120, "/readyz before the stall")
    _publish(broker, names.raw, _simple(40, "st"))
    _wait(lambda: (tmp_path / "entered").exists(), 90, "the stage to hold its publish")
    stalled = _wait(
        lambda: (lambda r: r if r[0] == 503 else None)(_probe(url, "/readyz")),
        60,
        "/readyz to report the stall",
    )
    live = _probe(url, "/healthz")[0]
    (tmp_path / "open").touch()
    _wait(lambda: _probe(url, "/readyz")[0] == 200, 120, "/readyz after the stall")
    report = _audit_until_accounted(settings, 40, 240)
    print(f"stalled: {stalled[0]} {stalled[1].get('reasons')}; /healthz {live}")
    assert any(r.startswith("stage validate: no progress") for r in stalled[1]["reasons"])
    assert live == 200
    assert report.ok and report.coded == 40
