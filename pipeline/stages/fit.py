"""Outputs that fit the broker: an oversized annotation carries less, a dead letter keeps less.

Every output is encoded once here, off the event loop, and measured against
``DIPWIRE_MAX_MESSAGE_BYTES`` (the producer's ``max_request_size``, and at most
the topics' ``max.message.bytes``). What is too large is made smaller where the
message allows it without losing its meaning:

* an ``AnnotatedArticle`` or ``EnrichedArticle`` keeps the parse of the
  sentences that carry actors (and of the first sentence, the dateline's); every
  other sentence becomes one bare token with its exact text, so the body, every
  character offset and every sentence stay as they were. Those sentences yield
  no event, which they could not have without an actor;
* a ``DeadLetter`` keeps fewer bytes of its payload (``payload_truncated``).

Anything still too large is published as it is and fails in the producer; the
publish path (:mod:`pipeline.stages.publish`) dead-letters it as
``output_too_large``. The functions are pure: they take and return models.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pipeline.codec import encode
from pipeline.models import ActorRef, AnnotatedArticle, DeadLetter, Sentence, Tokens
from pipeline.stages.base import Output

RECORD_OVERHEAD_BYTES = 1024
"""Room beside key and value for the record batch header (61 bytes), varints and headers."""


def budget(limit: int, key: bytes | None) -> int:
    """The most bytes a value with ``key`` may have in a record of at most ``limit`` bytes."""
    return limit - len(key or b"") - RECORD_OVERHEAD_BYTES


def record_size(output: Output) -> int:
    """Key plus encoded value: what the producer measures, less the constant overhead."""
    return len(output.key or b"") + len(output.payload())


@dataclass
class Fitted:
    """The outputs of a batch, encoded; how many of them were made smaller to fit."""

    outputs: list[Output]
    reduced: int = 0


def fit_outputs(outputs: Sequence[Output], limit: int) -> Fitted:
    """Encode every output; make the ones above ``limit`` smaller where their model allows."""
    fitted = Fitted(outputs=[])
    for output in outputs:
        encoded = output.with_payload(encode(output.value))
        room = budget(limit, output.key)
        if len(encoded.payload()) > room:
            smaller = shrink(encoded.value, room)
            if smaller is not None:
                encoded = replace(encoded, value=smaller, encoded=encode(smaller))
                fitted.reduced += 1
        fitted.outputs.append(encoded)
    return fitted


def shrink(value: object, room: int) -> AnnotatedArticle | DeadLetter | None:
    """A smaller form of ``value`` for ``room`` bytes, or None when its model has none.

    The smaller form may still not fit (a body alone larger than the limit);
    the producer then refuses it and it is dead-lettered.
    """
    if isinstance(value, AnnotatedArticle):  # EnrichedArticle too
        return fit_annotation(value, room)
    if isinstance(value, DeadLetter):
        return cut_payload(value, room)
    return None


def fit_annotation(item: AnnotatedArticle, room: int) -> AnnotatedArticle:
    """The annotation with as much parse as fits in ``room`` bytes, in two steps.

    First only the sentences that name no actor (except the first) lose their
    parse: they could yield no event. If that is not enough, the sentences that
    name actors lose theirs too, from the end of the article, until the message
    fits; then their actor mentions and places go with them and the annotation
    is marked ``truncated``, as a body cut to the NLP limit is.
    """
    keep = _sentences_to_keep(item.sentences, item.actors)
    reduced = keep_sentences(item, keep)
    if len(encode(reduced)) <= room:
        return reduced
    order = sorted(keep)
    best = keep_sentences(item, set(), cut=True)
    low, high = 1, len(order) - 1
    while low <= high:  # the longest prefix of the kept sentences that fits
        middle = (low + high) // 2
        candidate = keep_sentences(item, set(order[:middle]), cut=True)
        if len(encode(candidate)) <= room:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def cut_payload(letter: DeadLetter, room: int) -> DeadLetter:
    """The dead letter with as many leading payload bytes as fit in ``room`` bytes."""
    empty = letter.model_copy(update={"payload_b64": "", "payload_truncated": True})
    spare = max(room - len(encode(empty)), 0)
    keep = spare // 4 * 3  # base64: 4 characters per 3 bytes
    kept = base64.b64decode(letter.payload_b64)
    return letter.model_copy(
        update={
            "payload_b64": base64.b64encode(kept[:keep]).decode("ascii"),
            "payload_truncated": letter.payload_truncated or keep < len(kept),
        }
    )


def keep_actor_sentences(item: AnnotatedArticle) -> AnnotatedArticle:
    """``item`` with the parse kept only for the first sentence and those that name actors."""
    return keep_sentences(item, _sentences_to_keep(item.sentences, item.actors))


def keep_sentences(
    item: AnnotatedArticle, keep: set[int], *, cut: bool = False
) -> AnnotatedArticle:
    """``item`` with the parse kept only for the sentences at the positions in ``keep``.

    Each other sentence becomes one token holding its exact text (no lemma, tag
    or dependency), so the rebuilt doc still reads the whole body, and its
    ``Sentence`` entry points at that token. Tokens outside every sentence
    (blank lines) are kept. Applying it twice changes nothing more. With
    ``cut`` the actors and places outside the kept sentences are dropped and
    the annotation is marked ``truncated``.
    """
    sentences = item.sentences
    builder = _TokenBuilder(item.tokens)
    new_sentences: list[Sentence] = []
    for index, sentence in enumerate(sentences):
        builder.copy_until(sentence.token_start)
        start = builder.size
        if index in keep:
            builder.copy_until(sentence.token_end)
        else:
            builder.collapse(sentence.token_start, sentence.token_end)
        bounds = {"token_start": start, "token_end": builder.size}
        new_sentences.append(sentence.model_copy(update=bounds))
    builder.copy_until(len(item.tokens))
    update: dict[str, object] = {"tokens": builder.build(), "sentences": new_sentences}
    if cut:
        spans = [(sentences[i].span.start, sentences[i].span.end) for i in sorted(keep)]
        update["actors"] = [a for a in item.actors if _inside(a.span.start, spans)]
        update["locations"] = [
            p for p in item.locations if p.span is not None and _inside(p.span.start, spans)
        ]
        update["truncated"] = True
    return item.model_copy(update=update)


def _inside(offset: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= offset < end for start, end in spans)


def _sentences_to_keep(sentences: Sequence[Sentence], actors: Sequence[ActorRef]) -> set[int]:
    """The first sentence, and every sentence whose span overlaps an actor mention."""
    keep = {0} if sentences else set()
    spans = sorted((a.span.start, a.span.end) for a in actors)
    for index, sentence in enumerate(sentences):
        lo, hi = sentence.span.start, sentence.span.end
        if any(start < hi and end > lo for start, end in spans):
            keep.add(index)
    return keep


class _TokenBuilder:
    """Builds the new token columns from the old ones, remapping head indices."""

    def __init__(self, tokens: Tokens) -> None:
        self.old = tokens
        self.position = 0
        self.columns: dict[str, list[object]] = {name: [] for name in type(tokens).model_fields}
        self.new_index: dict[int, int] = {}
        self.copied: list[int] = []

    @property
    def size(self) -> int:
        return len(self.columns["text"])

    def copy_until(self, end: int) -> None:
        """Copy the old tokens from the current position up to ``end`` as they are."""
        for i in range(self.position, end):
            self.new_index[i] = self.size
            self.copied.append(i)
            for name, column in self.columns.items():
                column.append(getattr(self.old, name)[i])
        self.position = max(self.position, end)

    def collapse(self, start: int, end: int) -> None:
        """Replace the old tokens ``[start, end)`` by one token with their exact text."""
        if end <= start:
            return
        old = self.old
        pairs = zip(old.text[start:end], old.ws[start:end], strict=True)
        text = "".join(t + (" " if ws else "") for t, ws in pairs)
        trailing = old.ws[end - 1]
        here = self.size
        for i in range(start, end):
            self.new_index[i] = here
        values: dict[str, object] = {
            "text": text[:-1] if trailing else text,
            "ws": trailing,
            "lemma": "",
            "pos": "X",
            "tag": "",
            "dep": "ROOT",
            "head": here,
            "sent_start": True,
            "ent_iob": "O",
            "ent_type": "",
        }
        for name, column in self.columns.items():
            column.append(values[name])
        self.position = end

    def build(self) -> Tokens:
        """The new columns; a kept token whose head was collapsed away becomes its own head."""
        copied = set(self.copied)
        heads = self.columns["head"]
        for old_i in self.copied:
            old_head = self.old.head[old_i]
            new_i = self.new_index[old_i]
            heads[new_i] = self.new_index[old_head] if old_head in copied else new_i
        return Tokens.model_validate(self.columns)
