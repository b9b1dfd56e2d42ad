"""Outputs larger than the broker takes, the way a Kafka with a small message.max.bytes fails.

A real ``python -m pipeline worker`` with a small ``DIPWIRE_MAX_MESSAGE_BYTES``
(its producers' ``max_request_size``) gets a batch on one partition: short
articles, a long Wikinews-sized article whose annotation is too large until it
carries less, and an article whose annotation cannot fit at all. The audit
must reconcile: nothing lost, nothing accounted twice, the partition moved on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pipeline.topics import TopicNames
from pipeline.worker import WorkerProcess
from tests.integration.conftest import BrokerHandle
from tests.integration.test_faults import (
    _audit_until_accounted,
    _healthy,
    _metric,
    _publish,
    _read_json,
    _settings,
    corpus,
    workers,
)

pytestmark = pytest.mark.integration

__all__ = ["workers"]  # the fixture, used by name

LIMIT = 100_000
"""DIPWIRE_MAX_MESSAGE_BYTES of the worker under test."""


def _article(article_id: str, body: str) -> bytes:
    return json.dumps({"id": article_id, "body": body, "published_at": "2024-03-05"}).encode()


def test_oversized_outputs_carry_less_or_are_dead_lettered_and_the_partition_moves_on(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    workers: Callable[..., WorkerProcess],
) -> None:
    # One batch, parsed whole: a refused output must not hold back or repeat its batch-mates.
    # The parse crosses a topic only with the stages unchained.
    settings = _settings(
        broker,
        unique_name,
        max_message_bytes=LIMIT,
        parse_chunk_bytes=0,
        batch_within=1.0,
        chain_stages=False,
    )
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), 4)
    worker = workers(settings)
    _healthy(worker)
    short = [json.loads(value) for _, value in corpus(6, seed=11, prefix="fit")]
    texts = [json.loads(value)["body"] for _, value in corpus(400, seed=12, prefix="x")]
    # About 17,000 characters naming countries in most sentences: an annotation of
    # ~250 KB that fits once sentences lose their parse.
    long_body = " ".join(texts[:50])
    # About 80,000 characters: the body alone, twice (text and tokens), is over the limit.
    huge_body = " ".join(texts[:240])
    assert 15_000 < len(long_body) < 20_000 and 70_000 < len(huge_body) < 100_000
    messages = [(b"one", _article(a["id"], a["body"])) for a in short[:3]]
    messages += [(b"one", _article("fit-long", long_body))]
    messages += [(b"one", _article("fit-huge", huge_body))]
    messages += [(b"one", _article(a["id"], a["body"])) for a in short[3:]]
    metadata = _publish(broker, names.raw, messages)
    assert len({m.partition for m in metadata}) == 1, "one partition, the large ones mid-way"

    report = _audit_until_accounted(settings, len(messages), 300)
    letters = _read_json(broker, names.dlq)
    coded = {c["article_id"]: c for c in _read_json(broker, names.coded)}
    reduced = _metric(worker, "dipwire_outputs_reduced_total")
    print(
        f"limit {LIMIT:,}: {report.coded} coded, dead letters {report.dead_letters_by_kind}, "
        f"{reduced:.0f} outputs reduced, fit-long events {coded['fit-long']['events']}"
    )
    assert report.ok, report.to_json()
    assert report.coded == 7 and report.dead_letters_by_kind == {"output_too_large": 1}
    assert not report.duplicate_terminals and not report.duplicate_event_ids
    assert not report.coded_and_dead_lettered
    (letter,) = letters
    assert (letter["article_id"], letter["stage"]) == ("fit-huge", "extract")
    assert f"{LIMIT:,}" in letter["reason"] and "MessageSizeTooLargeError" in letter["reason"]
    assert letter["payload_size"] > LIMIT and letter["payload_truncated"]
    assert coded["fit-long"]["truncated"] is True
    assert {a["id"] for a in short} <= coded.keys()
    assert _metric(worker, "dipwire_dead_letters_total", kind="output_too_large") == 1
    assert reduced >= 2  # fit-long (at least once) and fit-huge (which still did not fit)
    _assert_every_record_fits(broker, names)


def _assert_every_record_fits(broker: BrokerHandle, names: TopicNames) -> None:
    from tests.integration.test_faults import _raw_values

    for topic in (names.valid, names.annotated, names.enriched, names.coded, names.dlq):
        sizes: list[Any] = [len(v) for v in _raw_values(broker, topic)]
        assert sizes and max(sizes) <= LIMIT, (topic, max(sizes or [0]))


def test_chained_the_parse_crosses_no_topic_and_a_long_article_is_coded_whole(
    broker: BrokerHandle,
    unique_name: Callable[[str], str],
    workers: Callable[..., WorkerProcess],
) -> None:
    from tests.integration.test_faults import _raw_values

    settings = _settings(broker, unique_name, max_message_bytes=LIMIT, batch_within=1.0)
    assert settings.chain_stages
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), 4)
    worker = workers(settings)
    _healthy(worker)
    texts = [json.loads(value)["body"] for _, value in corpus(400, seed=12, prefix="x")]
    long_body = " ".join(texts[:50])  # its annotation (~250 KB) would not fit the limit
    messages = [(b"one", _article("chain-long", long_body))]
    messages += [(b"one", value) for _, value in corpus(3, seed=11, prefix="chain")]
    _publish(broker, names.raw, messages)
    report = _audit_until_accounted(settings, len(messages), 300)
    assert report.ok and report.coded == len(messages) and not report.dead_letters_by_kind
    coded = {c["article_id"]: c for c in _read_json(broker, names.coded)}
    assert coded["chain-long"]["truncated"] is False and coded["chain-long"]["events"] > 0
    assert [t["stage"] for t in coded["chain-long"]["timings"]] == ["extract", "enrich", "code"]
    assert _raw_values(broker, names.annotated) == [] and _raw_values(broker, names.enriched) == []
    assert _metric(worker, "dipwire_stage_messages_in_total", stage="extract") == len(messages)
    assert _metric(worker, "dipwire_outputs_reduced_total") == 0
