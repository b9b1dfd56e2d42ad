"""``dipwire ingest`` as a command: check every path, publish the articles, say what went out."""

from __future__ import annotations

import argparse
import sys

from pipeline.errors import PipelineError
from pipeline.ingest import publish
from pipeline.inputs.plan import SUFFIXES, Plan, plan
from pipeline.inputs.reading import Tally, read
from pipeline.settings import Settings
from pipeline.topics import TopicNames

SKIPPED_SHOWN = 5
"""Skipped files of a folder named in the report; the rest are counted."""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``dipwire ingest``."""
    parser.add_argument(
        "paths",
        nargs="+",
        help="files or folders (searched recursively for "
        + ", ".join(sorted(SUFFIXES))
        + "), or - for JSON lines or one XML document on stdin",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Publish the articles of ``args.paths``; report; fail when nothing was published.

    Raises:
        PipelineError: A path cannot be read (nothing is published then), or
            no article was found.
    """
    from tqdm.contrib.logging import logging_redirect_tqdm

    checked = plan(args.paths)
    tally = Tally()
    topic = TopicNames.from_settings(settings).raw
    with logging_redirect_tqdm():  # warnings above the progress bar, not through it
        sent = publish(settings, read(checked, tally))
    sys.stderr.write(report(checked, tally, sent, topic) + "\n")
    if sent == 0:
        raise PipelineError(
            f"no article published to {topic}: "
            + (
                f"{tally.unreadable} item(s) could not be read as articles"
                if tally.unreadable
                else "no article file found"
            )
        )
    return 0


def report(checked: Plan, tally: Tally, sent: int, topic: str) -> str:
    """What an ingest published, what it could not read and what it left out, for a person."""
    formats = ", ".join(f"{n} {fmt}" for fmt, n in sorted(tally.articles.items()))
    lines = [
        f"published {sent} article(s) to {topic} from {tally.files} file(s)"
        + (f" ({formats})" if formats else "")
    ]
    if tally.unreadable:
        lines.append(
            f"not articles, sent nowhere: {tally.unreadable} line(s)/item(s) "
            f"in {tally.unreadable_files} file(s) (see the warnings above)"
        )
    if checked.skipped:
        names = ", ".join(checked.skipped[:SKIPPED_SHOWN])
        more = len(checked.skipped) - SKIPPED_SHOWN
        lines.append(
            f"skipped {len(checked.skipped)} file(s) of other kinds: {names}"
            + (f" and {more} more" if more > 0 else "")
        )
    return "\n".join(lines)
