"""What a CAMEO actor code is made of: a country or region, agents, non-state heads.

A code is read three letters at a time: "USAGOV" is the United States and the
agent GOV, "---REB" rebels of unknown country, "AFRREB" rebels of a region,
"IGOUNO" an organisation of no state, "NGORUS" an ``NGO~`` agent put before a
country. :class:`ActorCodes` splits and builds codes; the coder, the
coreference and the context rules share one instance.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

UNKNOWN = "---"
"""The country segment of an actor whose country the text does not give."""

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


@dataclass(frozen=True, slots=True)
class ActorCodes:
    """The code segments one coder knows: its countries and its agents."""

    countries: Collection[str]
    agents: Collection[str]

    def parts(self, code: str) -> tuple[str | None, str | None]:
        """Split a CAMEO actor code into its country and (first) agent.

        Args:
            code: e.g. ``"USAGOV"``, ``"---REB"``, ``"IGOUNO"``, ``"PSEREBHMS"``.

        Returns:
            ``(country, agent)``, each None when the code has none.
        """
        head = code[:3]
        country = head if head in self.countries else None
        start = 3 if country is not None or head == UNKNOWN or head in REGIONS else 0
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
        if country is None and code[:3] not in REGIONS and code[:3] != UNKNOWN:
            return code
        return f"{agent}{code}" if prefix else f"{code}{agent}"
