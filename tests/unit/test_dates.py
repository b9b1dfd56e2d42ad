"""Event dates: resolving a DATE entity against the story date, and which DATE is the event's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.nlp.dates import EventDate, event_date, resolve, tense_of, weekday

pytestmark = pytest.mark.unit

# Thursday 26 October 2023.
THURSDAY = date(2023, 10, 26)
MONDAY, TUESDAY, FRIDAY, SATURDAY = 0, 1, 4, 5


def day(y: int, m: int, d: int) -> EventDate:
    return EventDate(date(y, m, d), "day")


# ----------------------------------------------------------------- absolute dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1979", EventDate(date(1979, 1, 1), "year")),
        ("the year 2002", EventDate(date(2002, 1, 1), "year")),
        ("early 2005", EventDate(date(2005, 1, 1), "year")),
        ("mid-1990", EventDate(date(1990, 1, 1), "year")),
        ("12 March 2005", day(2005, 3, 12)),
        ("March 12, 2005", day(2005, 3, 12)),
        ("the 12th of March 2005", day(2005, 3, 12)),
        ("Nov. 15th, 2004", day(2004, 11, 15)),
        ("Monday, November 15, 2004", day(2004, 11, 15)),
        ("today, November 13, 2004", day(2004, 11, 13)),
        ("2005-06-30", day(2005, 6, 30)),
        ("March 2005", EventDate(date(2005, 3, 1), "month")),
        ("Sept. 2001", EventDate(date(2001, 9, 1), "month")),
    ],
)
def test_absolute_dates_need_no_story_date(text: str, expected: EventDate) -> None:
    assert resolve(text, None) == expected
    assert resolve(text, THURSDAY, "future") == expected


@pytest.mark.parametrize(
    "text",
    ["last week", "this week", "recent years", "three days", "each year", "the 1990s"]
    + ["last weekend", "the past year", "a week ago", "31 February 2005", "summer", "decades"]
    + ["47 years old", "Wednesday's", "9999"],
)
def test_vague_dates_resolve_to_nothing(text: str) -> None:
    assert resolve(text, THURSDAY) is None
    assert resolve(text, THURSDAY, "past") is None


# ----------------------------------------------------------------- relative dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yesterday", day(2023, 10, 25)),
        ("today", day(2023, 10, 26)),
        ("last night", day(2023, 10, 25)),
        ("tomorrow", day(2023, 10, 27)),
        ("three days ago", day(2023, 10, 23)),
        ("two years ago", EventDate(date(2021, 1, 1), "year")),
        ("last year", EventDate(date(2022, 1, 1), "year")),
        ("earlier this year", EventDate(date(2023, 1, 1), "year")),
        ("next month", EventDate(date(2023, 11, 1), "month")),
        ("last month", EventDate(date(2023, 9, 1), "month")),
        ("last March", EventDate(date(2023, 3, 1), "month")),
        ("next March", EventDate(date(2024, 3, 1), "month")),
        ("last October", EventDate(date(2022, 10, 1), "month")),
    ],
)
def test_relative_dates_count_from_the_story_date(text: str, expected: EventDate) -> None:
    assert resolve(text, THURSDAY) == expected
    assert resolve(text, None) is None


def test_weekday_arithmetic() -> None:
    # "last Tuesday" is the latest Tuesday before the story, "next Tuesday" the first after.
    assert weekday(TUESDAY, THURSDAY, "last", None) == date(2023, 10, 24)
    assert weekday(TUESDAY, THURSDAY, "next", None) == date(2023, 10, 31)
    # The story's own weekday: "last Thursday" is a week back, "next Thursday" a week on.
    assert weekday(3, THURSDAY, "last", None) == date(2023, 10, 19)
    assert weekday(3, THURSDAY, "next", None) == date(2023, 11, 2)
    # A bare weekday: a past verb looks back (the same day included), a future one ahead.
    assert weekday(3, THURSDAY, None, "past") == THURSDAY
    assert weekday(FRIDAY, THURSDAY, None, "past") == date(2023, 10, 20)
    assert weekday(FRIDAY, THURSDAY, None, "future") == date(2023, 10, 27)
    assert weekday(MONDAY, THURSDAY, None, "future") == date(2023, 10, 30)
    # Without a tense the nearer one: Monday is 3 days back, Saturday 2 days on.
    assert weekday(MONDAY, THURSDAY, None, None) == date(2023, 10, 23)
    assert weekday(SATURDAY, THURSDAY, None, None) == date(2023, 10, 28)
    # Across a year's end.
    assert weekday(FRIDAY, date(2024, 1, 2), "last", None) == date(2023, 12, 29)


def test_weekdays_in_words() -> None:
    assert resolve("Saturday", THURSDAY, "past") == day(2023, 10, 21)
    assert resolve("last Tuesday", THURSDAY) == day(2023, 10, 24)
    assert resolve("Friday morning", THURSDAY, "future") == day(2023, 10, 27)
    assert resolve("early Monday", THURSDAY, "past") == day(2023, 10, 23)


def test_month_and_day_without_a_year_take_the_nearest_year_on_the_tense_side() -> None:
    story = date(2007, 1, 2)
    # A past verb looks back: 12 March is last year's.
    assert resolve("March 12", story, "past") == day(2006, 3, 12)
    # A future one ahead: this year's.
    assert resolve("March 12", story, "future") == day(2007, 3, 12)
    # No tense: the nearer one (December 28 last year, 4 days back).
    assert resolve("28 December", story) == day(2006, 12, 28)
    assert resolve("January 5", story) == day(2007, 1, 5)
    # The same month without a day.
    assert resolve("March", story, "past") == EventDate(date(2006, 3, 1), "month")
    assert resolve("in March", story, "future") == EventDate(date(2007, 3, 1), "month")
    # 29 February exists in leap years only.
    assert resolve("February 29", date(2024, 3, 10), "past") == day(2024, 2, 29)
    assert resolve("February 29", date(2023, 3, 10), "past") is None


# ----------------------------------------------------------- the event's own date


def verb(doc: Doc, text: str) -> tuple[int, ...]:
    """The token index of the first word ``text`` (the event's trigger) in ``doc``."""
    return next((t.i,) for t in doc if t.text == text)


@pytest.fixture(scope="module")
def date_of(nlp: Language) -> Callable[..., EventDate | None]:
    """Parse ``text`` and return the date of the event whose trigger is ``word``."""

    def run(text: str, word: str, story: date = THURSDAY, modality: str = "asserted") -> object:
        doc = nlp(text)
        (i,) = verb(doc, word)
        sentence = doc[i].sent
        dates = [(e.start, e.end) for e in sentence.ents if e.label_ == "DATE"]
        return event_date(doc, (doc[i],), dates, story, modality)

    return run


def test_a_date_the_verb_governs(date_of: Callable[..., EventDate | None]) -> None:
    assert date_of("Iran expelled the diplomats in 1979.", "expelled") == EventDate(
        date(1979, 1, 1), "year"
    )
    assert date_of("Rwanda and Uganda signed the accord on 12 March 2005.", "signed") == day(
        2005, 3, 12
    )
    assert date_of("Ghana recalled its ambassador to Togo last Tuesday.", "recalled") == day(
        2023, 10, 24
    )
    assert date_of("Chile will host the Peruvian president on Monday.", "host") == day(2023, 10, 30)
    assert date_of("The envoys met yesterday in Nairobi.", "met") == day(2023, 10, 25)
    assert date_of("Hungary vetoed the package at dawn on Friday.", "vetoed") == day(2023, 10, 20)


def test_a_vague_date_of_the_verb_gives_none(date_of: Callable[..., EventDate | None]) -> None:
    # "last week" names no day; the sentence's other date is not the event's.
    text = "Kenya expelled the envoy last week, two days after the 4 May vote."
    assert date_of(text, "expelled") is None


def test_conjoined_verbs_share_the_date(date_of: Callable[..., EventDate | None]) -> None:
    text = "Wang arrived in Washington on Thursday and met Blinken at the State Department."
    assert date_of(text, "met") == day(2023, 10, 26)


def test_the_sentence_date_of_a_governing_clause(
    date_of: Callable[..., EventDate | None],
) -> None:
    # The date hangs from "agreed"; the infinitive's event shares it.
    text = "On Monday, Serbia and Kosovo agreed to resume talks in Brussels."
    assert date_of(text, "resume") == day(2023, 10, 23)


def test_no_date_from_another_clause(date_of: Callable[..., EventDate | None]) -> None:
    # A relative clause has its own time, and the main clause's date is not its.
    text = (
        "Troops entered Gaza on Tuesday, months after Hamas, which seized the strip in 2007, fled."
    )
    assert date_of(text, "seized") == EventDate(date(2007, 1, 1), "year")
    text = "Syria denied on Tuesday the charges that Israel made in its report."
    assert date_of(text, "made") is None
    # A reported clause: the attack came before the saying.
    text = "Egypt said on Friday that Libya had attacked the border post."
    assert date_of(text, "attacked") is None
    assert date_of(text, "said") == day(2023, 10, 20)


def test_tense(nlp: Language) -> None:
    doc = nlp("Peru has recalled its envoy, Chile recalled its own, and Bolivia will recall its.")
    words = {t.text: t for t in doc}
    assert tense_of(words["recalled"]) == "past"
    assert tense_of(words["recall"]) == "future"
    assert tense_of(words["recall"], "asserted") == "future"
    assert tense_of(doc[2]) == "past"  # has recalled
    assert tense_of(nlp("Iran is expected to respond.")[2]) is None
    assert tense_of(nlp("Iran is expected to respond.")[2], "intent") == "future"
