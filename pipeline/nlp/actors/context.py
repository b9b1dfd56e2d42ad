"""Countries for agents from their noun phrase and their sentence.

An agent noun with no country of its own ("police", ---COP) takes one from the
nearest context that gives one; ``ActorRef.match`` records where it came from
as a suffix on the match value:

* ``+phrase``: its own noun phrase, read on the parse: a coordinated partner
  ("Danish media and government" -> DNKGOV), an of/in/from/for/at phrase that
  the adjacent-chain step did not join ("the ministry of defence of Japan" ->
  JPNGOV, "officials at the Japanese embassy" -> JPNGOV), an apposition ("the
  spokesman, a Japanese diplomat," -> JPNGOV). An agent that the chain step
  combined with a country ("Russian military") is ``agent+phrase`` too.
* ``+sentence``: the one country its sentence names, when every actor of the
  sentence that has a country has the same one ("Pakistan's interior minister
  said police had detained ..." -> PAKCOP; "In Kabul, police arrested ..." ->
  AFGCOP). Two countries in the sentence ("Police said the men had crossed
  from India into Nepal") leave it alone, and a country said in a reported
  clause does not place the one who says it ("Officials said Iran had ...").

Troops located "in" a country (:func:`located_troops`) and agents that an
adjective says belong to no one country ("foreign troops", "the international
community": :func:`stateless_agents`) take no country from any context rule.

The article's setting (dateline, dominant country) is the last resort:
:mod:`pipeline.nlp.actors.setting`.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import replace

from spacy.tokens import Doc, Token

from pipeline.nlp.actors.codes import UNKNOWN, ActorCodes
from pipeline.nlp.actors.phrases import ActorMention

CONTEXT_SUFFIXES = ("+sentence", "+dateline", "+article")
"""Match suffixes of countries taken from outside the mention's own noun phrase."""

_ATTACH_PREPS = frozenset({"of", "in", "from", "for", "at"})
_MAX_REACH = 8


def unplaced(mention: ActorMention) -> bool:
    """Whether a mention is an agent of unknown country ("---COP") that context may place.

    A mention that refers back ("they", "the president": match ``coref``) is
    not placed on its own: it follows its antecedent (:func:`follow_antecedents`).
    """
    ref = mention.ref
    return ref.code.startswith(UNKNOWN) and ref.agent is not None and ref.match != "coref"


def placed_by_text(mention: ActorMention) -> bool:
    """Whether a mention's country was named by the text, not taken from its context."""
    return mention.ref.country is not None and not mention.ref.match.endswith(CONTEXT_SUFFIXES)


def place(mention: ActorMention, base: str, how: str, codes: ActorCodes) -> ActorMention:
    """Give an agent of unknown country the country of ``base``; ``how`` is the match suffix.

    Args:
        mention: An agent mention coded ``---XXX``.
        base: The code whose country it takes (``"PAK"``, ``"JPNGOV"``, ``"PSEGZA"``).
        how: ``"phrase"``, ``"sentence"``, ``"dateline"`` or ``"article"``.
        codes: The coder's code segments.

    Returns:
        The mention with its new code and ``match`` ("agent" -> "agent+sentence").
    """
    ref = mention.ref
    assert ref.agent is not None
    code = codes.combine(base, ref.agent)
    country, agent = codes.parts(code)
    match = f"{ref.match.split('+', 1)[0]}+{how}"
    update = {"code": code, "country": country, "agent": agent, "match": match}
    return replace(mention, ref=ref.model_copy(update=update))


def owners(mentions: Sequence[ActorMention], size: int) -> list[int | None]:
    """For each token of a doc of ``size`` tokens, the index of the mention that holds it."""
    owner: list[int | None] = [None] * size
    for i, mention in enumerate(mentions):
        for t in range(mention.start, min(mention.end, size)):
            owner[t] = i
    return owner


def share_country(
    doc: Doc, mentions: list[ActorMention], bases: list[str | None], codes: ActorCodes
) -> list[ActorMention]:
    """Coordinated agents share a country: "Danish media and government" -> DNKGOV."""
    owner = owners(mentions, len(doc))
    out = list(mentions)
    for i, mention in enumerate(mentions):
        if not unplaced(mention):
            continue
        head = doc[mention.end - 1]
        partners = [head.head] if head.dep_ == "conj" else []
        partners += [t for t in head.children if t.dep_ == "conj"]
        for partner in partners:
            j = owner[partner.i]
            base = bases[j] if j is not None and j != i else None
            if j is None or base is None:
                continue
            shared = place(mention, base, "phrase", codes)
            name = f"{mentions[j].ref.name.rsplit(' ', 1)[0]} {mention.ref.name}"
            out[i] = replace(shared, ref=shared.ref.model_copy(update={"name": name}))
            break
    return out


def _country_token(
    token: Token, mentions: Sequence[ActorMention], owner: Sequence[int | None]
) -> int | None:
    """The mention with a country at ``token`` or at a modifier of it ("the Japanese embassy")."""
    for candidate in [
        token,
        *(c for c in token.children if c.dep_ in ("poss", "amod", "compound")),
    ]:
        j = owner[candidate.i]
        if j is not None and mentions[j].ref.country is not None:
            return j
    return None


def _phrase_partner(
    root: Token, mentions: Sequence[ActorMention], owner: Sequence[int | None]
) -> int | None:
    """The mention of the agent's own phrase that gives it a country, if one does."""
    if root.dep_ == "appos":
        j = _country_token(root.head, mentions, owner)
        if j is not None:
            return j
    for child in root.children:
        if child.dep_ == "appos":
            j = _country_token(child, mentions, owner)
            if j is not None:
                return j
        if child.dep_ != "prep" or child.lower_ not in _ATTACH_PREPS:
            continue
        if child.lower_ == "in" and root.lemma_ in ("troop", "force", "soldier", "military"):
            continue  # troops "in" a country are as often foreign troops as its own
        for pobj in _objects(child, root):
            j = _country_token(pobj, mentions, owner)
            if j is not None:
                return j
    return None


def _objects(prep: Token, root: Token) -> list[Token]:
    """The objects of ``prep`` and of an "of" phrase inside them, near ``root``.

    "the ministry of defence of Japan": "defence", then "Japan".
    """
    found: list[Token] = []
    for pobj in prep.children:
        if pobj.dep_ != "pobj" or abs(pobj.i - root.i) > _MAX_REACH:
            continue
        found.append(pobj)
        for inner in pobj.children:
            if inner.dep_ == "prep" and inner.lower_ == "of":
                found.extend(
                    t
                    for t in inner.children
                    if t.dep_ == "pobj" and abs(t.i - root.i) <= _MAX_REACH
                )
    return found


def attach_phrases(
    doc: Doc, mentions: list[ActorMention], codes: ActorCodes, generic: Container[str]
) -> list[ActorMention]:
    """Countries from the parse of an agent's noun phrase (see the module docstring).

    A bare country right after the agent in its phrase joins the mention ("the
    ministry of defence of Japan" is one mention, JPNGOV); a generic head
    (``generic``: "spokesman", "official") takes the partner's whole code ("a
    spokesman for the Japanese military" -> JPNMIL).
    """
    owner = owners(mentions, len(doc))
    out: list[ActorMention | None] = list(mentions)
    for i, mention in enumerate(mentions):
        if not unplaced(mention):
            continue
        root = doc[mention.start : mention.end].root
        j = _phrase_partner(root, mentions, owner)
        if j is None or out[j] is None:
            continue
        partner = mentions[j]
        whole = root.lower_ in generic or root.lemma_.lower() in generic
        base = partner.ref.code if whole else str(partner.ref.country)
        placed = place(mention, base, "phrase", codes)
        if (
            partner.start >= mention.end
            and partner.ref.agent is None
            and _joins(doc, mentions, i, j, owner)
        ):
            span = placed.ref.span.model_copy(update={"end": partner.ref.span.end})
            text = doc[mention.start : partner.end].text
            placed = replace(
                placed,
                end=partner.end,
                ref=placed.ref.model_copy(update={"span": span, "text": text}),
            )
            out[j] = None
        out[i] = placed
    return [m for m in out if m is not None]


def _joins(
    doc: Doc, mentions: Sequence[ActorMention], i: int, j: int, owner: Sequence[int | None]
) -> bool:
    """Whether mention ``j`` and the words before it lie in the phrase of mention ``i``."""
    root = doc[mentions[i].start : mentions[i].end].root
    for token in doc[mentions[i].end : mentions[j].end]:
        if owner[token.i] not in (None, j) or root not in token.ancestors:
            return False
    return True


def sentence_indices(doc: Doc) -> list[int]:
    """For each token, the position of its sentence (one pass over the doc)."""
    index = [0] * len(doc)
    for n, sent in enumerate(doc.sents):
        for i in range(sent.start, sent.end):
            index[i] = n
    return index


def located_troops(doc: Doc, mentions: Sequence[ActorMention]) -> set[int]:
    """Where troops "in" a country start: it says where they are, not whose they are.

    "Troops in Mali fired on ..." and "forces in Syria" are as often foreign
    forces as the country's own, so no context rule gives them its country;
    the chain step leaves them alone for the same reason.
    """
    owner = owners([m for m in mentions if m.ref.country is not None], len(doc))
    found: set[int] = set()
    for mention in mentions:
        if mention.ref.agent != "MIL" or not unplaced(mention):
            continue
        root = doc[mention.start : mention.end].root
        if any(
            child.dep_ == "prep" and child.lower_ == "in" and owner[pobj.i] is not None
            for child in root.children
            for pobj in child.children
        ):
            found.add(mention.start)
    return found


def stateless_agents(
    doc: Doc,
    mentions: Sequence[ActorMention],
    modifiers: Container[str],
    plurals: Container[str],
) -> set[int]:
    """Where agents start that are of no one country.

    "Foreign troops killed six civilians" in an Afghan story are not Afghan
    troops, and "the international community" or "Western diplomats" are no
    one country's: an agent of unknown country whose head has such a modifier
    (``[stateless]`` of ``agents.toml``) before the mention keeps no country.
    A modifier inside the mention belongs to its agent noun ("the foreign
    minister"), and one inside a name belongs to the name ("the Dubai World
    conglomerate", "International Red Cross workers"). Nor is the plural of
    what a country has one of (``plurals``: "many governments continue to
    suppress the opposition") any one country's.
    """
    found: set[int] = set()
    for mention in mentions:
        if not unplaced(mention):
            continue
        root = doc[mention.start : mention.end].root
        if root.lower_ in plurals and root.tag_ == "NNS":
            found.add(mention.start)
        elif any(
            child.i < mention.start
            and child.dep_ in ("amod", "compound")
            and child.lower_ in modifiers
            and not _in_name(child)
            for child in root.lefts
        ):
            found.add(mention.start)
    return found


def _in_name(token: Token) -> bool:
    """Whether a word is part of a proper name.

    It is when it is in a named entity that is no nationality, or a proper noun
    after another proper noun of the same name.
    """
    if token.ent_type_ and token.ent_type_ != "NORP":
        return True
    before = token.nbor(-1) if token.i > 0 else None
    return (
        token.pos_ == "PROPN"
        and before is not None
        and before.pos_ == "PROPN"
        and before.dep_ == "compound"
    )


def _reported(doc: Doc, mention: ActorMention) -> frozenset[int]:
    """The reported clauses (``ccomp``) a mention stands in, by their head tokens."""
    root = doc[mention.start : mention.end].root
    return frozenset(t.i for t in (root, *root.ancestors) if t.dep_ == "ccomp")


def place_by_sentence(
    doc: Doc,
    mentions: list[ActorMention],
    sentence_of: Sequence[int],
    codes: ActorCodes,
    skip: Container[int] = (),
) -> list[ActorMention]:
    """An agent of unknown country takes the one country its sentence names, if only one.

    A country inside a reported clause the agent is not in does not count:
    in "Officials said Iran had evaded the sanctions" the officials are not
    Iran's, while in "Peru's interior minister said police had detained four
    men" the police are Peru's. Mentions that start at ``skip``
    (:func:`located_troops`) are left alone.
    """
    named: dict[int, list[tuple[str, frozenset[int]]]] = {}
    for mention in mentions:
        if placed_by_text(mention):
            assert mention.ref.country is not None
            entry = (mention.ref.country, _reported(doc, mention))
            named.setdefault(sentence_of[mention.start], []).append(entry)
    out: list[ActorMention] = []
    for mention in mentions:
        if unplaced(mention) and mention.start not in skip:
            clauses = _reported(doc, mention)
            countries = {
                country
                for country, inside in named.get(sentence_of[mention.start], [])
                if inside <= clauses
            }
            if len(countries) == 1:
                mention = place(mention, countries.pop(), "sentence", codes)
        out.append(mention)
    return out


def follow_antecedents(
    before: Sequence[ActorMention], after: Sequence[ActorMention]
) -> list[ActorMention]:
    """Mentions that refer back take the country their antecedent was given by context.

    "Rebels attacked Kidal. They ..." with a later rule placing the rebels
    (MLIREB): "They" was coded as the rebels were, ---REB, and becomes MLIREB
    too. ``before`` and ``after`` are the mentions before and after placing,
    one to one; the antecedent is the nearest earlier mention that had the
    same name and code.
    """
    latest: dict[tuple[str, str], ActorMention] = {}
    out: list[ActorMention] = []
    for old, new in zip(before, after, strict=True):
        key = (old.ref.name, old.ref.code)
        if new.ref.match != "coref":
            latest[key] = new
        elif new.ref.code.startswith(UNKNOWN) and key in latest:
            source = latest[key].ref
            update = {"code": source.code, "country": source.country, "agent": source.agent}
            new = replace(new, ref=new.ref.model_copy(update=update))
        out.append(new)
    return out
