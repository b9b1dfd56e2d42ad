"""The dead-letter catalogue: one case per kind, through the validate stage wired from settings.

The stage comes from ``pipeline.app.build_stages`` with default settings, so
the limits tested are the ones a worker runs with (1 MB body, the input
message limit), not numbers made up for the test.
"""

from __future__ import annotations

import base64
import json

import pytest

from pipeline.app import build_stages
from pipeline.codec import MAX_JSON_DEPTH, Origin
from pipeline.models import Article, DeadLetter
from pipeline.settings import Settings
from pipeline.stages.base import BatchResult, Record
from pipeline.stages.validate import ValidateStage
from pipeline.testing import NOW, UnusedAnalyzer

pytestmark = pytest.mark.unit


def _validate(settings: Settings | None = None) -> ValidateStage:
    stage = build_stages(settings or Settings(), UnusedAnalyzer())[0]  # type: ignore[arg-type]
    assert isinstance(stage, ValidateStage)
    return stage


def _article(**fields: object) -> bytes:
    base: dict[str, object] = {"id": "cat-1", "body": "Envoys met in Vienna on Monday."}
    base.update(fields)
    return json.dumps(base).encode()


def _one(raw: bytes, stage: ValidateStage | None = None) -> Article | DeadLetter:
    result = (stage or _validate()).process([Record(raw, Origin("articles.raw", 1, 9))], NOW)
    assert len(result.outputs) == 1, result
    value = result.outputs[0].value
    assert isinstance(value, Article | DeadLetter)
    return value


def _nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth):
        value = {"x": value}
    return value


CATALOGUE = [
    ("not UTF-8", b"\xc3\x28 \xff bytes", "not_utf8", None),
    ("not JSON", b"id=1&body=text", "not_json", None),
    ("JSON array", b'[{"id": "x", "body": "y"}]', "not_object", None),
    ("JSON number", b"42", "not_object", None),
    ("missing id", json.dumps({"body": "Text."}).encode(), "invalid_fields", None),
    ("missing body", json.dumps({"id": "cat-1"}).encode(), "invalid_fields", "cat-1"),
    ("body wrongly typed", _article(body=["a", "b"]), "invalid_fields", "cat-1"),
    ("date wrongly typed", _article(published_at="last Tuesday"), "invalid_fields", "cat-1"),
    ("id wrongly typed", json.dumps({"id": 7, "body": "Text."}).encode(), "invalid_fields", None),
    ("empty body", _article(body=""), "empty_body", "cat-1"),
    ("whitespace body", _article(body=" \n\t\u00a0 \r\n "), "empty_body", "cat-1"),
    ("markup only", _article(body="<p> <br/> </p>"), "empty_body", "cat-1"),
    ("body over 1 MB", _article(body="word " * 210_000), "body_too_large", "cat-1"),
    (
        "deeply nested",
        _article(meta=_nested(MAX_JSON_DEPTH + 1)),
        "too_deep",
        "cat-1",
    ),
    ("parser-breaking nesting", b'{"id": "cat-1", "x": ' + b"[" * 100_000, "not_json", None),
    ("French", _article(language="fr"), "unsupported_language", "cat-1"),
    ("undeclared Spanish tag", _article(language="es-ES"), "unsupported_language", "cat-1"),
]


@pytest.mark.parametrize(
    ("raw", "kind", "article_id"),
    [pytest.param(raw, kind, aid, id=name) for name, raw, kind, aid in CATALOGUE],
)
def test_each_kind_of_bad_input_is_one_dead_letter(
    raw: bytes, kind: str, article_id: str | None
) -> None:
    letter = _one(raw)
    assert isinstance(letter, DeadLetter), letter
    assert (letter.error_kind, letter.article_id) == (kind, article_id)
    assert (letter.topic, letter.partition, letter.offset, letter.stage) == (
        "articles.raw",
        1,
        9,
        "validate",
    )
    assert letter.reason
    assert base64.b64decode(letter.payload_b64) == raw[: len(base64.b64decode(letter.payload_b64))]
    assert letter.payload_size == len(raw)


def test_body_limit_is_configurable() -> None:
    stage = _validate(Settings(max_body_bytes=100))
    letter = _one(_article(body="x" * 101), stage)
    assert isinstance(letter, DeadLetter) and letter.error_kind == "body_too_large"
    assert isinstance(_one(_article(body="x" * 100), stage), Article)
    assert Settings().max_body_bytes == 1_000_000


def test_ten_megabyte_message_is_refused_before_parsing_and_truncated() -> None:
    raw = _article(body="Envoys met. " * 900_000)
    assert len(raw) > 10_000_000
    letter = _one(raw)
    assert isinstance(letter, DeadLetter)
    assert letter.error_kind == "message_too_large"
    assert letter.payload_truncated and letter.payload_size == len(raw)
    kept = base64.b64decode(letter.payload_b64)
    assert 0 < len(kept) < 100_000 and raw.startswith(kept)
    # Refused before parsing, so the id inside is not read.
    assert letter.article_id is None


def test_html_markup_is_stripped_not_dead_lettered() -> None:
    article = _one(
        _article(body="<div><p>Envoys <em>met</em> in Vienna &amp; Graz.</p><p>Talks ended.</p>")
    )
    assert isinstance(article, Article)
    assert article.body == "Envoys met in Vienna & Graz.\n\nTalks ended."


def test_control_characters_are_stripped() -> None:
    article = _one(_article(body="Envoys\x00 met\x07 in\u200b Vienna.\x1b\ufeff"))
    assert isinstance(article, Article)
    assert article.body == "Envoys met in Vienna."


def test_same_article_twice_same_id_dropped_new_id_dead_lettered() -> None:
    stage = _validate()
    body = "Envoys met in Vienna on Monday to discuss the ceasefire."
    records = [
        Record(_article(id="first", body=body), Origin("articles.raw", 0, 0)),
        Record(_article(id="first", body=body), Origin("articles.raw", 0, 1)),
        Record(_article(id="second", body=f"  {body}\n"), Origin("articles.raw", 0, 2)),
    ]
    result: BatchResult = stage.process(records, NOW)
    assert [o.value.id for o in result.outputs if isinstance(o.value, Article)] == ["first"]
    (letter,) = result.dead_letters()
    assert (letter.article_id, letter.error_kind, letter.offset) == ("second", "duplicate_body", 2)
    assert "first" in letter.reason
    assert result.duplicates == {"id": 1, "body": 1}
    # Across batches too: the stage remembers what it saw.
    again = stage.process(
        [Record(_article(id="first", body=body), Origin("articles.raw", 0, 3))], NOW
    )
    assert again.outputs == [] and again.duplicates == {"id": 1}
