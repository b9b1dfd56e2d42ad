"""Reading a dependency parse: the token tests the event coder's parts share.

Pure functions over spaCy tokens, no vocabulary of their own (word lists are
data in ``pipeline/data/cameo/verbs.toml``; the lexicon passes them in).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence

from spacy.tokens import Token

from pipeline.nlp.events.lexicon import Lexicon
from pipeline.nlp.events.patterns import is_passive, lemma

# Dependencies that belong to the core of a noun phrase (where its actor is named).
NP_CORE = frozenset(
    {"compound", "amod", "poss", "nmod", "det", "nummod", "quantmod", "flat", "case", "nn"}
)
HYPOTHETICAL_MARKS = frozenset({"if", "unless", "whether"})


def tree_depth(tok: Token, known: dict[int, int]) -> int:
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


def core(tok: Token) -> Iterable[Token]:
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
            c for c in node.children if c.dep_ in NP_CORE or (c.dep_ == "conj" and node.i != tok.i)
        )


def complement(tok: Token, clausal: bool, desire: bool = False) -> Token | None:
    """The infinitival (or, for demands and appeals, clausal) complement carrying an event."""
    for child in tok.children:
        if child.dep_ == "xcomp":
            return child
    for child in tok.children:
        # a verb of wanting: "wants Putin to attack X" parses as a clause of its own,
        # and so does an appeal's "called for Mexico to release the prisoners"
        if child.dep_ == "ccomp" and (clausal or (desire and infinitive(child))):
            return child
        if clausal and for_infinitive(child):
            return child
    for child in tok.children:
        # "agreed on holding talks", "committed to sending troops", "refrained from
        # attacking"
        if child.dep_ == "prep" and child.lower_ in ("on", "to", "for", "about", "from"):
            for pcomp in child.children:
                if pcomp.dep_ == "pcomp" and pcomp.tag_ == "VBG":
                    return pcomp
    return None


QUESTION_MARKS = frozenset({"whether", "if"})
WH_TAGS = frozenset({"WDT", "WP", "WP$", "WRB"})


def indirect_question(verb: Token) -> bool:
    """Whether ``verb`` asks a question rather than for an act ("asked why", "asked whether").

    Its clausal complement opens with "whether", "if" or a wh-word of its own:
    in "said if Mexico attacked, it would respond" the "if" opens a condition
    inside the clause.
    """
    for clause in verb.children:
        if clause.dep_ != "ccomp":
            continue
        first = clause.left_edge
        if first.head.i != clause.i:
            continue
        if first.lower_ in QUESTION_MARKS or (first.tag_ in WH_TAGS and first.lower_ != "that"):
            return True
    return False


FINITE_TAGS = frozenset({"VBD", "VBZ", "VBP", "MD"})
"""Tags of a finite verb: a clause with one is a proposition, not an option to take."""


def predicative(tok: Token) -> bool:
    """Whether ``tok`` says what something is rather than what to do.

    "considers Iran a threat", "is considered a threat", "regarded them as
    allies", "considers Iran to be a threat", "considered that the law was
    valid", not "considered sanctions" or "is considering resuming talks".
    """
    for child in tok.children:
        dep = child.dep_
        if dep in ("oprd", "attr", "acomp"):
            return True
        if dep == "prep" and child.lower_ == "as" and any(c.dep_ == "pobj" for c in child.children):
            return True
        if dep in ("ccomp", "xcomp"):
            if lemma(child) == "be" or child.pos_ in ("NOUN", "PROPN", "ADJ"):
                return True
            # "considering whether to send troops" weighs an option
            weighs = any(c.lower_ in ("whether", "if") for c in child.children)
            if weighs:
                continue
            if child.tag_ in FINITE_TAGS or any(c.dep_ == "mark" for c in child.children):
                return True
            if any(c.dep_ == "aux" and c.tag_ in FINITE_TAGS for c in child.children):
                return True
    return False


def governing_verb(noun: Token) -> Token | None:
    """The verb whose object (or prepositional object) ``noun`` is."""
    node = noun
    if node.dep_ in ("dobj", "obj", "nsubjpass", "attr"):
        return node.head if node.head.pos_ in ("VERB", "AUX") else None
    if node.dep_ == "pobj" and node.head.dep_ == "prep":
        head = node.head.head
        return head if head.pos_ in ("VERB", "AUX") else None
    return None


def object_is_event(verb: Token, matched: Sequence[int]) -> bool:
    """True when the verb has no direct object or its object is the pattern's event noun."""
    objects = [c for c in verb.children if c.dep_ in ("dobj", "obj")]
    return all(o.i in matched for o in objects)


def has_object(tok: Token) -> bool:
    """True when ``tok`` has a direct object."""
    return any(c.dep_ in ("dobj", "obj") for c in tok.children)


def subtree_outside_clauses(tok: Token) -> list[Token]:
    """``tok``'s subtree without relative clauses, which describe it rather than extend it."""
    out: list[Token] = []
    stack = [tok]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(c for c in node.children if c.dep_ not in ("relcl", "ccomp", "advcl"))
    return sorted(out, key=lambda t: t.i)


def negated(tok: Token) -> bool:
    """True when ``tok`` is negated ("did not meet", "never met")."""
    if any(c.dep_ == "neg" for c in tok.children):
        return True
    # "no longer", "never" attach as advmod on some parses
    return any(c.dep_ == "advmod" and c.lower_ in ("never",) for c in tok.children)


def infinitive(tok: Token) -> bool:
    """True for a "to" infinitive."""
    return any(c.dep_ == "aux" and c.lower_ == "to" for c in tok.children)


def for_infinitive(tok: Token) -> bool:
    """True for a "for X to do" clause ("called for Mexico to release the prisoners")."""
    return (
        tok.dep_ == "advcl"
        and infinitive(tok)
        and any(c.dep_ == "mark" and c.lower_ == "for" for c in tok.children)
    )


def proposed_act(verb: Token, nouns: Container[str]) -> Token | None:
    """The act that the proposal ``verb`` takes proposes: "rejected a proposal to hold talks".

    The direct object is one of ``nouns`` (``proposal_nouns``) and the act is its
    infinitive clause.
    """
    for obj in verb.children:
        if obj.dep_ != "dobj" or lemma(obj) not in nouns:
            continue
        for clause in obj.children:
            if clause.dep_ == "acl" and infinitive(clause):
                return clause
    return None


def infinitive_governors(tok: Token) -> list[Token]:
    """The verbs an infinitive clause hangs from, nearest first ("wants to go to attack")."""
    out: list[Token] = []
    node = tok
    while (node.dep_ == "xcomp" or (node.dep_ == "advcl" and infinitive(node))) and len(out) < 6:
        node = node.head
        out.append(node)
    return out


def has_future_marker(tok: Token) -> bool:
    """True for "is going to" + ``tok``."""
    # "is going to attack"
    head = tok.head
    return (
        tok.dep_ == "xcomp"
        and lemma(head) == "go"
        and head.tag_ == "VBG"
        and any(c.dep_ == "aux" and lemma(c) == "be" for c in head.children)
    )


def in_conditional(tok: Token) -> bool:
    """True inside an if-clause, or in the main clause of a condition ("If X, Y will Z")."""
    node = tok
    for _ in range(8):
        if any(c.dep_ == "mark" and c.lower_ in HYPOTHETICAL_MARKS for c in node.children):
            return True
        if any(
            c.dep_ == "advcl"
            and any(m.dep_ == "mark" and m.lower_ in HYPOTHETICAL_MARKS for m in c.children)
            for c in node.children
        ):
            return True
        if node.dep_ not in ("conj", "xcomp", "advcl") or node.head.i == node.i:
            return False
        node = node.head
    return False


def reported(tok: Token, lexicon: Lexicon) -> bool:
    """True when ``tok`` is in the clause a speech verb reports ("X said Y attacked Z")."""
    node = tok
    for _ in range(8):
        if node.head.i == node.i:
            return False
        if node.dep_ == "ccomp" and lexicon.in_class("speech", lemma(node.head)):
            return True
        node = node.head
    return False


PERSONAL_PRONOUNS = frozenset({"i", "we", "he", "she", "it", "they"})


def own_intent(tok: Token, lexicon: Lexicon) -> bool:
    """True when a speaker reports what they themselves will do ("X said it would lift ...").

    The reported clause's subject is a personal pronoun, which stands for the
    speaker; "X will act, an official said" is a report about X, not X's own
    statement.
    """
    node = tok
    while node.dep_ in ("conj", "xcomp") and node.head.i != node.i:
        node = node.head
    subject = next((c for c in node.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    return subject is not None and subject.lower_ in PERSONAL_PRONOUNS and reported(tok, lexicon)


QUOTES = frozenset({'"', "\u201c", "\u201d", "``", "''"})


def quoted(tok: Token) -> bool:
    """True when ``tok`` stands inside quotation marks of its sentence.

    A quote that opens a sentence and is not closed before ``tok`` counts:
    '"We will respond," the minister said' and a quote that runs over several
    sentences ('"We asked them. We will ask again."').
    """
    marks = sum(1 for t in tok.sent if t.i < tok.i and t.text in QUOTES)
    if marks % 2 == 1:
        return True
    return marks == 0 and tok.sent[0].text not in QUOTES and _paragraph_quote_open(tok)


def _paragraph_quote_open(tok: Token) -> bool:
    """True when an earlier sentence of the paragraph opened a quote it did not close."""
    doc = tok.doc
    marks = 0
    i = tok.sent.start - 1
    while i >= 0 and "\n" not in doc[i].text and not doc[i].is_space:
        marks += doc[i].text in QUOTES
        i -= 1
    return marks % 2 == 1


def inside(tok: Token, ancestor: Token) -> bool:
    """True when ``ancestor`` dominates ``tok`` in the parse."""
    return any(a.i == ancestor.i for a in tok.ancestors)


__all__ = [
    "complement",
    "core",
    "tree_depth",
    "governing_verb",
    "has_future_marker",
    "has_object",
    "in_conditional",
    "infinitive",
    "infinitive_governors",
    "inside",
    "is_passive",
    "lemma",
    "negated",
    "object_is_event",
    "quoted",
    "reported",
    "subtree_outside_clauses",
]
