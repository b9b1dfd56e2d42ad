"""A worker started with a user's verb dictionary codes through it, and says so."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pipeline.settings import Settings
from pipeline.topics import TopicNames
from pipeline.worker import WorkerProcess
from tests.integration.conftest import BrokerHandle, KafkaClients

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EVENT_SCHEMA = json.loads((ROOT / "schemas" / "diplomatic_event.schema.json").read_text())
DICTIONARY = """\
# A one-verb dictionary (read the same in either syntax).
--- SEAL [---] ---
+SEAL_OFF
- * BORDER [191]
"""


@pytest.fixture(scope="module")
def worker(
    broker: BrokerHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WorkerProcess, TopicNames]]:
    path = tmp_path_factory.mktemp("verbs") / "sealing.txt"
    path.write_text(DICTIONARY, encoding="utf-8")
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap_servers=broker.bootstrap,
        embedded_broker=broker.embedded,
        topic_prefix=f"verbs-{run}.",
        app_id=f"dipwire-verbs-{run}",
        web_port=0,
        verb_dictionaries=[path],
    )
    # The child gets it as DIPWIRE_VERB_DICTIONARIES, as an operator would set it.
    assert settings.environment()["DIPWIRE_VERB_DICTIONARIES"] == str(path)
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), settings.partitions)
    with WorkerProcess(settings) as process:
        process.wait_healthy(timeout=180)
        yield process, names


def test_an_event_coded_by_a_dictionary_names_the_file_and_line(
    worker: tuple[WorkerProcess, TopicNames], kafka_clients: KafkaClients
) -> None:
    process, names = worker
    article = {
        "id": f"verbs-{uuid.uuid4().hex[:6]}",
        "body": "Serbia sealed off the border with Bosnia.",
    }
    kafka_clients.producer.send(
        names.raw, key=article["id"].encode(), value=json.dumps(article).encode()
    )
    kafka_clients.producer.flush()
    consumer = kafka_clients.consumer(names.events, consumer_timeout_ms=1000)
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not events:
        for batch in consumer.poll(timeout_ms=500).values():
            events += [json.loads(r.value) for r in batch]
        events = [e for e in events if e["article_id"] == article["id"]]
    assert events, process.log_tail()
    (event,) = [e for e in events if e["cameo_code"] == "191"]
    jsonschema.validate(event, EVENT_SCHEMA)
    assert (event["source_actor"]["country"], event["target_actor"]["country"]) == ("SRB", "BIH")
    assert event["provenance"] == {
        "lexicon": "sealing.txt",
        "entry": "- * BORDER [191]",
        "line": 4,
        "verb": "SEAL",
    }
