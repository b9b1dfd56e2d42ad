"""The Faust agents under ``test_context``: real app, real stages, a list sink instead of Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from pipeline.app import Pipeline, create_pipeline
from pipeline.models import AnnotatedArticle, Article, DeadLetter
from pipeline.settings import Settings
from pipeline.stages.agents import ListSink

pytestmark = pytest.mark.agents


class _UnusedAnalyzer:
    """The validate agent never reaches the NLP; any call here is a wiring bug."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"validate stage called analyzer.{name}")


@pytest.fixture()
def wired() -> Iterator[tuple[Pipeline, ListSink, CollectorRegistry]]:
    with _wire(batch_within=0.01) as wiring:
        yield wiring


@contextlib.contextmanager
def _wire(
    analyzer: object = None, **fields: object
) -> Iterator[tuple[Pipeline, ListSink, CollectorRegistry]]:
    settings = Settings(
        kafka_bootstrap_servers="127.0.0.1:1",
        embedded_broker=False,
        **fields,  # type: ignore[arg-type]
    )
    sink = ListSink()
    registry = CollectorRegistry()
    analyzer = analyzer or _UnusedAnalyzer()
    # Faust takes the current event loop; the previous test closed its own.
    asyncio.set_event_loop(asyncio.new_event_loop())
    pipeline = create_pipeline(settings, analyzer, registry=registry, sink=sink)  # type: ignore[arg-type]
    try:
        yield pipeline, sink, registry
    finally:
        loop = pipeline.app.loop
        if not loop.is_closed():
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        # Faust builds a consumer thread with its own event loop that test_context never
        # starts, so nothing closes that loop; close it here.
        thread_loop = pipeline.app.consumer._thread.thread_loop
        if not thread_loop.is_closed():
            thread_loop.close()


async def _until(condition: object, timeout: float = 10.0) -> None:
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the agent")
        await asyncio.sleep(0.01)


def _agent(pipeline: Pipeline, stage_id: str):  # type: ignore[no-untyped-def]
    matches = [a for name, a in pipeline.app.agents.items() if name.endswith(stage_id)]
    assert len(matches) == 1, list(pipeline.app.agents)
    return matches[0]


def test_validate_agent_publishes_articles_and_dead_letters(
    wired: tuple[Pipeline, ListSink, CollectorRegistry],
) -> None:
    pipeline, sink, registry = wired

    async def scenario() -> None:
        async with _agent(pipeline, "validate").test_context() as agent:
            good = json.dumps({"id": "a1", "body": "Leaders met in Geneva."}).encode()
            await agent.put(good, key=b"a1", wait=False)
            await agent.put(b"\xff not utf-8", wait=False)
            await _until(lambda: len(sink.outputs) == 2)

    pipeline.app.loop.run_until_complete(scenario())
    articles = sink.by_role("valid")
    letters = sink.by_role("dlq")
    assert [a.id for a in articles if isinstance(a, Article)] == ["a1"]
    assert [d.error_kind for d in letters if isinstance(d, DeadLetter)] == ["not_utf8"]
    sample = registry.get_sample_value
    assert sample("dipwire_stage_messages_in_total", {"stage": "validate"}) == 2
    assert sample("dipwire_stage_messages_out_total", {"stage": "validate"}) == 1
    assert sample("dipwire_dead_letters_total", {"stage": "validate", "kind": "not_utf8"}) == 1
    assert sample("dipwire_stage_processing_seconds_count", {"stage": "validate"}) == 2


class _RecordingAnalyzer:
    """Annotates without parsing and remembers the article ids of every call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def annotate(self, articles: list[Article]) -> list[AnnotatedArticle]:
        self.calls.append([a.id for a in articles])
        return [AnnotatedArticle(article=a, tokens=[], sentences=[], actors=[]) for a in articles]


def test_extract_parses_a_batch_shortest_first_and_publishes_each_piece() -> None:
    analyzer = _RecordingAnalyzer()
    # A long batch window, so the three articles are taken as one batch.
    with _wire(analyzer, batch_within=0.5, parse_chunk_bytes=2_000) as (pipeline, sink, _):

        async def scenario() -> None:
            async with _agent(pipeline, "extract").test_context() as agent:
                articles = [("long", "word " * 4_000), ("s1", "Leaders met."), ("s2", "Envoys.")]
                for article_id, body in articles:
                    value = Article(id=article_id, body=body).model_dump_json().encode()
                    await agent.put(value, key=article_id.encode(), wait=False)
                await _until(lambda: len(sink.outputs) == 3)

        pipeline.app.loop.run_until_complete(scenario())
    assert analyzer.calls == [["s2", "s1"], ["long"]]
    published = [a.article.id for a in sink.by_role("annotated")]
    assert published == ["s2", "s1", "long"]
