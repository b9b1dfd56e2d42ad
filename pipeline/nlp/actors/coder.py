"""Actor coding: find every actor mention in a parsed article and give it a CAMEO code.

The coder reads the project's own gazetteer from ``pipeline/data/actors``
(countries, demonyms, capitals and seats of government, international
organisations, date-bounded office-holders and agent nouns) and merges any
user dictionaries in the TABARI/PETRARCH format on top of it: user entries
win where a phrase is in both.

``ActorCoder.find`` works on a spaCy ``Doc`` in four steps:

1. longest match of every phrase over the tokens' keys (see
   :func:`pipeline.nlp.actors.dictionaries.word_keys`), left to right, so "U.S.-led",
   "China's" and "Palestinians" meet their entries;
2. mentions in one noun phrase are chained: a country or demonym before an
   agent noun ("Russian military" -> RUSMIL), a title before a name
   ("Secretary of State Antony Blinken" -> the person's code), an agent with a
   following "of/in/from <country>" ("lawmakers in Ukraine" -> UKRLEG);
3. each chain resolves to one code on the story date; a bare agent gets the
   unknown-country code ``---`` ("---LEG");
4. article-level coreference: a later surname ("Wang") or title ("the
   president") takes the code of the earlier full mention.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from spacy.tokens import Doc

from pipeline.models import ActorRef, Span
from pipeline.nlp.actors.dictionaries import (
    ActorEntry,
    AgentEntry,
    CodeRule,
    Phrase,
    PhraseIndex,
    load_actor_dictionary,
    load_agent_dictionary,
    phrase_keys,
    plural_of,
    resolve_code,
    word_keys,
)
from pipeline.nlp.data import read_json, read_toml

log = logging.getLogger(__name__)

UNKNOWN = "---"

CAMEO_AGENTS = frozenset(
    "GOV MIL REB OPP PTY COP JUD SPY MED EDU BUS CRM CVL REF LAB AGR ELI LEG HLH HRI ENV "
    "DEV UAF MOD RAD SEP SET PPL NGM INS REL".split()
)
"""CAMEO agent (role) codes, used to split dictionary codes into country and agent."""

NON_STATE = frozenset({"IGO", "NGO", "NGM", "MNC", "IMG", "UIS", "INT"})
"""First segments of CAMEO codes for actors that belong to no state."""
REGIONS = frozenset(
    "AFR ASA BLK CAU CRB EAF EEU EUR LAM MEA NAF NMR PGS SAF SAM SAS SCN SEA WAF WST "
    "ARB MDT CAS".split()
)
"""CAMEO region codes: they take an agent ("AFRREB") but are no country."""

_POSSESSIVE = frozenset({"'s", "'", "\u2019s", "\u2019", "s"})
_FILLER_POS = frozenset({"ADJ", "NOUN", "PROPN", "NUM"})
_LINK_PREPS = frozenset({"of", "in", "from"})
_DETERMINERS = frozenset({"the"})
_NAME_PARTICLES = frozenset(
    {"al", "el", "bin", "ibn", "de", "da", "van", "von", "der", "le", "jr", "mr"}
)
_MAX_FILLER = 3


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True, slots=True)
class ActorMention:
    """One coded actor mention: tokens ``[start, end)`` of the doc and its reference."""

    start: int
    end: int
    ref: ActorRef


@dataclass(frozen=True, slots=True)
class _Actor:
    """A gazetteer or dictionary actor with its date-bounded codes."""

    name: str
    rules: tuple[CodeRule, ...]
    fallback: str | None = None
    person: bool = False
    titles: tuple[tuple[CodeRule, str], ...] = ()
    user: bool = False

    def code_on(self, day: date | None) -> str | None:
        """The code on ``day``, or the country to fall back on outside every role."""
        code = resolve_code(self.rules, day)
        if code is None and day is None and self.person and self.rules:
            # Without a date an office-holder is coded by the latest office.
            latest = max(self.rules, key=lambda r: r.start or date.min)
            return latest.code
        return code if code is not None else self.fallback

    def in_office(self, day: date | None) -> bool:
        """Whether one of the actor's own (dated or not) codes applies on ``day``."""
        return day is not None and resolve_code(self.rules, day) is not None

    def title_on(self, day: date | None) -> str | None:
        """The office held on ``day`` (the latest one without a date)."""
        if day is None:
            return self.titles[-1][1] if self.titles else None
        for rule, title in self.titles:
            if rule.applies(day):
                return title
        return None


@dataclass(frozen=True, slots=True)
class _Agent:
    """An agent noun: its code and how it combines."""

    name: str
    code: str
    prefix: bool = False
    generic: bool = False
    title: bool = False


@dataclass(frozen=True, slots=True)
class _Hit:
    """What a phrase in the index stands for."""

    kind: str
    actor: _Actor | None = None
    agent: _Agent | None = None
    user: bool = False


@dataclass(slots=True)
class _Raw:
    """A phrase found in the doc, in token indices."""

    start: int
    end: int
    hit: _Hit
    as_agent: bool = False

    @property
    def is_actor(self) -> bool:
        """Whether this phrase is read as an actor here."""
        return self.hit.actor is not None and not self.as_agent

    @property
    def is_agent(self) -> bool:
        """Whether this phrase is read as an agent here."""
        return self.hit.agent is not None and (self.as_agent or self.hit.actor is None)


@dataclass(slots=True)
class _Chain:
    """Mentions of one noun phrase, resolved together."""

    parts: list[_Raw]
    start: int
    end: int
    person_tokens: tuple[int, int] | None = None
    extra_actor: _Raw | None = None

    @property
    def actors(self) -> list[_Raw]:
        """The chain's actor phrases, a prepositional one ("in Ukraine") last."""
        found = [p for p in self.parts if p.is_actor]
        if self.extra_actor is not None:
            found.append(self.extra_actor)
        return found

    @property
    def agents(self) -> list[_Raw]:
        """The chain's agent phrases in order."""
        return [p for p in self.parts if p.is_agent]


@dataclass(slots=True)
class _Coref:
    """What the article has said so far, for surnames and titles."""

    names: dict[str, tuple[int, ActorRef]] = field(default_factory=dict)
    titles: dict[str, ActorRef] = field(default_factory=dict)


# --------------------------------------------------------------------------- loading


def _read_toml(name: str) -> dict[str, Any]:
    return read_toml("actors", name)


def _phrase(text: str) -> Phrase | None:
    keys = phrase_keys(text.split())
    return Phrase(keys) if keys else None


def _demonym_forms(word: str, plural: bool) -> list[str]:
    forms = [word]
    if plural and not word.lower().endswith(("ese", "sh", "ch", "ss")):
        forms.append(plural_of(word))
    return forms


@dataclass(slots=True)
class Gazetteer:
    """Phrases with what they stand for, ready to be indexed."""

    entries: list[tuple[Phrase, _Hit]] = field(default_factory=list)
    country_names: dict[str, str] = field(default_factory=dict)
    agent_labels: dict[str, str] = field(default_factory=dict)
    people_by_surname: dict[str, list[_Actor]] = field(default_factory=dict)

    def add(self, text: str, hit: _Hit) -> None:
        """Add one phrase (whitespace-separated words) standing for ``hit``."""
        phrase = _phrase(text)
        if phrase is not None:
            self.entries.append((phrase, hit))


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """Load the project's own actor data (cached: it is read once per process)."""
    gaz = Gazetteer()
    _load_agents(gaz, _read_toml("agents.toml"))
    _load_countries(gaz)
    _load_organizations(gaz, _read_toml("organizations.toml"))
    _load_metonyms(gaz, _read_toml("metonyms.toml"))
    _load_people(gaz, _read_toml("people.toml"))
    return gaz


def _load_agents(gaz: Gazetteer, data: dict[str, Any]) -> None:
    gaz.agent_labels.update(data.get("labels", {}))
    for table in data.get("agent", []):
        code = table["code"]
        invariant = {n.lower() for n in table.get("invariant", [])}
        generic = {n.lower() for n in table.get("generic", [])}
        titles = [str(n) for n in table.get("titles", [])]
        for noun in [*titles, *table.get("nouns", [])]:
            agent = _Agent(
                noun.lower(),
                code,
                prefix=bool(table.get("prefix", False)),
                generic=noun.lower() in generic,
                title=noun in titles,
            )
            forms = [noun] if noun.lower() in invariant else [noun, plural_of(noun)]
            for form in forms:
                gaz.add(form, _Hit("agent", agent=agent))
    for text in data.get("block", {}).get("phrases", []):
        gaz.add(text, _Hit("block"))


def _load_countries(gaz: Gazetteer) -> None:
    generated = read_json("actors", "countries.json")
    curated = _read_toml("countries.toml")
    extra: dict[str, dict[str, Any]] = curated.get("countries", {})
    for text in curated.get("block", {}).get("phrases", []):
        gaz.add(text, _Hit("block"))
    rows: dict[str, dict[str, Any]] = {row["code"]: row for row in generated["countries"]}
    for code, table in extra.items():
        if code not in rows:
            rows[code] = {"code": code, "names": [table["name"]], "capital": table.get("capital")}
    for code, row in rows.items():
        more = extra.get(code, {})
        names = [*row.get("names", []), *more.get("aliases", [])]
        if not names:
            continue
        common = more.get("name") or (row["names"][0] if row.get("names") else names[0])
        actor = _Actor(common, (CodeRule(code),))
        gaz.country_names[code] = common
        for i, name in enumerate(names):
            gaz.add(name, _Hit("name" if i < len(row.get("names", [])) else "alias", actor=actor))
        plural = bool(more.get("plural", True))
        for demonym in more.get("demonyms", []):
            for form in _demonym_forms(demonym, plural):
                gaz.add(form, _Hit("demonym", actor=actor))
        if row.get("capital"):
            gaz.add(row["capital"], _Hit("metonym", actor=actor))
        for city in row.get("cities", []):
            gaz.add(city, _Hit("alias", actor=actor))


def _load_organizations(gaz: Gazetteer, data: dict[str, Any]) -> None:
    for table in data.get("org", []):
        actor = _Actor(table["name"], (CodeRule(table["code"]),))
        gaz.add(table["name"], _Hit("name", actor=actor))
        for alias in table.get("aliases", []):
            gaz.add(alias, _Hit("alias", actor=actor))


def _load_metonyms(gaz: Gazetteer, data: dict[str, Any]) -> None:
    for table in data.get("seat", []):
        rule = CodeRule(table["code"])
        # Each phrase names its own institution (the State Department is not the
        # White House), though all of them stand for the same CAMEO actor.
        for text in table["phrases"]:
            gaz.add(text, _Hit("metonym", actor=_Actor(text, (rule,))))


def _load_people(gaz: Gazetteer, data: dict[str, Any]) -> None:
    for table in data.get("person", []):
        rules: list[CodeRule] = []
        titles: list[tuple[CodeRule, str]] = []
        for role in table.get("roles", []):
            rule = CodeRule(role["code"], role.get("start"), role.get("end"))
            rules.append(rule)
            if role.get("title"):
                titles.append((rule, str(role["title"]).lower()))
        actor = _Actor(
            table["name"],
            tuple(rules),
            fallback=table.get("country"),
            person=True,
            titles=tuple(titles),
        )
        gaz.add(table["name"], _Hit("name", actor=actor))
        for alias in table.get("aliases", []):
            gaz.add(alias, _Hit("alias", actor=actor))
        surname = word_keys(table["name"].split()[-1])
        if surname:
            gaz.people_by_surname.setdefault(surname[-1], []).append(actor)


def _common_country(rules: Sequence[CodeRule], countries: Container[str]) -> str | None:
    """The country every code of a dictionary entry shares, for dates no code covers."""
    heads = {rule.code[:3] for rule in rules}
    if len(heads) == 1:
        head = heads.pop()
        if head in countries:
            return head
    return None


def _user_actor(entry: ActorEntry, countries: Container[str]) -> _Actor:
    return _Actor(
        entry.name,
        entry.rules,
        fallback=_common_country(entry.rules, countries),
        user=True,
    )


def _user_agent(entry: AgentEntry) -> _Agent:
    return _Agent(entry.name, entry.code, prefix=entry.prefix)


def _add(index: PhraseIndex[_Hit], phrase: Phrase, hit: _Hit) -> None:
    """Add a phrase; an actor and an agent reading of the same phrase are kept together.

    "Senate" can be a dictionary's U.S. Senate and the agent LEG: after a
    country ("Rwanda's Senate") the agent reading applies.
    """
    known = index.get(phrase)
    # User dictionaries replace the default data outright; within one layer an
    # actor and an agent reading of a phrase are merged.
    if known is not None and known.user == hit.user and "block" not in (hit.kind, known.kind):
        if hit.actor is None and known.actor is not None and hit.agent is not None:
            hit = _Hit(known.kind, actor=known.actor, agent=hit.agent, user=hit.user)
        elif hit.agent is None and known.agent is not None and hit.actor is not None:
            hit = _Hit(hit.kind, actor=hit.actor, agent=known.agent, user=hit.user)
    index.add(phrase, hit)


_DATELINE_MARKS = frozenset({":", "--", "\u2014", "\u2013", "-"})
_DATELINE_MAX = 10
_NAME_POS = frozenset({"PROPN", "NOUN", "ADJ", "X"})


def dateline_end(doc: Doc) -> int | None:
    """The index of the mark that ends a wire dateline at the start of ``doc``, if any.

    A dateline is a few capitalised names (and commas or an agency in brackets)
    closed by a colon or a dash within the first ``_DATELINE_MAX`` tokens:
    "GAZA CITY, Palestinian Territories:", "KABUL (AFP) -".
    """
    for tok in doc[: _DATELINE_MAX + 1]:
        if tok.text in _DATELINE_MARKS:
            head = doc[: tok.i]
            words = [t for t in head if not t.is_punct]
            if not words or tok.i == 0:
                return None
            if all(t.text[:1].isupper() and t.pos_ in _NAME_POS for t in words):
                return tok.i
            return None
        if tok.is_sent_start and tok.i > 0:
            return None
    return None


def _person_spans(doc: Doc) -> list[tuple[int, int] | None]:
    """For each token, the PERSON entity it is part of."""
    spans: list[tuple[int, int] | None] = [None] * len(doc)
    for ent in doc.ents:
        if ent.label_ == "PERSON":
            for i in range(ent.start, ent.end):
                spans[i] = (ent.start, ent.end)
    return spans


# --------------------------------------------------------------------------- the coder


class ActorCoder:
    """Finds and codes actor mentions; load once per process, then call :meth:`find`."""

    def __init__(
        self,
        index: PhraseIndex[_Hit],
        gazetteer: Gazetteer,
        country_names: dict[str, str],
        agent_codes: frozenset[str],
    ) -> None:
        self._index = index
        self._country_names = country_names
        self._agent_labels = gazetteer.agent_labels
        self._people_by_surname = gazetteer.people_by_surname
        self._agent_codes = agent_codes

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
        index: PhraseIndex[_Hit] = PhraseIndex()
        for phrase, hit in gaz.entries:
            _add(index, phrase, hit)
        agent_codes = set(CAMEO_AGENTS)
        for agent_path in agent_dictionaries:
            for agent_entry in load_agent_dictionary(Path(agent_path)):
                agent_codes.add(agent_entry.code[:3])
                agent_hit = _Hit("agent", agent=_user_agent(agent_entry), user=True)
                for phrase in agent_entry.phrases:
                    _add(index, phrase, agent_hit)
        countries = dict(gaz.country_names)
        user_actors = [
            entry for path in actor_dictionaries for entry in load_actor_dictionary(Path(path))
        ]
        # A user dictionary may define states of its own (the validation suite's
        # fictional ones): any code head that is not a non-state or region code.
        for entry in user_actors:
            for rule in entry.rules:
                head = rule.code[:3]
                if head.isalpha() and head not in NON_STATE | REGIONS | agent_codes:
                    countries.setdefault(head, head)
        for actor_entry in user_actors:
            actor_hit = _Hit("dictionary", actor=_user_actor(actor_entry, countries), user=True)
            for phrase in actor_entry.phrases:
                _add(index, phrase, actor_hit)
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

    def find(self, doc: Doc, story_date: date | None) -> list[ActorMention]:
        """Return every actor mention of ``doc``, non-overlapping, in document order.

        Args:
            doc: A parsed (or rebuilt) spaCy doc.
            story_date: The date date-bounded codes are resolved on.

        Returns:
            The mentions, each with its :class:`~pipeline.models.ActorRef`.
        """
        raws = list(self._scan(doc))
        chains = self._chain(doc, raws)
        coref = _Coref()
        mentions: list[ActorMention] = []
        bases: list[str | None] = []
        taken: set[int] = set()
        for chain in chains:
            resolved = self._resolve(doc, chain, story_date, coref)
            if resolved is not None:
                mentions.append(resolved[0])
                bases.append(resolved[1])
                taken.update(range(resolved[0].start, resolved[0].end))
        mentions = self._share_country(doc, mentions, bases)
        mentions.extend(self._surname_mentions(doc, coref, taken))
        mentions.sort(key=lambda m: m.start)
        return self._dateline(doc, mentions)

    def _dateline(self, doc: Doc, mentions: list[ActorMention]) -> list[ActorMention]:
        """A dateline names where the story was filed, not an actor of it.

        "GAZA CITY, Palestinian Territories: Four children were killed ...": the
        places before the colon are dropped as mentions, and an agent of unknown
        country in the dateline's sentence ("children", ---CVL) takes the first
        place's code (PSEGZACVL), as wire-service coders read it.
        """
        end = dateline_end(doc)
        if end is None:
            return mentions
        places = [m for m in mentions if m.end <= end]
        base = next((m.ref.code for m in places if m.ref.country is not None), None)
        if not places:
            return mentions
        sentence_end = doc[end].sent.end if end < len(doc) else end
        out: list[ActorMention] = []
        for mention in mentions:
            if mention.end <= end:
                continue
            ref = mention.ref
            if base is not None and mention.start < sentence_end and ref.code.startswith(UNKNOWN):
                if ref.agent is not None:
                    code = self.combine(base, ref.agent)
                    country, agent = self.code_parts(code)
                    ref = ref.model_copy(update={"code": code, "country": country, "agent": agent})
                    mention = ActorMention(mention.start, mention.end, ref)
            out.append(mention)
        return out

    def _share_country(
        self, doc: Doc, mentions: list[ActorMention], bases: list[str | None]
    ) -> list[ActorMention]:
        """Coordinated agents share a country: "Danish media and government" -> DNKGOV."""
        owner: dict[int, int] = {}
        for i, mention in enumerate(mentions):
            for t in range(mention.start, mention.end):
                owner[t] = i
        out = list(mentions)
        for i, mention in enumerate(mentions):
            if not mention.ref.code.startswith(UNKNOWN) or mention.ref.agent is None:
                continue
            head = doc[mention.end - 1]
            partners = [head.head] if head.dep_ == "conj" else []
            partners += [t for t in head.children if t.dep_ == "conj"]
            for partner in partners:
                j = owner.get(partner.i)
                if j is None or j == i or bases[j] is None:
                    continue
                base = bases[j]
                assert base is not None
                code = self.combine(base, mention.ref.agent)
                country, agent = self.code_parts(code)
                name = f"{mentions[j].ref.name.rsplit(' ', 1)[0]} {mention.ref.name}"
                out[i] = ActorMention(
                    mention.start,
                    mention.end,
                    mention.ref.model_copy(
                        update={"code": code, "country": country, "agent": agent, "name": name}
                    ),
                )
                break
        return out

    def code_parts(self, code: str) -> tuple[str | None, str | None]:
        """Split a CAMEO actor code into its country and (first) agent.

        Args:
            code: e.g. ``"USAGOV"``, ``"---REB"``, ``"IGOUNO"``, ``"PSEREBHMS"``.

        Returns:
            ``(country, agent)``, each None when the code has none.
        """
        head = code[:3]
        country = head if head in self._country_names else None
        start = 3 if country is not None or head == UNKNOWN or head in REGIONS else 0
        agent = None
        for i in range(start, len(code) - 2, 3):
            if code[i : i + 3] in self._agent_codes and (i > 0 or head not in ("IGO", "NGO")):
                agent = code[i : i + 3]
                break
        return country, agent

    # ---------------------------------------------------------------- step 1: scan

    def _scan(self, doc: Doc) -> Iterator[_Raw]:
        keys: list[str] = []
        key_token: list[int] = []
        token_first: list[bool] = []
        for token in doc:
            for j, key in enumerate(word_keys(token.text)):
                keys.append(key)
                key_token.append(token.i)
                token_first.append(j == 0)
        person = _person_spans(doc)
        pos = 0
        while pos < len(keys):
            if not token_first[pos]:
                pos += 1
                continue
            found = None
            for match in self._index.matches(keys, pos):
                start = key_token[match.start]
                end = key_token[match.end - 1] + 1
                if self._acceptable(doc, start, end, match.value, person):
                    found = _Raw(start, end, match.value)
                    pos = match.end
                    break
            if found is None:
                pos += 1
                continue
            # A match that ends inside a token ("U.S." of "U.S.-led") still takes the
            # whole token; skip the token's remaining keys.
            while pos < len(keys) and not token_first[pos]:
                pos += 1
            yield found

    @staticmethod
    def _acceptable(
        doc: Doc, start: int, end: int, hit: _Hit, person: list[tuple[int, int] | None]
    ) -> bool:
        span = doc[start:end]
        if any(token.is_sent_start for token in span[1:]):
            return False
        if hit.actor is None:
            return True
        if not any(ch.isupper() for token in span for ch in token.text):
            return False
        if end - start == 1:
            token = doc[start]
            letters = token.text.replace(".", "")
            if len(letters) <= 3 and not letters.isupper():
                return False
        # A place or group name inside a longer person's name ("Michael Jordan").
        name = person[start]
        if name is not None and not hit.actor.person and end <= name[1]:
            return name == (start, end)
        return True

    # ---------------------------------------------------------------- step 2: chain

    def _chain(self, doc: Doc, raws: list[_Raw]) -> list[_Chain]:
        chains: list[_Chain] = []
        for raw in raws:
            if raw.hit.kind == "block":
                continue
            if chains and self._linkable(doc, chains[-1], raw):
                chain = chains[-1]
                chain.parts.append(raw)
                chain.end = raw.end
            else:
                chains.append(_Chain([raw], raw.start, raw.end))
        merged: list[_Chain] = []
        for chain in chains:
            if merged and self._prepositional(doc, merged[-1], chain):
                merged[-1].extra_actor = chain.parts[0]
                merged[-1].end = chain.end
                continue
            merged.append(chain)
        for chain in merged:
            self._absorb_name(doc, chain)
        return merged

    @staticmethod
    def _is_person(doc: Doc, raw: _Raw) -> bool:
        if raw.hit.actor is not None and raw.hit.actor.person:
            return True
        return any(token.ent_type_ == "PERSON" for token in doc[raw.start : raw.end])

    def _linkable(self, doc: Doc, chain: _Chain, raw: _Raw) -> bool:
        last = chain.parts[-1]
        gap = doc[chain.end : raw.start]
        if len(gap) > _MAX_FILLER or doc[raw.start].is_sent_start:
            return False
        for token in gap:
            if token.text.lower() in _POSSESSIVE or token.text == "-":
                continue
            if token.pos_ not in _FILLER_POS or token.ent_type_ in ("GPE", "NORP"):
                return False
        has_actor = bool(chain.actors)
        if raw.hit.agent is not None and (raw.hit.actor is None or has_actor):
            # "the Russian foreign minister", "Foreign Ministry spokesman", "Rwanda's Senate".
            raw.as_agent = True
            return True
        # raw is an actor.
        if self._is_person(doc, raw):
            # A name joins only right after its title or a possessive ("Russia's Lavrov").
            if any(token.text.lower() not in _POSSESSIVE for token in gap):
                return False
            return last.is_agent or not any(self._is_person(doc, p) for p in chain.actors)
        if last.is_agent and not has_actor and not gap and last.hit.agent is not None:
            # "MSF Arnor": an agent right before a country.
            return last.hit.agent.prefix
        return False

    def _prepositional(self, doc: Doc, left: _Chain, right: _Chain) -> bool:
        """``lawmakers in Ukraine``: an agent-only chain, a preposition, a lone actor."""
        if left.actors or len(right.parts) != 1 or not right.parts[0].is_actor:
            return False
        actor = right.parts[0]
        if actor.hit.actor is None or actor.hit.actor.person:
            return False
        gap = [t for t in doc[left.end : right.start]]
        if not gap or len(gap) > 2 or gap[0].lower_ not in _LINK_PREPS:
            return False
        # Troops "in" a country are as often foreign troops as its own.
        agents = left.agents
        if gap[0].lower_ == "in" and agents and agents[-1].hit.agent is not None:
            if agents[-1].hit.agent.code.startswith("MIL"):
                return False
        if len(gap) == 2 and gap[1].lower_ not in _DETERMINERS:
            return False
        after = right.end
        # "Opponents of Rwanda's Senate": the country belongs to what follows.
        if after < len(doc) and doc[after].text.lower() in _POSSESSIVE:
            return False
        return not doc[right.start].is_sent_start

    @staticmethod
    def _absorb_name(doc: Doc, chain: _Chain) -> None:
        """Take an unknown person's name after a title into the chain's span."""
        last = chain.parts[-1]
        if not last.is_agent or chain.end != last.end:
            return
        end = chain.end
        while end < len(doc) and doc[end].ent_type_ == "PERSON" and doc[end].pos_ == "PROPN":
            end += 1
        if end > chain.end:
            chain.person_tokens = (chain.end, end)
            chain.end = end

    # ---------------------------------------------------------------- step 3: resolve

    def _resolve(
        self, doc: Doc, chain: _Chain, day: date | None, coref: _Coref
    ) -> tuple[ActorMention, str | None] | None:
        """Code one chain; also return the actor's own code when an agent was added to it."""
        agent = self._pick_agent(chain.agents)
        primary: _Raw | None = None
        code: str | None = None
        for raw in reversed(chain.actors):
            assert raw.hit.actor is not None
            candidate = raw.hit.actor.code_on(day)
            if candidate is None:
                continue
            person = self._is_person(doc, raw)
            if primary is None or person:
                primary, code = raw, candidate
                if person:
                    break
        start, end = chain.start, chain.end
        span = Span(start=doc[start].idx, end=doc[end - 1].idx + len(doc[end - 1].text))
        # The span's own text: Doc.text joins every token of the article on each call.
        text = doc[start:end].text
        known = self._titled_person(doc, chain, agent, code, day)
        if known is not None:
            # "Prime Minister Brown" in 2008: the curated Gordon Brown.
            ref = ActorRef(
                text=text,
                name=known.name,
                code=known.code_on(day) or UNKNOWN,
                country=None,
                agent=None,
                span=span,
                match="title",
            )
            country, own_agent = self.code_parts(ref.code)
            ref = ref.model_copy(update={"country": country, "agent": own_agent})
            self._remember(doc, chain, None, agent, ref, day, coref)
            return ActorMention(start, end, ref), None
        if primary is None or code is None:
            if agent is None:
                return None
            referred = self._title_coref(doc, chain, agent, coref)
            if referred is not None:
                ref = referred.model_copy(update={"text": text, "span": span, "match": "coref"})
                return ActorMention(start, end, ref), None
            code = f"{agent.code}{UNKNOWN}" if agent.prefix else f"{UNKNOWN}{agent.code}"
            name = self._agent_label(agent)
            if chain.person_tokens is not None:
                name = doc[chain.person_tokens[0] : chain.person_tokens[1]].text
            ref = ActorRef(
                text=text,
                name=name,
                code=code,
                country=None,
                agent=agent.code[:3],
                span=span,
                match="agent",
            )
            self._remember(doc, chain, None, agent, ref, day, coref)
            return ActorMention(start, end, ref), None
        assert primary.hit.actor is not None
        actor = primary.hit.actor
        person = self._is_person(doc, primary)
        kind = "dictionary" if actor.user else primary.hit.kind
        name = actor.name
        base: str | None = None
        if agent is not None:
            combined = self.combine(code, agent.code, prefix=agent.prefix)
            if combined != code:
                base, code = code, combined
                if not person:
                    name = f"{actor.name} {self._agent_label(agent)}"
                    kind = kind if actor.user else "agent"
        if chain.person_tokens is not None and not person:
            kind = "title"
            first, last = chain.person_tokens
            name = doc[first:last].text
        country, own_agent = self.code_parts(code)
        ref = ActorRef(
            text=text,
            name=name,
            code=code,
            country=country,
            agent=own_agent,
            span=span,
            match=kind,
        )
        self._remember(doc, chain, primary, agent, ref, day, coref)
        return ActorMention(start, end, ref), base

    def combine(self, code: str, agent: str, *, prefix: bool = False) -> str:
        """Add an agent to an actor code, as CAMEO coders do.

        A code that already carries an agent ("USAGOV") or the same letters, or
        that belongs to no state ("IGOUNO"), is returned unchanged.

        Args:
            code: The actor code, e.g. ``"RUS"`` or ``"PSEGZA"``.
            agent: The agent code, e.g. ``"MIL"``.
            prefix: Put the agent first (``NGO~`` agents: ``"NGOARN"``).

        Returns:
            The combined code.
        """
        country, own = self.code_parts(code)
        if own is not None or agent in code:
            return code
        if country is None and code[:3] not in REGIONS and code[:3] != UNKNOWN:
            return code
        return f"{agent}{code}" if prefix else f"{code}{agent}"

    def _titled_person(
        self, doc: Doc, chain: _Chain, agent: _Agent | None, code: str | None, day: date | None
    ) -> _Actor | None:
        """A curated office-holder named by title and surname only, if exactly one fits."""
        if chain.person_tokens is None or agent is None or not agent.title:
            return None
        first, last = chain.person_tokens
        keys = word_keys(doc[last - 1].text)
        if not keys:
            return None
        country = self.code_parts(code)[0] if code is not None else None
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
    def _pick_agent(agents: list[_Raw]) -> _Agent | None:
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

    def _agent_label(self, agent: _Agent) -> str:
        return self._agent_labels.get(agent.code[:3], agent.name)

    # ---------------------------------------------------------------- step 4: coreference

    def _remember(
        self,
        doc: Doc,
        chain: _Chain,
        primary: _Raw | None,
        agent: _Agent | None,
        ref: ActorRef,
        day: date | None,
        coref: _Coref,
    ) -> None:
        person: tuple[int, int] | None = chain.person_tokens
        if primary is not None and self._is_person(doc, primary):
            person = (primary.start, primary.end)
        if person is None:
            return
        # Any part of the name may come back alone: the surname ("Blinken") or,
        # with family names first, the first token ("Wang" of "Wang Yi").
        tokens = [
            t
            for t in doc[person[0] : person[1]]
            if (t.pos_ == "PROPN" or t.is_title)
            and len(t.text.rstrip(".")) > 1
            and t.lower_ not in _NAME_PARTICLES
        ]
        for n, token in enumerate(reversed(tokens)):
            for key in word_keys(token.text):
                if n == 0 or key not in coref.names:
                    coref.names[key] = (person[1], ref)
        if agent is not None and agent.title:
            coref.titles[agent.name] = ref
        if primary is not None and primary.hit.actor is not None:
            title = primary.hit.actor.title_on(day)
            if title is not None:
                coref.titles[title] = ref

    @staticmethod
    def _title_coref(doc: Doc, chain: _Chain, agent: _Agent, coref: _Coref) -> ActorRef | None:
        if not agent.title or chain.start == 0:
            return None
        if doc[chain.start - 1].lower_ not in _DETERMINERS:
            return None
        return coref.titles.get(agent.name)

    def _surname_mentions(self, doc: Doc, coref: _Coref, taken: set[int]) -> Iterator[ActorMention]:
        """Later parts of names said in full earlier: "Wang" after "Wang Yi"."""
        if not coref.names:
            return
        for token in doc:
            if token.i in taken or token.pos_ != "PROPN" or token.ent_type_ in ("GPE", "NORP"):
                continue
            keys = word_keys(token.text)
            if len(keys) != 1 or keys[0] not in coref.names:
                continue
            after, ref = coref.names[keys[0]]
            if token.i < after:
                continue
            span = Span(start=token.idx, end=token.idx + len(token.text))
            yield ActorMention(
                token.i,
                token.i + 1,
                ref.model_copy(update={"text": token.text, "span": span, "match": "coref"}),
            )
