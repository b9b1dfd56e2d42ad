"""The one command line: ``dipwire`` (or ``python -m pipeline``).

Subcommands: demo, worker, broker, ingest, tail, schemas, eval, audit, bench. Every option
also reads its ``DIPWIRE_*`` environment variable through ``Settings``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from pipeline import __version__
from pipeline.broker.errors import BrokerConfigError
from pipeline.models import write_schemas
from pipeline.settings import Settings, redact_secrets_in_logs
from pipeline.topics import TopicNames
from pipeline.worker import WorkerProcess

log = logging.getLogger("dipwire")

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # kafka-python narrates every connection at INFO; keep the CLI's stderr for people.
    logging.getLogger("kafka").setLevel(max(logging.WARNING, logging.getLogger().level))
    redact_secrets_in_logs(settings)
    try:
        code: int = args.handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except (PipelineError, BrokerConfigError) as exc:
        print(f"dipwire: {exc}", file=sys.stderr)
        return 2
    return code


class PipelineError(RuntimeError):
    """A failure with a message meant for the user, not a traceback."""


def build_parser() -> argparse.ArgumentParser:
    """All subcommands and their options."""
    parser = argparse.ArgumentParser(
        prog="dipwire", description="Live newswire in, coded diplomatic events out, over Kafka."
    )
    parser.add_argument("--version", action="version", version=f"dipwire {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run broker + worker, code the seed articles, print events")
    demo.add_argument("paths", nargs="*", type=Path, help="articles to publish (default: seeds/)")
    demo.add_argument("--timeout", type=float, default=300.0, help="seconds before giving up")
    demo.set_defaults(handler=cmd_demo)

    worker = sub.add_parser("worker", help="run the Faust worker against the configured Kafka")
    worker.set_defaults(handler=cmd_worker)

    broker = sub.add_parser("broker", help="run the embedded broker in the foreground")
    broker.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    broker.set_defaults(handler=cmd_broker)

    ingest = sub.add_parser("ingest", help="publish articles from .txt/.json/.jsonl files or stdin")
    ingest.add_argument("paths", nargs="+", help="files, or - for JSON lines on stdin")
    ingest.set_defaults(handler=cmd_ingest)

    tail = sub.add_parser("tail", help="print records of an output topic as JSON lines")
    tail.add_argument(
        "--topic", choices=("events", "coded", "dlq", "raw"), default="events", help="which topic"
    )
    tail.add_argument("--follow", action="store_true", help="keep waiting for new records")
    tail.add_argument("--max", type=int, default=None, help="stop after this many records")
    tail.set_defaults(handler=cmd_tail)

    schemas = sub.add_parser("schemas", help="regenerate the JSON Schema files in schemas/")
    schemas.add_argument("--out", type=Path, default=SCHEMAS_DIR)
    schemas.set_defaults(handler=cmd_schemas)

    from pipeline.tools import evaluation

    evaluate = sub.add_parser("eval", help="code a gold JSONL file and score it")
    evaluation.configure_parser(evaluate)
    evaluate.set_defaults(handler=evaluation.run)

    from pipeline.tools import audit

    p = sub.add_parser("audit", help="reconcile inputs with coded, dead-letter and event topics")
    audit.configure_parser(p)
    p.set_defaults(handler=audit.run)

    from pipeline.tools import bench

    p = sub.add_parser("bench", help="measure NLP limit, pipeline throughput, latency and memory")
    bench.configure_parser(p)
    p.set_defaults(handler=bench.run)
    return parser


# --------------------------------------------------------------------------- worker


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the Faust worker until it is stopped; starts the embedded broker when none is set."""
    from pipeline.broker.embedded import EmbeddedBroker

    with contextlib.ExitStack() as stack:
        if settings.starts_broker:
            broker = stack.enter_context(EmbeddedBroker())
            print(f"embedded broker at {broker.bootstrap}", file=sys.stderr)
            settings = settings.model_copy(
                update={"kafka_bootstrap_servers": broker.bootstrap, "embedded_broker": True}
            )
        return run_worker(settings)
    return 0  # pragma: no cover - ExitStack does not swallow exceptions


def run_worker(settings: Settings) -> int:
    """Prepare topics, load the NLP once, and run the Faust worker in this process."""
    import faust

    from pipeline.app import create_pipeline
    from pipeline.broker.admin import create_topics
    from pipeline.broker.quirks import apply_embedded_quirks
    from pipeline.broker.security import kafka_client_kwargs
    from pipeline.nlp import Analyzer, NlpConfig
    from pipeline.stages.child import ChildStage
    from pipeline.stages.extract import ExtractStage, load_extract_stage

    assert settings.kafka_bootstrap_servers
    if settings.embedded:
        apply_embedded_quirks()
    create_topics(
        settings.kafka_bootstrap_servers,
        TopicNames.from_settings(settings).all(),
        partitions=settings.partitions,
        replication_factor=settings.replication_factor,
        client_kwargs=kafka_client_kwargs(settings),
    )
    config = NlpConfig.from_settings(settings)
    started = time.perf_counter()
    child = None
    if settings.nlp_processes:
        child = ChildStage(
            functools.partial(load_extract_stage, config),
            processes=settings.nlp_processes,
            id=ExtractStage.id,
            input_role=ExtractStage.input_role,
            output_roles=ExtractStage.output_roles,
        )
        child.start()  # the children load spaCy while this process loads the rest
    try:
        analyzer = Analyzer.load(config, parse=child is None)
        if child is not None:
            child.wait_started()
        log.info(
            "NLP loaded in %.1f s (model %s, parse %s)",
            time.perf_counter() - started,
            settings.spacy_model,
            f"in {settings.nlp_processes} child process(es)" if child else "in this process",
        )
        pipeline = create_pipeline(settings, analyzer, extract=child)
        worker = faust.Worker(pipeline.app, loglevel=settings.log_level, quiet=True)
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        if child is not None:
            child.close()
    return 0


def cmd_broker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the embedded broker in the foreground and print its bootstrap address."""
    from pipeline.broker.embedded import run_foreground

    return run_foreground(port=args.port)


# --------------------------------------------------------------------------- ingest / tail


def read_articles(paths: Iterable[str]) -> Iterator[tuple[bytes | None, bytes]]:
    """Yield ``(key, message)`` for every article in ``paths`` (``-`` reads JSON lines on stdin).

    JSON goes out as the bytes given, so the pipeline (not this command) judges
    it; it is keyed by its ``id`` when one can be read. A ``.txt`` file becomes
    an article whose id is a hash of its content, its first line the title.
    """
    for name in paths:
        if name == "-":
            for line in sys.stdin.buffer:
                if line.strip():
                    yield _keyed(line.strip())
            continue
        path = Path(name)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in {".json", ".jsonl", ".txt"})
            yield from read_articles(str(p) for p in files)
        elif path.suffix == ".jsonl":
            with path.open("rb") as handle:
                for line in handle:
                    if line.strip():
                        yield _keyed(line.strip())
        elif path.suffix == ".json":
            yield _keyed(path.read_bytes().strip())
        elif path.suffix == ".txt":
            text = path.read_text(encoding="utf-8")
            title, _, body = text.strip().partition("\n")
            article_id = "txt-" + hashlib.sha256(text.encode()).hexdigest()[:24]
            message = {"id": article_id, "title": title.strip(), "body": body.strip() or title}
            message["source"] = path.name
            yield article_id.encode(), orjson.dumps(message)
        else:
            raise PipelineError(f"{path}: expected a .txt, .json or .jsonl file, or a folder")


def _keyed(message: bytes) -> tuple[bytes | None, bytes]:
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None, message
    article_id = data.get("id") if isinstance(data, dict) else None
    return (article_id.encode() if isinstance(article_id, str) else None), message


def publish(settings: Settings, messages: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Publish messages to the raw topic, wait for every ack, return how many were sent."""
    from tqdm import tqdm

    from pipeline.broker.clients import open_producer

    producer = open_producer(settings)
    topic = TopicNames.from_settings(settings).raw
    futures = []
    try:
        for key, value in tqdm(messages, desc="publish", unit="article", file=sys.stderr):
            futures.append(producer.send(topic, key=key, value=value))
        producer.flush()
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close()
    return len(futures)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Publish articles to the raw topic."""
    sent = publish(settings, read_articles(args.paths))
    print(
        f"published {sent} message(s) to {TopicNames.from_settings(settings).raw}", file=sys.stderr
    )
    return 0


def cmd_tail(args: argparse.Namespace, settings: Settings) -> int:
    """Print an output topic from its beginning as JSON lines."""
    topic = getattr(TopicNames.from_settings(settings), args.topic)
    shown = 0
    for _topic, value in consume(settings, [topic], follow=args.follow):
        sys.stdout.write(value.decode("utf-8", "replace") + "\n")
        sys.stdout.flush()
        shown += 1
        if args.max is not None and shown >= args.max:
            break
    return 0


def consume(
    settings: Settings, topics: list[str], *, follow: bool, idle_seconds: float = 2.0
) -> Iterator[tuple[str, bytes]]:
    """Read ``topics`` from their beginning; without ``follow``, stop after ``idle_seconds``."""
    from pipeline.broker.clients import open_reader

    consumer = open_reader(settings, topics)
    try:
        idle_since = time.monotonic()
        while True:
            batch = consumer.poll(timeout_ms=200)
            if batch:
                idle_since = time.monotonic()
            for tp, records in batch.items():
                for record in records:
                    yield tp.topic, record.value
            if not follow and time.monotonic() - idle_since > idle_seconds:
                return
    finally:
        consumer.close()


# --------------------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Start what is needed, code the seed articles, print their events, stop everything."""
    from pipeline.broker.admin import create_topics
    from pipeline.broker.embedded import EmbeddedBroker
    from pipeline.broker.security import kafka_client_kwargs

    paths = [str(p) for p in (args.paths or [SEEDS_DIR])]
    messages = list(read_articles(paths))
    expected = {key.decode() for key, _ in messages if key is not None}
    if not messages:
        raise PipelineError(f"no articles found in {', '.join(paths)}")

    with contextlib.ExitStack() as stack:
        if settings.starts_broker:
            broker = stack.enter_context(EmbeddedBroker())
            print(f"demo: embedded broker at {broker.bootstrap}", file=sys.stderr)
            settings = settings.model_copy(
                update={"kafka_bootstrap_servers": broker.bootstrap, "embedded_broker": True}
            )
        assert settings.kafka_bootstrap_servers
        names = TopicNames.from_settings(settings)
        create_topics(
            settings.kafka_bootstrap_servers,
            names.all(),
            partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            client_kwargs=kafka_client_kwargs(settings),
        )
        worker = stack.enter_context(WorkerProcess(settings))
        settings = worker.settings
        print(
            f"demo: worker pid {worker.pid}, metrics at {worker.url}/metrics, "
            f"log {worker.log_path}",
            file=sys.stderr,
        )
        sent = publish(settings, messages)
        print(f"demo: published {sent} article(s); waiting for the pipeline", file=sys.stderr)
        outcome = _collect(settings, names, expected, args.timeout, worker)
        if outcome is None:
            raise PipelineError(
                f"timed out after {args.timeout:.0f} s before every article was accounted for; "
                f"worker log tail:\n{worker.log_tail()}"
            )
        events, coded, dead = outcome
        _print_metrics_summary(worker)
        print(
            f"demo: {len(expected)} article(s): {coded} coded, {dead} dead-lettered, "
            f"{events} event(s) on {names.events}",
            file=sys.stderr,
        )
    return 0


def _collect(
    settings: Settings,
    names: TopicNames,
    expected: set[str],
    timeout: float,
    worker: WorkerProcess,
) -> tuple[int, int, int] | None:
    """Print events until every expected article has a terminal record; None on timeout."""
    pending = set(expected)
    coded = dead = 0
    seen_events: set[str] = set()

    def show(topic: str, value: bytes) -> None:
        nonlocal coded, dead
        data = orjson.loads(value)
        if topic == names.events and data["event_id"] not in seen_events:
            seen_events.add(data["event_id"])
            sys.stdout.write(value.decode() + "\n")
            sys.stdout.flush()
            print("  " + _describe_event(data), file=sys.stderr)
        elif topic == names.coded and data["article_id"] in pending:
            pending.discard(data["article_id"])
            coded += 1
        elif topic == names.dlq and data.get("article_id") in pending:
            pending.discard(data["article_id"])
            dead += 1
            print(f"  dead letter: {data['error_kind']}: {data['reason']}", file=sys.stderr)

    from pipeline.broker.clients import open_reader

    consumer = open_reader(settings, (names.events, names.coded, names.dlq))
    deadline = time.monotonic() + timeout
    try:
        while pending and time.monotonic() < deadline:
            if not worker.alive():
                raise PipelineError(f"the worker exited early; its log:\n{worker.log_tail()}")
            for tp, records in consumer.poll(timeout_ms=250).items():
                for record in records:
                    show(tp.topic, record.value)
        if not pending:
            # Events of the last article may sit on other partitions than its account.
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    show(tp.topic, record.value)
    finally:
        consumer.close()
    return None if pending else (len(seen_events), coded, dead)


def _describe_event(event: dict[str, object]) -> str:
    source = event["source_actor"]
    target = event.get("target_actor")
    assert isinstance(source, dict)
    target_code = target["code"] if isinstance(target, dict) else "-"
    return (
        f"{source['code']} -> {target_code}  {event['cameo_code']} {event['event_name']} "
        f"(goldstein {event['goldstein']}, quad {event['quad_class']}, "
        f"confidence {float(str(event['confidence'])):.2f})"
    )


def _print_metrics_summary(worker: WorkerProcess) -> None:
    """Show that /metrics moved: the pipeline's counters as the worker exports them."""
    url = worker.url + "/metrics"
    try:
        text = worker.metrics_text()
    except OSError as exc:
        print(f"demo: could not read {url}: {exc}", file=sys.stderr)
        return
    wanted = (
        "dipwire_stage_messages_in_total",
        "dipwire_stage_messages_out_total",
        "dipwire_ingest_to_emit_seconds_count",
        "dipwire_events_total",
        "dipwire_dead_letters_total",
    )
    lines = [line for line in text.splitlines() if line.startswith(wanted)]
    print(f"demo: metrics from {url}:", file=sys.stderr)
    for line in lines:
        print(f"  {line}", file=sys.stderr)


# --------------------------------------------------------------------------- schemas


def cmd_schemas(args: argparse.Namespace, settings: Settings) -> int:
    """Regenerate the JSON Schema files."""
    for path in write_schemas(args.out):
        print(path, file=sys.stderr)
    return 0
