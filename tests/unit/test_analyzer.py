"""The Analyzer end to end on the seed article, and its stage-facing contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.models import Article, DiplomaticEvent
from pipeline.nlp.analyzer import NlpConfig, truncate
from pipeline.settings import Settings

pytestmark = pytest.mark.unit

SEED = Path(__file__).resolve().parents[2] / "seeds" / "wang-yi-washington-2023-10.json"
NOW = datetime(2023, 10, 27, 12, 0, tzinfo=UTC)
US = {"USA", "USAGOV"}
CN = {"CHN", "CHNGOV"}


@pytest.fixture(scope="module")
def seed() -> Article:
    article = Article.model_validate(json.loads(SEED.read_text(encoding="utf-8")))
    return article.model_copy(update={"received_at": NOW})


@pytest.fixture(scope="module")
def seed_events(analyzer: Any, seed: Article) -> list[DiplomaticEvent]:
    events: list[DiplomaticEvent] = analyzer.analyze(seed, pipeline_version="t", emitted_at=NOW)
    return events


def test_seed_article_codes_the_visit(seed_events: list[DiplomaticEvent]) -> None:
    assert len(seed_events) >= 3
    consult = [
        e
        for e in seed_events
        if e.target_actor is not None
        and {e.source_actor.code, e.target_actor.code} & US
        and {e.source_actor.code, e.target_actor.code} & CN
        and (e.cameo_code == "036" or e.cameo_root == "04")
    ]
    assert len(consult) >= 2
    for event in consult:
        assert event.source_actor.code in US | CN
        assert event.target_actor is not None and event.target_actor.code in US | CN
        assert event.plover_type in ("AGREE", "CONSULT")
        assert event.quad_class == 1


def test_seed_events_carry_their_evidence(
    seed_events: list[DiplomaticEvent], seed: Article
) -> None:
    body = seed.body
    for event in seed_events:
        assert event.sentence == body[event.sentence_span.start : event.sentence_span.end]
        assert event.trigger == body[event.trigger_span.start : event.trigger_span.end]
        assert event.sentence_span.start <= event.trigger_span.start
        assert event.trigger_span.end <= event.sentence_span.end
        assert event.article_id == seed.id and event.ingested_at == NOW
        assert event.emitted_at == NOW and event.pipeline_version == "t"
        assert 0.0 < event.confidence <= 1.0
        assert event.tone.document.compound == seed_events[0].tone.document.compound
        assert event.cameo_root == event.cameo_code[:2]
        if event.target_actor is not None:
            assert event.tone.dyad is not None
        # the message round-trips through JSON
        assert DiplomaticEvent.model_validate_json(event.model_dump_json()) == event


def test_seed_event_ids_are_stable(
    analyzer: Any, seed: Article, seed_events: list[DiplomaticEvent]
) -> None:
    again = analyzer.analyze(seed, pipeline_version="t", emitted_at=NOW)
    assert [e.event_id for e in again] == [e.event_id for e in seed_events]
    assert len({e.event_id for e in seed_events}) == len(seed_events)


def test_seed_meeting_happens_in_san_francisco(seed_events: list[DiplomaticEvent]) -> None:
    placed = [e for e in seed_events if e.location and e.location.text == "San Francisco"]
    assert placed
    location = placed[0].location
    assert location is not None and location.country == "USA"
    assert location.latitude == pytest.approx(37.77, abs=0.1)
    assert location.longitude == pytest.approx(-122.42, abs=0.1)


def test_seed_topics_and_tone(analyzer: Any, seed: Article) -> None:
    (enriched,) = analyzer.enrich(analyzer.annotate([seed]))
    topics = {t.topic for t in enriched.topics}
    assert {"military", "territory", "human_rights", "illegal_drugs", "detention"} <= topics
    assert 0.0 < enriched.tone.compound < 0.5
    assert enriched.tone.gdelt == pytest.approx(100 * enriched.tone.compound, abs=0.01)
    assert all(s.tone is not None for s in enriched.sentences)
    assert any(s.topics for s in enriched.sentences)


def test_stage_steps_match_analyze(analyzer: Any, seed: Article) -> None:
    other = seed.model_copy(update={"id": "other", "body": "Canada criticized Mexico."})
    annotated = analyzer.annotate([seed, other])
    assert [a.article.id for a in annotated] == [seed.id, "other"]
    assert not annotated[0].truncated
    body = seed.body
    for ref in annotated[0].actors:
        assert body[ref.span.start : ref.span.end] == ref.text
    enriched = analyzer.enrich(annotated)
    events = analyzer.code(enriched[0], pipeline_version="t", emitted_at=NOW)
    direct = analyzer.analyze(seed, pipeline_version="t", emitted_at=NOW)
    assert events == direct


def test_a_meeting_in_a_third_country_is_044(analyzer: Any) -> None:
    article = Article(id="geneva", body="Blinken met Lavrov in Geneva.", published_at=NOW)
    events = analyzer.analyze(article, pipeline_version="t", emitted_at=NOW)
    assert {e.cameo_code for e in events} == {"044"}
    assert {e.location.country for e in events if e.location} == {"CHE"}
    home = Article(id="moscow", body="Blinken met Lavrov in Moscow.", published_at=NOW)
    events = analyzer.analyze(home, pipeline_version="t", emitted_at=NOW)
    assert {e.cameo_code for e in events} == {"040"}


def test_long_bodies_are_parsed_truncated(analyzer: Any) -> None:
    body = "Canada criticized Mexico. " * 10
    text, cut = truncate(body, 60)
    assert cut and len(text) <= 60 and body.startswith(text)
    assert truncate("short", 60) == ("short", False)
    analyzer_config = analyzer.config
    try:
        analyzer.config = NlpConfig(max_chars=60)
        (annotated,) = analyzer.annotate([Article(id="long", body=body)])
    finally:
        analyzer.config = analyzer_config
    assert annotated.truncated
    assert sum(len(t.text) + t.ws for t in annotated.tokens) <= 60


def test_empty_body(analyzer: Any) -> None:
    events = analyzer.analyze(Article(id="empty", body=""), pipeline_version="t", emitted_at=NOW)
    assert events == []


def test_config_from_settings() -> None:
    settings = Settings(
        spacy_model="my_model",
        actor_dictionaries=[Path("a.txt")],
        agent_dictionaries=[Path("b.txt")],
        max_nlp_chars=1234,
    )
    config = NlpConfig.from_settings(settings)
    assert config == NlpConfig(
        spacy_model="my_model",
        actor_dictionaries=(Path("a.txt"),),
        agent_dictionaries=(Path("b.txt"),),
        max_chars=1234,
    )
