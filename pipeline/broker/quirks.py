"""Each workaround the embedded broker needs, with the quirk it answers.

The embedded Tansu broker differs from Apache Kafka in a few ways that matter
to Faust, aiokafka and kafka-python. Every workaround here names its quirk in
its docstring, and is applied only when the embedded broker is in use
(``settings.embedded``); against a real Kafka none of them is:

* **end offsets**: ListOffsets(latest) is wrong after a multi-record batch;
  :func:`true_end_offsets` (kafka-python) and the aiokafka patch read the
  high watermark of a fetch instead, and the pipeline's producers write one
  record per batch (:func:`faust_broker_settings`), so that clients we do not
  patch (librdkafka) get the right answer too;
* **fetch wait**: every hop waits most of Faust's 1.5 s fetch wait; the wait is
  clamped to :data:`EMBEDDED_FETCH_MAX_WAIT_MS`;
* **LeaveGroup**: a member stopping in generation 0 never leaves; patched;
* **offsets by time**: ListOffsets by timestamp answers offset 0 for every partition;
  :func:`offsets_for_time` starts such a read at the beginning instead (the caller
  filters by record timestamp);
* **session timeouts**: a JoinGroup is held for half the session timeout, so
  :func:`faust_broker_settings` shortens it (and turns off static membership
  and exactly-once, which the broker cannot do), and for every other client
  :func:`cap_join_session_timeout` caps it in the request on its way to the
  broker (the relay of ``pipeline.broker.front``), so that a consumer with
  librdkafka's 45 s default is in its group within 3 s, not 22.5 s;
* **record size**: the broker has no record-size limit: it accepts a topic's
  ``max.message.bytes`` at creation and ignores it (a 2 MB record is stored in
  a topic created with 50,000), and DescribeConfigs answers with no configs.
  No workaround is needed: the limit the pipeline keeps is its producers'
  ``max_request_size`` (``DIPWIRE_MAX_MESSAGE_BYTES``), which refuses an
  oversized record before it is sent, the same on both brokers, so a small
  ``DIPWIRE_MAX_MESSAGE_BYTES`` reproduces here what a Kafka's smaller
  ``message.max.bytes`` does (``tests/integration/test_message_size.py``).
  Compressed batches (gzip, lz4, zstd) are stored and served as sent.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.broker.clients import reader
from pipeline.broker.errors import BrokerError

if TYPE_CHECKING:
    from kafka import TopicPartition as KafkaTopicPartition

log = logging.getLogger(__name__)

__all__ = [
    "EMBEDDED_FETCH_MAX_WAIT_MS",
    "EMBEDDED_JOIN_SESSION_TIMEOUT_MS",
    "apply_embedded_quirks",
    "cap_join_session_timeout",
    "embedded_quirks_applied",
    "faust_broker_settings",
    "offsets_for_time",
    "revert_embedded_quirks",
    "true_end_offsets",
]

#: Longest time (ms) a Faust consumer's fetch may wait on the embedded broker.
#: The broker re-polls an empty fetch at half the remaining wait, so the wait,
#: not the traffic, sets the per-hop latency: 50 ms gives ~50 ms per hop.
EMBEDDED_FETCH_MAX_WAIT_MS = 50

#: Longest session timeout (ms) the embedded broker is told in a JoinGroup: a
#: join is answered after half of it, 3 s, as Kafka holds a new group's first
#: join (``group.initial.rebalance.delay.ms``); see :func:`cap_join_session_timeout`.
EMBEDDED_JOIN_SESSION_TIMEOUT_MS = 6000

_JOIN_GROUP = 11
_JOIN_GROUP_FIRST_FLEXIBLE = 6


def cap_join_session_timeout(
    request: bytes, cap_ms: int = EMBEDDED_JOIN_SESSION_TIMEOUT_MS
) -> bytes:
    """Quirk: a consumer joins its group only after half its session timeout.

    The broker holds every JoinGroup for ``session_timeout_ms / 2`` before it
    answers, even the first join of a new group with one member. With
    librdkafka's default of 45 s (the Go, .NET, Node and confluent-kafka
    clients) a consumer that subscribes gets its partitions 22.5 s later, and
    whatever the pipeline published meanwhile lies before its start offset: at
    ``auto.offset.reset=latest`` it never sees it, and because ListOffsets
    (latest) is too low (see :func:`true_end_offsets`) it starts inside each
    partition's last batch and gets its tail, one or two events of twenty.
    The relay in front of the broker (``pipeline.broker.front``) passes each
    JoinGroup on with a session timeout of at most ``cap_ms``, so any client
    joins within ``cap_ms / 2``.

    Why 6 s and not less: the broker keeps one session timeout per group, the
    one of the join that formed it, and uses it both for the hold of every
    later join and to expire a member whose last contact is older; librdkafka
    and the Java client heartbeat every 3 s by default. With a 2 s cap a group
    of two or three librdkafka consumers rebalanced every 6 s; with 6 s it
    stayed put. Clients that ask for less (Faust here: 2 s, heartbeats every
    0.5 s) are passed on unchanged.

    Args:
        request: One Kafka request without its 4-byte size prefix.
        cap_ms: The longest session timeout to pass on.

    Returns:
        The request, unchanged unless it is a JoinGroup asking for more than ``cap_ms``.
    """
    if len(request) < 10 or int.from_bytes(request[0:2], "big", signed=True) != _JOIN_GROUP:
        return request
    try:
        at = _join_session_timeout_offset(request)
    except (IndexError, ValueError):
        return request
    if at + 4 > len(request):
        return request
    asked = int.from_bytes(request[at : at + 4], "big", signed=True)
    if asked <= cap_ms:
        return request
    return request[:at] + cap_ms.to_bytes(4, "big", signed=True) + request[at + 4 :]


def _join_session_timeout_offset(request: bytes) -> int:
    """Where ``session_timeout_ms`` starts in a JoinGroup request (any version)."""
    version = int.from_bytes(request[2:4], "big", signed=True)
    flexible = version >= _JOIN_GROUP_FIRST_FLEXIBLE
    # Header: api_key, api_version, correlation_id, then client_id as a nullable
    # string with an int16 length in every header version.
    at = 8
    client_id = int.from_bytes(request[at : at + 2], "big", signed=True)
    at += 2 + max(client_id, 0)
    if flexible:
        # Request header v2: tagged fields, then the body with compact strings.
        count, at = _uvarint(request, at)
        for _ in range(count):
            _tag, at = _uvarint(request, at)
            size, at = _uvarint(request, at)
            at += size
        length, at = _uvarint(request, at)
        return at + max(length - 1, 0)
    group_id = int.from_bytes(request[at : at + 2], "big", signed=True)
    return at + 2 + max(group_id, 0)


def _uvarint(data: bytes, at: int) -> tuple[int, int]:
    """Decode an unsigned varint at ``at``; return it and the offset after it."""
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
        if shift > 28:
            raise ValueError("varint too long")


def true_end_offsets(
    bootstrap: str,
    partitions: Collection[KafkaTopicPartition],
    client_kwargs: Mapping[str, Any] | None = None,
    *,
    timeout: float = 10.0,
) -> dict[KafkaTopicPartition, int]:
    """Return the end offset (next offset to be written) of each partition, read from a fetch.

    For kafka-python users; aiokafka and Faust get the same correction from
    :func:`apply_embedded_quirks`. The embedded broker answers ListOffsets with
    the first offset of the last batch + 1, so ``KafkaConsumer.end_offsets`` is
    wrong after any multi-record batch; a fetch response's high watermark is
    right. This seeks to just before the reported end, fetches, and returns the
    high watermark. It is correct on a real Kafka too, only slower.

    Args:
        bootstrap: ``host:port[,host:port]``.
        partitions: kafka-python ``TopicPartition`` objects.
        client_kwargs: Security arguments from
            :func:`pipeline.broker.security.kafka_client_kwargs`.
        timeout: Seconds to wait for the fetches.

    Returns:
        The true end offset of every partition.

    Raises:
        BrokerError: A partition's high watermark was not seen within ``timeout``.
    """
    consumer = reader(bootstrap, client_kwargs, fetch_max_wait_ms=50, max_partition_fetch_bytes=1)
    try:
        tps = list(partitions)
        reported = consumer.end_offsets(tps)
        beginning = consumer.beginning_offsets(tps)
        result = {tp: reported[tp] for tp in tps if reported[tp] <= beginning[tp]}
        probe = {tp: max(reported[tp] - 1, beginning[tp]) for tp in tps if tp not in result}
        if probe:
            result.update(_highwaters(consumer, probe, timeout))
        return result
    finally:
        consumer.close()


def offsets_for_time(
    consumer: Any,
    partitions: Collection[KafkaTopicPartition],
    timestamp_ms: int,
    ends: Mapping[KafkaTopicPartition, int],
    *,
    embedded: bool,
) -> dict[KafkaTopicPartition, int]:
    """The first offset of each partition whose record timestamp may be at or after the time.

    On a real Kafka this is ListOffsets by timestamp (a partition without such a
    record starts at its end). The embedded broker answers offset 0 for every
    partition whatever the time (a probe of 10 records spread over 10 s), so
    there the read starts at the beginning; either way the caller keeps only
    records whose timestamp is late enough.
    """
    if embedded:
        return dict(consumer.beginning_offsets(list(partitions)))
    found = consumer.offsets_for_times({tp: timestamp_ms for tp in partitions})
    return {tp: (ends[tp] if found.get(tp) is None else found[tp].offset) for tp in partitions}


def _highwaters(
    consumer: Any, probe: Mapping[KafkaTopicPartition, int], timeout: float
) -> dict[KafkaTopicPartition, int]:
    """Fetch each partition at its given offset until the response shows its high watermark."""
    consumer.assign(list(probe))
    for tp, offset in probe.items():
        consumer.seek(tp, offset)
    found: dict[KafkaTopicPartition, int] = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(probe):
        if time.monotonic() > deadline:
            missing = sorted(str(tp) for tp in probe if tp not in found)
            raise BrokerError(f"no high watermark within {timeout:.1f}s for {missing}")
        consumer.poll(timeout_ms=50)
        for tp in probe:
            highwater = consumer.highwater(tp)
            if highwater is not None:
                found[tp] = highwater
    return found


# --------------------------------------------------------------------------
# Patches of aiokafka and Faust
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Patch:
    owner: Any
    name: str
    original: Any
    replacement: Any


_patches: list[_Patch] = []
_patch_lock = threading.Lock()


def apply_embedded_quirks() -> None:
    """Patch aiokafka and Faust for the embedded broker; a no-op when already applied.

    Call it only when the broker is the embedded one (``settings.embedded``),
    before the Faust worker starts: every patch is process-wide. Each one is
    described where it is built.
    """
    with _patch_lock:
        if _patches:
            return
        from aiokafka.consumer.fetcher import Fetcher
        from aiokafka.consumer.group_coordinator import GroupCoordinator
        from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

        targets: list[tuple[Any, str, Callable[[Any], Any]]] = [
            (GroupCoordinator, "_maybe_leave_group", _leave_group_at_generation_zero),
            (Fetcher, "_proc_offset_request", _end_offsets_from_fetch),
            (AIOKafkaConsumerThread, "_create_consumer", _clamp_fetch_max_wait),
        ]
        for owner, name, build in targets:
            original = owner.__dict__[name]
            replacement = build(original)
            setattr(owner, name, replacement)
            _patches.append(_Patch(owner, name, original, replacement))
        log.info("embedded broker workarounds applied to aiokafka and Faust")


def revert_embedded_quirks() -> None:
    """Undo :func:`apply_embedded_quirks` (for tests that compare both behaviours)."""
    with _patch_lock:
        while _patches:
            patch = _patches.pop()
            setattr(patch.owner, patch.name, patch.original)


def embedded_quirks_applied() -> bool:
    """True while the embedded-broker workarounds are in place."""
    return bool(_patches)


def _leave_group_at_generation_zero(original: Any) -> Any:
    """Quirk: a closed member lingers in the group because LeaveGroup is never sent.

    aiokafka's ``GroupCoordinator._maybe_leave_group`` sends LeaveGroup only when
    ``generation > 0``, as Kafka's first generation is 1; this broker starts at
    0. A member that stops in generation 0 just disappears, stays leader, and the
    next JoinGroup waits for its session to expire (rejoin took 4-18 s). Here
    generation 0 leaves like any other; -1 (never joined or reset) and static
    members still go to the original.
    """
    from aiokafka.errors import KafkaError
    from aiokafka.protocol.group import LeaveGroupRequest

    async def _maybe_leave_group(self: Any) -> None:
        if self.generation == 0 and self._group_instance_id is None and self.member_id:
            try:
                await self._send_req(LeaveGroupRequest(self.group_id, self.member_id))
            except KafkaError as err:
                # Best effort, as upstream: a failed leave only costs a session timeout.
                log.warning("LeaveGroup at generation 0 failed: %s", err)
            self.reset_generation()
            return
        await original(self)

    return _maybe_leave_group


def _end_offsets_from_fetch(original: Any) -> Any:
    """Quirk: ListOffsets(latest) is wrong after a multi-record batch.

    The broker answers with the first offset of the last batch + 1 (batches of
    5, 5, 10, 1, 30 records give 1, 6, 11, 21, 22 instead of 5, 10, 20, 21, 51).
    Every "latest" lookup in aiokafka goes through
    ``Fetcher._proc_offset_request``: ``end_offsets`` (which Faust's
    ``highwaters`` calls before table recovery, so recovery stopped one batch
    short), ``seek_to_end`` and ``auto_offset_reset="latest"``. The fetch
    response's high watermark is right, so for each partition asked for its
    latest offset we fetch at the reported end - 1 (inside the last batch) and
    take the high watermark. Earliest offsets are right (storage is never
    truncated) and pass through.
    """
    from aiokafka.consumer.fetcher import OffsetResetStrategy
    from aiokafka.protocol.fetch import FetchRequest
    from aiokafka.structs import TopicPartition

    async def _proc_offset_request(self: Any, node_id: int, topic_data: Any) -> Any:
        offsets = await original(self, node_id, topic_data)
        reported: dict[TopicPartition, int] = {}
        for topic, parts in topic_data.items():
            for partition, timestamp in parts:
                tp = TopicPartition(topic, partition)
                # An empty partition reports 0, which is right; a non-empty one
                # reports at least 1.
                if timestamp == OffsetResetStrategy.LATEST and offsets.get(tp, (0,))[0] > 0:
                    reported[tp] = offsets[tp][0]
        # Each partition's first batch is returned however small the limit, but
        # the broker may leave a partition out of a response; ask again for those.
        for _ in range(3):
            if not reported:
                break
            by_topic: dict[str, list[tuple[int, int, int]]] = collections.defaultdict(list)
            for tp, end in reported.items():
                by_topic[tp.topic].append((tp.partition, end - 1, 1))
            # max_wait must be > 0: with 0 the broker answers before looking at the log.
            request = FetchRequest(
                100, 1, self._fetch_max_bytes, self._isolation_level, list(by_topic.items())
            )
            response = await self._client.send(node_id, request)
            for topic, partitions in response.topics:
                for partition, error_code, highwater, *_ in partitions:
                    tp = TopicPartition(topic, partition)
                    if tp in reported and error_code == 0 and highwater >= reported[tp]:
                        offsets[tp] = (highwater, offsets[tp][1])
                        del reported[tp]
        for tp, end in reported.items():
            log.warning("no high watermark for %s; keeping the listed end offset %d", tp, end)
        return offsets

    return _proc_offset_request


def _clamp_fetch_max_wait(original: Any) -> Any:
    """Quirk: every hop through a Faust agent waits ~1.5 s on the embedded broker.

    Faust builds its consumer with ``fetch_max_wait_ms=1500`` hard-coded in
    ``AIOKafkaConsumerThread._create_worker_consumer``. A Kafka broker answers a
    fetch as soon as data arrives; this one re-polls its log at half the
    remaining wait, so a record produced just after a fetch started waits most
    of that time. The aiokafka consumer passes ``_fetch_max_wait_ms`` to its
    fetcher in ``start()``, so lowering it right after construction is enough.
    """

    def _create_consumer(self: Any, *args: Any, **kwargs: Any) -> Any:
        consumer = original(self, *args, **kwargs)
        consumer._fetch_max_wait_ms = min(consumer._fetch_max_wait_ms, EMBEDDED_FETCH_MAX_WAIT_MS)
        return consumer

    return _create_consumer


# --------------------------------------------------------------------------
# Group membership and delivery settings of the Faust app
# --------------------------------------------------------------------------


def faust_broker_settings(
    embedded: bool, *, processing_guarantee: str = "at_least_once"
) -> dict[str, Any]:
    """Faust app settings that make group membership and delivery work on the embedded broker.

    Args:
        embedded: True when the broker is the embedded one.
        processing_guarantee: The guarantee asked for in the settings.

    Returns:
        Settings to merge into the Faust app's configuration; empty for a real Kafka.
    """
    if not embedded:
        return {}
    if processing_guarantee == "exactly_once":
        # The broker needs InitProducerId v3+ and aiokafka sends v0, so the
        # transactional producer fails with UnknownError; aborted records would
        # be visible anyway. Exactly-once is for a real Kafka.
        log.warning("exactly_once is not supported by the embedded broker; using at_least_once")
    return {
        # The broker holds a JoinGroup for session_timeout / 2, so the session
        # timeout is the rebalance latency: the defaults made a join take 5-46 s.
        "broker_session_timeout": 2.0,
        "broker_heartbeat_interval": 0.5,
        "broker_rebalance_timeout": 2.0,
        # Static members never send LeaveGroup; with them a restarted worker
        # waits for the old session to expire. Explicit, as Faust reads an env var.
        "consumer_group_instance_id": None,
        "processing_guarantee": "at_least_once",
        # ListOffsets(latest) answers the first offset of a partition's last batch
        # + 1 (see true_end_offsets). Our patches read the true end, but a client we
        # do not patch (librdkafka at auto.offset.reset=latest or seek-to-end, the
        # Java client) starts inside the last batch and gets its tail a second time.
        # With one record per batch (aiokafka always takes a batch's first record,
        # whatever its size) the answer is right: 200 records to 4 partitions took
        # 34 ms instead of 9 ms, nothing at the pipeline's rates.
        "producer_max_batch_size": 1,
    }
