"""The scorer of ``dipwire eval`` on hand-made records."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pipeline.evaluation import (
    NO_TARGET,
    Counts,
    Detection,
    RecordResult,
    calibration,
    code_records,
    configure_parser,
    multiset_counts,
    read_records,
    summarize,
    to_roots,
    unique,
    worst,
    write_report,
)

pytestmark = pytest.mark.unit


def result(
    gold: list[tuple[str, str, str]],
    predicted: list[tuple[str, str, str]],
    dictionary: str = "phoenix",
    confidence: dict[tuple[str, str, str], float] | None = None,
    rid: str = "r",
) -> RecordResult:
    return RecordResult(rid, dictionary, "text", gold, predicted, confidence or {})


def test_multiset_intersection() -> None:
    gold = [("A", "B", "040"), ("B", "A", "040"), ("A", "B", "040")]
    pred = [("A", "B", "040"), ("A", "B", "040"), ("A", "B", "040"), ("A", "C", "190")]
    counts = multiset_counts(pred, gold)
    assert (counts.tp, counts.fp, counts.fn) == (2, 2, 1)
    assert counts.precision == pytest.approx(0.5)
    assert counts.recall == pytest.approx(2 / 3)
    assert counts.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_empty_counts_are_zero_not_errors() -> None:
    assert Counts().as_dict()["f1"] == 0.0
    assert multiset_counts([], []).f1 == 0.0


def test_root_level_cuts_codes_to_two_digits() -> None:
    assert to_roots([("A", "B", "0352"), ("A", "B", "190")]) == [("A", "B", "03"), ("A", "B", "19")]
    r = result([("A", "B", "0353")], [("A", "B", "035")])
    assert r.triple.tp == 0 and r.root.tp == 1
    wrong_actor = result([("A", "B", "190")], [("A", "C", "193")])
    assert wrong_actor.root.tp == 0 and wrong_actor.root_only.tp == 1


def test_no_events_records_count_every_prediction_as_false_positive() -> None:
    r = result([], [("A", "B", "010")])
    assert (r.triple.tp, r.triple.fp, r.triple.fn) == (0, 1, 0)


def test_detection() -> None:
    d = Detection()
    for predicted, gold in [(True, True), (True, False), (False, True), (False, False)]:
        d.add(predicted, gold)
    assert d.as_dict() == {
        "p": 0.5,
        "r": 0.5,
        "f1": 0.5,
        "accuracy": 0.5,
        "tp": 1,
        "fp": 1,
        "fn": 1,
        "tn": 1,
    }


def test_summary_overall_and_by_dictionary() -> None:
    results = [
        result([("A", "B", "040")], [("A", "B", "040")], "phoenix"),
        result([("A", "B", "111")], [("A", "B", "112")], "petrarch-validation"),
        result([], [], "petrarch-validation"),
    ]
    report = summarize(results)
    assert report["records"] == 3
    assert report["overall"]["triple"]["tp"] == 1
    assert report["overall"]["root"]["tp"] == 2
    assert report["by_dictionary"]["phoenix"]["triple"]["f1"] == 1.0
    validation = report["by_dictionary"]["petrarch-validation"]
    assert validation["triple"]["f1"] == 0.0 and validation["root"]["f1"] == 1.0
    assert validation["detection"]["accuracy"] == 1.0
    json.dumps(report)  # serialisable as is


def test_calibration_bins_and_precision() -> None:
    high, low = ("A", "B", "190"), ("A", "C", "190")
    r = result([high], [high, low], confidence={high: 0.9, low: 0.3})
    table = {row["bin"]: row for row in calibration([r])}
    assert table["[0.8, 1.0)"]["n"] == 1 and table["[0.8, 1.0)"]["triple_precision"] == 1.0
    assert table["[0.0, 0.4)"]["n"] == 1 and table["[0.0, 0.4)"]["triple_precision"] == 0.0
    assert table["[0.5, 0.6)"]["n"] == 0 and table["[0.5, 0.6)"]["triple_precision"] is None


def test_worst_lists_missed_and_extra() -> None:
    good = result([("A", "B", "040")], [("A", "B", "040")], rid="good")
    bad = result([("A", "B", "040"), ("C", "D", "190")], [("A", "B", "046")], rid="bad")
    (entry,) = worst([good, bad])
    assert entry["id"] == "bad"
    assert entry["missed"] == [("A", "B", "040"), ("C", "D", "190")]
    assert entry["extra"] == [("A", "B", "046")]


def test_unique_keeps_order() -> None:
    assert unique([("A", "B", "1"), ("C", "D", "2"), ("A", "B", "1")]) == [
        ("A", "B", "1"),
        ("C", "D", "2"),
    ]


def test_read_records(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    rows = [
        {
            "id": "x1",
            "text": "A met B.",
            "date": "2015-06-09",
            "actor_dictionary": "phoenix",
            "events": [{"source": "AAA", "target": "BBB", "code": "040"}],
            "no_events": False,
        },
        {"id": "x2", "text": "Nothing.", "events": [], "no_events": True},
        {"text": "A protested.", "events": [{"source": "AAA", "target": "", "code": "140"}]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    first, second, third = read_records(path)
    assert first.gold == [("AAA", "BBB", "040")] and first.day == date(2015, 6, 9)
    assert second.gold == [] and second.dictionary == "default"
    assert third.id == "line-3" and third.gold == [("AAA", NO_TARGET, "140")]


class FakeAnalyzer:
    """Codes "X hit Y" as X->Y 190 and anything else as no event."""

    def annotate(self, articles: Sequence[Any]) -> list[Any]:
        return list(articles)

    def enrich(self, items: Sequence[Any]) -> list[Any]:
        return list(items)

    def code(self, item: Any, *, pipeline_version: str, emitted_at: datetime) -> list[Any]:
        words = item.body.rstrip(".").split()
        if len(words) == 3 and words[1] == "hit":
            return [
                SimpleNamespace(
                    source_actor=SimpleNamespace(code=words[0]),
                    target_actor=SimpleNamespace(code=words[2]),
                    cameo_code="190",
                    confidence=0.8,
                ),
                SimpleNamespace(
                    source_actor=SimpleNamespace(code=words[0]),
                    target_actor=None,
                    cameo_code="140",
                    confidence=0.4,
                ),
            ]
        return []


def test_code_records_maps_events_to_triples(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text(
        json.dumps(
            {
                "id": "a",
                "text": "AAA hit BBB.",
                "events": [{"source": "AAA", "target": "BBB", "code": "190"}],
            }
        )
        + "\n"
        + json.dumps({"id": "b", "text": "Calm.", "events": [], "no_events": True})
        + "\n",
        encoding="utf-8",
    )
    results = code_records(read_records(path), FakeAnalyzer(), batch_size=1)
    assert results[0].predicted == [("AAA", "BBB", "190"), ("AAA", NO_TARGET, "140")]
    assert results[0].confidence[("AAA", "BBB", "190")] == 0.8
    assert results[1].predicted == []
    report = summarize(results)
    assert report["overall"]["triple"]["tp"] == 1 and report["overall"]["triple"]["fp"] == 1
    assert report["overall"]["detection"]["tn"] == 1


def test_parser_and_report() -> None:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(
        [
            "gold.jsonl",
            "--actors",
            "a.txt",
            "b.txt",
            "--agents",
            "c.txt",
            "--json",
            "--errors",
            "--calibration",
            "--subset",
            "phoenix",
        ]
    )
    assert args.actors == [Path("a.txt"), Path("b.txt")] and args.agents == [Path("c.txt")]
    assert args.json and args.errors == 25 and args.calibration and args.subset == ["phoenix"]
    plain = parser.parse_args(["gold.jsonl"])
    assert plain.actors is None and plain.errors is None and not plain.json

    results = [
        result([("A", "B", "040")], [("A", "B", "040")], confidence={("A", "B", "040"): 0.9})
    ]
    report = summarize(results)
    report["calibration"] = calibration(results)
    report["errors"] = worst(results)
    out = io.StringIO()
    write_report(report, out)
    text = out.getvalue()
    assert "phoenix" in text and "triple" in text and "reliability" in text
