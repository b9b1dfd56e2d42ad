"""Stage ``code``: the diplomatic events of each article, and one ``ArticleCoded`` each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pipeline.models import ArticleCoded, DiplomaticEvent, EnrichedArticle
from pipeline.stages.base import BatchResult, Output, Record, add_timing, run_batch
from pipeline.topics import Role, step

STEP = step("code")


class EventCoding(Protocol):
    """What the code stage needs of ``pipeline.nlp.Analyzer``."""

    def code(
        self, item: EnrichedArticle, *, pipeline_version: str, emitted_at: datetime
    ) -> list[DiplomaticEvent]:
        """Code the diplomatic events of one article."""
        ...


@dataclass
class CodeStage:
    """Code diplomatic events; one ``ArticleCoded`` per article closes its account."""

    analyzer: EventCoding
    pipeline_version: str
    id: str = STEP.stage
    input_role: Role = STEP.reads
    output_roles: tuple[Role, ...] = STEP.writes

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        """Code every decodable enriched article of the batch."""
        result = BatchResult()

        def code_batch(items: Sequence[EnrichedArticle]) -> list[list[DiplomaticEvent]]:
            return [
                self.analyzer.code(item, pipeline_version=self.pipeline_version, emitted_at=now)
                for item in items
            ]

        done, share = run_batch(self.id, records, EnrichedArticle, code_batch, now, result)
        for item, outcome in done:
            article = item.article
            for event in outcome:
                result.outputs.append(Output(Role.EVENTS, event.event_id.encode(), event))
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
            result.outputs.append(Output(STEP.carries, article.id.encode(), coded))
        return result
