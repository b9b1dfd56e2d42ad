"""``dipwire replay`` with a real worker: a later stage's dead letter is coded again, once.

The article is ingested and coded; a dead letter as the extract stage writes it
(its payload the article's own ``articles.valid`` message) is put on the
dead-letter topic, as after a bug that is fixed now. Replaying it sends the
article back to ``articles.raw`` with the replay header, and the worker, which
has seen the id, codes it a second time; replaying the same dead letter again
is dropped as a duplicate id.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.models import DeadLetter, utcnow
from pipeline.topics import REPLAY_HEADER
from pipeline.worker import WorkerProcess
from tests.integration.cli import Cli, json_lines
from tests.integration.conftest import BrokerHandle, KafkaClients

pytestmark = pytest.mark.integration

ARTICLE = {
    "id": "replay-1",
    "title": "France and Germany sign a border accord",
    "body": "France and Germany signed a border accord in Paris on Tuesday.",
    "published_at": "2023-10-10",
}


@pytest.fixture(scope="module")
def running(broker: BrokerHandle) -> Iterator[tuple[Cli, WorkerProcess]]:
    cli = Cli.fresh(broker)
    settings = cli.settings.model_copy(
        update={"app_id": f"dipwire-{cli.prefix.strip('.')}", "web_port": 0}
    )
    with WorkerProcess(settings) as worker:
        worker.wait_healthy(timeout=240)
        yield cli, worker


def _until(what: str, check: Callable[[], Any], timeout: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def _records(cli: Cli, topic: str, *filters: str) -> list[dict[str, Any]]:
    args = [arg for f in filters for arg in ("--filter", f)]
    result = cli.run("tail", "--topic", topic, *args)
    assert result.returncode == 0, result.stderr
    return json_lines(result.stdout)


def _duplicate_ids(worker: WorkerProcess) -> float:
    for family in text_string_to_metric_families(worker.metrics_text()):
        for sample in family.samples:
            if sample.name == "dipwire_duplicates_total" and sample.labels["reason"] == "id":
                return sample.value
    return 0.0


def _letter(**fields: Any) -> bytes:
    return DeadLetter(failed_at=utcnow(), **fields).model_dump_json().encode()


def test_a_later_stage_dead_letter_is_coded_again_once(
    running: tuple[Cli, WorkerProcess], kafka_clients: KafkaClients, tmp_path: Path
) -> None:
    cli, worker = running
    path = tmp_path / "one.json"
    path.write_bytes(orjson.dumps(ARTICLE))
    assert cli.run("ingest", str(path)).returncode == 0
    _until("the article's account", lambda: _records(cli, "coded", "id=replay-1"))

    # What the extract stage would dead-letter: the article's own articles.valid message.
    (valid,) = kafka_clients.read(cli.names.valid, count=1)
    payload = valid.value
    kafka_clients.producer.send(
        cli.names.dlq,
        key=b"replay-1",
        value=_letter(
            article_id="replay-1",
            payload_b64=base64.b64encode(payload).decode(),
            payload_size=len(payload),
            topic=cli.names.valid,
            partition=valid.partition,
            offset=valid.offset,
            stage="extract",
            error_kind="stage_error",
            reason="RuntimeError: a bug since fixed",
        ),
    )
    kafka_clients.producer.send(cli.names.raw, value=b"\xff not an article")
    kafka_clients.producer.flush()
    _until("the not_utf8 dead letter", lambda: _records(cli, "dlq", "kind=not_utf8"))
    raw_before = cli.count(cli.names.raw)

    dry = cli.run("replay", "--kind", "stage_error,not_utf8", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    planned = json_lines(dry.stdout)
    assert sorted(p["error_kind"] for p in planned) == ["not_utf8", "stage_error"]
    assert {p["to"] for p in planned} == {cli.names.raw}
    assert "would replay 2 to " + cli.names.raw in dry.stderr
    assert cli.count(cli.names.raw) == raw_before  # a dry run publishes nothing

    (shown,) = json_lines(
        cli.run("tail", "--topic", "dlq", "--filter", "id=replay-1", "--from-end", "1").stdout
    )
    at = f"{shown['partition']}:{shown['offset']}"
    done = cli.run("replay", "--at", at)
    assert done.returncode == 0, done.stderr
    assert "replayed 1 to " + cli.names.raw in done.stderr
    assert cli.count(cli.names.raw) == raw_before + 1
    coded = _until(
        "the second account", lambda: len(_records(cli, "coded", "id=replay-1")) == 2 or None
    )
    assert coded

    raw = _records(cli, "raw", "id=replay-1")
    assert len(raw) == 2
    replayed = raw[-1]
    token = f"{cli.names.dlq}:{at}"
    assert replayed["headers"] == {REPLAY_HEADER: token}
    assert replayed["value"]["body"] == ARTICLE["body"]

    duplicates = _duplicate_ids(worker)
    again = cli.run("replay", "--at", at)
    assert again.returncode == 0, again.stderr
    _until("the repeat dropped", lambda: _duplicate_ids(worker) > duplicates)
    assert len(_records(cli, "coded", "id=replay-1")) == 2


def test_a_truncated_dead_letter_is_not_replayed_and_a_choice_is_required(
    running: tuple[Cli, WorkerProcess], kafka_clients: KafkaClients
) -> None:
    cli, _ = running
    kafka_clients.producer.send(
        cli.names.dlq,
        value=_letter(
            payload_b64=base64.b64encode(b"x" * 100).decode(),
            payload_size=10_000_000,
            payload_truncated=True,
            topic=cli.names.raw,
            stage="validate",
            error_kind="message_too_large",
            reason="too large",
        ),
    )
    kafka_clients.producer.flush()
    _until("the truncated dead letter", lambda: _records(cli, "dlq", "kind=message_too_large"))
    truncated = cli.run("replay", "--kind", "message_too_large")
    assert truncated.returncode == 2
    assert "skipped 1: payload truncated" in truncated.stderr
    assert "nothing replayed" in truncated.stderr
    none = cli.run("replay")
    assert none.returncode == 2 and "--all" in none.stderr
    missing = cli.run("replay", "--id", "no-such-article")
    assert missing.returncode == 2 and "no dead letter" in missing.stderr
