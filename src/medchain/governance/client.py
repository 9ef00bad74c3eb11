"""`GovernanceClient`: the consortium's decisions through its OpenZeppelin Governor.

A decision is a proposal: one or more contract calls (`Call`, encoded from the address
book's ABI by `propose_call`) that the timelock will make. Members vote; once at least M
voted for it (and more for than against) it is queued in the timelock, and after the
timelock's delay anyone executes it. Every step is checked first, so a refusal says in
one line why and when (`proposal 0x1f.. is Active: voting ends at 2026-12-01T10:00:00Z`)
rather than returning the Governor's bare error.

The emergency guardian's pause sits beside it (docs/governance.md): `guardian_pause` is the
guardian's own direct transaction on a pausable contract (one with GUARDIAN_ROLE, `pause()`
and `unpause()`), and lifting it is governance's: `GovernanceClient.propose_unpause` on a
governed chain, `admin_unpause` by the admin account of an ungoverned one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from medchain.client import ContractClient, contract_at
from medchain.errors import (
    ConfigurationError,
    ContractRevert,
    InvalidInput,
    MedchainError,
    TransactionFailed,
    decode_custom_error,
)
from medchain.governance.deploy import DEFAULT_ADMIN_ROLE, MEMBERSHIP, TIMELOCK

__all__ = [
    "AlreadyPaused",
    "Call",
    "GovernanceClient",
    "GovernanceRefused",
    "NotAMember",
    "NotAdmin",
    "NotGuardian",
    "NotPausable",
    "NotPaused",
    "Proposal",
    "ProposalNotReady",
    "ProposalState",
    "Support",
    "admin_unpause",
    "guardian_pause",
    "parse_proposal_id",
    "pausable_contracts",
    "pause_status",
    "proposal_label",
]


class GovernanceRefused(MedchainError):
    """A governance step that cannot be taken now (base of the two below)."""


class ProposalNotReady(GovernanceRefused):
    """The proposal is not in the state the step needs; the message says when it will be."""


class NotAMember(GovernanceRefused):
    """The account holds no consortium membership (no vote) where one is needed."""


class NotGuardian(GovernanceRefused):
    """The account does not hold GUARDIAN_ROLE on the contract it tried to pause."""


class NotAdmin(GovernanceRefused):
    """The account does not hold the contract's DEFAULT_ADMIN_ROLE (direct unpause)."""


class AlreadyPaused(GovernanceRefused):
    """The contract is paused already: a second pause would only revert."""


class NotPaused(GovernanceRefused):
    """The contract is not paused: there is nothing to unpause."""


class NotPausable(InvalidInput):
    """The named contract has no emergency pause (not deployed with one, or never had it)."""


class ProposalState(IntEnum):
    """OpenZeppelin IGovernor.ProposalState, by name."""

    Pending = 0
    Active = 1
    Canceled = 2
    Defeated = 3
    Succeeded = 4
    Queued = 5
    Expired = 6
    Executed = 7


class Support(IntEnum):
    """GovernorCountingSimple's vote types."""

    against = 0
    for_ = 1
    abstain = 2

    @classmethod
    def parse(cls, text: str | int | Support) -> Support:
        if isinstance(text, Support):
            return text
        key = str(text).strip().lower()
        names = {"against": cls.against, "for": cls.for_, "abstain": cls.abstain}
        if key in names:
            return names[key]
        raise InvalidInput(f"vote must be for, against or abstain, got {text!r}")

    @property
    def label(self) -> str:
        return self.name.rstrip("_")


def parse_proposal_id(value: str | int) -> int:
    """A proposal id as the Governor returns it (uint256), from decimal or 0x-hex."""
    if isinstance(value, int):
        return value
    try:
        number = int(str(value).strip(), 0)
    except ValueError:
        raise InvalidInput(f"proposal id must be a number or 0x-hex, got {value!r}") from None
    if not 0 <= number < 1 << 256:
        raise InvalidInput(f"proposal id must fit in 256 bits, got {value!r}")
    return number


def proposal_label(proposal_id: int) -> str:
    """How a proposal id is shown: 0x-hex (it is a keccak256 hash)."""
    return f"0x{proposal_id:064x}"


def _when(seconds: int) -> str:
    from medchain.cli.render import iso_time

    return iso_time(seconds)


@dataclass(frozen=True)
class Call:
    """One call a proposal makes through the timelock; `label` is how people read it."""

    target: str
    data: bytes
    value: int = 0
    label: str = ""


@dataclass(frozen=True)
class Executed:
    """An executed proposal: its receipt, and the upgrades (`UpgradeCall`) and switches
    (`SwitchCall`) among its calls that were recorded in the address book."""

    receipt: Any
    upgrades: list[Any]
    switches: list[Any]


@dataclass(frozen=True)
class Proposal:
    """A proposal as the Governor stores it, with its tally and timings (unix seconds)."""

    id: str
    state: str
    proposer: str
    voting_starts_at: int
    voting_ends_at: int
    executable_at: int  # 0 until queued
    for_votes: int
    against_votes: int
    abstain_votes: int
    approvals_needed: int
    calls: list[dict[str, Any]] = field(default_factory=list)


class GovernanceClient(ContractClient):
    """The consortium's governor, with its membership token and timelock beside it."""

    contract_name = "ConsortiumGovernor"
    deploy_hint = (
        "this chain was deployed without governance: `ape run deploy --network <network> "
        "--governance FILE` deploys it governed (docs/governance.md)"
    )

    # ------------------------------------------------------------------ contracts
    @property
    def membership(self) -> Any:
        return contract_at(MEMBERSHIP, str(self.call("token")), self.book)

    @property
    def timelock(self) -> Any:
        return contract_at(TIMELOCK, str(self.call("timelock")), self.book)

    @property
    def address_book(self) -> Any:
        """The book calls are built from and upgrades recorded in: the client's, else the
        chosen or connected network's."""
        from medchain.deployments import AddressBook

        return self.book or AddressBook.for_connected_network()

    # ------------------------------------------------------------------ reads
    def members(self) -> list[str]:
        """Every member institution's address."""
        return [str(a) for a in self.membership.members()]

    def settings(self) -> dict[str, Any]:
        """M, N and the timings (seconds) every new proposal follows."""
        members = self.members()
        return {
            "members": members,
            "min_approvals": int(self.call("minApprovals")),
            "member_count": len(members),
            "voting_delay": int(self.call("votingDelay")),
            "voting_period": int(self.call("votingPeriod")),
            "timelock_delay": int(self.timelock.getMinDelay()),
            "governor": self.address,
            "timelock": str(self.timelock.address),
            "membership": str(self.membership.address),
        }

    def state(self, proposal_id: int | str) -> ProposalState:
        """The proposal's state by name; an unknown id is refused in one line."""
        pid = parse_proposal_id(proposal_id)
        try:
            return ProposalState(int(self.call("state", pid)))
        except ContractRevert as exc:
            if exc.error_name == "GovernorNonexistentProposal":
                raise InvalidInput(f"no proposal {proposal_label(pid)} on this governor") from None
            raise

    def proposal(self, proposal_id: int | str) -> Proposal:
        pid = parse_proposal_id(proposal_id)
        state = self.state(pid)
        targets, values, calldatas, _ = self.call("proposalDetails", pid)
        against, for_votes, abstain = self.call("proposalVotes", pid)
        snapshot = int(self.call("proposalSnapshot", pid))
        return Proposal(
            id=proposal_label(pid),
            state=state.name,
            proposer=str(self.call("proposalProposer", pid)),
            voting_starts_at=snapshot + 1,  # Active once the clock passes the snapshot
            voting_ends_at=int(self.call("proposalDeadline", pid)),
            executable_at=int(self.call("proposalEta", pid)),
            for_votes=int(for_votes),
            against_votes=int(against),
            abstain_votes=int(abstain),
            approvals_needed=int(self.call("quorum", snapshot)),
            calls=[
                {"target": str(t), "value": int(v), "data": bytes(d)}
                for t, v, d in zip(targets, values, calldatas, strict=True)
            ],
        )

    def proposals(self) -> list[Proposal]:
        """Every proposal made, oldest first."""
        count = int(self.call("proposalCount"))
        return [self.proposal(int(self.call("proposalDetailsAt", i)[0])) for i in range(count)]

    # ------------------------------------------------------------------ building calls
    def propose_call(self, contract_name: str, function: str, args: Sequence[Any] = ()) -> Call:
        """A call of `function(*args)` on the address book's `contract_name`, encoded from
        the book's ABI. Text arguments are read by the ABI type (numbers, booleans,
        0x-hex); a bytes32 argument may name one of the contract's roles (`CLINICIAN_ROLE`)."""
        from medchain.client import bind

        contract = bind(self.address_book.get(contract_name))
        abi = _function_abi(contract, contract_name, function, len(args))
        values = [
            _coerce(contract, arg, item.canonical_type, f"{function} argument {item.name or i}")
            for i, (arg, item) in enumerate(zip(args, abi.inputs, strict=True))
        ]
        handler = getattr(contract, function)
        data = bytes(handler.encode_input(*values))
        shown = ", ".join(str(a) for a in args)
        return Call(str(contract.address), data, 0, f"{contract_name}.{function}({shown})")

    def accept_admin_call(self, contract_name: str) -> Call:
        """The call by which the timelock accepts a two-step admin transfer."""
        return self.propose_call(contract_name, "acceptDefaultAdminTransfer")

    # ------------------------------------------------------------------ steps
    def propose(self, calls: Sequence[Call], description: str, sender: Any = None) -> int:
        """Propose `calls` (run in order, all or none); returns the proposal id. Only a
        member proposes; the same calls with the same description cannot be proposed twice."""
        if not calls:
            raise InvalidInput("a proposal needs at least one call")
        if not description.strip():
            raise InvalidInput("a proposal needs a description (what and why)")
        account = self.require_proposer(sender)
        args = ([c.target for c in calls], [c.value for c in calls], [c.data for c in calls])
        pid = int(self.call("hashProposal", *args, _description_hash(description)))
        if self._exists(pid):
            raise ProposalNotReady(
                f"proposal {proposal_label(pid)} (the same calls and description) exists "
                f"already and is {self.state(pid).name}; change the description to propose again"
            )
        self.transact("propose", *args, description, sender=account)
        return pid

    def require_proposer(self, sender: Any = None) -> Any:
        """The sending account, if it may propose now (a member); NotAMember otherwise."""
        account = self._sender(sender, "propose")
        # The governor counts votes one second before the proposing block; that block comes
        # after the latest one, so a vote held now counts (the latest second itself cannot
        # be asked of getPastVotes yet: a member minted in it would be refused).
        if int(self.membership.getVotes(account.address)) == 0:
            raise NotAMember(f"{account.address} is not a consortium member: only members propose")
        return account

    def vote(
        self, proposal_id: int | str, support: str | int | Support, reason: str = "",
        sender: Any = None,
    ) -> Any:  # fmt: skip
        """Cast the sender's vote (for, against, abstain); once per member per proposal."""
        pid = parse_proposal_id(proposal_id)
        choice = Support.parse(support)
        account = self._sender(sender, "castVote")
        self._require_state(pid, ProposalState.Active, "vote on")
        snapshot = int(self.call("proposalSnapshot", pid))
        self._require_member(account, snapshot, f"held no membership at {_when(snapshot)}")
        if self.call("hasVoted", pid, account.address):
            raise ProposalNotReady(f"{account.address} has voted on {proposal_label(pid)} already")
        if reason:
            return self.transact("castVoteWithReason", pid, int(choice), reason, sender=account)
        return self.transact("castVote", pid, int(choice), sender=account)

    def queue(self, proposal_id: int | str, sender: Any = None) -> Any:
        """Put a passed proposal in the timelock; it runs after the delay."""
        pid = parse_proposal_id(proposal_id)
        self._require_state(pid, ProposalState.Succeeded, "queue")
        return self.transact("queue", pid, sender=sender)

    def execute(self, proposal_id: int | str, sender: Any = None) -> Any:
        """Run a queued proposal's calls through the timelock, once its delay has passed,
        and return the receipt. An upgrade of one of the book's proxies among them is
        recorded in the book (`medchain.governance.upgrade.record_upgrades`), and so is a
        switch of a migrated contract to its next version
        (`medchain.governance.switch.record_switches`)."""
        return self.execute_recorded(proposal_id, sender).receipt

    def execute_recorded(self, proposal_id: int | str, sender: Any = None) -> Executed:
        """`execute`, also returning the upgrades and switches it recorded in the book."""
        from ape import chain

        from medchain.governance.switch import record_switches, switches_in
        from medchain.governance.upgrade import record_upgrades, upgrades_in

        pid = parse_proposal_id(proposal_id)
        self._require_state(pid, ProposalState.Queued, "execute")
        eta = int(self.call("proposalEta", pid))
        if chain.pending_timestamp < eta:
            raise ProposalNotReady(
                f"proposal {proposal_label(pid)} is Queued: executable from {_when(eta)} "
                "(the timelock's delay)"
            )
        book = self.address_book
        calls = self.proposal(pid).calls
        upgrades = upgrades_in(calls, book)
        switches = switches_in(calls, book)  # refuses a stale switch before it runs
        receipt = self.transact("execute", pid, sender=sender)
        record_upgrades(book, upgrades, receipt, proposal_label(pid))
        record_switches(book, switches, receipt, proposal_label(pid))
        return Executed(receipt, upgrades, switches)

    def propose_unpause(self, contract_name: str, description: str = "", sender: Any = None) -> int:
        """Propose that the timelock unpause `contract_name` (only governance unpauses: a
        guardian's pause ends by a vote). Refused unless the contract is paused now."""
        contract = _pausable(self.address_book, contract_name)
        if not contract.paused():
            raise NotPaused(f"{contract_name} is not paused: there is nothing to unpause")
        call = self.propose_call(contract_name, "unpause")
        text = description or f"Unpause {contract_name} ({call.target})"
        return self.propose([call], text, sender=sender)

    def accept_admin(self, contract_name: str, description: str = "", sender: Any = None) -> int:
        """Propose that the timelock accept `contract_name`'s pending admin transfer
        (AccessControlDefaultAdminRules: ConsentRegistry, SerialRegistry)."""
        call = self.accept_admin_call(contract_name)
        text = description or f"Accept the default admin of {contract_name} ({call.target})"
        return self.propose([call], text, sender=sender)

    def transact(self, method: str, *args: Any, sender: Any | None = None, **tx: Any) -> Any:
        """As ContractClient.transact; a refusal raised inside the timelock (an error the
        governor's ABI does not know) is decoded against the timelock's ABI."""
        try:
            return super().transact(method, *args, sender=sender, **tx)
        except ContractRevert:
            raise
        except TransactionFailed as exc:
            cause = exc.__cause__
            decoded = decode_custom_error(
                TIMELOCK, self.timelock.contract_type, getattr(cause, "revert_message", None)
            )
            if decoded is not None:
                raise decoded from exc
            raise

    # ------------------------------------------------------------------ checks
    def _exists(self, pid: int) -> bool:
        return int(self.call("proposalSnapshot", pid)) != 0

    def _sender(self, sender: Any, method: str) -> Any:
        account = sender or self.sender
        if account is None:
            raise ConfigurationError(
                f"{self.contract_name}.{method} needs a sender account (pass sender= or --account)"
            )
        return account

    def _require_member(self, account: Any, timepoint: int, why: str) -> None:
        if int(self.call("getVotes", account.address, timepoint)) == 0:
            raise NotAMember(f"{account.address} is not a consortium member: {why}")

    def _require_state(self, pid: int, wanted: ProposalState, action: str) -> None:
        state = self.state(pid)
        if state == wanted:
            return
        label = proposal_label(pid)
        now = f"proposal {label} is {state.name}"
        if state == ProposalState.Pending:
            start = int(self.call("proposalSnapshot", pid)) + 1
            raise ProposalNotReady(
                f"{now}: voting starts at {_when(start)}; cannot {action} it yet"
            )
        if state == ProposalState.Active:
            end = int(self.call("proposalDeadline", pid))
            raise ProposalNotReady(f"{now}: voting ends at {_when(end)}; cannot {action} it yet")
        if state == ProposalState.Defeated:
            against, for_votes, _ = self.call("proposalVotes", pid)
            needed = int(self.call("quorum", int(self.call("proposalSnapshot", pid))))
            raise ProposalNotReady(
                f"{now}: {for_votes} for ({needed} needed), {against} against; cannot {action} it"
            )
        if state == ProposalState.Succeeded:
            raise ProposalNotReady(f"{now}: queue it first (medchain admin queue {label})")
        if state == ProposalState.Queued:
            eta = int(self.call("proposalEta", pid))
            raise ProposalNotReady(f"{now}: executable from {_when(eta)}; cannot {action} it")
        raise ProposalNotReady(f"{now}; cannot {action} it")


# ---------------------------------------------------------------------- emergency pause
GUARDIAN_ROLE_NAME = "GUARDIAN_ROLE"


def _has_pause(abi: Sequence[Any]) -> bool:
    names = {
        (item.get("name"), len(item.get("inputs", [])))
        for item in abi
        if isinstance(item, dict) and item.get("type") == "function"
    }
    return {(GUARDIAN_ROLE_NAME, 0), ("pause", 0), ("unpause", 0), ("paused", 0)} <= names


def pausable_contracts(book: Any) -> list[str]:
    """The address book's contracts that have the guardian's emergency pause."""
    return sorted(record.contract_name for record in book if _has_pause(record.abi))


def _pausable(book: Any, contract_name: str) -> Any:
    """The bound contract, if the book has it and it has the emergency pause."""
    from medchain.client import bind

    record = book.get(contract_name)
    if not _has_pause(record.abi):
        found = ", ".join(pausable_contracts(book)) or "none"
        raise NotPausable(f"{contract_name} has no emergency pause (pausable here: {found})")
    return bind(record)


def pause_status(book: Any, names: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Per pausable contract (all of the book's, or `names`): address and whether paused."""
    shown = list(names) or pausable_contracts(book)
    out = []
    for name in shown:
        contract = _pausable(book, name)
        with translate_errors_for(name, contract):
            out.append(
                {"contract": name, "address": str(contract.address), "paused": contract.paused()}
            )
    return out


def guardian_pause(contract_name: str, sender: Any, book: Any = None) -> Any:
    """The guardian pauses `contract_name`'s writes now (a direct transaction, no vote);
    returns the receipt. Refused in one line, before anything is sent, for an account
    without GUARDIAN_ROLE there and for a contract paused already."""
    from medchain.deployments import AddressBook

    book = book or AddressBook.for_connected_network()
    contract = _pausable(book, contract_name)
    with translate_errors_for(contract_name, contract):
        if not contract.hasRole(contract.GUARDIAN_ROLE(), sender.address):
            raise NotGuardian(f"{sender.address} is not the guardian of {contract_name}")
        if contract.paused():
            raise AlreadyPaused(f"{contract_name} is paused already (governance unpauses it)")
        return contract.pause(sender=sender)


def admin_unpause(contract_name: str, sender: Any, book: Any = None) -> Any:
    """Unpause directly as the contract's admin: the deployer of an ungoverned chain. On a
    governed chain the admin is the timelock and this is refused: propose it instead."""
    from medchain.deployments import AddressBook

    book = book or AddressBook.for_connected_network()
    contract = _pausable(book, contract_name)
    with translate_errors_for(contract_name, contract):
        if not contract.hasRole(DEFAULT_ADMIN_ROLE, sender.address):
            hint = (
                "only governance unpauses it (medchain admin unpause "
                f"{contract_name} --account <member>)"
                if TIMELOCK in book
                else "only its admin unpauses it"
            )
            raise NotAdmin(f"{sender.address} is not the admin of {contract_name}: {hint}")
        if not contract.paused():
            raise NotPaused(f"{contract_name} is not paused: there is nothing to unpause")
        return contract.unpause(sender=sender)


def translate_errors_for(contract_name: str, contract: Any) -> Any:
    """translate_errors with the contract's ABI (its custom errors decoded by name)."""
    from medchain.errors import translate_errors

    return translate_errors(contract_name, contract.contract_type)


def _description_hash(description: str) -> bytes:
    from medchain.hashing import keccak_text

    return keccak_text(description)


def _function_abi(contract: Any, contract_name: str, function: str, arity: int) -> Any:
    methods = [
        item
        for item in contract.contract_type.abi
        if getattr(item, "type", "") == "function" and item.name == function
    ]
    if not methods:
        raise InvalidInput(f"{contract_name} has no function '{function}'")
    for item in methods:
        if len(item.inputs) == arity:
            if item.stateMutability in ("view", "pure"):
                raise InvalidInput(f"{contract_name}.{function} only reads: nothing to propose")
            return item
    shapes = " or ".join(
        f"{function}({', '.join(f'{i.canonical_type} {i.name}' for i in m.inputs)})"
        for m in methods
    )
    raise InvalidInput(f"{contract_name}.{function} takes {shapes}; {arity} argument(s) given")


def _coerce(contract: Any, value: Any, kind: str, what: str) -> Any:
    """A text argument as the ABI type wants it; other values pass unchanged."""
    from medchain import codec

    if not isinstance(value, str):
        return value
    text = value.strip()
    if kind == "address":
        return codec.to_address(text, what)
    if kind.startswith(("uint", "int")):
        try:
            return int(text, 0)
        except ValueError:
            raise InvalidInput(f"{what} must be a number, got {value!r}") from None
    if kind == "bool":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise InvalidInput(f"{what} must be true or false, got {value!r}")
    if kind == "bytes32":
        if text.endswith("_ROLE"):
            if text not in contract._view_methods_:
                raise InvalidInput(f"{what}: {contract.contract_type.name} has no {text}")
            return bytes(getattr(contract, text)())
        return codec.to_bytes32(text, what)
    if kind.startswith("bytes"):
        return codec.hex_to_bytes(text, what)
    return value
