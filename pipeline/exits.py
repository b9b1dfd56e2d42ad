"""What a command's failure tells the user: one or two lines, what went wrong, what to do.

:func:`report` turns an exception that ends a command into its lines on stderr
and its exit status (:class:`Exit`, the table in the README's "Exit status and
errors"). A user error (a setting, a file, an unreachable broker, a port in
use) gets a sentence and a hint, and its traceback only with ``--debug`` or
``DIPWIRE_LOG_LEVEL=DEBUG``; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import IO, Any

from pydantic import SecretStr, ValidationError

from pipeline.broker.errors import BrokerConfigError, BrokerError
from pipeline.errors import PipelineError, PortInUse
from pipeline.settings import Settings, env_name

__all__ = ["Exit", "SettingsError", "UserError", "explain", "load_settings", "report"]


class Exit(IntEnum):
    """The exit statuses of every ``dipwire`` command."""

    OK = 0
    FAILED = 1
    """The command ran and found a problem (``audit``: inputs missing), or a bug."""
    USAGE = 2
    """Fix the command line, a setting, a file or the port and run again."""
    BROKER = 3
    """No Kafka answered within ``DIPWIRE_BOOTSTRAP_TIMEOUT``, or the broker failed a request."""
    INTERRUPTED = 130
    """Stopped with Ctrl-C."""


@dataclass(frozen=True)
class UserError:
    """A failure explained: the exit status, the sentence, and what to do."""

    code: Exit
    message: str
    hint: str | None = None


class SettingsError(PipelineError):
    """Settings that do not validate; each line names the variable or flag to fix."""

    def __init__(self, lines: list[str], hint: str) -> None:
        self.lines = lines
        self.hint = hint
        super().__init__("; ".join(lines))


_PORT_HINT = "set DIPWIRE_WEB_PORT (or --web-port) to a free port"
_BROKER_HINT = (
    "check KAFKA_BOOTSTRAP_SERVERS and that the broker is up, or wait longer with "
    "DIPWIRE_BOOTSTRAP_TIMEOUT"
)


def _secret_fields() -> frozenset[str]:
    return frozenset(
        name
        for name, field in Settings.model_fields.items()
        if SecretStr in getattr(field.annotation, "__args__", (field.annotation,))
    )


def _field_of(key: object) -> str | None:
    """The settings field an error location names (a field name or its alias)."""
    if key in Settings.model_fields:
        return str(key)
    for name in Settings.model_fields:
        if env_name(name) == key:
            return name
    return None


def settings_problems(exc: ValidationError, name_of: Callable[[str], str]) -> list[str]:
    """One line per invalid setting: ``NAME='value': what is wrong`` (secrets not echoed)."""
    lines = []
    for error in exc.errors():
        field = _field_of(error["loc"][0]) if error["loc"] else None
        where = name_of(field) if field else "settings"
        shown = "" if field in _secret_fields() or field is None else f"={error['input']!r}"
        lines.append(f"{where}{shown}: {error['msg']}")
    return lines


def load_settings(flags: Mapping[str, object] | None = None) -> Settings:
    """The settings from the environment, and from command-line ``flags`` over it.

    ``flags`` maps a field name to the value given for its flag.

    Raises:
        SettingsError: A value does not validate; it names the variable or the flag.
    """
    try:
        settings = Settings()
    except ValidationError as exc:
        raise SettingsError(
            settings_problems(exc, env_name),
            "fix or unset the variable (see the README's Configuration table)",
        ) from None
    if not flags:
        return settings
    given = dict(flags)
    # A field with an alias (KAFKA_BOOTSTRAP_SERVERS) is given by its alias, the others by name.
    values: dict[str, Any] = {
        env_name(k) if Settings.model_fields[k].validation_alias else k: v for k, v in given.items()
    }
    try:
        return Settings(**values)
    except ValidationError as exc:

        def name_of(field: str) -> str:
            return "--" + field.replace("_", "-") if field in given else env_name(field)

        raise SettingsError(
            settings_problems(exc, name_of), "see `dipwire worker --help`"
        ) from None


def _os_error(exc: OSError) -> UserError:
    name = exc.filename or ""
    if isinstance(exc, FileNotFoundError):
        return UserError(Exit.USAGE, f"{name}: no such file or folder", "check the path")
    if isinstance(exc, IsADirectoryError):
        return UserError(Exit.USAGE, f"{name}: is a folder, not a file")
    if isinstance(exc, PermissionError):
        return UserError(Exit.USAGE, f"{name}: permission denied")
    if exc.errno == errno.EADDRINUSE:
        return UserError(Exit.USAGE, f"address already in use: {exc}", _PORT_HINT)
    return UserError(Exit.USAGE, f"{name + ': ' if name else ''}{exc.strerror or exc}")


def _kafka_error(exc: Exception, settings: Settings | None) -> UserError | None:
    """kafka-python's bootstrap failures of the CLI's clients, as one sentence."""
    from kafka.errors import KafkaTimeoutError

    # kafka-python 3 says "Unable to bootstrap from ..."; 2.x raised NoBrokersAvailable.
    if type(exc).__name__ == "NoBrokersAvailable" or (
        isinstance(exc, KafkaTimeoutError) and "bootstrap" in str(exc).lower()
    ):
        where = settings.kafka_bootstrap_servers if settings else None
        seconds = settings.bootstrap_timeout if settings else None
        within = f" within {seconds:g} s" if seconds else ""
        return UserError(
            Exit.BROKER,
            f"no Kafka answered at {where or 'the configured address'}{within}",
            _BROKER_HINT,
        )
    return None


def explain(exc: BaseException, settings: Settings | None = None) -> UserError | None:
    """The user's account of ``exc``, or None when it is a bug (it keeps its traceback)."""
    from pipeline.broker.probe import BrokerUnreachable
    from pipeline.nlp.data import DataFileError

    if isinstance(exc, KeyboardInterrupt):
        return UserError(Exit.INTERRUPTED, "interrupted")
    if isinstance(exc, SettingsError):
        return UserError(Exit.USAGE, "\n  ".join(exc.lines), exc.hint)
    if isinstance(exc, BrokerUnreachable):
        return UserError(Exit.BROKER, str(exc), _BROKER_HINT)
    if isinstance(exc, PortInUse):
        return UserError(Exit.USAGE, str(exc), _PORT_HINT)
    if isinstance(exc, DataFileError):
        return UserError(Exit.USAGE, str(exc), exc.hint or None)
    if isinstance(exc, PipelineError | BrokerConfigError):
        return UserError(Exit.USAGE, str(exc))
    if isinstance(exc, BrokerError):  # the embedded broker did not start, topics not ready
        return UserError(Exit.BROKER, str(exc))
    if isinstance(exc, UnicodeDecodeError):
        return UserError(
            Exit.USAGE,
            f"input is not UTF-8 text ({exc.reason} at byte {exc.start})",
            "convert it to UTF-8, or pass it as a JSON article",
        )
    if isinstance(exc, OSError):
        return _os_error(exc)
    if isinstance(exc, Exception):
        return _kafka_error(exc, settings)
    return None


def report(
    exc: BaseException, settings: Settings | None, *, debug: bool, stream: IO[str] | None = None
) -> int:
    """Print ``exc`` for the user; return the exit status."""
    out = stream or sys.stderr
    error = explain(exc, settings)
    if error is None:
        traceback.print_exception(exc, file=out)
        print(f"dipwire: unexpected {type(exc).__name__} (a bug); traceback above", file=out)
        return Exit.FAILED
    if debug and not isinstance(exc, KeyboardInterrupt):
        traceback.print_exception(exc, file=out)
    print(f"dipwire: {error.message}", file=out)
    if error.hint:
        print(f"  {error.hint}", file=out)
    return error.code
