"""When an event happened: the date its sentence gives it, resolved against the story date.

Two parts, both pure:

* :func:`resolve` reads the words of one spaCy ``DATE`` entity ("in 1979",
  "on 12 March 2005", "last Tuesday", "yesterday") and returns the day, month
  or year they name relative to the story's date, or ``None`` when they name
  none precisely enough ("last week", "recent years", "three days");
* :func:`event_date` picks the ``DATE`` entity that belongs to an event: one
  its words govern (a temporal noun phrase, "met Monday", or an ``in``/``on``/
  ``during``/``at`` phrase, "met on Monday", "expelled in 1979"), or the verb
  it is conjoined to ("arrived on Thursday and met Blinken"); else the one
  date of the sentence that hangs from the event's clause, an infinitive's
  governor included ("On Monday, the two sides agreed to resume talks").
  Never a date of another clause: a relative or adverbial one ("since June,
  when Hamas seized Gaza" is not the date of the sentence's main event, nor
  is the main event's date that of the seizure) or a reported one ("said on
  Friday that Iran had attacked": the attack was before the saying).

A date without a year takes the year that puts it nearest the story date, on
the side the verb's tense gives (a past verb looks back, a future one ahead):
"on March 12" in a story of 2 January 2007 is 12 March 2006 when the verb is
past, 12 March 2007 when it is future.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from spacy.tokens import Doc, Token

from pipeline.nlp.sentences import clause_head, governs

Precision = Literal["day", "month", "year"]
Tense = Literal["past", "future"] | None


@dataclass(frozen=True)
class EventDate:
    """A resolved date: ``day`` is the first day of the month or year it names."""

    day: date
    precision: Precision


MONTHS = {
    name: n
    for n, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
WEEKDAYS = {
    name: n
    for n, name in enumerate(
        ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    )
}
_DAY_WORDS = {
    "today": 0,
    "tonight": 0,
    "this morning": 0,
    "this afternoon": 0,
    "this evening": 0,
    "yesterday": -1,
    "last night": -1,
    "the day before yesterday": -2,
    "tomorrow": 1,
}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_NUMBERS |= {"seven": 7, "eight": 8, "nine": 9, "ten": 10}
_FILLER = frozenset({"the", "of", "on", "in", "during", "early", "late", "mid"})
_PART_OF_DAY = frozenset({"morning", "afternoon", "evening", "night", "overnight", "noon"})
_YEARS = range(1000, 2201)

_M = "|".join(sorted(MONTHS, key=len, reverse=True))
_W = "|".join(WEEKDAYS)
_DAY_MONTH = re.compile(rf"^(?:(?:{_W}) )?(?P<d>\d{{1,2}}) (?P<m>{_M})(?: (?P<y>\d{{4}}))?$")
_MONTH_DAY = re.compile(rf"^(?:(?:{_W}) )?(?P<m>{_M}) (?P<d>\d{{1,2}})(?: (?P<y>\d{{4}}))?$")
_MONTH_YEAR = re.compile(rf"^(?P<m>{_M}) (?P<y>\d{{4}})$")
_YEAR = re.compile(r"^(?:year )?(?P<y>\d{4})$")
_MONTH = re.compile(rf"^(?:(?P<rel>last|next|this|past|coming) )?(?P<m>{_M})$")
_WEEKDAY = re.compile(rf"^(?:(?P<rel>last|next|this|past|coming) )?(?P<w>{_W})$")
_RELATIVE = re.compile(r"^(?:earlier |later )?(?P<rel>last|this|next) (?P<unit>year|month)$")
_AGO = re.compile(r"^(?P<n>\d{1,2}|[a-z]+) (?P<unit>day|month|year)s? ago$")
_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b")


def normalise(text: str) -> str:
    """Lower case, no punctuation, no ordinal suffixes: "Nov. 15th," -> "nov 15"."""
    words = re.sub(r"(\d)(?:st|nd|rd|th)\b", r"\1", text.lower())
    words = re.sub(r"[.,;:()'\u2019]", " ", words)
    return " ".join(words.replace("-", " ").split())


def resolve(text: str, story: date | None, tense: Tense = None) -> EventDate | None:
    """The date that ``text`` (a ``DATE`` entity) names, relative to the story date.

    Args:
        text: The entity's words, e.g. "12 March 2005", "last Tuesday", "1979".
        story: The story's date (``published_at``); relative dates need it.
        tense: "past" or "future" when the event's verb says so; it picks the
            side of the story date a date without a year (or a bare weekday)
            falls on. Without it the nearest one is taken.

    Returns:
        The day, month or year named, or ``None`` for durations, weeks,
        decades, seasons and anything else no calendar day or month or year
        stands for.
    """
    iso = _ISO.search(text)
    if iso is not None:
        return _day(int(iso["y"]), int(iso["m"]), int(iso["d"]))
    words = normalise(text)
    if story is not None and words in _DAY_WORDS:
        return EventDate(story + timedelta(days=_DAY_WORDS[words]), "day")
    kept = [w for w in words.split() if w not in _FILLER and w not in _PART_OF_DAY]
    if len(kept) > 1 and kept[0] in _DAY_WORDS:
        kept = kept[1:]  # "today, November 13, 2004": the date says which day
    words = " ".join(kept)
    absolute = _absolute(words, story, tense)
    if absolute is not None or story is None:
        return absolute
    return _relative(words, story, tense)


def _absolute(words: str, story: date | None, tense: Tense) -> EventDate | None:
    """Dates named by a month, a day of the month or a year."""
    found = _DAY_MONTH.match(words) or _MONTH_DAY.match(words)
    if found is not None:
        month, day = MONTHS[found["m"]], int(found["d"])
        if found["y"] is not None:
            return _day(int(found["y"]), month, day)
        return _day_near(month, day, story, tense) if story is not None else None
    found = _MONTH_YEAR.match(words)
    if found is not None:
        return _month(int(found["y"]), MONTHS[found["m"]])
    found = _YEAR.match(words)
    if found is not None and int(found["y"]) in _YEARS:
        return EventDate(date(int(found["y"]), 1, 1), "year")
    return None


def _relative(words: str, story: date, tense: Tense) -> EventDate | None:
    """Dates named relative to the story: weekdays, "last year", "two days ago"."""
    found = _WEEKDAY.match(words)
    if found is not None:
        return EventDate(weekday(WEEKDAYS[found["w"]], story, found["rel"], tense), "day")
    found = _MONTH.match(words)
    if found is not None:
        return _month_near(MONTHS[found["m"]], story, found["rel"], tense)
    found = _RELATIVE.match(words)
    if found is not None:
        step = {"last": -1, "this": 0, "next": 1}[found["rel"]]
        if found["unit"] == "year":
            return EventDate(date(story.year + step, 1, 1), "year")
        return _month(*_add_months(story.year, story.month, step))
    found = _AGO.match(words)
    if found is not None:
        count = int(found["n"]) if found["n"].isdigit() else _NUMBERS.get(found["n"])
        if count is None:
            return None
        if found["unit"] == "day":
            return EventDate(story - timedelta(days=count), "day")
        if found["unit"] == "month":
            return _month(*_add_months(story.year, story.month, -count))
        return EventDate(date(story.year - count, 1, 1), "year")
    return None


def weekday(day: int, story: date, relative: str | None, tense: Tense) -> date:
    """The date of weekday ``day`` (Monday 0) that a story of ``story`` means.

    "last Tuesday" is the latest Tuesday before the story's day, "next
    Tuesday" the first after it; a bare "Tuesday" is the latest one on or
    before the story's day for a past verb ("met on Tuesday"), the first on or
    after it for a future one ("will meet on Tuesday"), else the nearer of the
    two (the earlier on a tie).
    """
    back = (story.weekday() - day) % 7
    ahead = (day - story.weekday()) % 7
    if relative in ("last", "past"):
        return story - timedelta(days=back or 7)
    if relative in ("next", "coming"):
        return story + timedelta(days=ahead or 7)
    if tense == "past" or (tense is None and back <= ahead):
        return story - timedelta(days=back)
    return story + timedelta(days=ahead)


def _day(year: int, month: int, day: int) -> EventDate | None:
    if year not in _YEARS:
        return None
    try:
        return EventDate(date(year, month, day), "day")
    except ValueError:
        return None


def _month(year: int, month: int) -> EventDate | None:
    return EventDate(date(year, month, 1), "month") if year in _YEARS else None


def _add_months(year: int, month: int, step: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + step
    return index // 12, index % 12 + 1


def _pick(candidates: Sequence[tuple[int, int]], now: int, tense: Tense) -> int | None:
    """Of ``(distance key, value)`` pairs, the value nearest ``now`` on the tense's side."""
    if tense == "past":
        candidates = [c for c in candidates if c[0] <= now]
    elif tense == "future":
        candidates = [c for c in candidates if c[0] >= now]
    if not candidates:
        return None
    return min(candidates, key=lambda c: (abs(c[0] - now), c[0]))[1]


def _day_near(month: int, day: int, story: date, tense: Tense) -> EventDate | None:
    """A day of the month without a year, in the year that puts it nearest the story."""
    candidates: list[tuple[int, int]] = []
    for year in (story.year - 1, story.year, story.year + 1):
        try:
            candidates.append((date(year, month, day).toordinal(), year))
        except ValueError:
            continue
    picked = _pick(candidates, story.toordinal(), tense)
    return None if picked is None else _day(picked, month, day)


def _month_near(month: int, story: date, relative: str | None, tense: Tense) -> EventDate | None:
    """A month without a year: "last March" is the latest March before the story's month."""
    now = story.year * 12 + story.month - 1
    candidates = [(y * 12 + month - 1, y) for y in (story.year - 1, story.year, story.year + 1)]
    if relative in ("last", "past"):
        candidates = [c for c in candidates if c[0] < now]
        year = max(candidates)[1]
    elif relative in ("next", "coming"):
        candidates = [c for c in candidates if c[0] > now]
        year = min(candidates)[1]
    elif relative == "this":
        year = story.year
    else:
        picked = _pick(candidates, now, tense)
        if picked is None:
            return None
        year = picked
    return _month(year, month)


def is_current(when: EventDate, story: date) -> bool:
    """Whether an event dated ``when`` happened in the days of a story of ``story``.

    A week either side, to the day: "on Monday" is, "in 1979" or "last month"
    is not (a place the story is set in says nothing of where those were).
    """
    return when.precision == "day" and abs((when.day - story).days) <= CURRENT_DAYS


CURRENT_DAYS = 7


# --------------------------------------------------------------- which date is the event's

_DATE_PREPS = frozenset({"in", "on", "during", "at"})
_ADVERBIAL = frozenset({"npadvmod", "tmod", "advmod", "obl", "nmod:tmod"})
_NOUN_ROLES = frozenset({"dobj", "nsubj", "nsubjpass", "attr", "pobj"})
_PAST_AUX = frozenset({"did", "has", "have", "had", "was", "were"})
_FUTURE_AUX = frozenset({"will", "shall", "'ll"})


def tense_of(verb: Token, modality: str = "asserted") -> Tense:
    """The side of the story date a verb points to.

    Future for "will meet" and for events the coder marks ``future`` or
    ``intent`` ("plans to visit"); past for a past verb ("met", "has met",
    "was expelled"); else unknown ("is expected to meet", a noun).
    """
    auxiliaries = {c.lower_ for c in verb.children if c.dep_ in ("aux", "auxpass")}
    if modality in ("future", "intent") or auxiliaries & _FUTURE_AUX:
        return "future"
    if verb.tag_ == "VBD" or auxiliaries & _PAST_AUX:
        return "past"
    return None


def entity_at(doc: Doc, i: int) -> tuple[int, int] | None:
    """The token range of the ``DATE`` entity token ``i`` is in, if any."""
    if doc[i].ent_type_ != "DATE":
        return None
    start, end = i, i + 1
    while start > 0 and doc[start].ent_iob_ == "I":
        start -= 1
    while end < len(doc) and doc[end].ent_iob_ == "I":
        end += 1
    return start, end


def _governed_date(doc: Doc, verb: Token) -> tuple[int, int] | None:
    """A ``DATE`` the word governs: "met Monday", "met on Monday", "on Thursday evening"."""
    for child in verb.children:
        if child.dep_ in _ADVERBIAL and child.ent_type_ == "DATE":
            return entity_at(doc, child.i)
        if child.dep_ == "prep" and child.lower_ in _DATE_PREPS:
            for pobj in child.children:
                if pobj.dep_ != "pobj":
                    continue
                # "on Thursday evening": the date modifies the time noun the preposition takes.
                for word in (pobj, *pobj.lefts):
                    if word.ent_type_ == "DATE":
                        return entity_at(doc, word.i)
    return None


def _anchors(head: Token, trigger: Sequence[Token]) -> list[Token]:
    """The event's words, the verbs it is conjoined to, and the verb of an event noun.

    "is expected to meet Biden on Friday": the date hangs from "meet", a word of
    the trigger below its head; "arrived on Thursday and met Blinken": the
    second verb shares the date of the first.
    """
    anchors = [head, *(t for t in trigger if t.i != head.i and t.pos_ in ("VERB", "AUX"))]
    node = head
    while node.dep_ == "conj" and node.head.i != node.i and len(anchors) < 4:
        node = node.head
        anchors.append(node)
    if head.pos_ in ("NOUN", "PROPN") and head.dep_ in _NOUN_ROLES:
        verb = head.head.head if head.dep_ == "pobj" else head.head
        if verb.pos_ in ("VERB", "AUX"):
            anchors.append(verb)
    return anchors


def event_date(
    doc: Doc,
    trigger: Sequence[Token],
    sentence_dates: Sequence[tuple[int, int]],
    story: date | None,
    modality: str = "asserted",
) -> EventDate | None:
    """The date of the event ``trigger`` names, or ``None`` (the story date applies).

    Args:
        doc: The article's doc.
        trigger: The words of the event's verb or noun.
        sentence_dates: Token ranges of the ``DATE`` entities of its sentence.
        story: The story's date.
        modality: The event's modality; ``future`` and ``intent`` look ahead.

    Returns:
        The date the event's own words govern; when they govern a vague one
        ("met last week") none; else the one resolvable date of the sentence
        that attaches to the event's clause or a clause above it. A date
        without a year takes the side of the story date that the tense of the
        verb it hangs from gives.
    """
    head = doc[trigger[0].i : trigger[-1].i + 1].root
    for anchor in _anchors(head, trigger):
        own = _governed_date(doc, anchor)
        if own is not None:
            tense = tense_of(anchor, modality if anchor.i == head.i else "asserted")
            return resolve(doc[own[0] : own[1]].text, story, tense)
    found: list[EventDate] = []
    for start, end in sentence_dates:
        root = doc[start:end].root
        attached = root.dep_ in _ADVERBIAL or (
            root.dep_ == "pobj" and root.head.lower_ in _DATE_PREPS
        )
        clause = clause_head(root)
        if not attached or not governs(clause, head):
            continue
        resolved = resolve(doc[start:end].text, story, tense_of(clause))
        if resolved is not None and resolved not in found:
            found.append(resolved)
    return found[0] if len(found) == 1 else None
