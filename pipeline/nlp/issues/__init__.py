"""Phoenix issue and discard dictionaries: issues become topic labels, discards skip coding.

* :mod:`~pipeline.nlp.issues.reader` reads the two file formats;
* :mod:`~pipeline.nlp.issues.matcher` finds their phrases in a parsed article:
  :class:`IssueTagger` (the enrich stage) and :class:`DiscardFilter` (the
  code stage).
"""

from __future__ import annotations

from pipeline.nlp.issues.matcher import (
    ISSUE_PREFIX,
    ISSUE_SCORE,
    DiscardFilter,
    Discards,
    Issue,
    IssueTagger,
    KeySequence,
    PhraseSet,
    issue_label,
    key_sequences,
)
from pipeline.nlp.issues.reader import (
    DictionaryFormatError,
    DiscardPhrase,
    IssueDictionary,
    IssueEntry,
    IssueExclusion,
    load_discard_dictionary,
    load_issue_dictionary,
    parse_discard_text,
    parse_issue_text,
    read_dictionary_text,
)

__all__ = [
    "ISSUE_PREFIX",
    "ISSUE_SCORE",
    "DictionaryFormatError",
    "DiscardFilter",
    "DiscardPhrase",
    "Discards",
    "Issue",
    "IssueDictionary",
    "IssueEntry",
    "IssueExclusion",
    "IssueTagger",
    "KeySequence",
    "PhraseSet",
    "issue_label",
    "key_sequences",
    "load_discard_dictionary",
    "load_issue_dictionary",
    "parse_discard_text",
    "parse_issue_text",
    "read_dictionary_text",
]
