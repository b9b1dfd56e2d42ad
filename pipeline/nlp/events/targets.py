"""Whom an event is done to: objects, the pattern's preposition, addressees, clauses.

:class:`Targets` finds the target of an event frame (and, through
:class:`~pipeline.nlp.events.arguments.Arguments`, its source), in the order
CAMEO coders look: the pattern's own preposition, the direct object, the
indirect object, a prepositional target of the verb, where aid or force lands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from spacy.tokens import Token

from pipeline.nlp.events.arguments import RELATIVE, Arguments
from pipeline.nlp.events.lexicon import Lexicon, root_of
from pipeline.nlp.events.noun_roles import NounRoles, all_own, objects_of, own_possession
from pipeline.nlp.events.patterns import is_passive, lemma
from pipeline.nlp.events.state import Arg, DocState, Frame, Mention, same_actor
from pipeline.nlp.events.syntax import (
    for_infinitive,
    subtree_outside_clauses,
)

_TARGET_PREPS = (
    "with",
    "at",
    "against",
    "to",
    "toward",
    "towards",
    "on",
    "upon",
    "into",
    "over",
    "near",
    "between",
    "from",
    "about",
)
_SPEECH_PREPS = ("to", "with")
_PLACE_PREPS = ("in", "inside", "across", "throughout")


class Targets(NounRoles):
    """Finds an event frame's source and target actors."""

    def __init__(self, lexicon: Lexicon, args: Arguments) -> None:
        self.lexicon = lexicon
        self.args = args

    def verb_actors(
        self, state: DocState, frame: Frame, head: Token
    ) -> tuple[Arg | None, Arg | None]:
        """Source and target of a verb frame (embedded and addressed frames included)."""
        doc = state.doc
        source = self.args.subject(state, head)
        passive_target: Arg | None = None
        if is_passive(head):
            source, passive_target = self._passive_roles(state, frame, head, source)
        target: Arg | None = None
        if "addressee_of" in frame.extra:
            target = self.args.addressee(state, head)
            addressed = any(c.dep_ in ("dobj", "dative", "obj", "iobj") for c in head.children)
            if (target is None or not target.mentions) and not addressed:
                inner = doc[frame.extra["fallback_target_from"]]
                if inner.dep_ == "ccomp" or for_infinitive(inner):
                    # "demanded that Israel withdraw": the clause's subject is addressed.
                    target = (
                        self.args.passive_subject(state, inner)
                        if is_passive(inner)
                        else self.args.subject(state, inner)
                    )
                if target is None or not target.mentions:
                    target = self.target(state, frame, inner)
        elif "urged_clause" in frame.extra:
            target = self._urged(state, frame, doc[frame.extra["urged_clause"]])
        elif "target_from" in frame.extra:
            inner = doc[frame.extra["target_from"]]
            if source is None and passive_target is not None:
                # "X is expected to meet Y": the raised subject is the source; "X is
                # expected to be released" by whoever releases X.
                source = self.args.subject(state, inner) if is_passive(inner) else passive_target
            target = self.target(state, frame, inner)
            if (target is None or not target.mentions) and is_passive(inner):
                target = self.args.passive_subject(state, inner) or passive_target
        else:
            avoid = source.mentions if source is not None else ()
            target = passive_target or self.target(state, frame, head, avoid)
        if target is None or not target.mentions:
            target = self._last_resort(state, frame, head, source)
        if frame.inner is not None:
            target = self._denied_target(state, frame.inner, target)
        if source is not None and target is not None:
            source_tokens = {m.start for m in source.mentions}
            target.mentions = [m for m in target.mentions if m.start not in source_tokens]
            if not target.mentions:
                target = None
        return source, target

    def _passive_roles(
        self, state: DocState, frame: Frame, head: Token, source: Arg | None
    ) -> tuple[Arg | None, Arg | None]:
        """Source and target of a passive verb: its agent and its grammatical subject."""
        patient = self.args.passive_subject(state, head)
        if source is None and root_of(frame.code) in self.lexicon.authority_roots:
            # "Americans detained in China": by China's authorities.
            source = self.args.located_agent(state, head)
        if source is None and root_of(frame.code) in self.lexicon.solo_roots:
            # "South Korean troops were put on alert": the forces that take a
            # posture are its actor, and it has no target of its own.
            return patient, None
        return source, patient

    def _last_resort(
        self, state: DocState, frame: Frame, head: Token, source: Arg | None
    ) -> Arg | None:
        """A target when the verb's phrase names none: a threat's act, then a clause's subject."""
        if "open_complement" in frame.extra:
            # "threatened to spy on New Zealand"
            found = self.target(state, frame, state.doc[frame.extra["open_complement"]])
            if found is not None and found.mentions:
                return found
        return self.clause_subject(state, head, source)

    def _denied_target(self, state: DocState, inner: Frame, target: Arg | None) -> Arg | None:
        """The target of a denial: what the denied act was done to, unless one is named.

        "Egypt denied that it had attacked Israel" is about Israel, and so is "Egypt
        denied that its troops had attacked Israel": the denier's own troops are
        not whom it addresses.
        """
        named = target is not None and bool(target.mentions)
        if target is not None and named:
            if target.token is None or not own_possession(state.doc[target.token]):
                return target
        denied = self.target(state, inner, state.doc[inner.head])
        if denied is not None and denied.mentions:
            return denied
        return target if named else denied

    def _urged(self, state: DocState, frame: Frame, clause: Token) -> Arg | None:
        """Whom "said Y should withdraw" appeals to: Y.

        For "Z should be suspended from the AU", the one the clause names as
        acting, else Z.
        """
        target = None if is_passive(clause) else self.args.subject(state, clause)
        if target is None or not target.mentions:
            target = self.target(state, frame, clause)
        if (target is None or not target.mentions) and is_passive(clause):
            target = self.args.passive_subject(state, clause)
        return target

    def target(
        self, state: DocState, frame: Frame, verb: Token, avoid: Sequence[Mention] = ()
    ) -> Arg | None:
        """The target of ``frame`` anchored on ``verb``, in the order CAMEO coders look.

        The audience of a statement is not its target: "told reporters that X ...",
        "said to the AP", "told the BBC": media told something are left out, and
        the statement's target is then whom it is about. A place that names only the
        source's own side (``avoid``) is passed over for the next place ("welcomed
        the president on a visit to London": the president, not Britain).
        """
        if frame.kind == "speech" or self.lexicon.in_class("speech", lemma(verb)):
            hidden = self._audience(state, verb)
            if hidden:
                kept = {i: m for i, m in state.by_token.items() if i not in hidden}
                state = replace(state, by_token=kept)
        found = self._search(state, frame, verb)
        if found is None or not avoid or not all_own(found, avoid):
            return found
        # Rare, so the copy of the mentions without the own side is made only here.
        kept = {
            i: m
            for i, m in state.by_token.items()
            if not any(same_actor(m.ref, a.ref) for a in avoid)
        }
        return self._search(replace(state, by_token=kept), frame, verb)

    def _audience(self, state: DocState, verb: Token) -> set[int]:
        """Tokens of media actors a speech verb addresses (its object, or its to/with object)."""
        places = [c for c in verb.children if c.dep_ in ("dobj", "dative", "iobj", "obj")]
        for prep in verb.children:
            if prep.dep_ == "prep" and prep.lower_ in _SPEECH_PREPS:
                places.extend(c for c in prep.children if c.dep_ == "pobj")
        hidden: set[int] = set()
        for place in places:
            for tok in place.subtree:
                mention = state.by_token.get(tok.i)
                if mention is not None and mention.ref.agent == "MED":
                    hidden.update(range(mention.start, mention.end))
        return hidden

    def _search(self, state: DocState, frame: Frame, verb: Token) -> Arg | None:
        """Try each place a target can be, in order; the first that names an actor wins."""
        found = self._pattern_slot(state, frame) or self._pattern_prep(state, frame, verb)
        if found is not None:
            return found
        found, deferred = self._direct_object(state, frame, verb)
        found = (
            found
            or self._indirect_object(state, verb)
            or self._verb_prep(state, frame, verb)
            or self._matched_noun(state, frame, verb)
        )
        if found is not None:
            return found
        if deferred is not None:
            # "expelled the Dutch ambassador": the event noun's own actor, last of all.
            return Arg(self.args.np_actors(state, deferred), "object", deferred.i)
        return (
            self._deep_object(state, frame, verb)
            or self._landing_place(state, frame, verb)
            or self._particle_object(state, verb)
        )

    def _pattern_slot(self, state: DocState, frame: Frame) -> Arg | None:
        """0. Where a dictionary pattern puts the target (TABARI's ``+``, ``(WITH +)``)."""
        token = frame.extra.get("pattern_target")
        if token is None:
            return None
        mentions = self.args.np_actors(state, state.doc[token])
        return Arg(mentions, "pattern", token) if mentions else None

    def _pattern_prep(self, state: DocState, frame: Frame, verb: Token) -> Arg | None:
        """1. The object of a preposition the pattern names ("fire ... at", "meet with")."""
        matched = set(frame.matched)
        for i in frame.matched:
            tok = state.doc[i]
            if tok.dep_ not in ("prep", "dative", "agent") or tok.i == verb.i:
                continue
            for pobj in tok.children:
                if pobj.dep_ != "pobj":
                    continue
                if pobj.i not in matched:
                    mentions = self.args.np_actors(state, pobj)
                    if mentions:
                        return Arg(mentions, "pattern", pobj.i)
                found = self.args.nested(state, pobj, 1)
                if found is not None:
                    return found
        return None

    def _direct_object(
        self, state: DocState, frame: Frame, verb: Token
    ) -> tuple[Arg | None, Token | None]:
        """2. The direct object, or what its event noun is about; and a deferred event noun."""
        if frame.pattern is not None and frame.pattern.topic:
            return None, None
        matched = set(frame.matched)
        deferred: Token | None = None
        for child in verb.children:
            if child.dep_ not in ("dobj", "obj", "attr", "oprd"):
                continue
            if child.i in matched:
                found = self._event_object(state, child)
                if found is not None:
                    return found, None
                if child.i in state.by_token:
                    deferred = child
                continue
            if child.lower_ in RELATIVE and verb.dep_ == "relcl":
                # "the bank, which the United States accuses of ...": the noun it stands for
                child = verb.head
            mentions = self.args.np_actors(state, child)
            if mentions:
                return Arg(mentions, "object", child.i), None
            if frame.kind == "speech":
                continue  # "revealed details of X" is not addressed to X
            found = self.args.nested(state, child, 0)
            if found is not None:
                return found, None
        return None, deferred

    def _event_object(self, state: DocState, noun: Token, depth: int = 0) -> Arg | None:
        """The target named around a matched event noun.

        Its modifiers are not ("raised U.S. concerns over China"), a phrase after it
        may be ("sanctions against X"), and so is whose it is ("rejected Libya's
        proposal").
        """
        found = self.args.nested(state, noun, 0, event=True)
        if found is not None:
            return found
        for poss in noun.children:
            if poss.dep_ == "poss" and poss.pos_ != "PRON":
                mentions = self.args.np_actors(state, poss)
                if mentions:
                    return Arg(mentions, "possessive", poss.i)
        # "froze the assets of Iran", "curtailed the movements of the UN mission"
        owners = self.args.of_actors(state, noun, 0)
        if owners:
            return Arg(owners, "possessive", noun.i)
        if lemma(noun) in self.lexicon.people_nouns:
            # "released Ukrainian prisoners": whose people they are
            for child in noun.children:
                if child.dep_ in ("amod", "compound", "nmod") and child.i in state.by_token:
                    return Arg([state.by_token[child.i]], "object", child.i)
        for prep in noun.children:
            # "acknowledged its role in the attack on Mexico": the act it names
            if prep.dep_ != "prep" or prep.lower_ not in ("in", "for") or depth > 1:
                continue
            for pobj in prep.children:
                if pobj.dep_ == "pobj" and lemma(pobj) in self.lexicon.nouns:
                    found = self._event_object(state, pobj, depth + 1)
                    if found is not None:
                        return found
        return None

    def _indirect_object(self, state: DocState, verb: Token) -> Arg | None:
        """3. The indirect object ("gave Israel arms", "told Blinken that")."""
        for child in verb.children:
            if child.dep_ not in ("dative", "iobj"):
                continue
            mentions = self.args.np_actors(state, child)
            if not mentions:
                for pobj in child.children:
                    if pobj.dep_ == "pobj":
                        mentions = self.args.np_actors(state, pobj)
            if mentions:
                return Arg(mentions, "object", child.i)
        return None

    def _verb_prep(self, state: DocState, frame: Frame, verb: Token) -> Arg | None:
        """4. A prepositional target of the verb itself (a statement is made *to* someone)."""
        for prep in _SPEECH_PREPS if frame.kind == "speech" else _TARGET_PREPS:
            for pobj in objects_of(verb, (prep,)):
                mentions = self.args.np_actors(state, pobj)
                if mentions:
                    return Arg(mentions, "prep", pobj.i)
                found = self.args.nested(state, pobj, 1)
                if found is not None:
                    return found
        return None

    def _matched_noun(self, state: DocState, frame: Frame, verb: Token) -> Arg | None:
        """4b. Who takes part in an event noun the pattern took ("took part in talks with X")."""
        for i in frame.matched:
            tok = state.doc[i]
            if i != verb.i and tok.dep_ == "pobj" and lemma(tok) in self.lexicon.nouns:
                found = self._event_object(state, tok)
                if found is not None:
                    return found
        return None

    def _deep_object(self, state: DocState, frame: Frame, verb: Token) -> Arg | None:
        """5. Anywhere in the object phrase ("abandoned efforts to stop an anti-X parade")."""
        if frame.kind == "speech" or (frame.pattern is not None and frame.pattern.topic):
            return None
        for child in verb.children:
            if child.dep_ in ("dobj", "obj") and child.i not in frame.matched:
                for tok in subtree_outside_clauses(child):
                    if tok.i != child.i and tok.i in state.by_token:
                        return Arg([state.by_token[tok.i]], "deep", tok.i)
        return None

    def _landing_place(self, state: DocState, frame: Frame, verb: Token) -> Arg | None:
        """6. Where aid or force lands ("sent aid to victims in X", "shelled positions in X")."""
        if not any(frame.code.startswith(p) for p in self.lexicon.place_target_roots):
            return None
        # The verb's own place, or that of the act it names ("launched an offensive
        # inside Georgia": the place hangs on the matched noun).
        heads = [verb] + [state.doc[i] for i in frame.matched if i != verb.i]
        for head in heads:
            for pobj in objects_of(head, _PLACE_PREPS):
                mentions = self.args.np_actors(state, pobj)
                if mentions:
                    return Arg(mentions, "place", pobj.i)
        return None

    def _particle_object(self, state: DocState, verb: Token) -> Arg | None:
        """7. A particle verb's object sits under the particle ("crack down on X")."""
        for child in verb.children:
            if child.dep_ != "prt":
                continue
            for grand in child.children:
                if grand.dep_ != "prep":
                    continue
                for pobj in grand.children:
                    if pobj.dep_ == "pobj":
                        mentions = self.args.np_actors(state, pobj)
                        if mentions:
                            return Arg(mentions, "prep", pobj.i)
        return None

    def clause_subject(self, state: DocState, verb: Token, source: Arg | None) -> Arg | None:
        """For a bare statement, the subject of the reported clause ("noted that Y ...")."""
        own = {m.start for m in source.mentions} if source is not None else set()
        for child in verb.children:
            # Only a complement that follows: "..., an official said" addresses no one.
            if child.dep_ == "ccomp" and child.i > verb.i:
                for grand in child.children:
                    if grand.dep_ == "nsubj" and grand.pos_ != "PRON":
                        mentions = [
                            m for m in self.args.np_actors(state, grand) if m.start not in own
                        ]
                        if mentions:
                            return Arg(mentions, "clause", grand.i)
        return self._purpose_object(state, verb, own)

    def _purpose_object(self, state: DocState, verb: Token, own: set[int]) -> Arg | None:
        """Whom the act is for, by its purpose clause ("lodged protests to ask China ...")."""
        # The parser hangs it on the verb or on the object ("lodged a protest to ask").
        clauses = [c for c in verb.children if c.dep_ == "advcl"] + [
            g for c in verb.children if c.dep_ == "dobj" for g in c.children if g.dep_ == "acl"
        ]
        for child in clauses:
            if child.i < verb.i:
                continue
            if not any(c.dep_ == "aux" and c.lower_ == "to" for c in child.children):
                continue
            for obj in child.children:
                if obj.dep_ in ("dobj", "dative"):
                    mentions = [m for m in self.args.np_actors(state, obj) if m.start not in own]
                    if mentions:
                        return Arg(mentions, "purpose", obj.i)
        return None
