"""Property tests: arbitrary bytes and arbitrary JSON never escape a stage as an exception.

Each stage's contract is "one output per input": the validate stage turns each
record into an article, a dead letter, or a counted same-id duplicate; every
later stage turns each record into its output model or a dead letter (the code
stage adds any number of events beside its one ``ArticleCoded``). A stage that
raised instead would crash its agent and stall its partition.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.codec import Rejected, decode_article, encode, normalise_text
from pipeline.models import (
    AnnotatedArticle,
    Article,
    ArticleCoded,
    DeadLetter,
    EnrichedArticle,
)
from pipeline.stages.base import BatchResult, Record
from pipeline.stages.code import CodeStage
from pipeline.stages.enrich import EnrichStage
from pipeline.stages.extract import ExtractStage
from pipeline.stages.validate import Deduper, ValidateStage
from pipeline.testing import NOW, EchoAnalyzer, enriched, records_of

pytestmark = pytest.mark.unit

LIMITS = {"max_message_bytes": 20_000, "max_body_bytes": 5_000}
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
"""Any JSON document."""

field_values = json_values | st.text(max_size=300) | st.datetimes().map(str)

article_like = st.fixed_dictionaries(
    {"id": field_values, "body": field_values},
    optional={
        "title": field_values,
        "language": st.sampled_from(["en", "EN", "english", "fr", "", " en "]) | field_values,
        "published_at": field_values,
        "url": field_values,
        "source": field_values,
        "received_at": field_values,
    },
)
"""Objects shaped like an article whose fields may hold anything."""

texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=400
)

valid_articles = st.builds(
    Article,
    id=st.text(min_size=1, max_size=40),
    title=st.text(max_size=80),
    body=texts,
    language=st.just("en"),
    received_at=st.just(NOW),
)

messages = (
    st.binary(max_size=600)
    | json_values.map(lambda v: json.dumps(v).encode())
    | article_like.map(lambda v: json.dumps(v).encode())
)


# --------------------------------------------------------------------------- codec


@PROPERTY
@given(raw=messages)
def test_decode_article_never_raises_and_accepts_only_clean_articles(raw: bytes) -> None:
    result = decode_article(raw, now=NOW, **LIMITS)
    if isinstance(result, Rejected):
        assert result.kind and result.reason
        return
    assert isinstance(result, Article)
    assert result.body and result.body == result.body.strip()
    assert len(result.body.encode()) <= LIMITS["max_body_bytes"]
    assert result.language.strip().lower() in {"en", "eng", "english"}
    assert result.received_at == NOW


@PROPERTY
@given(text=st.text(max_size=300))
def test_normalised_text_has_no_control_characters(text: str) -> None:
    clean = normalise_text(text)
    assert not any(ord(c) < 32 and c not in "\n\t" for c in clean)
    assert "\r" not in clean and "\n\n\n" not in clean
    assert clean == clean.strip()


# --------------------------------------------------------------------------- validate


def _validate_stage() -> ValidateStage:
    return ValidateStage(
        max_message_bytes=LIMITS["max_message_bytes"],
        max_body_bytes=LIMITS["max_body_bytes"],
        deduper=Deduper(capacity=1_000),
    )


def _assert_one_each(records: Sequence[Record], result: BatchResult, output: type) -> None:
    """Every record has exactly one output of ``output`` or one dead letter naming its offset."""
    by_offset = {r.origin.offset: r for r in records}
    letters = result.dead_letters()
    assert len(result.outputs) == len(records)
    assert len({d.offset for d in letters}) == len(letters)
    for letter in letters:
        record = by_offset[letter.offset]
        assert (letter.topic, letter.partition) == (record.origin.topic, record.origin.partition)
        kept = base64.b64decode(letter.payload_b64)
        assert record.value.startswith(kept) and letter.payload_size == len(record.value)
    others = [o for o in result.outputs if not isinstance(o.value, DeadLetter)]
    assert all(isinstance(o.value, output) for o in others), others


@PROPERTY
@given(values=st.lists(messages, max_size=12))
def test_validate_stage_gives_one_outcome_per_record(values: list[bytes]) -> None:
    records = records_of(values)
    result = _validate_stage().process(records, NOW)
    valid = [o for o in result.outputs if o.role == "valid"]
    letters = result.dead_letters()
    assert len(valid) + len(letters) + result.duplicates.get("id", 0) == len(records)
    assert all(isinstance(o.value, Article) for o in valid)
    offsets = [d.offset for d in letters]
    assert len(offsets) == len(set(offsets))
    # Only an id seen earlier in the batch may be dropped.
    assert result.duplicates.get("id", 0) <= len(records) - len({o.value.id for o in valid})


@PROPERTY
@given(values=st.lists(article_like.map(lambda v: json.dumps(v).encode()), max_size=8))
def test_validate_stage_replayed_batch_is_all_duplicates(values: list[bytes]) -> None:
    """A replay after a crash (same stage memory) emits nothing new for accepted articles."""
    stage = _validate_stage()
    first = stage.process(records_of(values), NOW)
    accepted = len([o for o in first.outputs if o.role == "valid"])
    again = stage.process(records_of(values), NOW)
    assert not [o for o in again.outputs if o.role == "valid"]
    assert again.duplicates.get("id", 0) >= accepted


# --------------------------------------------------------------------------- NLP stages


@PROPERTY
@given(values=st.lists(messages, max_size=8))
def test_nlp_stages_dead_letter_arbitrary_bytes(values: list[bytes]) -> None:
    analyzer = EchoAnalyzer()
    for stage, output in (
        (ExtractStage(analyzer), AnnotatedArticle),
        (EnrichStage(analyzer), EnrichedArticle),
        (CodeStage(analyzer, pipeline_version="t"), ArticleCoded),
    ):
        records = records_of(values, f"in.{stage.id}")
        result = stage.process(records, NOW)
        _assert_one_each(records, result, output)


@PROPERTY
@given(articles=st.lists(valid_articles, max_size=6))
def test_nlp_stages_turn_valid_models_into_one_output_each(articles: list[Article]) -> None:
    analyzer = EchoAnalyzer()
    raw = records_of([encode(a) for a in articles], "articles.valid")
    extracted = ExtractStage(analyzer).process(raw, NOW)
    _assert_one_each(raw, extracted, AnnotatedArticle)
    annotated = records_of(
        [encode(o.value) for o in extracted.outputs if o.role == "annotated"], "articles.annotated"
    )
    enriched = EnrichStage(analyzer).process(annotated, NOW)
    _assert_one_each(annotated, enriched, EnrichedArticle)
    inputs = records_of(
        [encode(o.value) for o in enriched.outputs if o.role == "enriched"], "articles.enriched"
    )
    coded = CodeStage(analyzer, pipeline_version="t").process(inputs, NOW)
    terminal = [o for o in coded.outputs if o.role in {"coded", "dlq"}]
    assert len(terminal) == len(inputs)
    exploded = sum("BOOM" in a.body for a in articles)
    letters = extracted.dead_letters()
    assert [d.error_kind for d in letters] == ["stage_error"] * exploded
    assert {d.article_id for d in letters} == {a.id for a in articles if "BOOM" in a.body}


def test_one_raising_article_is_dead_lettered_and_the_batch_goes_on() -> None:
    bodies = ["Talks began in Geneva.", "The BOOM article.", "Leaders met in Oslo."]
    articles = [Article(id=f"a{i}", body=b, received_at=NOW) for i, b in enumerate(bodies)]
    records = records_of([encode(a) for a in articles], "articles.valid")
    result = ExtractStage(EchoAnalyzer()).process(records, NOW)
    annotated = [o.value.article.id for o in result.outputs if o.role == "annotated"]
    assert annotated == ["a0", "a2"]
    (letter,) = result.dead_letters()
    assert (letter.article_id, letter.error_kind, letter.stage) == ("a1", "stage_error", "extract")
    assert "RuntimeError: analyzer exploded" in letter.reason
    assert (letter.topic, letter.offset) == ("articles.valid", 1)
    assert base64.b64decode(letter.payload_b64) == records[1].value


def test_code_stage_isolates_a_raising_article_too() -> None:
    analyzer = EchoAnalyzer()
    articles = [Article(id=f"a{i}", body=b, received_at=NOW) for i, b in enumerate(["ok", "BOOM"])]
    items = [enriched(a) for a in articles]
    result = CodeStage(analyzer, pipeline_version="t").process(
        records_of([encode(i) for i in items], "articles.enriched"), NOW
    )
    assert [o.value.article_id for o in result.outputs if o.role == "coded"] == ["a0"]
    assert [(d.article_id, d.error_kind) for d in result.dead_letters()] == [("a1", "stage_error")]
