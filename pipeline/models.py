"""Message models: the one source of truth for every record on every topic.

Each model carries ``schema_version``; ``dipwire schemas`` writes their JSON
Schema into ``schemas/`` and a test fails when the two drift apart.

Flow: ``Article`` (articles.raw) -> ``AnnotatedArticle`` (extract) ->
``EnrichedArticle`` (topics and tone) -> ``DiplomaticEvent`` per event plus one
``ArticleCoded`` per article; anything that cannot be processed becomes one
``DeadLetter``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_VERSION = 1
"""Bumped whenever a field changes meaning or a required field is added."""

NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION


class Span(BaseModel):
    """Character offsets ``[start, end)`` into the article body."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Article(_Message):
    """A wire article as published on ``articles.raw``.

    ``received_at`` is stamped by the validate stage; producers may omit it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=False)

    id: NonEmptyStr = Field(max_length=512)
    url: str | None = Field(default=None, max_length=4096)
    source: str | None = Field(default=None, max_length=512)
    title: str = Field(default="", max_length=4096)
    body: str
    published_at: datetime | date | None = None
    language: str = Field(default="en", max_length=16)
    received_at: datetime | None = None

    @property
    def story_date(self) -> date | None:
        """The date actor dictionaries are resolved against."""
        value = self.published_at
        if isinstance(value, datetime):
            return value.date()
        return value


class Token(BaseModel):
    """One token of the parse, enough to rebuild a spaCy ``Doc`` without re-parsing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    ws: bool = Field(description="Whether whitespace follows the token.")
    lemma: str
    pos: str
    tag: str
    dep: str
    head: int = Field(description="Index of the syntactic head in the article's token list.")
    sent_start: bool
    ent_iob: Literal["B", "I", "O", ""] = ""
    ent_type: str = ""


class ActorRef(BaseModel):
    """A coded actor: a mention of a state, organisation, group or person."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(description="The words of the mention as they stand in the body.")
    name: str = Field(description="Canonical name of the entity the mention resolves to.")
    code: str = Field(description="Full CAMEO actor code, e.g. USAGOV, CHN, IGOUNO, ---REB.")
    country: str | None = Field(
        default=None, description="ISO 3166-1 alpha-3 of the actor's country, if any."
    )
    agent: str | None = Field(default=None, description="CAMEO agent code, e.g. GOV, MIL, REB.")
    span: Span
    match: str = Field(
        default="name",
        description="How it was found: name, alias, demonym, metonym, title, agent, coref, "
        "dictionary.",
    )


class Location(BaseModel):
    """A place named in the evidence sentence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    span: Span | None = None


class TopicScore(BaseModel):
    """One label of the topic taxonomy with its score in ``[0, 1]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    score: float = Field(ge=0.0, le=1.0)


class Tone(BaseModel):
    """VADER compound in ``[-1, 1]`` and the same on GDELT's ``[-100, 100]`` scale."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    compound: float = Field(ge=-1.0, le=1.0)
    gdelt: float = Field(ge=-100.0, le=100.0)
    positive: float = Field(ge=0.0, le=1.0)
    negative: float = Field(ge=0.0, le=1.0)


class Sentence(BaseModel):
    """A sentence of the body with its span and, after the enrich stage, its tone and topics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    span: Span
    token_start: int
    token_end: int
    tone: Tone | None = None
    topics: list[TopicScore] = Field(default_factory=list)


class StageTiming(BaseModel):
    """Seconds one stage spent on one article (its share of the batch)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str
    seconds: float = Field(ge=0.0)


class AnnotatedArticle(_Message):
    """Output of the extract stage: the article parsed once, with actors and places."""

    article: Article
    tokens: list[Token]
    sentences: list[Sentence]
    actors: list[ActorRef]
    locations: list[Location] = Field(default_factory=list)
    truncated: bool = Field(
        default=False, description="The body was longer than the NLP limit and was cut."
    )
    timings: list[StageTiming] = Field(default_factory=list)


class EnrichedArticle(AnnotatedArticle):
    """Output of the enrich stage: topics and tone added to the annotation."""

    topics: list[TopicScore] = Field(default_factory=list)
    tone: Tone


class EventTone(BaseModel):
    """Tone around one event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sentence: Tone
    document: Tone
    dyad: Tone | None = Field(
        default=None, description="Tone of the sentences where both actors of the event appear."
    )


Modality = Literal["asserted", "future", "intent", "hypothetical", "reported"]


class DiplomaticEvent(_Message):
    """One coded event: who did what to whom, with its evidence."""

    event_id: str = Field(description="Deterministic: article + sentence + actors + code.")
    article_id: str
    url: str | None = None
    published_at: datetime | date | None = None
    source_actor: ActorRef
    target_actor: ActorRef | None = None
    cameo_code: str = Field(pattern=r"^\d{3,4}$")
    cameo_root: str = Field(pattern=r"^\d{2}$")
    event_name: str
    goldstein: float = Field(ge=-10.0, le=10.0)
    quad_class: int = Field(ge=1, le=4)
    plover_type: str | None = None
    plover_mode: str | None = None
    sentence: str
    sentence_span: Span
    trigger: str = Field(description="The words that carried the event verb.")
    trigger_span: Span
    location: Location | None = None
    topics: list[TopicScore] = Field(default_factory=list)
    tone: EventTone
    confidence: float = Field(ge=0.0, le=1.0)
    negated: bool = False
    modality: Modality = "asserted"
    pipeline_version: str
    ingested_at: datetime | None = None
    emitted_at: datetime


class ArticleCoded(_Message):
    """Accounting record: exactly one per article that went through every stage."""

    article_id: str
    events: int = Field(ge=0)
    event_ids: list[str] = Field(default_factory=list)
    truncated: bool = False
    timings: list[StageTiming] = Field(default_factory=list)
    received_at: datetime | None = None
    coded_at: datetime


class DeadLetter(_Message):
    """A message that could not be processed, with why and where it came from."""

    article_id: str | None = Field(default=None, description="The article id, when it was read.")
    payload_b64: str = Field(description="The original message bytes, base64-encoded.")
    payload_size: int = Field(ge=0, description="Size of the original message in bytes.")
    payload_truncated: bool = Field(
        default=False, description="Only the first bytes of an oversized payload were kept."
    )
    topic: str
    partition: int | None = None
    offset: int | None = None
    stage: str
    error_kind: str = Field(description="Machine-readable kind, e.g. not_json, body_too_large.")
    reason: str = Field(description="Human-readable explanation.")
    failed_at: datetime


MESSAGE_MODELS: dict[str, type[BaseModel]] = {
    "article": Article,
    "annotated_article": AnnotatedArticle,
    "enriched_article": EnrichedArticle,
    "diplomatic_event": DiplomaticEvent,
    "article_coded": ArticleCoded,
    "dead_letter": DeadLetter,
}
"""Every message that crosses a topic, by schema file name."""


def render_schemas() -> dict[str, str]:
    """JSON Schema text of every message model, by file name."""
    rendered = {}
    for name, model in MESSAGE_MODELS.items():
        schema = model.model_json_schema()
        schema["$id"] = f"urn:dipwire:schema:v{SCHEMA_VERSION}:{name}"
        rendered[f"{name}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return rendered


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema into ``directory``; remove stale ``*.schema.json`` files."""
    directory.mkdir(parents=True, exist_ok=True)
    rendered = render_schemas()
    for stale in directory.glob("*.schema.json"):
        if stale.name not in rendered:
            stale.unlink()
    written = []
    for file_name, text in rendered.items():
        path = directory / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
