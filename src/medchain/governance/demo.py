"""Demo step: the consortium takes over. The governance contracts are deployed (2 of 3
members, the embedded chain's short timings) and every contract's admin is handed to the
timelock; the members then pass one real admin change through propose -> 2 votes ->
queue -> timelock delay -> execute (accepting the two-step admin transfers and accrediting
the trial investigator as a clinician on ConsentRegistry, or withdrawing it on a re-run),
while a proposal backed by one member alone is defeated and refused, and the former
deployer's direct admin call is refused. Mid-step the members upgrade RecordRegistry in
place to RecordRegistryV2 the same way (layout checked, implementation deployed, proposed,
2 votes, queue, delay, execute; the address book records it), and the patient's consent
answer and the lab record's lookup are shown to be the same before and after (a re-run
finds V2 running and says so). The chain's clock is advanced past each wait, so
the step runs on development nodes only (elsewhere the waits are real days: it says so and
leaves the deployer in charge)."""

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
from medchain.governance.upgrade import propose_upgrade, running_contract


def advance_to(timestamp: int) -> None:
    """Mine a block at `timestamp` (or now, if that has passed) on a development chain.
    ape's in-process chain and its foundry provider set the time themselves; a node reached
    by URI (anvil, Hardhat) is told through their common RPC methods, which ape's generic
    node provider does not offer."""
    from ape import chain
    from ape.exceptions import APINotImplementedError

    target = max(int(timestamp), int(chain.pending_timestamp))
    try:
        chain.mine(timestamp=target)
    except APINotImplementedError:
        rpc = chain.provider.web3.provider
        for method, params in (("evm_setNextBlockTimestamp", [target]), ("evm_mine", [])):
            answer = rpc.make_request(method, params)
            if answer.get("error"):
                raise MedchainError(f"{method} refused by the node: {answer['error']}") from None


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

    from medchain.deployments import development_node

    console, acc = ctx.console, ctx.accounts
    if not development_node(chain.provider.web3):
        console.print(
            "skipped          governance waits out real voting periods and timelock delays "
            "here; deploy with `ape run deploy --governance FILE` (docs/governance.md)"
        )
        return
    govern(ctx)
    # The governor counts a proposer's votes one second before the proposing block; anvil
    # may mine that block in the same second as the membership mint, so move past it.
    advance_to(int(chain.blocks.head.timestamp) + 1)
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
    if gov.state(passing) != ProposalState.Executed:
        raise MedchainError(
            f"proposal {proposal_label(passing)} did not run: {gov.state(passing).name}"
        )
    consent = ctx.contracts["ConsentRegistry"]
    clinician = consent.hasRole(consent.CLINICIAN_ROLE(), acc["investigator"].address)
    console.print(
        f"executed         ConsentRegistry admin: {_who(str(consent.defaultAdmin()), gov)}; "
        f"investigator is a clinician: {clinician}"
    )
    _governed_upgrade(ctx, gov)
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


UPGRADED, NEXT_VERSION = "RecordRegistry", "RecordRegistryV2"  # contracts/records/test/


def _answers(ctx: DemoContext) -> dict[str, Any]:
    """What the patient's consent and the records step's lab record answer now."""
    from medchain.consent import ConsentClient
    from medchain.consent.demo import RECORD_SCOPE

    patient, provider = ctx.accounts["patient"], ctx.accounts["provider"]
    consent = ConsentClient(ctx.contracts["ConsentRegistry"])
    found: dict[str, Any] = {
        f"consent read/TREAT {RECORD_SCOPE}": consent.check(
            patient, provider, RECORD_SCOPE, "read", "TREAT"
        )
    }
    record_id = ctx.shared.get("lab_record")
    if record_id is not None:
        label = f"lab record 0x{bytes(record_id).hex()[:8]}.. getRecord"
        found[label] = tuple(ctx.contracts[UPGRADED].getRecord(record_id))
    return found


def _ensure_live_grant(ctx: DemoContext) -> None:
    """The consent step ends with the provider's grant revoked; before the upgrade the
    patient grants read/TREAT again for 30 days, so the compared answer is a live grant."""
    from ape import chain

    from medchain.consent import ConsentClient
    from medchain.consent.demo import RECORD_SCOPE
    from medchain.timeutil import DAY

    patient, provider = ctx.accounts["patient"], ctx.accounts["provider"]
    consent = ConsentClient(ctx.contracts["ConsentRegistry"])
    if consent.check(patient, provider, RECORD_SCOPE, "read", "TREAT"):
        return
    end = int(chain.pending_timestamp) + 30 * DAY
    consent.grant(patient, provider, RECORD_SCOPE, "read", "TREAT", 0, end, sender=patient)
    ctx.console.print(
        f"consent          patient grants provider read/TREAT {RECORD_SCOPE} for 30 days"
    )


def _governed_upgrade(ctx: DemoContext, gov: GovernanceClient) -> None:
    """RecordRegistry -> RecordRegistryV2 through governance, answers compared."""
    from medchain.client import bind
    from medchain.records.upgrade import implementation_of

    console, acc = ctx.console, ctx.accounts
    proxy = ctx.contracts[UPGRADED]
    if running_contract(implementation_of(proxy)) == NEXT_VERSION:
        console.print(f"upgrade          {UPGRADED} runs {NEXT_VERSION} already: nothing proposed")
        return
    _ensure_live_grant(ctx)  # an answer that is "yes" shows more than one that is "no"
    before = _answers(ctx)
    if "lab_record" not in ctx.shared:
        console.print("[yellow]no lab record from the records step: comparing consent only")
    done = propose_upgrade(gov, UPGRADED, NEXT_VERSION, sender=acc["member1"])
    console.print(
        f"layout           {NEXT_VERSION} may replace {done.reference} (OpenZeppelin upgrades-core)"
    )
    console.print(f"proposed         {done.call}")
    console.print(f"                 as {done.proposal[:18]}.. by member1")
    advance_to(gov.proposal(done.proposal).voting_starts_at)
    gov.vote(done.proposal, "for", sender=acc["member1"])
    gov.vote(done.proposal, "for", sender=acc["member2"])
    advance_to(gov.proposal(done.proposal).voting_ends_at + 1)
    gov.queue(done.proposal, sender=acc["member1"])
    advance_to(gov.proposal(done.proposal).executable_at)
    gov.execute(done.proposal, sender=acc["member3"])
    console.print(
        "votes            member1, member2 for; queued, the timelock's delay waited out, "
        "executed by member3"
    )
    record = ctx.book.get(UPGRADED)
    upgraded = ctx.contracts[UPGRADED] = bind(record)  # the book's ABI: V2's now
    console.print(
        f"upgraded         {UPGRADED} at {proxy.address}: version() {upgraded.version()}, "
        f"{len(record.implementations)} implementations in the address book"
    )
    after = _answers(ctx)
    if after != before:
        raise MedchainError(f"answers changed across the upgrade: {before} -> {after}")
    shown = "; ".join(
        f"{name} {value}" if isinstance(value, bool) else name for name, value in after.items()
    )
    console.print(f"same answers     {shown}: identical before and after the upgrade")
