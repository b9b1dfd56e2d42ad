"""Who did an act an event noun names, and to whom: "Russia's invasion of Georgia".

:class:`NounRoles` reads an event noun's possessor, its by-, between- and
from-phrases, the subject of a light verb it is the object of ("the navy began
a blockade of the port"), a country's adjective on it, and, for an act named in
an adjunct, the clause's subject it is aimed at ("Despite criticism from the AU,
Mugabe attended"). :class:`~pipeline.nlp.events.targets.Targets` includes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from spacy.tokens import Token

from pipeline.nlp.events.arguments import Arguments
from pipeline.nlp.events.lexicon import Lexicon, root_of
from pipeline.nlp.events.patterns import is_passive, lemma
from pipeline.nlp.events.state import Arg, DocState, Mention, same_actor
from pipeline.nlp.events.syntax import governing_verb, predicative

# Prepositions whose object an event noun is aimed at ("talks with", "attack on",
# "an offensive inside Georgia", "an incursion into its waters").
NOUN_TARGET_PREPOSITIONS = frozenset({"to", "with", "against", "on", "in", "at", "inside", "into"})


def objects_of(verb: Token, preps: Sequence[str]) -> list[Token]:
    """The objects of the verb's prepositions among ``preps``, in the verb's order."""
    return [
        pobj
        for child in verb.children
        if child.dep_ == "prep" and child.lower_ in preps
        for pobj in child.children
        if pobj.dep_ == "pobj"
    ]


def all_own(found: Arg, avoid: Sequence[Mention]) -> bool:
    """Whether every actor ``found`` names is one of ``avoid`` (the source's own side)."""
    return all(any(same_actor(m.ref, a.ref) for a in avoid) for m in found.mentions)


def own_possession(tok: Token) -> bool:
    """Whether a possessive pronoun owns ``tok`` ("the withdrawal of its troops": the doer's)."""
    return any(c.dep_ == "poss" and c.pos_ == "PRON" for c in tok.children)


class NounRoles:
    """The source and target of an event noun."""

    lexicon: Lexicon
    args: Arguments

    def _agent_under_of(self, state: DocState, noun: Token) -> Arg | None:
        """The by-agent of an event noun that the parse put under its of-object."""
        for patient in objects_of(noun, ("of",)):
            for agent in objects_of(patient, ("by",)):
                mentions = self.args.np_actors(state, agent)
                if mentions:
                    return Arg(mentions, "agent", agent.i)
        return None

    def noun_actors(
        self, state: DocState, noun: Token, code: str = ""
    ) -> tuple[Arg | None, Arg | None]:
        """Source and target of an event noun coded ``code``: possessor or by-phrase, object."""
        source: Arg | None = None
        for child in noun.children:
            if child.dep_ == "poss":
                mentions = self.args.np_actors(state, child)
                if mentions:
                    source = Arg(mentions, "possessive", child.i)
        want = "from" if root_of(code) in self.lexicon.from_source_roots else None
        by_prep, target, patient = self._noun_phrases(state, noun, source is None, want)
        source = source or by_prep or self._noun_doer(state, noun, code)
        if target is None and source is not None:
            # Once the act's doer is named elsewhere (possessor, by-phrase, the subject of
            # "began"), its of-phrase is what it is done to: "Russia's invasion of Georgia",
            # "the navy began a blockade of the port"; without one, "the visit of the
            # president" names the doer, and is left alone.
            target = patient or self._adjunct_target(state, noun, source)
        if source is None or target is None:
            return None, None
        return source, target

    def _adjunct_target(self, state: DocState, noun: Token, source: Arg) -> Arg | None:
        """Whom an act named in an adjunct is aimed at: the clause's subject.

        "Despite criticism from the AU, Mugabe attended the summit": AU -> Mugabe.
        """
        prep = noun.head
        if noun.dep_ != "pobj" or prep.lower_ not in self.lexicon.adjunct_target_preps:
            return None
        verb = prep.head
        if verb.pos_ not in ("VERB", "AUX"):
            return None
        # "Despite criticism, Mugabe was received": the passive's subject, not its agent
        subject = (
            self.args.passive_subject(state, verb)
            if is_passive(verb)
            else self.args.subject(state, verb)
        )
        if subject is None or not subject.mentions or all_own(subject, source.mentions):
            return None
        return Arg(subject.mentions, "adjunct", subject.token)

    def _noun_phrases(
        self, state: DocState, noun: Token, want_source: bool, source_prep: str | None = None
    ) -> tuple[Arg | None, Arg | None, Arg | None]:
        """Source (between, by), target and of-patient among an event noun's phrases."""
        source: Arg | None = None
        target: Arg | None = None
        patient: Arg | None = None
        for child in noun.children:
            pobjs = [c for c in child.children if c.dep_ == "pobj"] if child.dep_ == "prep" else []
            mentions = self.args.np_actors(state, pobjs[0]) if pobjs else []
            if not mentions:
                continue
            word = child.lower_
            if word == "between" and len(mentions) >= 2 and want_source and source is None:
                source = Arg(mentions[:1], "between", pobjs[0].i)
                target = Arg(mentions[1:], "between", pobjs[0].i)
            elif word in ("by", source_prep) and want_source and source is None:
                source = Arg(mentions, "agent", pobjs[0].i)
            elif word in NOUN_TARGET_PREPOSITIONS and target is None:
                target = Arg(mentions, "prep", pobjs[0].i)
            elif word == "of" and patient is None and not own_possession(pobjs[0]):
                patient = Arg(mentions, "prep", pobjs[0].i)
        return source, target, patient

    def _noun_doer(self, state: DocState, noun: Token, code: str) -> Arg | None:
        """Who did an act named by a noun with no possessor or by-phrase of its own."""
        # "the expulsion of X by Y": the parser often hangs the by-phrase on X.
        agent = self._agent_under_of(state, noun)
        if agent is not None:
            return agent
        governor = governing_verb(noun)
        if (
            governor is not None
            and lemma(governor) in self.lexicon.light_verbs
            and not predicative(governor)  # "called the detention wrong" is a judgement
        ):
            return self.args.subject(state, governor)
        if root_of(code) in self.lexicon.kind_modifier_roots:
            return None  # "the G8 summit", "the EU talks" name the meeting's kind, not a doer
        # "the Russian offensive inside Georgia", "Palestinian suicide bombings in
        # Israel": a country's adjective on the act names who did it.
        for child in noun.children:
            if child.dep_ in ("amod", "compound", "nmod") and child.i in state.by_token:
                return Arg([state.by_token[child.i]], "possessive", child.i)
        return None
