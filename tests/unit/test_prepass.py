"""The entity pre-pass (DIPWIRE_PARSE_PREPASS) and the parse's memory zone."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.models import Article
from pipeline.nlp.prepass import name_like, runs
from pipeline.settings import Settings

pytestmark = pytest.mark.unit

SEED = Path(__file__).resolve().parents[2] / "seeds" / "wang-yi-washington-2023-10.json"
NOW = datetime(2023, 10, 27, 12, 0, tzinfo=UTC)

NAMELESS = (
    "Talks resume\n\n"
    "The price of oil rose by three percent last week, and markets were calm on the news, "
    "while the supply of crude from the wells in the north and from the "
    "refineries on the coast looked ample for the winter and for the spring.\n\n"
    "Russian troops shelled Kharkiv on Tuesday. They also attacked positions near the border.\n\n"
    "Analysts expected that prices would fall again within two months.\n\n"
    "The president of Ukraine condemned the attack."
)


def _with_prepass(analyzer: Any) -> Any:
    twin = dataclasses.replace(analyzer.config, parse_prepass=True)
    return type(analyzer)(
        twin,
        analyzer.nlp,
        analyzer.actors,
        analyzer.coder,
        analyzer.topics,
        analyzer.tone,
        analyzer.places,
    )


def test_name_like_and_runs() -> None:
    assert name_like("Kharkiv", first=False)
    assert name_like("The", first=False)
    assert not name_like("The", first=True)
    assert not name_like("Analysts", first=True)  # a proper noun there is told by its tag
    assert name_like("McCain", first=True)
    assert name_like("NATO", first=True)
    assert not name_like("prices", first=False)
    assert runs([True, True, False, True, False, False]) == [(0, 2), (3, 4)]
    assert runs([False]) == []


@pytest.mark.parametrize("text", [NAMELESS, None])
def test_prepass_leaves_the_annotation_and_events_as_they_were(
    analyzer: Any, text: str | None
) -> None:
    if text is None:
        article = Article.model_validate(json.loads(SEED.read_text(encoding="utf-8")))
    else:
        article = Article(id="nameless", body=text, published_at="2024-03-05")
    article = article.model_copy(update={"received_at": NOW})
    fast = _with_prepass(analyzer)
    plain = analyzer.annotate([article])[0]
    skipped = fast.annotate([article])[0]
    assert skipped.sentences == plain.sentences
    assert skipped.actors == plain.actors
    assert skipped.locations == plain.locations
    for column in ("text", "lemma", "pos", "tag", "dep", "head", "sent_start"):
        assert getattr(skipped.tokens, column) == getattr(plain.tokens, column)
    events = [
        analyzer.code(analyzer.enrich([item])[0], pipeline_version="t", emitted_at=NOW)
        for item in (plain, skipped)
    ]
    assert [e.model_dump() for e in events[0]] == [e.model_dump() for e in events[1]]
    if text is NAMELESS:
        assert events[0], "the nameless article codes the shelling"
        stats = fast.prepass_stats
        assert stats.skipped_sentences >= 2  # the oil price and the analysts
        assert stats.recognised_tokens < stats.tokens


def test_a_skipped_sentence_has_no_entities(analyzer: Any) -> None:
    article = Article(id="n", body=NAMELESS)
    tokens = _with_prepass(analyzer).annotate([article])[0].tokens
    oil = tokens.text.index("oil")
    months = tokens.text.index("months")
    assert tokens.ent_iob[oil] == "O"
    assert tokens.ent_type[months - 1] == ""  # "two months" is no DATE without the pass
    assert "GPE" in tokens.ent_type  # Kharkiv, in a sentence that names actors


def test_the_setting_reaches_the_analyzer(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.nlp.analyzer import NlpConfig

    monkeypatch.setenv("DIPWIRE_PARSE_PREPASS", "true")
    assert NlpConfig.from_settings(Settings()).parse_prepass
    monkeypatch.delenv("DIPWIRE_PARSE_PREPASS")
    assert not NlpConfig.from_settings(Settings()).parse_prepass


def test_new_words_do_not_stay_in_the_vocabulary(analyzer: Any) -> None:
    """A long-running worker's string store stays the size it was after the first articles."""
    strings = analyzer.nlp.vocab.strings

    def article(n: int) -> Article:
        words = " ".join(f"Zorblax{n}x{i} glimmered{n}q{i}" for i in range(40))
        body = f"The minister of Zorbland{n} met officials in Qux{n}ville. {words}."
        return Article(id=f"a{n}", body=body, received_at=NOW)

    item = analyzer.annotate([article(0)])[0]
    analyzer.code(analyzer.enrich([item])[0], pipeline_version="t", emitted_at=NOW)
    before = len(strings)
    for n in range(1, 6):
        item = analyzer.annotate([article(n)])[0]
        assert "Zorblax" + str(n) + "x3" in item.tokens.text
        analyzer.code(analyzer.enrich([item])[0], pipeline_version="t", emitted_at=NOW)
    assert len(strings) == before
    assert f"Zorblax{5}x3" not in strings


def test_the_bench_reports_what_the_prepass_skipped(analyzer: Any) -> None:
    from pipeline.tools.bench.coding import format_coding, measure_coding

    fast = _with_prepass(analyzer)
    articles = [Article(id=f"n{i}", body=NAMELESS, received_at=NOW) for i in range(2)]
    report = measure_coding(fast, Settings(), articles)
    assert report["prepass"]["sentences"] == 12
    assert report["prepass"]["skipped_share"] == pytest.approx(2 / 6)
    assert "entity pre-pass: 33.3% of 12 sentences skipped" in format_coding(report)
    assert "prepass" not in measure_coding(analyzer, Settings(), articles[:1])
