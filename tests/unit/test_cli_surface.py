"""The CLI's surface: flags derived from the settings, the log formats, the exit-status table."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli import build_parser
from pipeline.exits import Exit, SettingsError, explain, load_settings, report
from pipeline.flags import given_flags, setting_fields
from pipeline.logs import context, is_table, setup_logging
from pipeline.settings import Settings, env_name

pytestmark = pytest.mark.unit

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def no_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("DIPWIRE_") or key == "KAFKA_BOOTSTRAP_SERVERS":
            monkeypatch.delenv(key)


def worker_args(*argv: str) -> dict[str, object]:
    return given_flags(build_parser().parse_args(["worker", *argv]))


def test_every_setting_but_the_secrets_is_a_worker_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["worker", "--help"])
    help_text = capsys.readouterr().out
    for name in Settings.model_fields:
        flag = "--" + name.replace("_", "-")
        if name in setting_fields():
            assert flag in help_text, flag
            assert env_name(name) in help_text, env_name(name)
        else:
            assert flag not in help_text, f"{flag}: a secret on a command line shows in ps"
    assert {"kafka_sasl_password", "kafka_ssl_key_password"}.isdisjoint(setting_fields())


def test_flags_override_the_environment(
    no_settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIPWIRE_WEB_PORT", "7001")
    monkeypatch.setenv("DIPWIRE_TOPIC_PREFIX", "env.")
    flags = worker_args(
        "--web-port",
        "7002",
        "--nlp-processes",
        "2",
        "--no-verb-dictionaries-strict",
        "--kafka-bootstrap-servers",
        "k:9092",
        "--log-format",
        "json",
        "--verb-dictionaries",
        "a.txt:b.txt",
    )
    settings = load_settings(flags)
    assert settings.web_port == 7002 and settings.nlp_processes == 2
    assert settings.topic_prefix == "env."  # not given: the environment's
    assert settings.verb_dictionaries_strict is False
    assert settings.kafka_bootstrap_servers == "k:9092" and not settings.starts_broker
    assert settings.log_format == "json"
    assert settings.verb_dictionaries == [Path("a.txt"), Path("b.txt")]
    assert load_settings(worker_args()).web_port == 7001


def test_a_bad_value_names_its_flag_or_its_variable(
    no_settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SettingsError) as flag:
        load_settings(worker_args("--batch-size", "0"))
    assert flag.value.lines == ["--batch-size='0': Input should be greater than or equal to 1"]
    monkeypatch.setenv("DIPWIRE_BATCH_SIZE", "lots")
    with pytest.raises(SettingsError) as variable:
        load_settings()
    assert variable.value.lines[0].startswith("DIPWIRE_BATCH_SIZE='lots': ")
    monkeypatch.setenv("DIPWIRE_BATCH_SIZE", "4")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "")
    monkeypatch.setenv("DIPWIRE_EMBEDDED_BROKER", "maybe")
    with pytest.raises(SettingsError) as aliased:
        load_settings()
    assert aliased.value.lines[0].startswith("DIPWIRE_EMBEDDED_BROKER='maybe'")


def test_log_level_accepts_any_case_and_warn(no_settings_env: None) -> None:
    assert Settings(log_level="debug").log_level == "DEBUG"
    assert Settings(log_level="warn").log_level == "WARNING"
    assert Settings(log_format="JSON").log_format == "json"


# --------------------------------------------------------------------------- logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    kafka_level = logging.getLogger("kafka").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("kafka").setLevel(kafka_level)


TABLE = "Subscribed to topic(s):\n+Topic---------+\n| articles.raw |\n+--------------+"


def test_json_logs_are_one_object_a_line_with_the_context(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("INFO", "json", out)
    log = logging.getLogger("pipeline.test")
    log.info("dead letter %s", "not_json", extra=context("validate", "a-1", 2, 17))
    log.info("no context\nsecond line")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", extra=context("code"))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert first["message"] == "dead letter not_json"
    assert (first["stage"], first["article_id"], first["partition"], first["offset"]) == (
        "validate",
        "a-1",
        2,
        17,
    )
    assert first["level"] == "INFO" and first["logger"] == "pipeline.test" and first["time"]
    assert second["message"] == "no context\nsecond line" and "stage" not in second
    assert third["stage"] == "code" and "ValueError: boom" in third["exc_info"]


def test_text_logs_carry_the_context_in_one_format(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("INFO", "text", out)
    logging.getLogger("faust.worker").info("[^Worker]: Ready")
    logging.getLogger("pipeline.x").warning("dead letter", extra=context("extract", "b", 0, 5))
    first, second = out.getvalue().splitlines()
    pattern = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING) [\w.]+: .+"
    assert re.fullmatch(pattern, first) and re.fullmatch(pattern, second)
    assert second.endswith(
        "pipeline.x: dead letter [stage=extract article_id=b partition=0 offset=5]"
    )


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_tables_only_at_debug(restore_logging: None, fmt: str) -> None:
    assert is_table(TABLE) and is_table("x:\n┌─────┐\n│ a │\n└─────┘")
    assert not is_table("one line +---+") and not is_table("two\nlines")
    out = io.StringIO()
    setup_logging("INFO", fmt, out)
    logging.getLogger("faust.worker").info(TABLE)
    assert out.getvalue() == ""
    setup_logging("DEBUG", fmt, out)
    logging.getLogger("faust.worker").info(TABLE)
    assert "articles.raw" in out.getvalue() and "DEBUG" in out.getvalue()


def test_kafka_python_is_quiet_unless_debugging(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("INFO", "text", out)
    logging.getLogger("kafka.net.manager").error("Connection failed: 111 ECONNREFUSED")
    assert out.getvalue() == ""
    setup_logging("DEBUG", "text", out)
    logging.getLogger("kafka.net.manager").error("Connection failed: 111 ECONNREFUSED")
    assert "ECONNREFUSED" in out.getvalue()


# --------------------------------------------------------------------------- exit statuses


def readme_exit_table() -> dict[int, str]:
    section = README.read_text(encoding="utf-8").split("\n### Exit status and errors\n", 1)[1]
    section = section.split("\n#", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+?) \|", section, re.MULTILINE)
    return {int(code): meaning for code, meaning in rows}


def test_the_readme_documents_every_exit_status() -> None:
    assert set(readme_exit_table()) == {int(code) for code in Exit}


def test_a_bug_keeps_its_traceback_and_a_user_error_does_not() -> None:
    out = io.StringIO()
    try:
        raise KeyError("surprise")
    except KeyError as exc:
        assert explain(exc) is None
        assert report(exc, None, debug=False, stream=out) == Exit.FAILED
    assert "Traceback" in out.getvalue() and "(a bug)" in out.getvalue()
    out = io.StringIO()
    try:
        open("/nonexistent/article.json")  # noqa: SIM115
    except OSError as exc:
        assert report(exc, None, debug=False, stream=out) == Exit.USAGE
    assert out.getvalue().splitlines() == [
        "dipwire: /nonexistent/article.json: no such file or folder",
        "  check the path",
    ]
