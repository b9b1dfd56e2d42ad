"""Who fills an event's roles: subjects, noun-phrase actors, addressees, nested actors.

:class:`Arguments` reads the parse around a verb or an event noun and returns
the actor mentions that fill a role, with how they were found (the ``how`` the
confidence model weighs).
"""

from __future__ import annotations

from spacy.tokens import Token

from pipeline.nlp.events.lexicon import Lexicon
from pipeline.nlp.events.patterns import is_passive, lemma
from pipeline.nlp.events.state import Arg, Derived, DocState, Mention
from pipeline.nlp.events.syntax import core, infinitive, quoted

PRONOUNS = frozenset({"he", "she", "they", "it", "we", "i"})
RELATIVE = frozenset({"who", "which", "that", "whom"})
SPEAKER_PRONOUNS = frozenset({"we", "i"})
_ADJUNCT_PREPS = frozenset({"in", "at", "over", "from", "during", "near", "after", "amid"})
_LOCATIVE_PREPS = frozenset({"in", "at", "near"})
_PLACE_ENTITIES = frozenset({"GPE", "LOC", "FAC"})
_NESTED_PREPS = frozenset(
    {"with", "to", "against", "on", "upon", "over", "about", "toward", "towards", "from", "for"}
    | {"of", "in", "between", "at", "by"}
)
_EVENT_PREPS = frozenset(
    {"with", "to", "against", "on", "upon", "over", "about", "toward", "towards"}
    | {"between", "into", "at", "from", "by"}
)


class Arguments:
    """Finds the actors of a verb's or a noun's roles in a parsed sentence."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    def subject(self, state: DocState, verb: Token, depth: int = 0) -> Arg | None:
        """The source of ``verb``: its subject or passive agent, else inherited.

        Conjoined verbs, infinitives, participles and relative clauses inherit the
        subject of the verb they depend on.
        """
        if depth > 6:
            return None
        subjects = [c for c in verb.children if c.dep_ in ("nsubj", "csubj")]
        for child in subjects:
            if child.lower_ in RELATIVE and verb.dep_ == "relcl":
                return Arg(self.np_actors(state, verb.head), "relative", verb.head.i)
        if subjects:
            return self._direct_subject(
                state, verb, subjects, "direct" if depth == 0 else "inherited"
            )
        if is_passive(verb):
            return self._passive_agent(state, verb, depth)
        return self._inherited_subject(state, verb, depth)

    def _direct_subject(self, state: DocState, verb: Token, subjects: list[Token], how: str) -> Arg:
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
        principals = len(found.mentions)
        for partner in self._co_subjects(state, verb, subjects):
            if partner not in found.mentions:
                found.mentions.append(partner)
        if len(found.mentions) > principals:
            found.principals = principals
        return found

    def _co_subjects(self, state: DocState, verb: Token, subjects: list[Token]) -> list[Mention]:
        """Actors set beside the subject by "with" or "along with", who act with it.

        "The United States, with Britain and France, recognised Kosovo" and "Japan,
        along with South Korea, protested": the partners are sources too. Only a
        phrase on the subject, or between the subject and the verb, counts; "met
        with X" after the verb names the target.
        """
        first = min(s.i for s in subjects)
        preps: list[Token] = []
        for head in (*subjects, verb):
            for prep in head.children:
                if prep.dep_ != "prep" or prep.i > verb.i or (head is verb and prep.i < first):
                    continue
                if prep.lower_ == "with":
                    preps.append(prep)
                elif prep.lower_ in ("along", "together"):
                    preps.extend(
                        c for c in prep.children if c.dep_ == "prep" and c.lower_ == "with"
                    )
        found: list[Mention] = []
        for prep in preps:
            for pobj in prep.children:
                if pobj.dep_ == "pobj":
                    found.extend(self.np_actors(state, pobj))
        return found

    def _passive_agent(self, state: DocState, verb: Token, depth: int) -> Arg | None:
        for child in verb.children:
            if child.dep_ == "agent":
                pobj = next((c for c in child.children if c.dep_ == "pobj"), None)
                if pobj is not None:
                    return Arg(self.np_actors(state, pobj), "agent", pobj.i)
        # A passive verb's grammatical subject is its patient: never inherit one.
        return self._adjunct_agent(state, verb) if depth == 0 else None

    def _inherited_subject(self, state: DocState, verb: Token, depth: int) -> Arg | None:
        dep = verb.dep_
        governor = verb.head
        if governor.i == verb.i:
            return None
        if dep == "xcomp" or (dep == "advcl" and infinitive(verb)):
            return self._controller(state, governor, depth)
        if dep == "conj" and governor.pos_ in ("VERB", "AUX", "ADJ"):
            if is_passive(governor) and not is_passive(verb):
                return None
            return self.subject(state, governor, depth + 1)
        if dep == "acomp" or (dep in ("advcl", "pcomp") and verb.tag_ in ("VBG", "VBN", "VB")):
            return self.subject(state, governor, depth + 1)
        if dep == "relcl":
            return Arg(self.np_actors(state, governor), "relative", governor.i)
        if dep == "acl" and verb.tag_ == "VBG":
            return self._participle_subject(state, governor, depth)
        if dep == "pobj" and governor.dep_ == "prep":
            return self.subject(state, governor.head, depth + 1)
        if (
            dep == "prep"
            and governor.pos_ in ("VERB", "AUX")
            and verb.lower_ in self.lexicon.gerund_subject_preps
        ):
            # a gerund in a verb's adjunct: "after meeting Y, X said", "admitted to
            # providing Y with arms", "despite killing two people"
            return self.subject(state, governor, depth + 1)
        return None

    def _participle_subject(self, state: DocState, noun: Token, depth: int) -> Arg | None:
        """Who does what an -ing participle on a message says: its author.

        On a message (``message_nouns``: "issued a statement condemning Y", "a
        letter thanking him") the author is whose it is, by or from whom, else the
        subject of the verb that issued it. On anything else nobody: "a rabble
        attacking the good order of parliament" is a figure of speech as often as
        "protesters demanding his resignation" is an act.
        """
        if lemma(noun) not in self.lexicon.message_nouns:
            return None
        for child in noun.children:
            if child.dep_ == "poss":
                mentions = self.np_actors(state, child)
                if mentions:
                    return Arg(mentions, "inherited", child.i)
            if child.dep_ == "prep" and child.lower_ in ("by", "from"):
                for pobj in child.children:
                    mentions = self.np_actors(state, pobj) if pobj.dep_ == "pobj" else []
                    if mentions:
                        return Arg(mentions, "inherited", pobj.i)
        if noun.dep_ in ("dobj", "obj") and noun.head.i != noun.i:
            return self.subject(state, noun.head, depth + 1)
        return None

    def _controller(self, state: DocState, governor: Token, depth: int) -> Arg | None:
        """The subject of an infinitive: its governor's object or subject."""
        if lemma(governor) in self.lexicon.object_control:
            addressee = self.addressee(state, governor)
            if addressee is not None and addressee.mentions:
                addressee.how = "control"
                return addressee
        inherited = self.subject(state, governor, depth + 1)
        if inherited is not None and is_passive(governor) and inherited.how == "agent":
            # "X is expected to meet Y": the raised subject, not the agent, meets Y.
            raised = self.passive_subject(state, governor)
            return raised if raised is not None else inherited
        if inherited is None and is_passive(governor):
            return self.passive_subject(state, governor)
        return inherited

    def _where_from(self, state: DocState, noun: Token) -> Arg | None:
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
                        mentions = self.np_actors(state, pobj)
                        if mentions:
                            return Arg(mentions, "deep", pobj.i)
        return None

    def _adjunct_agent(self, state: DocState, verb: Token) -> Arg | None:
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
                # Only a named actor ("sentenced in an Egyptian court", "fired from
                # Lebanon") or a hostile act with its author ("in Israeli shelling"):
                # what happened in or at a place was done there, not by it
                # ("kidnapped in Gaza").
                named = state.by_token.get(pobj.i)
                if named is not None and not (
                    child.lower_ in _LOCATIVE_PREPS and pobj.ent_type_ in _PLACE_ENTITIES
                ):
                    return Arg([named], "adjunct", pobj.i)
                if lemma(pobj) not in self.lexicon.hostile_nouns:
                    continue
                mentions = [state.by_token[t.i] for t in core(pobj) if t.i in state.by_token]
                if mentions:
                    return Arg(mentions[:1], "adjunct", pobj.i)
                found = self.nested(state, pobj, 1, event=True)
                if found is not None:
                    found.how = "adjunct"
                    return found
        return None

    def located_agent(self, state: DocState, verb: Token) -> Arg | None:
        """The country or place named where a passive act was done ("detained in China").

        Only for acts that the authorities of the place do (``authority_roots``):
        the caller decides.
        """
        for child in verb.children:
            if child.dep_ != "prep" or child.lower_ not in _LOCATIVE_PREPS:
                continue
            for pobj in child.children:
                named = state.by_token.get(pobj.i)
                if pobj.dep_ == "pobj" and named is not None:
                    return Arg([named], "adjunct", pobj.i)
        return None

    def passive_subject(self, state: DocState, verb: Token) -> Arg | None:
        """The grammatical subject of a passive verb: the patient ("Y was attacked")."""
        first: Arg | None = None
        for child in verb.children:
            if child.dep_ == "nsubjpass":
                if child.lower_ in RELATIVE and verb.dep_ == "relcl":
                    return Arg(self.np_actors(state, verb.head), "relative", verb.head.i)
                # The parser may give two ("GAZA CITY, ...: Four children ... were killed").
                arg = self._resolve(state, child, verb, "direct")
                if arg.mentions:
                    return arg
                first = first or arg
        if first is not None:
            return first
        if verb.dep_ == "conj" and is_passive(verb.head):
            return self.passive_subject(state, verb.head)
        return None

    def _resolve(self, state: DocState, tok: Token, verb: Token, how: str) -> Arg:
        if tok.pos_ == "PRON" and tok.lower_ in PRONOUNS:
            # An embedded pronoun subject is the subject of the clause that embeds it.
            node = verb
            # Not across adverbial clauses: in "X will attack Y after they killed Z" the
            # pronoun is as likely to be Y.
            while node.dep_ in ("ccomp", "xcomp", "conj") and node.head.i != node.i:
                governor = node.head
                for child in governor.children:
                    if child.dep_ in ("nsubj", "nsubjpass") and child.pos_ != "PRON":
                        mentions = self.np_actors(state, child)
                        if mentions:
                            via = (
                                governor.i
                                if self.lexicon.in_class("speech", lemma(governor))
                                else None
                            )
                            return Arg(mentions, "pronoun", child.i, via_speech=via)
                node = governor
            if tok.lower_ in SPEAKER_PRONOUNS and state.last_speaker and quoted(tok):
                # "'We will respond.' ... a quote of its own: its speaker is the last one quoted.
                return Arg(list(state.last_speaker), "pronoun", None)
            if state.last_subjects:
                return Arg(list(state.last_subjects), "previous", None)
            return Arg([], "pronoun", tok.i)
        return Arg(self.np_actors(state, tok), how, tok.i)

    def np_actors(self, state: DocState, tok: Token, depth: int = 0) -> list[Mention]:
        """Actors named by the noun phrase headed by ``tok``, its conjuncts included."""
        if depth > 4:
            return []
        found: list[Mention] = []
        own = state.by_token.get(tok.i)
        if own is not None and own.ref.code.startswith("---"):
            # "Opponents of Rwanda's Senate": the "of" phrase says whose they are.
            owner = self.of_actors(state, tok, depth)
            found.extend(owner or [own])
        elif own is not None:
            found.append(own)
            # "Russian and American diplomats": the other coordinated modifier is an actor too.
            for part in core(tok):
                coordinated = part.dep_ == "conj" or any(c.dep_ == "conj" for c in part.children)
                other = state.by_token.get(part.i)
                if part.i != tok.i and coordinated and other is not None and other not in found:
                    found.append(other)
        else:
            for part in core(tok):
                mention = state.by_token.get(part.i)
                if mention is not None and mention not in found:
                    found.append(mention)
            unknown = all(m.ref.code.startswith("---") for m in found)
            if unknown and tok.pos_ in ("NOUN", "PROPN", "PRON", "ADJ", "NUM"):
                # "leaders of China and Japan", "Foreign Minister Jean Dupont of France"
                owners = self.of_actors(state, tok, depth)
                if owners:
                    found = owners
            if not found:
                # "Jane Doe, a spokeswoman for the Kenyan ministry, said": a name the
                # dictionaries do not know is the actor its apposition describes.
                found = self._apposition(state, tok, depth)
        for child in tok.children:
            # A list can parse as apposition ("The US, Russia, and Switzerland met").
            listed = child.dep_ == "appos" and child.pos_ == "PROPN" and child.i in state.by_token
            if child.dep_ == "conj" or listed:
                for mention in self.np_actors(state, child, depth + 1):
                    if mention not in found:
                        found.append(mention)
        return found if depth else self._distribute(state, found)

    def _distribute(self, state: DocState, found: list[Mention]) -> list[Mention]:
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
                found[n] = Derived(bare.start, bare.end, ref)
                break
        return found + _agents_in_conjoined_countries(state, found)

    def _apposition(self, state: DocState, tok: Token, depth: int) -> list[Mention]:
        """The actors of an apposition that describes a name ("X, an aide to the president")."""
        if tok.pos_ != "PROPN":
            return []
        for child in tok.children:
            if child.dep_ == "appos" and child.pos_ in ("NOUN", "NUM", "PRON"):
                mentions = self.np_actors(state, child, depth + 1)
                if mentions:
                    return mentions
        return []

    def of_actors(self, state: DocState, tok: Token, depth: int) -> list[Mention]:
        """Actors of the noun's "of" phrase ("the assets of Iran", "leaders of X")."""
        found: list[Mention] = []
        for child in tok.children:
            if child.dep_ == "prep" and child.lower_ == "of":
                for pobj in child.children:
                    if pobj.dep_ == "pobj":
                        found.extend(self.np_actors(state, pobj, depth + 1))
        return found

    def addressee(self, state: DocState, verb: Token) -> Arg | None:
        """The object an appeal or demand is addressed to (``urged China``, ``called on Japan``)."""
        for child in verb.children:
            if child.dep_ in ("dobj", "dative", "obj", "iobj"):
                mentions = self.np_actors(state, child)
                if mentions:
                    return Arg(mentions, "object", child.i)
        for child in verb.children:
            if child.dep_ == "prep" and child.lower_ in ("on", "upon", "to"):
                for pobj in child.children:
                    if pobj.dep_ == "pobj":
                        mentions = self.np_actors(state, pobj)
                        if mentions:
                            return Arg(mentions, "prep", pobj.i)
        return None

    def nested(self, state: DocState, noun: Token, depth: int, event: bool = False) -> Arg | None:
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
                        found = self.nested(state, pobj, depth + 1, event=True)
                        if found is not None:
                            return found
                continue
            # "assurances sent from X", "aid delivered to X", "the decisions made by
            # X": a participle's phrase; its agent is whose the thing is.
            phrases = [child] if child.dep_ == "prep" else []
            if child.dep_ == "acl":
                phrases = [g for g in child.children if g.dep_ in ("prep", "agent")]
            for prep in phrases:
                if prep.lower_ not in preps and prep.dep_ != "agent":
                    continue
                for pobj in prep.children:
                    if pobj.dep_ != "pobj":
                        continue
                    mentions = self.np_actors(state, pobj)
                    if mentions:
                        return Arg(mentions, "nested", pobj.i)
                    found = self.nested(state, pobj, depth + 1)
                    if found is not None:
                        return found
        return None


def _agents_in_conjoined_countries(state: DocState, found: list[Mention]) -> list[Mention]:
    """Agents placed in one country of a coordination, repeated for the others.

    "Officials in Arnor and Gondor" gives ARNGOV from the mention, and GONGOV too;
    "police from Kenya and Uganda" gives KENCOP and UGACOP.
    """
    extra: list[Mention] = []
    for mention in found:
        country = mention.ref.country
        if country is None:
            continue
        for other in _conjoined_countries(state, mention, country):
            for agent in found:
                code = agent.ref.code
                if agent.ref.country != country or len(code) <= 3 or code[:3] != country:
                    continue
                ref = agent.ref.model_copy(
                    update={"code": other.ref.code + code[3:], "country": other.ref.country}
                )
                derived = Derived(other.start, other.end, ref)
                if derived not in extra:
                    extra.append(derived)
    return extra


def _conjoined_countries(state: DocState, mention: Mention, country: str) -> list[Mention]:
    """Bare countries coordinated with the place inside ``mention`` ("in Arnor and Gondor")."""
    others: list[Mention] = []
    for tok in state.doc[mention.start : mention.end]:
        if tok.dep_ != "pobj" or tok.head.dep_ != "prep" or tok.head.i < mention.start:
            continue
        for conj in tok.conjuncts:
            other = state.by_token.get(conj.i)
            if other is None or other in others:
                continue
            if other.ref.code == other.ref.country and other.ref.code != country:
                others.append(other)
    return others
