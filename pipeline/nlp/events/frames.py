"""Event frames: a verb or event noun matched to a pattern, embedded, negated, modal.

:class:`Frames` turns a predicate into an event candidate: the lexicon's best
pattern, the code rewrites of the verb classes that embed another event
(intent, appeal, demand, refusal, attempt, failure, denial), negation and
modality.
"""

from __future__ import annotations

from spacy.tokens import Token

from pipeline.nlp.events.lexicon import Lexicon, root_of
from pipeline.nlp.events.patterns import PatternMatch, lemma, match
from pipeline.nlp.events.state import DocState, Frame
from pipeline.nlp.events.syntax import (
    complement,
    governing_verb,
    has_future_marker,
    in_conditional,
    indirect_question,
    infinitive_governors,
    negated,
    own_intent,
    predicative,
    proposed_act,
)
from pipeline.nlp.events.targets import Targets


class Frames:
    """Builds the event frame of each predicate of a sentence."""

    def __init__(self, lexicon: Lexicon, targets: Targets) -> None:
        self.lexicon = lexicon
        self.targets = targets

    def is_predicate(self, tok: Token) -> bool:
        """True for a token that can carry an event: a verb, or an adjective with a complement."""
        if tok.pos_ == "VERB" or tok.tag_.startswith("VB"):
            return tok.pos_ != "AUX" or tok.dep_ not in ("aux", "auxpass")
        if tok.pos_ == "ADJ" and any(c.dep_ == "xcomp" for c in tok.children):
            return True
        if tok.pos_ == "ADJ" and tok.dep_ == "acomp":
            # "X is unhappy with Y": the adjective's phrase is the predicate
            return any(c.dep_ == "prep" for c in tok.children)
        # A verb the tagger took for a noun: it has a subject of its own and heads
        # the clause ("Canada and Peru plan to meet", "X and Y vow to fight").
        return (
            tok.pos_ == "NOUN"
            and tok.dep_ in ("ROOT", "ccomp", "conj")
            and any(c.dep_ == "nsubj" for c in tok.children)
            and any(c.dep_ in ("xcomp", "dobj", "ccomp") for c in tok.children)
        )

    # ----------------------------------------------------------------- frames

    def _match(self, tok: Token, table: str = "verbs") -> PatternMatch | None:
        index = self.lexicon.verbs if table == "verbs" else self.lexicon.nouns
        return match(tok, index)

    def frame_for(self, state: DocState, tok: Token, frames: dict[int, Frame]) -> Frame | None:
        """The event frame of predicate ``tok``; ``frames`` holds those of the deeper predicates.

        An embedding verb ("plans to", "urged ... to", "refused to") takes over the
        frame of its complement and rewrites its code; a denial consumes the denied
        event; negation and modality apply last.
        """
        lex = self.lexicon
        head_lemma = lemma(tok)
        if self._question(tok, head_lemma, frames):
            return None
        own = self._match(tok)
        if own is not None and lex.in_class("judgement", head_lemma) and predicative(tok):
            own = None  # "considers Iran a threat" is an opinion, not an option weighed
        frame: Frame | None = None
        if own is not None and not own.null:
            pattern = own.pattern
            kind = "speech" if lex.in_class("speech", head_lemma) and own.code == "010" else "verb"
            frame = Frame(
                head=tok.i,
                code=own.code,
                pattern=pattern,
                matched=(tok.i, *own.tokens),
                kind=kind,
                symmetric=pattern.symmetric,
            )
            _note_actor_slots(frame, own)
        inner = self._embedded(tok, head_lemma, frames)
        if inner is None and frame is not None and root_of(frame.code) in lex.open_complement_roots:
            # "threatened to spy on New Zealand": an uncoded complement names the target
            # of a threat when the verb's own phrase names none.
            comp = next((c for c in tok.children if c.dep_ == "xcomp"), None)
            if comp is not None and comp.i not in frames:
                frame.extra["open_complement"] = comp.i
        # Refusing to say something declines comment ("refused to comment on X": 011).
        speaking = (
            inner is not None and inner.kind == "speech" and not lex.in_class("refusal", head_lemma)
        )
        if inner is not None and not speaking and not inner.negated:
            for cls in ("failure", "cessation", "refusal", "attempt", "appeal", "demand", "intent"):
                if not lex.in_class(cls, head_lemma):
                    continue
                combined = self._embed(tok, cls, inner, frame)
                inner.consumed = True
                frame = combined
                break
        if frame is not None and frame.kind == "speech":
            frame = self._urged_in_speech(tok, frames) or frame
        if lex.in_class("denial", head_lemma):
            self._deny(tok, frame, frames)
        if frame is None:
            return None
        if lex.in_class("speech", head_lemma):
            self._accusation(state, tok, frame, frames)
            if indirect_question(tok):
                # "would not say whether it would meet Y": what is asked is not said
                _consume_clauses(tok, frames)
        self._apply_modality(tok, frame)
        return frame

    @staticmethod
    def _deny(tok: Token, frame: Frame | None, frames: dict[int, Frame]) -> None:
        """Consume the event a denial denies, keeping it as the denial's inner frame.

        "X denied that Y attacked Z": the attack is not coded, but what it was done
        to is the denial's target when nothing else is.
        """
        for child in tok.children:
            # "denied that it had attacked", "denies ever travelling to Iran", "denied
            # reports that its troops had attacked"
            gerund = child.dep_ == "xcomp" or (child.dep_ == "dobj" and child.tag_ == "VBG")
            content = child.dep_ == "dobj" and any(
                c.dep_ in ("acl", "ccomp") for c in child.children
            )
            if child.dep_ == "ccomp" or gerund or content:
                for inner_tok in child.subtree:
                    if inner_tok.i in frames:
                        frames[inner_tok.i].consumed = True
                        if frame is not None and frame.inner is None:
                            frame.inner = frames[inner_tok.i]

    def _question(self, tok: Token, head_lemma: str, frames: dict[int, Frame]) -> bool:
        """Whether ``tok`` asks a question: then it is no appeal, nor the act it asks about.

        "asked whether Mexico would attend the summit", "asked why he had not gone".
        """
        if not (self.lexicon.in_class("appeal", head_lemma) and indirect_question(tok)):
            return False
        _consume_clauses(tok, frames)
        return True

    def _embedded(self, tok: Token, head_lemma: str, frames: dict[int, Frame]) -> Frame | None:
        """The frame of the complement ``tok`` embeds, if it takes it over."""
        lex = self.lexicon
        clausal = lex.in_class("demand", head_lemma) or lex.in_class("appeal", head_lemma)
        comp = complement(tok, clausal, lex.in_class("desire", head_lemma))
        if comp is None and lex.in_class("refusal", head_lemma):
            # "rejected a proposal to hold talks" refuses the talks (125)
            comp = proposed_act(tok, lex.proposal_nouns)
        if comp is None or self._courtesy(tok, head_lemma, comp):
            # "We would like to thank Japan": the thanks is given, not intended.
            return None
        return frames.get(comp.i)

    def _courtesy(self, tok: Token, head_lemma: str, comp: Token) -> bool:
        """Whether ``tok`` only softens the act it embeds ("would like to thank", "wish to")."""
        lex = self.lexicon
        if not lex.in_class("courtesy", head_lemma) or not lex.in_class(
            "performative", lemma(comp)
        ):
            return False
        # "would like to": the courtesy of "like" needs its "would"; "wish to" is one.
        if head_lemma == "like":
            return any(c.dep_ == "aux" and c.lower_ in ("would", "'d") for c in tok.children)
        return True

    def _accusation(
        self, state: DocState, tok: Token, frame: Frame, frames: dict[int, Frame]
    ) -> None:
        """A speaker reporting that someone used force, on no one named, accuses them.

        "Israel said Hamas attacked": ISR -> Hamas, 112, as the reference coders'
        transformation ``a (b . ATTACK) SAY = a b 112`` has it. With a target the
        reported event is coded instead ("... attacked Egypt": Hamas -> EGY).
        """
        for child in tok.children:
            inner = frames.get(child.i) if child.dep_ == "ccomp" and child.i > tok.i else None
            if inner is None or inner.kind != "verb" or inner.negated:
                continue
            code = self.lexicon.transform("accusation").apply(inner.code)
            if not code:
                continue
            target = self.targets.target(state, inner, child)
            subject = self.targets.args.subject(state, child)
            if (target is None or not target.mentions) and subject and subject.mentions:
                if subject.how == "direct":
                    frame.code = code
                    frame.kind = "verb"
                    frame.inner = inner
                    inner.consumed = True
                    return

    def _urged_in_speech(self, tok: Token, frames: dict[int, Frame]) -> Frame | None:
        """An appeal by the speaker to do what it says someone should do ("X said Y should go").

        The reported clause with ``should``/``must``/``ought`` is not an event
        of its own; the speaker's appeal takes its code through the appeal
        transform (020 when it has none) and is addressed to the clause's subject.
        """
        for child in tok.children:
            inner = frames.get(child.i) if child.dep_ == "ccomp" else None
            if inner is None or inner.negated or inner.kind == "speech":
                continue
            auxes = {lemma(c) for c in child.children if c.dep_ in ("aux", "auxpass")}
            if not auxes & self.lexicon.appeal_aux:
                continue
            inner.consumed = True
            frame = Frame(
                head=tok.i,
                code=self.lexicon.transform("appeal").apply(inner.code) or "020",
                pattern=inner.pattern,
                matched=(tok.i, *inner.matched),
            )
            frame.extra["urged_clause"] = child.i
            return frame
        return None

    def _embed(self, tok: Token, cls: str, inner: Frame, own: Frame | None) -> Frame | None:
        transform = self.lexicon.transform(cls)
        code = transform.apply(inner.code)
        if code is None:
            if transform.default == "keep":
                code = inner.code
            elif transform.default == "own":
                code = own.code if own is not None else None
            else:
                code = None
        if not code:
            return None
        # Appeals and demands are addressed to their object ("urged China to ...");
        # intents, refusals and attempts aim at the embedded event's target.
        addressed = cls in ("appeal", "demand")
        frame = Frame(
            head=tok.i,
            code=code,
            pattern=own.pattern if own is not None and addressed else inner.pattern,
            matched=(tok.i, *inner.matched),
            # Only the one who intends, refuses or asks acts: "refused to meet X" is one-way.
            symmetric=inner.symmetric and code == inner.code,
            modality="intent" if cls in ("intent", "attempt") else inner.modality,
        )
        if inner.symmetric:
            # "X and Y agreed to work together": with no one else named, they act on
            # each other, though "refused to meet Z" is one-way.
            frame.extra["mutual"] = 1
        if not addressed:
            frame.extra["target_from"] = inner.head
        else:
            frame.extra["addressee_of"] = tok.i
            frame.extra["fallback_target_from"] = inner.head
        return frame

    def _apply_modality(self, tok: Token, frame: Frame) -> None:
        lex = self.lexicon
        is_negated = negated(tok)
        auxes = {lemma(c) for c in tok.children if c.dep_ in ("aux", "auxpass")}
        if not auxes and tok.dep_ == "conj":
            # "should manage their differences and expand cooperation": one modal for both
            auxes = {lemma(c) for c in tok.head.children if c.dep_ in ("aux", "auxpass")}
        for governor in infinitive_governors(tok):
            # "would not give permission to Russia to help Israel": the help is not given.
            if negated(governor):
                frame.consumed = True
                frame.negated = True
                return
            if self._courtesy(governor, lemma(governor), tok):
                break  # "would like to thank": the "would" is politeness, not a future
            auxes |= {lemma(c) for c in governor.children if c.dep_ in ("aux", "auxpass")}
        if is_negated:
            code = lex.transform("negation").apply(frame.code)
            if code is None and lex.transform("negation").default == "keep":
                code = frame.code
            if not code:
                frame.consumed = True  # a negated event that CAMEO does not code
                frame.negated = True
                return
            frame.code = code
            frame.negated = True
        past_future = self._future_in_past(tok, auxes)
        if auxes & lex.future_aux or has_future_marker(tok) or past_future:
            name = "future" if past_future or own_intent(tok, lex) else "future_direct"
            code = lex.transform(name).apply(frame.code)
            if code:
                # Only the one who says it will act intends it: "X would agree to Y" is one-way.
                frame.symmetric = frame.symmetric and code == frame.code
                frame.code = code
            if frame.modality == "asserted":
                frame.modality = "future"
        if past_future:
            auxes = auxes - {"would"}
        if auxes & lex.hypothetical_aux or in_conditional(tok):
            frame.modality = "hypothetical"

    def _future_in_past(self, tok: Token, auxes: set[str]) -> bool:
        """The reported "will" of a past statement: "X said it would lift the sanctions"."""
        return "would" in auxes and own_intent(tok, self.lexicon) and not in_conditional(tok)

    def noun_frame(self, state: DocState, tok: Token) -> Frame | None:
        """The frame of an event noun ("X's visit to Y"), with the modality of its verb."""
        found = self._match(tok, "nouns")
        if found is None or found.null:
            return None
        pattern = found.pattern
        frame = Frame(
            head=tok.i,
            code=found.code,
            pattern=pattern,
            matched=(tok.i, *found.tokens),
            kind="noun",
            symmetric=pattern.symmetric,
        )
        governor = governing_verb(tok)
        if governor is not None and self.lexicon.in_class("intent", lemma(governor)):
            code = self.lexicon.transform("intent").apply(found.code)
            if code:
                frame.code = code
            frame.modality = "intent"
        if governor is not None:
            self._apply_modality(governor, frame)
        return frame

    # ------------------------------------------------------------------ actors


def _consume_clauses(tok: Token, frames: dict[int, Frame]) -> None:
    """Leave uncoded the events of the clauses ``tok`` embeds (a question asked)."""
    for child in tok.children:
        for inner_tok in child.subtree if child.dep_ == "ccomp" else ():
            if inner_tok.i in frames:
                frames[inner_tok.i].consumed = True


def _note_actor_slots(frame: Frame, found: PatternMatch) -> None:
    """Remember where a dictionary pattern places the source or target (TABARI ``$``/``+``)."""
    if found.source is not None:
        frame.extra["pattern_source"] = found.source
    if found.target is not None and found.pattern.slots:
        frame.extra["pattern_target"] = found.target
