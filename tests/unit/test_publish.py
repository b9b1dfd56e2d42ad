"""Publishing: classification of errors, acked outputs never re-sent, refusals dead-lettered;
and outputs made to fit the record-size limit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError, NotLeaderForPartitionError
from faust.exceptions import ProducerSendError

from pipeline.codec import Origin, Rejected, dead_letter, encode
from pipeline.models import (
    ActorRef,
    AnnotatedArticle,
    ArticleCoded,
    DeadLetter,
    Sentence,
    Span,
    Tokens,
)
from pipeline.stages import publish
from pipeline.stages.base import Output
from pipeline.stages.fit import (
    budget,
    cut_payload,
    fit_annotation,
    fit_outputs,
    keep_actor_sentences,
)
from pipeline.stages.publish import Outcome, publish_until_acked, refusal_kind
from pipeline.testing import NOW, annotated, article
from pipeline.topics import Role

pytestmark = pytest.mark.unit


def _wrapped(exc: BaseException) -> ProducerSendError:
    try:
        raise ProducerSendError(f"Error while sending: {exc!r}") from exc
    except ProducerSendError as wrapped:
        return wrapped


def test_errors_are_sorted_into_retriable_and_refusals() -> None:
    assert refusal_kind(MessageSizeTooLargeError()) == "output_too_large"
    assert refusal_kind(_wrapped(MessageSizeTooLargeError("76867 bytes"))) == "output_too_large"
    assert refusal_kind(NotLeaderForPartitionError()) is None
    assert refusal_kind(KafkaTimeoutError()) is None
    assert refusal_kind(ConnectionError("refused")) is None
    assert refusal_kind(RuntimeError("anything unknown is retried")) is None


class ScriptedSink:
    """Answers each publish from a rule on the output; records every output it was sent."""

    def __init__(self, fail: dict[bytes, list[BaseException]]) -> None:
        self.fail = fail
        self.sent: list[bytes | None] = []
        self.acked: list[Output] = []

    async def publish(self, outputs: Sequence[Output]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for output in outputs:
            self.sent.append(output.key)
            errors = self.fail.get(output.key or b"", [])
            if errors:
                outcomes.append(errors.pop(0))
            else:
                self.acked.append(output)
                outcomes.append(None)
        return outcomes


def _outputs(n: int) -> list[Output]:
    return [
        Output(Role.ANNOTATED, f"a{i}".encode(), annotated(article(f"a{i}", "Chile met Peru.")))
        for i in range(n)
    ]


def test_a_retry_sends_only_what_was_not_acked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "PUBLISH_RETRY_FIRST_SECONDS", 0.001)
    sink = ScriptedSink({b"a1": [NotLeaderForPartitionError(), KafkaTimeoutError()]})
    done = asyncio.run(publish_until_acked(sink.publish, "extract", _outputs(3), limit=10**6))
    assert sink.sent == [b"a0", b"a1", b"a2", b"a1", b"a1"]
    assert sorted(o.key or b"" for o in done.acked) == [b"a0", b"a1", b"a2"]
    assert done.retried == 2 and not done.dead_letters


def test_a_refused_output_is_dead_lettered_once_and_the_rest_published_once() -> None:
    too_large = _wrapped(MessageSizeTooLargeError("The message is 76867 bytes"))
    # Refused in the batch and again alone: a batch-mate of a refused record is innocent.
    sink = ScriptedSink({b"a1": [too_large, MessageSizeTooLargeError()]})
    origins = {"a1": Origin("t.articles.valid", 2, 40)}
    done = asyncio.run(
        publish_until_acked(sink.publish, "extract", _outputs(3), limit=60_000, origins=origins)
    )
    assert sink.sent == [b"a0", b"a1", b"a2", b"a1", b"a1"]  # the last: its dead letter
    (letter,) = done.dead_letters
    assert (letter.article_id, letter.stage, letter.error_kind) == (
        "a1",
        "extract",
        "output_too_large",
    )
    assert "60,000" in letter.reason and (letter.topic, letter.partition, letter.offset) == (
        "t.articles.valid",
        2,
        40,
    )
    assert [o.role for o in done.acked].count(Role.DLQ) == 1 and len(done.acked) == 3


def test_a_batch_mate_refused_with_its_batch_is_published_alone() -> None:
    sink = ScriptedSink({b"a0": [MessageSizeTooLargeError()]})  # fails once, then goes
    done = asyncio.run(publish_until_acked(sink.publish, "extract", _outputs(2), limit=10**6))
    assert not done.dead_letters and len(done.acked) == 2


def test_an_article_whose_event_is_refused_is_accounted_for_by_its_dead_letter_alone() -> None:
    coded = ArticleCoded(article_id="a0", events=1, event_ids=["e1"], coded_at=NOW)
    event_output = Output(Role.EVENTS, b"e1", annotated(article("a0", "Chile met Peru.")))
    outputs = [event_output, Output(Role.CODED, b"a0", coded)]
    sink = ScriptedSink({b"e1": [MessageSizeTooLargeError()]})
    done = asyncio.run(publish_until_acked(sink.publish, "code", outputs, limit=10**6))
    assert [o.role for o in sink.acked] == [Role.DLQ]
    assert [d.article_id for d in done.dead_letters] == ["a0"]


def test_a_dead_letter_topic_that_refuses_is_retried_not_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(publish, "PUBLISH_RETRY_FIRST_SECONDS", 0.001)
    letter = dead_letter(b"x", Origin("raw"), "validate", Rejected("not_json", "no"), NOW)
    sink = ScriptedSink({b"d": [MessageSizeTooLargeError()]})
    done = asyncio.run(
        publish_until_acked(sink.publish, "validate", [Output(Role.DLQ, b"d", letter)], limit=99)
    )
    assert sink.sent == [b"d", b"d"] and done.retried == 1 and len(done.acked) == 1


# --------------------------------------------------------------------------- fitting


def _long_annotation() -> AnnotatedArticle:
    """60 sentences, every third naming two countries: tokens, sentences and actors by hand."""
    texts = [
        "Chile met Peru in Lima." if i % 3 == 0 else "The weather was fine." for i in range(60)
    ]
    body = " ".join(texts)
    words: list[str] = []
    spaces: list[bool] = []
    sentences: list[Sentence] = []
    actors: list[ActorRef] = []
    offset = 0
    for i, text in enumerate(texts):
        parts = text[:-1].split(" ") + ["."]
        start = len(words)
        for j, part in enumerate(parts):
            words.append(part)
            spaces.append(j == len(parts) - 1 and i < len(texts) - 1 or j < len(parts) - 2)
        sentences.append(
            Sentence(
                span=Span(start=offset, end=offset + len(text)),
                token_start=start,
                token_end=len(words),
            )
        )
        if text.startswith("Chile"):
            span = Span(start=offset, end=offset + 5)
            actors.append(ActorRef(text="Chile", name="Chile", code="CHL", span=span))
        offset += len(text) + 1
    n = len(words)
    starts = {s.token_start for s in sentences}
    heads = [max(t for t in starts if t <= i) for i in range(n)]
    tokens = Tokens(
        text=words,
        ws=spaces,
        lemma=[w.lower() for w in words],
        pos=["X"] * n,
        tag=["X"] * n,
        dep=["ROOT" if i in starts else "dep" for i in range(n)],
        head=heads,
        sent_start=[i in starts for i in range(n)],
        ent_iob=["O"] * n,
        ent_type=[""] * n,
    )
    return AnnotatedArticle(
        article=article("long", body), tokens=tokens, sentences=sentences, actors=actors
    )


def _text(tokens: Tokens) -> str:
    return "".join(t + (" " if w else "") for t, w in zip(tokens.text, tokens.ws, strict=True))


def test_sentences_without_actors_lose_their_parse_and_the_text_stays() -> None:
    item = _long_annotation()
    assert _text(item.tokens) == item.article.body
    reduced = keep_actor_sentences(item)
    assert _text(reduced.tokens) == item.article.body
    assert len(reduced.sentences) == len(item.sentences)
    assert len(reduced.tokens) < len(item.tokens) and not reduced.truncated
    assert keep_actor_sentences(reduced) == reduced  # idempotent
    for i, (before, after) in enumerate(zip(item.sentences, reduced.sentences, strict=True)):
        assert before.span == after.span
        kept = i % 3 == 0
        assert (after.token_end - after.token_start > 1) == kept, i
        assert reduced.tokens.text[after.token_start] == item.tokens.text[before.token_start] or (
            not kept
        )


def test_an_annotation_that_still_does_not_fit_keeps_fewer_actor_sentences() -> None:
    item = _long_annotation()
    room = len(encode(keep_actor_sentences(item))) - 500
    cut = fit_annotation(item, room)
    assert len(encode(cut)) <= room and cut.truncated
    assert _text(cut.tokens) == item.article.body
    assert 0 < len(cut.actors) < len(item.actors)


def test_fit_outputs_makes_an_annotation_fit_and_counts_it() -> None:
    item = _long_annotation()
    size = len(encode(item))
    output = Output(Role.ANNOTATED, b"long", item)
    limit = size - 200 + 1024 + len(b"long")
    fitted = fit_outputs([output], limit)
    assert fitted.reduced == 1
    (out,) = fitted.outputs
    assert out.encoded is not None and len(out.encoded) <= budget(limit, b"long")
    assert fit_outputs([output], 10 * size).reduced == 0


def test_a_dead_letter_keeps_as_much_payload_as_fits() -> None:
    letter = dead_letter(b"y" * 50_000, Origin("raw"), "validate", Rejected("not_json", "n"), NOW)
    cut = cut_payload(letter, 5_000)
    assert len(encode(cut)) <= 5_000 and cut.payload_truncated and cut.payload_size == 50_000
    assert isinstance(cut, DeadLetter)
