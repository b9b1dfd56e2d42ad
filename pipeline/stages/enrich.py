"""Stage ``enrich``: add topics and sentence and document tone to annotated articles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pipeline.models import AnnotatedArticle, EnrichedArticle
from pipeline.stages.base import (
    BatchResult,
    Output,
    Record,
    add_timing,
    decode_batch,
    run_decoded,
)
from pipeline.topics import Role, step

STEP = step("enrich")


class Enricher(Protocol):
    """What the enrich stage needs of ``pipeline.nlp.Analyzer``."""

    def enrich(self, items: Sequence[AnnotatedArticle]) -> list[EnrichedArticle]:
        """Add topics and tone."""
        ...


@dataclass
class EnrichStage:
    """Add topics and tone to annotated articles."""

    analyzer: Enricher
    id: str = STEP.stage
    input_role: Role = STEP.reads
    output_roles: tuple[Role, ...] = STEP.writes

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        """Enrich every decodable annotation of the batch."""
        result = BatchResult()
        decoded = decode_batch(self.id, records, AnnotatedArticle, now, result)
        for _, enriched in self.carry(decoded, now, result):
            result.outputs.append(Output(STEP.carries, enriched.article.id.encode(), enriched))
        return result

    def carry(
        self, decoded: Sequence[tuple[Record, AnnotatedArticle]], now: datetime, result: BatchResult
    ) -> list[tuple[Record, EnrichedArticle]]:
        """Enrich decoded annotations, each beside the record it came from; failures dead-letter."""
        done, share = run_decoded(self.id, decoded, self.analyzer.enrich, now, result)
        return [(record, add_timing(outcome, self.id, share)) for record, _, outcome in done]
