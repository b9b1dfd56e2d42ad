"""Pronouns and definite noun phrases that refer back to an actor named before them.

Beyond surnames and titles (:mod:`pipeline.nlp.actors.coreference`), an
article refers back with

* pronouns: "he", "she", "him" to a person; "it" to a state or organisation;
  "they", "them" to a plural group ("Rebels attacked the town. They ...");
* "the country", "the nation" to a state ("Japan protested. The country ...");
* "the government", "the ministry", ... to the government of a state
  ("Japan protested. The government said ..." -> JPNGOV);
* a possessor before an agent noun: "the country's foreign ministry",
  "its foreign ministry", "his spokesman" -> the agent of that state.

The words and their kinds are data (``coreference.toml``). Every such
mention is coded like its antecedent with match ``coref``. The rule, kept
strict because a wrong antecedent codes a wrong actor: look back through the
anchor's own sentence (up to the anchor) and the two sentences before it; in
the nearest sentence that holds an actor of the right kind, every such actor
must agree (on the code; for "the country" and "the government" on the
country), and the nearest one is the antecedent. Two candidates that disagree
("Kishida met Biden. He said ...") leave the mention unresolved. "It"
refers only as a subject ("it said", not "signed it"), and "it" and "they"
not past a noun that names no actor but could be what they stand for: in
"Japan proposed a plan. It would cut tariffs" "it" may be the plan, in
"Rebels seized two towns. They ..." the towns, so both stay unresolved.

Quotations have their own speaker, so they bound the search. A word outside
quotations takes antecedents only from outside them ("'Biden is weak,' Trump
said. He added ..." -> Trump). A word inside a quotation takes them from the
same quotation, or from sentences before the one the quotation opens in,
which usually names its speaker: in 'Xi Jinping arrived. "He is a friend,"
Macron said' "he" is Xi, in 'Macron said: "He is a friend."' it is not
Macron. Only earlier actors are read, so nothing after a quotation is ever
an antecedent of a word inside it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from spacy.tokens import Doc, Token

from pipeline.models import Span
from pipeline.nlp.actors.codes import UNKNOWN, ActorCodes
from pipeline.nlp.actors.context import owners, unplaced
from pipeline.nlp.actors.phrases import ActorMention
from pipeline.nlp.data import read_toml

WINDOW = 2
"""Sentences before the anchor's own that an antecedent may come from."""

_MAX_BACK = 40
_DEFINITE = frozenset({"the", "this"})
_PRONOUN_DEPS = frozenset({"nsubj", "nsubjpass"})
_RIVAL_DEPS = frozenset({"nsubj", "nsubjpass", "dobj", "pobj"})
_NAMED = frozenset({"name", "alias", "metonym", "dictionary"})
_QUOTES_OPEN = frozenset({"\u201c"})
_QUOTES_CLOSE = frozenset({"\u201d"})
_QUOTES_BOTH = frozenset({'"', "''", "``"})


@dataclass(frozen=True, slots=True)
class CorefWords:
    """The words that refer back, by kind (see ``coreference.toml``)."""

    pronouns: Mapping[str, str]
    possessives: Mapping[str, str]
    state_nouns: frozenset[str]
    government_nouns: frozenset[str]
    organisations: frozenset[str]
    expletive_verbs: frozenset[str]


def _by_kind(table: Mapping[str, Sequence[str]]) -> dict[str, str]:
    return {word.lower(): kind for kind, words in table.items() for word in words}


def load_coref_words(path: Path | None = None) -> CorefWords:
    """Read the words of ``path``, or of the packaged ``coreference.toml``."""
    data = read_toml("actors", "coreference.toml", path=path)
    nouns = data.get("nouns", {})
    return CorefWords(
        pronouns=_by_kind(data.get("pronouns", {})),
        possessives=_by_kind(data.get("possessives", {})),
        state_nouns=frozenset(w.lower() for w in nouns.get("state", [])),
        government_nouns=frozenset(w.lower() for w in nouns.get("government", [])),
        organisations=frozenset(w.lower() for w in nouns.get("organisations", [])),
        expletive_verbs=frozenset(data.get("expletive", {}).get("verbs", [])),
    )


@lru_cache(maxsize=1)
def coref_words() -> CorefWords:
    """The packaged words (cached: read once per process)."""
    return load_coref_words()


def quote_ids(doc: Doc) -> list[int]:
    """For each token, the number of the quotation it is in (0: outside every quotation).

    Curly quotes open and close; straight ones alternate; a paragraph break
    closes an open quotation (wire stories reopen it in the next paragraph).
    """
    ids = [0] * len(doc)
    current, count = 0, 0
    strings = doc.vocab.strings
    # Hashes, not Token objects: this reads every token of the article.
    for i, orth in enumerate(doc.to_array("ORTH").tolist()):
        text = strings[orth]
        if "\n" in text and not text.strip():
            current = 0
        elif text in _QUOTES_OPEN or (text in _QUOTES_BOTH and current == 0):
            count += 1
            current = count
            ids[i] = current
            continue
        elif text in _QUOTES_CLOSE or text in _QUOTES_BOTH:
            ids[i] = current
            current = 0
            continue
        ids[i] = current
    return ids


@dataclass(frozen=True, slots=True)
class _Seen:
    """An actor the article has named, as a possible antecedent."""

    mention: ActorMention
    sentence: int
    quote: int
    kinds: frozenset[str]


def mention_kinds(doc: Doc, mention: ActorMention, words: CorefWords) -> frozenset[str]:
    """What a mention may be the antecedent of: person, body, group, state."""
    ref = mention.ref
    root = doc[mention.start : mention.end].root
    plural = root.tag_ in ("NNS", "NNPS")
    kinds: set[str] = set()
    if ref.country is not None and ref.agent in (None, "GOV") and ref.match != "demonym":
        kinds.add("state")
    if mention.person:
        kinds.add("person")
    elif plural:
        kinds.add("group")
    elif ref.match == "demonym":
        pass  # "Japanese" before a noun is neither a body nor a person
    elif (
        ref.agent is None
        or ref.match.split("+", 1)[0] in _NAMED
        or root.lemma_.lower() in words.organisations
        or root.lower_ in words.organisations
    ):
        kinds.add("body")
    else:
        kinds.add("person")  # "the spokesman", "a Japanese diplomat"
    return frozenset(kinds)


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a referring word stands: its sentence, its quotation and that one's sentence."""

    sentence: int
    quote: int
    quote_sentence: int
    position: int

    def sees(self, seen: _Seen) -> bool:
        """Whether an earlier actor may be the antecedent across quotations."""
        if seen.quote == self.quote:
            return True
        return self.quote != 0 and seen.quote == 0 and seen.sentence < self.quote_sentence


def _antecedent(history: Sequence[_Seen], kind: str, where: _Place) -> _Seen | None:
    """The nearest earlier actor of ``kind`` if its sentence's candidates all agree."""
    found: list[_Seen] = []
    for seen in reversed(history[-_MAX_BACK:]):
        if seen.sentence < where.sentence - WINDOW:
            break
        if found and seen.sentence != found[0].sentence:
            break
        if kind in seen.kinds and where.sees(seen):
            found.append(seen)
    if not found:
        return None
    if kind == "state":
        agreed = {seen.mention.ref.country for seen in found}
    else:
        agreed = {seen.mention.ref.code for seen in found}
    return found[0] if len(agreed) == 1 else None


def _starts_with(doc: Doc, mention: ActorMention, nouns: frozenset[str]) -> bool:
    words = [t.lower_ for t in doc[mention.start : min(mention.end, mention.start + 2)]]
    return words[0] in nouns or " ".join(words) in nouns


def _mention_anchor(doc: Doc, mention: ActorMention, words: CorefWords) -> tuple[str, int] | None:
    """An agent mention that refers back: its kind and where the mention then starts."""
    if not unplaced(mention):
        return None
    if mention.start > 0 and doc[mention.start - 1].lower_ in _DEFINITE:
        if _starts_with(doc, mention, words.government_nouns):
            return "state", mention.start  # "the government", "the foreign ministry"
    for child in doc[mention.start : mention.end].root.children:
        if child.dep_ != "poss" or child.i >= mention.start:
            continue
        if child.lower_ in words.possessives:
            return words.possessives[child.lower_], child.i  # "its foreign ministry"
        if child.lower_ in words.state_nouns and _definite(child):
            return "state", child.i  # "the country's foreign ministry"
    return None


def _definite(token: Token) -> bool:
    return any(c.dep_ == "det" and c.lower_ in _DEFINITE for c in token.children)


def _token_anchor(token: Token, words: CorefWords) -> str | None:
    """The kind of a pronoun or of "the country" standing alone, if it refers back."""
    word = token.lower_
    if word in words.state_nouns:
        return "state" if _definite(token) and token.dep_ != "compound" else None
    kind = words.pronouns.get(word)
    if kind is None or token.tag_ != "PRP":
        return None
    if word == "it" and (
        token.dep_ not in _PRONOUN_DEPS or token.head.lemma_ in words.expletive_verbs
    ):
        return None  # "it is unclear whether ...", "it remains to be seen"
    return kind


def _referring_mention(
    doc: Doc, mention: ActorMention, kind: str, start: int, antecedent: _Seen, codes: ActorCodes
) -> ActorMention:
    """An agent coded through its antecedent: "the country's foreign ministry" -> JPNGOV."""
    ref = mention.ref
    assert ref.agent is not None
    source = antecedent.mention.ref
    base = source.country if kind == "state" or source.country is not None else source.code
    code = codes.combine(base or source.code, ref.agent)
    country, agent = codes.parts(code)
    first = doc[start]
    span = Span(start=first.idx, end=ref.span.end)
    update = {
        "text": doc[start : mention.end].text,
        "code": code,
        "country": country,
        "agent": agent,
        "span": span,
        "match": "coref",
    }
    return replace(mention, start=start, ref=ref.model_copy(update=update))


def _referring_token(token: Token, kind: str, antecedent: _Seen, codes: ActorCodes) -> ActorMention:
    """A pronoun or "the country" coded as its antecedent."""
    source = antecedent.mention.ref
    span = Span(start=token.idx, end=token.idx + len(token.text))
    update: dict[str, object] = {"text": token.text, "span": span, "match": "coref"}
    if kind == "state" and source.country is not None and source.code != source.country:
        # "the country" after "Japanese officials": the state, not its officials.
        name = codes.countries.get(source.country, source.country)
        update.update(code=source.country, country=source.country, agent=None, name=name)
    ref = source.model_copy(update=update)
    return ActorMention(token.i, token.i + 1, ref, person=antecedent.mention.person)


def resolve_references(
    doc: Doc,
    mentions: list[ActorMention],
    sentence_of: Sequence[int],
    codes: ActorCodes,
    words: CorefWords,
) -> list[ActorMention]:
    """Code pronouns, "the country", "the government" and possessors by their antecedents.

    Args:
        doc: The parsed doc.
        mentions: The article's mentions in document order.
        sentence_of: The sentence position of each token.
        codes: The coder's code segments and country names.
        words: The words that refer back.

    Returns:
        The mentions, with referring ones coded (match ``coref``) and
        resolved pronouns added, in document order.
    """
    anchors = _mention_anchors(doc, mentions, words)
    owner = owners(mentions, len(doc))
    used = {start for _, start in anchors.values()}
    items: list[tuple[int, int, ActorMention | None]] = [
        (m.start, n, m) for n, m in enumerate(mentions)
    ]
    wanted = {doc.vocab.strings.add(w) for w in (*words.pronouns, *words.state_nouns)}
    for i, lower in enumerate(doc.to_array("LOWER").tolist()):
        if lower in wanted and owner[i] is None and i not in used and _token_anchor(doc[i], words):
            items.append((i, -1, None))
    items.sort(key=lambda item: item[0])
    resolver = _Resolver(doc, sentence_of, codes, words, owner)
    out: list[ActorMention] = []
    for position, n, mention in items:
        where = resolver.place_of(position)
        if mention is None:
            seen = resolver.pronoun(doc[position], where)
        else:
            seen = resolver.mention(mention, anchors.get(n), where)
        if seen is not None:
            out.append(seen.mention)
            resolver.history.append(seen)
    return out


class _Resolver:
    """What the walk through one article knows: the actors seen and where words stand."""

    def __init__(
        self,
        doc: Doc,
        sentence_of: Sequence[int],
        codes: ActorCodes,
        words: CorefWords,
        owner: Sequence[int | None],
    ) -> None:
        self.doc, self.sentence_of, self.codes, self.words = doc, sentence_of, codes, words
        self.quotes = quote_ids(doc)
        self.opened: dict[int, int] = {}
        for i, quote in enumerate(self.quotes):
            self.opened.setdefault(quote, sentence_of[i])
        self.rivals = _rival_nouns(doc, owner)
        self.history: list[_Seen] = []

    def place_of(self, position: int) -> _Place:
        """Where the word at ``position`` stands."""
        quote = self.quotes[position]
        return _Place(self.sentence_of[position], quote, self.opened[quote], position)

    def _find(self, kind: str, where: _Place) -> _Seen | None:
        found = _antecedent(self.history, kind, where)
        rivals = self.rivals.get(kind)
        if found is None or rivals is None:
            return found
        # "Japan proposed a plan. It would cut tariffs": "it" may be the plan.
        n = bisect_left(rivals, where.position)
        return found if n == 0 or rivals[n - 1] < found.mention.start else None

    def pronoun(self, token: Token, where: _Place) -> _Seen | None:
        """A pronoun or "the country" coded as its antecedent, if it has one."""
        kind = _token_anchor(token, self.words)
        assert kind is not None
        found = self._find(kind, where)
        if found is None:
            return None
        mention = _referring_token(token, kind, found, self.codes)
        return _Seen(mention, where.sentence, where.quote, found.kinds)

    def mention(
        self, mention: ActorMention, anchor: tuple[str, int] | None, where: _Place
    ) -> _Seen:
        """A mention as seen, coded through its antecedent when it refers back."""
        if anchor is not None:
            kind, start = anchor
            found = self._find(kind, where)
            if found is not None and not found.mention.ref.code.startswith(UNKNOWN):
                mention = _referring_mention(self.doc, mention, kind, start, found, self.codes)
        kinds = mention_kinds(self.doc, mention, self.words)
        return _Seen(mention, where.sentence, where.quote, kinds)


def _rival_nouns(doc: Doc, owner: Sequence[int | None]) -> dict[str, list[int]]:
    """Positions of nouns that are no actor but could be what "it" or "they" stands for."""
    singular: list[int] = []
    plural: list[int] = []
    rows = doc.to_array(["TAG", "DEP"]).tolist()
    strings = doc.vocab.strings
    for i, (tag, dep) in enumerate(rows):
        if owner[i] is not None or strings[dep] not in _RIVAL_DEPS:
            continue
        name = strings[tag]
        if name == "NN":
            singular.append(i)
        elif name == "NNS":
            plural.append(i)
    return {"body": singular, "group": plural}


def _mention_anchors(
    doc: Doc, mentions: Sequence[ActorMention], words: CorefWords
) -> dict[int, tuple[str, int]]:
    """The mentions that refer back, by position: their kind and new start."""
    found: dict[int, tuple[str, int]] = {}
    for n, mention in enumerate(mentions):
        anchor = _mention_anchor(doc, mention, words)
        if anchor is not None:
            found[n] = anchor
    return found
