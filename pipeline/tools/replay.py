"""``dipwire replay``: dead letters, chosen by kind, stage, time, id or position, back to input.

Every chosen dead letter goes back to ``articles.raw``, the topic the pipeline
starts from: one the validate stage refused with the bytes it refused, one a
later stage refused with the article its payload carries (an internal
message cannot go to ``articles.raw`` as it is). Each goes with the
``REPLAY_HEADER``, whose token names the dead letter, so the validate stage
lets the article's id through once although it has seen it; replaying the
same dead letter again is dropped there as a duplicate. A dead letter whose
payload was truncated cannot be replayed: the rest of it is gone.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from pydantic import ValidationError

from pipeline.errors import PipelineError
from pipeline.models import Article, DeadLetter
from pipeline.settings import Settings
from pipeline.tools.tail import forward, parse_since
from pipeline.tools.topic_reader import TopicReader, TopicRecord
from pipeline.topics import REPLAY_HEADER, Role, TopicNames


@dataclass(frozen=True)
class Choice:
    """Which dead letters to replay; an empty criterion chooses every one."""

    kinds: frozenset[str] = frozenset()
    stages: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    positions: frozenset[tuple[int, int]] = frozenset()
    since: datetime | None = None
    until: datetime | None = None

    def admits(self, letter: DeadLetter, partition: int, offset: int) -> bool:
        """Whether the dead letter at ``partition``/``offset`` is chosen."""
        return (
            (not self.kinds or letter.error_kind in self.kinds)
            and (not self.stages or letter.stage in self.stages)
            and (not self.ids or letter.article_id in self.ids)
            and (not self.positions or (partition, offset) in self.positions)
            and (self.since is None or letter.failed_at >= self.since)
            and (self.until is None or letter.failed_at < self.until)
        )


@dataclass(frozen=True)
class Replay:
    """One message to put back: where it goes, its key, value and replay token."""

    letter: DeadLetter
    partition: int
    offset: int
    topic: str
    key: bytes | None
    value: bytes
    token: bytes


@dataclass
class Outcome:
    """What a replay run found, chose, put back and could not put back (by reason)."""

    read: int = 0
    chosen: int = 0
    replays: list[Replay] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    unreadable: int = 0


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``dipwire replay``."""
    parser.add_argument(
        "--kind", action="append", default=[], help="error kind, e.g. stage_error (repeatable)"
    )
    parser.add_argument(
        "--stage", action="append", default=[], help="stage that refused it (repeatable)"
    )
    parser.add_argument("--id", action="append", default=[], help="article id (repeatable)")
    parser.add_argument(
        "--at",
        action="append",
        default=[],
        type=_position,
        metavar="PARTITION:OFFSET",
        help="the dead letter at this position of the dead-letter topic, as tail shows it",
    )
    parser.add_argument(
        "--since", type=parse_since, help="failed at or after (ISO 8601, epoch s, or 2h, 1d)"
    )
    parser.add_argument("--until", type=parse_since, help="failed before")
    parser.add_argument("--all", action="store_true", help="every dead letter (no criterion)")
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be replayed; publish nothing"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Replay the chosen dead letters (or list them with ``--dry-run``).

    Raises:
        PipelineError: No criterion and no ``--all``, no dead letter chosen, or
            none of the chosen could be replayed.
    """
    choice = Choice(
        frozenset(_split(args.kind)),
        frozenset(_split(args.stage)),
        frozenset(args.id),
        frozenset(args.at),
        args.since,
        args.until,
    )
    if choice == Choice() and not args.all:
        raise PipelineError(
            "choose dead letters with --kind, --stage, --id, --at, --since/--until, or --all"
        )
    names = TopicNames.from_settings(settings)
    with TopicReader(settings, names.dlq) as reader:
        outcome = plan(forward(reader, reader.begin, None, None), choice, names)
    if outcome.chosen == 0:
        raise PipelineError(f"no dead letter in {names.dlq} matches ({outcome.read} read)")
    for item in outcome.replays:
        sys.stdout.write(_line(item, args.dry_run) + "\n")
    if outcome.replays and not args.dry_run:
        publish(settings, outcome.replays)
    sys.stderr.write(summary(outcome, names.dlq, args.dry_run) + "\n")
    if not outcome.replays:
        raise PipelineError("nothing replayed: every chosen dead letter was skipped")
    return 0


def plan(records: Iterable[TopicRecord], choice: Choice, names: TopicNames) -> Outcome:
    """Read dead-letter records; choose; turn each chosen one into a :class:`Replay`."""
    outcome = Outcome()
    for record in records:
        outcome.read += 1
        try:
            letter = DeadLetter.model_validate_json(record.value)
        except ValidationError:
            outcome.unreadable += 1
            continue
        if not choice.admits(letter, record.partition, record.offset):
            continue
        outcome.chosen += 1
        made = replay_of(letter, record, names)
        if isinstance(made, str):
            outcome.skipped[made] += 1
        else:
            outcome.replays.append(made)
    return outcome


def replay_of(letter: DeadLetter, record: TopicRecord, names: TopicNames) -> Replay | str:
    """The message that puts ``letter`` back on the raw topic, or why it cannot be."""
    if letter.payload_truncated:
        return "payload truncated (only its first 64 KiB were kept)"
    try:
        payload = base64.b64decode(letter.payload_b64, validate=True)
    except (binascii.Error, ValueError):
        return "payload is not base64"
    internal = {names.valid, names.annotated, names.enriched}
    if letter.topic == names.raw:
        value = payload
        key = letter.article_id.encode() if letter.article_id else record.key
    elif letter.topic in internal:
        article = carried_article(payload, from_valid=letter.topic == names.valid)
        if article is None:
            return f"payload from {letter.topic} carries no readable article"
        value = article.model_dump_json(exclude={"received_at"}).encode()
        key = article.id.encode()
    else:
        return f"from {letter.topic}, which is no input of the pipeline"
    token = f"{record.topic}:{record.partition}:{record.offset}".encode()
    return Replay(letter, record.partition, record.offset, names.raw, key, value, token)


def carried_article(payload: bytes, *, from_valid: bool) -> Article | None:
    """The article an internal message carries (on ``articles.valid`` it is the message)."""
    try:
        data = orjson.loads(payload)
        if not isinstance(data, dict):
            return None
        return Article.model_validate(data if from_valid else data.get("article"))
    except (orjson.JSONDecodeError, ValidationError):
        return None


def publish(settings: Settings, replays: Iterable[Replay]) -> int:
    """Send every replay with its header; wait for every ack."""
    from pipeline.broker.clients import publish_all

    return publish_all(
        settings, ((r.topic, r.key, r.value, [(REPLAY_HEADER, r.token)]) for r in replays)
    )


def summary(outcome: Outcome, dlq: str, dry_run: bool) -> str:
    """The run for a person: read, chosen, replayed (or would be), skipped and why."""
    verb = "would replay" if dry_run else "replayed"
    target = outcome.replays[0].topic if outcome.replays else Role.RAW.value
    lines = [
        f"{dlq}: {outcome.read} dead letter(s) read, {outcome.chosen} chosen; "
        f"{verb} {len(outcome.replays)} to {target}"
    ]
    lines += [f"skipped {n}: {reason}" for reason, n in outcome.skipped.most_common()]
    if outcome.unreadable:
        lines.append(f"{outcome.unreadable} record(s) of {dlq} are no dead letter")
    return "\n".join(lines)


def _line(item: Replay, dry_run: bool) -> str:
    return orjson.dumps(
        {
            "dead_letter": {"partition": item.partition, "offset": item.offset},
            "article_id": item.letter.article_id,
            "stage": item.letter.stage,
            "error_kind": item.letter.error_kind,
            "from": item.letter.topic,
            "to": item.topic,
            "dry_run": dry_run,
        }
    ).decode()


def _split(values: Iterable[str]) -> Iterator[str]:
    for value in values:
        yield from (v.strip() for v in value.split(",") if v.strip())


def _position(text: str) -> tuple[int, int]:
    partition, sep, offset = text.partition(":")
    try:
        if sep:
            return int(partition), int(offset)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected PARTITION:OFFSET, e.g. 2:17, not {text!r}")
