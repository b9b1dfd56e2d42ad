"""What every stage shares: its contract, its input records, its outputs, and error isolation.

A stage is a plain object with a ``process`` method that takes a batch of raw
records and returns what to publish. It never raises for one bad message: the
message becomes a dead letter and the rest of the batch goes on. The Faust
agent around it (``pipeline.stages.agents``) only moves bytes and counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol, TypeVar

from pydantic import BaseModel

from pipeline.codec import Origin, Rejected, dead_letter, decode, encode
from pipeline.logs import context
from pipeline.models import MAX_ID_LENGTH, Article, DeadLetter, StageTiming
from pipeline.topics import Role

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Record:
    """One consumed message: its bytes and where it came from."""

    value: bytes
    origin: Origin
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()

    def header(self, name: str) -> bytes | None:
        """The value of the last header called ``name``, or None."""
        found = None
        for key, value in self.headers:
            if key == name:
                found = value
        return found


@dataclass(frozen=True)
class Output:
    """One message to publish on the topic of ``role``; ``encoded`` caches its JSON bytes."""

    role: Role
    key: bytes | None
    value: BaseModel
    encoded: bytes | None = field(default=None, compare=False, repr=False)

    def payload(self) -> bytes:
        """The value as it goes on the wire (encoded once)."""
        return self.encoded if self.encoded is not None else encode(self.value)

    def with_payload(self, encoded: bytes) -> Output:
        """This output with its encoded value cached."""
        return replace(self, encoded=encoded)


@dataclass
class BatchResult:
    """What a stage made of one batch."""

    outputs: list[Output] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    truncated: int = 0
    discarded: dict[str, int] = field(default_factory=dict)
    """Sentences (``sentence``) and articles (``story``) a discard phrase kept from coding."""
    steps: dict[str, StepCount] = field(default_factory=dict)
    """A chained stage's steps by stage id, each counted as its own agent would count it."""

    def dead_letters(self) -> list[DeadLetter]:
        """The dead-letter records among the outputs."""
        return [o.value for o in self.outputs if isinstance(o.value, DeadLetter)]

    def merge(self, other: BatchResult) -> None:
        """Add ``other`` (the result of another part of the same batch) to this one."""
        self.outputs.extend(other.outputs)
        self.truncated += other.truncated
        for counts, more in (
            (self.duplicates, other.duplicates),
            (self.discarded, other.discarded),
        ):
            for key, count in more.items():
                counts[key] = counts.get(key, 0) + count
        for stage, step in other.steps.items():
            self.steps[stage] = self.steps.get(stage, StepCount()) + step


@dataclass(frozen=True)
class StepCount:
    """What one step of a chained stage took in, carried on or published, and its seconds."""

    received: int = 0
    out: int = 0
    seconds: float = 0.0

    def __add__(self, other: StepCount) -> StepCount:
        return StepCount(
            self.received + other.received, self.out + other.out, self.seconds + other.seconds
        )


class Stage(Protocol):
    """The contract of a stage: its id, its input topic role, its output roles, its work."""

    id: str
    input_role: Role
    output_roles: tuple[Role, ...]

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        """Turn a batch of input records into outputs; never raise for one bad message."""
        ...


def reject(record: Record, stage: str, rejected: Rejected, now: datetime) -> Output:
    """Dead-letter ``record``; keyed by article id when known so it lands beside its article."""
    letter = dead_letter(record.value, record.origin, stage, rejected, now)
    key = rejected.article_id.encode() if rejected.article_id else record.key
    where = context(stage, rejected.article_id, record.origin.partition, record.origin.offset)
    log.info("dead letter %s: %s", rejected.kind, rejected.reason[:200], extra=where)
    return Output(Role.DLQ, key, letter)


def record_key_id(record: Record) -> str | None:
    """The article id a record is keyed by (every internal topic is; the raw topic usually)."""
    if not record.key:
        return None
    try:
        return record.key.decode("utf-8")[:MAX_ID_LENGTH] or None
    except UnicodeDecodeError:
        return None


def crash_reason(exc: BaseException) -> Rejected:
    """A readable dead-letter reason for an unexpected exception inside a stage."""
    return Rejected("stage_error", f"{type(exc).__name__}: {exc}"[:2000])


def isolate(
    items: Sequence[T],
    batch_fn: Callable[[Sequence[T]], list[R]],
    stage: str,
) -> list[R | BaseException]:
    """Run ``batch_fn`` over ``items``; if it raises, retry one by one to find the culprit.

    Returns one result per item, or the exception that item raised, so one
    poisoned message never takes its batch (or its partition) down with it.
    """
    try:
        results = batch_fn(items)
    except Exception:
        log.warning(
            "stage %s: batch of %d failed; retrying one by one",
            stage,
            len(items),
            extra=context(stage),
        )
    else:
        if len(results) != len(items):
            raise RuntimeError(f"stage {stage}: {len(results)} results for {len(items)} items")
        return list(results)
    singles: list[R | BaseException] = []
    for item in items:
        try:
            singles.extend(batch_fn([item]))
        except Exception as exc:
            log.exception("stage %s: message failed", stage, extra=context(stage))
            singles.append(exc)
    return singles


def add_timing(model: T, stage: str, seconds: float) -> T:
    """Return ``model`` with this stage's share of the batch time appended to ``timings``."""
    assert isinstance(model, BaseModel)
    timings = [*getattr(model, "timings", []), StageTiming(stage=stage, seconds=seconds)]
    return model.model_copy(update={"timings": timings})


def decode_batch(
    stage: str, records: Sequence[Record], model: type[M], now: datetime, result: BatchResult
) -> list[tuple[Record, M]]:
    """Each record decoded as ``model``, beside it; what does not decode is dead-lettered."""
    decoded: list[tuple[Record, M]] = []
    for record in records:
        value = decode(record.value, model)
        if isinstance(value, Rejected):
            result.outputs.append(reject(record, stage, value, now))
        else:
            decoded.append((record, value))
    return decoded


def run_decoded(
    stage: str,
    decoded: Sequence[tuple[Record, M]],
    batch_fn: Callable[[Sequence[M]], list[R]],
    now: datetime,
    result: BatchResult,
) -> tuple[list[tuple[Record, M, R]], float]:
    """Run ``batch_fn`` over decoded items with error isolation; dead-letter what failed.

    A failure is dead-lettered with the record the item came from, so a stage
    that runs on another stage's output in the same call (``pipeline.stages.chain``)
    dead-letters the message it read. Returns (record, input, output) for what
    succeeded and each item's share of the batch time.
    """
    started = time.perf_counter()
    outcomes = isolate([item for _, item in decoded], batch_fn, stage)
    share = (time.perf_counter() - started) / max(len(decoded), 1)
    done: list[tuple[Record, M, R]] = []
    for (record, item), outcome in zip(decoded, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            crashed = crash_reason(outcome)
            rejected = Rejected(crashed.kind, crashed.reason, article_of(item).id)
            result.outputs.append(reject(record, stage, rejected, now))
        else:
            done.append((record, item, outcome))
    return done, share


def article_of(value: BaseModel) -> Article:
    """The article a stage input carries (an ``Article`` is its own)."""
    if isinstance(value, Article):
        return value
    article = getattr(value, "article", None)
    assert isinstance(article, Article)
    return article
