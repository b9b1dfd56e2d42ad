"""The named-entity pass only where a sentence can name an actor (``DIPWIRE_PARSE_PREPASS``).

The entity recogniser is the dearest part of the parse (about 43% of spaCy's
time, with its own token-to-vector network), and its entities matter only to
a sentence that holds an actor mention and to the sentences such mentions
reach. Every actor mention starts from a gazetteer phrase, a capitalised name
(a surname, a person) or a referring word (a pronoun, "the country", "the
government"); a sentence with none of them has no mention, so it has no event
source (no event) and gives no antecedent, speaker, setting or dominant
country to another sentence. What its entities would be (a "last week", a
"two") is used only for its own events, which it has none of.

So the tagger, parser, attribute ruler and lemmatizer run on the whole
article as before (sentence boundaries, lemmas for topics, issues and
discards, and the tone of every sentence are unchanged), and the entity
recogniser runs on the runs of sentences that may name an actor, each padded
with :data:`CONTEXT_TOKENS` tokens of the text around it so that its network
sees exactly the window it would see in the whole article. The entities of the
padding are dropped unless they reach into the run. The first sentence (the
dateline) always gets entities.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from spacy.language import Language
from spacy.tokens import Doc
from spacy.tokens import Span as SpacySpan

CONTEXT_TOKENS = 12
"""Tokens of context each side of a run: the recogniser's network looks 4 tokens each way
(4 window layers of 1), and its transition state settles within a few tokens of an O."""


@dataclass
class PrepassStats:
    """What the pre-pass skipped, summed over the articles it ran on."""

    sentences: int = 0
    skipped_sentences: int = 0
    tokens: int = 0
    recognised_tokens: int = 0
    per_article: list[float] = field(default_factory=list)

    def add(self, sentences: int, skipped: int, tokens: int, recognised: int) -> None:
        """Count one article."""
        self.sentences += sentences
        self.skipped_sentences += skipped
        self.tokens += tokens
        self.recognised_tokens += recognised


def name_like(text: str, first: bool) -> bool:
    """Whether a word may be (part of) a name, by its capitals.

    A capital anywhere; for the sentence's first word, whose capital says nothing,
    a capital after its first letter ("NATO", "McCain"). A first word the tagger
    reads as a proper noun counts too (see :func:`needs_entities`).
    """
    return any(c.isupper() for c in (text[1:] if first else text))


def needs_entities(
    doc: Doc, start: int, end: int, actor_tokens: set[int], referring: frozenset[str]
) -> bool:
    """Whether the sentence ``doc[start:end]`` may hold an actor mention.

    Args:
        doc: The parsed doc (no entities yet).
        start: The sentence's first token.
        end: The token after its last.
        actor_tokens: Tokens inside a phrase of the actor gazetteer.
        referring: Lowercased words that refer back (pronouns, possessives,
            "country", "government", ...).
    """
    first = True
    for token in doc[start:end]:
        if token.is_space or token.is_punct:
            continue
        if token.i in actor_tokens or token.tag_ in ("PRP", "PRP$", "WP", "WP$"):
            return True
        if token.lower_ in referring or token.lemma_.lower() in referring:
            return True
        if name_like(token.text, first) or token.pos_ == "PROPN":
            return True
        first = False
    return False


def runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """The maximal runs ``[i, j)`` of true flags."""
    out: list[tuple[int, int]] = []
    start: int | None = None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            out.append((start, i))
            start = None
    return out


def recognise_where_needed(
    nlp: Language,
    doc: Doc,
    actor_tokens: set[int],
    referring: frozenset[str],
    stats: PrepassStats | None = None,
) -> Doc:
    """Set ``doc``'s entities by running the recogniser only on the sentences that need them.

    ``doc`` is parsed without the ``ner`` component; it is returned with its
    entities set (every other token outside an entity), as the whole pipeline
    would have left it for the sentences that may hold an actor.
    """
    sentences = list(doc.sents)
    flags = [
        n == 0 or needs_entities(doc, s.start, s.end, actor_tokens, referring)
        for n, s in enumerate(sentences)
    ]
    ner = nlp.get_pipe("ner")
    if all(flags):  # the common case: the whole article, as the full pipeline runs it
        if stats is not None:
            stats.add(len(sentences), 0, len(doc), len(doc))
        return ner(doc)
    pieces = [(sentences[i].start, sentences[j - 1].end) for i, j in runs(flags)]
    padded = [(max(0, a - CONTEXT_TOKENS), min(len(doc), b + CONTEXT_TOKENS)) for a, b in pieces]
    subdocs = [doc[lo:hi].as_doc() for lo, hi in padded]
    ents: list[SpacySpan] = []
    for (a, b), (lo, _), sub in zip(pieces, padded, map(ner, subdocs), strict=True):
        for ent in sub.ents:
            start, end = lo + ent.start, lo + ent.end
            if end > a and start < b and (not ents or start >= ents[-1].end):
                ents.append(SpacySpan(doc, start, end, label=ent.label_))
    doc.set_ents(ents, default="outside")
    if stats is not None:
        recognised = sum(hi - lo for lo, hi in padded)
        stats.add(len(sentences), flags.count(False), len(doc), min(recognised, len(doc)))
        stats.per_article.append(flags.count(False) / max(len(sentences), 1))
    return doc


def referring_words(words: Iterable[str]) -> frozenset[str]:
    """The lowercased referring words, as :func:`needs_entities` compares them."""
    return frozenset(w.lower() for w in words)
