"""Deploy spec of zero-knowledge eligibility: PoseidonT3 (the tree's hash), the snarkjs
Groth16 verifier of circuits/eligibility.circom, and EligibilityRegistry (issuer trees and the
gate) administered by the deployer, with ISSUER_ROLE granted to the named issuer accounts
(the demo's vaccination provider and lab) when the deployer provides them."""

from __future__ import annotations

from typing import Any

from medchain.deploy import ContractSpec, DeployContext, grant_named_roles

ISSUER_ROLES = ("provider", "lab")


def _args(ctx: DeployContext) -> list[Any]:
    return [ctx.address_of("Groth16Verifier"), ctx.address_of("PoseidonT3"), ctx.deployer.address]


def _wire(ctx: DeployContext, registry: Any) -> None:
    grant_named_roles(ctx, registry, registry.ISSUER_ROLE(), ISSUER_ROLES)


SPECS = [
    ContractSpec(name="PoseidonT3"),
    ContractSpec(name="Groth16Verifier"),
    ContractSpec(
        name="EligibilityRegistry",
        depends_on=("PoseidonT3", "Groth16Verifier"),
        args=_args,
        wire=_wire,
    ),
]
