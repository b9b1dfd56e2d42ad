"""Security of a real worker: secrets stay out of its output and metrics; its web port is local."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaProducer

from pipeline.process import free_port
from pipeline.settings import Settings
from pipeline.tools.audit import audit
from pipeline.topics import TopicNames
from pipeline.worker import WorkerProcess
from tests.integration.conftest import BrokerHandle

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Hunter2-kafka-secret-x9"


def _listening(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on ``port`` (Linux ``/proc/net``)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if int(hex_port, 16) == port and fields[3] == "0A":
                found.add(_address(address))
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:
        return ".".join(str(b) for b in reversed(bytes.fromhex(hex_address)))
    return "ipv6:" + hex_address


def test_running_worker_keeps_the_secret_out_and_listens_on_loopback(
    broker: BrokerHandle, unique_name: Callable[[str], str]
) -> None:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc/net/tcp to see listening sockets")
    settings = Settings(
        kafka_bootstrap_servers=broker.bootstrap,
        embedded_broker=broker.embedded,
        topic_prefix=unique_name("t") + ".",
        app_id=unique_name("app"),
        partitions=2,
        web_port=0,
        log_level="DEBUG",
    )
    names = TopicNames.from_settings(settings)
    broker.create_topics(list(names.all()), 2)
    worker = WorkerProcess(settings, extra_env={"DIPWIRE_KAFKA_SASL_PASSWORD": SECRET})
    try:
        worker.start()
        worker.wait_healthy(timeout=180)
        seed = next((ROOT / "seeds").glob("*.json")).read_bytes()
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, **broker.client_kwargs)
        producer.send(names.raw, key=b"seed", value=seed).get(timeout=30)
        producer.close(timeout=10)
        report = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            report = audit(settings)
            if report.input_messages and not report.missing:
                break
            time.sleep(1)
        assert report is not None and report.coded == 1, worker.log_tail()
        metrics = worker.metrics_text()
        port = worker.settings.web_port
        listening = _listening(port)
    finally:
        worker.stop()
    log = worker.log_path.read_text(errors="replace")
    worker.log_path.unlink(missing_ok=True)
    print(f"web port {port} listening on {sorted(listening)}; log {len(log):,} chars")
    assert "dipwire_stage_messages_in_total" in metrics and "DEBUG" in log
    assert SECRET not in metrics and SECRET not in log
    assert listening == {"127.0.0.1"}


def test_worker_failing_sasl_at_debug_never_prints_the_secret(
    broker: BrokerHandle, unique_name: Callable[[str], str]
) -> None:
    """The embedded broker has no SASL: the worker fails, logging its client settings."""
    broker.require_embedded()
    env = broker.env() | {
        "DIPWIRE_TOPIC_PREFIX": unique_name("t") + ".",
        "DIPWIRE_WEB_PORT": str(free_port()),
        "DIPWIRE_LOG_LEVEL": "DEBUG",
        "DIPWIRE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "DIPWIRE_KAFKA_SASL_MECHANISM": "PLAIN",
        "DIPWIRE_KAFKA_SASL_USERNAME": "dipwire",
        "DIPWIRE_KAFKA_SASL_PASSWORD": SECRET,
    }
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "worker"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=180,
        check=False,
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    print(f"worker exit {done.returncode}; output {len(output):,} chars")
    assert done.returncode != 0
    # It failed on the SASL connection, with a traceback (where a leak would show)...
    assert "Unable to bootstrap" in output and "Traceback" in output
    # ...without printing the password in any form.
    assert SECRET not in output
    assert json.dumps(SECRET)[1:-1] not in output
