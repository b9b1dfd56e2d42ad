"""The validate and extract agents under ``test_context``: real app, real stages, a list sink."""

from __future__ import annotations

import pytest

from pipeline.models import Article, DeadLetter
from pipeline.testing import EchoAnalyzer, article, raw_article
from pipeline.topics import REPLAY_HEADER
from tests.agents.conftest import wire

pytestmark = pytest.mark.agents


def test_validate_agent_publishes_articles_and_dead_letters() -> None:
    with wire(batch_within=0.01) as wiring:
        wiring.feed("validate", [(b"a1", raw_article("a1")), (None, b"\xff not utf-8")])
    articles = wiring.sink.by_role("valid")
    letters = wiring.sink.by_role("dlq")
    assert [a.id for a in articles if isinstance(a, Article)] == ["a1"]
    assert [d.error_kind for d in letters if isinstance(d, DeadLetter)] == ["not_utf8"]
    assert wiring.sample("dipwire_stage_messages_in_total", stage="validate") == 2
    assert wiring.sample("dipwire_stage_messages_out_total", stage="validate") == 1
    assert wiring.sample("dipwire_dead_letters_total", stage="validate", kind="not_utf8") == 1
    assert wiring.sample("dipwire_stage_processing_seconds_count", stage="validate") == 2


def test_validate_agent_drops_a_repeated_id_and_counts_it() -> None:
    with wire(batch_within=0.01) as wiring:
        messages = [(b"a1", raw_article("a1")), (b"a1", raw_article("a1"))]
        wiring.feed(
            "validate",
            messages,
            until=lambda: wiring.sample("dipwire_stage_messages_in_total", stage="validate") == 2,
        )
    assert [a.id for a in wiring.sink.by_role("valid")] == ["a1"]
    assert wiring.sample("dipwire_duplicates_total", reason="id") == 1


def test_validate_agent_lets_a_replayed_id_through_once_by_its_header() -> None:
    replay = {REPLAY_HEADER: b"articles.dlq:0:3"}
    with wire(batch_within=0.01) as wiring:
        messages = [(b"a1", raw_article("a1"))] * 3
        wiring.feed(
            "validate",
            messages,
            until=lambda: wiring.sample("dipwire_stage_messages_in_total", stage="validate") == 3,
            headers=[None, replay, replay],
        )
    assert [a.id for a in wiring.sink.by_role("valid")] == ["a1", "a1"]
    assert wiring.sample("dipwire_duplicates_total", reason="id") == 1


def test_extract_parses_a_batch_shortest_first_and_publishes_each_piece() -> None:
    analyzer = EchoAnalyzer()
    # A long batch window, so the three articles are taken as one batch.
    with wire(analyzer, batch_within=0.5, parse_chunk_bytes=2_000) as wiring:
        bodies = [("long", "word " * 4_000), ("s1", "Leaders met."), ("s2", "Envoys.")]
        wiring.feed(
            "extract",
            [(i.encode(), article(i, body).model_dump_json().encode()) for i, body in bodies],
        )
    assert analyzer.calls == [("annotate", ["s2", "s1"]), ("annotate", ["long"])]
    assert [a.article.id for a in wiring.sink.by_role("annotated")] == ["s2", "s1", "long"]


def test_extract_dead_letters_the_article_the_analyzer_fails_on_and_goes_on() -> None:
    with wire(EchoAnalyzer(), batch_within=0.2) as wiring:
        messages = [
            (i.encode(), article(i, body).model_dump_json().encode())
            for i, body in (("a1", "Talks began."), ("a2", "The BOOM one."), ("a3", "Envoys met."))
        ]
        wiring.feed("extract", messages)
    assert sorted(a.article.id for a in wiring.sink.by_role("annotated")) == ["a1", "a3"]
    (letter,) = wiring.sink.by_role("dlq")
    assert (letter.article_id, letter.error_kind, letter.stage) == ("a2", "stage_error", "extract")
    assert wiring.sample("dipwire_stage_messages_failed_total", stage="extract") == 1
