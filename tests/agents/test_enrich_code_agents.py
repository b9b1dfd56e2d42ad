"""The enrich and code agents under ``test_context``, and publishing that the broker refuses."""

from __future__ import annotations

import pytest

from pipeline.codec import encode
from pipeline.models import ArticleCoded, DiplomaticEvent, EnrichedArticle
from pipeline.stages import publish
from pipeline.testing import EchoAnalyzer, FlakySink, annotated, article, enriched, raw_article
from tests.agents.conftest import wire

pytestmark = pytest.mark.agents


def test_enrich_agent_adds_tone_and_its_timing_and_dead_letters_a_foreign_message() -> None:
    analyzer = EchoAnalyzer()
    with wire(analyzer, batch_within=0.2) as wiring:
        good = annotated(article("a1"))
        wiring.feed("enrich", [(b"a1", encode(good)), (b"x", b'{"not": "an annotation"}')])
    (out,) = wiring.sink.by_role("enriched")
    assert isinstance(out, EnrichedArticle) and out.article.id == "a1"
    assert [t.stage for t in out.timings] == ["enrich"]
    (letter,) = wiring.sink.by_role("dlq")
    assert (letter.stage, letter.error_kind) == ("enrich", "invalid_message")
    assert analyzer.calls == [("enrich", ["a1"])]
    assert wiring.sample("dipwire_dead_letters_total", stage="enrich", kind="invalid_message") == 1


def test_code_agent_publishes_events_then_one_account_and_counts_them() -> None:
    with wire(EchoAnalyzer(events=2), batch_within=0.2) as wiring:
        item = enriched(article("a1"))
        wiring.feed("code", [(b"a1", encode(item))], until=lambda: len(wiring.sink.outputs) == 3)
    roles = [o.role for o in wiring.sink.outputs]
    assert roles == ["events", "events", "coded"]
    events = wiring.sink.by_role("events")
    (coded,) = wiring.sink.by_role("coded")
    assert all(isinstance(e, DiplomaticEvent) for e in events)
    assert isinstance(coded, ArticleCoded)
    assert coded.event_ids == [e.event_id for e in events] and coded.events == 2
    assert [o.key for o in wiring.sink.outputs] == [b"a1-e0", b"a1-e1", b"a1"]
    assert wiring.sample("dipwire_events_total", cameo_root="04", quad_class="1") == 2
    assert wiring.sample("dipwire_articles_coded_total") == 1
    # The article was received (validate stage) at a fixed past moment: one latency observed.
    assert wiring.sample("dipwire_ingest_to_emit_seconds_count") == 1


def test_code_agent_dead_letters_the_article_the_coder_fails_on() -> None:
    with wire(EchoAnalyzer(events=1), batch_within=0.2) as wiring:
        items = [enriched(article("ok")), enriched(article("bad", "The BOOM story."))]
        wiring.feed(
            "code",
            [(i.article.id.encode(), encode(i)) for i in items],
            until=lambda: len(wiring.sink.outputs) == 3,
        )
    assert [c.article_id for c in wiring.sink.by_role("coded")] == ["ok"]
    (letter,) = wiring.sink.by_role("dlq")
    assert (letter.article_id, letter.error_kind, letter.stage) == ("bad", "stage_error", "code")


def test_a_refused_publish_is_retried_until_acked_and_nothing_is_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(publish, "PUBLISH_RETRY_FIRST_SECONDS", 0.05)
    sink = FlakySink(failures=2)
    with wire(sink=sink, batch_within=0.01) as wiring:
        wiring.feed("validate", [(b"a1", raw_article("a1"))])
    assert sink.attempts == 3
    assert [a.id for a in sink.by_role("valid")] == ["a1"]
    assert wiring.sample("dipwire_stage_messages_out_total", stage="validate") == 1
