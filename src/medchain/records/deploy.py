"""Deploy spec of the records domain: RecordRegistry, which consults the DID registry
for owners and delegates, as a UUPS implementation behind an ERC-1967 proxy
(medchain.records.upgrade, docs/upgrades.md): the book's RecordRegistry is the proxy. The
deployer is its admin (sets the write authorizer, upgrades) until a governed deploy hands
that to the timelock."""

from __future__ import annotations

from medchain.deploy import ContractSpec, DeployContext
from medchain.records.upgrade import behind_proxy


def _implementation_args(ctx: DeployContext) -> list[object]:
    return [ctx.address_of("DIDRegistry")]


def _initialize_args(ctx: DeployContext) -> list[object]:
    return [ctx.address_of("DIDRegistry"), ctx.deployer.address]


SPECS = [
    ContractSpec(
        name="RecordRegistry",
        depends_on=("DIDRegistry",),
        args=_implementation_args,
        create=behind_proxy(_initialize_args),
    )
]
