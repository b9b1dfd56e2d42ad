"""Article-level scoring: whole articles coded as the worker codes them, scored per sentence.

Each gold event names the sentence that states it (its text and offset in
the body); the gold events of one sentence form that sentence's multiset. A
predicted event belongs to the gold sentence whose span holds the start of
the predicted event's sentence, so a sentence split in two by the parser is
still one sentence; a predicted event in a sentence without gold events is a
false positive. Predicted events are deduplicated per sentence on
``(source, target, code)``, as for sentence records.

Levels (multiset intersection per sentence, micro-summed over articles):

* **full**: source code, target code, full CAMEO code;
* **root**: source code, target code, two-digit root;
* **country**: source country, target country, root, where a country is
  what :func:`country` keeps of an actor code;
* **root_only**: the root, actors ignored.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipeline.tools.evaluation.coding import coded, triple_of
from pipeline.tools.evaluation.records import (
    NO_TARGET,
    GoldArticle,
    GoldEvent,
    Triple,
    part_of,
)
from pipeline.tools.evaluation.scoring import CALIBRATION_BINS, Counts, Share, multiset_counts

WHOLE_CODE_PREFIXES = ("IGO", "NGO", "MNC", "---")
"""Actor codes whose first three letters are no country: the whole code stands for it.

``IGOUNO`` (the UN) and ``IGOEUR`` (the EU) are different actors that share
no country, as are ``NGOHRI`` and ``MNCUSA``; ``---GOV`` and ``---REB`` name
a government and rebels of a country the sentence does not give.
"""


def country(code: str) -> str:
    """The country part of an actor code: ``USAGOV`` -> ``USA``; ``IGOUNO`` stays whole."""
    return code if code.startswith(WHOLE_CODE_PREFIXES) else code[:3]


Key = tuple[str, ...]
LEVELS: dict[str, Callable[[str, str, str], Key]] = {
    "full": lambda s, t, c: (s, t, c),
    "root": lambda s, t, c: (s, t, c[:2]),
    "country": lambda s, t, c: (country(s), country(t), c[:2]),
    "root_only": lambda s, t, c: (c[:2],),
}
"""What an event is compared on at each level, from its source, target and code."""


@dataclass(frozen=True)
class Predicted:
    """A coded event reduced to what the article scoring reads."""

    sentence_start: int
    source: str
    target: str
    code: str
    trigger: str = ""
    sentence: str = ""
    location: str | None = None
    event_date: date | None = None
    confidence: float = 0.0


def predicted_of(event: Any) -> Predicted:
    """Reduce a :class:`~pipeline.models.DiplomaticEvent` (or a look-alike)."""
    source, target, code = triple_of(event)
    location = getattr(event, "location", None)
    return Predicted(
        sentence_start=event.sentence_span.start,
        source=source,
        target=target,
        code=code,
        trigger=getattr(event, "trigger", ""),
        sentence=getattr(event, "sentence", ""),
        location=location.text if location is not None else None,
        event_date=getattr(event, "event_date", None),
        confidence=getattr(event, "confidence", 0.0),
    )


@dataclass
class ArticleResult:
    """One coded gold article; events are scored within the gold sentences."""

    gold: GoldArticle
    predicted: list[Predicted]
    _spans: list[tuple[int, int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._spans = sorted({(e.start, e.end) for e in self.gold.events})
        self.predicted = self._unique(self.predicted)

    @property
    def id(self) -> str:
        """The article's id."""
        return self.gold.id

    def sentence_of(self, event: Predicted) -> int | None:
        """The start of the gold sentence that holds ``event``'s sentence start, if any."""
        n = bisect_right(self._spans, event.sentence_start, key=lambda span: span[0]) - 1
        if n >= 0 and event.sentence_start < self._spans[n][1]:
            return self._spans[n][0]
        return None

    def _unique(self, events: Sequence[Predicted]) -> list[Predicted]:
        best: dict[Hashable, Predicted] = {}
        for e in events:
            where = self.sentence_of(e)
            key = (where, e.sentence_start if where is None else None, e.source, e.target, e.code)
            if key not in best or e.confidence > best[key].confidence:
                best[key] = e
        return list(best.values())

    def pred_key(self, event: Predicted, level: str) -> tuple[Any, ...]:
        """The predicted event's sentence (None outside gold sentences) and level key."""
        return (self.sentence_of(event), *LEVELS[level](event.source, event.target, event.code))

    @staticmethod
    def gold_key(event: GoldEvent, level: str) -> tuple[Any, ...]:
        """The gold event's sentence and level key."""
        return (event.start, *LEVELS[level](event.source, event.target, event.code))

    def counts(self, level: str) -> Counts:
        """TP/FP/FN at ``level``."""
        return multiset_counts(
            [self.pred_key(e, level) for e in self.predicted],
            [self.gold_key(e, level) for e in self.gold.events],
        )

    def pairs(self, tiers: Sequence[str]) -> list[tuple[int, int]]:
        """One-to-one pairs ``(predicted index, gold index)``, matched tier by tier.

        Pairs equal at the first level are made first, then at the next
        among what is left, so a predicted event is paired with the gold event
        it matches best. The number of pairs is the TP at the last tier.
        """
        pred_left = list(range(len(self.predicted)))
        gold_left = list(range(len(self.gold.events)))
        out: list[tuple[int, int]] = []
        for level in tiers:
            waiting: dict[tuple[Any, ...], list[int]] = {}
            for g in gold_left:
                waiting.setdefault(self.gold_key(self.gold.events[g], level), []).append(g)
            unpaired: list[int] = []
            for p in pred_left:
                bucket = waiting.get(self.pred_key(self.predicted[p], level))
                if bucket:
                    out.append((p, bucket.pop(0)))
                else:
                    unpaired.append(p)
            pred_left = unpaired
            taken = {g for _, g in out}
            gold_left = [g for g in gold_left if g not in taken]
        return out


COUNTRY_TIERS = ("full", "root", "country")
"""Pairing for location and date: same sentence, root and countries, best match first."""


def place_agrees(gold: str, predicted: str | None) -> bool:
    """Whether one place name holds the other ("Sharm el-Sheikh, Egypt" holds "Sharm el-Sheikh")."""
    if predicted is None:
        return False
    a, b = gold.casefold().strip(), predicted.casefold().strip()
    return bool(a) and bool(b) and (a in b or b in a)


def date_agrees(gold: str, predicted: date | None) -> bool:
    """Whether ``predicted`` is ``gold`` at the gold's precision (``2015`` matches 2015-06-09)."""
    return predicted is not None and predicted.isoformat()[: len(gold)] == gold


@dataclass
class ArticleSummary:
    """Scores of a set of articles: counts per level and the actor, place and date shares."""

    levels: dict[str, Counts] = field(default_factory=lambda: {k: Counts() for k in LEVELS})
    countryless: Share = field(default_factory=Share)
    gold_countryless: Share = field(default_factory=Share)
    located_gold: Share = field(default_factory=Share)
    located_predicted: Share = field(default_factory=Share)
    located_matched: Share = field(default_factory=Share)
    place_agrees: Share = field(default_factory=Share)
    dated: Share = field(default_factory=Share)
    dated_or_story: Share = field(default_factory=Share)
    articles: int = 0

    def add(self, result: ArticleResult) -> None:
        """Score one article into the totals."""
        self.articles += 1
        for level, counts in self.levels.items():
            counts.add(result.counts(level))
        for p in result.predicted:
            self.located_predicted.count(p.location is not None)
            for code in (p.source, p.target):
                self.countryless.count(code.startswith("---"), among=code != NO_TARGET)
        for g in result.gold.events:
            for code in (g.source, g.target):
                self.gold_countryless.count(code.startswith("---"), among=code != NO_TARGET)
        self._places_and_dates(result)

    def _places_and_dates(self, result: ArticleResult) -> None:
        """Locations and dates of the gold events, read off their paired predictions."""
        paired = {g: result.predicted[p] for p, g in result.pairs(COUNTRY_TIERS)}
        story = result.gold.day
        for n, gold in enumerate(result.gold.events):
            match = paired.get(n)
            located = match is not None and match.location is not None
            self.located_gold.count(located, among=gold.location is not None)
            if match is not None and gold.location is not None:
                self.located_matched.count(located)
                self.place_agrees.count(located and place_agrees(gold.location, match.location))
            if gold.date is not None:
                when = None if match is None else match.event_date
                self.dated.count(date_agrees(gold.date, when))
                self.dated_or_story.count(
                    match is not None and date_agrees(gold.date, when or story)
                )

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of the summary."""
        levels = self.levels
        on_root = levels["root_only"].tp
        return {
            "articles": self.articles,
            "levels": {k: v.as_dict() for k, v in levels.items()},
            "actors": {
                "both_right": Share(levels["root"].tp, on_root).as_dict(),
                "both_countries_right": Share(levels["country"].tp, on_root).as_dict(),
                "countryless_predicted": self.countryless.as_dict(),
                "countryless_gold": self.gold_countryless.as_dict(),
            },
            "location": {
                "gold_located": self.located_gold.as_dict(),
                "predicted_located": self.located_predicted.as_dict(),
                "matched_located": self.located_matched.as_dict(),
                "matched_place_agrees": self.place_agrees.as_dict(),
            },
            "event_date": {
                "equal": self.dated.as_dict(),
                "equal_or_story_date": self.dated_or_story.as_dict(),
            },
        }


def per_article(result: ArticleResult) -> dict[str, Any]:
    """One article's counts per level."""
    return {
        "id": result.id,
        "part": part_of(result.id),
        "gold_events": len(result.gold.events),
        "predicted_events": len(result.predicted),
        **{level: result.counts(level).as_dict() for level in LEVELS},
    }


def summarize_articles(results: Sequence[ArticleResult]) -> dict[str, Any]:
    """Total (micro) scores of the articles and the counts of each."""
    total = ArticleSummary()
    for result in results:
        total.add(result)
    return {
        "articles": len(results),
        "total": total.as_dict(),
        "per_article": [per_article(r) for r in results],
    }


def _event(start: int, sentence: str, triple: Triple, trigger: str) -> dict[str, Any]:
    source, target, code = triple
    return {
        "start": start,
        "sentence": sentence,
        "source": source,
        "target": target,
        "code": code,
        "trigger": trigger,
    }


def worst_articles(results: Sequence[ArticleResult], limit: int = 25) -> list[dict[str, Any]]:
    """The articles with the most errors at the full level, with what went wrong.

    ``missed`` and ``spurious`` are the events left unpaired at the country
    level (the headline figure); ``near`` pairs a predicted event with the
    gold event it matches on sentence, root and countries but not in full.
    """
    scored = [(r, r.counts("full")) for r in results]
    scored = [(r, c) for r, c in scored if c.fp + c.fn > 0]
    scored.sort(key=lambda rc: (-(rc[1].fp + rc[1].fn), rc[0].id))
    out: list[dict[str, Any]] = []
    for r, counts in scored[:limit]:
        pairs = r.pairs(COUNTRY_TIERS)
        paired_p = {p for p, _ in pairs}
        paired_g = {g for _, g in pairs}
        missed = [_gold_event(g) for n, g in enumerate(r.gold.events) if n not in paired_g]
        spurious = [_predicted_event(p) for n, p in enumerate(r.predicted) if n not in paired_p]
        near = []
        for p, g in pairs:
            pred, gold = r.predicted[p], r.gold.events[g]
            if (pred.source, pred.target, pred.code) != gold.triple:
                near.append({**_predicted_event(pred), "gold": "/".join(gold.triple)})
        out.append(
            {"id": r.id, **counts.as_dict(), "missed": missed, "spurious": spurious, "near": near}
        )
    return out


def article_calibration(
    results: Sequence[ArticleResult], edges: Sequence[float] = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """Reliability of article events: per confidence bin, the share right at each level.

    An event is right at a level when the one-to-one pairing (best match
    first) pairs it with a gold event at that level or a stricter one.
    """
    rows: list[dict[str, Any]] = [
        {"bin": f"[{lo:.1f}, {hi:.1f})", "low": lo, "n": 0, "conf": 0.0, "full": 0, "country": 0}
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]
    for r in results:
        full = {p for p, _ in r.pairs(("full",))}
        country = {p for p, _ in r.pairs(COUNTRY_TIERS)}
        for n, event in enumerate(r.predicted):
            row = next((x for x in reversed(rows) if event.confidence >= x["low"]), rows[0])
            row["n"] += 1
            row["conf"] += event.confidence
            row["full"] += n in full
            row["country"] += n in country
    return [
        {
            "bin": row["bin"],
            "n": row["n"],
            "mean_confidence": row["conf"] / row["n"] if row["n"] else None,
            "full_precision": row["full"] / row["n"] if row["n"] else None,
            "country_precision": row["country"] / row["n"] if row["n"] else None,
        }
        for row in rows
    ]


def _gold_event(g: GoldEvent) -> dict[str, Any]:
    return _event(g.start, g.sentence, g.triple, g.trigger)


def _predicted_event(p: Predicted) -> dict[str, Any]:
    return _event(p.sentence_start, p.sentence, (p.source, p.target, p.code), p.trigger)


def code_articles(
    articles: Sequence[GoldArticle], analyzer: Any, batch_size: int = 8
) -> list[ArticleResult]:
    """Code every gold article whole with ``analyzer`` and pair it with its gold events."""
    from pipeline.models import Article

    inputs = [
        Article(id=a.id, body=a.body, title=a.title, published_at=a.day, url=a.url, source=a.source)
        for a in articles
    ]
    return [
        ArticleResult(gold, [predicted_of(event) for event, _ in pairs])
        for gold, pairs in zip(articles, coded(analyzer, inputs, batch_size), strict=True)
    ]
