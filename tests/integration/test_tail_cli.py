"""``dipwire tail`` on a real broker: order across partitions, from the end, filters, follow."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.cli import Cli, json_lines
from tests.integration.conftest import BrokerHandle, KafkaClients

pytestmark = pytest.mark.integration

BASE_MS = int(time.time() * 1000) - 3_600_000
"""An hour ago: the events' record timestamps are BASE_MS + i seconds."""

COUNTRIES = ["FRA", "DEU", "FRA", "RUS", "UKR", "FRA", "DEU", "FRA", "RUS", "FRA"]


def _event(i: int) -> dict[str, Any]:
    country = COUNTRIES[i] if i < len(COUNTRIES) else "CHN"
    return {
        "event_id": f"ev-{i}",
        "article_id": f"art-{i}",
        "cameo_root": "14" if i % 3 == 0 else "04",
        "source_actor": {"code": country, "country": country},
        "target_actor": {"code": "USA", "country": "USA"} if i != 4 else None,
    }


def _produce(clients: KafkaClients, topic: str, i: int) -> None:
    # Partitions deliberately out of step with time: a tail grouped by partition shows it.
    clients.producer.send(
        topic,
        key=f"ev-{i}".encode(),
        value=json.dumps(_event(i)).encode(),
        partition=(3 * i) % 4,
        timestamp_ms=BASE_MS + i * 1000,
    )


@pytest.fixture(scope="module")
def cli(broker: BrokerHandle) -> Cli:
    cli = Cli.fresh(broker)
    clients = KafkaClients(broker)
    try:
        for i in range(10):
            _produce(clients, cli.names.events, i)
        clients.producer.flush()
    finally:
        clients.close()
    return cli


def _tail(cli: Cli, *args: str) -> list[dict[str, Any]]:
    result = cli.run("tail", *args)
    assert result.returncode == 0, result.stderr
    return json_lines(result.stdout)


def test_records_come_in_time_order_with_key_partition_offset_and_timestamp(cli: Cli) -> None:
    shown = _tail(cli, "--max", "4")
    assert [r["value"]["event_id"] for r in shown] == ["ev-0", "ev-1", "ev-2", "ev-3"]
    first = shown[1]
    assert first["key"] == "ev-1"
    assert first["partition"] == 3
    assert first["offset"] == 0
    assert first["topic"] == cli.names.events
    stamp = datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00"))
    assert int(stamp.timestamp() * 1000) == BASE_MS + 1000


def test_the_last_events_of_one_country(cli: Cli) -> None:
    shown = _tail(cli, "--from-end", "3", "--filter", "country=fra")
    assert [r["value"]["event_id"] for r in shown] == ["ev-5", "ev-7", "ev-9"]
    assert [r["key"] for r in shown] == ["ev-5", "ev-7", "ev-9"]
    last_two = _tail(cli, "--from-end", "2")
    assert [r["value"]["event_id"] for r in last_two] == ["ev-8", "ev-9"]


def test_root_partition_and_since_narrow_the_records(cli: Cli) -> None:
    roots = _tail(cli, "--filter", "root=14", "--filter", "source=FRA,RUS")
    assert [r["value"]["event_id"] for r in roots] == ["ev-0", "ev-3", "ev-9"]
    one = _tail(cli, "--partition", "2")
    assert {r["partition"] for r in one} == {2}
    assert [r["value"]["event_id"] for r in one] == ["ev-2", "ev-6"]
    since = datetime.fromtimestamp((BASE_MS + 6500) / 1000, UTC).isoformat()
    late = _tail(cli, "--since", since)
    assert [r["value"]["event_id"] for r in late] == ["ev-7", "ev-8", "ev-9"]
    values = cli.run("tail", "--from-end", "1", "--values")
    assert json.loads(values.stdout) == _event(9)


def test_follow_prints_the_last_then_what_arrives(cli: Cli, kafka_clients: KafkaClients) -> None:
    process = cli.popen(
        "tail", "--from-end", "1", "--follow", "--max", "3", "--filter", "country=USA"
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["value"]["event_id"] == "ev-9"
        for i in (10, 11):
            _produce(kafka_clients, cli.names.events, i)
        kafka_clients.producer.flush()
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    # As they arrive: two partitions may deliver in either order.
    assert sorted(json.loads(line)["value"]["event_id"] for line in out.splitlines()) == [
        "ev-10",
        "ev-11",
    ]


def test_a_filter_that_does_not_apply_is_refused(cli: Cli) -> None:
    result = cli.run("tail", "--topic", "dlq", "--filter", "country=FRA")
    assert result.returncode == 2
    assert "--filter country= applies to --topic events" in result.stderr
    assert cli.run("tail", "--partition", "9").returncode == 2
