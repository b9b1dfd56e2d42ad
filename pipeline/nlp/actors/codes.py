"""What a CAMEO actor code is made of: a country or region, agents, non-state heads.

A code is read three letters at a time: "USAGOV" is the United States and the
agent GOV, "---REB" rebels of unknown country, "AFRREB" rebels of a region,
"IGOUNO" an organisation of no state, "NGORUS" an ``NGO~`` agent put before a
country. Which three letters are agents, regions or non-state heads is data
(``agents.toml``: :func:`code_sets`); :class:`ActorCodes` splits and builds
codes with those sets and a coder's countries.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.nlp.data import read_toml

UNKNOWN = "---"
"""The country segment of an actor whose country the text does not give."""


@dataclass(frozen=True, slots=True)
class CodeSets:
    """The segments of CAMEO actor codes, as ``agents.toml`` lists them."""

    agents: frozenset[str]
    """Agent (role) codes: GOV, MIL, REB, ... (the keys of ``[labels]``)."""
    regions: frozenset[str]
    """Region codes: they take an agent ("AFRREB") but are no country."""
    non_state: frozenset[str]
    """First segments of codes for actors that belong to no state (IGO, NGO, ...)."""


def load_code_sets(path: Path | None = None) -> CodeSets:
    """Read the code sets from ``path``, or from the packaged ``agents.toml``.

    Args:
        path: An agents file with ``[labels]``, ``[regions]`` and ``[non_state]``.

    Returns:
        The three sets.
    """
    data = read_toml("actors", "agents.toml", path=path)
    return CodeSets(
        agents=frozenset(data.get("labels", {})),
        regions=frozenset(data.get("regions", {})),
        non_state=frozenset(data.get("non_state", {})),
    )


@lru_cache(maxsize=1)
def code_sets() -> CodeSets:
    """The packaged code sets (cached: read once per process)."""
    return load_code_sets()


@dataclass(frozen=True, slots=True)
class ActorCodes:
    """The code segments one coder knows: its countries (code -> common name) and agents."""

    countries: Mapping[str, str]
    agents: Collection[str]
    regions: Collection[str]

    def parts(self, code: str) -> tuple[str | None, str | None]:
        """Split a CAMEO actor code into its country and (first) agent.

        Args:
            code: e.g. ``"USAGOV"``, ``"---REB"``, ``"IGOUNO"``, ``"PSEREBHMS"``.

        Returns:
            ``(country, agent)``, each None when the code has none.
        """
        head = code[:3]
        country = head if head in self.countries else None
        start = 3 if country is not None or head == UNKNOWN or head in self.regions else 0
        agent = None
        for i in range(start, len(code) - 2, 3):
            if code[i : i + 3] in self.agents and (i > 0 or head not in ("IGO", "NGO")):
                agent = code[i : i + 3]
                break
        return country, agent

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
        country, own = self.parts(code)
        if own is not None or agent in code:
            return code
        if country is None and code[:3] not in self.regions and code[:3] != UNKNOWN:
            return code
        return f"{agent}{code}" if prefix else f"{code}{agent}"
