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

from pipeline.nlp.events.confidence import ConfidenceModel
from pipeline.settings import Settings
from pipeline.tools.evaluation import (
    NO_TARGET,
    Counts,
    Detection,
    RecordResult,
    Sample,
    calibration,
    code_records,
    configure_parser,
    cross_validated,
    multiset_counts,
    read_records,
    read_samples,
    reliability,
    run,
    samples_of,
    summarize,
    to_roots,
    unique,
    worst,
    write_report,
    write_samples,
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


def test_samples_label_predictions_and_round_trip(tmp_path: Path) -> None:
    first = result(
        [("A", "B", "040")],
        [("A", "B", "040"), ("A", "C", "190")],
        confidence={("A", "B", "040"): 0.9, ("A", "C", "190"): 0.5},
        rid="r1",
    )
    first.evidence = {("A", "B", "040"): {"named": 1.0}, ("A", "C", "190"): {"named": 0.0}}
    samples = samples_of([first])
    assert [(s.triple, s.correct) for s in samples] == [
        (("A", "B", "040"), True),
        (("A", "C", "190"), False),
    ]
    path = tmp_path / "evidence.jsonl"
    write_samples(samples, path)
    assert read_samples([path]) == samples


def test_reliability_and_leave_one_record_out() -> None:
    table = reliability([(0.45, False), (0.55, True), (0.95, True), (1.0, True)])
    by_bin = {row["bin"]: row for row in table}
    assert by_bin["[0.4, 0.5)"]["triple_precision"] == 0.0
    assert by_bin["[0.8, 1.0)"]["n"] == 2 and by_bin["[0.8, 1.0)"]["triple_precision"] == 1.0
    assert by_bin["[0.0, 0.4)"]["n"] == 0 and by_bin["[0.0, 0.4)"]["mean_confidence"] is None
    samples = [
        Sample(f"r{i}", "d", ("A", "B", "040"), {"named": float(i % 2)}, i % 2 == 1, 0.5)
        for i in range(8)
    ]
    scored = cross_validated(samples, l2=0.5)
    assert len(scored) == len(samples)
    # each record is scored by a model that never saw it, and still ranks by the evidence
    right = [c for c, ok in scored if ok]
    wrong = [c for c, ok in scored if not ok]
    assert min(right) > max(wrong)


def test_fit_confidence_command_writes_a_loadable_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = [
        Sample(f"r{i}", "d", ("A", "B", "040"), {"named": float(i % 2)}, i % 2 == 1, 0.5)
        for i in range(10)
    ]
    evidence = tmp_path / "evidence.jsonl"
    write_samples(samples, evidence)
    out = tmp_path / "confidence.toml"
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(["--fit-confidence", str(out), "--from", str(evidence), "--l2", "1"])
    assert run(args, Settings()) == 0
    model = ConfidenceModel.load(out)
    assert model.score({"named": 1.0}) > model.score({"named": 0.0})
    text = capsys.readouterr().out
    assert "leave one record out" in text and "10 events of 10 records" in text


def test_sentence_records_are_split_by_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.nlp.analyzer import Analyzer
    from pipeline.tools.evaluation import part_of

    ids = [f"s{n}" for n in range(9)]
    rows = [
        {
            "id": i,
            "text": "AAA hit BBB.",
            "events": [{"source": "AAA", "target": "BBB", "code": "190"}],
        }
        for i in ids
    ]
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setattr(Analyzer, "load", staticmethod(lambda config: FakeAnalyzer()))
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    work = [i for i in ids if part_of(i) == "work"]
    assert 0 < len(work) < len(ids)
    assert run(parser.parse_args([str(path), "--part", "work", "--json"]), Settings()) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["part"] == "work" and report["records"] == len(work)
    assert report["overall"]["triple"]["tp"] == len(work)
    assert run(parser.parse_args([str(path), "--part", "held"]), Settings()) == 0
    assert capsys.readouterr().out.startswith(f"{len(ids) - len(work)} records, part held\n")
