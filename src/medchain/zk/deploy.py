"""Deploy spec of zero-knowledge eligibility: PoseidonT3 (the tree's hash), the snarkjs
Groth16 verifier of circuits/eligibility.circom, and EligibilityRegistry (issuer trees and the
gate) administered by the deployer, with ISSUER_ROLE granted to the named issuer accounts
(the demo's vaccination provider and lab) when the deployer provides them."""

from __future__ import annotations

from typing import Any

from medchain.deploy import ContractSpec, DeployContext

ISSUER_ROLES = ("provider", "lab")


def _args(ctx: DeployContext) -> list[Any]:
    return [ctx.address_of("Groth16Verifier"), ctx.address_of("PoseidonT3"), ctx.deployer.address]


def _wire(ctx: DeployContext, registry: Any) -> None:
    role = registry.ISSUER_ROLE()
    for name in ISSUER_ROLES:
        account = ctx.accounts.get(name)
        if account is not None and not registry.hasRole(role, account.address):
            registry.grantRole(role, account.address, sender=ctx.deployer)


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
