"""Stage ``extract``: parse once with spaCy, find actor mentions and places.

The whole batch goes to the analyzer at once (spaCy's ``nlp.pipe`` runs over
it); one message the analyzer cannot handle is dead-lettered, the batch goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from pipeline.models import AnnotatedArticle, Article
from pipeline.stages.base import (
    BatchResult,
    Output,
    Record,
    add_timing,
    decode_batch,
    run_decoded,
)
from pipeline.topics import Role, step

if TYPE_CHECKING:
    from pipeline.nlp import NlpConfig

STEP = step("extract")


class Annotator(Protocol):
    """What the extract stage needs of ``pipeline.nlp.Analyzer``."""

    def annotate(self, articles: Sequence[Article]) -> list[AnnotatedArticle]:
        """Parse a batch of articles once and find actors and places."""
        ...


@dataclass
class ExtractStage:
    """Parse once with spaCy; find actor mentions and places."""

    analyzer: Annotator
    id: str = STEP.stage
    input_role: Role = STEP.reads
    output_roles: tuple[Role, ...] = STEP.writes

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        """Annotate every decodable article of the batch."""
        result = BatchResult()
        for _, annotated in self.carry(
            decode_batch(self.id, records, Article, now, result), now, result
        ):
            result.outputs.append(Output(STEP.carries, annotated.article.id.encode(), annotated))
        return result

    def carry(
        self, decoded: Sequence[tuple[Record, Article]], now: datetime, result: BatchResult
    ) -> list[tuple[Record, AnnotatedArticle]]:
        """Annotate decoded articles, each beside the record it came from; failures dead-letter."""
        done, share = run_decoded(self.id, decoded, self.analyzer.annotate, now, result)
        carried = []
        for record, _, outcome in done:
            result.truncated += outcome.truncated
            carried.append((record, add_timing(outcome, self.id, share)))
        return carried


def load_extract_stage(config: NlpConfig) -> ExtractStage:
    """Load an analyzer and build the extract stage on it: what a ``ChildStage`` child runs.

    The child only annotates, so it leaves out the issue and discard
    dictionaries: the worker that runs enrich and code loads them.
    """
    from pipeline.nlp import Analyzer as LoadedAnalyzer

    annotate_only = replace(config, issue_dictionaries=(), discard_dictionaries=())
    return ExtractStage(LoadedAnalyzer.load(annotate_only))
