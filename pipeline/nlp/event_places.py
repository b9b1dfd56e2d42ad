"""Where an event happened: which of the places an article names is an event's place.

The rule follows what CAMEO coders and GDELT do, the place most closely tied
to the event: the place its verb puts it in, else a place its sentence puts
something in, else, for events that happen on the ground, the actor that is
itself a place, else where the story was filed (its dateline) or, for events
on the ground, where the story is set (its lead). :meth:`ArticlePlaces.locate`
states each step with examples.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from spacy.tokens import Doc, Token

from pipeline.models import ActorRef, Location, Span
from pipeline.nlp.places import Gazetteer, dateline_place, location_of, norm, place_roots
from pipeline.nlp.sentences import governs

PLACE_PREPS = frozenset(
    {"in", "at", "near", "outside", "inside", "across", "around", "throughout", "within"}
    | {"through", "along", "off", "into", "onto"}
)
"""Prepositions that put an event somewhere: "met in Geneva", "fired into Gaza"."""
MATERIAL_QUADS = frozenset({2, 4})
"""GDELT quad classes of material cooperation (roots 06-08) and conflict (14-20): events
that happen on the ground somewhere, unlike statements."""
VISITS = {"042": 1, "043": 0}
"""A visit happens at the host's: the target's for "make a visit" (042), the source's for
"host a visit" (043), index into the event's actors."""
SOURCE_GROUND_ROOTS = frozenset({"14", "15", "17"})
"""Protests, force postures and coercion (arrests, raids) happen where the source is
("San Jose police arrested ..."); the other material events where the target is ("Israel
struck Gaza", "Japan sent aid to Haiti")."""
_LOCATIVE = frozenset({"in", "at", "inside", "outside", "within"})
"""Prepositions that only ever say where: their object is a place, not a party."""
_MODIFIER_DEPS = frozenset({"compound", "amod", "nmod", "poss", "npadvmod"})
_GOVERNING_DEPS = frozenset({"dobj", "pobj", "nsubj", "nsubjpass", "attr", "npadvmod", "prep"})
"""Links a place preposition may hang from on its way down from the event's word."""
_DOWN = 4
"""Links followed down from the event's word: "talks at the headquarters in New York"."""
_PHRASE_DEPTH = 4
"""Links from a place preposition up to its clause: "in" -> "talks" -> "held" is two."""
_RELATIVE = frozenset({"relcl", "acl"})
_NEAREST = 6
"""Places of a sentence looked at on each side of the event's word."""
LEAD_SENTENCES = 3
"""Sentences at the start of a story that may set its scene."""


@dataclass(frozen=True)
class EventSite:
    """What :meth:`ArticlePlaces.locate` needs to know of an event."""

    head: Token
    trigger: tuple[Token, ...]
    sentence_start: int
    sentence_end: int
    actors: tuple[ActorRef, ...]
    code: str
    root: str
    quad_class: int
    current: bool = True
    """The event is of the story's days (not dated to another time, "in 1979")."""


def _overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def place_prep(root: Token) -> Token | None:
    """The place preposition whose object ``root`` is (or is "of": "in the city of Mosul")."""
    node = root
    while node.dep_ in ("conj", "appos") and node.head.i != node.i:
        node = node.head
    if node.dep_ in _MODIFIER_DEPS or node.dep_ != "pobj":
        return None
    prep = node.head
    if prep.lower_ == "of" and prep.head.dep_ == "pobj":
        prep = prep.head.head
    return prep if prep.lower_ in PLACE_PREPS else None


def _clause_of(prep: Token) -> Token | None:
    """The verb (or root) a place phrase belongs to, if it is a few links up at most.

    A place deep in a noun phrase is the place of that noun ("deaths in the
    United States"), not of the clause.
    """
    node = prep
    for _ in range(_PHRASE_DEPTH):
        if node.pos_ in ("VERB", "AUX") or node.head.i == node.i:
            return node
        node = node.head
    return None


class ArticlePlaces:
    """The places of one article, indexed once, and the rule that gives each event its place.

    Building it costs one pass over the article's places; placing an event
    costs its verb's neighbourhood and a few places of its sentence, so the
    code stage stays linear in the article's length.
    """

    def __init__(
        self,
        doc: Doc,
        locations: Sequence[Location],
        gazetteer: Gazetteer,
        actor_tokens: set[int],
        lead: Sequence[tuple[int, int]] = (),
    ) -> None:
        self.doc = doc
        self.gazetteer = gazetteer
        # A name the tagger calls a place that the gazetteer does not know and the
        # actor coder took for someone ("Blinken said") is no place.
        self.roots = {
            i: loc
            for i, loc in place_roots(doc, locations).items()
            if loc.country is not None or doc[i].ent_type_ != "GPE" or i not in actor_tokens
        }
        self._order = sorted(self.roots)
        self.dateline = dateline_place(doc, self.roots, gazetteer)
        self.setting = self.dateline or self._lead_place(lead)

    def locate(self, site: EventSite) -> Location | None:
        """The place of an event, most specific evidence first.

        1. A place the event's words govern through a place preposition, a
           few words down at most: "met in Geneva", "clashes near the border
           town of Spin Boldak", "talks at the UN headquarters in New York";
           one in an in/at phrase of the event's own word even when the actor
           coder took it for a party ("a summit in Beijing");
           "in the capital" is the capital of the one country the sentence
           names (or the event's actors share); the place a "where" clause
           describes ("in Hebron, where soldiers shot two men").
        2. Else the nearest place of the sentence in a place phrase of the
           event's own clause ("Talks in Islamabad between India and Pakistan
           ended"); for a material event (below) of any clause but a relative
           one, which describes a participant ("After days of protest in
           Minsk, police dispersed the crowd"; not "asked Wang to free
           Americans who are detained in China"). Never a place that is one of
           the event's actors, one that qualifies a noun ("U.S. concerns"), or
           one deep in a noun phrase ("deaths in the United States").
        3. Else, for a material event (roots 06-08 and 14-20) or a visit, the
           actor on whose ground it happens (:data:`SOURCE_GROUND_ROOTS`,
           :data:`VISITS`) when that actor is a place ("Israel struck Gaza" ->
           Gaza, "Clinton visited Romania" -> Romania) or its phrase names a
           city ("San Jose police arrested ..." -> San Jose); the dateline's
           place instead when it lies in the same country, being more
           specific. A statement between two countries ("China criticised
           Japan") happens in neither.
        4. Else the dateline's place ("KABUL (AFP) -"), else the place the
           story's lead is set in, as GDELT places an event by the article's
           nearest place: for a statement, not a place of its own sentence that
           step 2 turned down. Both say where the story happens now, so neither
           places an event its sentence dates to another time ("Iran expelled
           the ambassador in 1979").
        """
        governed = self._governed(site)
        if governed is not None:
            return governed
        material = site.quad_class in MATERIAL_QUADS
        nearby = self._in_sentence(site, own_clause=True)
        if nearby is None and material:
            nearby = self._in_sentence(site, own_clause=False)
        if nearby is not None:
            return nearby
        dateline = self.dateline if site.current else None
        if not material and site.code not in VISITS:
            # A statement is placed where the story is: its dateline, else the place
            # its lead is set in, unless that place is one its own sentence names
            # and step 2 already judged not to be the event's ("deaths in the US").
            setting = self.setting if site.current else None
            if setting is None or setting is dateline:
                return setting
            return None if self._in_sentence_span(setting, site) else setting
        ground = self._actor_ground(site)
        if ground is not None:
            if dateline is not None and dateline.country == ground.country:
                return dateline
            return ground
        return self.setting if site.current else None

    # ------------------------------------------------------------------ steps

    def _in_sentence_span(self, loc: Location, site: EventSite) -> bool:
        doc = self.doc
        assert loc.span is not None
        last = doc[site.sentence_end - 1]
        first = doc[site.sentence_start].idx
        return first <= loc.span.start <= loc.span.end <= last.idx + len(last)

    def _usable(self, loc: Location, site: EventSite) -> bool:
        """In the event's sentence, and not one of its actors."""
        assert loc.span is not None
        if not self._in_sentence_span(loc, site):
            return False
        return not any(_overlap(loc.span, a.span) for a in site.actors)

    def _governed(self, site: EventSite) -> Location | None:
        found: list[Location] = []
        level = list(site.trigger)
        for depth in range(_DOWN):
            below: list[Token] = []
            for node in level:
                for child in node.children:
                    if child.lower_ in PLACE_PREPS and child.dep_ == "prep":
                        # "a summit in Beijing": a place the event's own word puts it in
                        # is its place, even if the actor coder took it for a party.
                        own = depth == 0 and child.lower_ in _LOCATIVE
                        for loc in self._under_prep(child, site):
                            if own or self._usable(loc, site):
                                found.append(loc)
                    if child.dep_ in _GOVERNING_DEPS:
                        below.append(child)
            level = below
        where = self._where_clause(site.head)
        if where is not None and self._usable(where, site):
            found.append(where)
        usable = sorted(
            (loc for loc in found if self._in_sentence_span(loc, site)),
            key=lambda loc: loc.span.start if loc.span else 0,
        )
        known = [loc for loc in usable if loc.country is not None]
        best = known or usable
        return best[0] if best else None

    def _where_clause(self, head: Token) -> Location | None:
        """The place a "where" clause hangs from: "in the West Bank, where police shot ..."."""
        node = head
        for _ in range(_PHRASE_DEPTH):
            if node.dep_ == "relcl":
                if any(c.lower_ == "where" for c in node.children):
                    return self.roots.get(node.head.i)
                return None
            if node.head.i == node.i:
                return None
            node = node.head
        return None

    def _under_prep(self, prep: Token, site: EventSite) -> list[Location]:
        """Places a place preposition takes: its object, or the place that object is of.

        "in Geneva"; "near the border town of Spin Boldak", "in the city of
        Mosul", "in the capital, Kabul" (the named place the noun stands for);
        "at the State Department", "in KABUL" (a name the tagger did not call a
        place but the gazetteer knows); "in the capital" alone.
        """
        out: list[Location] = []
        for pobj in prep.children:
            if pobj.dep_ != "pobj":
                continue
            if pobj.i in self.roots:
                out.append(self.roots[pobj.i])
                continue
            named = self._named_site(pobj)
            if named is not None:
                out.append(named)
                continue
            for child in pobj.children:
                target = child
                if child.dep_ == "prep" and child.lower_ == "of":
                    target = next((c for c in child.children if c.dep_ == "pobj"), child)
                elif child.dep_ != "appos":
                    continue
                named = self.roots.get(target.i) or self._named_site(target)
                if named is not None:
                    out.append(named)
            if not out and pobj.lemma_.lower() == "capital":
                capital = self._capital(pobj, site)
                if capital is not None:
                    out.append(capital)
        return out

    def _named_site(self, noun: Token) -> Location | None:
        """The entity ``noun`` heads, when the gazetteer knows its name as a place."""
        doc = self.doc
        if noun.ent_type_ in ("PERSON", "NORP", "DATE", "TIME", "CARDINAL"):
            return None
        if not noun.ent_type_:
            # A name the tagger missed altogether: "a summit in Beijing by Tony Blair".
            if noun.pos_ != "PROPN":
                return None
            start = min([noun.i] + [c.i for c in noun.lefts if c.dep_ == "compound"])
            words = doc[start : noun.i + 1]
        else:
            start, end = noun.i, noun.i + 1
            while start > 0 and doc[start].ent_iob_ == "I":
                start -= 1
            while end < len(doc) and doc[end].ent_iob_ == "I":
                end += 1
            words = doc[start:end]
        place = self.gazetteer.resolve(words.text)
        if place is None:
            return None
        return location_of(words.text, place, words.start_char, words.end_char)

    def _capital(self, noun: Token, site: EventSite) -> Location | None:
        """For "in the capital": the capital of the one country the sentence or actors name."""
        countries = {
            self.roots[i].country for i in self._nearest(site) if self.roots[i].country is not None
        }
        if not countries:
            countries = {a.country for a in site.actors if a.country is not None}
        if not countries and self.dateline is not None and self.dateline.country is not None:
            countries = {self.dateline.country}
        if len(countries) != 1:
            return None
        place = self.gazetteer.capital(str(countries.pop()))
        if place is None:
            return None
        words = self.doc[noun.left_edge.i : noun.i + 1]
        return location_of(words.text, place, words.start_char, words.end_char)

    def _nearest(self, site: EventSite) -> list[int]:
        """Heads of the places of the sentence, a handful on each side, nearest first."""
        order = self._order
        middle = bisect_left(order, site.head.i)
        low = bisect_left(order, site.sentence_start)
        high = bisect_left(order, site.sentence_end)
        window = order[max(low, middle - _NEAREST) : min(high, middle + _NEAREST)]
        return sorted(window, key=lambda i: abs(i - site.head.i))

    def _in_sentence(self, site: EventSite, *, own_clause: bool) -> Location | None:
        for i in self._nearest(site):
            loc = self.roots[i]
            prep = place_prep(self.doc[i])
            clause = _clause_of(prep) if prep is not None else None
            if clause is None or not self._usable(loc, site):
                continue
            if clause.pos_ not in ("VERB", "AUX"):
                return loc  # a sentence without a verb above the phrase ("Talks in Geneva ...")
            if governs(clause, site.head) if own_clause else clause.dep_ not in _RELATIVE:
                return loc
        return None

    def _actor_ground(self, site: EventSite) -> Location | None:
        """The place of the actor on whose ground a material event happens."""
        side = VISITS.get(site.code, 0 if site.root in SOURCE_GROUND_ROOTS else 1)
        if side >= len(site.actors):
            return None
        actor = site.actors[side]
        doc = self.doc
        span = doc.char_span(actor.span.start, actor.span.end, alignment_mode="expand")
        if span is None or len(span) == 0:
            return None
        loc = self.roots.get(span.root.i)
        if loc is not None and loc.country is not None and norm(loc.text) == norm(span.text):
            return loc
        # "San Jose police": the city may qualify the actor's word from outside its span.
        words = [*range(span.start, span.end)]
        words += [c.i for c in span.root.children if c.dep_ in _MODIFIER_DEPS]
        for i in words:
            inner = self.roots.get(i)
            if inner is not None and inner.latitude is not None:
                return inner
        return None

    def _lead_place(self, lead: Sequence[tuple[int, int]]) -> Location | None:
        """The first known place the story's lead puts something in: its setting."""
        for start, end in lead[:LEAD_SENTENCES]:
            for i in self._order[bisect_left(self._order, start) : bisect_left(self._order, end)]:
                loc = self.roots[i]
                if loc.country is not None and place_prep(self.doc[i]) is not None:
                    return loc
        return None
