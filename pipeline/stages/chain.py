"""Extract, enrich and code an article in one call: the parse never crosses a topic.

With ``DIPWIRE_CHAIN_STAGES`` (the default) the extract agent runs this stage:
each article of ``articles.valid`` is parsed, enriched and coded in the parse
process that parsed it, and only its events and its ``ArticleCoded`` (or a
dead letter) leave it. The internal topics ``articles.annotated`` and
``articles.enriched`` stay empty; the enrich and code agents still read them,
so a worker with the setting off (or of an older version) in the same group
is served. Each step is the stage's own code (``carry``), so the events are
the ones the three agents would publish, and a step that fails for one
article dead-letters the message read, under the step's own stage id.

What this saves, per article, is what carrying the parse costs: the
annotation's JSON and compression twice, two broker round trips of about
17 KB, two decodes and validations in the worker process, and the worker
process's share of enrich and code (which move to the parse process).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from pipeline import __version__
from pipeline.models import Article
from pipeline.stages.base import BatchResult, Record, StepCount, decode_batch
from pipeline.stages.code import CodeStage, EventCoding
from pipeline.stages.enrich import Enricher, EnrichStage
from pipeline.stages.extract import Annotator, ExtractStage
from pipeline.topics import CHAIN, Role

if TYPE_CHECKING:
    from pipeline.nlp import NlpConfig


class NlpSteps(Annotator, Enricher, EventCoding, Protocol):
    """What the three NLP steps need together (``pipeline.nlp.Analyzer`` is one)."""


@dataclass
class ChainStage:
    """The extract, enrich and code stages one after the other on each batch."""

    extract: ExtractStage
    enrich: EnrichStage
    code: CodeStage
    id: str = CHAIN.stage
    input_role: Role = CHAIN.reads
    output_roles: tuple[Role, ...] = CHAIN.writes

    @classmethod
    def on(cls, analyzer: NlpSteps, pipeline_version: str = __version__) -> ChainStage:
        """The chain of the three stages on one analyzer."""
        return cls(
            ExtractStage(analyzer),
            EnrichStage(analyzer),
            CodeStage(analyzer, pipeline_version=pipeline_version),
        )

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        """Code every decodable article of the batch; publish its events and its account."""
        result = BatchResult()
        started = time.perf_counter()
        chained = getattr(self.extract.analyzer, "chained", contextlib.nullcontext)
        with chained():  # the real analyzer codes the docs it parsed (no rebuild)
            articles = decode_batch(self.extract.id, records, Article, now, result)
            annotated = self.extract.carry(articles, now, result)
            parsed = time.perf_counter()
            enriched = self.enrich.carry(annotated, now, result)
            coding = time.perf_counter()
            before = len(result.outputs)
            self.code.carry(enriched, now, result)
        published = sum(1 for o in result.outputs[before:] if o.role in (Role.EVENTS, Role.CODED))
        result.steps = {
            self.extract.id: StepCount(len(records), len(annotated), parsed - started),
            self.enrich.id: StepCount(len(annotated), len(enriched), coding - parsed),
            self.code.id: StepCount(len(enriched), published, time.perf_counter() - coding),
        }
        return result


def load_chain_stage(config: NlpConfig) -> ChainStage:
    """Load an analyzer and chain the three stages on it: what a chained parse process runs."""
    from pipeline.nlp import Analyzer as LoadedAnalyzer

    return ChainStage.on(LoadedAnalyzer.load(config))
