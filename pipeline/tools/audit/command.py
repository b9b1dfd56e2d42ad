"""``dipwire audit`` as a command: its options, the run, and the report for a person."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson

from pipeline.settings import Settings
from pipeline.tools.audit.reading import TimeRange, audit
from pipeline.tools.audit.reconcile import AuditReport
from pipeline.topics import TopicNames


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``dipwire audit``."""
    parser.add_argument(
        "--since",
        type=parse_time,
        default=None,
        help="only inputs with a record timestamp at or after this (ISO 8601 or epoch seconds)",
    )
    parser.add_argument(
        "--until",
        type=parse_time,
        default=None,
        help="only inputs with a record timestamp before this; later outputs still count",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--show", type=int, default=20, help="ids listed per problem in the text report"
    )


def parse_time(text: str) -> datetime:
    """Parse ISO 8601 (naive means UTC) or seconds since the epoch."""
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the audit and print the report; 1 when something is missing or contradicts itself."""
    if not settings.kafka_bootstrap_servers:
        sys.stderr.write(
            "dipwire audit: KAFKA_BOOTSTRAP_SERVERS is not set; point it at the broker the "
            "worker uses (an embedded broker started now would be empty)\n"
        )
        return 2
    report = audit(settings, TimeRange(since_ms=_ms(args.since), until_ms=_ms(args.until)))
    if args.json:
        sys.stdout.write(orjson.dumps(report.to_json()).decode() + "\n")
    else:
        sys.stdout.write(render(report, TopicNames.from_settings(settings), args.show))
    return 0 if report.ok else 1


def _ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def render(report: AuditReport, names: TopicNames, show: int = 20) -> str:
    """The report as text for a person."""
    lines = [
        f"inputs ({names.raw}): {report.input_messages} message(s), {report.input_ids} "
        f"distinct id(s), {report.inputs_without_id} without a readable id, "
        f"{report.repeated_input_messages} repeated id(s)",
        f"coded ({names.coded}): {report.coded} article(s)",
        f"dead letters ({names.dlq}): {report.dead_letters}"
        + "".join(f"\n  {kind}: {n}" for kind, n in report.dead_letters_by_kind.items()),
        f"events ({names.events}): {report.events} record(s), {report.distinct_events} "
        "distinct id(s)",
        _listed("missing (input without a terminal record)", report.missing, show),
        _listed(
            "duplicate terminal records (article id x records)",
            [f"{k} x{n}" for k, n in report.duplicate_terminals.items()],
            show,
        ),
        _listed("both coded and dead-lettered", report.coded_and_dead_lettered, show),
        _listed(
            "duplicate event ids (id x records)",
            [f"{k} x{n}" for k, n in report.duplicate_event_ids.items()],
            show,
        ),
        _listed("event ids with different payloads", report.conflicting_event_ids, show),
        _listed("events named by articles.coded but absent", report.missing_events, show),
    ]
    if report.unreadable:
        lines.append(
            "unreadable records: " + ", ".join(f"{k}: {n}" for k, n in report.unreadable.items())
        )
    if not report.complete:
        lines.append("WARNING: some partitions were not read to their end")
    lines.append("OK: every input is accounted for" if report.ok else "FAILED")
    return "\n".join(lines) + "\n"


def _listed(title: str, items: Sequence[str], show: int) -> str:
    head = f"{title}: {len(items)}"
    shown = "".join(f"\n  {item}" for item in items[:show])
    more = f"\n  ... and {len(items) - show} more" if len(items) > show else ""
    return head + shown + more
