"""The audit's reconciliation over hand-made records: what is lost, repeated, contradictory."""

from __future__ import annotations

import argparse
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.codec import Origin, Rejected, dead_letter, encode
from pipeline.models import MAX_ID_LENGTH
from pipeline.testing import NOW, article_coded, dead_letter_of, diplomatic_event, raw_article
from pipeline.tools.audit import (
    TimeRange,
    configure_parser,
    iter_problems,
    parse_time,
    payload_digest,
    read_coded,
    read_dead_letter,
    read_event,
    read_input,
    reconcile,
    records_from,
    render,
)
from pipeline.topics import ALL, RAW, TopicNames

pytestmark = pytest.mark.unit


def raw(article_id: str, body: str = "Leaders met.") -> bytes:
    return raw_article(article_id, body)


def coded(article_id: str, *event_ids: str) -> bytes:
    return encode(article_coded(article_id, *event_ids))


def letter(
    article_id: str | None, kind: str, partition: int | None = None, offset: int | None = None
) -> bytes:
    origin = Origin(RAW, partition, offset)
    return encode(dead_letter_of(article_id, kind, origin=origin, payload=b"x"))


def event(
    event_id: str, article_id: str = "a", *, goldstein: float = 4.0, at: datetime = NOW
) -> bytes:
    return encode(diplomatic_event(event_id, article_id, goldstein=goldstein, emitted_at=at))


def test_every_input_accounted_for_is_ok() -> None:
    records = records_from(
        raw=[(0, 0, raw("a")), (1, 0, raw("b")), (2, 0, b"\xff not utf-8")],
        coded=[coded("a", "e1")],
        dlq=[letter("b", "unsupported_language", 1, 0), letter(None, "not_utf8", 2, 0)],
        events=[event("e1")],
    )
    report = reconcile(records, RAW)
    assert report.ok, list(iter_problems(report))
    assert (report.input_messages, report.input_ids, report.inputs_without_id) == (3, 2, 1)
    assert report.coded == 1
    assert report.dead_letters_by_kind == {"not_utf8": 1, "unsupported_language": 1}
    assert report.missing == []


def test_input_without_terminal_record_is_missing() -> None:
    records = records_from(
        raw=[(0, 0, raw("a")), (0, 1, raw("b")), (3, 7, b"{broken")],
        coded=[coded("a")],
    )
    report = reconcile(records, RAW)
    assert not report.ok
    assert report.missing == [f"{RAW}[3]@7", "b"]
    assert list(iter_problems(report)) == ["2 input(s) without a terminal record"]


def test_dead_letter_for_another_topic_position_does_not_account_for_raw() -> None:
    dlq = encode(
        dead_letter(b"x", Origin("articles.valid", 3, 7), "extract", Rejected("k", "r"), NOW)
    )
    report = reconcile(records_from(raw=[(3, 7, b"{broken")], dlq=[dlq]), RAW)
    assert report.missing == [f"{RAW}[3]@7"]


def test_id_unreadable_to_the_stage_is_matched_by_position() -> None:
    # An over-long id fails validation; its dead letter carries the first MAX_ID_LENGTH.
    long_id = "x" * (MAX_ID_LENGTH + 88)
    records = records_from(
        raw=[(0, 4, raw(long_id))], dlq=[letter(long_id[:MAX_ID_LENGTH], "invalid_fields", 0, 4)]
    )
    assert reconcile(records, RAW).ok
    # A dead letter without the id but at the right position accounts for it too.
    records = records_from(raw=[(0, 4, raw("a"))], dlq=[letter(None, "stage_error", 0, 4)])
    assert reconcile(records, RAW).ok


def test_same_id_twice_is_a_repeat_not_a_loss() -> None:
    records = records_from(raw=[(0, 0, raw("a")), (0, 1, raw("a"))], coded=[coded("a")])
    report = reconcile(records, RAW)
    assert report.ok
    assert report.repeated_input_messages == 1
    assert report.duplicate_terminals == {}


def test_replayed_terminal_records_and_events_are_reported_but_ok() -> None:
    later = NOW + timedelta(minutes=5)
    records = records_from(
        raw=[(0, 0, raw("a"))],
        coded=[coded("a", "e1"), coded("a", "e1")],
        events=[event("e1", at=NOW), event("e1", at=later)],
    )
    report = reconcile(records, RAW)
    assert report.ok
    assert report.duplicate_terminals == {"a": 2}
    assert report.duplicate_event_ids == {"e1": 2}
    assert report.conflicting_event_ids == []
    assert (report.events, report.distinct_events) == (2, 1)


def test_same_event_id_with_a_different_payload_fails() -> None:
    records = records_from(
        raw=[(0, 0, raw("a"))],
        coded=[coded("a", "e1")],
        events=[event("e1", goldstein=4.0), event("e1", goldstein=-4.0)],
    )
    report = reconcile(records, RAW)
    assert not report.ok
    assert report.conflicting_event_ids == ["e1"]


def test_event_promised_by_coded_record_but_absent_fails() -> None:
    records = records_from(
        raw=[(0, 0, raw("a"))], coded=[coded("a", "e1", "e2")], events=[event("e1")]
    )
    report = reconcile(records, RAW)
    assert not report.ok
    assert report.missing_events == ["e2"]


def test_coded_and_dead_lettered_is_listed() -> None:
    records = records_from(
        raw=[(0, 0, raw("a"))], coded=[coded("a")], dlq=[letter("a", "duplicate_body", 0, 0)]
    )
    report = reconcile(records, RAW)
    assert report.ok
    assert report.coded_and_dead_lettered == ["a"]
    assert report.duplicate_terminals == {"a": 2}


def test_unreadable_output_records_are_counted_not_fatal() -> None:
    records = records_from(
        raw=[(0, 0, raw("a"))],
        coded=[coded("a"), b"not json"],
        dlq=[b"[]"],
        events=[b'{"no": "id"}'],
    )
    report = reconcile(records, RAW)
    assert report.ok
    assert report.unreadable == {"coded": 1, "dlq": 1, "events": 1}


def test_incomplete_read_is_not_ok() -> None:
    report = reconcile(records_from(raw=[]), RAW)
    assert report.ok
    assert not dataclasses.replace(report, complete=False).ok


def test_digest_ignores_volatile_stamps_and_key_order() -> None:
    a = {"event_id": "e", "goldstein": 1.0, "emitted_at": "t1", "nested": {"ingested_at": "x"}}
    b = {"nested": {"ingested_at": "y"}, "emitted_at": "t2", "goldstein": 1.0, "event_id": "e"}
    c = {**a, "goldstein": 2.0}
    assert payload_digest(a) == payload_digest(b)
    assert payload_digest(a) != payload_digest(c)


def test_readers_reject_foreign_records() -> None:
    assert read_input(0, 0, None).article_id is None
    assert read_input(0, 0, b'{"id": 42}').article_id is None
    assert read_input(0, 0, b'{"id": ""}').article_id is None
    assert read_input(1, 2, raw("z")).article_id == "z"
    assert read_coded(b'{"article_id": 5}') is None
    assert read_coded(b'{"article_id": "a", "event_ids": [1]}') is None
    assert read_dead_letter(b'{"article_id": "a"}') is None
    assert read_event(event("e9")) is not None
    assert read_event(b'{"event_id": null}') is None


def test_time_range_bounds_inputs_but_not_late_outputs() -> None:
    bounds = TimeRange(since_ms=1_000, until_ms=2_000)
    assert [bounds.admits_input(t) for t in (999, 1_000, 1_999, 2_000)] == [
        False,
        True,
        True,
        False,
    ]
    assert [bounds.admits_output(t) for t in (999, 1_000, 10_000)] == [False, True, True]
    assert TimeRange().admits_input(0) and TimeRange().admits_output(0)


def test_parse_time_and_options() -> None:
    assert parse_time("1714564800") == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_time("2024-05-01T12:00:00") == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_time("2024-05-01T14:00:00+02:00") == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_time("yesterday")
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(["--since", "1714564800", "--json"])
    assert args.json and args.since == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert args.until is None


def test_text_report_names_the_problems() -> None:
    records = records_from(
        raw=[(0, 0, raw("a")), (0, 1, raw("b"))],
        coded=[coded("a", "e1")],
        events=[event("e1"), event("e1", goldstein=-1.0)],
    )
    text = render(reconcile(records, RAW), TopicNames(*ALL), show=5)
    assert "missing (input without a terminal record): 1\n  b" in text
    assert "event ids with different payloads: 1\n  e1" in text
    assert text.rstrip().endswith("FAILED")


def test_output_records_are_read_with_the_message_models() -> None:
    # Each is valid JSON with the right id field, but not the model its topic carries.
    negative = b'{"article_id": "a", "events": -1, "coded_at": "2024-05-01T12:00:00Z"}'
    no_stage = json.dumps({**json.loads(letter("a", "not_json")), "stage": None}).encode()
    bad_code = json.dumps({**json.loads(event("e1")), "cameo_code": "4"}).encode()
    assert read_coded(negative) is None
    assert read_dead_letter(no_stage) is None
    assert read_event(bad_code) is None
    assert read_coded(coded("a", "e1")) is not None
    assert read_dead_letter(letter("a", "not_json")) is not None
