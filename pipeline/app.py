"""The Faust app, configured from settings when a worker starts (never at import time).

One agent per stage, all in one worker process; run more worker processes (or
pods) in the same group to use more cores: Kafka splits the partitions of
every stage topic among them.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from prometheus_client import REGISTRY, CollectorRegistry

from pipeline import __version__
from pipeline.broker.quirks import faust_broker_settings
from pipeline.broker.security import faust_security_settings
from pipeline.health import Health
from pipeline.metrics import Metrics, create_metrics
from pipeline.settings import Settings
from pipeline.stages.agents import Sink, TopicSink, make_agent
from pipeline.stages.base import Stage
from pipeline.stages.chain import ChainStage, NlpSteps
from pipeline.stages.child import ChildStage
from pipeline.stages.code import CodeStage
from pipeline.stages.enrich import EnrichStage
from pipeline.stages.extract import ExtractStage
from pipeline.stages.lane import LongLane
from pipeline.stages.validate import Deduper, ValidateStage
from pipeline.topics import Role, TopicNames
from pipeline.watch import Watch, progress_recorder

FAUST_METRICS_PREFIX = "dipwire_faust"
"""Faust's own sensor metrics start with this, beside the pipeline's ``dipwire_*``."""


PRODUCER_COMPRESSION = "zstd"
"""Codec of every batch a worker produces: on annotated articles 4.8 times smaller for 3.7 ms
of CPU a MB (gzip: 5.4 times for 40 ms, lz4: 3.8 times for 15 ms); see the README."""


@dataclass(frozen=True)
class Pipeline:
    """A configured worker: the Faust app, its stages, topics and metrics."""

    app: faust.App
    stages: tuple[Stage, ...]
    topics: TopicNames
    metrics: Metrics
    health: Health


def build_stages(
    settings: Settings, analyzer: NlpSteps, *, extract: Stage | None = None
) -> tuple[Stage, ...]:
    """The four stages in flow order, wired from settings.

    The extract agent's stage chains enrich and code when ``settings.chain_stages``
    (:class:`ChainStage`); ``extract`` replaces it (the worker passes a
    ``ChildStage`` that runs it in parse processes). The enrich and code stages
    are there either way, for what reaches their topics.
    """
    first: Stage = (
        ChainStage.on(analyzer, __version__) if settings.chain_stages else ExtractStage(analyzer)
    )
    return (
        ValidateStage(
            # The stage refuses a raw message before parsing it when it is larger than
            # the input limit, even if the clients could carry it (the output limit is
            # higher because an annotated article is several times its body).
            max_message_bytes=min(settings.max_input_bytes, settings.max_message_bytes),
            max_body_bytes=settings.max_body_bytes,
            deduper=Deduper(capacity=settings.dedupe_window),
        ),
        extract if extract is not None else first,
        EnrichStage(analyzer),
        CodeStage(analyzer, pipeline_version=__version__),
    )


def faust_settings(settings: Settings) -> dict[str, Any]:
    """Faust configuration for ``settings``; the embedded broker's workarounds included."""
    if not settings.kafka_bootstrap_servers:
        raise ValueError("the Faust app needs a broker address; start the embedded broker first")
    brokers = [f"kafka://{host.strip()}" for host in settings.kafka_bootstrap_servers.split(",")]
    conf: dict[str, Any] = {
        "broker": brokers,
        "autodiscover": False,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "web_enabled": True,
        "web_bind": settings.web_host,
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "processing_guarantee": settings.processing_guarantee,
        "stream_buffer_maxsize": settings.stream_buffer_maxsize,
        "consumer_auto_offset_reset": "earliest",
        "consumer_max_fetch_size": settings.max_message_bytes,
        "producer_max_request_size": settings.max_message_bytes,
        "producer_compression_type": PRODUCER_COMPRESSION,
        "producer_acks": -1,
        "datadir": _scratch_dir(),
        "logging_config": None,
    }
    credentials = faust_security_settings(settings)
    if credentials is not None:
        conf["broker_credentials"] = credentials
    conf.update(
        faust_broker_settings(settings.embedded, processing_guarantee=settings.processing_guarantee)
    )
    return conf


def _scratch_dir() -> str:
    """Faust wants a data directory even without tables; a private one, removed at exit."""
    path = tempfile.mkdtemp(prefix="dipwire-faust-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _highwater(app: faust.App) -> Callable[[str, int], int | None]:
    """The end offset of a partition as the app's consumer last saw it (for the lag gauge)."""

    def highwater(topic: str, partition: int) -> int | None:
        try:
            value = app.consumer.highwater(faust.types.TP(topic, partition))
        except Exception:  # the consumer may be rebalancing; lag is best effort
            return None
        return int(value) if value is not None else None

    return highwater


def _long_lane(settings: Settings, lane: Stage | None) -> LongLane | None:
    """The extract agent's long lane on ``lane``, with a thread of its own to wait on it."""
    if lane is None or settings.long_article_bytes <= 0:
        return None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dipwire-extract-long")
    return LongLane(lane, pool, settings.long_article_bytes)


def _watch(
    app: faust.App,
    settings: Settings,
    stages: tuple[Stage, ...],
    names: TopicNames,
    health: Health,
    metrics: Metrics,
) -> None:
    """``/healthz``, ``/readyz`` and the lag and broker watches (``pipeline.watch``)."""
    children = [s for s in stages if isinstance(s, ChildStage)]
    Watch(
        app,
        health,
        metrics,
        {stage.id: names.of(stage.input_role) for stage in stages},
        stall_seconds=settings.stall_seconds,
        children_alive=lambda: all(child.alive() for child in children),
    ).install()


def create_pipeline(
    settings: Settings,
    analyzer: NlpSteps,
    *,
    registry: CollectorRegistry | None = None,
    sink: Sink | None = None,
    extract: Stage | None = None,
    lane: Stage | None = None,
) -> Pipeline:
    """Create the Faust app with one agent per stage, ``/metrics``, ``/healthz`` and ``/readyz``.

    ``sink`` replaces publishing to Kafka (agent tests pass a ``ListSink``);
    ``extract`` replaces the in-process extract stage (see ``build_stages``);
    ``lane`` parses the long articles beside it (:mod:`pipeline.stages.lane`).
    """
    registry = REGISTRY if registry is None else registry
    app = faust.App(settings.app_id, **faust_settings(settings))
    setup_prometheus_sensors(app, registry=registry, name_prefix=FAUST_METRICS_PREFIX)
    metrics = create_metrics(registry)
    names = TopicNames.from_settings(settings)
    topics = {
        role: app.topic(
            names.of(role), key_type=bytes, value_type=bytes, partitions=settings.partitions
        )
        for role in Role
    }
    outputs: Sink = sink if sink is not None else TopicSink(topics)
    # One thread per stage, so a cheap stage's batch never queues behind a parse (at
    # half load the p95 of the validate, enrich and code hops fell from ~0.4 s to
    # ~0.15 s). The GIL lets one of them run Python at a time; the parse gets a core
    # of its own when ``extract`` is a ``ChildStage`` (its thread only waits).
    stages = build_stages(settings, analyzer, extract=extract)
    health = Health()
    on_progress = progress_recorder(health, metrics)

    highwater = _highwater(app)
    long_lane = _long_lane(settings, lane)
    for stage in stages:
        # A parse in child processes takes one batch per child at a time: as many
        # agent instances (sharing the topic's queue) and threads to wait on them.
        concurrency = stage.processes if isinstance(stage, ChildStage) else 1
        agent_fn = make_agent(
            stage,
            outputs,
            metrics,
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"dipwire-{stage.id}"),
            settings.batch_size,
            settings.batch_within,
            highwater,
            chunk_bytes=(settings.parse_chunk_bytes or None) if stage.id == "extract" else None,
            max_message_bytes=settings.max_message_bytes,
            lane=long_lane if stage.id == "extract" else None,
            on_progress=on_progress,
        )
        app.agent(topics[stage.input_role], name=stage.id, concurrency=concurrency)(agent_fn)

    _watch(app, settings, stages, names, health, metrics)
    return Pipeline(app=app, stages=stages, topics=names, metrics=metrics, health=health)
