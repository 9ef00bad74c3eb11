"""Deploy spec of the records domain: RecordRegistry, which consults the DID registry
for owners and delegates; the deployer is its admin (sets the write authorizer later)."""

from __future__ import annotations

from medchain.deploy import ContractSpec, DeployContext


def _args(ctx: DeployContext) -> list[object]:
    return [ctx.address_of("DIDRegistry"), ctx.deployer.address]


SPECS = [ContractSpec(name="RecordRegistry", depends_on=("DIDRegistry",), args=_args)]
