"""The end-to-end demo: one step per domain, in `medchain.domains.DOMAINS` order.

Each `medchain.<domain>.demo` exports `run(ctx: DemoContext)`. Steps hand results to
later steps through `ctx.shared` (identity publishes keys, records leaves a lab
result for consent, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from medchain.deployments import AddressBook

# Named roles the demo, tests and benchmarks share; test account i plays ROLES[i].
ROLES: tuple[str, ...] = (
    "deployer",
    "patient",
    "provider",
    "researcher",
    "lab",
    "manufacturer",
    "wholesaler",
    "pharmacy",
    "sponsor",
    "investigator",
    "investigator2",
    "monitor",
    "ethics",
    "approver1",
    "approver2",
    "approver3",
    "privacy_officer",
    "guardian",
    "ethics2",  # trials: second and third ethics-board members (k-of-n board)
    "ethics3",
    "member1",  # governance: the founding consortium members (appended: indexes stay)
    "member2",
    "member3",
    "registrar",  # supply: SerialRegistry's registrar and regulator, two separate accounts
    "regulator",
)


def role_accounts(test_accounts: Any) -> dict[str, Any]:
    """Map each role to a distinct funded test account."""
    return {role: test_accounts[i] for i, role in enumerate(ROLES)}


DEMO_FUNDING = 10**19  # 10 ETH: enough for every step; only sent to roles below 1 ETH


def fund_roles(roles: dict[str, Any], amount: int = DEMO_FUNDING) -> list[str]:
    """Top up role accounts the node did not fund (a node started by hand funds fewer
    accounts than the demo has roles) from the deployer; returns the roles funded.
    `medchain dev fund` runs this against any development node."""
    deployer = roles["deployer"]
    funded = []
    for role, account in roles.items():
        if role != "deployer" and account.balance < 10**18:
            deployer.transfer(account, amount)
            funded.append(role)
    return funded


def dev_role_accounts() -> dict[str, Any]:
    """Each role's account derived from ape's test mnemonic (the one anvil and the
    in-process chain use), however many test accounts the current folder's config asks
    for: role i is HD index i, as in `role_accounts(accounts)` inside the project."""
    from ape import accounts
    from ape.utils import generate_dev_accounts
    from ape_test.accounts import TestAccount

    container = accounts.test_accounts
    keys = generate_dev_accounts(
        container.mnemonic, len(ROLES), hd_path=container.containers["test"].hd_path
    )
    return {
        role: TestAccount(index=i, address_str=key.address, private_key=key.private_key)
        for i, (role, key) in enumerate(zip(ROLES, keys, strict=True))
    }


@dataclass
class DemoContext:
    console: Console
    accounts: dict[str, Any]
    contracts: dict[str, Any]
    book: AddressBook
    store: Any = None
    shared: dict[str, Any] = field(default_factory=dict)


def steps() -> list[tuple[str, Any]]:
    """(name, run) for every domain's demo step, in `medchain.domains.DOMAINS` order."""
    from medchain.domains import DOMAINS, part

    return [(domain, part(domain, "demo").run) for domain in DOMAINS]


def run_all(ctx: DemoContext, only: set[str] | None = None) -> list[str]:
    ran = []
    for name, run in steps():
        if only and name not in only:
            continue
        ctx.console.rule(f"[bold]{name}")
        run(ctx)
        ran.append(name)
    return ran
