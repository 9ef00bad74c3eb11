"""Deploy spec of the consortium's governance, and the hand-over of every admin to it.

A governed deploy (`medchain.deploy.deploy_all(..., governance=config)`) adds three
OpenZeppelin-built contracts: `ConsortiumTimelock` (TimelockController), then
`ConsortiumMembership` (one soulbound vote per member institution, minted by the timelock)
and `ConsortiumGovernor` (M-of-N votes over it). The governor's wiring makes it the
timelock's only proposer, canceller and executor and has the deployer renounce the
timelock's admin, so the timelock administers itself.

`hand_over(ctx)` then moves each project contract's admin to the timelock: an
AccessControl contract gets DEFAULT_ADMIN_ROLE granted to the timelock and renounced by
the deployer; an AccessControlDefaultAdminRules contract (ConsentRegistry,
SerialRegistry) starts its two-step transfer, which governance completes after the
contract's admin delay (`medchain admin accept-admin CONTRACT`). Before that, a configured
emergency guardian gets GUARDIAN_ROLE on every pausable contract (the deployer can still
grant it then). Every step checks first, so a re-run sends nothing. Operational roles (clinicians, approvers, registrar,
arbiter...) stay where the domains' specs put them (docs/governance.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medchain.deploy import ContractSpec, DeployContext, resolve_member
from medchain.errors import ConfigurationError, InvalidInput, translate_errors
from medchain.timeutil import DAY, MINUTE

MEMBERSHIP, GOVERNOR, TIMELOCK = "ConsortiumMembership", "ConsortiumGovernor", "ConsortiumTimelock"
GOVERNANCE_CONTRACTS = (TIMELOCK, MEMBERSHIP, GOVERNOR)
MEMBER_ROLES = ("member1", "member2", "member3")  # medchain.demo.ROLES' founding members
DEFAULT_ADMIN_ROLE = b"\x00" * 32


@dataclass(frozen=True)
class GovernanceConfig:
    """Who governs and how slowly. `members` are addresses, ape aliases or TEST::<n>;
    empty means the named `member1..3` accounts the deployer passed (demo, tests). The
    defaults suit a real consortium: a day to vote, two more before anything runs.
    `guardian` (address, alias or TEST::<n>; optional) may pause every pausable contract's
    writes at once and do nothing else; only governance unpauses."""

    members: tuple[str, ...] = ()
    min_approvals: int = 2
    voting_delay: int = 1  # seconds: the vote opens with the next block
    voting_period: int = DAY
    timelock_delay: int = 2 * DAY
    guardian: str | None = None

    @classmethod
    def development(cls) -> GovernanceConfig:
        """The embedded demo chain's and tests' timings (they advance the chain's clock)."""
        return cls(voting_period=5 * MINUTE, timelock_delay=10 * MINUTE)

    @classmethod
    def from_file(cls, path: str | Path) -> GovernanceConfig:
        """A TOML file with a `[governance]` table: members (list), min_approvals,
        voting_delay / voting_period / timelock_delay as seconds or `30m`, `1d`, and an
        optional emergency `guardian` (one address or alias)."""
        import tomllib

        from medchain.timeutil import duration_seconds

        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text())
        except OSError as exc:
            raise ConfigurationError(
                f"{path}: cannot read the governance file: {exc.strerror}"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
        table = doc.get("governance")
        if not isinstance(table, dict):
            raise ConfigurationError(f"{path}: expected a [governance] table")
        known = {
            "members",
            "min_approvals",
            "voting_delay",
            "voting_period",
            "timelock_delay",
            "guardian",
        }
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigurationError(f"{path}: unknown key(s) {', '.join(unknown)} in [governance]")
        fields: dict[str, Any] = {}
        members = table.get("members", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ConfigurationError(f"{path}: members must be a list of addresses or aliases")
        fields["members"] = tuple(members)
        if "guardian" in table:
            guardian = table["guardian"]
            if not isinstance(guardian, str) or not guardian.strip():
                raise ConfigurationError(f"{path}: guardian must be one address or ape alias")
            fields["guardian"] = guardian.strip()
        if "min_approvals" in table:
            if not isinstance(table["min_approvals"], int):
                raise ConfigurationError(f"{path}: min_approvals must be a whole number")
            fields["min_approvals"] = table["min_approvals"]
        for key in ("voting_delay", "voting_period", "timelock_delay"):
            if key in table:
                try:
                    fields[key] = duration_seconds(str(table[key]), f"{path}: {key}")
                except InvalidInput as exc:
                    raise ConfigurationError(str(exc)) from None
        return cls(**fields)

    def guardian_address(self) -> str | None:
        """The guardian's checksum address (None when the file names no guardian)."""
        if self.guardian is None:
            return None
        return resolve_member(self.guardian, "governance guardian")

    def member_addresses(self, ctx: DeployContext) -> list[str]:
        """The founding members' addresses, checked: distinct, and at least M of them."""
        if self.members:
            found = [resolve_member(m, "governance members") for m in self.members]
        else:
            found = [str(ctx.accounts[r].address) for r in MEMBER_ROLES if r in ctx.accounts]
        if len(set(found)) != len(found):
            raise ConfigurationError("governance members: an institution is listed twice")
        if not 1 <= self.min_approvals <= len(found):
            raise ConfigurationError(
                f"governance: {self.min_approvals} approvals asked of {len(found)} founding "
                "member(s); name the members (--governance FILE, members = [...]) and keep "
                "1 <= min_approvals <= members"
            )
        if self.voting_period <= 0:
            raise ConfigurationError("governance: voting_period must be at least 1 second")
        return found


def _config(ctx: DeployContext) -> GovernanceConfig:
    if ctx.governance is None:
        raise ConfigurationError("the governance contracts are deployed only by a governed deploy")
    return ctx.governance  # type: ignore[no-any-return]


def _timelock_args(ctx: DeployContext) -> list[Any]:
    return [_config(ctx).timelock_delay, ctx.deployer.address]


def _membership_args(ctx: DeployContext) -> list[Any]:
    return [ctx.address_of(TIMELOCK), _config(ctx).member_addresses(ctx)]


def _governor_args(ctx: DeployContext) -> list[Any]:
    config = _config(ctx)
    return [
        ctx.address_of(MEMBERSHIP),
        ctx.address_of(TIMELOCK),
        config.voting_delay,
        config.voting_period,
        config.min_approvals,
    ]


def _wire_governor(ctx: DeployContext, governor: Any) -> None:
    """The governor alone proposes, cancels and executes on the timelock; then the
    deployer's temporary admin of the timelock is renounced (each step only if needed)."""
    timelock = ctx.contracts[TIMELOCK]
    for role in (timelock.PROPOSER_ROLE(), timelock.CANCELLER_ROLE(), timelock.EXECUTOR_ROLE()):
        if not timelock.hasRole(role, governor.address):
            timelock.grantRole(role, governor.address, sender=ctx.deployer)
    if timelock.hasRole(DEFAULT_ADMIN_ROLE, ctx.deployer.address):
        timelock.renounceRole(DEFAULT_ADMIN_ROLE, ctx.deployer.address, sender=ctx.deployer)


SPECS = [
    ContractSpec(name=TIMELOCK, args=_timelock_args, governance=True),
    ContractSpec(name=MEMBERSHIP, depends_on=(TIMELOCK,), args=_membership_args, governance=True),
    ContractSpec(
        name=GOVERNOR,
        depends_on=(MEMBERSHIP, TIMELOCK),
        args=_governor_args,
        wire=_wire_governor,
        governance=True,
    ),
]


# ------------------------------------------------------------------ hand-over
@dataclass(frozen=True)
class HandoverOutcome:
    contract: str
    # "handed over" | "transfer started" | "transfer pending" | "governed", or for the
    # emergency guardian "guardian granted" | "guardian held" (detail: its address)
    action: str
    detail: str = ""


def administered(ctx: DeployContext) -> list[str]:
    """The deployed contracts with a DEFAULT_ADMIN_ROLE, other than governance's own."""
    return [
        name
        for name, contract in ctx.contracts.items()
        if name not in GOVERNANCE_CONTRACTS and "DEFAULT_ADMIN_ROLE" in contract._view_methods_
    ]


def pausable(ctx: DeployContext) -> list[str]:
    """The deployed contracts with the guardian's emergency pause (GUARDIAN_ROLE)."""
    return [
        name
        for name in administered(ctx)
        if "GUARDIAN_ROLE" in ctx.contracts[name]._view_methods_
        and "unpause" in ctx.contracts[name]._mutable_methods_
    ]


def grant_guardian(ctx: DeployContext, log: Callable[[str], None] = print) -> list[HandoverOutcome]:
    """Give the configured guardian GUARDIAN_ROLE on every pausable contract, while the
    deployer is still their admin (hand_over runs it first). Nothing without a guardian."""
    # hand_over also runs on contexts built without a config (the demo's): no guardian then
    config = ctx.governance
    guardian = config.guardian_address() if config is not None else None
    if guardian is None:
        return []
    outcomes = []
    for name in pausable(ctx):
        contract = ctx.contracts[name]
        with translate_errors(name, contract.contract_type):
            role = contract.GUARDIAN_ROLE()
            if contract.hasRole(role, guardian):
                outcome = HandoverOutcome(name, "guardian held", guardian)
            elif contract.hasRole(DEFAULT_ADMIN_ROLE, ctx.deployer.address):
                contract.grantRole(role, guardian, sender=ctx.deployer)
                outcome = HandoverOutcome(name, "guardian granted", guardian)
            else:
                raise ConfigurationError(
                    f"{name} at {contract.address}: the deployer no longer administers it, so "
                    f"only governance grants the guardian: medchain admin propose {name} "
                    f"grantRole GUARDIAN_ROLE {guardian} -d ..."
                )
        outcomes.append(outcome)
        log(f"{name}: {outcome.action} ({guardian})")
    return outcomes


def two_step_admin(contract: Any) -> bool:
    """Whether the contract moves its admin by AccessControlDefaultAdminRules' delayed
    two-step transfer (begin, wait, accept) rather than by grant and renounce."""
    return "beginDefaultAdminTransfer" in contract._mutable_methods_


def hand_over(ctx: DeployContext, log: Callable[[str], None] = print) -> list[HandoverOutcome]:
    """Move every administered contract's admin from the deployer to the timelock."""
    if TIMELOCK not in ctx.contracts:
        raise ConfigurationError("hand_over needs a governed deploy (no ConsortiumTimelock)")
    timelock = str(ctx.contracts[TIMELOCK].address)
    deployer = ctx.deployer
    outcomes = grant_guardian(ctx, log)
    for name in administered(ctx):
        contract = ctx.contracts[name]
        with translate_errors(name, contract.contract_type):
            outcome = _hand_over_one(name, contract, timelock, deployer)
        outcomes.append(outcome)
        log(f"{name}: admin {outcome.action}{f' ({outcome.detail})' if outcome.detail else ''}")
    return outcomes


def _hand_over_one(name: str, contract: Any, timelock: str, deployer: Any) -> HandoverOutcome:
    if two_step_admin(contract):
        if str(contract.defaultAdmin()) == timelock:
            return HandoverOutcome(name, "governed")
        pending, after = contract.pendingDefaultAdmin()
        if str(pending) != timelock:
            contract.beginDefaultAdminTransfer(timelock, sender=deployer)
            pending, after = contract.pendingDefaultAdmin()
            action = "transfer started"
        else:
            action = "transfer pending"
        return HandoverOutcome(
            name,
            action,
            f"governance accepts from {_iso(int(after))}: medchain admin accept-admin {name}",
        )
    if not contract.hasRole(DEFAULT_ADMIN_ROLE, timelock):
        if not contract.hasRole(DEFAULT_ADMIN_ROLE, deployer.address):
            raise ConfigurationError(
                f"{name} at {contract.address}: neither the deployer {deployer.address} nor "
                f"the timelock {timelock} holds DEFAULT_ADMIN_ROLE, so nobody here can hand "
                "its admin over"
            )
        contract.grantRole(DEFAULT_ADMIN_ROLE, timelock, sender=deployer)
    if contract.hasRole(DEFAULT_ADMIN_ROLE, deployer.address):
        contract.renounceRole(DEFAULT_ADMIN_ROLE, deployer.address, sender=deployer)
        return HandoverOutcome(name, "handed over")
    return HandoverOutcome(name, "governed")


def _iso(seconds: int) -> str:
    from medchain.cli.render import iso_time

    return iso_time(seconds)
