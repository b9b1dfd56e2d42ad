"""Delivery settings as the Faust app receives them: guarantee, bounds, message sizes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from pipeline.app import faust_settings
from pipeline.broker.security import kafka_client_kwargs
from pipeline.codec import Origin
from pipeline.settings import Settings
from pipeline.stages.agents import pieces, process_or_reject
from pipeline.stages.base import Record

pytestmark = pytest.mark.unit


def _settings(**fields: object) -> Settings:
    return Settings(kafka_bootstrap_servers="127.0.0.1:9", **fields)  # type: ignore[arg-type]


def test_exactly_once_on_the_embedded_broker_falls_back_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        conf = faust_settings(_settings(embedded_broker=True, processing_guarantee="exactly_once"))
    assert conf["processing_guarantee"] == "at_least_once"
    assert any(
        "exactly_once" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records
    ), caplog.text


def test_exactly_once_is_kept_for_a_real_kafka(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        conf = faust_settings(_settings(embedded_broker=False, processing_guarantee="exactly_once"))
    assert conf["processing_guarantee"] == "exactly_once"
    assert "exactly_once" not in caplog.text


def test_at_least_once_is_the_default() -> None:
    assert faust_settings(_settings(embedded_broker=False))["processing_guarantee"] == (
        "at_least_once"
    )


def test_in_flight_work_and_message_sizes_are_bounded_by_settings() -> None:
    settings = _settings(stream_buffer_maxsize=7, max_message_bytes=3_000_000)
    conf = faust_settings(settings)
    assert conf["stream_buffer_maxsize"] == 7
    assert conf["consumer_max_fetch_size"] == 3_000_000
    assert conf["producer_max_request_size"] == 3_000_000
    # acks=all: an output counts as published only once every in-sync replica has it.
    assert conf["producer_acks"] == -1
    assert kafka_client_kwargs(settings, "producer")["max_request_size"] == 3_000_000
    consumer = kafka_client_kwargs(settings, "consumer")
    assert consumer["max_partition_fetch_bytes"] == 3_000_000


def test_input_limit_defaults_leave_room_for_a_body_at_its_limit() -> None:
    settings = Settings()
    # A body at its limit, JSON-escaped (non-ASCII as \\uXXXX doubles UTF-8 CJK), still fits.
    assert settings.max_input_bytes >= 2 * settings.max_body_bytes
    assert settings.max_input_bytes < 10_000_000 <= settings.max_message_bytes


class _BrokenStage:
    """A stage with a bug that fails whole batches (not one message)."""

    id = "extract"
    input_role = "valid"
    output_roles = ("annotated", "dlq")

    def process(self, records: object, now: object) -> object:
        raise RuntimeError("3 results for 2 items")


def test_a_batch_the_stage_fails_as_a_whole_becomes_dead_letters() -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    records = [
        Record(b'{"id": "a"}', Origin("articles.valid", 0, 7), key=b"a"),
        Record(b"\xff", Origin("articles.valid", 1, 3), key=None),
    ]
    result = process_or_reject(_BrokenStage(), records, now)  # type: ignore[arg-type]
    letters = result.dead_letters()
    assert [(d.article_id, d.partition, d.offset) for d in letters] == [("a", 0, 7), (None, 1, 3)]
    assert {d.error_kind for d in letters} == {"stage_error"}
    assert all("RuntimeError: 3 results for 2 items" in d.reason for d in letters)
    assert [o.key for o in result.outputs] == [b"a", None]


def _sized(*sizes: int) -> list[Record]:
    return [
        Record(value=b"x" * size, origin=Origin("valid", 0, offset))
        for offset, size in enumerate(sizes)
    ]


def test_pieces_are_shortest_first_and_bounded() -> None:
    records = _sized(900, 100, 300, 5_000, 200)
    split = pieces(records, 1_000)
    assert [[len(r.value) for r in piece] for piece in split] == [[100, 200, 300], [900], [5_000]]
    assert sorted(r.origin.offset for piece in split for r in piece) == [0, 1, 2, 3, 4]


def test_without_a_piece_size_the_batch_stays_whole_and_in_order() -> None:
    records = _sized(900, 100, 300)
    assert pieces(records, None) == [records]
    assert pieces(records[:1], 10) == [records[:1]]
