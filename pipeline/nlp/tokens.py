"""Serialise a parsed spaCy ``Doc`` as columnar ``Tokens`` and rebuild it without re-parsing.

The extract stage parses once; later stages call :func:`doc_from_tokens`, which
costs microseconds and runs no model. Every token, whitespace tokens included,
is kept, so the rebuilt text equals the parsed text character for character and
every character offset stays valid against the article body.
"""

from __future__ import annotations

from typing import Literal

from spacy.tokens import Doc
from spacy.vocab import Vocab

from pipeline.models import Sentence, Span, Tokens

_IOB: dict[str, Literal["B", "I", "O", ""]] = {"B": "B", "I": "I", "O": "O"}
"""spaCy's IOB tags as the message carries them; anything else (unset) becomes ""."""


def tokens_from_doc(doc: Doc) -> Tokens:
    """Return the tokens of ``doc`` with everything needed to rebuild it.

    Args:
        doc: A parsed document (tagger, parser, lemmatizer and NER applied).

    Returns:
        The columns of every spaCy token, heads as absolute indices.
    """
    iob = [_IOB.get(tok.ent_iob_, "") for tok in doc]
    return Tokens.model_construct(
        text=[tok.text for tok in doc],
        ws=[bool(tok.whitespace_) for tok in doc],
        lemma=[tok.lemma_ for tok in doc],
        pos=[tok.pos_ for tok in doc],
        tag=[tok.tag_ for tok in doc],
        dep=[tok.dep_ for tok in doc],
        head=[tok.head.i for tok in doc],
        sent_start=[bool(tok.is_sent_start) for tok in doc],
        ent_iob=iob,
        ent_type=[
            tok.ent_type_ if i in ("B", "I") else "" for tok, i in zip(doc, iob, strict=True)
        ],
    )


def doc_from_tokens(vocab: Vocab, tokens: Tokens) -> Doc:
    """Rebuild a parsed ``Doc`` from serialised tokens.

    Args:
        vocab: The vocabulary of the pipeline that parsed the text.
        tokens: Tokens produced by :func:`tokens_from_doc` (or validated from a message).

    Returns:
        A ``Doc`` with the same text, lemmas, tags, dependency tree, sentence
        boundaries and entities as the original.
    """
    if not len(tokens):
        return Doc(vocab, words=[], spaces=[])
    ents = [
        f"{iob}-{kind}" if iob in ("B", "I") and kind else "O"
        for iob, kind in zip(tokens.ent_iob, tokens.ent_type, strict=True)
    ]
    # A parser can leave an I- tag without its B- (never in practice, but a
    # hand-edited message could); spaCy rejects that, so repair it here.
    for i, tag in enumerate(ents):
        if tag.startswith("I-") and (i == 0 or ents[i - 1][2:] != tag[2:]):
            ents[i] = "B-" + tag[2:]
    return Doc(
        vocab,
        words=tokens.text,
        spaces=tokens.ws,
        lemmas=tokens.lemma,
        pos=tokens.pos,
        tags=tokens.tag,
        deps=tokens.dep,
        heads=tokens.head,
        sent_starts=list[bool | int | None](tokens.sent_start),
        ents=ents,
    )


def sentences_from_doc(doc: Doc) -> list[Sentence]:
    """Return the sentences of ``doc`` as ``Sentence`` models (spans without tone or topics).

    The character span is trimmed of surrounding whitespace (paragraph breaks
    are separate tokens that spaCy attaches to the sentence before them), so
    ``body[span.start:span.end]`` is the sentence as a reader sees it.
    """
    text = doc.text
    sentences: list[Sentence] = []
    for sent in doc.sents:
        start, end = sent.start_char, sent.end_char
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            continue
        sentences.append(
            Sentence(span=Span(start=start, end=end), token_start=sent.start, token_end=sent.end)
        )
    return sentences
