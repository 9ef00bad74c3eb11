"""`medchain admin ...`: consortium governance from the command line. Members propose an
admin action on any medchain contract (`propose CONTRACT FUNCTION ARGS...`, or a batch
from `--calls FILE`), vote on it, queue it once M members approved, and anyone executes
it after the timelock's delay; `accept-admin` proposes the timelock's acceptance of a
two-step admin transfer (ConsentRegistry, SerialRegistry); `upgrade` deploys and proposes
a layout-checked new implementation of an upgradeable contract; `switch` proposes moving
a migrated contract (ConsentRegistry, DIDRegistry, TrialRegistry) and every dependent to
its next version, checked complete first; `execute` records an executed upgrade or
switch in the address book; `members` and `status` read. The emergency guardian
pauses a contract's writes at once with `pause CONTRACT` (its own transaction, no vote);
`unpause CONTRACT` proposes lifting it (only governance unpauses; on an ungoverned chain it
is the admin's direct transaction); `paused` lists which contracts are paused.
Proposal ids are shown as 0x-hex and accepted as hex or decimal.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from medchain.cli.options import (
    ContractChoice,
    contract_commands,
    contract_option,
    read_json_file,
    require_account,
)
from medchain.cli.render import emit
from medchain.errors import InvalidInput
from medchain.governance.client import (
    Call,
    GovernanceClient,
    Proposal,
    admin_unpause,
    guardian_pause,
    parse_proposal_id,
    pause_status,
    proposal_label,
)
from medchain.governance.deploy import GOVERNOR
from medchain.governance.switch import propose_switch
from medchain.governance.upgrade import propose_upgrade


@click.group()
def admin() -> None:
    """Consortium governance: M-of-N member votes and a timelock for every admin action."""


COMMANDS = [admin]

governor_option = contract_option("governor", GovernanceClient, what="ConsortiumGovernor")
admin_command = contract_commands(admin, governor_option)


def _tx(receipt: Any) -> dict[str, Any]:
    return {"tx": str(receipt.txn_hash), "block": int(receipt.block_number)}


def _show_proposal(p: dict[str, Any]) -> str:
    from medchain.cli.render import humanize

    shown = humanize(p)
    lines = [
        f"proposal   {shown['id']}",
        f"state      {shown['state']}",
        f"proposer   {shown['proposer']}",
        f"votes      {p['for_votes']} for ({p['approvals_needed']} needed), "
        f"{p['against_votes']} against, {p['abstain_votes']} abstain",
        f"voting     {shown['voting_starts_at']} .. {shown['voting_ends_at']}",
    ]
    if p["executable_at"]:
        lines.append(f"executable {shown['executable_at']}")
    lines += [f"call       {c['target']} {c['data'][:10]}.. value {c['value']}" for c in p["calls"]]
    return "\n".join(lines)


@admin_command("members")
def members_cmd(account: Any, governor: ContractChoice, as_json: bool) -> None:
    """The member institutions, M (approvals a proposal needs) and the timings."""
    settings = governor.bind(account).settings()

    def human(s: dict[str, Any]) -> str:
        head = [
            f"{s['min_approvals']} of {s['member_count']} members approve a proposal",
            f"voting delay {s['voting_delay']}s, voting period {s['voting_period']}s, "
            f"timelock delay {s['timelock_delay']}s",
            f"governor {s['governor']}  timelock {s['timelock']}",
        ]
        return "\n".join(head + [f"member     {m}" for m in s["members"]])

    emit(settings, as_json, human=human)


def _calls_from_file(client: GovernanceClient, path: Path) -> list[Call]:
    doc = read_json_file(path, "calls file")
    if not isinstance(doc, list) or not doc:
        raise InvalidInput(f"{path}: expected a JSON list of {{contract, function, args}}")
    calls = []
    for i, item in enumerate(doc):
        if not isinstance(item, dict) or not {"contract", "function"} <= item.keys():
            raise InvalidInput(f"{path}: call {i} needs 'contract' and 'function' (and 'args')")
        args = item.get("args", [])
        if not isinstance(args, list):
            raise InvalidInput(f"{path}: call {i}: 'args' must be a list")
        calls.append(client.propose_call(str(item["contract"]), str(item["function"]), args))
    return calls


@admin_command("propose")
@click.argument("contract", required=False)
@click.argument("function", required=False)
@click.argument("args", nargs=-1)
@click.option("--description", "-d", required=True, help="What the proposal does and why.")
@click.option(
    "--calls",
    "calls_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help='A batch instead: JSON list of {"contract": ..., "function": ..., "args": [...]}, '
    "run in order, all or none.",
)
def propose_cmd(
    account: Any,
    contract: str | None,
    function: str | None,
    args: tuple[str, ...],
    description: str,
    calls_file: Path | None,
    governor: ContractChoice,
    as_json: bool,
) -> None:
    """Propose CONTRACT.FUNCTION(ARGS...) (an address book contract; a bytes32 role may be
    given by name, e.g. CLINICIAN_ROLE), to be run by the timelock if M members approve."""
    sender = require_account(account)
    client = governor.bind(sender)
    if calls_file is not None:
        if contract or function or args:
            raise InvalidInput("give either CONTRACT FUNCTION ARGS... or --calls FILE, not both")
        calls = _calls_from_file(client, calls_file)
    elif contract and function:
        calls = [client.propose_call(contract, function, list(args))]
    else:
        raise InvalidInput("name the call: CONTRACT FUNCTION [ARGS...] (or --calls FILE)")
    pid = client.propose(calls, description)
    emit(
        {"proposal": proposal_label(pid), "description": description,
         "calls": [c.label for c in calls], "state": client.state(pid).name},
        as_json,
        human=lambda r: f"proposal {r['proposal']} ({r['state']}): {'; '.join(r['calls'])}",
    )  # fmt: skip


@admin_command("vote")
@click.argument("proposal")
@click.argument("support", type=click.Choice(["for", "against", "abstain"]))
@click.option("--reason", default="", help="Why (recorded in the VoteCast event).")
def vote_cmd(
    account: Any, proposal: str, support: str, reason: str, governor: ContractChoice,
    as_json: bool,
) -> None:  # fmt: skip
    """Cast your member vote on PROPOSAL: for, against or abstain (once)."""
    sender = require_account(account)
    client = governor.bind(sender)
    receipt = client.vote(proposal, support, reason)
    tally = client.proposal(proposal)
    emit(
        {"proposal": tally.id, "vote": support, "voter": str(sender.address),
         "for_votes": tally.for_votes, "approvals_needed": tally.approvals_needed,
         **_tx(receipt)},
        as_json,
        human=lambda r: f"{r['voter']} voted {r['vote']} on {r['proposal']} "
        f"({r['for_votes']} for, {r['approvals_needed']} needed)",
    )  # fmt: skip


@admin_command("status")
@click.argument("proposal", required=False)
def status_cmd(account: Any, proposal: str | None, governor: ContractChoice, as_json: bool) -> None:
    """One proposal's state, tally and timings; without PROPOSAL, every proposal."""
    client = governor.bind(account)
    if proposal is not None:
        emit(client.proposal(proposal), as_json, human=_show_proposal)
        return
    found: list[Proposal] = client.proposals()
    emit(
        found,
        as_json,
        human=lambda ps: (
            "\n".join(
                f"{p['id']}  {p['state']:<9} {p['for_votes']}/{p['approvals_needed']} for"
                for p in ps
            )
            or "no proposals yet"
        ),
    )


def _stepped(client: GovernanceClient, proposal: str, receipt: Any) -> dict[str, Any]:
    return {
        "proposal": proposal_label(parse_proposal_id(proposal)),
        "state": client.state(proposal).name,
        **_tx(receipt),
    }


def _show_step(r: dict[str, Any]) -> str:
    lines = [f"proposal {r['proposal']} is {r['state']} (tx {r['tx']})"]
    lines += [
        f"upgraded {u['contract']} now runs {u['implementation']} "
        f"(address book: {u['implementations']} implementations)"
        for u in r.get("upgrades", [])
    ]
    lines += [
        f"switched {w['contract']} is now {w['address']} (address book: {w['versions']} "
        f"former version(s), the last {w['former']})"
        for w in r.get("switches", [])
    ]
    return "\n".join(lines)


@admin_command("queue")
@click.argument("proposal")
def queue_cmd(account: Any, proposal: str, governor: ContractChoice, as_json: bool) -> None:
    """Queue a passed PROPOSAL in the timelock (its delay starts)."""
    client = governor.bind(require_account(account))
    emit(_stepped(client, proposal, client.queue(proposal)), as_json, human=_show_step)


@admin_command("execute")
@click.argument("proposal")
def execute_cmd(account: Any, proposal: str, governor: ContractChoice, as_json: bool) -> None:
    """Execute a queued PROPOSAL whose timelock delay has passed (anyone may). An upgrade
    of an address-book proxy, or a switch of a migrated contract, among its calls is
    recorded in the book."""
    client = governor.bind(require_account(account))
    book = client.address_book
    done = client.execute_recorded(proposal)
    result = _stepped(client, proposal, done.receipt)
    result["upgrades"] = [
        {"contract": u.contract, "proxy": u.proxy, "implementation": u.implementation,
         "implementations": len(book.get(u.contract).implementations)}
        for u in done.upgrades
    ]  # fmt: skip
    result["switches"] = [
        {"contract": w.contract, "address": w.new, "former": w.old,
         "versions": len(book.get(w.contract).versions)}
        for w in done.switches
    ]  # fmt: skip
    emit(result, as_json, human=_show_step)


@admin_command("upgrade")
@click.argument("contract")
@click.option(
    "--implementation",
    "implementation",
    default=None,
    metavar="CONTRACT_TYPE",
    help="The project contract to run next (default: CONTRACT as this tree builds it).",
)
@click.option("--description", "-d", default="", help="Default: names the contract and version.")
def upgrade_cmd(
    account: Any, contract: str, implementation: str | None, description: str,
    governor: ContractChoice, as_json: bool,
) -> None:  # fmt: skip
    """Propose an in-place upgrade of CONTRACT (an ERC-1967 proxy in the address book):
    checks the new implementation's storage layout against the one the proxy runs, deploys
    it, and proposes upgradeToAndCall(implementation, 0x); then vote, queue, execute."""
    client = governor.bind(require_account(account))
    result = _with_next_steps(propose_upgrade(client, contract, implementation, description))

    def human(r: dict[str, Any]) -> str:
        return "\n".join([
            f"layout     {r['implementation_type']} may replace {r['reference']}",
            f"deployed   {r['implementation_type']} at {r['implementation']}",
            f"proposal   {r['proposal']} ({r['state']}): {r['call']}",
            *(f"next       {step}" for step in r["next"]),
        ])  # fmt: skip

    emit(result, as_json, human=human)


def _with_next_steps(done: Any) -> dict[str, Any]:
    """A proposal's result (a dataclass with `proposal`) and the commands that take it on."""
    pid = done.proposal
    return {
        **dataclasses.asdict(done),
        "next": [f"medchain admin vote {pid} for --account <member>",
                 f"medchain admin queue {pid} --account <member>",
                 f"medchain admin execute {pid} --account <any>"],
    }  # fmt: skip


@admin_command("switch")
@click.argument("contract")
@click.argument("new_address", metavar="NEW_ADDRESS")
@click.option("--description", "-d", default="", help="Default: names the versions and calls.")
def switch_cmd(
    account: Any, contract: str, new_address: str, description: str,
    governor: ContractChoice, as_json: bool,
) -> None:  # fmt: skip
    """Propose moving CONTRACT (a migrated contract: ConsentRegistry, DIDRegistry,
    TrialRegistry) to its next version at NEW_ADDRESS, with every dependent in the same
    proposal (e.g. RecordRegistry's write authorizer). Checks first that NEW_ADDRESS names
    the book's CONTRACT as predecessor, that no contract holds the old one immutably and
    that the migration is complete; then vote, queue, and execute (which moves the book)."""
    client = governor.bind(require_account(account))
    result = _with_next_steps(propose_switch(client, contract, new_address, description))

    def human(r: dict[str, Any]) -> str:
        return "\n".join([
            f"verified   {r['contract']} {r['old']} -> {r['new']}: {r['migration']}",
            f"proposal   {r['proposal']} ({r['state']})",
            *(f"call       {c}" for c in r["calls"]),
            *(f"next       {step}" for step in r["next"]),
        ])  # fmt: skip

    emit(result, as_json, human=human)


@admin_command("accept-admin")
@click.argument("contract")
@click.option("--description", "-d", default="", help="Default: names the contract.")
def accept_admin_cmd(
    account: Any, contract: str, description: str, governor: ContractChoice, as_json: bool
) -> None:
    """Propose that the timelock accept CONTRACT's pending two-step admin transfer
    (ConsentRegistry, SerialRegistry); then vote, queue and execute it like any proposal."""
    client = governor.bind(require_account(account))
    pid = client.accept_admin(contract, description)
    emit(
        {"proposal": proposal_label(pid), "contract": contract, "state": client.state(pid).name},
        as_json,
        human=lambda r: f"proposal {r['proposal']} ({r['state']}): {contract} accepts the timelock",
    )


# ---------------------------------------------------------------------- emergency pause
def _book() -> Any:
    from medchain.deployments import AddressBook

    return AddressBook.for_connected_network()


@admin_command("pause")
@click.argument("contract")
def pause_cmd(account: Any, contract: str, governor: ContractChoice, as_json: bool) -> None:
    """The guardian pauses CONTRACT's writes now (reads, patients' revocations and
    governance stay open); only governance lifts it (`medchain admin unpause CONTRACT`)."""
    sender = require_account(account)
    receipt = guardian_pause(contract, sender, _book())
    emit(
        {"contract": contract, "paused": True, "guardian": str(sender.address), **_tx(receipt)},
        as_json,
        human=lambda r: (
            f"{contract} is paused by the guardian {r['guardian']} (tx {r['tx']}); "
            f"governance unpauses it: medchain admin unpause {contract}"
        ),
    )


@admin_command("unpause")
@click.argument("contract")
@click.option("--description", "-d", default="", help="Default: names the contract.")
def unpause_cmd(
    account: Any, contract: str, description: str, governor: ContractChoice, as_json: bool
) -> None:
    """Lift CONTRACT's pause: on a governed chain, propose it (then vote, queue and execute
    like any proposal); on an ungoverned one, the admin's direct transaction."""
    sender = require_account(account)
    book = _book()
    if governor.address is None and GOVERNOR not in book:
        receipt = admin_unpause(contract, sender, book)
        emit(
            {"contract": contract, "paused": False, "admin": str(sender.address), **_tx(receipt)},
            as_json,
            human=lambda r: f"{contract} is unpaused by its admin {r['admin']} (tx {r['tx']})",
        )
        return
    client = governor.bind(sender)
    pid = client.propose_unpause(contract, description)
    emit(
        {"proposal": proposal_label(pid), "contract": contract, "state": client.state(pid).name},
        as_json,
        human=lambda r: f"proposal {r['proposal']} ({r['state']}): unpause {contract}",
    )


@admin_command("paused")
@click.argument("contracts", nargs=-1)
def paused_cmd(
    account: Any, contracts: tuple[str, ...], governor: ContractChoice, as_json: bool
) -> None:
    """Whether each pausable contract (or CONTRACTS) is paused now."""
    rows = pause_status(_book(), contracts)
    emit(
        rows,
        as_json,
        human=lambda rs: (
            "\n".join(
                f"{r['contract']:<22} {'PAUSED' if r['paused'] else 'running'}  {r['address']}"
                for r in rs
            )
            or "no pausable contract in this address book"
        ),
    )
