"""Governed switch of a migrated contract (ConsentRegistry, DIDRegistry, TrialRegistry:
`medchain.governance.upgrade.MIGRATED`) to its next version: the address book and every
dependent move to the new address in one proposal (docs/upgrades.md, "Switching to a
migrated version").

`propose_switch` checks, before anything is sent: the contract uses the migration design
and is in the book; the new version has code and names the book's current address as its
`predecessor()`; no book contract holds the old address where governance cannot change it
(an immutable: refused, naming each and what to do first); the new version's default
admin, where it has one, is the timelock; and the migration is complete by the domain's
own verification. It then proposes one batch: a marker call `NEW.predecessor()` (a read,
harmless when the timelock makes it, and what `execute` recognises) followed by every
re-pointing call of a mutable dependent (`RecordRegistry.setWriteAuthorizer(NEW)` for
ConsentRegistry). `switches_in` is the one place that says which calls of a proposal
switch a book contract; `record_switches` writes the new address into the book, keeping
each former one in the record's `versions` history, once `GovernanceClient.execute` ran it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from medchain.deployments import AddressBook, DeploymentRecord
from medchain.errors import DeploymentMismatch, InvalidInput
from medchain.governance.client import Call, GovernanceClient, proposal_label
from medchain.governance.upgrade import MIGRATED

__all__ = [
    "Dependent",
    "DependentsPinned",
    "MigrationUnfinished",
    "NotASuccessor",
    "NotMigrated",
    "SuccessorNotGoverned",
    "SwitchCall",
    "SwitchProposal",
    "SwitchRefused",
    "dependents_of",
    "propose_switch",
    "record_switches",
    "switches_in",
]

MARKER_SIGNATURE = "predecessor()"
ZERO = "0x0000000000000000000000000000000000000000"


class SwitchRefused(InvalidInput):
    """A switch that cannot be proposed now; the message says why and what to do."""


class NotMigrated(SwitchRefused):
    """The contract does not use the migration design (or is not in the address book)."""


class NotASuccessor(SwitchRefused):
    """The new address is no contract, or does not name the book's address as predecessor."""


class DependentsPinned(SwitchRefused):
    """Book contracts hold the old address immutably: they must move first."""


class SuccessorNotGoverned(SwitchRefused):
    """The new version's default admin is not the governance timelock."""


class MigrationUnfinished(SwitchRefused):
    """The domain's verification finds records not yet carried over to the new version."""


@dataclass(frozen=True)
class Dependent:
    """A book contract whose `getter()` answers the switched contract's address; `setter`
    re-points it (governed), empty when the reference is immutable."""

    contract: str
    getter: str
    setter: str = ""


@dataclass(frozen=True)
class SwitchCall:
    """A proposal's marker call: the book's `contract` moves from `old` to `new`."""

    contract: str
    old: str
    new: str


@dataclass(frozen=True)
class SwitchProposal:
    """What `propose_switch` checked and proposed."""

    proposal: str
    state: str
    contract: str
    old: str
    new: str
    description: str
    calls: list[str]
    repointed: list[str]  # Contract.getter of each mutable dependent the batch moves
    # Whether NEW runs the code this tree builds for the contract (immutables aside). Not a
    # refusal (a successor may come from a newer tree), but the check a member makes
    # before voting: only the predecessor link is checked on chain.
    built_by_this_tree: bool
    migration: dict[str, Any] = field(default_factory=dict)  # the verification's summary


# ---------------------------------------------------------------------- chain reads
def _web3() -> Any:
    from ape import chain

    return chain.provider.web3


def _selector(signature: str) -> bytes:
    from medchain.hashing import keccak_text

    return keccak_text(signature)[:4]


def _read_address(target: str, getter: str) -> str | None:
    """`target.getter()` as a checksummed address, or None when it does not answer one."""
    from eth_utils import to_checksum_address

    try:
        raw = bytes(_web3().eth.call({"to": target, "data": "0x" + _selector(f"{getter}()").hex()}))
    except Exception:  # no such function, a revert, no contract: no answer
        return None
    if len(raw) != 32 or any(raw[:12]):
        return None
    return str(to_checksum_address(raw[12:]))


def _has_code(address: str) -> bool:
    from ape import chain

    return bool(chain.provider.get_code(address))


def _same(a: Any, b: Any) -> bool:
    return str(a).lower() == str(b).lower()


# ---------------------------------------------------------------------- dependents
def _address_getters(abi: Sequence[dict[str, Any]]) -> list[str]:
    return [
        str(item["name"])
        for item in abi
        if item.get("type") == "function"
        and item.get("stateMutability") in ("view", "pure")
        and not item.get("inputs")
        and [o.get("type") for o in item.get("outputs", [])] == ["address"]
    ]


def _setter_of(abi: Sequence[dict[str, Any]], getter: str) -> str:
    """`setX(address)` beside the getter `x()`: the reference is mutable by its admin."""
    wanted = "set" + getter[:1].upper() + getter[1:]
    for item in abi:
        inputs = [i.get("type") for i in item.get("inputs", [])]
        if item.get("type") == "function" and item.get("name") == wanted and inputs == ["address"]:
            return wanted
    return ""


def dependents_of(book: AddressBook, contract: str) -> list[Dependent]:
    """Every other book contract whose address getter (any view without arguments that
    answers an address) names `contract`'s book address, read on chain now."""
    address = book.get(contract).address
    found = []
    for record in book:
        if record.contract_name == contract:
            continue
        for getter in _address_getters(record.abi):
            if _same(_read_address(record.address, getter), address):
                found.append(
                    Dependent(record.contract_name, getter, _setter_of(record.abi, getter))
                )
    return found


def _what_to_do(book: AddressBook, dependent: Dependent, new: str) -> str:
    record = book.get(dependent.contract)
    if record.implementation:
        how = f"upgrade it to an implementation built with {new} (medchain admin upgrade)"
    elif dependent.contract in MIGRATED:
        how = (
            f"migrate it to a version built with {new}, then switch it "
            f"(medchain admin switch {dependent.contract})"
        )
    else:
        how = f"redeploy it built with {new}"
    return f"{dependent.contract}.{dependent.getter}() is immutable: {how}"


# ---------------------------------------------------------------------- completeness
def _consent_complete(book: AddressBook, old: str, new: str) -> dict[str, Any]:
    from medchain.client import contract_at
    from medchain.consent import migrate as consent_migrate

    src = contract_at("ConsentRegistry", old, book)
    dst = contract_at("ConsentRegistry", new, book)
    busy = consent_migrate.break_glass_in_progress(src)
    if busy:
        raise MigrationUnfinished(
            f"{old} has break-glass episode(s) {', '.join(map(str, busy))} pending or active; "
            "episodes are not migrated: switch when none is (at most 25 h)"
        )
    keys = consent_migrate.keys_of(src)
    skipped = consent_migrate.skipped_keys(dst)  # changed by the new version itself
    report = consent_migrate.MigrationReport(source=old, target=new)
    try:
        consent_migrate.verify(src, dst, keys, report, skipped=skipped)
    except consent_migrate.MigrationIncomplete as exc:
        raise MigrationUnfinished(
            f"the migration to {new} is not complete: {exc} "
            f"(medchain consent migrate --from {old} --to {new})"
        ) from None
    return {"keys": len(keys), "verified_keys": report.verified_keys, "skipped": len(skipped)}


def _identity_complete(old: str, new: str) -> dict[str, Any]:
    from ape import chain

    from medchain.identity import migrate as identity_migrate

    try:
        found = identity_migrate.verify(_web3(), old, new, int(chain.provider.chain_id))
    except identity_migrate.MigrationMismatch as exc:
        raise MigrationUnfinished(f"the migration to {new} is not complete: {exc}") from None
    if found.pending_delta:
        raise MigrationUnfinished(
            f"{len(found.pending_delta)} identit(ies) changed in {old} after the last imported "
            f"root, first {found.pending_delta[0]}: vote and import a delta root "
            f"(medchain did migrate-root --from {old} --to {new})"
        )
    if found.suspect:
        raise MigrationUnfinished(
            f"{len(found.suspect)} identit(ies) acted natively in {new} before their import "
            f"although {old} had moved control away from their key, first {found.suspect[0]}: "
            "settle each by hand before switching (docs/upgrades.md)"
        )
    return {"identities": len(found.equal), "native": len(found.native)}


def _trials_complete(book: AddressBook, old: str, new: str) -> dict[str, Any]:
    """Every trial moved to `new` must be imported there. Trials still open in `old` (not
    moved, terminated or closed) are listed, not refused: each is its sponsor's and board's
    to move, and one trial must not hold every other's registry back; they stay readable
    and writable at `old`, which the book keeps in the record's `versions`."""
    from medchain.client import contract_at
    from medchain.trials.model import TrialStatus

    src = contract_at("TrialRegistry", old, book)
    dst = contract_at("TrialRegistry", new, book)
    moved, left_behind = [], []
    for trial_id in range(1, int(src.trialCount()) + 1):
        status = int(src.trial(trial_id).status)
        if status == TrialStatus.MOVED:
            successor = str(src.successorOf(trial_id))
            if _same(successor, new):
                if int(dst.importedAs(trial_id)) == 0:
                    raise MigrationUnfinished(
                        f"trial {trial_id} of {old} moved to {new} but is not imported there: "
                        f"medchain trial import {trial_id} --from {old} --to {new}"
                    )
                moved.append(trial_id)
        elif status not in (TrialStatus.TERMINATED, TrialStatus.CLOSED):
            left_behind.append(trial_id)
    return {"imported": moved, "left_behind": left_behind}


def _migration_summary(book: AddressBook, contract: str, old: str, new: str) -> dict[str, Any]:
    if contract == "ConsentRegistry":
        return _consent_complete(book, old, new)
    if contract == "DIDRegistry":
        return _identity_complete(old, new)
    return _trials_complete(book, old, new)


# ---------------------------------------------------------------------- propose
def _check(
    gov: GovernanceClient, contract: str, new: str
) -> tuple[DeploymentRecord, str, list[Dependent]]:
    """The book's record, `new` checksummed and the mutable dependents, once every
    structural check passed."""
    from medchain.codec import to_address

    book = gov.address_book
    if contract not in MIGRATED:
        raise NotMigrated(
            f"{contract} does not use the migration design: switching is for "
            f"{', '.join(MIGRATED)} (an upgradeable contract keeps its address: "
            "medchain admin upgrade)"
        )
    record = book.get(contract)
    old = record.address
    new = to_address(new, "new address")
    if _same(new, old):
        raise NotASuccessor(f"the address book names {new} as {contract} already")
    if not _has_code(new):
        raise NotASuccessor(f"no contract at {new}: deploy the new {contract} version first")
    predecessor = _read_address(new, "predecessor")
    if predecessor is None:
        raise NotASuccessor(f"{new} has no predecessor(): it is no migrating {contract} version")
    if not _same(predecessor, old):
        raise NotASuccessor(
            f"{new} migrates from {predecessor}, not from the address book's {contract} {old}: "
            "a version may only follow the one the book names"
        )
    if any(item.get("name") == "defaultAdmin" for item in record.abi):
        admin = _read_address(new, "defaultAdmin")
        timelock = str(gov.timelock.address)
        if not _same(admin, timelock):
            raise SuccessorNotGoverned(
                f"{new}'s default admin is {admin}, not the governance timelock {timelock}: "
                "deploy the new version with the timelock as its admin"
            )
    dependents = dependents_of(book, contract)
    pinned = [d for d in dependents if not d.setter]
    if pinned:
        raise DependentsPinned(
            f"{contract} {old} is held immutably by {len(pinned)} contract(s), which a switch "
            f"would leave on the old version: "
            + "; ".join(_what_to_do(book, d, new) for d in pinned)
        )
    return record, new, dependents


def propose_switch(
    gov: GovernanceClient, contract: str, new: str, description: str = "", sender: Any = None
) -> SwitchProposal:
    """Propose that the book's `contract` (a migrated contract) and every dependent move to
    its next version at `new`. Refused in one line before anything is sent: the sender is
    no member (NotAMember), `contract` is not migrated (NotMigrated), `new` is not its
    successor (NotASuccessor), book contracts hold the old address immutably
    (DependentsPinned), `new` is not administered by the timelock (SuccessorNotGoverned),
    or the migration is not complete (MigrationUnfinished)."""
    account = gov.require_proposer(sender)
    record, new, dependents = _check(gov, contract, new)
    migration = _migration_summary(gov.address_book, contract, record.address, new)
    calls = [
        Call(
            new,
            _selector(MARKER_SIGNATURE),
            0,
            f"{new}.predecessor() (switch {contract} from {record.address})",
        )
    ]
    calls += [gov.propose_call(d.contract, d.setter, [new]) for d in dependents]
    text = description.strip() or (
        f"Switch {contract} from {record.address} to its migrated version {new}"
        + "".join(f"; {d.contract}.{d.setter}({new})" for d in dependents)
    )
    pid = gov.propose(calls, text, sender=account)
    built = _runtime_of_tree(contract, new) is not None
    return SwitchProposal(
        proposal=proposal_label(pid),
        state=gov.state(pid).name,
        contract=contract,
        old=record.address,
        new=new,
        description=text,
        calls=[c.label for c in calls],
        repointed=[f"{d.contract}.{d.getter}" for d in dependents],
        built_by_this_tree=built,
        migration=migration,
    )


# ---------------------------------------------------------------------- execute
def switches_in(calls: Sequence[dict[str, Any]], book: AddressBook) -> list[SwitchCall]:
    """The marker calls (`Proposal.calls`: target, value, data) of a proposal that switch
    one of the book's migrated contracts, in order. A marker whose new version follows an
    address the book no longer names (a stale book, or a competing switch that ran first)
    is refused in one line before the proposal runs."""
    from eth_utils import to_checksum_address

    marker = _selector(MARKER_SIGNATURE)
    records = {r.contract_name: r for r in book if r.contract_name in MIGRATED}
    found = []
    for call in calls:
        target = str(call["target"])
        if bytes(call["data"]) != marker or int(call.get("value", 0)):
            continue
        if any(_same(r.address, target) for r in book):  # a read of a book contract
            continue
        predecessor = _read_address(target, "predecessor")
        for name, record in records.items():
            if _same(record.address, predecessor):
                found.append(SwitchCall(name, record.address, to_checksum_address(target)))
                break
            if any(_same(v.get("address"), predecessor) for v in record.versions):
                raise DeploymentMismatch(
                    f"this proposal switches {name} to {target} from {predecessor}, but the "
                    f"address book names {record.address} now: it would re-point the "
                    "dependents to a version the book does not follow"
                )
    return found


def _deployment_of(address: str) -> tuple[int, Any]:
    """(block, transaction or None) that created `address`: the first block with code there
    (a binary search; 0 when the node keeps no history), and the transaction of that block
    whose receipt names the contract (None when a factory made it)."""
    web3 = _web3()
    low, high = 0, int(web3.eth.block_number)
    try:
        while low < high:
            mid = (low + high) // 2
            if bytes(web3.eth.get_code(address, mid)):
                high = mid
            else:
                low = mid + 1
        block = web3.eth.get_block(low, full_transactions=True)
    except Exception:  # a node without state history: read events from genesis
        return 0, None
    for tx in block["transactions"]:
        receipt = web3.eth.get_transaction_receipt(tx["hash"])
        if _same(receipt.get("contractAddress"), address):
            return low, tx
    return low, None


def _runtime_of_tree(contract: str, address: str) -> Any:
    """This tree's compiled `contract` when its runtime code is what runs at `address`
    (immutables aside), else None."""
    from ape import project

    from medchain.codec import hex_to_bytes
    from medchain.governance.upgrade import _same_code

    container = getattr(project, contract, None)
    compiled = container.contract_type if container is not None else None
    runtime = compiled.runtime_bytecode.bytecode if compiled and compiled.runtime_bytecode else ""
    if not runtime:
        return None
    code = bytes(_web3().eth.get_code(address))
    return compiled if _same_code(code, hex_to_bytes(runtime, "runtime code")) else None


def _successor_record(
    old: DeploymentRecord, new: str, receipt: Any, proposal: str
) -> DeploymentRecord:
    from eth_utils import to_checksum_address

    from medchain.codec import hex_to_bytes, to_hex
    from medchain.deploy import _json_arg, compiler_info, runtime_code_hash
    from medchain.hashing import keccak

    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    block, tx = _deployment_of(new)
    # JSON-RPC nodes name the creation code `input`; the in-process chain, `data`.
    creation = bytes(tx.get("input", tx.get("data", b""))) if tx is not None else b""
    deployed_at = now
    if tx is not None:
        stamp = int(_web3().eth.get_block(block)["timestamp"])
        deployed_at = dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat(timespec="seconds")
    compiled = _runtime_of_tree(old.contract_name, new)
    abi, args, compiler = old.abi, [], {}
    if compiled is not None:
        abi = [item.model_dump(mode="json", by_alias=True) for item in compiled.abi]
        compiler = compiler_info()
        deployment = hex_to_bytes(compiled.deployment_bytecode.bytecode, "deployment bytecode")
        if creation.startswith(deployment) and compiled.constructor.inputs:
            from eth_abi import decode

            types = [i.canonical_type for i in compiled.constructor.inputs]
            values = decode(types, creation[len(deployment) :])
            # as the deploy writes them: addresses checksummed, bytes as 0x-hex
            args = [
                to_checksum_address(v) if t == "address" else _json_arg(v)
                for t, v in zip(types, values, strict=True)
            ]
    former = {
        "address": old.address,
        "transaction_hash": old.transaction_hash,
        "block_number": old.block_number,
        "init_code_hash": old.init_code_hash,
        "runtime_code_hash": old.runtime_code_hash,
        "git_commit": old.git_commit,
        "deployed_at": old.deployed_at,
        "replaced_by": new,
        "proposal": proposal,
        "switch_transaction_hash": str(receipt.txn_hash),
        "switch_block_number": int(receipt.block_number),
        "at": now,
    }
    return replace(
        old,
        address=new,
        abi=abi,
        transaction_hash=to_hex(tx["hash"]) if tx is not None else "",
        block_number=block,
        deployer=str(tx["from"]) if tx is not None else "",
        init_code_hash=to_hex(keccak(creation)) if creation else "",
        runtime_code_hash=runtime_code_hash(new),
        constructor_args=args,
        compiler=compiler,
        git_commit="",  # the tree that built it is not known here
        deployed_at=deployed_at,
        versions=[*old.versions, former],
    )


def record_switches(
    book: AddressBook, switches: Sequence[SwitchCall], receipt: Any, proposal: str
) -> list[DeploymentRecord]:
    """Write each executed switch into the book: the record names the new address (its ABI
    from this tree when it builds the running code, else the former one) and keeps every
    former version in `versions`, oldest first, with the proposal and transaction that
    retired it. A switch already recorded is left as it is."""
    written = []
    for switch in switches:
        record = book.get(switch.contract)
        if _same(record.address, switch.new):
            continue
        updated = _successor_record(record, switch.new, receipt, proposal)
        book.write(updated)
        written.append(updated)
    return written
