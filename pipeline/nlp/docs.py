"""Serialise a parsed spaCy ``Doc`` as ``Token`` models and rebuild it without re-parsing.

The extract stage parses once; later stages call :func:`doc_from_tokens`, which
costs microseconds and runs no model. Every token, whitespace tokens included,
is kept, so the rebuilt text equals the parsed text character for character and
every character offset stays valid against the article body.
"""

from __future__ import annotations

from collections.abc import Sequence

from spacy.tokens import Doc
from spacy.vocab import Vocab

from pipeline.models import Sentence, Span, Token


def tokens_from_doc(doc: Doc) -> list[Token]:
    """Return the tokens of ``doc`` with everything needed to rebuild it.

    Args:
        doc: A parsed document (tagger, parser, lemmatizer and NER applied).

    Returns:
        One ``Token`` per spaCy token, heads as absolute indices.
    """
    tokens: list[Token] = []
    for tok in doc:
        iob = tok.ent_iob_
        tokens.append(
            Token(
                text=tok.text,
                ws=bool(tok.whitespace_),
                lemma=tok.lemma_,
                pos=tok.pos_,
                tag=tok.tag_,
                dep=tok.dep_,
                head=tok.head.i,
                sent_start=bool(tok.is_sent_start),
                ent_iob=iob if iob in ("B", "I", "O") else "",
                ent_type=tok.ent_type_ if iob in ("B", "I") else "",
            )
        )
    return tokens


def doc_from_tokens(vocab: Vocab, tokens: Sequence[Token]) -> Doc:
    """Rebuild a parsed ``Doc`` from serialised tokens.

    Args:
        vocab: The vocabulary of the pipeline that parsed the text.
        tokens: Tokens produced by :func:`tokens_from_doc`.

    Returns:
        A ``Doc`` with the same text, lemmas, tags, dependency tree, sentence
        boundaries and entities as the original.
    """
    if not tokens:
        return Doc(vocab, words=[], spaces=[])
    ents: list[str] = []
    for tok in tokens:
        if tok.ent_iob in ("B", "I") and tok.ent_type:
            ents.append(f"{tok.ent_iob}-{tok.ent_type}")
        else:
            ents.append("O")
    # A parser can leave an I- tag without its B- (never in practice, but a
    # hand-edited message could); spaCy rejects that, so repair it here.
    for i, tag in enumerate(ents):
        if tag.startswith("I-") and (i == 0 or ents[i - 1][2:] != tag[2:]):
            ents[i] = "B-" + tag[2:]
    return Doc(
        vocab,
        words=[t.text for t in tokens],
        spaces=[t.ws for t in tokens],
        lemmas=[t.lemma for t in tokens],
        pos=[t.pos for t in tokens],
        tags=[t.tag for t in tokens],
        deps=[t.dep for t in tokens],
        heads=[t.head for t in tokens],
        sent_starts=[t.sent_start for t in tokens],
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
