"""The hand-run recipe through the real commands: ``dipwire broker``, its lines, a worker, its log.

``dipwire broker`` prints the lines to export; a worker given only the broker's
address (``DIPWIRE_EMBEDDED_BROKER`` unset) finds out from the broker's metadata
that it is the embedded one and applies its workarounds. The same worker logs
JSON (``DIPWIRE_LOG_FORMAT=json``): every line one object, a dead letter with
its stage, article id, partition and offset, and none of Faust's tables.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from pipeline.broker.probe import probe_broker
from pipeline.process import free_port
from pipeline.settings import Settings
from tests.integration.conftest import BrokerHandle
from tests.integration.test_cli_errors import clean_env

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def exported() -> Iterator[dict[str, str]]:
    """Run ``dipwire broker``; yield the variables of the lines it printed."""
    with subprocess.Popen(
        [sys.executable, "-m", "pipeline", "broker"],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    ) as runner:
        try:
            assert runner.stdout is not None
            lines = [runner.stdout.readline(), runner.stdout.readline()]
            assert all(line.startswith("export ") for line in lines), lines
            yield dict(line.removeprefix("export ").strip().split("=", 1) for line in lines)
        finally:
            runner.send_signal(signal.SIGINT)
            try:
                runner.wait(15)
            except subprocess.TimeoutExpired:
                runner.kill()


def wait_healthy(
    url: str, worker: subprocess.Popen[bytes], log: Path, timeout: float = 180
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"worker not healthy:\n{log.read_text()[-3000:]}")


def test_dipwire_broker_prints_the_exports_and_a_worker_detects_it(
    exported: dict[str, str], tmp_path: Path
) -> None:
    assert set(exported) == {"KAFKA_BOOTSTRAP_SERVERS", "DIPWIRE_EMBEDDED_BROKER"}
    assert exported["DIPWIRE_EMBEDDED_BROKER"] == "true"
    bootstrap = exported["KAFKA_BOOTSTRAP_SERVERS"]
    # Only the address, as someone who copied one line would run it.
    port = free_port("127.0.0.1")
    env = clean_env(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        DIPWIRE_LOG_FORMAT="json",
        DIPWIRE_NLP_PROCESSES="1",  # a parse process logs in the same format
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "worker", "--web-port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", worker, log)
        # Straight to articles.raw: `dipwire ingest` would refuse an article without a body.
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        producer.send("articles.raw", key=b"x1", value=b'{"id": "x1"}').get(timeout=30)
        producer.close()
        records = _wait_for_dead_letter(log)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
    messages = [r["message"] for r in records]
    assert any("is the embedded broker (cluster id dipwire-embedded)" in m for m in messages)
    assert "embedded broker workarounds applied to aiokafka and Faust" in messages
    (letter,) = [r for r in records if r["message"].startswith("dead letter invalid_fields")]
    assert letter["stage"] == "validate" and letter["article_id"] == "x1"
    assert isinstance(letter["partition"], int) and letter["offset"] == 0
    assert {"time", "level", "logger"} <= set(letter)
    assert not [m for m in messages if "\n" in m and "+---" in m], "a table at INFO"
    assert any(r["logger"].startswith("faust") for r in records), "Faust logs through us"


def _wait_for_dead_letter(log: Path, timeout: float = 60) -> list[dict[str, object]]:
    """The worker's log as JSON objects, once it shows the dead letter; every line must parse."""
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_text()
        complete = text[: text.rfind("\n") + 1]  # the last line may be half-written
        records = [json.loads(line) for line in complete.splitlines() if line.strip()]
        if any(str(r["message"]).startswith("dead letter") for r in records):
            return records
        if time.monotonic() > deadline:
            pytest.fail(f"no dead letter logged:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def test_the_probe_tells_the_embedded_broker_apart(broker: BrokerHandle) -> None:
    info = probe_broker(Settings(kafka_bootstrap_servers=broker.bootstrap))
    assert info.brokers >= 1
    assert info.embedded == broker.embedded
    if broker.embedded:
        assert info.cluster_id == "dipwire-embedded"
