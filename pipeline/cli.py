"""The one command line: ``dipwire`` (or ``python -m pipeline``).

Subcommands: demo, worker, broker, ingest, tail, replay, schemas, eval, audit, export,
bench. Every setting is read from its ``DIPWIRE_*`` environment variable through
``Settings``; the worker's flags override them (``pipeline.flags``), and every
failure is reported by ``pipeline.exits``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from pathlib import Path

from pipeline import __version__
from pipeline.exits import load_settings, report
from pipeline.flags import add_setting_flags, given_flags
from pipeline.logs import setup_logging
from pipeline.models import write_schemas
from pipeline.settings import Settings, redact_secrets_in_logs

log = logging.getLogger("dipwire")

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (the README's "Exit status and errors")."""
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    settings: Settings | None = None
    try:
        settings = load_settings(given_flags(args))
        debug = debug or settings.log_level == "DEBUG"
        setup_logging("DEBUG" if debug else settings.log_level, settings.log_format)
        redact_secrets_in_logs(settings)
        code: int = args.handler(args, settings)
    except Exception as exc:
        return report(exc, settings, debug=debug)
    except KeyboardInterrupt as exc:
        return report(exc, settings, debug=False)
    return code


def build_parser() -> argparse.ArgumentParser:
    """All subcommands and their options."""
    parser = argparse.ArgumentParser(
        prog="dipwire", description="Live newswire in, coded diplomatic events out, over Kafka."
    )
    parser.add_argument("--version", action="version", version=f"dipwire {__version__}")
    parser.add_argument("--debug", action="store_true", default=False, help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run broker + worker, code the seed articles, print events")
    demo.add_argument("paths", nargs="*", type=Path, help="articles to publish (default: seeds/)")
    demo.add_argument("--timeout", type=float, default=300.0, help="seconds before giving up")
    demo.set_defaults(handler=cmd_demo)

    _add_worker_and_broker(sub)

    for name, module, help_text in MODULE_COMMANDS:
        _add_module_command(sub, name, module, help_text)
    schemas = sub.add_parser("schemas", help="regenerate the JSON Schema files in schemas/")
    schemas.add_argument("--out", type=Path, default=SCHEMAS_DIR)
    schemas.set_defaults(handler=cmd_schemas)
    _debug_after_the_command(sub)
    return parser


MODULE_COMMANDS = (
    ("ingest", "pipeline.inputs.command", "publish articles from files, folders, feeds or stdin"),
    ("tail", "pipeline.tools.tail", "show records of a topic with key, partition, offset, time"),
    ("replay", "pipeline.tools.replay", "put chosen dead letters back on articles.raw"),
    ("eval", "pipeline.tools.evaluation", "code a gold JSONL file and score it"),
    ("audit", "pipeline.tools.audit", "reconcile inputs with coded, dead-letter and event topics"),
    ("export", "pipeline.tools.export", "write events to GDELT- and Phoenix-style TSV files"),
    ("bench", "pipeline.tools.bench", "measure NLP limit, pipeline throughput, latency and memory"),
)
"""Subcommands whose module has ``configure_parser(parser)`` and ``run(args, settings)``."""


def _add_worker_and_broker(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser("worker", help="run the Faust worker against the configured Kafka")
    add_setting_flags(worker)
    worker.set_defaults(handler=cmd_worker)
    broker = sub.add_parser(
        "broker", help="run the embedded broker in the foreground; prints the lines to export"
    )
    broker.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    broker.set_defaults(handler=cmd_broker)


DEBUG_HELP = "log at DEBUG and show the traceback of an error"


def _debug_after_the_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``--debug`` after a command's name too; SUPPRESS keeps one given before it."""
    for command in sub.choices.values():
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP
        )


def _add_module_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, module: str, help_text: str
) -> None:
    commands = importlib.import_module(module)
    p = sub.add_parser(name, help=help_text)
    commands.configure_parser(p)
    p.set_defaults(handler=commands.run)


# --------------------------------------------------------------------------- worker


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the Faust worker until it is stopped; starts the embedded broker when none is set."""
    from pipeline.broker.embedded import start_if_needed
    from pipeline.worker import run_worker

    with contextlib.ExitStack() as stack:
        settings, broker = start_if_needed(settings, stack)
        if broker is not None:
            print(f"embedded broker at {broker.bootstrap}", file=sys.stderr)
        return run_worker(settings)
    return 0  # pragma: no cover - ExitStack does not swallow exceptions


def cmd_broker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the embedded broker in the foreground and print its bootstrap address."""
    from pipeline.broker.embedded import run_foreground

    return run_foreground(port=args.port)


# --------------------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Start what is needed, code the seed articles, print their events, stop everything."""
    from pipeline.demo import run_demo

    return run_demo(settings, args.paths, args.timeout)


# --------------------------------------------------------------------------- schemas


def cmd_schemas(args: argparse.Namespace, settings: Settings) -> int:
    """Regenerate the JSON Schema files."""
    for path in write_schemas(args.out):
        print(path, file=sys.stderr)
    return 0
