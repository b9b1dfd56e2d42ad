"""Tone: VADER per sentence and per document, on VADER's and GDELT's scales.

VADER's ``compound`` is in ``[-1, 1]``; ``gdelt`` is the same value on GDELT's
``[-100, 100]`` tone scale (``100 * compound``), so dashboards built for GDELT's
AvgTone read it with the same sign and range. ``positive`` and ``negative`` are
VADER's shares of positive and negative words.

VADER is built for sentences: on a long text its compound saturates towards
+-1. The document tone is therefore the length-weighted mean of the sentence
tones, as VADER's authors recommend for paragraphs.
"""

from __future__ import annotations

from collections.abc import Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from pipeline.models import Tone

NEUTRAL = Tone(compound=0.0, gdelt=0.0, positive=0.0, negative=0.0)
"""The tone of a text with no words."""

MAX_WORDS = 120
"""Longest text VADER scores in one piece; news sentences are well under it."""


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def make_tone(compound: float, positive: float, negative: float) -> Tone:
    """Build a ``Tone`` from VADER's compound and word proportions, rounded and clamped."""
    positive = _clamp(positive, 0.0, 1.0)
    negative = _clamp(negative, 0.0, 1.0)
    return Tone(
        compound=round(_clamp(compound, -1.0, 1.0), 4),
        gdelt=round(_clamp(100.0 * compound, -100.0, 100.0), 2),
        positive=round(positive, 4),
        negative=round(negative, 4),
    )


def combine(tones: Sequence[tuple[Tone, int]]) -> Tone:
    """Return the weighted mean of several tones (weights: word counts)."""
    total = sum(max(weight, 0) for _, weight in tones)
    if total == 0:
        return NEUTRAL
    compound = sum(t.compound * w for t, w in tones) / total
    positive = sum(t.positive * w for t, w in tones) / total
    negative = sum(t.negative * w for t, w in tones) / total
    return make_tone(compound, positive, negative)


class ToneScorer:
    """Scores text with VADER; load once, call from any number of articles."""

    def __init__(self) -> None:
        self._vader = SentimentIntensityAnalyzer()

    def score(self, text: str) -> Tone:
        """Return the tone of one sentence (or any short text).

        A "sentence" longer than ``MAX_WORDS`` words (a table or a list the
        parser did not split) is scored in pieces of that many words and the
        pieces are combined by length: VADER's cost grows with the square of
        the sentence length.
        """
        words = text.split()
        if not words:
            return NEUTRAL
        if len(words) <= MAX_WORDS:
            return self._vader_tone(text)
        pieces = [words[i : i + MAX_WORDS] for i in range(0, len(words), MAX_WORDS)]
        return combine([(self._vader_tone(" ".join(p)), len(p)) for p in pieces])

    def _vader_tone(self, text: str) -> Tone:
        scores = self._vader.polarity_scores(text)
        return make_tone(scores["compound"], scores["pos"], scores["neg"])

    def document(self, sentences: Sequence[str]) -> tuple[list[Tone], Tone]:
        """Return the tone of every sentence and of the whole document."""
        tones = [self.score(s) for s in sentences]
        weights = [len(s.split()) for s in sentences]
        return tones, combine(list(zip(tones, weights, strict=True)))
