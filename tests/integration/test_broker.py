"""The embedded broker's lifecycle, topic creation, and each workaround for its quirks.

Every quirk test first shows the unpatched client going wrong on this broker,
then the patched one going right, so a broker upgrade that fixes a quirk (or a
client upgrade that moves the patched code) makes a test fail.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import aiokafka
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaTimeoutError

from pipeline.broker.admin import create_topics, wait_for_kafka
from pipeline.broker.embedded import BrokerError, EmbeddedBroker
from pipeline.broker.quirks import (
    EMBEDDED_FETCH_MAX_WAIT_MS,
    apply_embedded_quirks,
    embedded_quirks_applied,
    faust_broker_settings,
    revert_embedded_quirks,
    true_end_offsets,
)

if TYPE_CHECKING:
    from tests.integration.conftest import BrokerHandle, KafkaClients

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

BATCHES = (5, 5, 10, 1, 30)


def _alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie nobody has reaped yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _eventually(
    predicate: Callable[[], bool], timeout: float, what: str | Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout}s: {what() if callable(what) else what}")
        time.sleep(0.05)


def _topics_on(bootstrap: str) -> list[str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return list(admin.list_topics())
    finally:
        admin.close()


@pytest.fixture
def quirks_off() -> Iterator[None]:
    """Run the test against unpatched clients, restoring the previous state after."""
    was_applied = embedded_quirks_applied()
    revert_embedded_quirks()
    yield
    revert_embedded_quirks()
    if was_applied:
        apply_embedded_quirks()


# --- lifecycle ---------------------------------------------------------------


def test_starts_on_a_free_port_answers_kafka_and_stops_without_a_trace(
    broker: BrokerHandle,
) -> None:
    with EmbeddedBroker() as fresh:
        pid, port = fresh.pid, fresh.port
        assert fresh.bootstrap == f"127.0.0.1:{port}"
        assert fresh.bootstrap != broker.bootstrap
        assert fresh.running and _alive(pid)
        # Memory-only and new: no topics, while the metadata round trip works.
        assert _topics_on(fresh.bootstrap) == []
    assert not fresh.running
    assert not _alive(pid)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    fresh.stop()  # a second stop is harmless


def test_restarts_on_the_same_port_and_starts_empty(unique_name: Callable[[str], str]) -> None:
    first = EmbeddedBroker().start()
    port = first.port
    try:
        create_topics(first.bootstrap, [unique_name("t")], partitions=1)
        assert _topics_on(first.bootstrap) == [unique_name("t")]
    finally:
        first.stop()
    with EmbeddedBroker(port) as second:
        assert second.port == port
        # A restart is a full reset: topics (and offsets, groups) are gone.
        assert _topics_on(second.bootstrap) == []


def test_start_fails_fast_with_the_broker_output_when_the_port_is_taken() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        broker = EmbeddedBroker(port, ready_timeout=20)
        with pytest.raises(BrokerError, match="AddrInUse"):
            broker.start()
        assert not broker.running


def test_broker_dies_with_a_killed_parent(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from pipeline.broker.embedded import EmbeddedBroker
        broker = EmbeddedBroker().start()
        print(broker.pid, flush=True)
        time.sleep(60)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    ) as parent:
        try:
            assert parent.stdout is not None
            pid = int(parent.stdout.readline())
            assert _alive(pid)
            # SIGKILL skips atexit and context managers: only the death signal is left.
            parent.kill()
            parent.wait(10)
            _eventually(lambda: not _alive(pid), 10, f"broker {pid} exits with its parent")
        finally:
            parent.kill()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_run_foreground_prints_the_export_lines_and_stops_on_a_signal(
    stop_signal: signal.Signals, tmp_path: Path
) -> None:
    script = (
        "from pipeline.broker.embedded import run_foreground; raise SystemExit(run_foreground())"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    ) as runner:
        try:
            assert runner.stdout is not None
            first, second = runner.stdout.readline(), runner.stdout.readline()
            assert first.startswith("export KAFKA_BOOTSTRAP_SERVERS=")
            assert second == "export DIPWIRE_EMBEDDED_BROKER=true\n"
            bootstrap = first.strip().partition("=")[2]
            host, port = bootstrap.split(":")
            assert host == "127.0.0.1"
            wait_for_kafka(bootstrap, timeout=10)
            runner.send_signal(stop_signal)
            assert runner.wait(15) == 0
            with pytest.raises(OSError):
                socket.create_connection((host, int(port)), timeout=1).close()
        finally:
            runner.kill()


def test_a_produce_during_a_pause_completes_after_resume(
    broker: BrokerHandle, kafka_clients: KafkaClients, unique_name: Callable[[str], str]
) -> None:
    process = broker.require_embedded()
    topic = unique_name("t")
    broker.create_topics([topic], partitions=1)
    producer = kafka_clients.producer
    producer.send(topic, b"before").get(timeout=10)
    process.pause()
    try:
        pending = producer.send(topic, b"during")
        with pytest.raises(KafkaTimeoutError):
            # The broker is frozen, so no wait is long enough; 1 s keeps the test short.
            pending.get(timeout=1)
        assert not pending.is_done
    finally:
        process.resume()
    metadata = pending.get(timeout=20)
    assert metadata.offset == 1
    values = [r.value for r in kafka_clients.read(topic, count=2)]
    assert values == [b"before", b"during"]


def test_wait_for_kafka_gives_up_on_a_silent_port() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with pytest.raises(BrokerError, match="did not answer"):
            wait_for_kafka(f"127.0.0.1:{port}", timeout=1.0)


# --- topics and clients -------------------------------------------------------


def test_create_topics_gives_the_asked_partition_counts_and_is_idempotent(
    broker: BrokerHandle, kafka_clients: KafkaClients, unique_name: Callable[[str], str]
) -> None:
    three = [unique_name("a"), unique_name("b")]
    one = [unique_name("c")]
    broker.create_topics(three, partitions=3)
    broker.create_topics(one, partitions=1)
    broker.create_topics(three + one, partitions=3)  # already there: no error, no change
    consumer = kafka_clients.consumer()
    counts = {name: len(consumer.partitions_for_topic(name) or ()) for name in three + one}
    assert counts == {three[0]: 3, three[1]: 3, one[0]: 1}


def test_round_trip_with_kafka_python_keeps_per_key_order(
    broker: BrokerHandle, kafka_clients: KafkaClients, unique_name: Callable[[str], str]
) -> None:
    topic = unique_name("t")
    broker.create_topics([topic], partitions=2)
    sent = [(f"k{i % 3}".encode(), f"v{i}".encode()) for i in range(30)]
    for key, value in sent:
        kafka_clients.producer.send(topic, key=key, value=value)
    kafka_clients.producer.flush(timeout=10)
    consumer = kafka_clients.consumer(topic, group_id=unique_name("g"))
    received = []
    for record in consumer:
        received.append((record.key, record.value))
        if len(received) == len(sent):
            break
    assert sorted(received) == sorted(sent)
    for key in {k for k, _ in sent}:
        assert [v for k, v in received if k == key] == [v for k, v in sent if k == key]


# --- quirk: ListOffsets after multi-record batches ------------------------------


def _write_batch(producer: KafkaProducer, topic: str, size: int) -> int:
    """Write ``size`` records as one record batch to partition 0; return its first offset."""
    # The producer lingers for a minute, so nothing leaves before flush(): one batch.
    futures = [producer.send(topic, f"r{i}".encode(), partition=0) for i in range(size)]
    producer.flush(timeout=10)
    return int(futures[0].get(timeout=1).offset)


async def _aiokafka_end_offsets(bootstrap: str, topic: str) -> dict[str, int]:
    consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tp = aiokafka.TopicPartition(topic, 0)
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        return {"end_offsets": end, "seek_to_end": await consumer.position(tp)}
    finally:
        await consumer.stop()


async def _latest_reset_position(bootstrap: str, topic: str, group: str) -> int:
    consumer = aiokafka.AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="latest",
        # Short, as the embedded broker holds a JoinGroup for half of it.
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        return int(await consumer.position(aiokafka.TopicPartition(topic, 0)))
    finally:
        await consumer.stop()


def test_end_offsets_quirk_is_reproduced_and_each_fix_reads_the_true_end(
    broker: BrokerHandle, unique_name: Callable[[str], str], quirks_off: None
) -> None:
    broker.require_embedded()
    topic = unique_name("t")
    broker.create_topics([topic], partitions=2)
    tp, empty = TopicPartition(topic, 0), TopicPartition(topic, 1)
    listed, true = [], []
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap, linger_ms=60_000, batch_size=1 << 20
    )
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    try:
        for size in BATCHES:
            first = _write_batch(producer, topic, size)
            listed.append(consumer.end_offsets([tp])[tp])
            true.append(true_end_offsets(broker.bootstrap, [tp])[tp])
            # ListOffsets answers first offset of the last batch + 1.
            assert listed[-1] == first + 1
    finally:
        producer.close(timeout=5)
        consumer.close()
    assert listed == [1, 6, 11, 21, 22]
    assert true == [5, 10, 20, 21, 51]
    assert true_end_offsets(broker.bootstrap, [tp, empty]) == {tp: 51, empty: 0}

    # aiokafka unpatched: end_offsets, seek_to_end and auto_offset_reset="latest" agree on 22.
    unpatched = asyncio.run(_aiokafka_end_offsets(broker.bootstrap, topic))
    assert unpatched == {"end_offsets": 22, "seek_to_end": 22}
    assert asyncio.run(_latest_reset_position(broker.bootstrap, topic, unique_name("g1"))) == 22

    apply_embedded_quirks()
    patched = asyncio.run(_aiokafka_end_offsets(broker.bootstrap, topic))
    assert patched == {"end_offsets": 51, "seek_to_end": 51}
    assert asyncio.run(_latest_reset_position(broker.bootstrap, topic, unique_name("g2"))) == 51


# --- quirk: LeaveGroup at generation 0 -----------------------------------------


async def _members_after_a_member_leaves(bootstrap: str, topic: str, group: str) -> list[str]:
    """Join ``group`` with one consumer, stop it, and return the members the broker still lists."""
    consumer = aiokafka.AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        # Long enough that the broker cannot expire the stopped member before we
        # look, short as the broker holds the JoinGroup for half of it.
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        # The quirk's premise: this broker's first generation is 0, not 1.
        assert consumer._coordinator.generation == 0
    finally:
        await consumer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
        (described,) = response.groups
        return [member[0] for member in described[5]]
    finally:
        await admin.close()


def test_a_stopped_member_leaves_its_group_only_with_the_fix(
    broker: BrokerHandle, unique_name: Callable[[str], str], quirks_off: None
) -> None:
    broker.require_embedded()
    topic = unique_name("t")
    broker.create_topics([topic], partitions=2)
    lingering = asyncio.run(
        _members_after_a_member_leaves(broker.bootstrap, topic, unique_name("g1"))
    )
    assert len(lingering) == 1
    apply_embedded_quirks()
    left = asyncio.run(_members_after_a_member_leaves(broker.bootstrap, topic, unique_name("g2")))
    assert left == []


# --- quirk: Faust's hard-coded fetch wait --------------------------------------


async def _faust_fetch_max_wait_ms() -> int:
    import faust

    app = faust.App("fetch-wait-probe", broker="kafka://127.0.0.1:9", **faust_broker_settings(True))
    thread = app.consumer._thread
    consumer = thread._create_consumer(asyncio.get_running_loop())
    try:
        return int(consumer._fetch_max_wait_ms)
    finally:
        await consumer.stop()
        thread.thread_loop.close()


def test_faust_consumer_fetch_wait_is_clamped_only_with_the_fix(quirks_off: None) -> None:
    assert asyncio.run(_faust_fetch_max_wait_ms()) == 1500
    apply_embedded_quirks()
    assert asyncio.run(_faust_fetch_max_wait_ms()) == EMBEDDED_FETCH_MAX_WAIT_MS


def test_quirks_apply_once_and_revert_cleanly(quirks_off: None) -> None:
    from aiokafka.consumer.fetcher import Fetcher
    from aiokafka.consumer.group_coordinator import GroupCoordinator
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    def current() -> tuple[object, ...]:
        return (
            GroupCoordinator.__dict__["_maybe_leave_group"],
            Fetcher.__dict__["_proc_offset_request"],
            AIOKafkaConsumerThread.__dict__["_create_consumer"],
        )

    originals = current()
    apply_embedded_quirks()
    patched = current()
    apply_embedded_quirks()
    assert current() == patched
    assert all(p is not o for p, o in zip(patched, originals, strict=True))
    revert_embedded_quirks()
    assert current() == originals
    assert not embedded_quirks_applied()


# --- a real Faust worker on the embedded broker ----------------------------------

FAUST_APP = '''
"""One agent copying a topic to another, tagging each record with the worker's name."""

import os

import faust

from pipeline.broker.quirks import apply_embedded_quirks, faust_broker_settings

apply_embedded_quirks()

app = faust.App(
    os.environ["SMOKE_APP_ID"],
    broker="kafka://" + os.environ["KAFKA_BOOTSTRAP_SERVERS"],
    datadir=os.environ["SMOKE_DATADIR"],
    web_enabled=False,
    key_serializer="raw",
    value_serializer="raw",
    topic_partitions=int(os.environ["SMOKE_PARTITIONS"]),
    **faust_broker_settings(True),
)
source = app.topic(os.environ["SMOKE_IN"])
sink = app.topic(os.environ["SMOKE_OUT"])
worker_name = os.environ["SMOKE_WORKER"].encode()


@app.agent(source)
async def hop(stream):
    async for key, value in stream.items():
        await sink.send(key=key, value=worker_name + b":" + value)


if __name__ == "__main__":
    app.main()
'''


class _Worker:
    def __init__(self, tmp_path: Path, name: str, env: dict[str, str]) -> None:
        self.log_path = tmp_path / f"{name}.log"
        datadir = tmp_path / f"{name}-data"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "smoke_app.py", "worker", "--without-web", "-l", "info"],
                cwd=tmp_path,
                env={**env, "SMOKE_WORKER": name, "SMOKE_DATADIR": str(datadir)},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


def test_faust_worker_moves_records_and_a_second_worker_gets_partitions(
    broker: BrokerHandle,
    kafka_clients: KafkaClients,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    broker.require_embedded()
    partitions = 4
    source, sink, app_id = unique_name("in"), unique_name("out"), unique_name("app")
    broker.create_topics([source, sink], partitions=partitions)
    (tmp_path / "smoke_app.py").write_text(FAUST_APP)
    repo_root = str(Path(__file__).resolve().parents[2])
    env = {
        **broker.env(),
        "PYTHONPATH": os.pathsep.join(filter(None, [repo_root, os.environ.get("PYTHONPATH")])),
        "SMOKE_APP_ID": app_id,
        "SMOKE_IN": source,
        "SMOKE_OUT": sink,
        "SMOKE_PARTITIONS": str(partitions),
    }
    consumer = kafka_clients.consumer(sink, consumer_timeout_ms=1000)
    seen: dict[bytes, bytes] = {}

    def delivered(keys: list[bytes]) -> Callable[[], bool]:
        def check() -> bool:
            for record in consumer:
                seen[record.key] = record.value
            return all(key in seen for key in keys)

        return check

    def send_one_per_partition(round_: str) -> list[bytes]:
        keys = []
        for partition in range(partitions):
            key = f"{round_}-{partition}".encode()
            kafka_clients.producer.send(source, key=key, value=key, partition=partition)
            keys.append(key)
        kafka_clients.producer.flush(timeout=10)
        return keys

    first = _Worker(tmp_path, "w1", env)
    workers = [first]
    try:
        keys = send_one_per_partition("r1")
        _eventually(
            delivered(keys), 60, lambda: f"first worker copies records; log:\n{first.log()}"
        )
        assert {seen[k].split(b":")[0] for k in keys} == {b"w1"}

        second = _Worker(tmp_path, "w2", env)
        workers.append(second)

        def both_work() -> bool:
            keys = send_one_per_partition(f"r{time.monotonic_ns()}")
            _eventually(delivered(keys), 30, "records keep flowing during the rebalance")
            return {seen[k].split(b":")[0] for k in keys} == {b"w1", b"w2"}

        _eventually(both_work, 60, lambda: f"second worker gets partitions; log:\n{second.log()}")
    finally:
        for worker in reversed(workers):
            worker.stop()
