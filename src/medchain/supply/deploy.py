"""Deploy spec of the supply-chain domain: one SerialRegistry linked to the DID registry,
administered by the deployer (also its first registrar and regulator).

Trading partners are registered afterwards by the registrar (`medchain supply partner`,
or the demo step), since each must first control its DID.
"""

from __future__ import annotations

from medchain.deploy import ContractSpec, DeployContext


def _args(ctx: DeployContext) -> list[object]:
    return [ctx.address_of("DIDRegistry"), ctx.deployer]


SPECS = [ContractSpec(name="SerialRegistry", depends_on=("DIDRegistry",), args=_args)]
