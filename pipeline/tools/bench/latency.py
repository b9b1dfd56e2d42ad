"""Latency at a fixed rate: send time to ``articles.coded``, and each hop between stage topics."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from pipeline.settings import Settings
from pipeline.tools.bench.articles import tagged
from pipeline.tools.bench.collect import Collected, Collector, publish
from pipeline.tools.bench.stats import percentile, summarize

HOPS: tuple[tuple[str, str, str], ...] = (
    ("validate", "raw", "valid"),
    ("extract", "valid", "annotated"),
    ("enrich", "annotated", "enriched"),
    ("code", "enriched", "coded"),
)
"""Stage topics in flow order, by role, and the stage that writes each one."""


def measure_latency(
    settings: Settings,
    names: Any,
    producer: Any,
    articles: Sequence[dict[str, Any]],
    rate: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Publish at ``rate`` and read every stage topic's record timestamps for each article."""
    from kafka import TopicPartition

    from pipeline.broker.quirks import true_end_offsets
    from pipeline.broker.security import kafka_client_kwargs

    topics = {role: getattr(names, role) for role in ("raw", "valid", "annotated", "enriched")}
    topics["coded"] = names.coded
    watched = [*topics.values(), names.dlq]
    assert settings.kafka_bootstrap_servers
    tps = [TopicPartition(t, p) for t in watched for p in range(settings.partitions)]
    ends = true_end_offsets(
        settings.kafka_bootstrap_servers, tps, client_kwargs=kafka_client_kwargs(settings)
    )
    messages = tagged(articles, "l")
    collector = Collector(
        settings,
        watched,
        [names.coded, names.dlq],
        [k for k, _ in messages],
        keep_values=names.coded,
        start=ends,
    )
    try:
        publish(producer, names.raw, messages, rate)
        collector.wait(args.timeout + len(messages) / rate, lambda: True)
    finally:
        collector.close()
    chars = {key: len(orjson.loads(value).get("body") or "") for key, value in messages}
    return latency_report(collector.data, topics, chars)


def latency_report(
    data: Collected, topics: Mapping[str, str], chars: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """End-to-end, from-receipt and per-hop latency (seconds) from the collected timestamps.

    ``end_to_end`` runs from the producer's send time of the raw record to the
    timestamp of the article's ``articles.coded`` record; ``from_receipt``
    starts instead at ``received_at``, stamped when the validate stage took the
    article's batch; ``to_receipt`` is the time before that (broker fetch, Faust's
    buffer and the batch window). Each hop runs from the record on a stage's input topic to
    the record on its output topic; ``work_p50`` is the stage's own share of its
    batch time (the article's ``timings``), the rest of the hop is waiting.
    ``slowest`` names the five slowest articles with their body length
    (``chars``, by id).
    """
    stamps = data.timestamps
    raw, coded = stamps[topics["raw"]], stamps[topics["coded"]]
    by_article = {k: (coded[k] - raw[k]) / 1000 for k in coded if k in raw}
    slowest = sorted(by_article.items(), key=lambda item: item[1], reverse=True)[:5]
    from_receipt, to_receipt, work = _receipts(data.values, raw, coded)
    hops: dict[str, Any] = {}
    for stage, source, target in HOPS:
        before, after = stamps[topics[source]], stamps[topics[target]]
        hop = summarize([(after[k] - before[k]) / 1000 for k in after if k in before])
        if stage in work:
            hop["work_p50"] = percentile(work[stage], 50)
        hops[stage] = hop
    return {
        "articles": len(data.terminal),
        "end_to_end": summarize(list(by_article.values())),
        "from_receipt": summarize(from_receipt),
        "to_receipt": summarize(to_receipt),
        "hops": hops,
        "slowest": [
            {"id": key, "seconds": seconds, "chars": (chars or {}).get(key)}
            for key, seconds in slowest
        ],
    }


def _receipts(
    values: Mapping[str, bytes], raw: Mapping[str, int], coded: Mapping[str, int]
) -> tuple[list[float], list[float], dict[str, list[float]]]:
    """Seconds from ``received_at`` to coded, from send to ``received_at``, and work by stage."""
    from_receipt: list[float] = []
    to_receipt: list[float] = []
    work: dict[str, list[float]] = {}
    for key, value in values.items():
        record = orjson.loads(value)
        if record.get("received_at"):
            received = datetime.fromisoformat(record["received_at"]).timestamp()
            from_receipt.append(coded[key] / 1000 - received)
            if key in raw:
                to_receipt.append(received - raw[key] / 1000)
        for timing in record.get("timings", []):
            work.setdefault(timing["stage"], []).append(timing["seconds"])
    return from_receipt, to_receipt, work
