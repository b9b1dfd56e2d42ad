"""Every Prometheus metric of the pipeline, in one place.

Label sets are bounded: stage ids, error kinds, CAMEO roots, QuadClass and
ISO-3 country codes. Never an article id or an actor name.
Faust's own sensor adds its metrics (prefixed with the app id) beside these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Summary

# Seconds; NLP work per article sits between 5 ms and a few seconds.
_STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Seconds from the validate stage's receipt of an article to the event's publication.
_LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)
# Articles per batch.
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


@dataclass(frozen=True)
class Metrics:
    """The pipeline's metrics, registered on one registry."""

    messages_in: Counter
    messages_out: Counter
    messages_failed: Counter
    processing_seconds: Histogram
    batch_size: Histogram
    ingest_to_emit_seconds: Histogram
    events: Counter
    dyad_events: Counter
    dyad_tone: Summary
    dead_letters: Counter
    duplicates: Counter
    truncated: Counter
    discarded: Counter
    articles_coded: Counter
    outputs_reduced: Counter
    publish_retries: Counter
    consumer_lag: Gauge
    last_event_timestamp: Gauge
    stage_last_progress: Gauge
    broker_up: Gauge
    broker_probe_failures: Counter
    log_lines_suppressed: Counter


def create_metrics(registry: CollectorRegistry | None = None) -> Metrics:
    """Register every metric on ``registry`` (the process default when None).

    Tests pass a fresh ``CollectorRegistry`` so that runs do not share counts.
    """
    reg = REGISTRY if registry is None else registry
    return Metrics(
        **_stage_metrics(reg),
        **_event_metrics(reg),
        **_article_metrics(reg),
        **_health_metrics(reg),
    )


def _stage_metrics(reg: CollectorRegistry) -> dict[str, Any]:
    """Per stage: messages in, out and failed, work per message, batch sizes, lag."""
    return {
        "messages_in": Counter(
            "dipwire_stage_messages_in", "Messages a stage consumed.", ["stage"], registry=reg
        ),
        "messages_out": Counter(
            "dipwire_stage_messages_out",
            "Messages a stage produced to its output topic.",
            ["stage"],
            registry=reg,
        ),
        "messages_failed": Counter(
            "dipwire_stage_messages_failed",
            "Messages a stage could not process (each also dead-lettered).",
            ["stage"],
            registry=reg,
        ),
        "processing_seconds": Histogram(
            "dipwire_stage_processing_seconds",
            "Seconds of stage work per message (a batch's time shared among its messages).",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=reg,
        ),
        "batch_size": Histogram(
            "dipwire_stage_batch_size",
            "Messages per batch taken from the stream.",
            ["stage"],
            buckets=_BATCH_BUCKETS,
            registry=reg,
        ),
        "consumer_lag": Gauge(
            "dipwire_consumer_lag_messages",
            "Messages behind the partition's high watermark, as seen by a stage.",
            ["stage", "partition"],
            registry=reg,
        ),
    }


def _event_metrics(reg: CollectorRegistry) -> dict[str, Any]:
    """Per event: counts by CAMEO root, QuadClass and dyad, dyad tone, the last one's time."""
    return {
        "events": Counter(
            "dipwire_events",
            "Diplomatic events emitted.",
            ["cameo_root", "quad_class"],
            registry=reg,
        ),
        "dyad_events": Counter(
            "dipwire_dyad_events",
            "Events emitted per country dyad (ISO-3, or 'none') and QuadClass.",
            ["source_country", "target_country", "quad_class"],
            registry=reg,
        ),
        "dyad_tone": Summary(
            "dipwire_dyad_tone",
            "Sentence tone (GDELT scale, -100..100) of events per country dyad.",
            ["source_country", "target_country"],
            registry=reg,
        ),
        "last_event_timestamp": Gauge(
            "dipwire_last_event_timestamp_seconds",
            "Unix time of the last event emitted.",
            registry=reg,
        ),
    }


def _article_metrics(reg: CollectorRegistry) -> dict[str, Any]:
    """Per article: latency to its events, dead letters, duplicates, truncations, accounts."""
    return {
        "ingest_to_emit_seconds": Histogram(
            "dipwire_ingest_to_emit_seconds",
            "Seconds from an article's receipt by the validate stage to its events' publication.",
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        ),
        "dead_letters": Counter(
            "dipwire_dead_letters",
            "Messages routed to the dead-letter topic.",
            ["stage", "kind"],
            registry=reg,
        ),
        "duplicates": Counter(
            "dipwire_duplicates",
            "Articles dropped as duplicates (same id or same normalised body).",
            ["reason"],
            registry=reg,
        ),
        "truncated": Counter(
            "dipwire_articles_truncated",
            "Articles whose body was cut to the NLP length limit before parsing.",
            registry=reg,
        ),
        "discarded": Counter(
            "dipwire_discarded",
            "Sentences (scope=sentence) and articles (scope=story) not coded because they "
            "hold a phrase of a discard dictionary.",
            ["scope"],
            registry=reg,
        ),
        "articles_coded": Counter(
            "dipwire_articles_coded", "Articles that went through every stage.", registry=reg
        ),
        "outputs_reduced": Counter(
            "dipwire_outputs_reduced",
            "Outputs made smaller to fit DIPWIRE_MAX_MESSAGE_BYTES (an annotation that keeps "
            "the parse of fewer sentences, a dead letter that keeps fewer payload bytes).",
            ["stage"],
            registry=reg,
        ),
        "publish_retries": Counter(
            "dipwire_publish_retries",
            "Outputs sent again after a retriable publish error (one per output and attempt).",
            ["stage"],
            registry=reg,
        ),
    }


def _health_metrics(reg: CollectorRegistry) -> dict[str, Any]:
    """What readiness is judged on: each stage's last progress, the broker, the quieted log."""
    return {
        "stage_last_progress": Gauge(
            "dipwire_stage_last_progress_timestamp_seconds",
            "Unix time a stage last finished (published) a batch.",
            ["stage"],
            registry=reg,
        ),
        "broker_up": Gauge(
            "dipwire_broker_up",
            "1 when the broker answered the worker's last probe, 0 when it did not.",
            registry=reg,
        ),
        "broker_probe_failures": Counter(
            "dipwire_broker_probe_failures",
            "Probes of the broker (a metadata request) that failed or timed out.",
            registry=reg,
        ),
        "log_lines_suppressed": Counter(
            "dipwire_log_lines_suppressed",
            "Repeated log lines of the Kafka clients and Faust left out of the log.",
            ["logger"],
            registry=reg,
        ),
    }
