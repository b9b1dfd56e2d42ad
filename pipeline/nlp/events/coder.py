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
  an expressed intent, 036; what speakers say they themselves will or would do,
  "X said it would lift the sanctions", is coded as the intent, 0354, or the
  threat, 138, as a plan is); ``would``/``could``/``if`` mark it
  ``hypothetical``; intent verbs mark it ``intent``; reported clauses mark it
  ``reported``;
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from spacy.tokens import Doc, Token

from pipeline.models import ActorRef, Modality
from pipeline.nlp.events.arguments import Arguments
from pipeline.nlp.events.confidence import ConfidenceModel
from pipeline.nlp.events.evidence import evidence
from pipeline.nlp.events.frames import Frames
from pipeline.nlp.events.lexicon import Codebook, Lexicon, root_of
from pipeline.nlp.events.patterns import Pattern, lemma, phrase
from pipeline.nlp.events.state import Arg, DocState, Frame, Mention, same_actor
from pipeline.nlp.events.syntax import (
    QUOTES,
    has_object,
    inside,
    object_is_event,
    quoted,
    reported,
    tree_depth,
)
from pipeline.nlp.events.targets import Targets
from pipeline.nlp.tone import ToneScorer

FIRST_PERSON = frozenset({"i", "we"})
"""Subjects of a reported clause that are its speaker."""


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


class EventCoder:
    """Codes CAMEO events from a parsed doc and its actor mentions."""

    def __init__(
        self,
        codebook: Codebook,
        lexicon: Lexicon,
        confidence: ConfidenceModel | None = None,
        tone: ToneScorer | None = None,
    ) -> None:
        self.codebook = codebook
        self.lexicon = lexicon
        self.confidence = confidence if confidence is not None else ConfidenceModel.load()
        self.args = Arguments(lexicon)
        self.targets = Targets(lexicon, self.args)
        self.frames = Frames(lexicon, self.targets)
        self.tone = tone if tone is not None else ToneScorer()

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
        state = DocState(doc=doc, by_token=by_token)
        events: list[CodedEvent] = []
        for sent in doc.sents:
            events.extend(self._code_sentence(state, sent.start, sent.end))
        return events

    # --------------------------------------------------------------- sentence

    def _code_sentence(self, state: DocState, start: int, end: int) -> list[CodedEvent]:
        doc = state.doc
        frames: dict[int, Frame] = {}
        candidates = [doc[i] for i in range(start, end) if self.frames.is_predicate(doc[i])]
        # Deepest first, so an embedded event is ready when its governing verb is seen.
        depths: dict[int, int] = {}
        candidates.sort(key=lambda t: -tree_depth(t, depths))
        for tok in candidates:
            frame = self.frames.frame_for(state, tok, frames)
            if frame is not None:
                frames[tok.i] = frame
        consumed_nouns = {i for f in frames.values() for i in f.matched}
        for i in range(start, end):
            tok = doc[i]
            if tok.pos_ in ("NOUN", "PROPN") and i not in consumed_nouns and i not in frames:
                frame = self.frames.noun_frame(state, tok)
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
        self._remember_speaker(state, start, end)
        return _dedupe(events)

    def _remember_speaker(self, state: DocState, start: int, end: int) -> None:
        """Keep who a quoting sentence quotes, for "we" and "I" in the quotes that follow."""
        doc = state.doc
        if not any(doc[i].text in QUOTES for i in range(start, end)):
            return
        for i in range(start, end):
            tok = doc[i]
            # The lexicon look-up first: ``quoted`` reads the sentence up to ``tok``, and
            # asking it of every token made this loop a third of the code stage's CPU.
            if not self.lexicon.in_class("speech", lemma(tok)) or quoted(tok):
                continue
            speaker = self.args.subject(state, tok)
            if speaker is not None and speaker.mentions and speaker.how != "previous":
                state.last_speaker = list(speaker.mentions)
                return

    def _events_for(
        self, state: DocState, frame: Frame, sent_start: int, sent_end: int
    ) -> list[CodedEvent]:
        head = state.doc[frame.head]
        source, target = self._roles(state, frame, head)
        if source is None or not source.mentions:
            return []
        code = self._code_of(state, frame, head, source, target)
        modality = frame.modality
        if modality == "asserted" and reported(head, self.lexicon):
            modality = "reported"
        trig_start = min(frame.matched)
        trig_end = max(frame.matched) + 1
        if trig_end - trig_start > 6:
            trig_start, trig_end = frame.head, frame.head + 1
        events: list[CodedEvent] = []
        for src, tgt, direction in self._pairs(frame, head, code, source, target):
            if tgt is not None and self._own_moved(frame, code, src, tgt):
                # "Japan plans to deploy 55,000 troops": the troops a posture moves are
                # its actor's own, not whom it is aimed at; a protest or posture is
                # coded with no target, an intent or threat to make one needs another.
                if root_of(code) not in self.lexicon.solo_roots:
                    continue
                tgt = None
            if tgt is not None and (tgt is src or same_actor(src.ref, tgt.ref)):
                continue
            if code == "010" and frame.kind == "speech" and src.ref.agent == "MED":
                # "The BBC reports that ...": news media reporting is how the story is
                # known, not an event; what they report is coded on its own.
                continue
            # in a mutual fight both sides are doers
            mutual = frame.symmetric or direction != "forward"
            pair_code = self._by_unarmed(code, src, tgt if mutual else None)
            if pair_code is None:
                continue
            s_arg = source if direction == "forward" else (target or source)
            t_arg = target if direction == "forward" else source
            features = evidence(frame, pair_code, modality, src, tgt, s_arg, t_arg, head)
            events.append(
                CodedEvent(
                    source=src.ref,
                    target=tgt.ref if tgt is not None else None,
                    code=pair_code,
                    sentence_start=sent_start,
                    sentence_end=sent_end,
                    trigger_start=trig_start,
                    trigger_end=trig_end,
                    negated=frame.negated,
                    modality=modality,
                    confidence=round(self.confidence.score(features), 3),
                    evidence=features,
                    pattern="speech" if frame.kind == "speech" else _pattern_text(frame),
                    rule=frame.pattern,
                    source_token=src.start,
                    target_token=tgt.start if tgt is not None else None,
                )
            )
        return events

    def _roles(self, state: DocState, frame: Frame, head: Token) -> tuple[Arg | None, Arg | None]:
        if frame.kind == "noun":
            source, target = self.targets.noun_actors(state, head, frame.code)
        else:
            source, target = self.targets.verb_actors(state, frame, head)
        if frame.pattern is not None and frame.pattern.swap and target is not None:
            source, target = target, source
        if frame.symmetric and target is not None and target.how == "clause":
            # "Sweden agreed that Finland had done nothing wrong": what the clause is
            # about is no partner of a mutual act.
            target = None
        return source, target

    def _code_of(
        self, state: DocState, frame: Frame, head: Token, source: Arg, target: Arg | None
    ) -> str:
        """The frame's code, as a claim when its speaker reports its own act, or by tone."""
        code = frame.code
        speaker = source.via_speech
        if speaker is not None and frame.kind == "verb" and inside(head, state.doc[speaker]):
            claimed = self.lexicon.transform("claim").apply(code)
            if claimed:
                return claimed
        if frame.kind == "speech" and code == "010":
            return self._statement_code(head, target)
        return code

    def _statement_code(self, verb: Token, target: Arg | None) -> str:
        """A statement with no event of its own, coded by what it says.

        A reported clause that speaks ill of its subject criticises it ("said the
        mediators were unprepared" 111) and one that speaks well of it praises it
        ("said Japan was a trusted partner" 051); a gloomy or hopeful clause about
        anything else is a pessimistic or optimistic comment ("said relations were
        growing tense" 012, "said the talks would succeed" 013), and so is one about a
        thing of an actor's ("said the US economy had lost jobs" 012). Neutral content
        stays a plain statement (010). The thresholds are data (``[statement_tone]``
        in ``verbs.toml``). A clause that reports its subject's own words ("said
        Western diplomats criticised the trial": a verb whose every pattern is a
        verbal act, ``from_source_roots``) judges nothing of its subject: the ill
        words are the subject's, and the statement stays 010.
        """
        rules = self.lexicon.statement_tone
        clause = next((c for c in verb.children if c.dep_ == "ccomp"), None)
        if clause is None or rules is None or self._reports_words(clause):
            return "010"
        text = " ".join(t.text for t in clause.subtree)
        compound = self.tone.score(text).compound
        # Ill or well of the subject itself judges it; of a thing of its ("the US
        # economy lost jobs", "Russia's fears") it is a comment on that thing.
        about = (
            target is not None
            and target.how == "clause"
            and target.token is not None
            and any(m.start <= target.token < m.end for m in target.mentions)
        )
        if compound <= rules.negative:
            return rules.criticise if about else rules.pessimistic
        if compound >= rules.positive:
            return rules.praise if about else rules.optimistic
        return "010"

    def _by_unarmed(self, code: str, src: Mention, partner: Mention | None) -> str | None:
        """The code of a fight whose source bears no arms: a riot, an assault or nothing.

        Protesters who "clashed with" police riot (145), villagers who "attacked"
        a convoy assault it (180), a party that "fought" a bill uses no force at
        all, and neither does a state in a mutual fight with lawmakers (no event:
        ``partner`` is the other side of a mutual act). Armed and
        state actors keep the code (``[unarmed]`` in
        ``verbs.toml``).
        """
        unarmed = self.lexicon.unarmed
        if unarmed is None:
            return code
        other = partner.ref.agent if partner is not None else None
        return unarmed.code_for(code, src.ref.agent, other)

    def _reports_words(self, clause: Token) -> bool:
        """Whether a reported clause gives another's words: its verb is only ever a verbal act.

        "said Finland criticised the plan" does; "said: 'I think she is loved'"
        gives the speaker's own view, whose tone is still read.
        """
        if clause.pos_ != "VERB" or any(
            c.dep_ == "nsubj" and c.lower_ in FIRST_PERSON for c in clause.children
        ):
            return False
        patterns = self.lexicon.verbs.get(lemma(clause), ())
        roots = {root_of(p.code) for p in patterns if p.code and p.code != "---"}
        return bool(roots) and roots <= self.lexicon.from_source_roots

    def _pairs(
        self, frame: Frame, head: Token, code: str, source: Arg, target: Arg | None
    ) -> list[tuple[Mention, Mention | None, str]]:
        """(source, target, direction) of each event: one per pair, both ways if symmetric."""
        if target is not None and target.mentions:
            pairs: list[tuple[Mention, Mention | None, str]] = []
            for s in source.mentions:
                for t in target.mentions:
                    pairs.append((s, t, "forward"))
                    if frame.symmetric:
                        pairs.append((t, s, "reverse"))
            return pairs
        if len(source.mentions) > 1 and self._mutual(frame, head, code):
            return [(s, t, "mutual") for s, t in _mutual_pairs(source)]
        if root_of(code) in self.lexicon.solo_roots and not _foreign_object(frame, head):
            # "protesters marched" and "staged protests" are events; "demonstrated the
            # new system" is not.
            return [(s, None, "forward") for s in source.mentions]
        return []

    def _own_moved(self, frame: Frame, code: str, src: Mention, tgt: Mention) -> bool:
        """Whether ``tgt`` is the force a posture's pattern names, of the source's side or none."""
        pattern_code = frame.pattern.code if frame.pattern is not None else None
        roots = {root_of(code), root_of(pattern_code or code)}
        matched = set(frame.matched)
        if not roots & self.lexicon.solo_roots or matched.isdisjoint(range(tgt.start, tgt.end)):
            return False
        return tgt.ref.country is None or tgt.ref.country == src.ref.country

    def _mutual(self, frame: Frame, head: Token, code: str) -> bool:
        """Whether coordinated subjects act on each other ("X and Y met", "held talks")."""
        if self._reciprocal(head) or frame.extra.get("mutual"):
            return True
        # "X and Y met" and "X and Y held talks", not "we will meet our goal"
        topical = frame.pattern is not None and frame.pattern.topic
        return (frame.symmetric or self.lexicon.is_mutual(code)) and (
            object_is_event(head, frame.matched) or topical
        )

    def _reciprocal(self, verb: Token) -> bool:
        """True when the verb's phrase marks the action as mutual ("each other", "their talks")."""
        for tok in phrase(verb):
            if tok.lower_ in self.lexicon.reciprocal:
                return True
            if tok.lower_ == "their" and tok.dep_ == "poss":
                noun = lemma(tok.head)
                if noun in self.lexicon.nouns or noun in self.lexicon.shared_nouns:
                    return True
        return False

    # -------------------------------------------------------------- confidence


def _foreign_object(frame: Frame, head: Token) -> bool:
    """True when the verb has a direct object that its pattern did not match."""
    return has_object(head) and any(
        c.dep_ in ("dobj", "obj") and c.i not in frame.matched for c in head.children
    )


def _mutual_pairs(source: Arg) -> list[tuple[Mention, Mention]]:
    """Who acts on whom among coordinated subjects of a mutual event.

    "X, Y and Z met": every pair. "X, along with Y and Z, signed a pact": X
    with each partner, both ways; the partners are not paired with each other.
    """
    mentions = source.mentions
    if source.principals is None:
        return [(s, t) for s in mentions for t in mentions if s is not t]
    principal, partners = mentions[: source.principals], mentions[source.principals :]
    pairs = [(s, t) for s in principal for t in principal if s is not t]
    for s in principal:
        for t in partners:
            pairs += [(s, t), (t, s)]
    return pairs


def _pattern_text(frame: Frame) -> str:
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
