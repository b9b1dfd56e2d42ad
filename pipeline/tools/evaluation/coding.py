"""Code gold texts with the worker's Analyzer: ``annotate``, ``enrich``, ``code``, in batches.

Both gold formats go through :func:`coded`, the one place the evaluation
calls the analyzer, so a sentence record and a whole article are coded as the
pipeline's three stages code a wire article.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipeline.tools.evaluation.records import NO_TARGET, GoldRecord, Triple
from pipeline.tools.evaluation.scoring import RecordResult, unique

if TYPE_CHECKING:
    from pipeline.models import Article

Coded = list[tuple[Any, Mapping[str, float]]]
"""The events of one text, each with the confidence features it came with."""


def coded(analyzer: Any, articles: Sequence[Article], batch_size: int) -> Iterator[Coded]:
    """The events of every article, in order, with their evidence when the analyzer gives it.

    ``analyzer`` is an :class:`~pipeline.nlp.analyzer.Analyzer` or anything with
    its ``annotate``, ``enrich`` and ``code`` (``code_with_evidence`` is used
    when present).
    """
    now = datetime.now(UTC)
    with_evidence = getattr(analyzer, "code_with_evidence", None)
    for i in range(0, len(articles), batch_size):
        for item in analyzer.enrich(analyzer.annotate(articles[i : i + batch_size])):
            if with_evidence is not None:
                yield list(with_evidence(item, pipeline_version="eval", emitted_at=now))
            else:
                events = analyzer.code(item, pipeline_version="eval", emitted_at=now)
                yield [(event, {}) for event in events]


def triple_of(event: Any) -> Triple:
    """``(source, target, code)`` of a coded event; no target is ``---``."""
    target = event.target_actor.code if event.target_actor else NO_TARGET
    return (event.source_actor.code, target, event.cameo_code)


def code_records(
    records: Sequence[GoldRecord], analyzer: Any, batch_size: int = 32
) -> list[RecordResult]:
    """Code every sentence record with ``analyzer`` and pair it with its gold."""
    from pipeline.models import Article

    articles = [Article(id=r.id, body=r.text, published_at=r.day) for r in records]
    results: list[RecordResult] = []
    for record, pairs in zip(records, coded(analyzer, articles, batch_size), strict=True):
        confidence: dict[Triple, float] = {}
        evidence: dict[Triple, dict[str, float]] = {}
        for event, features in pairs:
            triple = triple_of(event)
            if triple not in confidence or event.confidence > confidence[triple]:
                confidence[triple] = event.confidence
                evidence[triple] = dict(features)
        results.append(
            RecordResult(
                id=record.id,
                dictionary=record.dictionary,
                text=record.text,
                gold=record.gold,
                predicted=unique(confidence),
                confidence=confidence,
                evidence=evidence,
            )
        )
    return results
