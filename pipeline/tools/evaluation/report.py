"""The text reports of ``dipwire eval`` (``--json`` prints the same numbers as they are)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TextIO


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _header(report: dict[str, Any], what: str) -> str:
    return f"{report[what]} {what}, part {report.get('part', 'all')}\n\n"


def _level_row(label: str, n: str, level: str, s: dict[str, Any]) -> str:
    counts = f"{s['tp']}/{s['fp']}/{s['fn']}"
    return f"{label:<22}{n:>5}  {level:<10}{s['p']:>7.3f}{s['r']:>7.3f}{s['f1']:>7.3f}   {counts}\n"


def write_report(report: dict[str, Any], out: TextIO) -> None:
    """Write the scores of sentence records as a readable table."""
    rows = [("overall", report["overall"])] + list(report["by_dictionary"].items())
    out.write(_header(report, "records"))
    header = f"{'subset':<22}{'n':>5}  {'level':<10}{'P':>7}{'R':>7}{'F1':>7}   tp/fp/fn\n"
    out.write(header)
    out.write("-" * (len(header) - 1) + "\n")
    for name, summary in rows:
        for level in ("triple", "root", "root_only", "detection"):
            first = level == "triple"
            n = str(summary["records"]) if first else ""
            out.write(_level_row(name if first else "", n, level, summary[level]))
        out.write("\n")
    if "calibration" in report:
        out.write("reliability (predicted events by confidence)\n")
        out.write(f"{'bin':<14}{'n':>5}{'mean conf':>11}{'triple P':>10}{'root P':>9}\n")
        for row in report["calibration"]:
            out.write(
                f"{row['bin']:<14}{row['n']:>5}{_fmt(row['mean_confidence']):>11}"
                f"{_fmt(row['triple_precision']):>10}{_fmt(row['root_precision']):>9}\n"
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


def _share(s: dict[str, Any]) -> str:
    return f"{s['share']:.3f} ({s['n']}/{s['of']})"


def write_article_report(report: dict[str, Any], out: TextIO) -> None:
    """Write the scores of gold articles: one row per level, then actors, places, dates."""
    total = report["total"]
    out.write(_header(report, "articles"))
    header = f"{'level':<12}{'P':>7}{'R':>7}{'F1':>7}   tp/fp/fn\n"
    out.write(header + "-" * (len(header) - 1) + "\n")
    for level, s in total["levels"].items():
        counts = f"{s['tp']}/{s['fp']}/{s['fn']}"
        out.write(f"{level:<12}{s['p']:>7.3f}{s['r']:>7.3f}{s['f1']:>7.3f}   {counts}\n")
    actors, place, when = total["actors"], total["location"], total["event_date"]
    out.write(
        "\nactors, of predicted events matching a gold event on sentence and root:\n"
        f"  both codes right      {_share(actors['both_right'])}\n"
        f"  both countries right  {_share(actors['both_countries_right'])}\n"
        "country-less actor codes (---):\n"
        f"  predicted             {_share(actors['countryless_predicted'])}\n"
        f"  gold                  {_share(actors['countryless_gold'])}\n"
        "location:\n"
        f"  gold place, match has one  {_share(place['gold_located'])}\n"
        f"  predicted with one         {_share(place['predicted_located'])}\n"
        f"  matched gold place, has one {_share(place['matched_located'])}\n"
        f"  ... and names the place    {_share(place['matched_place_agrees'])}\n"
        "event date, of gold events with a date:\n"
        f"  match has it               {_share(when['equal'])}\n"
        f"  ... or the story date      {_share(when['equal_or_story_date'])}\n"
    )
    if "calibration" in report:
        out.write("\nreliability (predicted events by confidence)\n")
        out.write(f"{'bin':<14}{'n':>5}{'mean conf':>11}{'full P':>9}{'country P':>11}\n")
        for row in report["calibration"]:
            out.write(
                f"{row['bin']:<14}{row['n']:>5}{_fmt(row['mean_confidence']):>11}"
                f"{_fmt(row['full_precision']):>9}{_fmt(row['country_precision']):>11}\n"
            )
    for err in report.get("errors", []):
        out.write(f"\n{err['id']}  tp/fp/fn {err['tp']}/{err['fp']}/{err['fn']}\n")
        for kind in ("missed", "spurious"):
            for e in err[kind]:
                what = f"{e['source']}/{e['target']}/{e['code']}"
                out.write(f"  {kind:<9}@{e['start']:<6} {what:<22} {e['trigger']!r}\n")
                out.write(f"{'':>19}{_clip(e['sentence'])}\n")
        for e in err.get("near", []):
            what = f"{e['source']}/{e['target']}/{e['code']}"
            gold = e["gold"]
            out.write(f"  near     @{e['start']:<6} {what:<22} {e['trigger']!r} (gold {gold})\n")


def _clip(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def write_fit_report(report: dict[str, Any], target: str, out: TextIO) -> None:
    """Write the fitted confidence model and its reliability tables."""
    out.write(f"{report['events']} events of {report['records']} records -> {target}\n")
    out.write("  ".join(f"{k} {v:+.3f}" for k, v in report["model"].items()) + "\n\n")
    for title, key in (("fitted", "in_sample"), ("leave one record out", "leave_one_record_out")):
        out.write(f"reliability ({title})\n{'bin':<14}{'n':>5}{'mean conf':>11}{'triple P':>10}\n")
        for row in report[key]:
            out.write(
                f"{row['bin']:<14}{row['n']:>5}{_fmt(row['mean_confidence']):>11}"
                f"{_fmt(row['triple_precision']):>10}\n"
            )
        out.write("\n")
