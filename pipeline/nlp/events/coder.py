"""CAMEO event coding over a dependency parse.

The coder reads one parsed ``Doc`` and the actor mentions found in it, and
returns who did what to whom, sentence by sentence:

* **verbs**: every verb is matched against the lexicon (lemma plus particles,
  prepositions and object nouns, most specific pattern first);
* **actors**: the source is the verb's subject (or the ``by`` agent of a passive
  verb, whose grammatical subject is then the target); the target is the direct
  object, the object of the pattern's preposition, or of ``with``/``at``/
  ``against``/``to``/``on``...; coordinated actors give one event per pair;
  subjects are inherited by conjoined verbs and infinitives, and a subject
  pronoun resolves to the subject of the clause that embeds it (or of the
  previous sentence);
* **embedding**: verbs of intent, appeal, demand, refusal and attempt take the
  event of their infinitive and rewrite its code ("plans to visit" -> 036,
  "urged X to release" -> 0253, "refused to meet" -> 125);
* **negation**: "did not meet" is no event; where CAMEO has a code for the
  refusal a negation expresses ("would not provide support" -> 121) that code is
  used and the event is flagged ``negated``;
* **modality**: ``will`` marks an event ``future`` (a future consultation becomes
  an expressed intent, 036); ``would``/``could``/``if`` mark it ``hypothetical``;
  intent verbs mark it ``intent``; reported clauses mark it ``reported``;
* **reported speech**: "X said Y attacked Z" codes Y->Z; the saying itself
  (010) is kept only when nothing else in the sentence is coded; a speaker's
  statement that they used force is a claim of responsibility (015);
* **nominal events**: "X's visit to Y", "talks between X and Y", "prepared a
  meeting between X and Y" when the phrase names its source;
* **dyads**: an event needs a source and a target, as CAMEO coders require,
  except for roots where one actor suffices (protest, force posture; the
  lexicon's ``solo_roots``), which are coded with no target; an actor never
  acts on itself; a sentence yields one event per (source, target, code), the
  most confident of its candidates.

Each event gets a confidence in ``[0, 1]`` from its evidence (how specific the
verb pattern was, how each actor was matched and attached, the parse distance,
the modality, whether the code is a root's fallback): a small logistic model,
:mod:`pipeline.nlp.events.confidence`, whose coefficients are data fitted on gold
sentences. The evidence travels with each :class:`CodedEvent`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from spacy.tokens import Doc, Token

from pipeline.models import ActorRef, Modality
from pipeline.nlp.events.confidence import ConfidenceModel
from pipeline.nlp.events.lexicon import Codebook, Lexicon, root_of
from pipeline.nlp.events.patterns import Pattern, PatternMatch, match


class Mention(Protocol):
    """What the coder needs from an actor mention (``pipeline.nlp.actors.coder.ActorMention``)."""

    @property
    def start(self) -> int:
        """First token index (inclusive)."""
        ...

    @property
    def end(self) -> int:
        """Last token index (exclusive)."""
        ...

    @property
    def ref(self) -> ActorRef:
        """The coded actor."""
        ...


def event_id(
    article_id: str,
    sentence_start: int,
    source_code: str,
    target_code: str | None,
    cameo_code: str,
    trigger_start: int,
) -> str:
    """Return the deterministic id of an event: replays of an article give the same ids.

    Args:
        article_id: The article the event was coded from.
        sentence_start: Character offset of the evidence sentence in the body.
        source_code: Source actor code.
        target_code: Target actor code, ``None`` when the event has no target.
        cameo_code: The CAMEO event code.
        trigger_start: Character offset of the trigger in the body.

    Returns:
        The first 32 hex characters of a SHA-256 over the fields joined by ``|``.
    """
    key = "|".join(
        [
            article_id,
            str(sentence_start),
            source_code,
            target_code or "",
            cameo_code,
            str(trigger_start),
        ]
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class CodedEvent:
    """One event found in a doc, with token positions (the analyzer turns it into a message)."""

    source: ActorRef
    target: ActorRef | None
    code: str
    sentence_start: int
    sentence_end: int
    trigger_start: int
    trigger_end: int
    negated: bool
    modality: Modality
    confidence: float
    pattern: str
    source_token: int
    target_token: int | None
    evidence: Mapping[str, float] = field(default_factory=dict)
    rule: Pattern | None = None
    """The lexicon or dictionary pattern that coded the event (its provenance)."""


# Dependencies that open a phrase of its own: a pattern's words are not looked for below them.
_PHRASE_STOP = frozenset(
    {
        "nsubj",
        "nsubjpass",
        "csubj",
        "csubjpass",
        "ccomp",
        "xcomp",
        "advcl",
        "relcl",
        "parataxis",
        "conj",
        "cc",
        "punct",
        "mark",
        "acl",
        "appos",
        "expl",
        "meta",
        "npadvmod",
        "advmod",
        "aux",
        "auxpass",
        "neg",
    }
)
# Dependencies that belong to the core of a noun phrase (where its actor is named).
_NP_CORE = frozenset(
    {"compound", "amod", "poss", "nmod", "det", "nummod", "quantmod", "flat", "case", "nn"}
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
_NESTED_PREPS = frozenset(
    {"with", "to", "against", "on", "upon", "over", "about", "toward", "towards", "from", "for"}
    | {"of", "in", "between", "at", "by"}
)
_ADJUNCT_PREPS = frozenset({"in", "at", "over", "from", "during", "near", "after", "amid"})
_SPEECH_PREPS = ("to", "with")
_HOSTILE_NOUNS = frozenset(
    {"attack", "shelling", "strike", "airstrike", "raid", "bombing", "bombardment", "fire"}
    | {"clash", "fighting", "offensive", "dispute", "operation", "assault", "ambush"}
    | {"crackdown", "violence", "shooting", "explosion", "blast", "incursion", "invasion"}
    | {"row", "conflict", "war", "battle", "rocket", "missile", "gunfire"}
    # the weapon stands for the act: "killed in Israeli tank fire", "by a US drone"
    | {"tank", "artillery", "mortar", "shell", "bomb", "grenade", "sniper", "drone"}
    | {"warplane", "jet", "helicopter", "gunship", "aircraft", "missile", "troop"}
)
_EVENT_PREPS = frozenset(
    {"with", "to", "against", "on", "upon", "over", "about", "toward", "towards"}
    | {"between", "into", "at", "from", "by"}
)
_PRONOUNS = frozenset({"he", "she", "they", "it", "we", "i"})
_RELATIVE = frozenset({"who", "which", "that", "whom"})
_RECIPROCAL = frozenset({"each", "another", "together", "jointly", "mutual", "bilateral"})
# Nouns whose "their" means both parties ("their ties", "their differences").
_SHARED_NOUNS = frozenset(
    {"tie", "relation", "relationship", "agreement", "deal", "dispute", "difference"}
    | {"cooperation", "partnership", "alliance", "border", "conflict", "rivalry", "feud"}
)
_HYPOTHETICAL_MARKS = frozenset({"if", "unless", "whether"})

# How well an actor was matched, for the confidence model's "named" feature.
_MATCH_SCORE = {
    "name": 1.0,
    "dictionary": 1.0,
    "alias": 1.0,
    "title": 0.5,
    "metonym": 0.5,
    "demonym": 0.5,
    "coref": 0.0,
    "agent": 0.0,
}
# How an actor was attached to the event, for the "direct" feature.
_HOW_SCORE = {
    "direct": 1.0,
    "agent": 1.0,
    "pattern": 1.0,
    "object": 1.0,
    "prep": 0.5,
    "control": 0.5,
    "relative": 0.5,
    "between": 0.5,
    "possessive": 0.5,
}


@dataclass(frozen=True)
class _Derived:
    """An actor the coder infers from other mentions (an agent in a coordinated country)."""

    start: int
    end: int
    ref: ActorRef


@dataclass
class _Arg:
    """Actors filling one role, with how they were found."""

    mentions: list[Mention]
    how: str
    token: int | None = None
    via_speech: int | None = None  # index of the reporting verb whose subject a pronoun took


@dataclass
class _Frame:
    """An event candidate anchored on one verb (or event noun)."""

    head: int
    code: str
    pattern: Pattern | None
    matched: tuple[int, ...]
    kind: str = "verb"  # verb, noun, speech
    negated: bool = False
    modality: Modality = "asserted"
    source: _Arg | None = None
    target: _Arg | None = None
    symmetric: bool = False
    consumed: bool = False
    extra: dict[str, int] = field(default_factory=dict)
    inner: _Frame | None = None  # the reported or denied event this one is about


class EventCoder:
    """Codes CAMEO events from a parsed doc and its actor mentions."""

    def __init__(
        self, codebook: Codebook, lexicon: Lexicon, confidence: ConfidenceModel | None = None
    ) -> None:
        self.codebook = codebook
        self.lexicon = lexicon
        self.confidence = confidence if confidence is not None else ConfidenceModel.load()

    @classmethod
    def load(cls) -> EventCoder:
        """Load the packaged codebook and lexicon."""
        codebook = Codebook.load()
        return cls(codebook, Lexicon.load(codebook=codebook))

    # ------------------------------------------------------------------ public

    def code(self, doc: Doc, mentions: Sequence[Mention]) -> list[CodedEvent]:
        """Return the events of every sentence of ``doc``.

        Args:
            doc: A parsed doc (rebuilt from tokens or fresh from spaCy).
            mentions: Non-overlapping actor mentions in ``doc``.

        Returns:
            Events in document order, at most one per (source, target, code) and sentence.
        """
        by_token: dict[int, Mention] = {}
        for mention in mentions:
            for i in range(mention.start, mention.end):
                by_token[i] = mention
        state = _DocState(doc=doc, by_token=by_token)
        events: list[CodedEvent] = []
        for sent in doc.sents:
            events.extend(self._code_sentence(state, sent.start, sent.end))
        return events

    # --------------------------------------------------------------- sentence

    def _code_sentence(self, state: _DocState, start: int, end: int) -> list[CodedEvent]:
        doc = state.doc
        frames: dict[int, _Frame] = {}
        candidates = [doc[i] for i in range(start, end) if self._is_predicate(doc[i])]
        # Deepest first, so an embedded event is ready when its governing verb is seen.
        depths: dict[int, int] = {}
        candidates.sort(key=lambda t: -_depth(t, depths))
        for tok in candidates:
            frame = self._frame_for(state, tok, frames)
            if frame is not None:
                frames[tok.i] = frame
        consumed_nouns = {i for f in frames.values() for i in f.matched}
        for i in range(start, end):
            tok = doc[i]
            if tok.pos_ in ("NOUN", "PROPN") and i not in consumed_nouns and i not in frames:
                frame = self._noun_frame(state, tok)
                if frame is not None:
                    frames[i] = frame
        events: list[CodedEvent] = []
        for frame in sorted(frames.values(), key=lambda f: f.head):
            if frame.consumed:
                continue
            events.extend(self._events_for(state, frame, start, end))
        if any(e.pattern != "speech" for e in events):
            events = [e for e in events if e.pattern != "speech"]
        state.remember_subjects(doc, start, end, frames)
        return _dedupe(events)

    def _is_predicate(self, tok: Token) -> bool:
        if tok.pos_ == "VERB" or tok.tag_.startswith("VB"):
            return tok.pos_ != "AUX" or tok.dep_ not in ("aux", "auxpass")
        if tok.pos_ == "ADJ" and any(c.dep_ == "xcomp" for c in tok.children):
            return True
        return False

    # ----------------------------------------------------------------- frames

    def _match(self, tok: Token, table: str = "verbs") -> PatternMatch | None:
        index = self.lexicon.verbs if table == "verbs" else self.lexicon.nouns
        return match(tok, index)

    def _frame_for(self, state: _DocState, tok: Token, frames: dict[int, _Frame]) -> _Frame | None:
        lex = self.lexicon
        lemma = _lemma(tok)
        own = self._match(tok)
        frame: _Frame | None = None
        if own is not None and not own.null:
            pattern = own.pattern
            kind = "speech" if lex.in_class("speech", lemma) and own.code == "010" else "verb"
            frame = _Frame(
                head=tok.i,
                code=own.code,
                pattern=pattern,
                matched=(tok.i, *own.tokens),
                kind=kind,
                symmetric=pattern.symmetric,
            )
            _note_actor_slots(frame, own)
        clausal = lex.in_class("demand", lemma) or lex.in_class("appeal", lemma)
        complement = _complement(tok, clausal, lex.in_class("desire", lemma))
        inner = frames.get(complement.i) if complement is not None else None
        if inner is not None and inner.kind != "speech" and not inner.negated:
            for cls in ("failure", "refusal", "attempt", "appeal", "demand", "intent"):
                if not lex.in_class(cls, lemma):
                    continue
                combined = self._embed(tok, cls, inner, frame)
                inner.consumed = True
                frame = combined
                break
        if lex.in_class("denial", lemma):
            # "X denied that Y attacked Z": the denied event is not coded, but what it
            # was done to is the denial's target when nothing else is.
            for child in tok.children:
                if child.dep_ == "ccomp":
                    for inner_tok in child.subtree:
                        if inner_tok.i in frames:
                            frames[inner_tok.i].consumed = True
                            if frame is not None and frame.inner is None:
                                frame.inner = frames[inner_tok.i]
        if frame is None:
            return None
        if lex.in_class("speech", lemma):
            self._accusation(state, tok, frame, frames)
        self._apply_modality(tok, frame)
        return frame

    def _accusation(
        self, state: _DocState, tok: Token, frame: _Frame, frames: dict[int, _Frame]
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
            target = self._target(state, inner, child)
            subject = self._subject(state, child)
            if (target is None or not target.mentions) and subject and subject.mentions:
                if subject.how == "direct":
                    frame.code = code
                    frame.kind = "verb"
                    frame.inner = inner
                    inner.consumed = True
                    return

    def _embed(self, tok: Token, cls: str, inner: _Frame, own: _Frame | None) -> _Frame | None:
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
        frame = _Frame(
            head=tok.i,
            code=code,
            pattern=own.pattern if own is not None and addressed else inner.pattern,
            matched=(tok.i, *inner.matched),
            # Only the one who intends, refuses or asks acts: "refused to meet X" is one-way.
            symmetric=inner.symmetric and code == inner.code,
            modality="intent" if cls in ("intent", "attempt") else inner.modality,
        )
        if not addressed:
            frame.extra["target_from"] = inner.head
        else:
            frame.extra["addressee_of"] = tok.i
            frame.extra["fallback_target_from"] = inner.head
        return frame

    def _apply_modality(self, tok: Token, frame: _Frame) -> None:
        lex = self.lexicon
        negated = _negated(tok)
        auxes = {_lemma(c) for c in tok.children if c.dep_ in ("aux", "auxpass")}
        if not auxes and tok.dep_ == "conj":
            # "should manage their differences and expand cooperation": one modal for both
            auxes = {_lemma(c) for c in tok.head.children if c.dep_ in ("aux", "auxpass")}
        for governor in _infinitive_governors(tok):
            # "would not give permission to Russia to help Israel": the help is not given.
            if _negated(governor):
                frame.consumed = True
                frame.negated = True
                return
            auxes |= {_lemma(c) for c in governor.children if c.dep_ in ("aux", "auxpass")}
        if negated:
            code = lex.transform("negation").apply(frame.code)
            if code is None and lex.transform("negation").default == "keep":
                code = frame.code
            if not code:
                frame.consumed = True  # a negated event that CAMEO does not code
                frame.negated = True
                return
            frame.code = code
            frame.negated = True
        if auxes & lex.future_aux or _has_future_marker(tok):
            code = lex.transform("future").apply(frame.code)
            if code:
                frame.code = code
            if frame.modality == "asserted":
                frame.modality = "future"
        if auxes & lex.hypothetical_aux or _in_conditional(tok):
            frame.modality = "hypothetical"

    def _noun_frame(self, state: _DocState, tok: Token) -> _Frame | None:
        found = self._match(tok, "nouns")
        if found is None or found.null:
            return None
        pattern = found.pattern
        frame = _Frame(
            head=tok.i,
            code=found.code,
            pattern=pattern,
            matched=(tok.i, *found.tokens),
            kind="noun",
            symmetric=pattern.symmetric,
        )
        governor = _governing_verb(tok)
        if governor is not None and self.lexicon.in_class("intent", _lemma(governor)):
            code = self.lexicon.transform("intent").apply(found.code)
            if code:
                frame.code = code
            frame.modality = "intent"
        if governor is not None:
            self._apply_modality(governor, frame)
        return frame

    # ------------------------------------------------------------------ actors

    def _events_for(
        self, state: _DocState, frame: _Frame, sent_start: int, sent_end: int
    ) -> list[CodedEvent]:
        doc = state.doc
        head = doc[frame.head]
        if frame.kind == "noun":
            source, target = self._noun_actors(state, head)
        else:
            source, target = self._verb_actors(state, frame, head)
        if source is None or not source.mentions:
            return []
        if frame.pattern is not None and frame.pattern.swap and target is not None:
            source, target = target, source
        code = frame.code
        if (
            source.via_speech is not None
            and frame.kind == "verb"
            and _inside(head, doc[source.via_speech])
        ):
            claimed = self.lexicon.transform("claim").apply(code)
            if claimed:
                code = claimed
        modality = frame.modality
        if modality == "asserted" and _reported(head, self.lexicon):
            modality = "reported"
        pairs: list[tuple[Mention, Mention | None, str]] = []
        if target is not None and target.mentions:
            for s in source.mentions:
                for t in target.mentions:
                    pairs.append((s, t, "forward"))
                    if frame.symmetric:
                        pairs.append((t, s, "reverse"))
        elif len(source.mentions) > 1 and (
            self._reciprocal(head)
            # "X and Y met" and "X and Y held talks", not "we will meet our goal"
            or (
                (frame.symmetric or self.lexicon.is_mutual(code))
                and (
                    _object_is_event(head, frame.matched)
                    or (frame.pattern is not None and frame.pattern.topic)
                )
            )
        ):
            for s in source.mentions:
                for t in source.mentions:
                    if s is not t:
                        pairs.append((s, t, "mutual"))
        elif root_of(code) in self.lexicon.solo_roots and not _has_object(head):
            # "protesters marched" is an event; "demonstrated the new system" is not.
            pairs = [(s, None, "forward") for s in source.mentions]
        trig_start = min(frame.matched)
        trig_end = max(frame.matched) + 1
        if trig_end - trig_start > 6:
            trig_start, trig_end = frame.head, frame.head + 1
        events: list[CodedEvent] = []
        for src, tgt, direction in pairs:
            if tgt is not None and (tgt is src or tgt.ref.code == src.ref.code):
                continue
            s_arg = source if direction == "forward" else (target or source)
            t_arg = target if direction == "forward" else source
            evidence = self._evidence(frame, code, modality, src, tgt, s_arg, t_arg, head)
            confidence = round(self.confidence.score(evidence), 3)
            events.append(
                CodedEvent(
                    source=src.ref,
                    target=tgt.ref if tgt is not None else None,
                    code=code,
                    sentence_start=sent_start,
                    sentence_end=sent_end,
                    trigger_start=trig_start,
                    trigger_end=trig_end,
                    negated=frame.negated,
                    modality=modality,
                    confidence=confidence,
                    evidence=evidence,
                    pattern="speech" if frame.kind == "speech" else _pattern_text(frame),
                    rule=frame.pattern,
                    source_token=src.start,
                    target_token=tgt.start if tgt is not None else None,
                )
            )
        return events

    def _verb_actors(
        self, state: _DocState, frame: _Frame, head: Token
    ) -> tuple[_Arg | None, _Arg | None]:
        doc = state.doc
        source = self._subject(state, head)
        passive_target: _Arg | None = None
        if _is_passive(head):
            passive_target = self._passive_subject(state, head)
        target: _Arg | None = None
        if "addressee_of" in frame.extra:
            target = self._addressee(state, head)
            addressed = any(c.dep_ in ("dobj", "dative", "obj", "iobj") for c in head.children)
            if (target is None or not target.mentions) and not addressed:
                inner = doc[frame.extra["fallback_target_from"]]
                if inner.dep_ == "ccomp":
                    # "demanded that Israel withdraw": the clause's subject is addressed.
                    target = (
                        self._passive_subject(state, inner)
                        if _is_passive(inner)
                        else self._subject(state, inner)
                    )
                if target is None or not target.mentions:
                    target = self._target(state, frame, inner)
        elif "target_from" in frame.extra:
            if source is None and passive_target is not None:
                # "X is expected to meet Y": the raised subject is the source.
                source = passive_target
            inner = doc[frame.extra["target_from"]]
            target = self._target(state, frame, inner)
            if (target is None or not target.mentions) and _is_passive(inner):
                target = self._passive_subject(state, inner)
        else:
            target = passive_target or self._target(state, frame, head)
        if target is None or not target.mentions:
            target = self._clause_subject(state, head, source)
        if (target is None or not target.mentions) and frame.inner is not None:
            # "Egypt denied that it had attacked Israel": the denial is about Israel.
            target = self._target(state, frame.inner, doc[frame.inner.head])
        if source is not None and target is not None:
            source_tokens = {m.start for m in source.mentions}
            target.mentions = [m for m in target.mentions if m.start not in source_tokens]
            if not target.mentions:
                target = None
        return source, target

    def _subject(self, state: _DocState, verb: Token, depth: int = 0) -> _Arg | None:
        if depth > 6:
            return None
        how = "direct" if depth == 0 else "inherited"
        subjects = [c for c in verb.children if c.dep_ in ("nsubj", "csubj")]
        for child in subjects:
            if child.lower_ in _RELATIVE and verb.dep_ == "relcl":
                return _Arg(self._np_actors(state, verb.head), "relative", verb.head.i)
        if subjects:
            # A list the parser split into several subjects ("Lions, tigers, and Gondor").
            args = [self._resolve(state, child, verb, how) for child in subjects]
            found = next((a for a in args if a.mentions), args[0])
            for other in args:
                if other is not found:
                    found.mentions.extend(m for m in other.mentions if m not in found.mentions)
            if not found.mentions:
                for child in subjects:
                    where = self._where_from(state, child)
                    if where is not None:
                        return where
            return found
        if _is_passive(verb):
            for child in verb.children:
                if child.dep_ == "agent":
                    pobj = next((c for c in child.children if c.dep_ == "pobj"), None)
                    if pobj is not None:
                        return _Arg(self._np_actors(state, pobj), "agent", pobj.i)
            # A passive verb's grammatical subject is its patient: never inherit one.
            return self._adjunct_agent(state, verb) if depth == 0 else None
        dep = verb.dep_
        governor = verb.head
        if governor.i == verb.i:
            return None
        if dep == "xcomp" or (dep == "advcl" and _infinitive(verb)):
            if _lemma(governor) in self.lexicon.object_control:
                addressee = self._addressee(state, governor)
                if addressee is not None and addressee.mentions:
                    addressee.how = "control"
                    return addressee
            inherited = self._subject(state, governor, depth + 1)
            if inherited is not None and _is_passive(governor) and inherited.how == "agent":
                # "X is expected to meet Y": the raised subject, not the agent, meets Y.
                raised = self._passive_subject(state, governor)
                return raised if raised is not None else inherited
            if inherited is None and _is_passive(governor):
                return self._passive_subject(state, governor)
            return inherited
        if dep == "conj" and governor.pos_ in ("VERB", "AUX", "ADJ"):
            if _is_passive(governor) and not _is_passive(verb):
                return None
            return self._subject(state, governor, depth + 1)
        if dep in ("advcl", "acomp", "pcomp") and verb.tag_ in ("VBG", "VBN", "VB"):
            return self._subject(state, governor, depth + 1)
        if dep == "relcl":
            return _Arg(self._np_actors(state, governor), "relative", governor.i)
        if dep in ("acomp",):
            return self._subject(state, governor, depth + 1)
        if dep == "pobj" and governor.dep_ == "prep":
            return self._subject(state, governor.head, depth + 1)
        return None

    def _where_from(self, state: _DocState, noun: Token) -> _Arg | None:
        """For a subject that names no actor, the actor it comes from or is issued in.

        "A report released in the Rwandan capital alleged ...", "officials from
        the region said": CAMEO coders take the actor in the subject's phrase.
        """
        if noun.pos_ not in ("NOUN", "PROPN"):
            return None
        for child in noun.children:
            preps = [child] if child.dep_ == "prep" else []
            if child.dep_ == "acl":
                preps = [g for g in child.children if g.dep_ == "prep"]
            for prep in preps:
                if prep.lower_ not in ("in", "from"):
                    continue
                for pobj in prep.children:
                    if pobj.dep_ == "pobj":
                        mentions = self._np_actors(state, pobj)
                        if mentions:
                            return _Arg(mentions, "deep", pobj.i)
        return None

    def _adjunct_agent(self, state: _DocState, verb: Token) -> _Arg | None:
        """For a passive verb without ``by``: an actor in its adjuncts, as CAMEO coders take it.

        "Four children were killed in Israeli shelling" -> Israel; "X was
        criticized over its dispute with Y" -> Y.
        """
        for child in verb.children:
            if child.dep_ != "prep" or child.lower_ not in _ADJUNCT_PREPS:
                continue
            for pobj in child.children:
                if pobj.dep_ != "pobj":
                    continue
                # Only a named actor ("shot in Osgiliath") or a hostile act with its
                # author ("in Israeli shelling"), not any place ("in a mine near X").
                if pobj.i in state.by_token:
                    return _Arg([state.by_token[pobj.i]], "adjunct", pobj.i)
                if _lemma(pobj) not in _HOSTILE_NOUNS:
                    continue
                mentions = [state.by_token[t.i] for t in _core(pobj) if t.i in state.by_token]
                if mentions:
                    return _Arg(mentions[:1], "adjunct", pobj.i)
                found = self._nested(state, pobj, 1, event=True)
                if found is not None:
                    found.how = "adjunct"
                    return found
        return None

    def _passive_subject(self, state: _DocState, verb: Token) -> _Arg | None:
        first: _Arg | None = None
        for child in verb.children:
            if child.dep_ == "nsubjpass":
                if child.lower_ in _RELATIVE and verb.dep_ == "relcl":
                    return _Arg(self._np_actors(state, verb.head), "relative", verb.head.i)
                # The parser may give two ("GAZA CITY, ...: Four children ... were killed").
                arg = self._resolve(state, child, verb, "direct")
                if arg.mentions:
                    return arg
                first = first or arg
        if first is not None:
            return first
        if verb.dep_ == "conj" and _is_passive(verb.head):
            return self._passive_subject(state, verb.head)
        return None

    def _resolve(self, state: _DocState, tok: Token, verb: Token, how: str) -> _Arg:
        if tok.pos_ == "PRON" and tok.lower_ in _PRONOUNS:
            # An embedded pronoun subject is the subject of the clause that embeds it.
            node = verb
            # Not across adverbial clauses: in "X will attack Y after they killed Z" the
            # pronoun is as likely to be Y.
            while node.dep_ in ("ccomp", "xcomp", "conj") and node.head.i != node.i:
                governor = node.head
                for child in governor.children:
                    if child.dep_ in ("nsubj", "nsubjpass") and child.pos_ != "PRON":
                        mentions = self._np_actors(state, child)
                        if mentions:
                            via = (
                                governor.i
                                if self.lexicon.in_class("speech", _lemma(governor))
                                else None
                            )
                            return _Arg(mentions, "pronoun", child.i, via_speech=via)
                node = governor
            if state.last_subjects:
                return _Arg(list(state.last_subjects), "previous", None)
            return _Arg([], "pronoun", tok.i)
        return _Arg(self._np_actors(state, tok), how, tok.i)

    def _np_actors(self, state: _DocState, tok: Token, depth: int = 0) -> list[Mention]:
        """Actors named by the noun phrase headed by ``tok``, its conjuncts included."""
        if depth > 4:
            return []
        found: list[Mention] = []
        own = state.by_token.get(tok.i)
        if own is not None and own.ref.code.startswith("---"):
            # "Opponents of Rwanda's Senate": the "of" phrase says whose they are.
            owner = self._of_actors(state, tok, depth)
            found.extend(owner or [own])
        elif own is not None:
            found.append(own)
            # "Russian and American diplomats": the other coordinated modifier is an actor too.
            for core in _core(tok):
                coordinated = core.dep_ == "conj" or any(c.dep_ == "conj" for c in core.children)
                other = state.by_token.get(core.i)
                if core.i != tok.i and coordinated and other is not None and other not in found:
                    found.append(other)
        else:
            for core in _core(tok):
                mention = state.by_token.get(core.i)
                if mention is not None and mention not in found:
                    found.append(mention)
            unknown = all(m.ref.code.startswith("---") for m in found)
            if unknown and tok.pos_ in ("NOUN", "PROPN", "PRON", "ADJ", "NUM"):
                # "leaders of China and Japan", "Foreign Minister Jean Dupont of France"
                owners = self._of_actors(state, tok, depth)
                if owners:
                    found = owners
        for child in tok.children:
            # A list can parse as apposition ("The US, Russia, and Switzerland met").
            listed = child.dep_ == "appos" and child.pos_ == "PROPN" and child.i in state.by_token
            if child.dep_ == "conj" or listed:
                for mention in self._np_actors(state, child, depth + 1):
                    if mention not in found:
                        found.append(mention)
        return found if depth else self._distribute(state, found)

    def _distribute(self, state: _DocState, found: list[Mention]) -> list[Mention]:
        """An agent placed in coordinated countries is in each of them.

        "Lawmakers and officials in Arnor and Gondor": the mentions say ARNLEG and
        ARNGOV, and "Gondor" coordinated with the place gives GONLEG and GONGOV too;
        in "Arnor and Gondor officials" (mentions ARN and GONGOV) Arnor's are ARNGOV.
        """
        doc = state.doc
        found = list(found)
        for n, bare in enumerate(found):
            if bare.ref.code != bare.ref.country:
                continue
            for conj in doc[bare.end - 1].conjuncts:
                owner = state.by_token.get(conj.i)
                if owner is None or owner is bare or conj.i >= owner.end - 1:
                    continue
                code = owner.ref.code
                if owner.ref.country is None or len(code) <= 3 or code[:3] != owner.ref.country:
                    continue
                ref = bare.ref.model_copy(
                    update={"code": bare.ref.code + code[3:], "agent": owner.ref.agent}
                )
                found[n] = _Derived(bare.start, bare.end, ref)
                break
        extra: list[Mention] = []
        for mention in found:
            country = mention.ref.country
            if country is None:
                continue
            others: list[Mention] = []
            for tok in doc[mention.start : mention.end]:
                if tok.dep_ != "pobj" or tok.head.dep_ != "prep" or tok.head.i < mention.start:
                    continue
                for conj in tok.conjuncts:
                    other = state.by_token.get(conj.i)
                    code = other.ref.code if other is not None else ""
                    if other is not None and code == other.ref.country and code != country:
                        if other not in others:
                            others.append(other)
            for other in others:
                for agent in found:
                    code = agent.ref.code
                    if agent.ref.country != country or len(code) <= 3 or code[:3] != country:
                        continue
                    ref = agent.ref.model_copy(
                        update={"code": other.ref.code + code[3:], "country": other.ref.country}
                    )
                    derived = _Derived(other.start, other.end, ref)
                    if derived not in extra:
                        extra.append(derived)
        return found + extra

    def _of_actors(self, state: _DocState, tok: Token, depth: int) -> list[Mention]:
        found: list[Mention] = []
        for child in tok.children:
            if child.dep_ == "prep" and child.lower_ == "of":
                for pobj in child.children:
                    if pobj.dep_ == "pobj":
                        found.extend(self._np_actors(state, pobj, depth + 1))
        return found

    def _addressee(self, state: _DocState, verb: Token) -> _Arg | None:
        """The object an appeal or demand is addressed to (``urged China``, ``called on Japan``)."""
        for child in verb.children:
            if child.dep_ in ("dobj", "dative", "obj", "iobj"):
                mentions = self._np_actors(state, child)
                if mentions:
                    return _Arg(mentions, "object", child.i)
        for child in verb.children:
            if child.dep_ == "prep" and child.lower_ in ("on", "upon", "to"):
                for pobj in child.children:
                    if pobj.dep_ == "pobj":
                        mentions = self._np_actors(state, pobj)
                        if mentions:
                            return _Arg(mentions, "prep", pobj.i)
        return None

    def _target(self, state: _DocState, frame: _Frame, verb: Token) -> _Arg | None:
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
                        mentions = self._np_actors(state, pobj)
                        if mentions:
                            return _Arg(mentions, "pattern", pobj.i)
                    found = self._nested(state, pobj, 1)
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
                    found = self._nested(state, child, 0, event=True)
                    if found is not None:
                        return found
                    # ... except whose it is: "rejected Libya's proposal".
                    for poss in child.children:
                        if poss.dep_ == "poss" and poss.pos_ != "PRON":
                            mentions = self._np_actors(state, poss)
                            if mentions:
                                return _Arg(mentions, "possessive", poss.i)
                    if child.i in state.by_token:
                        deferred = child  # "expelled the Dutch ambassador"
                    continue
                mentions = self._np_actors(state, child)
                if mentions:
                    return _Arg(mentions, "object", child.i)
                if frame.kind == "speech":
                    continue  # "revealed details of X" is not addressed to X
                found = self._nested(state, child, 0)
                if found is not None:
                    return found
        # 3. the indirect object ("gave Israel arms", "told Blinken that")
        for child in verb.children:
            if child.dep_ in ("dative", "iobj"):
                mentions = self._np_actors(state, child)
                if not mentions:
                    for pobj in child.children:
                        if pobj.dep_ == "pobj":
                            mentions = self._np_actors(state, pobj)
                if mentions:
                    return _Arg(mentions, "object", child.i)
        # 4. a prepositional target of the verb itself (a statement is made *to* someone)
        for prep in _SPEECH_PREPS if frame.kind == "speech" else _TARGET_PREPS:
            for child in verb.children:
                if child.dep_ == "prep" and child.lower_ == prep:
                    for pobj in child.children:
                        if pobj.dep_ == "pobj":
                            mentions = self._np_actors(state, pobj)
                            if mentions:
                                return _Arg(mentions, "prep", pobj.i)
                            found = self._nested(state, pobj, 1)
                            if found is not None:
                                return found
        if deferred is not None:
            return _Arg(self._np_actors(state, deferred), "object", deferred.i)
        # 5. anywhere in the object phrase ("abandoned efforts to stop an anti-X parade")
        for child in verb.children:
            if (
                child.dep_ in ("dobj", "obj")
                and child.i not in matched
                and frame.kind != "speech"
                and not topical
            ):
                for tok in _subtree_outside_clauses(child):
                    if tok.i != child.i and tok.i in state.by_token:
                        return _Arg([state.by_token[tok.i]], "deep", tok.i)
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
                            mentions = self._np_actors(state, pobj)
                            if mentions:
                                return _Arg(mentions, "place", pobj.i)
        # 7. a particle verb's object sits under the particle ("crack down on X")
        for child in verb.children:
            if child.dep_ == "prt":
                for grand in child.children:
                    if grand.dep_ == "prep":
                        for pobj in grand.children:
                            if pobj.dep_ == "pobj":
                                mentions = self._np_actors(state, pobj)
                                if mentions:
                                    return _Arg(mentions, "prep", pobj.i)
        return None

    def _nested(
        self, state: _DocState, noun: Token, depth: int, event: bool = False
    ) -> _Arg | None:
        """An actor in a prepositional phrase under ``noun`` ("ties with Gondor").

        Under an event noun only prepositions that introduce a participant count
        ("talks with X", "sanctions on X", "an attack by X"), not places ("talks
        in Geneva"); its "of" phrase names what the event is about, whose own
        participants count ("the resumption of ties with X").
        """
        if depth > 3:
            return None
        preps = _EVENT_PREPS if event else _NESTED_PREPS
        for child in noun.children:
            if event and child.dep_ == "prep" and child.lower_ == "of":
                for pobj in child.children:
                    if pobj.dep_ == "pobj":
                        found = self._nested(state, pobj, depth + 1, event=True)
                        if found is not None:
                            return found
                continue
            # "assurances sent from X", "aid delivered to X": a participle's phrase
            phrases = [child] if child.dep_ == "prep" else []
            if child.dep_ == "acl":
                phrases = [g for g in child.children if g.dep_ == "prep"]
            for prep in phrases:
                if prep.lower_ not in preps:
                    continue
                for pobj in prep.children:
                    if pobj.dep_ != "pobj":
                        continue
                    mentions = self._np_actors(state, pobj)
                    if mentions:
                        return _Arg(mentions, "nested", pobj.i)
                    found = self._nested(state, pobj, depth + 1)
                    if found is not None:
                        return found
        return None

    def _clause_subject(self, state: _DocState, verb: Token, source: _Arg | None) -> _Arg | None:
        """For a bare statement, the subject of the reported clause ("noted that Y ...")."""
        own = {m.start for m in source.mentions} if source is not None else set()
        for child in verb.children:
            # Only a complement that follows: "..., an official said" addresses no one.
            if child.dep_ == "ccomp" and child.i > verb.i:
                for grand in child.children:
                    if grand.dep_ == "nsubj" and grand.pos_ != "PRON":
                        mentions = [m for m in self._np_actors(state, grand) if m.start not in own]
                        if mentions:
                            return _Arg(mentions, "clause", grand.i)
        return None

    def _noun_actors(self, state: _DocState, noun: Token) -> tuple[_Arg | None, _Arg | None]:
        source: _Arg | None = None
        target: _Arg | None = None
        for child in noun.children:
            if child.dep_ == "poss":
                mentions = self._np_actors(state, child)
                if mentions:
                    source = _Arg(mentions, "possessive", child.i)
        for child in noun.children:
            if child.dep_ != "prep":
                continue
            pobjs = [c for c in child.children if c.dep_ == "pobj"]
            if not pobjs:
                continue
            mentions = self._np_actors(state, pobjs[0])
            if not mentions:
                continue
            word = child.lower_
            if word == "between" and len(mentions) >= 2 and source is None:
                source = _Arg(mentions[:1], "between", pobjs[0].i)
                target = _Arg(mentions[1:], "between", pobjs[0].i)
            elif word == "by" and source is None:
                source = _Arg(mentions, "agent", pobjs[0].i)
            elif word in ("to", "with", "against", "on", "in", "at") and target is None:
                target = _Arg(mentions, "prep", pobjs[0].i)
        if source is None:
            governor = _governing_verb(noun)
            if governor is not None and _lemma(governor) in self.lexicon.light_verbs:
                source = self._subject(state, governor)
        if source is None or target is None:
            return None, None
        return source, target

    def _reciprocal(self, verb: Token) -> bool:
        """True when the verb's phrase marks the action as mutual ("each other", "their talks")."""
        for tok in _phrase(verb):
            if tok.lower_ in _RECIPROCAL:
                return True
            if tok.lower_ == "their" and tok.dep_ == "poss":
                noun = _lemma(tok.head)
                if noun in self.lexicon.nouns or noun in _SHARED_NOUNS:
                    return True
        return False

    # -------------------------------------------------------------- confidence

    def _evidence(
        self,
        frame: _Frame,
        code: str,
        modality: Modality,
        source: Mention,
        target: Mention | None,
        s_arg: _Arg | None,
        t_arg: _Arg | None,
        head: Token,
    ) -> dict[str, float]:
        """The features the confidence model reads (see :mod:`pipeline.nlp.events.confidence`)."""
        actors = [(source, s_arg)] + ([(target, t_arg)] if target is not None else [])
        named = [
            0.0 if isinstance(m, _Derived) else _MATCH_SCORE.get(m.ref.match, 0.0)
            for m, _ in actors
        ]
        default_how = ["direct", "prep"]
        direct = [
            _HOW_SCORE.get(arg.how if arg is not None else default_how[n], 0.0)
            for n, (_, arg) in enumerate(actors)
        ]
        distance = max(abs(m.start - head.i) for m, _ in actors)
        pattern = frame.pattern
        specific = pattern is not None and bool(pattern.slots) and frame.kind != "noun"
        return {
            "specific": 1.0 if specific else 0.0,
            "noun": 1.0 if frame.kind == "noun" else 0.0,
            "generic_code": 1.0 if len(code) == 3 and code.endswith("0") else 0.0,
            "named": sum(named) / len(named),
            "direct": sum(direct) / len(direct),
            "distance": min(distance, 30) / 10,
            "modal": 0.0 if modality == "asserted" else 1.0,
            "solo": 1.0 if target is None else 0.0,
        }


# ---------------------------------------------------------------------- state


@dataclass
class _DocState:
    doc: Doc
    by_token: dict[int, Mention]
    last_subjects: list[Mention] = field(default_factory=list)

    def remember_subjects(self, doc: Doc, start: int, end: int, frames: dict[int, _Frame]) -> None:
        """Keep the main subject of a sentence for pronouns in the next one."""
        for i in range(start, end):
            tok = doc[i]
            if tok.dep_ in ("nsubj", "nsubjpass") and tok.head.dep_ == "ROOT":
                if tok.pos_ == "PRON":
                    return  # the antecedent carries over
                mentions = [
                    self.by_token[j]
                    for j in range(tok.left_edge.i, tok.i + 1)
                    if j in self.by_token
                ]
                unique: list[Mention] = []
                for m in mentions:
                    if m not in unique:
                        unique.append(m)
                if unique:
                    self.last_subjects = unique[-1:]
                return


# -------------------------------------------------------------------- helpers


def _lemma(tok: Token) -> str:
    return (tok.lemma_ or tok.text).lower()


def _depth(tok: Token, known: dict[int, int]) -> int:
    """Distance to the root (at most 64), memoised in ``known`` so a sentence costs its length."""
    path: list[int] = []
    node = tok
    while node.i not in known and node.head.i != node.i and len(path) < 64:
        path.append(node.i)
        node = node.head
    depth = known.get(node.i, 0)
    for i in reversed(path):
        depth = min(64, depth + 1)
        known[i] = depth
    return known.get(tok.i, depth)


def _phrase(tok: Token) -> list[Token]:
    """The tokens of ``tok``'s phrase, not crossing into clauses or subjects."""
    out: list[Token] = []
    stack = [(c, 1) for c in tok.children if c.dep_ not in _PHRASE_STOP]
    while stack:
        node, depth = stack.pop(0)
        out.append(node)
        if depth < 4:
            stack.extend((c, depth + 1) for c in node.children if c.dep_ not in _PHRASE_STOP)
    return out


def _core(tok: Token) -> Iterable[Token]:
    """The head of a noun phrase and its pre-modifiers (not its clauses or PPs).

    Coordinated modifiers count ("Eriadori and Calenardhon leaders"); coordinated
    heads are separate phrases, handled by the caller.
    """
    stack = [tok]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if node.i in seen:
            continue
        seen.add(node.i)
        yield node
        stack.extend(
            c for c in node.children if c.dep_ in _NP_CORE or (c.dep_ == "conj" and node.i != tok.i)
        )


def _complement(tok: Token, clausal: bool, desire: bool = False) -> Token | None:
    """The infinitival (or, for demands and appeals, clausal) complement carrying an event."""
    for child in tok.children:
        if child.dep_ == "xcomp":
            return child
    for child in tok.children:
        # a verb of wanting: "wants Putin to attack X" parses as a clause of its own
        if child.dep_ == "ccomp" and (clausal or (desire and _infinitive(child))):
            return child
    for child in tok.children:
        # "agreed on holding talks", "committed to sending troops"
        if child.dep_ == "prep" and child.lower_ in ("on", "to", "for", "about"):
            for pcomp in child.children:
                if pcomp.dep_ == "pcomp" and pcomp.tag_ == "VBG":
                    return pcomp
    return None


def _governing_verb(noun: Token) -> Token | None:
    """The verb whose object (or prepositional object) ``noun`` is."""
    node = noun
    if node.dep_ in ("dobj", "obj", "nsubjpass", "attr"):
        return node.head if node.head.pos_ in ("VERB", "AUX") else None
    if node.dep_ == "pobj" and node.head.dep_ == "prep":
        head = node.head.head
        return head if head.pos_ in ("VERB", "AUX") else None
    return None


def _object_is_event(verb: Token, matched: Sequence[int]) -> bool:
    """True when the verb has no direct object or its object is the pattern's event noun."""
    objects = [c for c in verb.children if c.dep_ in ("dobj", "obj")]
    return all(o.i in matched for o in objects)


def _has_object(tok: Token) -> bool:
    return any(c.dep_ in ("dobj", "obj") for c in tok.children)


def _subtree_outside_clauses(tok: Token) -> list[Token]:
    """``tok``'s subtree without relative clauses, which describe it rather than extend it."""
    out: list[Token] = []
    stack = [tok]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(c for c in node.children if c.dep_ not in ("relcl", "ccomp", "advcl"))
    return sorted(out, key=lambda t: t.i)


def _is_passive(tok: Token) -> bool:
    return any(c.dep_ in ("nsubjpass", "auxpass") for c in tok.children) or (
        tok.tag_ == "VBN" and any(c.dep_ == "agent" for c in tok.children)
    )


def _negated(tok: Token) -> bool:
    if any(c.dep_ == "neg" for c in tok.children):
        return True
    # "no longer", "never" attach as advmod on some parses
    return any(c.dep_ == "advmod" and c.lower_ in ("never",) for c in tok.children)


def _infinitive(tok: Token) -> bool:
    return any(c.dep_ == "aux" and c.lower_ == "to" for c in tok.children)


def _infinitive_governors(tok: Token) -> list[Token]:
    """The verbs an infinitive clause hangs from, nearest first ("wants to go to attack")."""
    out: list[Token] = []
    node = tok
    while (node.dep_ == "xcomp" or (node.dep_ == "advcl" and _infinitive(node))) and len(out) < 6:
        node = node.head
        out.append(node)
    return out


def _has_future_marker(tok: Token) -> bool:
    # "is going to attack"
    head = tok.head
    return (
        tok.dep_ == "xcomp"
        and _lemma(head) == "go"
        and head.tag_ == "VBG"
        and any(c.dep_ == "aux" and _lemma(c) == "be" for c in head.children)
    )


def _in_conditional(tok: Token) -> bool:
    """True inside an if-clause, or in the main clause of a condition ("If X, Y will Z")."""
    node = tok
    for _ in range(8):
        if any(c.dep_ == "mark" and c.lower_ in _HYPOTHETICAL_MARKS for c in node.children):
            return True
        if any(
            c.dep_ == "advcl"
            and any(m.dep_ == "mark" and m.lower_ in _HYPOTHETICAL_MARKS for m in c.children)
            for c in node.children
        ):
            return True
        if node.dep_ not in ("conj", "xcomp", "advcl") or node.head.i == node.i:
            return False
        node = node.head
    return False


def _reported(tok: Token, lexicon: Lexicon) -> bool:
    node = tok
    for _ in range(8):
        if node.head.i == node.i:
            return False
        if node.dep_ == "ccomp" and lexicon.in_class("speech", _lemma(node.head)):
            return True
        node = node.head
    return False


def _inside(tok: Token, ancestor: Token) -> bool:
    return any(a.i == ancestor.i for a in tok.ancestors)


def _note_actor_slots(frame: _Frame, found: PatternMatch) -> None:
    """Remember where a dictionary pattern places the source or target (TABARI ``$``/``+``)."""
    if found.source is not None:
        frame.extra["pattern_source"] = found.source
    if found.target is not None and found.pattern.slots:
        frame.extra["pattern_target"] = found.target


def _pattern_text(frame: _Frame) -> str:
    return frame.pattern.text if frame.pattern is not None else frame.code


def _dedupe(events: list[CodedEvent]) -> list[CodedEvent]:
    best: dict[tuple[str, str, str], CodedEvent] = {}
    order: list[tuple[str, str, str]] = []
    for event in events:
        key = (event.source.code, event.target.code if event.target else "", event.code)
        if key not in best:
            order.append(key)
            best[key] = event
        elif event.confidence > best[key].confidence:
            best[key] = event
    return [best[k] for k in order]


__all__ = ["CodedEvent", "EventCoder", "Mention", "event_id"]
