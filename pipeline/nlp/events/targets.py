"""Whom an event is done to: objects, the pattern's preposition, addressees, clauses.

:class:`Targets` finds the target of an event frame (and, through
:class:`~pipeline.nlp.events.arguments.Arguments`, its source), in the order
CAMEO coders look: the pattern's own preposition, the direct object, the
indirect object, a prepositional target of the verb, where aid or force lands.
"""

from __future__ import annotations

from dataclasses import replace

from spacy.tokens import Token

from pipeline.nlp.events.arguments import Arguments
from pipeline.nlp.events.lexicon import Lexicon, root_of
from pipeline.nlp.events.patterns import is_passive, lemma
from pipeline.nlp.events.state import Arg, DocState, Frame
from pipeline.nlp.events.syntax import governing_verb, subtree_outside_clauses

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


class Targets:
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
            passive_target = self.args.passive_subject(state, head)
        target: Arg | None = None
        if "addressee_of" in frame.extra:
            target = self.args.addressee(state, head)
            addressed = any(c.dep_ in ("dobj", "dative", "obj", "iobj") for c in head.children)
            if (target is None or not target.mentions) and not addressed:
                inner = doc[frame.extra["fallback_target_from"]]
                if inner.dep_ == "ccomp":
                    # "demanded that Israel withdraw": the clause's subject is addressed.
                    target = (
                        self.args.passive_subject(state, inner)
                        if is_passive(inner)
                        else self.args.subject(state, inner)
                    )
                if target is None or not target.mentions:
                    target = self.target(state, frame, inner)
        elif "target_from" in frame.extra:
            if source is None and passive_target is not None:
                # "X is expected to meet Y": the raised subject is the source.
                source = passive_target
            inner = doc[frame.extra["target_from"]]
            target = self.target(state, frame, inner)
            if (target is None or not target.mentions) and is_passive(inner):
                target = self.args.passive_subject(state, inner)
        else:
            target = passive_target or self.target(state, frame, head)
        if target is None or not target.mentions:
            target = self.clause_subject(state, head, source)
        if (target is None or not target.mentions) and frame.inner is not None:
            # "Egypt denied that it had attacked Israel": the denial is about Israel.
            target = self.target(state, frame.inner, doc[frame.inner.head])
        if source is not None and target is not None:
            source_tokens = {m.start for m in source.mentions}
            target.mentions = [m for m in target.mentions if m.start not in source_tokens]
            if not target.mentions:
                target = None
        return source, target

    def target(self, state: DocState, frame: Frame, verb: Token) -> Arg | None:
        """The target of ``frame`` anchored on ``verb``, in the order CAMEO coders look.

        The audience of a statement is not its target: "told reporters that X ...",
        "said to the AP", "told the BBC": media told something are left out, and
        the statement's target is then whom it is about.
        """
        if frame.kind == "speech" or self.lexicon.in_class("speech", lemma(verb)):
            hidden = self._audience(state, verb)
            if hidden:
                kept = {i: m for i, m in state.by_token.items() if i not in hidden}
                state = replace(state, by_token=kept)
        return self._search(state, frame, verb)

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
        doc = state.doc
        matched = set(frame.matched)
        # 1. the object of a preposition the pattern names ("fire ... at", "meet with")
        for i in frame.matched:
            tok = doc[i]
            if tok.dep_ in ("prep", "dative", "agent") and tok.i != verb.i:
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
        # 2. the direct object (or what its event noun is about)
        deferred: Token | None = None
        topical = frame.pattern is not None and frame.pattern.topic
        for child in verb.children:
            if child.dep_ in ("dobj", "obj", "attr", "oprd") and not topical:
                if child.i in matched:
                    # An event noun's modifiers are not its target ("raised U.S. concerns
                    # over China"), but a phrase after it may be ("sanctions against X").
                    found = self.args.nested(state, child, 0, event=True)
                    if found is not None:
                        return found
                    # ... except whose it is: "rejected Libya's proposal".
                    for poss in child.children:
                        if poss.dep_ == "poss" and poss.pos_ != "PRON":
                            mentions = self.args.np_actors(state, poss)
                            if mentions:
                                return Arg(mentions, "possessive", poss.i)
                    if child.i in state.by_token:
                        deferred = child  # "expelled the Dutch ambassador"
                    continue
                mentions = self.args.np_actors(state, child)
                if mentions:
                    return Arg(mentions, "object", child.i)
                if frame.kind == "speech":
                    continue  # "revealed details of X" is not addressed to X
                found = self.args.nested(state, child, 0)
                if found is not None:
                    return found
        # 3. the indirect object ("gave Israel arms", "told Blinken that")
        for child in verb.children:
            if child.dep_ in ("dative", "iobj"):
                mentions = self.args.np_actors(state, child)
                if not mentions:
                    for pobj in child.children:
                        if pobj.dep_ == "pobj":
                            mentions = self.args.np_actors(state, pobj)
                if mentions:
                    return Arg(mentions, "object", child.i)
        # 4. a prepositional target of the verb itself (a statement is made *to* someone)
        for prep in _SPEECH_PREPS if frame.kind == "speech" else _TARGET_PREPS:
            for child in verb.children:
                if child.dep_ == "prep" and child.lower_ == prep:
                    for pobj in child.children:
                        if pobj.dep_ == "pobj":
                            mentions = self.args.np_actors(state, pobj)
                            if mentions:
                                return Arg(mentions, "prep", pobj.i)
                            found = self.args.nested(state, pobj, 1)
                            if found is not None:
                                return found
        if deferred is not None:
            return Arg(self.args.np_actors(state, deferred), "object", deferred.i)
        # 5. anywhere in the object phrase ("abandoned efforts to stop an anti-X parade")
        for child in verb.children:
            if (
                child.dep_ in ("dobj", "obj")
                and child.i not in matched
                and frame.kind != "speech"
                and not topical
            ):
                for tok in subtree_outside_clauses(child):
                    if tok.i != child.i and tok.i in state.by_token:
                        return Arg([state.by_token[tok.i]], "deep", tok.i)
        # 6. where aid or force lands is its target ("sent aid to victims in X",
        # "shelled positions in X")
        if root_of(frame.code) in self.lexicon.place_target_roots:
            for child in verb.children:
                if child.dep_ == "prep" and child.lower_ in (
                    "in",
                    "inside",
                    "across",
                    "throughout",
                ):
                    for pobj in child.children:
                        if pobj.dep_ == "pobj":
                            mentions = self.args.np_actors(state, pobj)
                            if mentions:
                                return Arg(mentions, "place", pobj.i)
        # 7. a particle verb's object sits under the particle ("crack down on X")
        for child in verb.children:
            if child.dep_ == "prt":
                for grand in child.children:
                    if grand.dep_ == "prep":
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
        return None

    def noun_actors(self, state: DocState, noun: Token) -> tuple[Arg | None, Arg | None]:
        """Source and target of an event noun: its possessor or by-phrase, its object."""
        source: Arg | None = None
        target: Arg | None = None
        for child in noun.children:
            if child.dep_ == "poss":
                mentions = self.args.np_actors(state, child)
                if mentions:
                    source = Arg(mentions, "possessive", child.i)
        for child in noun.children:
            if child.dep_ != "prep":
                continue
            pobjs = [c for c in child.children if c.dep_ == "pobj"]
            if not pobjs:
                continue
            mentions = self.args.np_actors(state, pobjs[0])
            if not mentions:
                continue
            word = child.lower_
            if word == "between" and len(mentions) >= 2 and source is None:
                source = Arg(mentions[:1], "between", pobjs[0].i)
                target = Arg(mentions[1:], "between", pobjs[0].i)
            elif word == "by" and source is None:
                source = Arg(mentions, "agent", pobjs[0].i)
            elif word in ("to", "with", "against", "on", "in", "at") and target is None:
                target = Arg(mentions, "prep", pobjs[0].i)
        if source is None:
            governor = governing_verb(noun)
            if governor is not None and lemma(governor) in self.lexicon.light_verbs:
                source = self.args.subject(state, governor)
        if source is None or target is None:
            return None, None
        return source, target
