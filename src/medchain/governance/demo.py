"""Demo step: the consortium takes over. The governance contracts are deployed (2 of 3
members, the embedded chain's short timings) and every contract's admin is handed to the
timelock; the members then pass one real admin change through propose -> 2 votes ->
queue -> timelock delay -> execute (accepting the two-step admin transfers and accrediting
the trial investigator as a clinician on ConsentRegistry, or withdrawing it on a re-run),
while a proposal backed by one member alone is defeated and refused, and the former
deployer's direct admin call is refused. The chain's clock is advanced past each wait."""

from __future__ import annotations

from typing import Any

from medchain.demo import DemoContext
from medchain.deploy import DeployContext, deploy_all
from medchain.errors import MedchainError
from medchain.governance.client import GovernanceClient, ProposalState, proposal_label
from medchain.governance.deploy import (
    GOVERNANCE_CONTRACTS,
    GOVERNOR,
    SPECS,
    GovernanceConfig,
    hand_over,
    two_step_admin,
)


def advance_to(timestamp: int) -> None:
    """Mine a block at `timestamp` (or now, if that has passed) on a development chain."""
    from ape import chain

    chain.mine(timestamp=max(int(timestamp), int(chain.pending_timestamp)))


def govern(ctx: DemoContext) -> DeployContext:
    """Deploy the governance contracts (idempotent) and hand every admin to the timelock."""
    say = ctx.console.print
    deployed, _ = deploy_all(
        ctx.accounts["deployer"], ctx.book, specs=SPECS, accounts=ctx.accounts,
        governance=GovernanceConfig.development(), log=lambda line: say("  " + line),
    )  # fmt: skip
    ctx.contracts.update(deployed.contracts)
    full = DeployContext(ctx.accounts["deployer"], dict(ctx.contracts), ctx.accounts)
    hand_over(full, log=lambda line: say("  " + line))
    return full


def _admin_calls(gov: GovernanceClient, ctx: DemoContext) -> tuple[list[Any], int]:
    """Accept every pending admin transfer, and toggle the investigator's clinician role;
    returns the calls and the earliest time they can all run."""
    timelock = str(gov.timelock.address)
    calls, ready = [], 0
    for name, contract in ctx.contracts.items():
        if name in GOVERNANCE_CONTRACTS or "DEFAULT_ADMIN_ROLE" not in contract._view_methods_:
            continue
        if two_step_admin(contract) and str(contract.defaultAdmin()) != timelock:
            calls.append(gov.accept_admin_call(name))
            ready = max(ready, int(contract.pendingDefaultAdmin()[1]) + 1)
    consent = ctx.contracts["ConsentRegistry"]
    investigator = ctx.accounts["investigator"].address
    held = consent.hasRole(consent.CLINICIAN_ROLE(), investigator)
    change = "revokeRole" if held else "grantRole"
    calls.append(gov.propose_call("ConsentRegistry", change, ["CLINICIAN_ROLE", investigator]))
    return calls, ready


def run(ctx: DemoContext) -> None:
    from ape import chain

    console, acc = ctx.console, ctx.accounts
    govern(ctx)
    gov = GovernanceClient(ctx.contracts[GOVERNOR], book=ctx.book)
    settings = gov.settings()
    console.print(
        f"consortium       {settings['min_approvals']} of {settings['member_count']} members "
        f"approve; vote {settings['voting_period']}s, then timelock {settings['timelock_delay']}s"
    )
    m1, m2, m3 = acc["member1"], acc["member2"], acc["member3"]
    stamp = chain.pending_timestamp  # descriptions are unique per run (same calls re-proposed)
    calls, ready = _admin_calls(gov, ctx)
    passing = gov.propose(calls, f"Admin hand-over and clinician accreditation ({stamp})", m1)
    lone = gov.propose(
        [gov.propose_call("ConsentRegistry", "setBreakGlassThreshold", [1])],
        f"Break-glass by a single approver ({stamp})", m3,
    )  # fmt: skip
    for call in calls:
        console.print(f"proposed         {call.label}")
    console.print(f"                 as {proposal_label(passing)[:18]}.. by member1")
    advance_to(gov.proposal(lone).voting_starts_at)  # the later of the two
    gov.vote(passing, "for", sender=m1)
    gov.vote(passing, "for", sender=m2)
    gov.vote(lone, "for", sender=m3)
    console.print(
        "votes            member1, member2 for; member3 alone for a 1-approver break-glass"
    )
    advance_to(gov.proposal(lone).voting_ends_at + 1)
    console.print(
        f"after the vote   {gov.state(passing).name} / lone proposal {gov.state(lone).name}"
    )
    try:
        gov.queue(lone, sender=m3)
    except MedchainError as exc:
        console.print(f"refused          {exc}")
    gov.queue(passing, sender=m1)
    try:
        gov.execute(passing, sender=m1)
    except MedchainError as exc:
        console.print(f"refused          {exc}")
    advance_to(max(gov.proposal(passing).executable_at, ready))
    gov.execute(passing, sender=acc["deployer"])  # anyone may execute once it is due
    assert gov.state(passing) == ProposalState.Executed
    consent = ctx.contracts["ConsentRegistry"]
    clinician = consent.hasRole(consent.CLINICIAN_ROLE(), acc["investigator"].address)
    console.print(
        f"executed         ConsentRegistry admin: {_who(str(consent.defaultAdmin()), gov)}; "
        f"investigator is a clinician: {clinician}"
    )
    try:
        from medchain.errors import translate_errors

        with translate_errors("RecordRegistry"):
            ctx.contracts["RecordRegistry"].setWriteAuthorizer(
                consent.address, sender=acc["deployer"]
            )
    except MedchainError as exc:
        console.print(f"deployer refused {exc}")
    ctx.shared["governance"] = {"proposal": proposal_label(passing), "calls": len(calls)}


def _who(address: str, gov: GovernanceClient) -> str:
    return "the timelock" if address == str(gov.timelock.address) else address
