"""The Kafka side of the audit: read the four topics from their beginning to their true end.

It reads with the one group-less reader (:mod:`pipeline.broker.clients`):
nothing is committed, no consumer group is disturbed.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any

from pipeline.settings import Settings
from pipeline.tools.audit.reconcile import AuditReport, reconcile
from pipeline.tools.audit.records import AUDITED, Records, decode_record
from pipeline.topics import Role, TopicNames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimeRange:
    """Record timestamps (ms since the epoch) that bound the inputs; None is open."""

    since_ms: int | None = None
    until_ms: int | None = None

    def admits_input(self, timestamp_ms: int) -> bool:
        """Inputs must lie in ``[since, until)``."""
        if self.since_ms is not None and timestamp_ms < self.since_ms:
            return False
        return self.until_ms is None or timestamp_ms < self.until_ms

    def admits_output(self, timestamp_ms: int) -> bool:
        """Outputs are read from ``since`` to the end: a late terminal record still counts."""
        return self.since_ms is None or timestamp_ms >= self.since_ms

    def admits(self, source: Role, timestamp_ms: int) -> bool:
        """Whether a record of ``source`` with this timestamp takes part in the audit."""
        if source == Role.RAW:
            return self.admits_input(timestamp_ms)
        return self.admits_output(timestamp_ms)


def read_topics(
    settings: Settings,
    time_range: TimeRange = TimeRange(),
    *,
    idle_timeout: float = 15.0,
) -> Records:
    """Read the input and the three output topics from the beginning to their true end.

    The end of each partition is taken from a fetch response's high watermark
    (``pipeline.broker.quirks.true_end_offsets``): the embedded broker's ListOffsets
    answer is wrong after multi-record batches, and a reader that trusted it
    would stop early and report articles as missing.

    Args:
        settings: Broker address, security settings and topic prefix.
        time_range: Bounds on record timestamps; see :class:`TimeRange`.
        idle_timeout: Seconds without progress before giving up on a partition
            that has not reached its end; the report is then marked incomplete.

    Returns:
        The decoded records; ``Records.unreadable["incomplete"]`` counts
        partitions that were not read to their end.
    """
    from pipeline.broker.clients import open_reader, require_bootstrap
    from pipeline.broker.quirks import true_end_offsets
    from pipeline.broker.security import kafka_client_kwargs

    bootstrap = require_bootstrap(settings)
    names = TopicNames.from_settings(settings)
    sources = {names.of(role): role for role in AUDITED}
    # Transactional producers leave aborted records behind; only a real Kafka has them.
    exactly_once = settings.processing_guarantee == "exactly_once" and not settings.embedded
    isolation = "read_committed" if exactly_once else "read_uncommitted"
    consumer = open_reader(settings, sources, isolation_level=isolation)
    records = Records()
    try:
        partitions = sorted(consumer.assignment())
        if partitions:
            ends = true_end_offsets(bootstrap, partitions, kafka_client_kwargs(settings))
            _read_to_ends(consumer, ends, sources, time_range, idle_timeout, records)
    finally:
        consumer.close()
    return records


def _read_to_ends(
    consumer: Any,
    ends: dict[Any, int],
    sources: dict[str, Role],
    time_range: TimeRange,
    idle_timeout: float,
    records: Records,
) -> None:
    """Poll until every partition reached its end, or nothing moved for ``idle_timeout``."""
    pending = {tp for tp in ends if consumer.position(tp) < ends[tp]}
    last_progress = time.monotonic()
    while pending:
        batch = consumer.poll(timeout_ms=200)
        for tp, batch_records in batch.items():
            source = sources[tp.topic]
            for record in batch_records:
                if record.offset < ends[tp] and time_range.admits(source, record.timestamp):
                    decode_record(source, tp.partition, record.offset, record.value, records)
        if batch:
            last_progress = time.monotonic()
        done = {tp for tp in pending if consumer.position(tp) >= ends[tp]}
        pending -= done
        for tp in done:
            consumer.pause(tp)
        if pending and time.monotonic() - last_progress > idle_timeout:
            log.warning(
                "audit: no progress for %.0f s; stopping short on %s",
                idle_timeout,
                ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in pending)),
            )
            records.unreadable["incomplete"] += len(pending)
            return


def audit(settings: Settings, time_range: TimeRange = TimeRange()) -> AuditReport:
    """Read the topics and reconcile them."""
    records = read_topics(settings, time_range)
    report = reconcile(records, TopicNames.from_settings(settings).raw)
    if records.unreadable.get("incomplete"):
        return dataclasses.replace(report, complete=False)
    return report
