"""Every kind of bad input becomes a specific rejection; good input is normalised."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from pipeline.codec import (
    MAX_JSON_DEPTH,
    Origin,
    Rejected,
    dead_letter,
    decode,
    decode_article,
    encode,
    normalise_text,
)
from pipeline.models import MAX_ID_LENGTH, Article, DeadLetter
from pipeline.stages.base import Record, record_key_id
from pipeline.tools.audit import read_input

pytestmark = pytest.mark.unit

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LIMITS = {"max_message_bytes": 2_000_000, "max_body_bytes": 1_000}


def article(**fields: object) -> bytes:
    base: dict[str, object] = {"id": "a-1", "title": "Talks", "body": "Leaders met in Geneva."}
    base.update(fields)
    return json.dumps(base).encode()


def kind_of(raw: bytes, **limits: int) -> str:
    result = decode_article(raw, now=NOW, **{**LIMITS, **limits})
    assert isinstance(result, Rejected), result
    return result.kind


def test_valid_article_is_stamped_and_normalised() -> None:
    result = decode_article(
        article(body="  Leaders\r\nmet \t in   Geneva.\x00 "), now=NOW, **LIMITS
    )
    assert isinstance(result, Article)
    assert result.body == "Leaders\nmet in Geneva."
    assert result.received_at == NOW
    assert result.language == "en"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"\xff\xfe not utf-8", "not_utf8"),
        (b"{not json", "not_json"),
        (b"[1, 2, 3]", "not_object"),
        (b'"just a string"', "not_object"),
        (json.dumps({"title": "no body or id"}).encode(), "invalid_fields"),
        (json.dumps({"id": "x", "body": 42}).encode(), "invalid_fields"),
        (json.dumps({"id": "", "body": "text"}).encode(), "invalid_fields"),
        (article(body="   \n\t  "), "empty_body"),
        (article(body="x" * 1_001), "body_too_large"),
        (article(language="fr"), "unsupported_language"),
    ],
)
def test_bad_input_kinds(raw: bytes, kind: str) -> None:
    assert kind_of(raw) == kind


def test_deeply_nested_json_is_refused() -> None:
    nested: object = "deep"
    for _ in range(MAX_JSON_DEPTH + 5):
        nested = {"x": nested}
    raw = json.dumps({"id": "n", "body": "text", "extra": nested}).encode()
    assert kind_of(raw) == "too_deep"


def test_very_deep_json_beyond_parser_limit_is_refused() -> None:
    raw = b'{"id": "n", "body": "t", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert kind_of(raw) in {"too_deep", "not_json"}


def test_oversized_message_is_refused_before_parsing() -> None:
    assert kind_of(b"x" * 101, max_message_bytes=100) == "message_too_large"


def test_rejection_keeps_the_article_id_when_readable() -> None:
    result = decode_article(article(body=""), now=NOW, **LIMITS)
    assert isinstance(result, Rejected)
    assert result.article_id == "a-1"


def test_html_is_stripped_to_text() -> None:
    raw = article(
        body="<p>Leaders <b>met</b> in Geneva &amp; Bern.</p><script>x()</script><p>Then left.</p>"
    )
    result = decode_article(raw, now=NOW, **LIMITS)
    assert isinstance(result, Article)
    assert result.body == "Leaders met in Geneva & Bern.\n\nThen left."


def test_comparison_signs_are_not_taken_for_html() -> None:
    assert normalise_text("Turnout was < 40% and > 30%.") == "Turnout was < 40% and > 30%."


def test_dead_letter_keeps_payload_and_origin() -> None:
    raw = b"\xff" * 10
    letter = dead_letter(
        raw, Origin("articles.raw", 2, 41), "validate", Rejected("not_utf8", "bad"), NOW
    )
    assert base64.b64decode(letter.payload_b64) == raw
    assert (letter.topic, letter.partition, letter.offset) == ("articles.raw", 2, 41)
    assert not letter.payload_truncated


def test_dead_letter_truncates_huge_payload() -> None:
    raw = b"x" * (10 * 1024 * 1024)
    letter = dead_letter(raw, Origin("t"), "validate", Rejected("message_too_large", "big"), NOW)
    assert letter.payload_truncated
    assert letter.payload_size == len(raw)
    assert len(base64.b64decode(letter.payload_b64)) < len(raw)


def test_internal_messages_round_trip() -> None:
    letter = dead_letter(b"x", Origin("t", 0, 1), "extract", Rejected("k", "r"), NOW)
    assert decode(encode(letter), DeadLetter) == letter
    assert isinstance(decode(b"{}", DeadLetter), Rejected)


def test_an_over_long_id_is_refused_and_cut_to_the_same_length_everywhere() -> None:
    long_id = "x" * (MAX_ID_LENGTH + 88)
    rejected = decode_article(article(id=long_id), now=NOW, **LIMITS)
    assert isinstance(rejected, Rejected) and rejected.kind == "invalid_fields"
    assert rejected.article_id == long_id[:MAX_ID_LENGTH]
    keyed = Record(value=b"{}", origin=Origin("t"), key=long_id.encode())
    assert record_key_id(keyed) == long_id[:MAX_ID_LENGTH]
    assert read_input(0, 0, article(id=long_id)).article_id == long_id[:MAX_ID_LENGTH]
    assert (
        decode_article(article(id=long_id[:MAX_ID_LENGTH]), now=NOW, **LIMITS).id
        == (long_id[:MAX_ID_LENGTH])
    )
