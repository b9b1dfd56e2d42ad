"""One log format for every command and for Faust inside the worker; JSON for a log shipper.

:func:`setup_logging` installs one handler on the root logger: ``text`` writes
``time LEVEL logger: message [stage=... article_id=... partition=... offset=...]``,
``json`` one JSON object per line (python-json-logger) with the same context as
fields. The context is what a log call passes as :func:`context` in ``extra``.
Faust's multi-line tables (assignments, topics, recovery) are DEBUG: dropped
at any higher level, and marked DEBUG when shown. The worker tells Faust not
to install logging of its own (``override_logging=False``), so this stays the
one format.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

__all__ = ["CONTEXT_FIELDS", "context", "current_setup", "is_table", "setup_logging"]

CONTEXT_FIELDS = ("stage", "article_id", "partition", "offset")
"""The fields a log record may carry about the message it is about."""

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"

_current: tuple[str, str] | None = None
"""The (level, format) of the last :func:`setup_logging`, for child processes to repeat."""

_TABLE_LINE = re.compile(r"^\s*(\+[-=+]{3,}\+|[┌├└╒╞╘][─═])", re.MULTILINE)


def context(
    stage: str | None = None,
    article_id: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> dict[str, Any]:
    """``extra`` for a log call about one message; what is not known is left out."""
    values = {"stage": stage, "article_id": article_id, "partition": partition, "offset": offset}
    return {k: v for k, v in values.items() if v is not None}


def is_table(message: str) -> bool:
    """True for a multi-line message holding an ASCII or box-drawing table (Faust's)."""
    return "\n" in message and _TABLE_LINE.search(message) is not None


class _Tables(logging.Filter):
    """Tables are DEBUG output: drop them unless DEBUG is on, and say DEBUG when shown."""

    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG and is_table(record.getMessage()):
            if not self.debug:
                return False
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


class _TextContext(logging.Filter):
    """Render the context fields of a record as `` [stage=... offset=...]`` for the text format."""

    def filter(self, record: logging.LogRecord) -> bool:
        parts = [f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if hasattr(record, k)]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True


def _formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter(
            ["asctime", "levelname", "name", "message"],
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    return logging.Formatter(TEXT_FORMAT)


def setup_logging(level: str, fmt: str = "text", stream: IO[str] | None = None) -> None:
    """Make the root logger write ``fmt`` records at ``level`` and above to ``stream``.

    kafka-python narrates every failed connection at ERROR; the CLI reports
    what failed in a sentence, so its logger stays quiet below DEBUG.
    """
    global _current
    _current = (level, fmt)
    debug = level == "DEBUG"
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_formatter(fmt))
    handler.addFilter(_Tables(debug))
    if fmt != "json":
        handler.addFilter(_TextContext())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level))
    logging.getLogger("kafka").setLevel(logging.DEBUG if debug else logging.CRITICAL)


def current_setup() -> tuple[str, str] | None:
    """``(level, format)`` of this process's logging, if :func:`setup_logging` made it."""
    return _current
