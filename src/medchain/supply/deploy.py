"""Deploy spec of the supply-chain domain: one SerialRegistry linked to the DID registry,
administered by the deployer (governance after a governed deploy's hand-over), with its
registrar and regulator given at construction as two other accounts.

The contract refuses one account holding two of admin, registrar, regulator and guardian
(docs/supply.md, "Roles"), so the deploy must name the registrar and the regulator:

* the named accounts `registrar` and `regulator` (`medchain.demo.ROLES`: the demo, tests
  and benchmarks pass them);
* else a roles file's first `[SerialRegistry]` REGISTRAR_ROLE and REGULATOR_ROLE members
  (`ape run deploy --roles FILE`, through `roles_file_accounts`);
* else, when the deployer is the public test mnemonic's first account (a development or
  test chain, where every key is public anyway), that mnemonic's `registrar` and
  `regulator` accounts, the same ones the demo uses, so a later `ape run deploy` finds the
  demo's instance unchanged;
* else the deploy is refused in one line saying how to name them.

Trading partners are registered afterwards by the registrar (`medchain supply partner`,
or the demo step), since each must first control its DID. The guardian (GUARDIAN_ROLE,
pause only) is granted by the admin or governance, never at deploy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from medchain.deploy import ContractSpec, DeployContext
from medchain.errors import ConfigurationError

REGISTRAR, REGULATOR = "registrar", "regulator"  # names in medchain.demo.ROLES
_ROLE_OF = {"REGISTRAR_ROLE": REGISTRAR, "REGULATOR_ROLE": REGULATOR}


@dataclass(frozen=True)
class NamedAddress:
    """An account known by its address only (a roles file's member): deploy specs read
    nothing but `.address` from the named accounts."""

    address: str


def roles_file_accounts(grants: Sequence[Any]) -> dict[str, NamedAddress]:
    """The registrar and regulator a roles file names for SerialRegistry (its first member
    of REGISTRAR_ROLE and of REGULATOR_ROLE), as named accounts for `deploy_all`; further
    members are granted afterwards like any roles-file grant."""
    found: dict[str, NamedAddress] = {}
    for grant in grants:
        name = _ROLE_OF.get(grant.role) if grant.contract == "SerialRegistry" else None
        if name is not None and name not in found:
            found[name] = NamedAddress(str(grant.address))
    return found


def _test_mnemonic_accounts(deployer: Any) -> dict[str, Any] | None:
    """The test mnemonic's role accounts when the deployer is its first account, else None."""
    from medchain.demo import dev_role_accounts

    roles = dev_role_accounts()
    if str(roles["deployer"].address).lower() != str(deployer.address).lower():
        return None
    return roles


def operational_accounts(ctx: DeployContext) -> tuple[str, str]:
    """(registrar, regulator) addresses for SerialRegistry's constructor (module doc)."""
    found = {name: ctx.accounts.get(name) for name in (REGISTRAR, REGULATOR)}
    missing = [name for name, account in found.items() if account is None]
    if missing:
        fallback = _test_mnemonic_accounts(ctx.deployer)
        if fallback is None:
            raise ConfigurationError(
                f"SerialRegistry needs its {' and '.join(missing)} (two accounts other than the "
                f"deployer): name them in the roles file, [SerialRegistry] REGISTRAR_ROLE = "
                f'["0x..."] and REGULATOR_ROLE = ["0x..."] (docs/supply.md, "Roles")'
            )
        found.update({name: fallback[name] for name in missing})
    return str(found[REGISTRAR].address), str(found[REGULATOR].address)  # type: ignore[union-attr]


def _args(ctx: DeployContext) -> list[object]:
    registrar, regulator = operational_accounts(ctx)
    return [ctx.address_of("DIDRegistry"), ctx.deployer, registrar, regulator]


def _preflight(ctx: DeployContext) -> None:
    operational_accounts(ctx)  # refused before anything is deployed, not halfway


SPECS = [
    ContractSpec(
        name="SerialRegistry", depends_on=("DIDRegistry",), args=_args, preflight=_preflight
    )
]
