"""Latency at a fixed rate: send time to ``articles.coded``, and each hop between stage topics."""

from __future__ import annotations

import argparse
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from pipeline.settings import Settings
from pipeline.tools.bench.articles import tagged
from pipeline.tools.bench.collect import Collected, Collector, publish
from pipeline.tools.bench.stats import percentile, summarize
from pipeline.topics import FLOW, TERMINAL, Role, TopicNames

CARRIERS: tuple[Role, ...] = (FLOW[0].reads, *(step.carries for step in FLOW))
"""The topics an article passes through, keyed by its id: the input, then each stage's output."""


def measure_latency(
    settings: Settings,
    names: TopicNames,
    producer: Any,
    articles: Sequence[dict[str, Any]],
    rate: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Publish at ``rate`` and read every stage topic's record timestamps for each article."""
    from kafka import TopicPartition

    from pipeline.broker.quirks import true_end_offsets
    from pipeline.broker.security import kafka_client_kwargs

    topics = {role: names.of(role) for role in CARRIERS}
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
        [names.of(role) for role in TERMINAL],
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
    # The lane's threshold, or its default when the lane is off: runs with and without
    # it then leave the same articles out of ``short_end_to_end``.
    lane = settings.long_article_bytes or Settings.model_fields["long_article_bytes"].default
    long = {key for key, value in messages if len(value) >= lane}
    return latency_report(collector.data, topics, chars, long)


def latency_report(
    data: Collected,
    topics: Mapping[Role, str],
    chars: Mapping[str, int] | None = None,
    long: Collection[str] = (),
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
    (``chars``, by id). ``short_end_to_end`` leaves out the ``long`` articles (those the
    long lane parses; with the lane off, the same sizes), whose own parse is their latency.
    """
    stamps = data.timestamps
    raw, coded = stamps[topics[Role.RAW]], stamps[topics[Role.CODED]]
    by_article = {k: (coded[k] - raw[k]) / 1000 for k in coded if k in raw}
    slowest = sorted(by_article.items(), key=lambda item: item[1], reverse=True)[:5]
    from_receipt, to_receipt, work = _receipts(data.values, raw, coded)
    hops = _hops(stamps, topics, work)
    return {
        "articles": len(data.terminal),
        "end_to_end": summarize(list(by_article.values())),
        "short_end_to_end": summarize([v for k, v in by_article.items() if k not in long]),
        "long_articles": sum(1 for k in by_article if k in long),
        "from_receipt": summarize(from_receipt),
        "to_receipt": summarize(to_receipt),
        "hops": hops,
        "slowest": [
            {"id": key, "seconds": seconds, "chars": (chars or {}).get(key)}
            for key, seconds in slowest
        ],
    }


def _hops(
    stamps: Mapping[str, Mapping[str, int]],
    topics: Mapping[Role, str],
    work: Mapping[str, list[float]],
) -> dict[str, Any]:
    """Each hop between two topics that carried the articles, named by the stages it spans.

    A chained worker writes nothing on ``articles.annotated`` and ``articles.enriched``:
    its one hop ``extract+enrich+code`` runs from ``articles.valid`` to ``articles.coded``,
    and its ``work_p50`` is the sum of the three stages' medians.
    """
    hops: dict[str, Any] = {}
    spanned: list[str] = []
    reads = FLOW[0].reads
    for step in FLOW:
        spanned.append(step.stage)
        after = stamps[topics[step.carries]]
        if not after and step is not FLOW[-1]:
            continue
        before = stamps[topics[reads]]
        hop = summarize([(after[k] - before[k]) / 1000 for k in after if k in before])
        medians = [percentile(work[stage], 50) for stage in spanned if stage in work]
        if medians:
            hop["work_p50"] = sum(medians)
        hops["+".join(spanned)] = hop
        spanned, reads = [], step.carries
    return hops


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
