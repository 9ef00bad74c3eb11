"""Deploy spec of the consent domain: ConsentRegistry on top of the DID registry,
governed by the deployer (two-step, delayed admin transfer), with break-glass roles
wired to the named accounts when the deployer provides them, and installed as
RecordRegistry's write authorizer (providers with write consent anchor records)."""

from __future__ import annotations

from typing import Any

from medchain.deploy import ContractSpec, DeployContext, grant_named_roles

ADMIN_TRANSFER_DELAY = 3 * 24 * 3600  # seconds a new default admin waits before accepting
BREAK_GLASS_THRESHOLD = 2  # approvals needed (2-of-3 with the demo's approvers)
# A first version migrates from nobody; a new version names the one it carries provisions
# and roles over from (medchain.consent.migrate, docs/upgrades.md).
NO_PREDECESSOR = "0x0000000000000000000000000000000000000000"

APPROVER_ROLES = ("approver1", "approver2", "approver3")
CLINICIAN_ROLES = ("provider",)
PRIVACY_OFFICER_ROLES = ("privacy_officer",)


def consent_args(did_registry: str, admin: str, predecessor: str = NO_PREDECESSOR) -> list[Any]:
    """ConsentRegistry's constructor arguments: DID registry, admin transfer delay, admin,
    break-glass threshold, predecessor (zero for a first version)."""
    return [did_registry, ADMIN_TRANSFER_DELAY, admin, BREAK_GLASS_THRESHOLD, predecessor]


def _args(ctx: DeployContext) -> list[Any]:
    return consent_args(ctx.address_of("DIDRegistry"), ctx.deployer.address)


def _wire(ctx: DeployContext, registry: Any) -> None:
    """Make this registry RecordRegistry's write authorizer, and grant the break-glass
    roles to whichever named accounts the deployer passed."""
    records = ctx.contracts.get("RecordRegistry")
    if records is not None and str(records.writeAuthorizer()) != str(registry.address):
        records.setWriteAuthorizer(registry.address, sender=ctx.deployer)
    wanted = (
        (registry.EMERGENCY_APPROVER_ROLE(), APPROVER_ROLES),
        (registry.CLINICIAN_ROLE(), CLINICIAN_ROLES),
        (registry.PRIVACY_OFFICER_ROLE(), PRIVACY_OFFICER_ROLES),
    )
    for role, names in wanted:
        grant_named_roles(ctx, registry, role, names)


SPECS = [
    ContractSpec(
        name="ConsentRegistry",
        # RecordRegistry first, so the wiring can install consent as its write authorizer.
        depends_on=("DIDRegistry", "RecordRegistry"),
        args=_args,
        wire=_wire,
    ),
]
