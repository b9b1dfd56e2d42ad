"""The evidence behind an event, as the features the confidence model reads.

:mod:`pipeline.nlp.events.confidence` turns these features into a probability;
its coefficients are data fitted on gold. The tables below say how much each
way of matching and attaching an actor is worth.
"""

from __future__ import annotations

from spacy.tokens import Token

from pipeline.models import Modality
from pipeline.nlp.events.state import Arg, Derived, Frame, Mention

# How well an actor was matched, for the confidence model's "named" feature.
MATCH_SCORE = {
    "name": 1.0,
    "dictionary": 1.0,
    "alias": 1.0,
    "title": 0.5,
    "metonym": 0.5,
    "demonym": 0.5,
    "coref": 0.0,
    # An agent noun: with the country its own phrase gives ("Russian troops"), with
    # one the text around it gives (its sentence, the dateline, the article's main
    # country: less sure), or with none ("---COP").
    "agent+phrase": 0.25,
    "agent+sentence": 0.1,
    "agent+dateline": 0.0,
    "agent+article": 0.0,
    "agent": 0.0,
}
# How an actor was attached to the event, for the "direct" feature.
HOW_SCORE = {
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


def evidence(
    frame: Frame,
    code: str,
    modality: Modality,
    source: Mention,
    target: Mention | None,
    s_arg: Arg | None,
    t_arg: Arg | None,
    head: Token,
) -> dict[str, float]:
    """The features the confidence model reads (see :mod:`pipeline.nlp.events.confidence`)."""
    actors = [(source, s_arg)] + ([(target, t_arg)] if target is not None else [])
    named = [
        0.0 if isinstance(m, Derived) else MATCH_SCORE.get(m.ref.match, 0.0) for m, _ in actors
    ]
    default_how = ["direct", "prep"]
    direct = [
        HOW_SCORE.get(arg.how if arg is not None else default_how[n], 0.0)
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
