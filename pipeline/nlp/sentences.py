r"""Which sentences are sentences: boundaries set before the parse, and what is not coded.

Two steps, both cheap and deterministic:

* :func:`mark_paragraphs` runs on the tokenised, not yet parsed ``Doc``. It
  presets sentence starts the layout of the text implies (every paragraph, a
  heading line, a quote mark opening a paragraph), which spaCy's parser then
  respects; left to itself the parser glues a heading to the paragraph after
  it ("Talks in Geneva\n\nThe ministers met ...") and splits a leading quote
  mark off the quotation it opens.
* :func:`uncodable` (:func:`kind_of` on offsets and tags) says why a sentence
  of the parsed ``Doc`` is no sentence to code events from (a heading, a
  byline, a caption, a line without a verb); its text still belongs to the
  article, for tone and topics.

:func:`clause_head` and :func:`governs` tell which clause a word belongs to,
for the place and date of an event.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from spacy.tokens import Doc, Token

OPENING_QUOTES = frozenset({'"', "\u201c", "\u2018", "'", "\u00ab", "``", "\u201e"})
CLOSING_MARKS = frozenset({'"', "\u201d", "\u2019", "'", "\u00bb", "''", ")", "]"})
_TERMINAL = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
_HEADING_WORDS = 12
"""A heading or a one-line fragment is at most this many words long."""
_SHORT_LINE = 40
"""Characters; a wire wrapped at 65-80 characters has no line this short but its last."""
_SMALL_WORDS = frozenset(
    {"a", "an", "the", "and", "or", "but", "nor", "of", "in", "on", "at", "to", "for"}
    | {"with", "by", "from", "as", "vs", "vs.", "over", "into", "after", "amid", "per"}
)
_BYLINE = re.compile(
    r"^\(?\s*(?:additional\s+)?(?:reporting|writing|editing|compiled|edited|written"
    r"|produced|translated)\s+by\b",
    re.IGNORECASE,
)
_CAPTION = re.compile(
    r"\((?:L|R|C|L-R|R-L|left|right|cent(?:er|re)|front|back|\d(?:st|nd|rd|th) [LR])\)"
    r"|\b(?:REUTERS|AFP|AP|EPA|XINHUA|ANADOLU)\s*/\s*[A-Z][a-z]"
    r"|\b(?:AP|AFP) Photos?\b|\bFILE PHOTO\b|\bGetty Images\b"
    r"|^(?:Photo|Photograph|Picture|Image|Caption|Credit)s?\s*:",
    re.IGNORECASE | re.MULTILINE,
)
_CAPTION_HINTS = ("(", "/", ":", "hoto", "HOTO", "Getty", "GETTY")
"""A caption mark contains one of these; a line with none is no caption (a cheap test)."""


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Every line of ``text`` with the offset of its first character."""
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line) + 1


def _heading_like(line: str) -> bool:
    """A line that is a heading: "Talks in Geneva", "UK election latest", "IRAN REJECTS OFFER".

    Title case, or shorter than any line of hard-wrapped running text.
    """
    words = line.split()
    if not words or len(words) > _HEADING_WORDS or line.rstrip().endswith((",", ";")):
        return False
    return len(line) <= _SHORT_LINE or _title_case(words)


def _starts_sentence(line: str) -> bool:
    first = line.lstrip()[:1]
    return first.isupper() or first.isdigit() or first in OPENING_QUOTES


def paragraph_starts(text: str) -> list[int]:
    r"""Offsets where the layout of ``text`` starts a sentence.

    A sentence starts at every paragraph (the first line after a blank line)
    and at a line after a line that ends a sentence or is a heading, when the
    line begins as a sentence does. A single line break inside running text
    (a hard-wrapped wire report) is no boundary: "the minister said\nthat the
    talks" goes on, "Tehran rejects offer\nIran has rejected" does not.
    """
    starts: list[int] = []
    previous: str | None = None  # the last non-blank line, None after a blank line
    for offset, line in _lines(text):
        stripped = line.strip()
        if not stripped:
            previous = None
            continue
        begins = offset + len(line) - len(line.lstrip())
        if previous is None:
            starts.append(begins)
        elif _starts_sentence(line) and (
            _TERMINAL.search(previous) is not None or _heading_like(previous)
        ):
            starts.append(begins)
        previous = stripped
    return starts


def mark_paragraphs(doc: Doc, text: str | None = None) -> Doc:
    r"""Preset the sentence starts the layout implies on an unparsed ``doc``.

    Each start of :func:`paragraph_starts` becomes a sentence start, and the
    word after it may not start one: a one-word sentence at a paragraph start
    is the parser's mistake ("U.S.\n\nColin | Powell said"). A quote mark at
    a paragraph start opens the quotation, so it starts the sentence and the
    quoted words continue it ('"We asked the United States ...," North Korea
    said': spaCy otherwise leaves the mark at the end of the sentence before);
    the quote marks and brackets that end a paragraph close its last sentence
    ('... what they cannot report."': spaCy otherwise makes the mark a
    sentence of its own or hands it to the next paragraph).
    ``text`` is ``doc.text`` when the caller has it (spaCy builds it anew on each call).
    """
    by_offset = {tok.idx: tok.i for tok in doc if not tok.is_space}
    for offset in paragraph_starts(doc.text if text is None else text):
        i = by_offset.get(offset)
        if i is None:
            continue
        doc[i].is_sent_start = True
        closing = i - 1
        while closing > 0 and doc[closing].is_space:
            closing -= 1
        while closing > 0 and doc[closing].text in CLOSING_MARKS:
            doc[closing].is_sent_start = False
            closing -= 1
        following = i + 1
        while following < len(doc) and doc[following].is_space:
            following += 1
        if following < len(doc) and (following == i + 1 or doc[i].text in OPENING_QUOTES):
            doc[following].is_sent_start = False
    return doc


# ------------------------------------------------------------------ after the parse


def _line_around(text: str, start: int, end: int) -> tuple[str, str, str]:
    """The text before the sentence on its line, the line itself, and the text after."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return text[line_start:start], text[line_start:line_end], text[end:line_end]


def _title_case(words: list[str]) -> bool:
    """Every word but the small ones capitalised, or the whole line in capitals."""
    letters = [w for w in words if any(c.isalpha() for c in w)]
    if len(letters) < 2:
        return False
    if all(w.isupper() for w in letters):
        return True
    content = [w for w in letters if w.lower() not in _SMALL_WORDS]
    return len(content) >= 2 and all(w[0].isupper() or not w[0].isalpha() for w in content)


def _byline(words: list[str], text: str) -> bool:
    """A byline: "By John Smith", "By JANE DOE, Reuters", "(Reporting by ...)"."""
    if _BYLINE.search(text):
        return True
    if len(words) < 2 or len(words) > 8 or words[0].lower() != "by":
        return False
    return all(w[0].isupper() or w.lower() in ("and", "in", "of") for w in words[1:])


VERB_TAGS = frozenset({"VERB", "AUX"})


def uncodable(doc: Doc, start: int, end: int) -> str | None:
    """Why the sentence ``doc[start:end]`` is not one to code events from, or ``None``.

    See :func:`kind_of`, which this calls with the sentence's offsets.
    """
    text = doc.text
    span = doc[start:end]
    first, last = span.start_char, span.end_char
    while first < last and text[first].isspace():
        first += 1
    while last > first and text[last - 1].isspace():
        last -= 1
    return kind_of(text, first, last, any(tok.pos_ in VERB_TAGS for tok in span))


def kind_of(text: str, first: int, last: int, has_verb: bool) -> str | None:
    """Why the sentence ``text[first:last]`` is not one to code events from, or ``None``.

    * ``"caption"``: its paragraph carries a photo credit or a position mark
      ("Wang Yi (L) shakes hands with Antony Blinken ... REUTERS/Jonathan
      Ernst", "Photo: AFP"): a caption describes a picture, and repeats what
      the story codes;
    * ``"byline"``: "By Jane Doe", "(Reporting by Jane Doe; Editing by John
      Smith)";
    * ``"heading"``: a line of its own, short, without a final stop, and title
      case or without a verb ("Iran Rejects EU Offer", "UK election latest");
    * ``"fragment"``: no verb at all ("U.S.", "Full text of the law").

    A line that lost its final stop but is a sentence ("This position was
    reversed last week") is coded: it has a verb and is not title case.

    Args:
        text: The article's text (or a text that starts with it).
        first: Offset of the sentence's first character (not whitespace).
        last: Offset after its last character.
        has_verb: Whether a word of the sentence is tagged VERB or AUX.
    """
    sentence = text[first:last]
    words = sentence.split()
    if not words:
        return "fragment"
    before, line, after = _line_around(text, first, last)
    if any(hint in line for hint in _CAPTION_HINTS) and _CAPTION.search(line):
        return "caption"
    whole_line = not before.strip() and not after.strip()
    if whole_line and _byline(words, sentence):
        return "byline"
    if (
        whole_line
        and len(words) <= _HEADING_WORDS
        and _TERMINAL.search(sentence) is None
        and not sentence.endswith(":")
        and (not has_verb or _title_case(words))
    ):
        return "heading"
    return None if has_verb else "fragment"


def clause_head(token: Token) -> Token:
    """The verb whose clause ``token`` is in (or the root of its sentence)."""
    node = token
    for _ in range(_MAX_CLIMB):
        if node.pos_ in ("VERB", "AUX") or node.head.i == node.i:
            return node
        node = node.head
    return node


def governs(upper: Token, lower: Token) -> bool:
    """Whether ``lower`` is ``upper`` or below it in the same clause, a few links down at most.

    Conjoined verbs and infinitives share their clause's time and place ("met
    on Monday and signed", "agreed on Monday to resume", "rallied in Seoul to
    protest"); a relative,
    adverbial or reported clause has its own ("troops entered Gaza on Tuesday,
    which Hamas seized in June"; "said on Friday that Iran had attacked").
    """
    node = lower
    for _ in range(_MAX_CLIMB):
        if node.i == upper.i:
            return True
        if node.head.i == node.i or (node.dep_ in SUBORDINATE and not _purpose(node)):
            return False
        node = node.head
    return False


def _purpose(verb: Token) -> bool:
    """An infinitive of purpose shares its clause's time and place: "rallied to protest"."""
    return verb.dep_ == "advcl" and any(c.lower_ == "to" and c.dep_ == "aux" for c in verb.children)


SUBORDINATE = frozenset(
    {"relcl", "acl", "advcl", "ccomp", "csubj", "csubjpass", "parataxis", "pcomp"}
)
"""Links that open a clause of its own: its time and place are not its governor's."""


_MAX_CLIMB = 12
"""Links followed up the tree: a bound, so a long chain of clauses costs no more."""
