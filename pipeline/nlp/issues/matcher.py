"""Find issue and discard phrases in the tokens of a parsed article.

Matching reuses the actor dictionaries' keys and
:class:`~pipeline.nlp.actors.dictionaries.PhraseIndex`: a token's key is its
text lower-cased, accents folded, periods and apostrophes dropped, split at
hyphens ("E.U." meets ``e.u.``, "pre-school" meets ``pre+school``). Each
sentence is matched twice, once on the tokens' words and once on their
lemmas, so "reforms" meets ``reform`` and "kidnapped" meets ``v:kidnap``
through the lemma while "arrested" meets ``arrested`` through the word. A
phrase matches from the first key of a token, and never across a sentence
boundary or a punctuation mark other than a hyphen ("wind, turbines" is no
``wind n:turbine``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pipeline.models import Sentence, Tokens, TopicScore
from pipeline.nlp.issues.reader import (
    DiscardPhrase,
    IssueDictionary,
    load_discard_dictionary,
    load_issue_dictionary,
)
from pipeline.nlp.phrases import MAX_STEM_SUFFIX, MIN_STEM, Phrase, PhraseIndex, word_keys

T = TypeVar("T")

ISSUE_PREFIX = "issue:"
"""Issue labels stand beside the taxonomy's topic labels, told apart by this prefix."""

ISSUE_SCORE = 1.0
"""An issue is a dictionary tag, present or not: every issue label scores 1.0."""


def issue_label(code: str) -> str:
    """``EARLY_CHILDHOOD_EDUCATION`` -> ``issue:early_childhood_education``."""
    return ISSUE_PREFIX + re.sub(r"[^a-z0-9]+", "_", code.lower()).strip("_")


@dataclass(frozen=True, slots=True)
class KeySequence:
    """The keys of some tokens, the token each key came from, and whether it is its first."""

    keys: list[str]
    origin: list[int]
    first: list[bool]


def key_sequences(tokens: Tokens, start: int = 0, stop: int | None = None) -> list[KeySequence]:
    """The keys of ``tokens[start:stop]``: of their words, and of their lemmas where those differ.

    ``origin`` holds absolute token positions.
    """
    stop = len(tokens) if stop is None else stop
    texts = tokens.text[start:stop]
    lemmas = tokens.lemma[start:stop]
    return [_sequence(words, start) for words in ([texts] if lemmas == texts else [texts, lemmas])]


def _sequence(words: Sequence[str], start: int) -> KeySequence:
    keys: list[str] = []
    origin: list[int] = []
    first: list[bool] = []
    for i, word in enumerate(words, start=start):
        found = word_keys(word)
        if len(found) == 1:  # most tokens: one key, no list building
            keys.append(found[0])
            origin.append(i)
            first.append(True)
        elif found:
            keys.extend(found)
            origin.extend([i] * len(found))
            first.extend([True] + [False] * (len(found) - 1))
    return KeySequence(keys, origin, first)


class PhraseSet(Generic[T]):
    """A :class:`PhraseIndex` that also knows its phrases' first keys, to skip the others fast.

    Most tokens start no phrase; looking a key up in a set costs a tenth of
    asking the index for its candidates. A one-word stem ("CRICKET") starts
    every key it is a prefix of ("cricketers"), so those are kept apart and
    tried by prefix; the index still decides every match.
    """

    def __init__(self) -> None:
        self.index: PhraseIndex[T] = PhraseIndex()
        self._firsts: set[str] = set()
        self._stem_words: set[str] = set()
        self._stem_heads: set[str] = set()

    def _may_start(self, key: str) -> bool:
        if key in self._firsts:
            return True
        if len(key) <= MIN_STEM or key[:MIN_STEM] not in self._stem_heads:
            return False
        shortest = max(MIN_STEM, len(key) - MAX_STEM_SUFFIX)
        return any(key[:cut] in self._stem_words for cut in range(shortest, len(key)))

    def __len__(self) -> int:
        return len(self.index)

    def get(self, phrase: Phrase) -> T | None:
        """The value stored for exactly this phrase, if any."""
        return self.index.get(phrase)

    def add(self, phrase: Phrase, value: T) -> None:
        """Add a phrase (a later value of the same phrase replaces the earlier)."""
        self.index.add(phrase, value)
        self._firsts.add(phrase.keys[0])
        if phrase.stem and len(phrase.keys) == 1:
            self._stem_words.add(phrase.keys[0])
            self._stem_heads.add(phrase.keys[0][:MIN_STEM])

    def freeze(self) -> None:
        """Sort the index now, so that lookups only read (safe across threads)."""
        self.index.freeze()

    def find(self, sequences: Sequence[KeySequence]) -> Iterator[tuple[int, int, T]]:
        """Yield ``(first token, end token, value)`` of every phrase in ``sequences``.

        Every phrase that starts at a token is yielded, not only the longest, and a
        phrase found through both the words and the lemmas is yielded twice.
        """
        if not len(self.index):
            return
        for seq in sequences:
            keys, origin, firsts = seq.keys, seq.origin, seq.first
            for pos, key in enumerate(keys):
                if not firsts[pos] or not self._may_start(key):
                    continue
                for match in self.index.matches(keys, pos):
                    yield origin[match.start], origin[match.end - 1] + 1, match.value


@dataclass(frozen=True, slots=True)
class Issue:
    """An issue code and the section of the dictionary it belongs to."""

    code: str
    category: str | None

    @property
    def label(self) -> str:
        """The topic label of the issue."""
        return issue_label(self.code)


@dataclass(frozen=True, slots=True)
class _Block:
    """What an exclusion phrase blocks: one section's issues (None: all), in a sentence or story."""

    category: str | None
    story: bool


class IssueTagger:
    """Issue labels per sentence and per article, from Phoenix-format issue dictionaries."""

    def __init__(self, dictionaries: Iterable[IssueDictionary] = ()) -> None:
        self._issues: PhraseSet[frozenset[Issue]] = PhraseSet()
        self._blocks: PhraseSet[frozenset[_Block]] = PhraseSet()
        for dictionary in dictionaries:
            for entry in dictionary.entries:
                issue = Issue(entry.code, entry.category)
                for phrase in entry.forms:
                    known = self._issues.get(phrase) or frozenset()
                    self._issues.add(phrase, known | {issue})
            for exclusion in dictionary.exclusions:
                block = _Block(exclusion.category, exclusion.story)
                for phrase in exclusion.forms:
                    known_blocks = self._blocks.get(phrase) or frozenset()
                    self._blocks.add(phrase, known_blocks | {block})
        self._issues.freeze()
        self._blocks.freeze()

    @classmethod
    def load(cls, paths: Iterable[Path]) -> IssueTagger:
        """Read every issue dictionary in ``paths`` (none: a tagger that finds nothing)."""
        return cls(load_issue_dictionary(Path(path)) for path in paths)

    def __len__(self) -> int:
        """The number of distinct issue phrases (all their forms)."""
        return len(self._issues)

    def _sentence(self, tokens: Tokens, sentence: Sentence) -> tuple[set[Issue], set[_Block]]:
        keys = key_sequences(tokens, sentence.token_start, sentence.token_end)
        found = {i for _, _, v in self._issues.find(keys) for i in v}
        blocks = {b for _, _, v in self._blocks.find(keys) for b in v}
        return found, blocks

    def tag(
        self, tokens: Tokens, sentences: Sequence[Sentence]
    ) -> tuple[list[list[TopicScore]], list[TopicScore]]:
        """Return the issue labels of every sentence and of the whole article.

        An exclusion found in a sentence drops its section's issues from that
        sentence; a story exclusion (``~~``) drops them from every sentence.
        The article's labels are the union of its sentences' labels.
        """
        if not len(self._issues):
            return [[] for _ in sentences], []
        scanned = [self._sentence(tokens, sentence) for sentence in sentences]
        story = {b.category for _, blocks in scanned for b in blocks if b.story}
        per_sentence: list[list[TopicScore]] = []
        everywhere: set[str] = set()
        for found, blocks in scanned:
            blocked = story | {b.category for b in blocks if not b.story}
            labels = sorted(
                {i.label for i in found if None not in blocked and i.category not in blocked}
            )
            everywhere.update(labels)
            per_sentence.append([TopicScore(topic=label, score=ISSUE_SCORE) for label in labels])
        article = [TopicScore(topic=label, score=ISSUE_SCORE) for label in sorted(everywhere)]
        return per_sentence, article


@dataclass(frozen=True, slots=True)
class Discards:
    """What a discard dictionary says of one article.

    ``story`` is the phrase that makes the whole article not coded, if any;
    otherwise ``sentences`` holds the positions of the sentences not coded.
    """

    story: str | None = None
    sentences: frozenset[int] = field(default_factory=frozenset)

    def keeps(self, position: int) -> bool:
        """Whether the sentence at ``position`` may be coded."""
        return self.story is None and position not in self.sentences


class DiscardFilter:
    """Finds the sentences and stories that Phoenix-format discard dictionaries rule out."""

    def __init__(self, dictionaries: Iterable[Sequence[DiscardPhrase]] = ()) -> None:
        self._index: PhraseSet[DiscardPhrase] = PhraseSet()
        for phrases in dictionaries:
            for phrase in phrases:
                known = self._index.get(phrase.phrase)
                # The same phrase as a story and as a sentence discard: the story wins.
                if known is None or not known.story:
                    self._index.add(phrase.phrase, phrase)
        self._index.freeze()

    @classmethod
    def load(cls, paths: Iterable[Path]) -> DiscardFilter:
        """Read every discard dictionary in ``paths`` (none: a filter that discards nothing)."""
        return cls(load_discard_dictionary(Path(path)) for path in paths)

    def __len__(self) -> int:
        """The number of distinct discard phrases."""
        return len(self._index)

    def check(self, tokens: Tokens, sentences: Sequence[Sentence]) -> Discards:
        """Return the story discard of the article, or the positions of its discarded sentences."""
        if not len(self._index):
            return Discards()
        positions: set[int] = set()
        for position, sentence in enumerate(sentences):
            keys = key_sequences(tokens, sentence.token_start, sentence.token_end)
            for _, _, phrase in self._index.find(keys):
                if phrase.story:
                    return Discards(story=phrase.text)
                positions.add(position)
        return Discards(sentences=frozenset(positions))
