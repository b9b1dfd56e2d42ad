"""The ``dipwire worker``: run in this process (:func:`run_worker`), or as a watched child.

:class:`WorkerProcess` starts ``dipwire worker`` as a child process with the
parent's settings; ``dipwire demo``, the benchmark and the integration tests use
it, so that all of them run the very worker an operator runs.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Self

from pipeline.process import ChildProcess, free_port, port_in_use
from pipeline.settings import Settings, env_name

if TYPE_CHECKING:
    from pipeline.nlp import NlpConfig
    from pipeline.stages.child import ChildStage

log = logging.getLogger(__name__)


def run_worker(settings: Settings) -> int:
    """Prepare topics, load the NLP once, and run the Faust worker in this process."""
    from pipeline import rebalance
    from pipeline.app import create_pipeline
    from pipeline.broker.admin import create_pipeline_topics
    from pipeline.broker.quirks import apply_embedded_quirks
    from pipeline.nlp import Analyzer, NlpConfig
    from pipeline.preflight import prepare_worker
    from pipeline.shutdown import DrainingWorker

    settings = prepare_worker(settings)
    if settings.embedded:
        apply_embedded_quirks()
    rebalance.apply()
    create_pipeline_topics(settings)
    config = NlpConfig.from_settings(settings)
    started = time.perf_counter()
    child = _parse_processes(settings, config) if settings.parse_processes else None
    lane = _parse_processes(settings, config, 1) if child and settings.long_lane else None
    try:
        analyzer = Analyzer.load(config, parse=child is None)
        for pool in (child, lane):
            if pool is not None:
                pool.wait_started()
        log.info(
            "NLP loaded in %.1f s (model %s, parse %s)",
            time.perf_counter() - started,
            settings.spacy_model,
            f"in {settings.parse_processes} child process(es)" if child else "in this process",
        )
        pipeline = create_pipeline(settings, analyzer, extract=child, lane=lane)
        # override_logging=False: the CLI's logging (pipeline.logs) stays the one format.
        # Faust drops its terminal spinner only when it sets logging up itself; without
        # that the spinner's escape codes would land in the log.
        worker = DrainingWorker(
            pipeline.app,
            health=pipeline.health,
            stop_seconds=settings.stop_seconds,
            loglevel=settings.log_level,
            quiet=True,
            override_logging=False,
        )
        worker.spinner = None
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        for pool in (child, lane):
            if pool is not None:
                pool.close()
    return 0


def _parse_processes(
    settings: Settings, config: NlpConfig, processes: int | None = None
) -> ChildStage:
    """The extract agent's stage in ``processes`` (default ``settings.parse_processes``) children.

    The stage is the chain of extract, enrich and code (``settings.chain_stages``) or extract
    alone. The children load spaCy now. The worker makes a second one of one process for the
    long lane.
    """
    from pipeline.stages.chain import ChainStage, load_chain_stage
    from pipeline.stages.child import ChildStage
    from pipeline.stages.extract import ExtractStage, load_extract_stage

    kind = ChainStage if settings.chain_stages else ExtractStage
    load = load_chain_stage if settings.chain_stages else load_extract_stage
    child = ChildStage(
        functools.partial(load, config),
        processes=processes or settings.parse_processes,
        id=kind.id,
        input_role=kind.input_role,
        output_roles=kind.output_roles,
    )
    child.start()  # the children load spaCy while this process loads the rest
    return child


def worker_environment(settings: Settings) -> dict[str, str]:
    """Environment for a child worker that talks to the same broker with the same settings."""
    if not settings.kafka_bootstrap_servers:
        raise ValueError("a child worker needs the broker address")
    return settings.environment()


def child_environment(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with every setting replaced by ``settings``' own.

    A variable of a setting that ``settings`` leaves unset is removed, so the
    child cannot pick up a different value from the parent's environment.
    """
    names = {env_name(field) for field in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(worker_environment(settings))
    env.update(extra or {})
    return env


class WorkerProcess(ChildProcess):
    """Run ``python -m pipeline worker`` as a child; its output goes to a log file.

    ``settings`` must name the broker; a web port of 0 is replaced by a free one.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        log_path: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        if settings.web_port == 0 or port_in_use(settings.web_host, settings.web_port):
            settings = settings.model_copy(update={"web_port": free_port(settings.web_host)})
        self.settings = settings
        # A log we made ourselves is removed with the worker; a given one is the caller's.
        self._own_log = log_path is None
        self.log_path = log_path or Path(
            tempfile.mkstemp(prefix="dipwire-worker-", suffix=".log")[1]
        )
        self._extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the worker's web server."""
        return f"http://{self.settings.web_host}:{self.settings.web_port}"

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self.process is not None
        return self.process.pid

    def start(self) -> Self:
        """Start the child process (it loads the NLP, joins the group, then serves)."""
        env = child_environment(self.settings, self._extra_env)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    def alive(self) -> bool:
        """Whether the child is still running."""
        return self.process is not None and self.process.poll() is None

    def wait_healthy(self, timeout: float = 120.0) -> None:
        """Block until ``/healthz`` answers 200; raise with the log tail if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"worker exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"worker not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def metrics_text(self) -> str:
        """The worker's ``/metrics`` exposition."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as response:
            text: str = response.read().decode()
            return text

    def log_tail(self, max_chars: int = 4000) -> str:
        """The end of the worker's log."""
        try:
            return self.log_path.read_text(errors="replace")[-max_chars:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: a crash, no clean shutdown."""
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def stopped(self, ok: bool) -> None:
        """Remove the log this worker made itself, unless the block raised: then it is evidence."""
        if self._own_log and ok:
            self.log_path.unlink(missing_ok=True)
