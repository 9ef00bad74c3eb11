"""Deploy spec for the identity domain: the did:ethr registry. A first version has no
predecessor, no import admin and no import deadline (all zero: nothing can be imported
into it, no identity waits for an import); a new version that carries identities over is
deployed with all three set (docs/upgrades.md,
"DIDRegistry: migration"; `medchain.identity.migrate`)."""

from collections.abc import Sequence
from typing import Any

from medchain.deploy import ContractSpec, DeployContext

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def _args(ctx: DeployContext) -> Sequence[Any]:
    # (predecessor, importAdmin, importDeadline): no roles, no import window, every
    # identity controls itself.
    return (ZERO_ADDRESS, ZERO_ADDRESS, 0)


SPECS = [ContractSpec(name="DIDRegistry", args=_args)]
