"""The Analyzer end to end on the seed article, and its stage-facing contract."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from pipeline.models import Article, DiplomaticEvent, EnrichedArticle
from pipeline.nlp.analyzer import NlpConfig, truncate
from pipeline.nlp.events.confidence import FEATURES, ConfidenceModel
from pipeline.nlp.tokens import doc_from_tokens
from pipeline.settings import Settings

from .conftest import STORY_DAY, calls_made

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
    tokens = annotated.tokens
    assert sum(len(text) + ws for text, ws in zip(tokens.text, tokens.ws, strict=True)) <= 60


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


# A long article must cost in proportion to its length. Work is counted as the
# function calls a step makes (``calls_made``), which is deterministic, unlike a
# timing: an article four times as long may take at most 4.5x the calls. One scan
# of the whole article per event already made it 5.3x at these sizes, and more
# on longer articles.


def repeated(seed: Article, copies: int) -> Article:
    body = "\n\n".join([seed.body] * copies)
    return seed.model_copy(update={"id": f"{seed.id}-x{copies}", "body": body})


@pytest.fixture(scope="module")
def long_articles(analyzer: Any, seed: Article) -> dict[int, EnrichedArticle]:
    """The seed article's body 3 and 12 times over, annotated and enriched."""
    articles = [repeated(seed, 3), repeated(seed, 12)]
    enriched = analyzer.enrich(analyzer.annotate(articles))
    return {3: enriched[0], 12: enriched[1]}


def test_code_stage_work_is_linear_in_article_length(
    analyzer: Any, long_articles: dict[int, EnrichedArticle]
) -> None:
    events: dict[int, list[DiplomaticEvent]] = {}

    def code(n: int) -> Callable[[], object]:
        def run() -> None:
            events[n] = analyzer.code(long_articles[n], pipeline_version="t", emitted_at=NOW)

        return run

    short, long = calls_made(code(3)), calls_made(code(12))
    # The same paragraphs four times as often: about four times the events, and the work.
    assert 3.5 * len(events[3]) <= len(events[12]) <= 4.5 * len(events[3])
    assert events[3]
    assert long < 4.5 * short, (short, long)


def test_actor_finding_and_event_coding_are_linear(
    analyzer: Any, long_articles: dict[int, EnrichedArticle]
) -> None:
    docs = {
        n: doc_from_tokens(analyzer.nlp.vocab, item.tokens) for n, item in long_articles.items()
    }
    found = {n: calls_made(partial(analyzer.actors.find, docs[n], STORY_DAY)) for n in docs}
    mentions = {n: analyzer.actors.find(doc, STORY_DAY) for n, doc in docs.items()}
    coded = {n: calls_made(partial(analyzer.coder.code, docs[n], mentions[n])) for n in docs}
    assert 3.5 * len(mentions[3]) <= len(mentions[12]) <= 4.5 * len(mentions[3])
    assert found[12] < 4.5 * found[3], found
    assert coded[12] < 4.5 * coded[3], coded


def test_one_huge_sentence_codes_in_proportion_to_its_length(analyzer: Any) -> None:
    # A list or table the parser does not split: one "sentence" of thousands of tokens.
    clause = "Canada criticized Mexico, Norway praised Sweden, Kenya accused Peru"
    work: dict[int, int] = {}
    for n in (10, 40):
        body = ", ".join([clause] * n) + "."
        article = Article(id=f"run-{n}", body=body, published_at=NOW)
        (item,) = analyzer.enrich(analyzer.annotate([article]))
        work[n] = calls_made(partial(analyzer.code, item, pipeline_version="t", emitted_at=NOW))
    assert work[40] < 4.5 * work[10], work


def test_code_with_evidence_pairs_each_event_with_its_features(
    analyzer: Any, seed: Article, seed_events: list[DiplomaticEvent]
) -> None:
    (enriched,) = analyzer.enrich(analyzer.annotate([seed]))
    pairs = analyzer.code_with_evidence(enriched, pipeline_version="t", emitted_at=NOW)
    assert [event for event, _ in pairs] == seed_events
    model = ConfidenceModel.load()
    for event, evidence in pairs:
        assert set(evidence) == set(FEATURES)
        assert event.confidence == round(model.score(evidence), 3)


def test_an_analyzer_without_the_parse_enriches_and_codes_the_same(analyzer: Any) -> None:
    """What a worker with parse processes loads: no spaCy components, no user dictionaries."""
    from pipeline.nlp.analyzer import Analyzer

    bare = Analyzer.load(NlpConfig(), parse=False)
    assert bare.nlp.pipe_names == []
    article = Article.model_validate(json.loads(SEED.read_text()))
    annotated = analyzer.annotate([article])
    full_events = analyzer.code(analyzer.enrich(annotated)[0], pipeline_version="t", emitted_at=NOW)
    bare_enriched = bare.enrich(annotated)[0]
    bare_events = bare.code(bare_enriched, pipeline_version="t", emitted_at=NOW)
    assert bare_enriched == analyzer.enrich(annotated)[0]
    assert len(full_events) >= 5
    assert bare_events == full_events


# A short wire story: a dateline, a byline, a heading, a quotation opening a paragraph,
# and events of the story's days and of 1979.
STORY = (
    "GENEVA (AFP) - Iranian Foreign Minister Hossein Amirabdollahian met French Foreign "
    "Minister Catherine Colonna in Geneva on Tuesday, the first such meeting since 2019.\n\n"
    "By Jane Doe\n\n"
    "France Criticizes Iran Over Detentions\n\n"
    "France condemned Iran last week over the detention of two French teachers.\n\n"
    '"We asked France to free our citizens," Iran said on Wednesday.\n\n'
    "Afghan and Pakistani troops clashed near the border town of Chaman on 12 June, "
    "officials said.\n\n"
    "Iran expelled the French ambassador in 1979."
)


@pytest.fixture(scope="module")
def story_events(analyzer: Any) -> list[DiplomaticEvent]:
    article = Article(id="story", body=STORY, published_at=datetime(2023, 6, 15, 9, tzinfo=UTC))
    events: list[DiplomaticEvent] = analyzer.analyze(article, pipeline_version="t", emitted_at=NOW)
    return events


def test_story_events_carry_places_and_dates(story_events: list[DiplomaticEvent]) -> None:
    by_root: dict[str, list[DiplomaticEvent]] = {}
    for event in story_events:
        by_root.setdefault(event.cameo_root, []).append(event)
    # The meeting: in Geneva (a third country: 044), on Tuesday 13 June.
    (meeting, *_) = by_root["04"]
    assert meeting.cameo_code == "044"
    assert meeting.location is not None and meeting.location.text == "Geneva"
    assert meeting.location.latitude == pytest.approx(46.2, abs=0.1)
    assert (meeting.event_date, meeting.event_date_precision) == (date(2023, 6, 13), "day")
    # The clash: near Chaman, Pakistan, on 12 June.
    (clash, *_) = by_root["19"]
    assert clash.location is not None and clash.location.country == "PAK"
    assert clash.location.longitude == pytest.approx(66.45, abs=0.1)
    assert (clash.event_date, clash.event_date_precision) == (date(2023, 6, 12), "day")
    # The condemnation: "last week" names no day; no place but the dateline's.
    (condemn,) = by_root["11"]
    assert condemn.event_date is None
    assert condemn.location is not None and condemn.location.text == "GENEVA"
    # The expulsion of 1979: a year, and the dateline says nothing of where it was.
    (expel,) = [e for e in story_events if "1979" in e.sentence]
    assert (expel.event_date, expel.event_date_precision) == (date(1979, 1, 1), "year")
    assert expel.location is None


def test_story_headings_and_bylines_are_not_coded(
    analyzer: Any, story_events: list[DiplomaticEvent]
) -> None:
    sentences = {e.sentence for e in story_events}
    assert not any("Criticizes" in s or "Jane Doe" in s for s in sentences)
    # The heading is one the coder would code, as a sentence of its own.
    doc = analyzer.nlp("France Criticizes Iran Over Detentions")
    assert analyzer.coder.code(doc, analyzer.actors.find(doc, None))
    # The quotation that opens a paragraph is one sentence, its mark included.
    assert any(s.startswith('"We asked France') for s in sentences)
