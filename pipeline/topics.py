"""Every topic of the pipeline, by role, and the stage that reads each one.

``articles.raw`` -> validate -> ``articles.valid`` -> extract -> ``articles.annotated``
-> enrich -> ``articles.enriched`` -> code -> ``events.diplomatic`` + ``articles.coded``.
Any stage -> ``articles.dlq``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.settings import Settings

RAW = "articles.raw"
VALID = "articles.valid"
ANNOTATED = "articles.annotated"
ENRICHED = "articles.enriched"
EVENTS = "events.diplomatic"
CODED = "articles.coded"
DLQ = "articles.dlq"

ALL = (RAW, VALID, ANNOTATED, ENRICHED, EVENTS, CODED, DLQ)


@dataclass(frozen=True)
class TopicNames:
    """Full topic names with the configured prefix applied."""

    raw: str
    valid: str
    annotated: str
    enriched: str
    events: str
    coded: str
    dlq: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TopicNames:
        """Apply ``settings.topic_prefix`` to every default name."""
        return cls(*(settings.topic(name) for name in ALL))

    def all(self) -> tuple[str, ...]:
        """Every topic, in flow order."""
        return (
            self.raw,
            self.valid,
            self.annotated,
            self.enriched,
            self.events,
            self.coded,
            self.dlq,
        )
