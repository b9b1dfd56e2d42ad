"""Every topic of the pipeline, by role, and the flow: which stage reads and writes which.

``articles.raw`` -> validate -> ``articles.valid`` -> extract -> ``articles.annotated``
-> enrich -> ``articles.enriched`` -> code -> ``events.diplomatic`` + ``articles.coded``.
Any stage -> ``articles.dlq``. By default (:data:`CHAIN`) the extract agent runs enrich and
code on the article it parsed, and the two topics between them stay empty.

A topic is named in code by its :class:`Role`; :class:`TopicNames` turns roles
into full names with the configured prefix, and :data:`FLOW` is the one place
that says which stage reads which role and writes which roles (the stages, the
app, the audit and the benchmark read it from here).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from enum import StrEnum

from pipeline.settings import Settings


class Role(StrEnum):
    """What a topic carries; the value is also the ``TopicNames`` attribute of its name."""

    RAW = "raw"
    VALID = "valid"
    ANNOTATED = "annotated"
    ENRICHED = "enriched"
    EVENTS = "events"
    CODED = "coded"
    DLQ = "dlq"


DEFAULT_NAMES: dict[Role, str] = {
    Role.RAW: "articles.raw",
    Role.VALID: "articles.valid",
    Role.ANNOTATED: "articles.annotated",
    Role.ENRICHED: "articles.enriched",
    Role.EVENTS: "events.diplomatic",
    Role.CODED: "articles.coded",
    Role.DLQ: "articles.dlq",
}
"""Each role's topic name before the prefix, in flow order."""

RAW = DEFAULT_NAMES[Role.RAW]
VALID = DEFAULT_NAMES[Role.VALID]
ANNOTATED = DEFAULT_NAMES[Role.ANNOTATED]
ENRICHED = DEFAULT_NAMES[Role.ENRICHED]
EVENTS = DEFAULT_NAMES[Role.EVENTS]
CODED = DEFAULT_NAMES[Role.CODED]
DLQ = DEFAULT_NAMES[Role.DLQ]

ALL = tuple(DEFAULT_NAMES.values())
"""Every default topic name, in flow order."""


@dataclass(frozen=True)
class Step:
    """One stage of the flow: its id, the role it reads, and the roles it writes.

    ``carries`` is the output that carries the article on (keyed by its id);
    ``writes`` is every output, the dead-letter topic included.
    """

    stage: str
    reads: Role
    carries: Role
    writes: tuple[Role, ...]


FLOW: tuple[Step, ...] = (
    Step("validate", Role.RAW, Role.VALID, (Role.VALID, Role.DLQ)),
    Step("extract", Role.VALID, Role.ANNOTATED, (Role.ANNOTATED, Role.DLQ)),
    Step("enrich", Role.ANNOTATED, Role.ENRICHED, (Role.ENRICHED, Role.DLQ)),
    Step("code", Role.ENRICHED, Role.CODED, (Role.EVENTS, Role.CODED, Role.DLQ)),
)
"""The four stages in flow order."""

CHAIN = Step("extract", Role.VALID, Role.CODED, (Role.EVENTS, Role.CODED, Role.DLQ))
"""The extract agent when it chains enrich and code (``DIPWIRE_CHAIN_STAGES``, the default):
it reads what extract reads and writes what code writes; the parse crosses no topic."""

REPLAY_HEADER = "dipwire-replay"
"""Header of a record ``dipwire replay`` put back on ``articles.raw``; its value is a token
naming the dead letter it came from. The validate stage lets an id it has seen through once
for a token it has not seen (a second copy of the same replay is dropped as a duplicate)."""

TERMINAL: tuple[Role, ...] = (Role.CODED, Role.DLQ)
"""The roles whose records close an article's account: exactly one of them per article."""


def step(stage: str) -> Step:
    """The step of ``stage`` in :data:`FLOW`.

    Raises:
        KeyError: No stage has that id.
    """
    for candidate in FLOW:
        if candidate.stage == stage:
            return candidate
    raise KeyError(f"no stage {stage!r} in the flow")


@dataclass(frozen=True)
class TopicNames:
    """Full topic names with the configured prefix applied, one attribute per role."""

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
        return cls(**{role.value: settings.topic(name) for role, name in DEFAULT_NAMES.items()})

    def of(self, role: Role) -> str:
        """The full name of the topic of ``role``."""
        name: str = getattr(self, role.value)
        return name

    def all(self) -> tuple[str, ...]:
        """Every topic, in flow order."""
        return astuple(self)
