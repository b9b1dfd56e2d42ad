"""The arithmetic of ``dipwire eval``: counts, P/R/F1 and the sentence-level scores.

Sentence records are scored as the gold README says:

* **triple**: micro precision/recall/F1 over the multisets of
  ``(source, target, code)`` per record; an event without a target has target
  ``---``, as in the gold files;
* **root**: the same with every code cut to its two-digit root;
* **root_only**: the multiset of roots per record, actors ignored (what a run
  without the gold's actor dictionary can be compared on);
* **detection**: whether a record has any event at all (P/R/F1 and accuracy).

Predicted triples are deduplicated within a record: CAMEO coders emit one
event per distinct (source, target, code) in a sentence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.tools.evaluation.records import Triple


@dataclass
class Counts:
    """True positives, false positives and false negatives, with micro P/R/F1."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        """Accumulate ``other`` into these counts."""
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN); 0 when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """P, R and F1 rounded to 4 places, with the raw counts."""
        return {
            "p": round(self.precision, 4),
            "r": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass
class Share:
    """``n`` of ``of`` items have some property; the share is 0 when there are none."""

    n: int = 0
    of: int = 0

    def count(self, hit: bool, among: bool = True) -> None:
        """Count one item when ``among`` holds (it is in the denominator), a hit when ``hit``."""
        if among:
            self.of += 1
            self.n += int(hit)

    def add(self, other: Share) -> None:
        """Accumulate ``other`` into this share."""
        self.n += other.n
        self.of += other.of

    @property
    def share(self) -> float:
        """The share: ``n / of``."""
        return self.n / self.of if self.of else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """The share rounded to 4 places, with ``n`` and ``of``."""
        return {"share": round(self.share, 4), "n": self.n, "of": self.of}


def multiset_counts(predicted: Iterable[Any], gold: Iterable[Any]) -> Counts:
    """Compare two multisets: TP is the size of their intersection."""
    pred, want = Counter(predicted), Counter(gold)
    tp = sum((pred & want).values())
    return Counts(tp=tp, fp=sum(pred.values()) - tp, fn=sum(want.values()) - tp)


def to_roots(triples: Iterable[Triple]) -> list[Triple]:
    """Cut every code to its two-digit CAMEO root (``"0352"`` -> ``"03"``)."""
    return [(s, t, c[:2]) for s, t, c in triples]


def unique(triples: Iterable[Triple]) -> list[Triple]:
    """Drop repeated triples, keeping the first of each."""
    return list(dict.fromkeys(triples))


@dataclass
class Detection:
    """Confusion counts of "does this record have any event"."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, gold: bool) -> None:
        """Count one record."""
        if predicted and gold:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif gold:
            self.fn += 1
        else:
            self.tn += 1

    def as_dict(self) -> dict[str, float | int]:
        """P, R, F1 of the positive class and accuracy, with the raw counts."""
        counts = Counts(self.tp, self.fp, self.fn)
        total = self.tp + self.fp + self.fn + self.tn
        return {
            **{k: v for k, v in counts.as_dict().items() if k in ("p", "r", "f1")},
            "accuracy": round((self.tp + self.tn) / total, 4) if total else 0.0,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }


@dataclass
class RecordResult:
    """One scored record."""

    id: str
    dictionary: str
    text: str
    gold: list[Triple]
    predicted: list[Triple]
    confidence: dict[Triple, float] = field(default_factory=dict)
    evidence: dict[Triple, dict[str, float]] = field(default_factory=dict)

    @property
    def triple(self) -> Counts:
        """Counts at the (source, target, code) level."""
        return multiset_counts(self.predicted, self.gold)

    @property
    def root(self) -> Counts:
        """Counts at the (source, target, root) level."""
        return multiset_counts(to_roots(self.predicted), to_roots(self.gold))

    @property
    def root_only(self) -> Counts:
        """Counts over the multiset of roots, actors ignored."""
        return multiset_counts([c[:2] for *_, c in self.predicted], [c[:2] for *_, c in self.gold])


@dataclass
class Summary:
    """Scores of a set of records."""

    triple: Counts = field(default_factory=Counts)
    root: Counts = field(default_factory=Counts)
    root_only: Counts = field(default_factory=Counts)
    detection: Detection = field(default_factory=Detection)
    records: int = 0

    def add(self, result: RecordResult) -> None:
        """Score one record into the totals."""
        self.triple.add(result.triple)
        self.root.add(result.root)
        self.root_only.add(result.root_only)
        self.detection.add(bool(result.predicted), bool(result.gold))
        self.records += 1

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of the summary."""
        return {
            "triple": self.triple.as_dict(),
            "root": self.root.as_dict(),
            "root_only": self.root_only.as_dict(),
            "detection": self.detection.as_dict(),
            "records": self.records,
        }


def summarize(results: Sequence[RecordResult]) -> dict[str, Any]:
    """Overall and per-``actor_dictionary`` scores of scored records."""
    overall = Summary()
    by_dictionary: dict[str, Summary] = {}
    for result in results:
        overall.add(result)
        by_dictionary.setdefault(result.dictionary, Summary()).add(result)
    return {
        "overall": overall.as_dict(),
        "by_dictionary": {k: v.as_dict() for k, v in sorted(by_dictionary.items())},
        "records": len(results),
    }


CALIBRATION_BINS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
"""Edges of the confidence bins of the reliability table."""


def calibration(
    results: Sequence[RecordResult], edges: Sequence[float] = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """Reliability table: for predicted triples binned by confidence, how many were right.

    Within a record, predictions claim gold triples highest confidence first,
    so a duplicate guess at a lower confidence is the one counted wrong.
    """
    bins: list[dict[str, Any]] = [
        {"low": lo, "high": hi, "n": 0, "correct": 0, "root_correct": 0, "confidence_sum": 0.0}
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]
    for result in results:
        left = Counter(result.gold)
        left_roots = Counter(to_roots(result.gold))
        ranked = sorted(result.predicted, key=lambda t: -result.confidence.get(t, 0.0))
        for triple in ranked:
            conf = result.confidence.get(triple, 0.0)
            slot = next(
                (b for b in bins if b["low"] <= conf < b["high"]),
                bins[-1],
            )
            slot["n"] += 1
            slot["confidence_sum"] += conf
            if left[triple] > 0:
                left[triple] -= 1
                slot["correct"] += 1
            root = to_roots([triple])[0]
            if left_roots[root] > 0:
                left_roots[root] -= 1
                slot["root_correct"] += 1
    table: list[dict[str, Any]] = []
    for slot in bins:
        n = slot["n"]
        table.append(
            {
                "bin": f"[{slot['low']:.1f}, {slot['high']:.1f})",
                "n": n,
                "mean_confidence": round(slot["confidence_sum"] / n, 3) if n else None,
                "triple_precision": round(slot["correct"] / n, 3) if n else None,
                "root_precision": round(slot["root_correct"] / n, 3) if n else None,
            }
        )
    return table


def worst(results: Sequence[RecordResult], limit: int = 25) -> list[dict[str, Any]]:
    """The records with the most triple errors, with what was missed and what was extra."""
    scored = [r for r in results if r.triple.fp + r.triple.fn > 0]
    scored.sort(key=lambda r: (-(r.triple.fn * 2 + r.triple.fp), r.id))
    out: list[dict[str, Any]] = []
    for r in scored[:limit]:
        pred, gold = Counter(r.predicted), Counter(r.gold)
        out.append(
            {
                "id": r.id,
                "dictionary": r.dictionary,
                "text": r.text,
                "missed": sorted((gold - pred).elements()),
                "extra": sorted((pred - gold).elements()),
                "matched": sorted((pred & gold).elements()),
            }
        )
    return out
