"""An enriched article indexed for coding: its sentences, actors, places and dates.

Built once per article by the code stage, so that each event looks up its
sentence, place, date and dyad tone in its own neighbourhood of the parse.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from spacy.tokens import Doc

from pipeline.models import (
    ActorRef,
    EnrichedArticle,
    Span,
    Tone,
)
from pipeline.nlp.actors.coder import ActorMention
from pipeline.nlp.event_places import LEAD_SENTENCES, ArticlePlaces
from pipeline.nlp.places import Gazetteer
from pipeline.nlp.sentences import VERB_TAGS, kind_of
from pipeline.nlp.tone import combine


def mentions_in(doc: Doc, actors: Sequence[ActorRef]) -> list[ActorMention]:
    """Map serialised actor references back onto the tokens of a rebuilt doc."""
    out: list[ActorMention] = []
    taken: set[int] = set()
    for ref in actors:
        span = doc.char_span(ref.span.start, ref.span.end, alignment_mode="expand")
        if span is None or len(span) == 0:
            continue
        tokens = set(range(span.start, span.end))
        if tokens & taken:
            continue
        taken |= tokens
        out.append(ActorMention(start=span.start, end=span.end, ref=ref))
    return sorted(out, key=lambda m: m.start)


class ArticleIndex:
    """Where each sentence, actor code, place and date of an article is, built once per article.

    The code stage looks up, for every event, its sentence, its place, its date
    and the tone of the sentences both its actors share. Answering each from
    the whole article made the stage quadratic in article length (a
    100,000-character article took minutes); with this index an event costs
    its own neighbourhood in the parse, plus one pass per distinct actor pair.
    """

    def __init__(
        self,
        item: EnrichedArticle,
        doc: Doc,
        gazetteer: Gazetteer,
        mentions: Sequence[ActorMention],
    ) -> None:
        self.sentences = item.sentences
        actor_tokens = {i for m in mentions for i in range(m.start, m.end)}
        self._position = {s.token_start: n for n, s in enumerate(item.sentences)}
        self._starts = [s.token_start for s in item.sentences]
        # From the serialised columns, not the doc: a spaCy token is costly to make.
        body, pos = item.article.body, item.tokens.pos
        self.codable = [
            kind_of(
                body,
                s.span.start,
                s.span.end,
                any(pos[i] in VERB_TAGS for i in range(s.token_start, s.token_end)),
            )
            is None
            for s in self.sentences
        ]
        pairs = zip(self.sentences, self.codable, strict=True)
        lead = [(s.token_start, s.token_end) for s, ok in pairs if ok]
        self.places = ArticlePlaces(
            doc, item.locations, gazetteer, actor_tokens, lead[:LEAD_SENTENCES]
        )
        self.dates: list[list[tuple[int, int]]] = [[] for _ in self.sentences]
        for ent in doc.ents:
            if ent.label_ == "DATE":
                at = bisect_right(self._starts, ent.start) - 1
                if at >= 0 and ent.end <= self.sentences[at].token_end:
                    self.dates[at].append((ent.start, ent.end))
        self._by_code: dict[str, set[int]] = {}
        self._dyads: dict[tuple[str, str], Tone | None] = {}
        for ref in item.actors:
            n = self._sentence_of(ref.span)
            if n is not None:
                self._by_code.setdefault(ref.code, set()).add(n)

    def _sentence_of(self, span: Span) -> int | None:
        """The sentence that holds ``span`` whole, by bisection (sentences are sorted, disjoint)."""
        n = bisect_right(self.sentences, span.start, key=lambda s: s.span.start) - 1
        if n >= 0 and span.end <= self.sentences[n].span.end:
            return n
        return None

    def codable_token(self, i: int) -> bool:
        """Whether token ``i`` is in a sentence events are coded from."""
        n = bisect_right(self._starts, i) - 1
        return n >= 0 and i < self.sentences[n].token_end and self.codable[n]

    def sentence_at_token(self, token_start: int) -> int | None:
        """The position of the sentence that starts at token ``token_start``."""
        return self._position.get(token_start)

    def sentences_with(self, code: str) -> set[int]:
        """Positions of the sentences that mention actor ``code``."""
        return self._by_code.get(code, set())

    def dyad_tone(self, source: ActorRef, target: ActorRef | None) -> Tone | None:
        """Tone of the sentences where both actors of an event appear (by actor code)."""
        if target is None:
            return None
        key = (source.code, target.code)
        if key not in self._dyads:
            tones: list[tuple[Tone, int]] = []
            shared = self.sentences_with(source.code) & self.sentences_with(target.code)
            for n in sorted(shared):
                sentence = self.sentences[n]
                if sentence.tone is not None:
                    tones.append((sentence.tone, sentence.token_end - sentence.token_start))
            self._dyads[key] = combine(tones) if tones else None
        return self._dyads[key]
