"""Actor coding: find every actor mention in a parsed article and give it a CAMEO code.

The coder reads the project's own gazetteer from ``pipeline/data/actors``
(see :mod:`pipeline.nlp.actors.gazetteer`) and merges any user dictionaries in
the TABARI/PETRARCH format on top of it: user entries win where a phrase is in
both.

``ActorCoder.find`` works on a spaCy ``Doc`` in five steps:

1. longest match of every phrase over the tokens' keys, left to right
   (:func:`pipeline.nlp.actors.phrases.scan`), except inside the names of
   other things ("told USA Today": :mod:`pipeline.nlp.actors.names`);
2. mentions in one noun phrase are chained (:func:`pipeline.nlp.actors.phrases.chain`):
   "Russian military" -> RUSMIL, "Secretary of State Antony Blinken" -> the
   person's code, "lawmakers in Ukraine" -> UKRLEG;
3. each chain resolves to one code on the story date; a bare agent gets the
   unknown-country code ``---`` ("---LEG"); a later surname ("Wang") or title
   ("the president") takes the code of the earlier full mention
   (:mod:`pipeline.nlp.actors.coreference`);
4. pronouns, "the country", "the government" and possessors ("its foreign
   ministry") take the code of their antecedent (:mod:`pipeline.nlp.actors.anaphora`);
5. an agent still of unknown country takes the country of its noun phrase,
   its sentence, the dateline or the article's dominant country, nearest first
   (:mod:`pipeline.nlp.actors.context`, :mod:`pipeline.nlp.actors.setting`);
   ``ActorRef.match`` says which ("agent+sentence").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from spacy.tokens import Doc

from pipeline.models import ActorRef, Span
from pipeline.nlp.actors.anaphora import coref_words, resolve_references
from pipeline.nlp.actors.codes import UNKNOWN, ActorCodes, code_sets
from pipeline.nlp.actors.context import (
    attach_phrases,
    follow_antecedents,
    located_troops,
    place_by_sentence,
    sentence_indices,
    share_country,
    stateless_agents,
)
from pipeline.nlp.actors.coreference import (
    Coref,
    abbreviation_mentions,
    remember,
    surname_mentions,
    title_coref,
)
from pipeline.nlp.actors.dictionaries import load_actor_dictionary, load_agent_dictionary
from pipeline.nlp.actors.gazetteer import (
    Actor,
    Agent,
    Gazetteer,
    Hit,
    add_hit,
    default_gazetteer,
    user_actor,
    user_agent,
)
from pipeline.nlp.actors.names import drop_modifier_agents, drop_name_insides
from pipeline.nlp.actors.phrases import ActorMention, Chain, Raw, chain, is_person, scan
from pipeline.nlp.actors.setting import place_by_setting, place_in_dateline_sentence, split_dateline
from pipeline.nlp.phrases import PhraseIndex, word_keys

__all__ = ["ActorCoder", "ActorMention"]

log = logging.getLogger(__name__)


class ActorCoder:
    """Finds and codes actor mentions; load once per process, then call :meth:`find`."""

    def __init__(
        self,
        index: PhraseIndex[Hit],
        gazetteer: Gazetteer,
        country_names: dict[str, str],
        agent_codes: frozenset[str],
    ) -> None:
        self._index = index
        self._country_names = country_names
        self._agent_labels = gazetteer.agent_labels
        self._people_by_surname = gazetteer.people_by_surname
        self._modifier_heads = frozenset(gazetteer.modifier_heads)
        self._generic = frozenset(gazetteer.generic_nouns)
        self._stateless = frozenset(gazetteer.stateless_modifiers)
        self._stateless_plurals = frozenset(gazetteer.stateless_plurals)
        self._coref_words = coref_words()
        self._codes = ActorCodes(
            countries=country_names, agents=agent_codes, regions=code_sets().regions
        )

    @classmethod
    @classmethod
    def load(
        cls,
        actor_dictionaries: Sequence[Path] = (),
        agent_dictionaries: Sequence[Path] = (),
    ) -> ActorCoder:
        """Build a coder from the default gazetteer plus user dictionaries.

        Args:
            actor_dictionaries: Actor files in the TABARI/PETRARCH format; later
                files override earlier ones and all override the default data.
            agent_dictionaries: Agent files in the same format.

        Returns:
            The coder.
        """
        gaz = default_gazetteer()
        index: PhraseIndex[Hit] = PhraseIndex()
        for phrase, hit in gaz.entries:
            add_hit(index, phrase, hit)
        sets = code_sets()
        agent_codes = set(sets.agents)
        for agent_path in agent_dictionaries:
            for agent_entry in load_agent_dictionary(Path(agent_path)):
                agent_codes.add(agent_entry.code[:3])
                agent_hit = Hit("agent", agent=user_agent(agent_entry), user=True)
                for phrase in agent_entry.phrases:
                    add_hit(index, phrase, agent_hit)
        countries = dict(gaz.country_names)
        user_actors = [
            entry for path in actor_dictionaries for entry in load_actor_dictionary(Path(path))
        ]
        # A user dictionary may define states of its own (the validation suite's
        # fictional ones): any code head that is not a non-state or region code.
        for entry in user_actors:
            for rule in entry.rules:
                head = rule.code[:3]
                if head.isalpha() and head not in sets.non_state | sets.regions | agent_codes:
                    countries.setdefault(head, head)
        for actor_entry in user_actors:
            actor_hit = Hit("dictionary", actor=user_actor(actor_entry, countries), user=True)
            for phrase in actor_entry.phrases:
                add_hit(index, phrase, actor_hit)
        index.freeze()
        log.info(
            "actor coder: %d phrases, %d user actors from %d files, %d agent files",
            len(index),
            len(user_actors),
            len(actor_dictionaries),
            len(agent_dictionaries),
        )
        return cls(index, gaz, countries, frozenset(agent_codes))

    # ---------------------------------------------------------------- public API

    # ---------------------------------------------------------------- public API

    def find(self, doc: Doc, story_date: date | None) -> list[ActorMention]:
        """Return every actor mention of ``doc``, non-overlapping, in document order.

        Args:
            doc: A parsed (or rebuilt) spaCy doc.
            story_date: The date date-bounded codes are resolved on.

        Returns:
            The mentions, each with its :class:`~pipeline.models.ActorRef`.
        """
        raws = drop_name_insides(doc, list(scan(doc, self._index)))
        chains = chain(doc, drop_modifier_agents(doc, raws, self._modifier_heads))
        coref = Coref()
        mentions: list[ActorMention] = []
        bases: list[str | None] = []
        taken: set[int] = set()
        for link in chains:
            resolved = self._resolve(doc, link, story_date, coref)
            if resolved is not None:
                mentions.append(resolved[0])
                bases.append(resolved[1])
                taken.update(range(resolved[0].start, resolved[0].end))
        mentions = share_country(doc, mentions, bases, self._codes)
        mentions.extend(surname_mentions(doc, coref, taken))
        taken.update(i for m in mentions for i in range(m.start, m.end))
        mentions.extend(abbreviation_mentions(doc, mentions, taken))
        mentions.sort(key=lambda m: m.start)
        return self._place(doc, mentions)

    def phrase_tokens(self, doc: Doc) -> set[int]:
        """The tokens inside any phrase of the gazetteer or dictionaries (no entities needed)."""
        return {i for raw in scan(doc, self._index) for i in range(raw.start, raw.end)}

    @property
    def referring(self) -> frozenset[str]:
        """The lowercased words that refer back to an actor: pronouns, "country", ..."""
        words = self._coref_words
        return frozenset(
            w.lower()
            for w in (
                *words.pronouns,
                *words.possessives,
                *words.state_nouns,
                *words.government_nouns,
                *words.organisations,
            )
        )

    def _place(self, doc: Doc, mentions: list[ActorMention]) -> list[ActorMention]:
        """Give agents of unknown country the country their context gives, nearest first.

        Their phrase (:func:`attach_phrases`), an antecedent
        (:func:`resolve_references`, which also codes pronouns), the dateline
        in its own sentence, their sentence (:func:`place_by_sentence`), then
        the article's setting (:func:`place_by_setting`).
        """
        codes = self._codes
        mentions, filed = split_dateline(doc, mentions)
        mentions = attach_phrases(doc, mentions, codes, self._generic)
        sentence_of = sentence_indices(doc)
        mentions = resolve_references(doc, mentions, sentence_of, codes, self._coref_words)
        skip = located_troops(doc, mentions) | stateless_agents(
            doc, mentions, self._stateless, self._stateless_plurals
        )
        referred = mentions
        mentions = place_in_dateline_sentence(mentions, filed, codes, skip)
        mentions = place_by_sentence(doc, mentions, sentence_of, codes, skip)
        mentions = place_by_setting(mentions, filed, codes, skip)
        return follow_antecedents(referred, mentions)

    def code_parts(self, code: str) -> tuple[str | None, str | None]:
        """Split a CAMEO actor code into its country and (first) agent.

        Args:
            code: e.g. ``"USAGOV"``, ``"---REB"``, ``"IGOUNO"``, ``"PSEREBHMS"``.

        Returns:
            ``(country, agent)``, each None when the code has none.
        """
        return self._codes.parts(code)

    def combine(self, code: str, agent: str, *, prefix: bool = False) -> str:
        """Add an agent to an actor code (see :meth:`ActorCodes.combine`)."""
        return self._codes.combine(code, agent, prefix=prefix)

    # ---------------------------------------------------------------- step 3: resolve

    def _resolve(
        self, doc: Doc, link: Chain, day: date | None, coref: Coref
    ) -> tuple[ActorMention, str | None] | None:
        """Code one chain; also return the actor's own code when an agent was added to it."""
        agent = self._pick_agent(link.agents)
        primary, code = self._primary(doc, link, day)
        start, end = link.start, link.end
        span = Span(start=doc[start].idx, end=doc[end - 1].idx + len(doc[end - 1].text))
        # The span's own text: Doc.text joins every token of the article on each call.
        text = doc[start:end].text
        known = self._titled_person(doc, link, agent, code, day)
        if known is not None:
            # "Prime Minister Brown" in 2008: the curated Gordon Brown.
            ref = self._ref(text, known.name, known.code_on(day) or UNKNOWN, span, "title")
            remember(doc, link, None, agent, ref, day, coref)
            return ActorMention(start, end, ref, person=True), None
        if primary is None or code is None:
            if agent is None:
                return None
            referred = title_coref(doc, link, agent, coref)
            if referred is not None:
                ref = referred.model_copy(update={"text": text, "span": span, "match": "coref"})
                return ActorMention(start, end, ref, person=True), None
            ref = self._agent_ref(doc, link, agent, text, span)
            remember(doc, link, None, agent, ref, day, coref)
            return ActorMention(start, end, ref, person=link.person_tokens is not None), None
        ref, base = self._actor_ref(doc, link, primary, code, agent, text, span)
        remember(doc, link, primary, agent, ref, day, coref)
        person = is_person(doc, primary) or link.person_tokens is not None
        return ActorMention(start, end, ref, person=person), base

    @staticmethod
    def _primary(doc: Doc, link: Chain, day: date | None) -> tuple[Raw | None, str | None]:
        """The chain's actor that gives the code: a person wins, else the last one."""
        primary: Raw | None = None
        code: str | None = None
        for raw in reversed(link.actors):
            assert raw.hit.actor is not None
            candidate = raw.hit.actor.code_on(day)
            if candidate is None:
                continue
            person = is_person(doc, raw)
            if primary is None or person:
                primary, code = raw, candidate
                if person:
                    break
        return primary, code

    def _ref(self, text: str, name: str, code: str, span: Span, match: str) -> ActorRef:
        country, agent = self._codes.parts(code)
        return ActorRef(
            text=text, name=name, code=code, country=country, agent=agent, span=span, match=match
        )

    def _agent_ref(self, doc: Doc, link: Chain, agent: Agent, text: str, span: Span) -> ActorRef:
        """A bare agent: the unknown country and the agent ("---LEG")."""
        code = f"{agent.code}{UNKNOWN}" if agent.prefix else f"{UNKNOWN}{agent.code}"
        name = self._agent_label(agent)
        if link.person_tokens is not None:
            name = doc[link.person_tokens[0] : link.person_tokens[1]].text
        return ActorRef(
            text=text,
            name=name,
            code=code,
            country=None,
            agent=agent.code[:3],
            span=span,
            match="agent",
        )

    def _actor_ref(
        self,
        doc: Doc,
        link: Chain,
        primary: Raw,
        code: str,
        agent: Agent | None,
        text: str,
        span: Span,
    ) -> tuple[ActorRef, str | None]:
        """A named actor, with the chain's agent added to its code."""
        assert primary.hit.actor is not None
        actor = primary.hit.actor
        person = is_person(doc, primary)
        kind = "dictionary" if actor.user else primary.hit.kind
        name = actor.name
        base: str | None = None
        if agent is not None:
            combined = self._codes.combine(code, agent.code, prefix=agent.prefix)
            if combined != code:
                base, code = code, combined
                if not person:
                    name = f"{actor.name} {self._agent_label(agent)}"
                    kind = kind if actor.user else "agent+phrase"
        if link.person_tokens is not None and not person:
            kind = "title"
            first, last = link.person_tokens
            name = doc[first:last].text
        return self._ref(text, name, code, span, kind), base

    def _titled_person(
        self, doc: Doc, link: Chain, agent: Agent | None, code: str | None, day: date | None
    ) -> Actor | None:
        """A curated office-holder named by title and surname only, if exactly one fits."""
        if link.person_tokens is None or agent is None or not agent.title:
            return None
        first, last = link.person_tokens
        keys = word_keys(doc[last - 1].text)
        if not keys:
            return None
        country = self._codes.parts(code)[0] if code is not None else None
        title_words = set(agent.name.split())
        fits = []
        for person in self._people_by_surname.get(keys[-1], []):
            if not person.in_office(day):
                continue
            held = person.title_on(day) or ""
            if not title_words & set(held.split()):
                continue
            if country is not None and (person.code_on(day) or "")[:3] != country:
                continue
            fits.append(person)
        return fits[0] if len(fits) == 1 else None

    @staticmethod
    def _pick_agent(agents: list[Raw]) -> Agent | None:
        if not agents:
            return None
        chosen = agents[-1].hit.agent
        assert chosen is not None
        if chosen.generic:
            for raw in reversed(agents[:-1]):
                assert raw.hit.agent is not None
                if not raw.hit.agent.generic:
                    return raw.hit.agent
        return chosen

    def _agent_label(self, agent: Agent) -> str:
        return self._agent_labels.get(agent.code[:3], agent.name)
