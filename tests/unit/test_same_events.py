"""The speed work changes no event: the stages' path gives what the in-process chain gives.

The seed and the Wikinews development articles are coded with one
loaded analyzer and one clock: (1) the in-process chain the benchmark's limit
runs (``annotate`` over batches of 16 in file order, ``enrich``, ``code``; no
JSON, no lane), and (2) the stages as a worker runs them: JSON records on
every internal topic, each output encoded and fitted as it is published, a
batch parsed shortest first in pieces, and every article at or over
:data:`LANE_BYTES` parsed alone, as the long lane parses it; (3) the same
pieces through the chained extract agent (``DIPWIRE_CHAIN_STAGES``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pipeline import __version__
from pipeline.codec import Origin, Rejected, decode_article, encode
from pipeline.models import Article, ArticleCoded, DiplomaticEvent
from pipeline.nlp import Analyzer, NlpConfig
from pipeline.settings import Settings
from pipeline.stages.agents import NO_LIMIT, pieces, process_and_fit
from pipeline.stages.base import Record, Stage
from pipeline.stages.chain import ChainStage
from pipeline.stages.code import CodeStage
from pipeline.stages.enrich import EnrichStage
from pipeline.stages.extract import ExtractStage
from pipeline.stages.lane import is_long
from pipeline.testing import NOW

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
BATCH = 16
LANE_BYTES = 3_000
"""Below the default (6,000), which no article of these sets reaches: a fifth go to the lane."""


def _articles() -> list[Article]:
    rows: list[dict[str, Any]] = [
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(ROOT.glob("seeds/*.json"))
    ]
    lines = (ROOT / "eval/wikinews/articles.jsonl").read_text(encoding="utf-8").splitlines()
    rows += [json.loads(line) for line in lines if line.strip()]
    settings = Settings()
    out = []
    for row in rows:
        fields = {k: v for k, v in row.items() if k != "events"}
        article = decode_article(
            json.dumps(fields).encode(),
            max_message_bytes=settings.max_input_bytes,
            max_body_bytes=settings.max_body_bytes,
            now=NOW,
        )
        assert not isinstance(article, Rejected), article
        out.append(article)
    return out


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer.load(NlpConfig())


def _in_process(analyzer: Analyzer, articles: Sequence[Article]) -> list[DiplomaticEvent]:
    events: list[DiplomaticEvent] = []
    for start in range(0, len(articles), BATCH):
        for item in analyzer.enrich(analyzer.annotate(articles[start : start + BATCH])):
            events += analyzer.code(item, pipeline_version=__version__, emitted_at=NOW)
    return events


def _run(stage: Stage, records: Sequence[Record]) -> list[Record]:
    """The stage on ``records`` as the agent runs it; its outputs as the next stage reads them."""
    result, fitted = process_and_fit(stage, records, NOW, NO_LIMIT)
    assert not result.dead_letters(), result.dead_letters()
    return [Record(o.payload(), Origin(o.role.value), o.key) for o in fitted.outputs]


def _extract_agent(stage: Stage, articles: Sequence[Article]) -> list[Record]:
    """What the extract agent publishes: batches in pieces, long articles alone (the lane)."""
    settings = Settings()
    valid = [Record(encode(a), Origin("articles.valid"), a.id.encode()) for a in articles]
    out: list[Record] = []
    for start in range(0, len(valid), BATCH):
        batch = valid[start : start + BATCH]
        long = [r for r in batch if is_long(r, LANE_BYTES)]
        rest = [r for r in batch if not is_long(r, LANE_BYTES)]
        for piece in [*pieces(rest, settings.parse_chunk_bytes), *([r] for r in long)]:
            out += _run(stage, piece) if piece else []
    return out


def _through_stages(analyzer: Analyzer, articles: Sequence[Article]) -> list[Record]:
    annotated = _extract_agent(ExtractStage(analyzer), articles)
    enriched = _run(EnrichStage(analyzer), annotated)
    return _run(CodeStage(analyzer, pipeline_version=__version__), enriched)


def _chained(analyzer: Analyzer, articles: Sequence[Article]) -> list[Record]:
    return _extract_agent(ChainStage.on(analyzer, __version__), articles)


@pytest.mark.parametrize("path", [_through_stages, _chained], ids=["topics", "chained"])
def test_the_stages_code_the_same_events_as_the_in_process_chain(
    analyzer: Analyzer, path: Callable[[Analyzer, Sequence[Article]], list[Record]]
) -> None:
    articles = _articles()
    long = [a.id for a in articles if len(encode(a)) >= LANE_BYTES]
    assert len(articles) >= 40 and len(long) >= 5, "the sets have long articles for the lane"
    expected = _in_process(analyzer, articles)
    outputs = path(analyzer, articles)
    assert {r.origin.topic for r in outputs} == {"events", "coded"}
    events = [
        DiplomaticEvent.model_validate_json(r.value) for r in outputs if r.origin.topic == "events"
    ]
    coded = [
        ArticleCoded.model_validate_json(r.value) for r in outputs if r.origin.topic == "coded"
    ]
    assert len(expected) > 100
    assert sorted(e.model_dump_json() for e in events) == sorted(
        e.model_dump_json() for e in expected
    )
    assert sorted(c.article_id for c in coded) == sorted(a.id for a in articles)
    assert sorted(i for c in coded for i in c.event_ids) == sorted(e.event_id for e in expected)
