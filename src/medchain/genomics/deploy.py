"""Deploy spec of the genomics domain: the GenomicDataset token (royalty cap 25%, deployer
as admin, the named `lab` account accredited as a producing lab when the deployer passes
it) and GenomicLicensing (deployer as admin, arbiter and fee treasury, 2.5% platform fee,
capped at 10%; no ERC-20 allowlisted: the admin adds plain tokens with
`medchain genomics allow-currency`)."""

from __future__ import annotations

from typing import Any

from medchain.deploy import ContractSpec, DeployContext, grant_named_roles

MAX_ROYALTY_BPS = 2_500
PLATFORM_FEE_BPS = 250
MAX_FEE_BPS = 1_000
PRODUCER_ROLES = ("lab",)


def _dataset_args(ctx: DeployContext) -> list[object]:
    return [MAX_ROYALTY_BPS, ctx.deployer.address]


def _wire_dataset(ctx: DeployContext, token: Any) -> None:
    """Accredit whichever named producing labs the deployer passed."""
    grant_named_roles(ctx, token, token.PRODUCER_ROLE(), PRODUCER_ROLES)


def _licensing_args(ctx: DeployContext) -> list[object]:
    admin = ctx.deployer.address
    return [ctx.address_of("GenomicDataset"), admin, admin, PLATFORM_FEE_BPS, MAX_FEE_BPS]


SPECS = [
    ContractSpec(name="GenomicDataset", args=_dataset_args, wire=_wire_dataset),
    ContractSpec(name="GenomicLicensing", depends_on=("GenomicDataset",), args=_licensing_args),
]
