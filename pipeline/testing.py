"""Message factories and fakes for tests of the pipeline, shipped with the code they stand in for.

The factories build every message model with small, valid defaults, so a test
names only what it is about; the fakes stand in for the NLP
(:class:`EchoAnalyzer`, :class:`UnusedAnalyzer`) and for Kafka
(:class:`FlakySink`; ``pipeline.stages.agents.ListSink`` keeps what is published).
Nothing here is used on the data path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from pipeline.codec import Origin, Rejected, dead_letter
from pipeline.models import (
    ActorRef,
    AnnotatedArticle,
    Article,
    ArticleCoded,
    DeadLetter,
    DiplomaticEvent,
    EnrichedArticle,
    EventTone,
    Span,
    Tone,
)
from pipeline.nlp.issues import Discards
from pipeline.stages.agents import ListSink
from pipeline.stages.base import Output, Record
from pipeline.stages.publish import Outcome
from pipeline.topics import RAW

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
"""A fixed moment for stamps, so outputs compare equal across runs."""

QUIET_TONE = Tone(compound=0.0, gdelt=0.0, positive=0.0, negative=0.0)
"""Neutral tone on both scales."""

BODY = "Leaders met in Geneva."
"""The body of a factory-made article when none is given."""

RAW_ORIGIN = Origin(RAW)
"""A message from the input topic, position unknown."""

EXPLODE = "BOOM"
"""A body with this word makes :class:`EchoAnalyzer` raise, as a poisoned message would."""


# --------------------------------------------------------------------------- messages


def raw_article(article_id: str = "a1", body: str = BODY, **fields: Any) -> bytes:
    """A wire article as a producer sends it: JSON bytes, not yet validated."""
    return orjson.dumps({"id": article_id, "body": body, **fields})


def article(article_id: str = "a1", body: str = BODY, **fields: Any) -> Article:
    """A validated ``Article``, received at :data:`NOW` unless told otherwise."""
    return Article(id=article_id, body=body, **{"received_at": NOW, **fields})


def annotated(item: Article | None = None, **fields: Any) -> AnnotatedArticle:
    """An ``AnnotatedArticle`` with no tokens, sentences or actors (nothing was parsed)."""
    values: dict[str, Any] = {"tokens": [], "sentences": [], "actors": [], **fields}
    return AnnotatedArticle(article=item or article(), **values)


def enriched(item: Article | AnnotatedArticle | None = None, **fields: Any) -> EnrichedArticle:
    """An ``EnrichedArticle`` of ``item`` (an article or its annotation) with a quiet tone."""
    base = item if isinstance(item, AnnotatedArticle) else annotated(item)
    return EnrichedArticle(**{**base.model_dump(), "tone": QUIET_TONE, **fields})


def actor(code: str = "CHN", name: str = "China", start: int = 0) -> ActorRef:
    """A state actor named at ``start`` of the body."""
    return ActorRef(
        text=name,
        name=name,
        code=code,
        country=code[:3],
        agent=code[3:6] or None,
        span=Span(start=start, end=start + len(name)),
    )


def diplomatic_event(
    event_id: str = "e1",
    article_id: str = "a1",
    *,
    goldstein: float = 4.0,
    emitted_at: datetime = NOW,
    **fields: Any,
) -> DiplomaticEvent:
    """A ``DiplomaticEvent`` (China makes a visit), ingested a second before ``emitted_at``."""
    values: dict[str, Any] = {
        "source_actor": actor(),
        "cameo_code": "042",
        "cameo_root": "04",
        "event_name": "Make a visit",
        "quad_class": 1,
        "sentence": "China visited.",
        "sentence_span": Span(start=0, end=14),
        "trigger": "visited",
        "trigger_span": Span(start=6, end=13),
        "tone": EventTone(sentence=QUIET_TONE, document=QUIET_TONE),
        "confidence": 0.9,
        "pipeline_version": "test",
        "ingested_at": emitted_at - timedelta(seconds=1),
        **fields,
    }
    return DiplomaticEvent(
        event_id=event_id,
        article_id=article_id,
        goldstein=goldstein,
        emitted_at=emitted_at,
        **values,
    )


def article_coded(article_id: str = "a1", *event_ids: str, **fields: Any) -> ArticleCoded:
    """The ``ArticleCoded`` that closes ``article_id``'s account, naming its events."""
    values: dict[str, Any] = {"coded_at": NOW, **fields}
    return ArticleCoded(
        article_id=article_id, events=len(event_ids), event_ids=list(event_ids), **values
    )


def dead_letter_of(
    article_id: str | None,
    kind: str = "invalid_fields",
    *,
    origin: Origin = RAW_ORIGIN,
    stage: str = "validate",
    payload: bytes = b"{}",
) -> DeadLetter:
    """The ``DeadLetter`` of a message from ``origin``, rejected as ``kind``."""
    return dead_letter(payload, origin, stage, Rejected(kind, "because", article_id), NOW)


def records_of(values: Sequence[bytes], topic: str = RAW, partition: int = 0) -> list[Record]:
    """Consumed records of ``values``, at offsets 0, 1, ... of one partition."""
    return [
        Record(value=value, origin=Origin(topic, partition, offset))
        for offset, value in enumerate(values)
    ]


# --------------------------------------------------------------------------- fakes


@dataclass
class EchoAnalyzer:
    """Stands in for ``pipeline.nlp.Analyzer``: no parse, and it raises on :data:`EXPLODE`.

    ``annotate`` and ``enrich`` return empty annotations; ``code`` returns
    ``events`` events per article, ids derived from the article id. Every call
    is remembered in ``calls`` as ``(method, article ids)``.
    """

    events: int = 0
    calls: list[tuple[str, list[str]]] = field(default_factory=list)

    def annotate(self, articles: Sequence[Article]) -> list[AnnotatedArticle]:
        """An empty annotation of each article; raises if one of them holds ``BOOM``."""
        self.calls.append(("annotate", [a.id for a in articles]))
        if any(EXPLODE in a.body for a in articles):
            raise RuntimeError("analyzer exploded")
        return [annotated(a) for a in articles]

    def enrich(self, items: Sequence[AnnotatedArticle]) -> list[EnrichedArticle]:
        """Each annotation with a quiet tone."""
        self.calls.append(("enrich", [i.article.id for i in items]))
        return [enriched(item) for item in items]

    def code(
        self, item: EnrichedArticle, *, pipeline_version: str, emitted_at: datetime
    ) -> list[DiplomaticEvent]:
        """``events`` events of the article; raises if its body holds ``BOOM``."""
        self.calls.append(("code", [item.article.id]))
        if EXPLODE in item.article.body:
            raise ValueError("coder exploded")
        return [
            diplomatic_event(
                f"{item.article.id}-e{n}",
                item.article.id,
                emitted_at=emitted_at,
                pipeline_version=pipeline_version,
            )
            for n in range(self.events)
        ]

    def code_article(
        self, item: EnrichedArticle, *, pipeline_version: str, emitted_at: datetime
    ) -> tuple[list[DiplomaticEvent], Discards]:
        """What :meth:`code` gives, with nothing discarded: what the code stage calls."""
        return self.code(item, pipeline_version=pipeline_version, emitted_at=emitted_at), Discards()


class UnusedAnalyzer:
    """For a stage that must never reach the NLP (validate): any call is a wiring bug."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the analyzer was called: {name}")


@dataclass
class FlakySink(ListSink):
    """A ``ListSink`` whose first ``failures`` publishes raise, as a broker that refuses them."""

    failures: int = 1
    attempts: int = 0

    async def publish(self, outputs: Sequence[Output]) -> list[Outcome]:
        """Fail while failures are left, then keep the outputs."""
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker refused the batch")
        return await super().publish(outputs)
