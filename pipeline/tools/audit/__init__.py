"""``dipwire audit``: reconcile what went into the pipeline with what came out.

Every article read from ``articles.raw`` must end in exactly one terminal
record: an ``ArticleCoded`` on ``articles.coded`` or a ``DeadLetter`` on
``articles.dlq``. The one exception is a second copy of an id, which the
validate stage drops because the first copy already has its record. Under
at-least-once delivery a replay may add a second terminal record or repeat an
event; that is reported, not an error, as long as a repeated event id always
carries the same payload.

The package, by responsibility: ``records`` decodes each topic's messages with
the message models; ``reconcile`` is a pure function over decoded records, so
it can be tested with hand-made ones; ``reading`` does the Kafka part, without
a consumer group (nothing is committed), from the beginning of every partition
to its true end; ``command`` is ``dipwire audit``.

Exit status: 0 when every input is accounted for, 1 when an input has no
terminal record, an event promised by an ``ArticleCoded`` is absent, or one
event id carries two different payloads.
"""

from __future__ import annotations

from pipeline.tools.audit.command import configure_parser, parse_time, render, run
from pipeline.tools.audit.reading import TimeRange, audit, read_topics
from pipeline.tools.audit.reconcile import AuditReport, iter_problems, reconcile
from pipeline.tools.audit.records import (
    Records,
    payload_digest,
    read_coded,
    read_dead_letter,
    read_event,
    read_input,
    records_from,
)

__all__ = [
    "AuditReport",
    "Records",
    "TimeRange",
    "audit",
    "configure_parser",
    "iter_problems",
    "parse_time",
    "payload_digest",
    "read_coded",
    "read_dead_letter",
    "read_event",
    "read_input",
    "read_topics",
    "reconcile",
    "records_from",
    "render",
    "run",
]
