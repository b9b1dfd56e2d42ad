"""``dipwire eval``: score the event coder on sentences with gold CAMEO codings.

Input is JSON Lines, one record per line, with at least ``text`` and
``events`` (a list of ``{"source", "target", "code"}``); ``id``, ``date``,
``no_events`` and ``actor_dictionary`` are used when present. Each record's
text is coded by the same :class:`~pipeline.nlp.analyzer.Analyzer` the worker
runs, with the record's date as the story date.

Scoring (pure functions, below):

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

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from pipeline.settings import Settings

NO_TARGET = "---"
"""The target code of an event without a target, as the gold files write it."""

Triple = tuple[str, str, str]


# --------------------------------------------------------------------------- scoring


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


# ------------------------------------------------------------------------- records


@dataclass(frozen=True)
class GoldRecord:
    """One evaluation sentence."""

    id: str
    text: str
    day: date | None
    dictionary: str
    gold: list[Triple]


def read_records(path: Path) -> list[GoldRecord]:
    """Read a JSON Lines evaluation file."""
    records: list[GoldRecord] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            raw = json.loads(line)
            day = raw.get("date")
            gold = [
                (str(e["source"]), str(e.get("target") or NO_TARGET), str(e["code"]))
                for e in raw.get("events", [])
            ]
            records.append(
                GoldRecord(
                    id=str(raw.get("id", f"line-{n}")),
                    text=str(raw["text"]),
                    day=date.fromisoformat(day) if day else None,
                    dictionary=str(raw.get("actor_dictionary", "default")),
                    gold=[] if raw.get("no_events") else gold,
                )
            )
    return records


def code_records(
    records: Sequence[GoldRecord], analyzer: Any, batch_size: int = 32
) -> list[RecordResult]:
    """Code every record with ``analyzer`` (an ``Analyzer``) and pair it with its gold."""
    from pipeline.models import Article

    now = datetime.now(UTC)
    with_evidence = getattr(analyzer, "code_with_evidence", None)
    results: list[RecordResult] = []
    for i in range(0, len(records), batch_size):
        batch = records[i : i + batch_size]
        articles = [Article(id=r.id, body=r.text, published_at=r.day) for r in batch]
        enriched = analyzer.enrich(analyzer.annotate(articles))
        for record, item in zip(batch, enriched, strict=True):
            if with_evidence is not None:
                pairs = with_evidence(item, pipeline_version="eval", emitted_at=now)
            else:
                pairs = [
                    (event, {})
                    for event in analyzer.code(item, pipeline_version="eval", emitted_at=now)
                ]
            confidence: dict[Triple, float] = {}
            evidence: dict[Triple, dict[str, float]] = {}
            for event, features in pairs:
                triple = (
                    event.source_actor.code,
                    event.target_actor.code if event.target_actor else NO_TARGET,
                    event.cameo_code,
                )
                if triple not in confidence or event.confidence > confidence[triple]:
                    confidence[triple] = event.confidence
                    evidence[triple] = dict(features)
            results.append(
                RecordResult(
                    id=record.id,
                    dictionary=record.dictionary,
                    text=record.text,
                    gold=record.gold,
                    predicted=unique(confidence),
                    confidence=confidence,
                    evidence=evidence,
                )
            )
    return results


# ----------------------------------------------------------------------- confidence


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


# ----------------------------------------------------------------------------- CLI


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``eval`` subcommand's arguments to ``parser``."""
    parser.add_argument(
        "file", type=Path, nargs="?", help="JSON Lines file of gold-coded sentences"
    )
    parser.add_argument(
        "--actors",
        type=Path,
        nargs="+",
        action="extend",
        default=None,
        metavar="FILE",
        help="actor dictionaries (PETRARCH format) to load on top of the default gazetteer",
    )
    parser.add_argument(
        "--agents",
        type=Path,
        nargs="+",
        action="extend",
        default=None,
        metavar="FILE",
        help="agent dictionaries (PETRARCH format)",
    )
    parser.add_argument(
        "--subset",
        action="append",
        default=None,
        metavar="NAME",
        help="only score records whose actor_dictionary is NAME (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument(
        "--errors",
        nargs="?",
        type=int,
        const=25,
        default=None,
        metavar="N",
        help="also list the N records with the most errors (default 25)",
    )
    parser.add_argument(
        "--calibration",
        action="store_true",
        help="also print the reliability table of the event confidence",
    )
    parser.add_argument(
        "--evidence",
        type=Path,
        default=None,
        metavar="OUT",
        help="write every predicted event's confidence features and correctness (JSON Lines)",
    )
    parser.add_argument(
        "--fit-confidence",
        type=Path,
        default=None,
        metavar="OUT",
        help="fit the confidence model on --from evidence files and write it to OUT (no FILE)",
    )
    parser.add_argument(
        "--from",
        dest="evidence_from",
        type=Path,
        nargs="+",
        action="extend",
        default=None,
        metavar="EVIDENCE",
        help="evidence files written by --evidence, for --fit-confidence",
    )
    parser.add_argument(
        "--l2", type=float, default=2.0, help="L2 penalty of the confidence fit (default 2)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Code and score the records of ``args.file``; print the report; return 0."""
    from pipeline.nlp.analyzer import Analyzer, NlpConfig

    if args.fit_confidence is not None:
        return fit_command(args)
    if args.file is None:
        raise SystemExit("dipwire eval: a gold FILE is required (or --fit-confidence)")
    records = read_records(args.file)
    if args.subset:
        records = [r for r in records if r.dictionary in set(args.subset)]
    config = NlpConfig.from_settings(settings)
    if args.actors is not None or args.agents is not None:
        config = NlpConfig(
            spacy_model=config.spacy_model,
            actor_dictionaries=tuple(args.actors or ()),
            agent_dictionaries=tuple(args.agents or ()),
            max_chars=config.max_chars,
        )
    analyzer = Analyzer.load(config)
    results = code_records(records, analyzer)
    report = summarize(results)
    if args.calibration:
        report["calibration"] = calibration(results)
    if args.errors:
        report["errors"] = worst(results, args.errors)
    if args.evidence is not None:
        write_samples(samples_of(results), args.evidence)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        write_report(report, sys.stdout)
    return 0


def fit_command(args: argparse.Namespace) -> int:
    """Fit the confidence model on evidence files; write it; print its reliability."""
    from pipeline.nlp.events.confidence import fit

    if not args.evidence_from:
        raise SystemExit("dipwire eval --fit-confidence: give evidence files with --from")
    samples = read_samples(args.evidence_from)
    model = fit([(s.evidence, s.correct) for s in samples], l2=args.l2)
    records = len({s.record for s in samples})
    note = (
        f"Fitted by `dipwire eval --fit-confidence` on {len(samples)} predicted events of\n"
        f"{records} gold records (L2 penalty {args.l2:g});\n"
        "features: pipeline/nlp/events/confidence.py."
    )
    args.fit_confidence.write_text(model.to_toml(note), encoding="utf-8")
    fitted = [(model.score(s.evidence), s.correct) for s in samples]
    report: dict[str, Any] = {
        "events": len(samples),
        "records": records,
        "model": {"intercept": model.intercept, **model.weights},
        "in_sample": reliability(fitted),
        "leave_one_record_out": reliability(cross_validated(samples, args.l2)),
    }
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout
    out.write(f"{len(samples)} events of {records} records -> {args.fit_confidence}\n")
    out.write("  ".join(f"{k} {v:+.3f}" for k, v in report["model"].items()) + "\n\n")
    for title, key in (("fitted", "in_sample"), ("leave one record out", "leave_one_record_out")):
        out.write(f"reliability ({title})\n{'bin':<14}{'n':>5}{'mean conf':>11}{'triple P':>10}\n")
        for row in report[key]:
            mean = "-" if row["mean_confidence"] is None else f"{row['mean_confidence']:.3f}"
            prec = "-" if row["triple_precision"] is None else f"{row['triple_precision']:.3f}"
            out.write(f"{row['bin']:<14}{row['n']:>5}{mean:>11}{prec:>10}\n")
        out.write("\n")
    return 0


def write_report(report: dict[str, Any], out: TextIO) -> None:
    """Write the scores as a readable table."""
    rows = [("overall", report["overall"])] + list(report["by_dictionary"].items())
    out.write(f"{report['records']} records\n\n")
    header = f"{'subset':<22}{'n':>5}  {'level':<10}{'P':>7}{'R':>7}{'F1':>7}   tp/fp/fn\n"
    out.write(header)
    out.write("-" * (len(header) - 1) + "\n")
    for name, summary in rows:
        for level in ("triple", "root", "root_only", "detection"):
            s = summary[level]
            counts = f"{s['tp']}/{s['fp']}/{s['fn']}"
            label = name if level == "triple" else ""
            n = str(summary["records"]) if level == "triple" else ""
            out.write(
                f"{label:<22}{n:>5}  {level:<10}{s['p']:>7.3f}{s['r']:>7.3f}{s['f1']:>7.3f}"
                f"   {counts}\n"
            )
        out.write("\n")
    if "calibration" in report:
        out.write("reliability (predicted events by confidence)\n")
        out.write(f"{'bin':<14}{'n':>5}{'mean conf':>11}{'triple P':>10}{'root P':>9}\n")
        for row in report["calibration"]:

            def fmt(value: float | None) -> str:
                return "-" if value is None else f"{value:.3f}"

            out.write(
                f"{row['bin']:<14}{row['n']:>5}{fmt(row['mean_confidence']):>11}"
                f"{fmt(row['triple_precision']):>10}{fmt(row['root_precision']):>9}\n"
            )
        out.write("\n")
    for err in report.get("errors", []):
        out.write(f"{err['id']} [{err['dictionary']}]\n  {err['text']}\n")
        out.write(f"  missed:  {_fmt_triples(err['missed'])}\n")
        out.write(f"  extra:   {_fmt_triples(err['extra'])}\n")
        if err["matched"]:
            out.write(f"  matched: {_fmt_triples(err['matched'])}\n")


def _fmt_triples(triples: Iterable[Sequence[str]]) -> str:
    return ", ".join("/".join(t) for t in triples) or "-"
