"""The agent tier's wiring: the real Faust app and stages, a list sink instead of Kafka.

``wire()`` builds the app as the worker does (``create_pipeline``) with a fake
analyzer and a sink that keeps what is published; ``Wiring.feed`` puts
messages into one agent under Faust's ``test_context`` and waits for the
outputs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from pipeline.app import Pipeline, create_pipeline
from pipeline.settings import Settings
from pipeline.stages.agents import ListSink
from pipeline.testing import UnusedAnalyzer


@dataclass
class Wiring:
    """One wired app: its pipeline, the sink its agents publish to, its metrics registry."""

    pipeline: Pipeline
    sink: ListSink
    registry: CollectorRegistry

    def agent(self, stage_id: str) -> Any:
        """The Faust agent of ``stage_id``."""
        matches = [a for name, a in self.pipeline.app.agents.items() if name.endswith(stage_id)]
        assert len(matches) == 1, list(self.pipeline.app.agents)
        return matches[0]

    def feed(
        self,
        stage_id: str,
        messages: Sequence[tuple[bytes | None, bytes]],
        until: Callable[[], bool] | None = None,
        timeout: float = 10.0,
        headers: Sequence[dict[str, bytes] | None] | None = None,
    ) -> None:
        """Put ``(key, value)`` messages into the agent; wait for one output each, or ``until``.

        ``headers``, when given, holds each message's headers, in order.
        """
        done = until or (lambda: len(self.sink.outputs) >= len(messages))

        async def scenario() -> None:
            async with self.agent(stage_id).test_context() as agent:
                for i, (key, value) in enumerate(messages):
                    extra = headers[i] if headers is not None else None
                    await agent.put(value, key=key, headers=extra, wait=False)
                await _until(done, timeout)

        self.pipeline.app.loop.run_until_complete(scenario())

    def sample(self, name: str, **labels: str) -> float | None:
        """A metric's value in this app's registry."""
        return self.registry.get_sample_value(name, labels)


async def _until(condition: Callable[[], bool], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the agent")
        await asyncio.sleep(0.01)


@contextlib.contextmanager
def wire(analyzer: object = None, sink: ListSink | None = None, **fields: Any) -> Iterator[Wiring]:
    """Build the app with ``analyzer`` (default: one that must not be called) and ``sink``."""
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:1", embedded_broker=False, **fields)
    sink = sink if sink is not None else ListSink()
    registry = CollectorRegistry()
    # Faust takes the current event loop; the previous test closed its own.
    asyncio.set_event_loop(asyncio.new_event_loop())
    pipeline = create_pipeline(settings, analyzer or UnusedAnalyzer(), registry=registry, sink=sink)  # type: ignore[arg-type]
    try:
        yield Wiring(pipeline, sink, registry)
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
