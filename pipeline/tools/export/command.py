"""``dipwire export`` as a command: its options and the run."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline.settings import Settings
from pipeline.tools.audit.command import parse_time
from pipeline.tools.export.files import LAYOUTS, Interval, SlotBy, Window, export
from pipeline.tools.export.sources import read_jsonl, read_topic


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``dipwire export``."""
    parser.add_argument(
        "paths",
        nargs="*",
        help="JSONL files of events (as `dipwire tail` prints them); - is stdin",
    )
    parser.add_argument(
        "--from-topic",
        action="store_true",
        help="read the events topic from its beginning to its end (needs KAFKA_BOOTSTRAP_SERVERS)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the files")
    parser.add_argument(
        "--format",
        choices=[*LAYOUTS, "both"],
        default="both",
        help="GDELT 2.0 event layout, Phoenix layout, or both (default)",
    )
    parser.add_argument(
        "--interval",
        choices=[i.value for i in Interval],
        default=Interval.DAY.value,
        help="one file per 15 minutes or per day (default)",
    )
    parser.add_argument(
        "--by",
        choices=[b.value for b in SlotBy],
        default=SlotBy.ADDED.value,
        help="slot events by when they were added (emitted_at, default) or by the event's day",
    )
    parser.add_argument("--day", type=date.fromisoformat, help="only this UTC day (YYYY-MM-DD)")
    parser.add_argument("--since", type=parse_time, help="only slot times at or after this")
    parser.add_argument("--until", type=parse_time, help="only slot times before this")
    parser.add_argument(
        "--header", action="store_true", help="write the column names as a first line"
    )


def window_of(args: argparse.Namespace) -> Window:
    """``--day``, or ``--since``/``--until``."""
    if args.day is not None:
        start = datetime.combine(args.day, datetime.min.time(), tzinfo=UTC)
        return Window(start, start + timedelta(days=1))
    return Window(args.since, args.until)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Read the events, write the files, print each file's path; exit 2 on a usage error."""
    if bool(args.paths) == bool(args.from_topic):
        sys.stderr.write("dipwire export: give JSONL files or --from-topic (one of the two)\n")
        return 2
    if args.day is not None and (args.since or args.until):
        sys.stderr.write("dipwire export: --day or --since/--until, not both\n")
        return 2
    events = read_topic(settings) if args.from_topic else list(read_jsonl(args.paths))
    layouts = list(LAYOUTS) if args.format == "both" else [args.format]
    written = export(
        events,
        args.out,
        layouts,
        Interval(args.interval),
        SlotBy(args.by),
        window_of(args),
        header=args.header,
    )
    for item in written:
        sys.stdout.write(f"{item.path}\n")
    total = sum(item.events for item in written if item.layout == layouts[0])
    sys.stderr.write(
        f"exported {total} event(s) of {len(events)} read "
        f"into {len(written)} file(s) in {args.out}\n"
    )
    return 0
