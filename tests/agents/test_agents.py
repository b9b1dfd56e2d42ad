"""The validate and extract agents under ``test_context``: real app, real stages, a list sink.

The extract agent's own tests turn the chain off; the chained agent has tests of its own.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from pipeline.models import AnnotatedArticle, Article, DeadLetter
from pipeline.testing import EchoAnalyzer, annotated, article, raw_article
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
    with wire(analyzer, batch_within=0.5, parse_chunk_bytes=2_000, chain_stages=False) as wiring:
        bodies = [("long", "word " * 4_000), ("s1", "Leaders met."), ("s2", "Envoys.")]
        wiring.feed(
            "extract",
            [(i.encode(), article(i, body).model_dump_json().encode()) for i, body in bodies],
        )
    assert analyzer.calls == [("annotate", ["s2", "s1"]), ("annotate", ["long"])]
    assert [a.article.id for a in wiring.sink.by_role("annotated")] == ["s2", "s1", "long"]


def test_extract_dead_letters_the_article_the_analyzer_fails_on_and_goes_on() -> None:
    with wire(EchoAnalyzer(), batch_within=0.2, chain_stages=False) as wiring:
        messages = [
            (i.encode(), article(i, body).model_dump_json().encode())
            for i, body in (("a1", "Talks began."), ("a2", "The BOOM one."), ("a3", "Envoys met."))
        ]
        wiring.feed("extract", messages)
    assert sorted(a.article.id for a in wiring.sink.by_role("annotated")) == ["a1", "a3"]
    (letter,) = wiring.sink.by_role("dlq")
    assert (letter.article_id, letter.error_kind, letter.stage) == ("a2", "stage_error", "extract")
    assert wiring.sample("dipwire_stage_messages_failed_total", stage="extract") == 1


@dataclass
class GatedAnalyzer(EchoAnalyzer):
    """An analyzer whose parse of an article holding ``WAIT`` blocks until ``gate`` is set."""

    gate: threading.Event = field(default_factory=threading.Event)

    def annotate(self, articles: Sequence[Article]) -> list[AnnotatedArticle]:
        if any("WAIT" in a.body for a in articles):
            assert self.gate.wait(timeout=20), "the test never opened the gate"
        return super().annotate(articles)


def test_a_long_article_in_its_lane_holds_up_neither_its_batch_nor_the_next() -> None:
    lane = GatedAnalyzer()
    short = EchoAnalyzer()
    long_body = "WAIT " + "word " * 2_000

    def shorts_out_then_open() -> bool:
        ids = {a.article.id for a in wiring.sink.by_role("annotated")}
        if {"s1", "s2", "s3"} <= ids:
            lane.gate.set()  # only now may the long article's parse finish
        return "long" in ids

    settings = {
        "batch_size": 2,
        "batch_within": 0.05,
        "long_article_bytes": 5_000,
        "chain_stages": False,
    }
    with wire(short, lane=lane, **settings) as wiring:  # batches [s1, long], [s2, s3]
        bodies = [("s1", "Leaders met."), ("long", long_body), ("s2", "Envoys."), ("s3", "Talks.")]
        wiring.feed(
            "extract",
            [(i.encode(), article(i, body).model_dump_json().encode()) for i, body in bodies],
            until=shorts_out_then_open,
        )
    published = [a.article.id for a in wiring.sink.by_role("annotated")]
    assert published[-1] == "long" and sorted(published[:-1]) == ["s1", "s2", "s3"]
    assert lane.calls == [("annotate", ["long"])]
    assert all("long" not in ids for _, ids in short.calls)
    assert wiring.sample("dipwire_stage_messages_in_total", stage="extract") == 4


def test_chained_extract_agent_codes_each_article_and_publishes_no_parse() -> None:
    analyzer = EchoAnalyzer(events=2)
    with wire(analyzer, batch_within=0.2) as wiring:
        messages = [
            (i.encode(), article(i, body).model_dump_json().encode())
            for i, body in (("a1", "Talks began."), ("a2", "Envoys met."))
        ]
        wiring.feed("extract", messages)
    assert wiring.sink.by_role("annotated") == [] and wiring.sink.by_role("enriched") == []
    coded = wiring.sink.by_role("coded")
    assert sorted(c.article_id for c in coded) == ["a1", "a2"]
    assert all(c.events == 2 for c in coded)
    assert len(wiring.sink.by_role("events")) == 4
    assert [t.stage for t in coded[0].timings] == ["extract", "enrich", "code"]
    assert [call for call, _ in analyzer.calls][:2] == ["annotate", "enrich"]
    # Each step counted as its own agent would count it: articles in, what it carries out.
    for stage, out in (("extract", 2), ("enrich", 2), ("code", 6)):
        assert wiring.sample("dipwire_stage_messages_in_total", stage=stage) == 2, stage
        assert wiring.sample("dipwire_stage_messages_out_total", stage=stage) == out, stage
        assert wiring.sample("dipwire_stage_processing_seconds_count", stage=stage) == 2, stage


class CoderBoom(EchoAnalyzer):
    """Parses everything; only the coder fails on ``BOOM``."""

    def annotate(self, articles: Sequence[Article]) -> list[AnnotatedArticle]:
        return [annotated(a) for a in articles]


@pytest.mark.parametrize(("analyzer", "step"), [(EchoAnalyzer(), "extract"), (CoderBoom(), "code")])
def test_chained_extract_agent_dead_letters_under_the_step_that_failed(
    analyzer: EchoAnalyzer, step: str
) -> None:
    with wire(analyzer, batch_within=0.2) as wiring:
        messages = [
            (i.encode(), article(i, body).model_dump_json().encode())
            for i, body in (("a1", "Talks began."), ("a2", "The BOOM one."), ("a3", "Envoys met."))
        ]
        wiring.feed("extract", messages)
    assert sorted(c.article_id for c in wiring.sink.by_role("coded")) == ["a1", "a3"]
    (letter,) = wiring.sink.by_role("dlq")
    assert (letter.article_id, letter.error_kind, letter.stage) == ("a2", "stage_error", step)
    read = Article.model_validate_json(base64.b64decode(letter.payload_b64))
    assert read.id == "a2"  # the message the agent read: a replay codes it again
    assert wiring.sample("dipwire_stage_messages_failed_total", stage=step) == 1
    assert wiring.sample("dipwire_dead_letters_total", stage=step, kind="stage_error") == 1
