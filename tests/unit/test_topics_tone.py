"""Topic labels from cue words, and VADER tone on both scales."""

from __future__ import annotations

from pathlib import Path

import pytest
from spacy.language import Language
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from pipeline.models import Tone
from pipeline.nlp.tokens import sentences_from_doc, tokens_from_doc
from pipeline.nlp.tone import MAX_WORDS, NEUTRAL, ToneScorer, combine, make_tone
from pipeline.nlp.topics import TopicTagger

from .conftest import calls_made

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def tagger() -> TopicTagger:
    return TopicTagger.load()


@pytest.fixture(scope="module")
def scorer() -> ToneScorer:
    return ToneScorer()


def tag(nlp: Language, tagger: TopicTagger, text: str) -> tuple[list[set[str]], dict[str, float]]:
    doc = nlp(text)
    per_sentence, article = tagger.tag(tokens_from_doc(doc), sentences_from_doc(doc))
    return [{t.topic for t in s} for s in per_sentence], {t.topic: t.score for t in article}


def test_topics_per_sentence_and_per_article(nlp: Language, tagger: TopicTagger) -> None:
    text = (
        "Troops and warships massed near the disputed border. "
        "Police detained two activists for smuggling fentanyl. "
        "The weather was mild."
    )
    sentences, article = tag(nlp, tagger, text)
    assert {"military", "territory"} <= sentences[0]
    assert {"detention", "illegal_drugs"} <= sentences[1]
    assert sentences[2] == set()
    assert {"military", "territory", "detention", "illegal_drugs"} <= set(article)
    assert all(0.0 <= score <= 1.0 for score in article.values())


def test_more_evidence_scores_higher(nlp: Language, tagger: TopicTagger) -> None:
    _, once = tag(nlp, tagger, "The army moved.")
    _, thrice = tag(nlp, tagger, "The army moved. Soldiers and tanks followed the troops.")
    assert 0 < once["military"] < thrice["military"] <= 1.0


def test_phrases_claim_their_tokens_once(nlp: Language, tagger: TopicTagger) -> None:
    doc = nlp("They discussed human rights.")
    hits = tagger.hits(tokens_from_doc(doc))
    assert hits["human_rights"] == 1.0


def test_taxonomy_is_data_users_can_extend(tmp_path: Path, nlp: Language) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(
        "version = 1\n[scoring]\nmin_score = 0.1\n"
        '[topics.space]\nplover = "space"\ncues = ["satellite", "space station"]\n',
        encoding="utf-8",
    )
    custom = TopicTagger.load(path)
    doc = nlp("The satellite docked at the space station.")
    _, article = custom.tag(tokens_from_doc(doc), sentences_from_doc(doc))
    assert [t.topic for t in article] == ["space"]


def test_tone_sign_and_scales(scorer: ToneScorer) -> None:
    good = scorer.score("The talks were friendly, warm and very productive.")
    bad = scorer.score("The brutal attack killed dozens and caused terrible suffering.")
    assert good.compound > 0.3 and bad.compound < -0.3
    assert good.gdelt == pytest.approx(100 * good.compound, abs=0.01)
    assert -100 <= bad.gdelt < 0
    assert scorer.score("   ") == NEUTRAL


def test_document_tone_is_the_length_weighted_mean(scorer: ToneScorer) -> None:
    sentences = ["Leaders praised the excellent agreement.", "It rained."]
    tones, document = scorer.document(sentences)
    assert len(tones) == 2
    expected = (tones[0].compound * 5 + tones[1].compound * 2) / 7
    assert document.compound == pytest.approx(expected, abs=1e-3)


def test_combine_and_clamp() -> None:
    assert combine([]) == NEUTRAL
    a, b = make_tone(0.5, 0.2, 0.0), make_tone(-0.5, 0.0, 0.2)
    assert combine([(a, 1), (b, 1)]).compound == 0.0
    clamped = make_tone(1.7, 2.0, -1.0)
    assert isinstance(clamped, Tone)
    assert (clamped.compound, clamped.gdelt, clamped.positive, clamped.negative) == (
        1.0,
        100.0,
        1.0,
        0.0,
    )


def test_an_unsplit_run_is_scored_in_pieces_at_the_cost_of_its_length(
    scorer: ToneScorer,
) -> None:
    # A list or table that no sentence splitter cuts: VADER alone is quadratic in it.
    clause = "the talks were friendly and productive, the attack was brutal and terrible"
    short, long = ", ".join([clause] * 20), ", ".join([clause] * 80)
    assert len(short.split()) > MAX_WORDS
    assert calls_made(lambda: scorer.score(long)) < 4.5 * calls_made(lambda: scorer.score(short))
    pieces = short.split()
    head, tail = " ".join(pieces[:MAX_WORDS]), " ".join(pieces[MAX_WORDS:])
    expected = combine(
        [(scorer.score(head), MAX_WORDS), (scorer.score(tail), len(pieces) - MAX_WORDS)]
    )
    assert scorer.score(short) == expected
    # Up to MAX_WORDS words, the text is one piece: VADER's own score.
    vader = SentimentIntensityAnalyzer().polarity_scores(head)
    assert scorer.score(head) == make_tone(vader["compound"], vader["pos"], vader["neg"])
