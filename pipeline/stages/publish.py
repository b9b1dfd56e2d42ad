"""Publishing a batch's outputs: each acked once, failures classified, nothing lost or doubled.

A sink reports one outcome per output (``None`` when the broker acknowledged
it). :func:`publish_until_acked` then

* never sends an acknowledged output again;
* retries, with backoff, the outputs that failed with a retriable error
  (broker unavailable, leader moved, a timeout) or an unknown one;
* dead-letters an output the broker or the producer refuses for itself (too
  large, invalid, not authorised for its topic): the refusal is confirmed by
  sending that output alone (a broker refuses a whole batch of a partition),
  then the output is replaced by a ``DeadLetter`` of its article
  (``output_too_large``, ``output_invalid``, ``output_not_authorized``, with the
  stage, the size and the limit) and the rest of the batch is published once;
* publishes an ``ArticleCoded`` only after every other output of its article
  is acknowledged, so that an article whose event was refused is accounted for
  by its dead letter alone, never by both.

The batch's input offsets become committable only when this returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from pipeline.codec import Origin, Rejected, dead_letter, encode
from pipeline.headers import article_id_of
from pipeline.models import ArticleCoded, DeadLetter, utcnow
from pipeline.stages.base import Output
from pipeline.stages.fit import budget, cut_payload
from pipeline.topics import Role

log = logging.getLogger(__name__)

PUBLISH_RETRY_FIRST_SECONDS = 0.5
PUBLISH_RETRY_MAX_SECONDS = 30.0
"""Backoff between attempts to publish a batch's outputs (doubling up to the maximum)."""

REFUSALS: dict[str, str] = {
    "MessageSizeTooLargeError": "output_too_large",
    "RecordListTooLargeError": "output_too_large",
    "RecordTooLargeError": "output_too_large",
    "InvalidTimestampError": "output_invalid",
    "UnsupportedForMessageFormatError": "output_invalid",
    "InvalidRecordError": "output_invalid",
    "TopicAuthorizationFailedError": "output_not_authorized",
}
"""Errors (aiokafka's and kafka-python's class names) that refuse one record for good."""

RETRIABLE = frozenset({"KafkaTimeoutError", "RequestTimedOutError", "KafkaConnectionError"})
"""Errors that are retriable although their class does not say so."""

Outcome = BaseException | None
"""What became of one output: ``None`` when acknowledged, else the error."""

Publish = Callable[[Sequence[Output]], Awaitable[Sequence[Outcome]]]


def refusal_kind(exc: BaseException) -> str | None:
    """The dead-letter kind of an error that refuses one record, or None when it is retriable.

    Faust wraps the producer's own errors (``ProducerSendError`` from a
    ``MessageSizeTooLargeError``), so the whole chain of causes is read.
    Anything unknown is retried: a wrong retry costs time, a wrong dead letter
    an article.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if name in RETRIABLE or getattr(current, "retriable", False):
            return None
        if name in REFUSALS:
            return REFUSALS[name]
        current = current.__cause__ or current.__context__
    return None


@dataclass
class Published:
    """What became of a batch's outputs: the acknowledged ones, dead letters among them."""

    acked: list[Output] = field(default_factory=list)
    """Every output the broker acknowledged, the dead letters that replaced refusals included."""
    dead_letters: list[DeadLetter] = field(default_factory=list)
    """The dead letters that replaced refused outputs."""
    retried: int = 0
    """Outputs sent again after a retriable error (one per output and attempt)."""


@dataclass
class _Round:
    """The outputs still to publish, and the articles whose account became a dead letter."""

    pending: list[Output]
    done: Published
    dead_articles: set[str] = field(default_factory=set)


async def publish_until_acked(
    publish: Publish,
    stage: str,
    outputs: Sequence[Output],
    *,
    limit: int,
    origins: dict[str, Origin] | None = None,
) -> Published:
    """Publish ``outputs`` until each is acknowledged or, if refused, replaced by a dead letter.

    Args:
        publish: Sends outputs, returns one outcome per output.
        stage: The stage id, for dead letters and logs.
        outputs: What the stage made of its batch.
        limit: ``DIPWIRE_MAX_MESSAGE_BYTES``, named in a dead letter's reason.
        origins: Where each article of the batch was read (by article id), for
            its dead letter.

    Returns:
        The outputs acknowledged and the dead letters that replaced refused ones.
    """
    terminal = [o for o in outputs if isinstance(o.value, ArticleCoded)]
    first = [o for o in outputs if not isinstance(o.value, ArticleCoded)]
    state = _Round(pending=first, done=Published())
    await _until_done(publish, stage, state, limit, origins or {})
    state.pending = [o for o in terminal if article_id_of(o.value) not in state.dead_articles]
    await _until_done(publish, stage, state, limit, origins or {})
    return state.done


async def _until_done(
    publish: Publish, stage: str, state: _Round, limit: int, origins: dict[str, Origin]
) -> None:
    """Publish ``state.pending`` until it is empty: acked, dead-lettered, or retried until so."""
    delay = PUBLISH_RETRY_FIRST_SECONDS
    while state.pending:
        batch, state.pending = state.pending, []
        outcomes = await _outcomes(publish, batch)
        state.done.acked.extend(o for o, e in zip(batch, outcomes, strict=True) if e is None)
        failed = [(o, e) for o, e in zip(batch, outcomes, strict=True) if e is not None]
        if len(batch) > 1:
            failed = await _confirm_alone(publish, failed, state.done)
        retry: list[tuple[Output, BaseException]] = []
        for output, exc in failed:
            kind = _refusal(output, exc)
            if kind is None:
                retry.append((output, exc))
            else:
                _refuse(state, stage, output, exc, kind, limit, origins)
        if retry:
            _log_retry(stage, retry, delay)
            state.done.retried += len(retry)
            await asyncio.sleep(delay)
            delay = min(delay * 2, PUBLISH_RETRY_MAX_SECONDS)
            state.pending.extend(o for o, _ in retry)


async def _confirm_alone(
    publish: Publish, failed: Sequence[tuple[Output, BaseException]], done: Published
) -> list[tuple[Output, BaseException]]:
    """Send each refused output of a larger batch again on its own: what still fails, fails.

    A broker refuses a partition's whole batch when one record is too large,
    so a batch-mate of a refused record may be innocent.
    """
    confirmed: list[tuple[Output, BaseException]] = []
    for output, exc in failed:
        if _refusal(output, exc) is None:
            confirmed.append((output, exc))
            continue
        (again,) = await _outcomes(publish, [output])
        if again is None:
            done.acked.append(output)
        else:
            confirmed.append((output, again))
    return confirmed


def _refusal(output: Output, exc: BaseException) -> str | None:
    """The dead-letter kind for a refused output; None (retry) for a dead letter itself.

    Nothing but a dead letter can take its article's account, so one the
    dead-letter topic refuses is retried with backoff and logged, not dropped.
    """
    kind = refusal_kind(exc)
    if kind is not None and output.role == Role.DLQ:
        log.error("the dead-letter topic refused a record (%s: %s)", type(exc).__name__, exc)
        return None
    return kind


def _log_retry(stage: str, retry: Sequence[tuple[Output, BaseException]], delay: float) -> None:
    error = retry[0][1]
    log.error(
        "stage %s: publishing %d output(s) failed (%s: %s); retrying in %.1f s",
        stage,
        len(retry),
        type(error).__name__,
        error,
        delay,
    )


async def _outcomes(publish: Publish, outputs: Sequence[Output]) -> list[Outcome]:
    """One outcome per output; a sink that raises fails every output with that error."""
    try:
        outcomes = list(await publish(outputs))
    except Exception as exc:  # CancelledError is not an Exception: a stop still stops
        return [exc] * len(outputs)
    if len(outcomes) != len(outputs):
        raise RuntimeError(f"a sink gave {len(outcomes)} outcomes for {len(outputs)} outputs")
    return outcomes


def _refuse(
    state: _Round,
    stage: str,
    output: Output,
    exc: BaseException,
    kind: str,
    limit: int,
    origins: dict[str, Origin],
) -> None:
    """Replace a refused output by one dead letter of its article, to be published next."""
    article_id = article_id_of(output.value)
    if article_id is not None and article_id in state.dead_articles:
        log.error("stage %s: %s for article %s again (%s)", stage, kind, article_id, exc)
        return  # the article's account is its first dead letter
    payload = output.payload()
    size = len(payload) + len(output.key or b"")
    reason = (
        f"the {output.role.value} output of stage {stage} was refused ({type(exc).__name__}: "
        f"{exc}); it is {size:,} bytes, the limit (DIPWIRE_MAX_MESSAGE_BYTES) is {limit:,}"
    )[:2000]
    origin = origins.get(article_id or "", Origin(topic=output.role.value))
    letter = dead_letter(payload, origin, stage, Rejected(kind, reason, article_id), utcnow())
    key = article_id.encode() if article_id is not None else output.key
    room = budget(limit, key)
    if len(encode(letter)) > room:
        letter = cut_payload(letter, room)
    log.error("stage %s: %s for article %s: %s", stage, kind, article_id, reason)
    if article_id is not None:
        state.dead_articles.add(article_id)
    state.done.dead_letters.append(letter)
    state.pending.append(Output(Role.DLQ, key, letter))
