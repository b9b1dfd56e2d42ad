"""The project's own actor gazetteer and the records a phrase index holds.

The default gazetteer is read from ``pipeline/data/actors`` once per process:
countries with their names, demonyms, capitals and large cities
(``countries.json`` and ``countries.toml``), international organisations
(``organizations.toml``), news outlets (``media.toml``), seats of government
(``metonyms.toml``), date-bounded office-holders (``people.toml``) and agent
nouns (``agents.toml``). User
dictionaries in the TABARI/PETRARCH format become the same records
(:func:`user_actor`, :func:`user_agent`) and are merged on top (:func:`add_hit`).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from pipeline.nlp.actors.dictionaries import ActorEntry, AgentEntry, CodeRule, resolve_code
from pipeline.nlp.data import read_json, read_toml
from pipeline.nlp.phrases import Phrase, PhraseIndex, phrase_keys, plural_of, word_keys


@dataclass(frozen=True, slots=True)
class Actor:
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
class Agent:
    """An agent noun: its code and how it combines."""

    name: str
    code: str
    prefix: bool = False
    generic: bool = False
    title: bool = False


@dataclass(frozen=True, slots=True)
class Hit:
    """What a phrase in the index stands for."""

    kind: str
    actor: Actor | None = None
    agent: Agent | None = None
    user: bool = False


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

    entries: list[tuple[Phrase, Hit]] = field(default_factory=list)
    country_names: dict[str, str] = field(default_factory=dict)
    agent_labels: dict[str, str] = field(default_factory=dict)
    people_by_surname: dict[str, list[Actor]] = field(default_factory=dict)
    modifier_heads: set[str] = field(default_factory=set)
    stateless_modifiers: set[str] = field(default_factory=set)
    stateless_plurals: set[str] = field(default_factory=set)
    generic_nouns: set[str] = field(default_factory=set)

    def add(self, text: str, hit: Hit) -> None:
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
    _load_named(gaz, _read_toml("organizations.toml"), "org")
    _load_named(gaz, _read_toml("media.toml"), "outlet")
    _load_metonyms(gaz, _read_toml("metonyms.toml"))
    _load_people(gaz, _read_toml("people.toml"))
    return gaz


def _load_agents(gaz: Gazetteer, data: dict[str, Any]) -> None:
    gaz.agent_labels.update(data.get("labels", {}))
    for noun in data.get("modifiers", {}).get("heads", []):
        gaz.modifier_heads.update({noun.lower(), plural_of(noun).lower()})
    stateless = data.get("stateless", {})
    gaz.stateless_modifiers.update(w.lower() for w in stateless.get("modifiers", []))
    gaz.stateless_plurals.update(plural_of(w).lower() for w in stateless.get("one_per_country", []))
    for table in data.get("agent", []):
        code = table["code"]
        invariant = {n.lower() for n in table.get("invariant", [])}
        generic = {n.lower() for n in table.get("generic", [])}
        gaz.generic_nouns.update(generic | {plural_of(n) for n in generic})
        titles = [str(n) for n in table.get("titles", [])]
        for noun in [*titles, *table.get("nouns", [])]:
            agent = Agent(
                noun.lower(),
                code,
                prefix=bool(table.get("prefix", False)),
                generic=noun.lower() in generic,
                title=noun in titles,
            )
            forms = [noun] if noun.lower() in invariant else [noun, plural_of(noun)]
            for form in forms:
                gaz.add(form, Hit("agent", agent=agent))
    for text in data.get("block", {}).get("phrases", []):
        gaz.add(text, Hit("block"))


def _load_countries(gaz: Gazetteer) -> None:
    generated = read_json("actors", "countries.json")
    curated = _read_toml("countries.toml")
    extra: dict[str, dict[str, Any]] = curated.get("countries", {})
    for text in curated.get("block", {}).get("phrases", []):
        gaz.add(text, Hit("block"))
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
        actor = Actor(common, (CodeRule(code),))
        gaz.country_names[code] = common
        for i, name in enumerate(names):
            gaz.add(name, Hit("name" if i < len(row.get("names", [])) else "alias", actor=actor))
        plural = bool(more.get("plural", True))
        for demonym in more.get("demonyms", []):
            for form in _demonym_forms(demonym, plural):
                gaz.add(form, Hit("demonym", actor=actor))
        if row.get("capital"):
            gaz.add(row["capital"], Hit("metonym", actor=actor))
        for city in row.get("cities", []):
            gaz.add(city, Hit("alias", actor=actor))


def _load_named(gaz: Gazetteer, data: dict[str, Any], kind: str) -> None:
    """Organisations or media outlets: a name, a code and aliases each."""
    for table in data.get(kind, []):
        actor = Actor(table["name"], (CodeRule(table["code"]),))
        gaz.add(table["name"], Hit("name", actor=actor))
        for alias in table.get("aliases", []):
            gaz.add(alias, Hit("alias", actor=actor))


def _load_metonyms(gaz: Gazetteer, data: dict[str, Any]) -> None:
    for table in data.get("seat", []):
        rule = CodeRule(table["code"])
        # Each phrase names its own institution (the State Department is not the
        # White House), though all of them stand for the same CAMEO actor.
        for text in table["phrases"]:
            gaz.add(text, Hit("metonym", actor=Actor(text, (rule,))))


def _load_people(gaz: Gazetteer, data: dict[str, Any]) -> None:
    for table in data.get("person", []):
        rules: list[CodeRule] = []
        titles: list[tuple[CodeRule, str]] = []
        for role in table.get("roles", []):
            rule = CodeRule(role["code"], role.get("start"), role.get("end"))
            rules.append(rule)
            if role.get("title"):
                titles.append((rule, str(role["title"]).lower()))
        actor = Actor(
            table["name"],
            tuple(rules),
            fallback=table.get("country"),
            person=True,
            titles=tuple(titles),
        )
        gaz.add(table["name"], Hit("name", actor=actor))
        for alias in table.get("aliases", []):
            gaz.add(alias, Hit("alias", actor=actor))
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


def user_actor(entry: ActorEntry, countries: Container[str]) -> Actor:
    """The record of a user dictionary's actor; ``countries`` tell which code heads are states."""
    return Actor(
        entry.name,
        entry.rules,
        fallback=_common_country(entry.rules, countries),
        user=True,
    )


def user_agent(entry: AgentEntry) -> Agent:
    """The record of a user dictionary's agent."""
    return Agent(entry.name, entry.code, prefix=entry.prefix)


def add_hit(index: PhraseIndex[Hit], phrase: Phrase, hit: Hit) -> None:
    """Add a phrase; an actor and an agent reading of the same phrase are kept together.

    "Senate" can be a dictionary's U.S. Senate and the agent LEG: after a
    country ("Rwanda's Senate") the agent reading applies.
    """
    known = index.get(phrase)
    # User dictionaries replace the default data outright; within one layer an
    # actor and an agent reading of a phrase are merged.
    if known is not None and known.user == hit.user and "block" not in (hit.kind, known.kind):
        if hit.actor is None and known.actor is not None and hit.agent is not None:
            hit = Hit(known.kind, actor=known.actor, agent=hit.agent, user=hit.user)
        elif hit.agent is None and known.agent is not None and hit.actor is not None:
            hit = Hit(hit.kind, actor=hit.actor, agent=known.agent, user=hit.user)
    index.add(phrase, hit)


_DATELINE_MARKS = frozenset({":", "--", "\u2014", "\u2013", "-"})
_DATELINE_MAX = 10
_NAME_POS = frozenset({"PROPN", "NOUN", "ADJ", "X"})
