"""Stage ``code``: the diplomatic events of each article, and one ``ArticleCoded`` each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pipeline.models import ArticleCoded, DiplomaticEvent, EnrichedArticle
from pipeline.nlp.issues import Discards
from pipeline.stages.base import (
    BatchResult,
    Output,
    Record,
    add_timing,
    decode_batch,
    run_decoded,
)
from pipeline.topics import Role, step

STEP = step("code")

CodedArticle = tuple[list[DiplomaticEvent], Discards]
"""An article's events, and the sentences (or the story) a discard phrase kept from coding."""


class EventCoding(Protocol):
    """What the code stage needs of ``pipeline.nlp.Analyzer``."""

    def code_article(
        self, item: EnrichedArticle, *, pipeline_version: str, emitted_at: datetime
    ) -> CodedArticle:
        """Code the diplomatic events of one article; say what was discarded."""
        ...


@dataclass
class CodeStage:
    """Code diplomatic events; one ``ArticleCoded`` per article closes its account.

    An article a story discard rules out still gets its ``ArticleCoded``
    (with 0 events), so every article's account is closed.
    """

    analyzer: EventCoding
    pipeline_version: str
    id: str = STEP.stage
    input_role: Role = STEP.reads
    output_roles: tuple[Role, ...] = STEP.writes

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        """Code every decodable enriched article of the batch."""
        result = BatchResult()
        self.carry(decode_batch(self.id, records, EnrichedArticle, now, result), now, result)
        return result

    def carry(
        self, decoded: Sequence[tuple[Record, EnrichedArticle]], now: datetime, result: BatchResult
    ) -> None:
        """Code decoded enriched articles: their events and ``ArticleCoded`` go to ``result``."""

        def code_batch(items: Sequence[EnrichedArticle]) -> list[CodedArticle]:
            return [
                self.analyzer.code_article(
                    item, pipeline_version=self.pipeline_version, emitted_at=now
                )
                for item in items
            ]

        done, share = run_decoded(self.id, decoded, code_batch, now, result)
        for _, item, (events, discards) in done:
            _count_discards(result, discards)
            article = item.article
            for event in events:
                result.outputs.append(Output(Role.EVENTS, event.event_id.encode(), event))
            timed = add_timing(item, self.id, share)
            coded = ArticleCoded(
                article_id=article.id,
                events=len(events),
                event_ids=[e.event_id for e in events],
                truncated=item.truncated,
                timings=timed.timings,
                received_at=article.received_at,
                coded_at=now,
            )
            result.outputs.append(Output(STEP.carries, article.id.encode(), coded))


def _count_discards(result: BatchResult, discards: Discards) -> None:
    if discards.story is not None:
        result.discarded["story"] = result.discarded.get("story", 0) + 1
    elif discards.sentences:
        count = result.discarded.get("sentence", 0) + len(discards.sentences)
        result.discarded["sentence"] = count
