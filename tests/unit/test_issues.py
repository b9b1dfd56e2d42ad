"""Issue and discard dictionaries: the readers, the matchers, and their effect on the pipeline."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from pipeline.codec import Origin, encode
from pipeline.metrics import create_metrics
from pipeline.models import Article, ArticleCoded, DiplomaticEvent, Sentence, Span, Tokens
from pipeline.nlp.analyzer import Analyzer, NlpConfig
from pipeline.nlp.issues import (
    DictionaryFormatError,
    DiscardFilter,
    Discards,
    IssueTagger,
    issue_label,
    load_discard_dictionary,
    load_issue_dictionary,
    parse_discard_text,
    parse_issue_text,
)
from pipeline.nlp.phrases import Phrase
from pipeline.stages.agents import record_batch
from pipeline.stages.base import Record
from pipeline.stages.code import CodeStage

pytestmark = pytest.mark.unit

NOW = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)

ISSUES = """\
# issue dictionary written by the test
<ISSUE CATEGORY="ENERGY" TYPE="ALL">
wind n:turbine [WIND_POWER]
solar+n:panel [SOLAR_POWER]
v:drill for oil [OIL_DRILLING]
grid [POWER_GRID]   # a comment after an entry
power n:cut [POWER_GRID]power n:outage [POWER_GRID]
n:blackout [POWER_GRID] [SHORTAGE]
gas price
~grid search
</ISSUE>
</ISSUE>

<ISSUE CATEGORY="EDUCATION" TYPE="COUNTEVENT">
n:school [SCHOOLS]
~~driving school
</ISSUE>
"""

DISCARDS = """\
# discard dictionary written by the test
cricket
test match_
1914
+World Cup   # a whole story
+ grand prix
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- reading


def test_issue_file_is_read_with_sections_forms_and_exclusions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "issues.txt", ISSUES)
    with caplog.at_level(logging.WARNING):
        dictionary = load_issue_dictionary(path)
    assert dictionary.codes == {
        "WIND_POWER",
        "SOLAR_POWER",
        "OIL_DRILLING",
        "POWER_GRID",
        "SHORTAGE",
        "SCHOOLS",
    }
    by_text = {}
    for entry in dictionary.entries:
        by_text.setdefault(entry.text, []).append(entry)
    turbine = by_text["wind n:turbine"][0]
    assert (turbine.category, turbine.line) == ("ENERGY", 3)
    assert {f.keys for f in turbine.forms} == {("wind", "turbine"), ("wind", "turbines")}
    assert {f.keys for f in by_text["solar+n:panel"][0].forms} == {
        ("solar", "panel"),
        ("solar", "panels"),
    }
    assert ("drills", "for", "oil") in {f.keys for f in by_text["v:drill for oil"][0].forms}
    assert ("drilling", "for", "oil") in {f.keys for f in by_text["v:drill for oil"][0].forms}
    # two entries on one line, and one phrase with two codes
    assert [e.code for e in by_text["power n:outage"]] == ["POWER_GRID"]
    assert [e.code for e in by_text["n:blackout"]] == ["POWER_GRID", "SHORTAGE"]
    assert by_text["n:school"][0].category == "EDUCATION"
    exclusions = {(x.text, x.category, x.story) for x in dictionary.exclusions}
    assert exclusions == {("grid search", "ENERGY", False), ("driving school", "EDUCATION", True)}
    # "gas price" has no code: skipped, as PETRARCH skips it, and said once
    assert "gas price" not in by_text
    assert "1 phrase(s) without a [CODE] skipped (first at line 9)" in caplog.text


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("n:school [SCHOOLS\n", 1, "unbalanced brackets"),
        ("school ] [SCHOOLS]\n", 1, "unbalanced brackets"),
        ("# one\nschool []\n", 2, "bad issue code []"),
        ("school [A B]\n", 1, "bad issue code [A B]"),
        ("[SCHOOLS]\n", 1, "a code without a phrase"),
        ("n: [SCHOOLS]\n", 1, "'n:' has no word after n:"),
        ('<ISSUE TYPE="ALL">\nschool [SCHOOLS]\n', 1, "CATEGORY"),
        ("<SECTION>\n", 1, "unknown tag"),
        ("school [SCHOOLS]\n~school board [BOARDS]\n", 2, "an exclusion (~) takes no code"),
        ("school [SCHOOLS]\n~\n", 2, "no words in phrase"),
    ],
)
def test_unreadable_issue_lines_name_their_file_and_line(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(DictionaryFormatError) as raised:
        load_issue_dictionary(path)
    assert str(raised.value).startswith(f"{path}:{line}: ")
    assert problem in str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert (raised.value.source, raised.value.line) == (str(path), line)


def test_a_file_without_entries_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DictionaryFormatError, match=r"no issue entries"):
        load_issue_dictionary(write(tmp_path, "empty.txt", "# nothing\n~only an exclusion\n"))
    with pytest.raises(DictionaryFormatError, match=r"no discard phrases"):
        load_discard_dictionary(write(tmp_path, "empty-discards.txt", "# nothing\n\n"))


def test_an_undecodable_file_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"n:school [SCHOOLS]\n# ok\ncaf\xe9 [CAFES]\n")
    with pytest.raises(DictionaryFormatError) as raised:
        load_issue_dictionary(path)
    assert str(raised.value) == f"{path}:3: not UTF-8: byte 0xe9 at column 4"
    with pytest.raises(DictionaryFormatError, match=r":3: not UTF-8"):
        load_discard_dictionary(path)


def test_a_bom_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffn:school [SCHOOLS]\n".encode())
    assert load_issue_dictionary(path).codes == {"SCHOOLS"}


def test_discard_file_is_read_with_story_marks_and_stems(tmp_path: Path) -> None:
    phrases = load_discard_dictionary(write(tmp_path, "discards.txt", DISCARDS))
    got = {(p.text, p.story, p.phrase) for p in phrases}
    assert got == {
        ("cricket", False, Phrase(("cricket",), stem=True)),
        ("test match_", False, Phrase(("test", "match"), stem=False)),
        ("1914", False, Phrase(("1914",), stem=False)),
        ("World Cup", True, Phrase(("world", "cup"), stem=False)),
        ("grand prix", True, Phrase(("grand", "prix"), stem=False)),
    }
    assert [p.line for p in phrases] == [2, 3, 4, 5, 6]


@pytest.mark.parametrize("line", ["+\n", "+   # only a comment\n", "...\n"])
def test_a_discard_line_without_words_is_refused(line: str) -> None:
    with pytest.raises(DictionaryFormatError, match=r"^d\.txt:2: no words in discard phrase"):
        parse_discard_text("cricket\n" + line, "d.txt")


def test_issue_labels_are_lower_case_with_underscores() -> None:
    assert issue_label("EARLY_CHILDHOOD_EDUCATION") == "issue:early_childhood_education"
    assert issue_label("SOUTH-TO-SOUTH") == "issue:south_to_south"


# --------------------------------------------------------------------------- matching


def tokens_of(*sentences: Sequence[tuple[str, str]]) -> tuple[Tokens, list[Sentence]]:
    """Tokens from (word, lemma) pairs, one list per sentence (no parse needed)."""
    words = [pair for sentence in sentences for pair in sentence]
    tokens = Tokens(
        text=[w for w, _ in words],
        ws=[True] * len(words),
        lemma=[lemma for _, lemma in words],
        pos=["X"] * len(words),
        tag=["X"] * len(words),
        dep=["dep"] * len(words),
        head=list(range(len(words))),
        sent_start=[False] * len(words),
        ent_iob=["O"] * len(words),
        ent_type=[""] * len(words),
    )
    spans, start = [], 0
    for sentence in sentences:
        end = start + len(sentence)
        spans.append(Sentence(span=Span(start=start, end=end), token_start=start, token_end=end))
        start = end
    return tokens, spans


def same(*words: str) -> list[tuple[str, str]]:
    return [(w, w) for w in words]


@pytest.fixture()
def tagger() -> IssueTagger:
    return IssueTagger([parse_issue_text(ISSUES, "issues.txt")])


def labels(scores: Sequence[Any]) -> list[str]:
    return [s.topic for s in scores]


def test_issues_match_words_lemmas_plurals_and_hyphens(tagger: IssueTagger) -> None:
    tokens, sentences = tokens_of(
        [("Wind", "wind"), ("turbines", "turbine"), ("spun", "spin")],
        [("Solar-panels", "solar-panel"), ("arrived", "arrive")],
        [("They", "they"), ("drilled", "drill"), ("for", "for"), ("oil", "oil")],
        same("No", "issue", "here"),
    )
    per_sentence, article = tagger.tag(tokens, sentences)
    assert [labels(s) for s in per_sentence] == [
        ["issue:wind_power"],
        ["issue:solar_power"],
        ["issue:oil_drilling"],
        [],
    ]
    assert labels(article) == ["issue:oil_drilling", "issue:solar_power", "issue:wind_power"]
    assert {s.score for s in article} == {1.0}


def test_a_phrase_never_spans_two_sentences_or_a_comma(tagger: IssueTagger) -> None:
    tokens, sentences = tokens_of(same("It", "was", "wind"), same("turbine", "maker", "wind", ","))
    assert tagger.tag(tokens, sentences) == ([[], []], [])
    tokens, sentences = tokens_of(same("wind", ",", "turbines"))
    assert tagger.tag(tokens, sentences) == ([[]], [])


def test_exclusions_drop_their_section_in_the_sentence_or_the_story(tagger: IssueTagger) -> None:
    grid_search = same("A", "grid", "search", "near", "the", "school", "and", "a", "blackout")
    tokens, sentences = tokens_of(grid_search, same("The", "grid", "failed"))
    per_sentence, article = tagger.tag(tokens, sentences)
    # "grid search" blocks ENERGY in its own sentence only; EDUCATION stays
    assert [labels(s) for s in per_sentence] == [["issue:schools"], ["issue:power_grid"]]
    assert labels(article) == ["issue:power_grid", "issue:schools"]
    tokens, sentences = tokens_of(same("A", "school", "opened"), same("A", "driving", "school"))
    per_sentence, article = tagger.tag(tokens, sentences)
    assert (per_sentence, article) == ([[], []], [])


def test_an_empty_tagger_and_filter_find_nothing() -> None:
    tokens, sentences = tokens_of(same("wind", "turbines", "at", "the", "World", "Cup"))
    assert IssueTagger().tag(tokens, sentences) == ([[]], [])
    assert DiscardFilter().check(tokens, sentences) == Discards()


def test_discards_by_sentence_and_by_story() -> None:
    discards = DiscardFilter([parse_discard_text(DISCARDS, "d.txt")])
    tokens, sentences = tokens_of(
        same("Leaders", "met"),
        [("Cricketers", "cricketer"), ("cheered", "cheer")],
        same("The", "1914", "treaty"),
        same("A", "test", "matches", "nothing"),
    )
    found = discards.check(tokens, sentences)
    assert found == Discards(sentences=frozenset({1, 2}))
    assert [found.keeps(n) for n in range(4)] == [True, False, False, True]
    tokens, sentences = tokens_of(same("Leaders", "met"), same("after", "the", "world", "cup"))
    story = discards.check(tokens, sentences)
    assert story.story == "World Cup" and not story.keeps(0)


def test_a_phrase_that_is_both_a_story_and_a_sentence_discard_discards_the_story() -> None:
    sentence_first = parse_discard_text("world cup\n+world cup\n", "d.txt")
    story_first = parse_discard_text("+world cup\nworld cup\n", "d.txt")
    tokens, sentences = tokens_of(same("the", "world", "cup"))
    for phrases in (sentence_first, story_first):
        assert DiscardFilter([phrases]).check(tokens, sentences).story == "world cup"


# --------------------------------------------------------------------------- the pipeline


@pytest.fixture(scope="module")
def dictionaries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("dictionaries")
    return write(folder, "issues.txt", ISSUES), write(folder, "discards.txt", DISCARDS)


@pytest.fixture(scope="module")
def with_dictionaries(analyzer: Any, dictionaries: tuple[Path, Path]) -> Analyzer:
    """The session's analyzer, plus the test's issue and discard dictionaries."""
    issues, discards = dictionaries
    return Analyzer(
        NlpConfig(issue_dictionaries=(issues,), discard_dictionaries=(discards,)),
        analyzer.nlp,
        analyzer.actors,
        analyzer.coder,
        analyzer.topics,
        analyzer.tone,
        analyzer.places,
        issues=IssueTagger.load([issues]),
        discards=DiscardFilter.load([discards]),
    )


def enriched(analyzer: Any, body: str) -> Any:
    article = Article(id="a1", body=body, received_at=NOW)
    return analyzer.enrich(analyzer.annotate([article]))[0]


def code(analyzer: Any, item: Any) -> list[DiplomaticEvent]:
    events: list[DiplomaticEvent] = analyzer.code(item, pipeline_version="t", emitted_at=NOW)
    return events


WIND = "Norway praised Sweden for its new wind turbines. Finland accused Russia of spying."
CRICKET = (
    "Kenya condemned Uganda after the cricket match in Kampala. "
    "Tanzania signed a trade agreement with Rwanda."
)
WORLD_CUP = (
    "Kenya condemned Uganda after the World Cup qualifier. "
    "Tanzania signed a trade agreement with Rwanda."
)


def test_issues_label_the_article_its_sentences_and_their_events(
    analyzer: Any, with_dictionaries: Analyzer
) -> None:
    plain = enriched(analyzer, WIND)
    item = enriched(with_dictionaries, WIND)
    first, second = item.sentences
    assert labels(first.topics) == [*labels(plain.sentences[0].topics), "issue:wind_power"]
    assert labels(item.topics) == [*labels(plain.topics), "issue:wind_power"]
    events = code(with_dictionaries, item)
    assert {(e.source_actor.code, e.sentence_span.start) for e in events} == {
        ("NOR", first.span.start),
        ("FIN", second.span.start),
    }
    by_source = {e.source_actor.code: e for e in events}
    assert ("issue:wind_power", 1.0) in [(t.topic, t.score) for t in by_source["NOR"].topics]
    assert by_source["NOR"].topics == first.topics
    # a sentence without labels of its own lends its event the article's, issues included
    assert second.topics == [] and by_source["FIN"].topics == item.topics


def test_a_discarded_sentence_gives_no_event_and_the_other_sentence_does(
    analyzer: Any, with_dictionaries: Analyzer
) -> None:
    item = enriched(with_dictionaries, CRICKET)
    first, second = item.sentences
    assert {e.sentence_span for e in code(analyzer, item)} == {first.span, second.span}
    events, discards = with_dictionaries.code_article(item, pipeline_version="t", emitted_at=NOW)
    assert discards == Discards(sentences=frozenset({0}))
    assert events and {e.sentence_span for e in events} == {second.span}
    assert code(with_dictionaries, item) == events


def test_a_story_discard_codes_nothing_and_the_counter_moves(
    analyzer: Any, with_dictionaries: Analyzer
) -> None:
    story, sentence = enriched(with_dictionaries, WORLD_CUP), enriched(with_dictionaries, CRICKET)
    assert code(analyzer, story)
    records = [
        Record(encode(item), Origin("articles.enriched", 0, n), item.article.id.encode())
        for n, item in enumerate([story, sentence, story])
    ]
    result = CodeStage(with_dictionaries, pipeline_version="t").process(records, NOW)
    accounts = [o.value for o in result.outputs if o.role == "coded"]
    assert all(isinstance(a, ArticleCoded) for a in accounts)
    assert [a.events for a in accounts][0::2] == [0, 0]
    assert accounts[1].events >= 1
    events = [o.value for o in result.outputs if o.role == "events"]
    assert {e.sentence_span.start for e in events} == {sentence.sentences[1].span.start}
    assert result.discarded == {"story": 2, "sentence": 1}
    registry = CollectorRegistry()
    metrics = create_metrics(registry)
    record_batch(metrics, "code", len(records), result, 0.01, NOW)
    record_batch(metrics, "code", len(records), result, 0.01, NOW)
    value = registry.get_sample_value
    assert value("dipwire_discarded_total", {"scope": "story"}) == 4
    assert value("dipwire_discarded_total", {"scope": "sentence"}) == 2
    assert value("dipwire_articles_coded_total") == 6


def test_load_reads_the_configured_dictionaries_without_the_parse(
    dictionaries: tuple[Path, Path], tmp_path: Path
) -> None:
    issues, discards = dictionaries
    config = NlpConfig(issue_dictionaries=(issues,), discard_dictionaries=(discards,))
    bare = Analyzer.load(config, parse=False)
    assert len(bare.issues) > 0 and len(bare.discards) == 5
    broken = write(tmp_path, "broken.txt", "school [SCHOOLS\n")
    with pytest.raises(DictionaryFormatError, match=r"broken\.txt:1: unbalanced brackets"):
        Analyzer.load(NlpConfig(issue_dictionaries=(broken,)), parse=False)


def test_the_parse_child_leaves_the_dictionaries_to_the_worker(
    monkeypatch: pytest.MonkeyPatch, dictionaries: tuple[Path, Path]
) -> None:
    from pipeline.stages.extract import load_extract_stage

    seen: list[NlpConfig] = []

    def fake_load(cls: type, config: NlpConfig, *, parse: bool = True) -> object:
        seen.append(config)
        return object()

    monkeypatch.setattr(Analyzer, "load", classmethod(fake_load))
    issues, discards = dictionaries
    config = NlpConfig(
        actor_dictionaries=(issues,), issue_dictionaries=(issues,), discard_dictionaries=(discards,)
    )
    load_extract_stage(config)
    assert seen == [NlpConfig(actor_dictionaries=(issues,))]
