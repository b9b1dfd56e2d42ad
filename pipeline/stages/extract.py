"""Stages ``extract``, ``enrich`` and ``code``: thin wrappers around the ``Analyzer``.

Each decodes its input model, hands the whole batch to the analyzer (spaCy's
``nlp.pipe`` runs over the batch), and wraps the results as outputs. One
message the analyzer cannot handle is dead-lettered; the batch goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from pydantic import BaseModel

from pipeline.codec import Rejected, decode
from pipeline.models import (
    AnnotatedArticle,
    Article,
    ArticleCoded,
    DiplomaticEvent,
    EnrichedArticle,
)
from pipeline.stages.base import (
    BatchResult,
    Output,
    Record,
    add_timing,
    crash_reason,
    isolate,
    reject,
)

if TYPE_CHECKING:
    from pipeline.nlp import NlpConfig

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


class Analyzer(Protocol):
    """What the stages need of ``pipeline.nlp.Analyzer``."""

    def annotate(self, articles: Sequence[Article]) -> list[AnnotatedArticle]:
        """Parse a batch of articles once and find actors and places."""
        ...

    def enrich(self, items: Sequence[AnnotatedArticle]) -> list[EnrichedArticle]:
        """Add topics and tone."""
        ...

    def code(
        self, item: EnrichedArticle, *, pipeline_version: str, emitted_at: datetime
    ) -> list[DiplomaticEvent]:
        """Code the diplomatic events of one article."""
        ...


def _run(
    stage: str,
    records: Sequence[Record],
    model: type[M],
    batch_fn: Callable[[Sequence[M]], list[R]],
    now: datetime,
    result: BatchResult,
) -> tuple[list[tuple[M, R]], float]:
    """Decode, run ``batch_fn`` with error isolation, dead-letter what failed.

    Returns the (input, output) pairs that succeeded and each one's share of the batch time.
    """
    decoded: list[tuple[Record, M]] = []
    for record in records:
        value = decode(record.value, model)
        if isinstance(value, Rejected):
            result.outputs.append(reject(record, stage, value, now))
        else:
            decoded.append((record, value))
    started = time.perf_counter()
    outcomes = isolate([item for _, item in decoded], batch_fn, stage)
    share = (time.perf_counter() - started) / max(len(decoded), 1)
    done: list[tuple[M, R]] = []
    for (record, item), outcome in zip(decoded, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            crashed = crash_reason(outcome)
            rejected = Rejected(crashed.kind, crashed.reason, _article_of(item).id)
            result.outputs.append(reject(record, stage, rejected, now))
        else:
            done.append((item, outcome))
    return done, share


def _article_of(value: BaseModel) -> Article:
    if isinstance(value, Article):
        return value
    article = getattr(value, "article", None)
    assert isinstance(article, Article)
    return article


@dataclass
class ExtractStage:
    """Parse once with spaCy; find actor mentions and places."""

    analyzer: Analyzer
    id: str = "extract"
    input_role: str = "valid"
    output_roles: tuple[str, ...] = ("annotated", "dlq")

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        """Annotate every decodable article of the batch."""
        result = BatchResult()
        done, share = _run(self.id, records, Article, self.analyzer.annotate, now, result)
        for article, outcome in done:
            result.truncated += outcome.truncated
            annotated = add_timing(outcome, self.id, share)
            result.outputs.append(Output("annotated", article.id.encode(), annotated))
        return result


def load_extract_stage(config: NlpConfig) -> ExtractStage:
    """Load an analyzer and build the extract stage on it: what a ``ChildStage`` child runs."""
    from pipeline.nlp import Analyzer as LoadedAnalyzer

    return ExtractStage(LoadedAnalyzer.load(config))


@dataclass
class EnrichStage:
    """Add topics and tone to annotated articles."""

    analyzer: Analyzer
    id: str = "enrich"
    input_role: str = "annotated"
    output_roles: tuple[str, ...] = ("enriched", "dlq")

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        """Enrich every decodable annotation of the batch."""
        result = BatchResult()
        done, share = _run(self.id, records, AnnotatedArticle, self.analyzer.enrich, now, result)
        for item, outcome in done:
            enriched = add_timing(outcome, self.id, share)
            result.outputs.append(Output("enriched", item.article.id.encode(), enriched))
        return result


@dataclass
class CodeStage:
    """Code diplomatic events; one ``ArticleCoded`` per article closes its account."""

    analyzer: Analyzer
    pipeline_version: str
    id: str = "code"
    input_role: str = "enriched"
    output_roles: tuple[str, ...] = ("events", "coded", "dlq")

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        """Code every decodable enriched article of the batch."""
        result = BatchResult()

        def code_batch(items: Sequence[EnrichedArticle]) -> list[list[DiplomaticEvent]]:
            return [
                self.analyzer.code(item, pipeline_version=self.pipeline_version, emitted_at=now)
                for item in items
            ]

        done, share = _run(self.id, records, EnrichedArticle, code_batch, now, result)
        for item, outcome in done:
            article = item.article
            for event in outcome:
                result.outputs.append(Output("events", event.event_id.encode(), event))
            timed = add_timing(item, self.id, share)
            coded = ArticleCoded(
                article_id=article.id,
                events=len(outcome),
                event_ids=[e.event_id for e in outcome],
                truncated=item.truncated,
                timings=timed.timings,
                received_at=article.received_at,
                coded_at=now,
            )
            result.outputs.append(Output("coded", article.id.encode(), coded))
        return result
