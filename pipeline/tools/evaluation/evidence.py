"""The confidence side of ``dipwire eval``: labelled predictions, reliability, the fit.

``--evidence`` writes every predicted event's confidence features with
whether the gold has it; ``--fit-confidence`` fits the confidence model on
such files and reports its reliability in sample and leaving one record out.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.tools.evaluation.records import Triple
from pipeline.tools.evaluation.scoring import CALIBRATION_BINS, RecordResult


@dataclass(frozen=True)
class Sample:
    """One predicted event with its evidence and whether the gold has it."""

    record: str
    dictionary: str
    triple: Triple
    evidence: dict[str, float]
    correct: bool
    confidence: float


def samples_of(results: Sequence[RecordResult]) -> list[Sample]:
    """Label every predicted triple right or wrong (duplicates claim gold by confidence)."""
    out: list[Sample] = []
    for result in results:
        left = Counter(result.gold)
        for triple in sorted(result.predicted, key=lambda t: -result.confidence.get(t, 0.0)):
            correct = left[triple] > 0
            if correct:
                left[triple] -= 1
            out.append(
                Sample(
                    record=result.id,
                    dictionary=result.dictionary,
                    triple=triple,
                    evidence=result.evidence.get(triple, {}),
                    correct=correct,
                    confidence=result.confidence.get(triple, 0.0),
                )
            )
    return out


def write_samples(samples: Iterable[Sample], path: Path) -> None:
    """Write samples as JSON Lines (what ``--fit-confidence`` reads)."""
    with path.open("w", encoding="utf-8") as fh:
        for sample in samples:
            fh.write(
                json.dumps(
                    {
                        "record": sample.record,
                        "dictionary": sample.dictionary,
                        "triple": list(sample.triple),
                        "evidence": sample.evidence,
                        "correct": sample.correct,
                        "confidence": sample.confidence,
                    }
                )
                + "\n"
            )


def read_samples(paths: Iterable[Path]) -> list[Sample]:
    """Read the samples written by :func:`write_samples`."""
    out: list[Sample] = []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    raw = json.loads(line)
                    s, t, c = raw["triple"]
                    out.append(
                        Sample(
                            record=str(raw["record"]),
                            dictionary=str(raw.get("dictionary", "default")),
                            triple=(str(s), str(t), str(c)),
                            evidence={k: float(v) for k, v in raw["evidence"].items()},
                            correct=bool(raw["correct"]),
                            confidence=float(raw.get("confidence", 0.0)),
                        )
                    )
    return out


def reliability(
    scored: Sequence[tuple[float, bool]], edges: Sequence[float] = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """Reliability table of ``(confidence, correct)`` pairs: precision per confidence bin."""
    table: list[dict[str, Any]] = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        last = hi == edges[-1]
        inside = [(c, ok) for c, ok in scored if lo <= c < hi or (last and c >= hi)]
        n = len(inside)
        table.append(
            {
                "bin": f"[{lo:.1f}, {hi:.1f})",
                "n": n,
                "mean_confidence": round(sum(c for c, _ in inside) / n, 3) if n else None,
                "triple_precision": round(sum(ok for _, ok in inside) / n, 3) if n else None,
            }
        )
    return table


def cross_validated(samples: Sequence[Sample], l2: float) -> list[tuple[float, bool]]:
    """Leave one record out: score each record's events with a model fitted on the others."""
    from pipeline.nlp.events.confidence import fit

    out: list[tuple[float, bool]] = []
    for record in dict.fromkeys(s.record for s in samples):
        train = [(s.evidence, s.correct) for s in samples if s.record != record]
        model = fit(train, l2=l2)
        out.extend((model.score(s.evidence), s.correct) for s in samples if s.record == record)
    return out
