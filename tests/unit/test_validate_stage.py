"""The validate stage: outputs, dead letters and duplicates for a batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipeline.codec import Origin
from pipeline.models import Article, DeadLetter
from pipeline.stages.base import Record
from pipeline.stages.validate import Deduper, ValidateStage

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
