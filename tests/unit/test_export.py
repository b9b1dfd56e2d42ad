"""The export layouts and files: GDELT 2.0 and Phoenix columns, slots, repeats, order."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.models import DiplomaticEvent, Location, TopicScore
from pipeline.testing import actor, diplomatic_event
from pipeline.tools.export.files import Interval, SlotBy, Window, export, slot_start
from pipeline.tools.export.gdelt import GDELT_COLUMNS, gdelt_row, global_event_id
from pipeline.tools.export.phoenix import PHOENIX_COLUMNS, phoenix_row

pytestmark = pytest.mark.unit

T = datetime(2024, 5, 1, 10, 7, 30, tzinfo=UTC)
WASHINGTON = Location(text="Washington", country="USA", latitude=38.89511, longitude=-77.03637)


def _event(event_id: str = "e1", emitted_at: datetime = T, **fields: object) -> DiplomaticEvent:
    values: dict[str, Any] = {
        "target_actor": actor("USAGOV", "United States"),
        "location": WASHINGTON,
        "url": "https://example.org/a\tb",
        "topics": [
            TopicScore(topic="diplomacy", score=0.4),
            TopicScore(topic="issue:nuclear_power", score=1.0),
        ],
        **fields,
    }
    return diplomatic_event(event_id, "a1", emitted_at=emitted_at, **values)


def _gdelt(event: DiplomaticEvent) -> dict[str, str]:
    return dict(zip(GDELT_COLUMNS, gdelt_row(event), strict=True))


def test_the_gdelt_layout_has_the_codebooks_61_columns_in_order() -> None:
    assert len(GDELT_COLUMNS) == 61
    assert GDELT_COLUMNS[:6] == (
        "GlobalEventID",
        "Day",
        "MonthYear",
        "Year",
        "FractionDate",
        "Actor1Code",
    )
    assert GDELT_COLUMNS[25:35] == (
        "IsRootEvent", "EventCode", "EventBaseCode", "EventRootCode", "QuadClass",
        "GoldsteinScale", "NumMentions", "NumSources", "NumArticles", "AvgTone",
    )  # fmt: skip
    assert GDELT_COLUMNS[51:] == (
        "ActionGeo_Type", "ActionGeo_FullName", "ActionGeo_CountryCode", "ActionGeo_ADM1Code",
        "ActionGeo_ADM2Code", "ActionGeo_Lat", "ActionGeo_Long", "ActionGeo_FeatureID",
        "DATEADDED", "SOURCEURL",
    )  # fmt: skip
    assert len(PHOENIX_COLUMNS) == 26


def test_a_gdelt_row_fills_dates_actors_codes_tone_place_and_url() -> None:
    event = _event(cameo_code="0421", cameo_root="04", goldstein=-2.5, event_date=date(2024, 4, 30))
    row = dict(zip(GDELT_COLUMNS, gdelt_row(event), strict=True))
    assert row["GlobalEventID"] == str(global_event_id("e1"))
    assert (row["Day"], row["MonthYear"], row["Year"]) == ("20240430", "202404", "2024")
    assert row["FractionDate"] == f"{2024 + 121 / 365:.4f}"
    assert (row["Actor1Code"], row["Actor1Name"], row["Actor1CountryCode"]) == (
        "CHN",
        "CHINA",
        "CHN",
    )
    assert (row["Actor2Code"], row["Actor2CountryCode"], row["Actor2Type1Code"]) == (
        "USAGOV",
        "USA",
        "GOV",
    )
    assert (row["EventCode"], row["EventBaseCode"], row["EventRootCode"]) == ("0421", "042", "04")
    assert (row["QuadClass"], row["GoldsteinScale"]) == ("1", "-2.5")
    assert (row["NumMentions"], row["NumSources"], row["NumArticles"], row["AvgTone"]) == (
        "1",
        "1",
        "1",
        "0",
    )
    assert row["Actor1Geo_Type"] == row["Actor2Geo_Type"] == "0"
    assert row["ActionGeo_Type"] == "3"  # a US city
    assert row["ActionGeo_FullName"] == "Washington, United States"
    assert (row["ActionGeo_CountryCode"], row["ActionGeo_ADM1Code"]) == ("US", "USDC")
    assert (row["ActionGeo_Lat"], row["ActionGeo_Long"]) == ("38.8951", "-77.0364")
    assert row["DATEADDED"] == "20240501100730"
    assert row["SOURCEURL"] == "https://example.org/a b"


def test_gdelt_places_a_country_by_its_fips_code_and_an_event_without_place_nowhere() -> None:
    row = _gdelt(_event(location=Location(text="Germany", country="DEU")))
    assert [row[f"ActionGeo_{f}"] for f in ("Type", "FullName", "CountryCode", "FeatureID")] == [
        "1",
        "Germany",
        "GM",
        "GM",
    ]
    bare = dict(
        zip(GDELT_COLUMNS, gdelt_row(_event(location=None, target_actor=None)), strict=True)
    )
    assert bare["ActionGeo_Type"] == "0" and bare["ActionGeo_FullName"] == ""
    assert bare["Actor2Code"] == "" and bare["Actor2Name"] == ""


def test_a_phoenix_row_fills_actor_parts_issues_and_the_sentence() -> None:
    row = dict(zip(PHOENIX_COLUMNS, phoenix_row(_event()), strict=True))
    assert row["EventID"] == "e1"
    assert (row["Date"], row["Year"], row["Month"], row["Day"]) == ("20240501", "2024", "5", "1")
    assert [row[f"TargetActor{f}"] for f in ("Full", "Entity", "Role", "Attribute")] == [
        "USAGOV",
        "USA",
        "GOV",
        "",
    ]
    assert (row["EventCode"], row["EventRootCode"], row["QuadClass"], row["GoldsteinScore"]) == (
        "042",
        "04",
        "1",
        "4",
    )
    assert row["Issues"] == "NUCLEAR_POWER,1"
    assert (row["LocationName"], row["CountryCode"], row["Lat"]) == ("Washington", "USA", "38.8951")
    assert row["SentenceID"] == "a1_0"


def test_slots_are_quarter_hours_or_days() -> None:
    assert slot_start(T, Interval.QUARTER) == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    late = T.replace(minute=59, second=59)
    assert slot_start(late, Interval.QUARTER) == datetime(2024, 5, 1, 10, 45, tzinfo=UTC)
    assert slot_start(late, Interval.DAY) == datetime(2024, 5, 1, tzinfo=UTC)


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_files_hold_each_event_once_sorted_and_only_inside_the_window(tmp_path: Path) -> None:
    events = [
        _event("b", emitted_at=T.replace(minute=20)),
        _event("a", emitted_at=T),
        _event("a", emitted_at=T.replace(hour=11)),  # a replayed copy, added later
        _event("c", emitted_at=datetime(2024, 5, 2, 0, 1, tzinfo=UTC)),
    ]
    window = Window(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC))
    written = export(events, tmp_path, ["gdelt", "phoenix"], Interval.DAY, SlotBy.ADDED, window)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20240501.export.CSV",
        "phoenix.events.20240501.txt",
    ]
    assert [w.events for w in written] == [2, 2]
    gdelt = _read(tmp_path / "20240501.export.CSV")
    assert all(len(row) == 61 for row in gdelt)
    assert [row[0] for row in gdelt] == [str(global_event_id("a")), str(global_event_id("b"))]
    assert [row[59] for row in gdelt] == ["20240501100730", "20240501102030"]
    phoenix = _read(tmp_path / "phoenix.events.20240501.txt")
    assert [row[0] for row in phoenix] == ["a", "b"] and all(len(r) == 26 for r in phoenix)


def test_slotting_by_the_event_day_and_a_header_line(tmp_path: Path) -> None:
    events = [_event("x", event_date=date(2023, 10, 26)), _event("y")]
    export(events, tmp_path, ["phoenix"], Interval.DAY, SlotBy.EVENT, header=True)
    older = _read(tmp_path / "phoenix.events.20231026.txt")
    assert older[0] == list(PHOENIX_COLUMNS)
    assert [row[0] for row in older[1:]] == ["x"]
    assert [row[0] for row in _read(tmp_path / "phoenix.events.20240501.txt")[1:]] == ["y"]


def test_an_export_file_is_as_readable_as_any_new_file(tmp_path: Path) -> None:
    import os

    from pipeline.tools.export.files import write_rows

    mask = os.umask(0o022)
    try:
        write_rows(tmp_path / "out.tsv", [["a", "b"]], None)
    finally:
        os.umask(mask)
    assert (tmp_path / "out.tsv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "out.tsv").read_text() == "a\tb\n"
