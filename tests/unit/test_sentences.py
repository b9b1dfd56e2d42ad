"""Sentences that are sentences: layout boundaries before the parse, and what is not coded."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.nlp.sentences import governs, mark_paragraphs, paragraph_starts, uncodable
from pipeline.nlp.tokens import doc_from_tokens, sentences_from_doc, tokens_from_doc

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def parse(nlp: Language) -> Callable[[str], Doc]:
    """Parse as the extract stage does: layout boundaries first, then the pipeline."""

    def run(text: str) -> Doc:
        return nlp(mark_paragraphs(nlp.make_doc(text)))

    return run


def texts(doc: Doc) -> list[str]:
    return [doc.text[s.span.start : s.span.end] for s in sentences_from_doc(doc)]


def kinds(doc: Doc) -> list[str | None]:
    return [uncodable(doc, s.token_start, s.token_end) for s in sentences_from_doc(doc)]


def test_paragraph_starts() -> None:
    text = "Talks in Geneva\n\nThe ministers met.\nThey agreed.\n\n  Next paragraph"
    assert [text[i : i + 4] for i in paragraph_starts(text)] == ["Talk", "The ", "They", "Next"]
    # A hard-wrapped line of running text goes on, even before a capitalised name.
    wrapped = (
        "The foreign minister of Norway said on Monday that the talks with\n"
        "Iran would resume in Oslo next month."
    )
    assert paragraph_starts(wrapped) == [0]
    # A short line without a final stop is a heading: the next line starts a sentence.
    assert len(paragraph_starts("UK election latest\nTony Blair said he would stay.")) == 2


def test_a_heading_is_not_glued_to_the_paragraph_after_it(
    nlp: Language, parse: Callable[[str], Doc]
) -> None:
    text = "Talks in Geneva\n\nThe foreign ministers of Iran and France met in Geneva on Monday."
    glued = nlp(text)
    assert len(list(glued.sents)) == 1  # what the parser does alone
    doc = parse(text)
    assert texts(doc) == [
        "Talks in Geneva",
        "The foreign ministers of Iran and France met in Geneva on Monday.",
    ]
    assert kinds(doc) == ["heading", None]


def test_a_one_line_heading_over_a_sentence(parse: Callable[[str], Doc]) -> None:
    doc = parse("UK election latest\nTony Blair said on Monday that he would stay.")
    assert texts(doc) == ["UK election latest", "Tony Blair said on Monday that he would stay."]
    assert kinds(doc) == ["heading", None]


def test_a_leading_quote_belongs_to_the_sentence_it_opens(parse: Callable[[str], Doc]) -> None:
    text = (
        "Seoul and Washington held joint drills on Friday.\n\n"
        '"We asked the United States to halt the drills," North Korea said in a statement.'
    )
    sentences = texts(parse(text))
    assert sentences[-1].startswith('"We asked')
    assert sentences[0] == "Seoul and Washington held joint drills on Friday."


def test_a_closing_quote_belongs_to_the_sentence_it_closes(parse: Callable[[str], Doc]) -> None:
    text = (
        'The minister said the rules were "an attempt to tell people what they can and '
        'cannot report."\n\nOn May 25, the ministers met again.'
    )
    assert texts(parse(text)) == [
        'The minister said the rules were "an attempt to tell people what they can and '
        'cannot report."',
        "On May 25, the ministers met again.",
    ]


def test_a_fragment_paragraph_does_not_swallow_the_next_name(parse: Callable[[str], Doc]) -> None:
    doc = parse("U.S.\n\nColin Powell said that Iran had a plan.")
    assert texts(doc) == ["U.S.", "Colin Powell said that Iran had a plan."]
    assert kinds(doc) == ["fragment", None]


def test_bylines_and_captions_are_not_coded(parse: Callable[[str], Doc]) -> None:
    text = (
        "By Jane Doe and John Roe\n\n"
        "Turkey summoned the Swedish ambassador on Monday.\n\n"
        "Turkish Foreign Minister Mevlut Cavusoglu (R) shakes hands with his Swedish "
        "counterpart in Ankara, January 12, 2023. REUTERS/Cagla Gurdogan\n\n"
        "(Reporting by Jane Doe; Editing by John Roe)"
    )
    doc = parse(text)
    got = dict(zip(texts(doc), kinds(doc), strict=True))
    assert got["By Jane Doe and John Roe"] == "byline"
    assert got["Turkey summoned the Swedish ambassador on Monday."] is None
    assert got["(Reporting by Jane Doe; Editing by John Roe)"] == "byline"
    captions = [k for t, k in got.items() if "Cavusoglu" in t or "REUTERS" in t]
    assert captions and set(captions) == {"caption"}


def test_title_case_headings_with_a_verb(parse: Callable[[str], Doc]) -> None:
    doc = parse("Iran Rejects European Offer\n\nIran rejected the European offer on Sunday.")
    assert kinds(doc) == ["heading", None]


def test_a_sentence_that_lost_its_stop_is_still_coded(parse: Callable[[str], Doc]) -> None:
    doc = parse("Russia vetoed the resolution\n\nChina abstained.")
    assert kinds(doc) == [None, None]
    doc = parse("This position was reversed last week")
    assert kinds(doc) == [None]


def test_boundaries_survive_serialisation(nlp: Language, parse: Callable[[str], Doc]) -> None:
    doc = parse('Talks in Geneva\n\n"We will meet again," Lavrov said.\n\nBlinken agreed.')
    rebuilt = doc_from_tokens(nlp.vocab, tokens_from_doc(doc))
    assert [(s.start, s.end) for s in rebuilt.sents] == [(s.start, s.end) for s in doc.sents]
    assert kinds(rebuilt) == kinds(doc) == ["heading", None, None]


def test_governs_stops_at_a_subordinate_clause(nlp: Language) -> None:
    doc = nlp("Serbia agreed to resume talks that Kosovo had suspended.")
    words = {t.text: t for t in doc}
    assert governs(words["agreed"], words["resume"])
    assert governs(words["agreed"], words["agreed"])
    assert not governs(words["agreed"], words["suspended"])
    assert not governs(words["resume"], words["agreed"])
