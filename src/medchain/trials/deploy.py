"""Deploy spec of the clinical-trials domain: one TrialRegistry, a first version (no predecessor).

Trials are registered by their sponsors after deployment, so there is nothing to wire. A later
version is deployed with the registry it imports trials from as its predecessor
(`medchain.trials.migrate`, docs/upgrades.md "TrialRegistry: migration").
"""

from __future__ import annotations

from typing import Any

from medchain.deploy import ContractSpec, DeployContext

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def _args(_ctx: DeployContext) -> tuple[Any, ...]:
    # The predecessor: none for the first version.
    return (ZERO_ADDRESS,)


SPECS = [ContractSpec(name="TrialRegistry", args=_args)]
