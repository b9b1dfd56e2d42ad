"""Stage ``enrich``: add topics and sentence and document tone to annotated articles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pipeline.models import AnnotatedArticle, EnrichedArticle
from pipeline.stages.base import BatchResult, Output, Record, add_timing, run_batch
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
        done, share = run_batch(
            self.id, records, AnnotatedArticle, self.analyzer.enrich, now, result
        )
        for item, outcome in done:
            enriched = add_timing(outcome, self.id, share)
            result.outputs.append(Output(STEP.carries, item.article.id.encode(), enriched))
        return result
