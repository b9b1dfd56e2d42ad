"""Tokens <-> spaCy Doc: the rebuilt doc is the parsed doc, offsets included."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from spacy.language import Language

from pipeline.models import TOKEN_COLUMNS, Tokens
from pipeline.nlp.tokens import doc_from_tokens, sentences_from_doc, tokens_from_doc

pytestmark = pytest.mark.unit

BODY = (
    "  Norway's foreign minister arrived in Nairobi on Monday.\n\n"
    "She met  Kenyan officials\tand\u00a0signed a deal worth $3 million.\n"
    '"We are pleased," she said. '
)


def test_round_trip_keeps_text_offsets_and_annotations(nlp: Language) -> None:
    doc = nlp(BODY)
    tokens = tokens_from_doc(doc)
    rebuilt = doc_from_tokens(nlp.vocab, tokens)
    assert rebuilt.text == BODY
    assert len(rebuilt) == len(doc)
    for a, b in zip(doc, rebuilt, strict=True):
        assert (a.idx, a.text, a.whitespace_) == (b.idx, b.text, b.whitespace_)
        assert BODY[b.idx : b.idx + len(b.text)] == b.text
        assert (a.lemma_, a.pos_, a.tag_, a.dep_, a.head.i) == (
            b.lemma_,
            b.pos_,
            b.tag_,
            b.dep_,
            b.head.i,
        )
        assert (a.ent_iob_, a.ent_type_) == (b.ent_iob_, b.ent_type_)
    assert [(s.start, s.end) for s in doc.sents] == [(s.start, s.end) for s in rebuilt.sents]
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [
        (e.start_char, e.end_char, e.label_) for e in rebuilt.ents
    ]


def test_tokens_survive_json(nlp: Language) -> None:
    tokens = tokens_from_doc(nlp(BODY))
    again = Tokens.model_validate_json(tokens.model_dump_json())
    assert again == tokens
    assert doc_from_tokens(nlp.vocab, again).text == BODY


def test_schema_1_token_objects_are_read_as_columns(nlp: Language) -> None:
    tokens = tokens_from_doc(nlp(BODY))
    objects = [
        {name: getattr(tokens, name)[i] for name in TOKEN_COLUMNS} for i in range(len(tokens))
    ]
    assert Tokens.model_validate_json(orjson.dumps(objects)) == tokens


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ws": [True]}, "tokens.ws has 1 entries, not 2"),
        ({"head": [0, 2]}, "head index is out of range"),
        ({"ent_iob": ["B", "X"]}, "ent_iob"),
    ],
)
def test_inconsistent_columns_are_refused(change: dict[str, Any], message: str) -> None:
    two = {
        "text": ["Oslo", "wins"],
        "ws": [True, False],
        "lemma": ["Oslo", "win"],
        "pos": ["PROPN", "VERB"],
        "tag": ["NNP", "VBZ"],
        "dep": ["nsubj", "ROOT"],
        "head": [1, 1],
        "sent_start": [True, False],
        "ent_iob": ["B", "O"],
        "ent_type": ["GPE", ""],
    }
    Tokens.model_validate(two)
    with pytest.raises(ValidationError, match=message):
        Tokens.model_validate({**two, **change})


def test_sentence_spans_are_trimmed_slices_of_the_body(nlp: Language) -> None:
    doc = nlp(BODY)
    sentences = sentences_from_doc(doc)
    assert sentences
    for sentence in sentences:
        text = BODY[sentence.span.start : sentence.span.end]
        assert text == text.strip() and text
        assert doc[sentence.token_start].idx <= sentence.span.start
    assert BODY[sentences[0].span.start : sentences[0].span.end].startswith("Norway's")


def test_empty_body(nlp: Language) -> None:
    assert doc_from_tokens(nlp.vocab, Tokens()).text == ""
    assert len(tokens_from_doc(nlp(""))) == 0


def test_inside_tag_without_begin_is_repaired(nlp: Language) -> None:
    tokens = Tokens(
        text=["Oslo"],
        ws=[False],
        lemma=["Oslo"],
        pos=["PROPN"],
        tag=["NNP"],
        dep=["ROOT"],
        head=[0],
        sent_start=[True],
        ent_iob=["I"],
        ent_type=["GPE"],
    )
    doc = doc_from_tokens(nlp.vocab, tokens)
    assert [(e.text, e.label_) for e in doc.ents] == [("Oslo", "GPE")]
