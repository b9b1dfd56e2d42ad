"""The pure parts of ``dipwire tail`` (filters, times) and ``dipwire replay`` (choice, routes)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from pipeline.errors import PipelineError
from pipeline.models import Article, DeadLetter
from pipeline.settings import Settings
from pipeline.tools.replay import Choice, Replay, plan, replay_of
from pipeline.tools.tail import build_filter, parse_since, render
from pipeline.tools.topic_reader import TopicRecord
from pipeline.topics import Role, TopicNames

pytestmark = pytest.mark.unit

NAMES = TopicNames.from_settings(Settings(topic_prefix="t."))
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
EVENT = {
    "cameo_root": "04",
    "source_actor": {"country": "FRA"},
    "target_actor": {"country": "DEU"},
    "article_id": "a1",
}


def test_filters_match_a_root_and_either_country() -> None:
    by_root = build_filter(["root=4"], Role.EVENTS)
    by_country = build_filter(["country=deu"], Role.EVENTS)
    by_source = build_filter(["source=DEU"], Role.EVENTS)
    both = build_filter(["root=14,04", "country=FRA"], Role.EVENTS)
    assert by_root and by_country and by_source and both
    assert by_root(EVENT) and by_country(EVENT) and both(EVENT)
    assert not by_source(EVENT)
    assert not by_country({**EVENT, "target_actor": None})
    assert build_filter([], Role.EVENTS) is None


@pytest.mark.parametrize(
    ("spec", "role", "message"),
    [
        ("country", Role.EVENTS, "expected FIELD=VALUE"),
        ("colour=red", Role.EVENTS, "expected FIELD=VALUE"),
        ("root=14", Role.DLQ, "applies to --topic events"),
        ("kind=not_json", Role.EVENTS, "applies to --topic dlq"),
    ],
)
def test_a_bad_filter_says_why(spec: str, role: Role, message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        build_filter([spec], role)


def test_since_takes_an_age_or_a_time() -> None:
    assert abs(parse_since("2h") - (datetime.now(UTC) - timedelta(hours=2))) < timedelta(minutes=1)
    assert parse_since("2024-05-01T12:00:00") == NOW


def test_a_record_renders_with_its_coordinates() -> None:
    record = TopicRecord("t.events", 2, 17, int(NOW.timestamp() * 1000), b"k", b'{"a": 1}')
    assert orjson.loads(render(record)) == {
        "topic": "t.events",
        "partition": 2,
        "offset": 17,
        "timestamp": "2024-05-01T12:00:00.000Z",
        "key": "k",
        "value": {"a": 1},
    }


def _letter(topic: str, payload: bytes, **fields: object) -> DeadLetter:
    values: dict[str, object] = {
        "article_id": "a1",
        "payload_b64": base64.b64encode(payload).decode(),
        "payload_size": len(payload),
        "topic": topic,
        "stage": "extract",
        "error_kind": "stage_error",
        "reason": "x",
        "failed_at": NOW,
    }
    values.update(fields)
    return DeadLetter.model_validate(values)


def _record(letter: DeadLetter, offset: int = 5) -> TopicRecord:
    return TopicRecord(NAMES.dlq, 1, offset, 0, b"a1", letter.model_dump_json().encode())


ARTICLE = Article(id="a1", body="Leaders met.", received_at=NOW)


def test_every_dead_letter_goes_back_to_raw_with_a_token_naming_it() -> None:
    raw = _letter(NAMES.raw, b'{"id": "a1", "body": "x", "language": "de"}', stage="validate")
    valid = _letter(NAMES.valid, ARTICLE.model_dump_json().encode())
    annotated = _letter(
        NAMES.annotated, orjson.dumps({"article": ARTICLE.model_dump(mode="json"), "tokens": {}})
    )
    for letter in (raw, valid, annotated):
        made = replay_of(letter, _record(letter), NAMES)
        assert isinstance(made, Replay)
        assert (made.topic, made.key, made.token) == (NAMES.raw, b"a1", b"t.articles.dlq:1:5")
    made = replay_of(raw, _record(raw), NAMES)
    assert isinstance(made, Replay) and made.value == base64.b64decode(raw.payload_b64)
    made = replay_of(annotated, _record(annotated), NAMES)
    assert isinstance(made, Replay)
    article = orjson.loads(made.value)
    assert (article["id"], article["body"]) == ("a1", "Leaders met.")
    assert "received_at" not in article


def test_what_cannot_be_replayed_says_why() -> None:
    truncated = _letter(NAMES.raw, b"x", payload_truncated=True)
    garbled = _letter(NAMES.enriched, b"not json")
    elsewhere = _letter("somewhere.else", b"{}")
    assert "truncated" in str(replay_of(truncated, _record(truncated), NAMES))
    assert "carries no readable article" in str(replay_of(garbled, _record(garbled), NAMES))
    assert "no input of the pipeline" in str(replay_of(elsewhere, _record(elsewhere), NAMES))


def test_dead_letters_are_chosen_by_kind_id_position_and_time() -> None:
    old = _letter(NAMES.valid, ARTICLE.model_dump_json().encode(), failed_at=NOW - timedelta(1))
    new = _letter(NAMES.raw, b'{"id": "a2", "body": "x"}', article_id="a2", error_kind="not_json")
    records = [_record(old, 1), _record(new, 2), TopicRecord(NAMES.dlq, 0, 0, 0, None, b"junk")]
    assert plan(records, Choice(kinds=frozenset({"not_json"})), NAMES).chosen == 1
    assert plan(records, Choice(ids=frozenset({"a1"})), NAMES).replays[0].offset == 1
    assert plan(records, Choice(positions=frozenset({(1, 2)})), NAMES).replays[0].offset == 2
    recent = plan(records, Choice(since=NOW - timedelta(hours=1)), NAMES)
    assert [r.offset for r in recent.replays] == [2]
    every = plan(records, Choice(), NAMES)
    assert (every.read, every.chosen, every.unreadable) == (3, 2, 1)
