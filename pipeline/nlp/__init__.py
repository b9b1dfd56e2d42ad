"""Pure, synchronous NLP: parsing, actors, CAMEO event coding, topics, tone and places.

Nothing here imports Faust or Kafka clients. The stages use one object,
:class:`~pipeline.nlp.analyzer.Analyzer`, built from an
:class:`~pipeline.nlp.analyzer.NlpConfig`; both are importable from this package
(lazily, so importing a submodule does not load spaCy's pipeline code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.nlp.analyzer import Analyzer, NlpConfig

__all__ = ["Analyzer", "NlpConfig"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from pipeline.nlp import analyzer

        return getattr(analyzer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
