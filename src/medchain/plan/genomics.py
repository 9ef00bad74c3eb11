"""Deploy spec of the genomics domain: the GenomicDataset token (royalty cap 25%) and
GenomicLicensing (deployer as admin and fee treasury, 2.5% platform fee, capped at 10%)."""

from __future__ import annotations

from medchain.deploy import ContractSpec, DeployContext

MAX_ROYALTY_BPS = 2_500
PLATFORM_FEE_BPS = 250
MAX_FEE_BPS = 1_000


def _licensing_args(ctx: DeployContext) -> list[object]:
    admin = ctx.deployer.address
    return [ctx.address_of("GenomicDataset"), admin, admin, PLATFORM_FEE_BPS, MAX_FEE_BPS]


SPECS = [
    ContractSpec(name="GenomicDataset", args=lambda ctx: [MAX_ROYALTY_BPS]),
    ContractSpec(name="GenomicLicensing", depends_on=("GenomicDataset",), args=_licensing_args),
]
