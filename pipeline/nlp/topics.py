"""Topic labels per sentence and per article, from cue words in ``pipeline/data/topics.toml``.

The taxonomy follows PLOVER's contexts (military, territory, human rights,
illegal drugs, detention, diplomacy, economy, nuclear, cyber, terrorism,
migration, environment, health, elections, ...). Labels are multi-label: each
gets a score in ``[0, 1]`` that grows with the number of cue hits,
``1 - exp(-hits / saturation)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.models import Sentence, Tokens, TopicScore
from pipeline.nlp.data import read_toml


@dataclass(frozen=True)
class Topic:
    """One label of the taxonomy."""

    name: str
    label: str
    plover: str
    weight: float


class TopicTagger:
    """Scores topics from cue words; load once per process."""

    def __init__(
        self,
        topics: Sequence[Topic],
        cues: Sequence[tuple[str, tuple[str, ...]]],
        sentence_saturation: float = 1.0,
        article_saturation: float = 2.5,
        min_score: float = 0.25,
    ) -> None:
        self.topics = {t.name: t for t in topics}
        self._by_first: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        # Longest cues first, so "illegal drugs" claims its tokens before "drugs".
        for name, words in sorted(cues, key=lambda c: -len(c[1])):
            self._by_first.setdefault(words[0], []).append((name, words))
        self.sentence_saturation = sentence_saturation
        self.article_saturation = article_saturation
        self.min_score = min_score

    @classmethod
    def load(cls, path: Path | None = None) -> TopicTagger:
        """Read the taxonomy (the packaged one unless ``path`` is given)."""
        data = read_toml("topics.toml", path=path)
        topics: list[Topic] = []
        cues: list[tuple[str, tuple[str, ...]]] = []
        for name, entry in data["topics"].items():
            topics.append(
                Topic(
                    name=name,
                    label=str(entry.get("label", name)),
                    plover=str(entry.get("plover", name)),
                    weight=float(entry.get("weight", 1.0)),
                )
            )
            for cue in entry.get("cues", []):
                words = tuple(str(cue).lower().split())
                if words:
                    cues.append((name, words))
        scoring = data.get("scoring", {})
        return cls(
            topics,
            cues,
            sentence_saturation=float(scoring.get("sentence_saturation", 1.0)),
            article_saturation=float(scoring.get("article_saturation", 2.5)),
            min_score=float(scoring.get("min_score", 0.25)),
        )

    def hits(self, tokens: Tokens, start: int = 0, stop: int | None = None) -> dict[str, float]:
        """Return the weighted number of cue hits per topic in ``tokens[start:stop]``."""
        forms = [
            (lemma.lower(), text.lower())
            for lemma, text in zip(tokens.lemma[start:stop], tokens.text[start:stop], strict=True)
        ]
        taken: dict[str, set[int]] = {}
        counts: dict[str, float] = {}
        for i, (lemma, lower) in enumerate(forms):
            candidates = self._by_first.get(lemma, []) + (
                self._by_first.get(lower, []) if lower != lemma else []
            )
            for name, words in candidates:
                end = i + len(words)
                if end > len(forms):
                    continue
                if not all(w in forms[i + k] for k, w in enumerate(words)):
                    continue
                used = taken.setdefault(name, set())
                if used.intersection(range(i, end)):
                    continue
                used.update(range(i, end))
                counts[name] = counts.get(name, 0.0) + self.topics[name].weight
        return counts

    def scores(self, counts: dict[str, float], saturation: float) -> list[TopicScore]:
        """Turn hit counts into reported labels, highest score first."""
        out = [
            TopicScore(topic=name, score=round(1.0 - math.exp(-count / saturation), 3))
            for name, count in counts.items()
        ]
        out = [t for t in out if t.score >= self.min_score]
        return sorted(out, key=lambda t: (-t.score, t.topic))

    def tag(
        self, tokens: Tokens, sentences: Sequence[Sentence]
    ) -> tuple[list[list[TopicScore]], list[TopicScore]]:
        """Return the topics of every sentence and of the whole article."""
        per_sentence: list[list[TopicScore]] = []
        total: dict[str, float] = {}
        for sentence in sentences:
            counts = self.hits(tokens, sentence.token_start, sentence.token_end)
            per_sentence.append(self.scores(counts, self.sentence_saturation))
            for name, count in counts.items():
                total[name] = total.get(name, 0.0) + count
        return per_sentence, self.scores(total, self.article_saturation)
