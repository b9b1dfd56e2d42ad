"""The validate stage: outputs, dead letters and duplicates for a batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipeline.codec import Origin
from pipeline.models import Article, DeadLetter
from pipeline.stages.base import Record
from pipeline.stages.validate import Deduper, ValidateStage
from pipeline.topics import REPLAY_HEADER

pytestmark = pytest.mark.unit

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def record(offset: int, **fields: object) -> Record:
    return Record(json.dumps(fields).encode(), Origin("articles.raw", 0, offset))


def stage(capacity: int = 100) -> ValidateStage:
    return ValidateStage(max_message_bytes=10_000, max_body_bytes=5_000, deduper=Deduper(capacity))


def test_batch_with_good_bad_and_duplicate_messages() -> None:
    records = [
        record(0, id="a", body="Talks began."),
        Record(b"not json", Origin("articles.raw", 0, 1)),
        record(2, id="a", body="Talks began."),
        record(3, id="b", body="Talks   began."),
        record(4, id="c", body="Other news."),
    ]
    result = stage().process(records, NOW)
    valid = [o.value for o in result.outputs if o.role == "valid"]
    letters = [o.value for o in result.outputs if o.role == "dlq"]
    assert [a.id for a in valid if isinstance(a, Article)] == ["a", "c"]
    assert [(d.error_kind, d.offset) for d in letters if isinstance(d, DeadLetter)] == [
        ("not_json", 1),
        ("duplicate_body", 3),
    ]
    assert result.duplicates == {"id": 1, "body": 1}
    assert all(o.key == o.value.id.encode() for o in result.outputs if isinstance(o.value, Article))


def test_deduper_forgets_beyond_capacity() -> None:
    deduper = Deduper(capacity=2)
    assert deduper.check("a", "one") is None
    assert deduper.check("b", "two") is None
    assert deduper.check("c", "three") is None
    assert deduper.check("a", "one") is None  # evicted, so seen as new
    assert deduper.check("c", "three") == "id"


def test_dedupe_can_be_disabled() -> None:
    deduper = Deduper(capacity=0)
    assert deduper.check("a", "x") is None
    assert deduper.check("a", "x") is None


def replayed(offset: int, token: bytes, **fields: object) -> Record:
    return Record(
        json.dumps(fields).encode(),
        Origin("articles.raw", 0, offset),
        key=str(fields["id"]).encode(),
        headers=(("other", b"x"), (REPLAY_HEADER, token)),
    )


def test_a_replay_header_lets_a_seen_id_through_once_per_token() -> None:
    records = [
        record(0, id="a", body="Talks began."),
        record(1, id="a", body="Talks began."),  # a plain second copy: dropped
        replayed(2, b"dlq:0:5", id="a", body="Talks began."),  # a replay: coded again
        replayed(3, b"dlq:0:5", id="a", body="Talks began."),  # the same replay again: dropped
        replayed(4, b"dlq:0:9", id="a", body="Talks began."),  # another replay: coded
    ]
    result = stage().process(records, NOW)
    coded = [o.value.id for o in result.outputs if isinstance(o.value, Article)]
    assert coded == ["a", "a", "a"]
    assert [o.value for o in result.outputs if isinstance(o.value, DeadLetter)] == []
    assert result.duplicates == {"id": 2}


def test_a_replay_is_still_a_body_duplicate_of_another_id() -> None:
    records = [
        record(0, id="a", body="Talks began."),
        replayed(1, b"dlq:0:1", id="b", body="Talks began."),
    ]
    letters = [o.value for o in stage().process(records, NOW).outputs if o.role == "dlq"]
    assert [d.error_kind for d in letters if isinstance(d, DeadLetter)] == ["duplicate_body"]


def test_the_last_header_of_a_name_wins() -> None:
    rec = Record(b"", Origin("t"), headers=(("h", b"1"), ("h", b"2")))
    assert rec.header("h") == b"2"
    assert rec.header("missing") is None
