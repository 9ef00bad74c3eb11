"""Governed upgrades of the address book's upgradeable contracts (an ERC-1967 proxy whose
book record carries `implementation`; today RecordRegistry, docs/upgrades.md).

`propose_upgrade` checks that the proposer is a member, that the contract is a proxy, and
that the new implementation's storage layout may take over the one the proxy runs
(OpenZeppelin upgrades-core, `medchain.records.upgrade.check_layout`), all before anything
is sent; then it deploys the implementation (`prepare_upgrade`) and proposes
`upgradeToAndCall(implementation, 0x)` on the proxy through the governor. `upgrades_in` is
the one place that says which calls of a proposal upgrade a book proxy;
`record_upgrades` writes them into the book (implementation, history, ABI) once
`GovernanceClient.execute` ran the proposal.

The implementation a proxy runs is named by its code (`running_contract`): the project's
upgradeable contract whose compiled runtime code it is, immutables aside. That is the
layout check's reference when the tree still builds it; otherwise the book's contract name
as of the git commit that deployed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from medchain.deployments import AddressBook, DeploymentRecord
from medchain.errors import DeploymentMismatch, InvalidInput
from medchain.governance.client import Call, GovernanceClient, proposal_label

__all__ = [
    "MIGRATED",
    "UPGRADED_IN_PLACE",
    "NotUpgradeable",
    "UpgradeCall",
    "UpgradeProposal",
    "propose_upgrade",
    "record_upgrades",
    "running_contract",
    "upgrades_in",
]

UPGRADE_FUNCTION = "upgradeToAndCall"
UPGRADE_SIGNATURE = "upgradeToAndCall(address,bytes)"
# How each stateful contract changes between versions (docs/upgrades.md), as decided by
# bench/gas_proxy.py's measurement (tests/governance/test_governed_upgrade.py checks that
# the two agree): in place behind a UUPS proxy, or by migration where a proxy's per-call
# cost breaks a gas anchor.
UPGRADED_IN_PLACE = ("RecordRegistry",)
MIGRATED = ("ConsentRegistry", "DIDRegistry", "TrialRegistry")


class NotUpgradeable(InvalidInput):
    """The contract is not behind a proxy, or the implementation cannot serve one."""


@dataclass(frozen=True)
class UpgradeCall:
    """A call of a proposal that moves the book's proxy `contract` to `implementation`."""

    contract: str
    proxy: str
    implementation: str


@dataclass(frozen=True)
class UpgradeProposal:
    """What `propose_upgrade` did: the implementation it deployed and the proposal."""

    proposal: str
    state: str
    contract: str
    proxy: str
    implementation: str
    implementation_type: str
    replaces: str  # the implementation the proxy runs now
    reference: str  # what the layout was checked against: NAME, or NAME@commit
    description: str
    call: str


# ---------------------------------------------------------------------- which code runs
def _upgradeable_types() -> dict[str, Any]:
    """The project's UUPS implementations (ABI with proxiableUUID), by name."""
    from ape import project

    found = {}
    for name in project.contracts:
        container = project.contracts[name]
        if any(getattr(i, "name", "") == "proxiableUUID" for i in container.contract_type.abi):
            found[name] = container
    return found


def _same_code(deployed: bytes, compiled: bytes) -> bool:
    """solc leaves each immutable's place zero in the compiled runtime code; deployed code
    holds the value there. Everything else (the metadata hash included) must be equal."""
    return len(deployed) == len(compiled) and all(
        c == 0 for d, c in zip(deployed, compiled, strict=True) if d != c
    )


def running_contract(address: str) -> str | None:
    """The project's upgradeable contract whose compiled code runs at `address` (an
    implementation), or None when the tree builds none of them that way."""
    from ape import chain

    from medchain.codec import hex_to_bytes

    code = bytes(chain.provider.get_code(str(address)))
    for name, container in _upgradeable_types().items():
        compiled = container.contract_type.runtime_bytecode
        text = compiled.bytecode if compiled else None
        if text and _same_code(code, hex_to_bytes(text, f"{name} runtime code")):
            return name
    return None


def _reference(record: DeploymentRecord) -> tuple[str, str | None, str]:
    """(contract, git commit or None, the running implementation) the layout check compares
    against: the running code's contract in this tree; else the book's contract as of the
    commit that deployed the running implementation (its history entry)."""
    from medchain.records.upgrade import implementation_of

    running = implementation_of(record.address)
    name = running_contract(running)
    if name is not None:
        return name, None, running
    entries = [
        e for e in record.implementations if str(e.get("address")).lower() == running.lower()
    ]
    if not entries and running.lower() != record.implementation.lower():
        raise DeploymentMismatch(
            f"{record.contract_name}'s proxy {record.address} runs {running}, but the address "
            f"book names {record.implementation}; the book is stale, so the layout cannot be "
            "checked against what is deployed"
        )
    commit = str((entries[-1] if entries else {}).get("git_commit") or record.git_commit)
    return record.contract_name, commit.removesuffix("-dirty") or None, running


def _not_upgradeable(name: str, book: AddressBook) -> NotUpgradeable:
    proxies = [r.contract_name for r in book if r.implementation]
    if len(proxies) == 1:
        only = f"{proxies[0]} is the only upgradeable contract"
    else:
        only = f"the upgradeable contracts are {', '.join(proxies) or 'none'}"
    return NotUpgradeable(
        f"{name} is not upgradeable in place: {only}; {name} {_design(name)}, docs/upgrades.md"
    )


def _design(name: str) -> str:
    """How `name` changes between versions instead of an in-place upgrade."""
    if name in MIGRATED:
        return "uses the migration design (a proxy's per-call cost breaks its gas anchors)"
    return "is deployed without a proxy"


# ---------------------------------------------------------------------- propose
def propose_upgrade(
    gov: GovernanceClient,
    contract: str,
    implementation: str | None = None,
    description: str = "",
    sender: Any = None,
) -> UpgradeProposal:
    """Propose that the book's proxy `contract` run a new implementation of the project
    contract `implementation` (default: the book's contract name, as the tree builds it).
    Refused in one line, before anything is deployed or proposed, when the sender is no
    member (NotAMember), `contract` is no proxy (NotUpgradeable) or the layout is not
    upgrade-safe from the running one (StorageLayoutIncompatible). The implementation's
    constructor gets the book's recorded constructor arguments."""
    from medchain.records.upgrade import check_layout, prepare_upgrade

    account = gov.require_proposer(sender)
    book = gov.address_book
    record = book.get(contract)
    if not record.implementation:
        raise _not_upgradeable(contract, book)
    wanted = implementation or record.contract_name
    types = _upgradeable_types()
    if wanted not in types:
        raise NotUpgradeable(
            f"{wanted} is not an upgradeable (UUPS) contract of this project; it has "
            f"{', '.join(sorted(types)) or 'none'}"
        )
    container = types[wanted]
    reference, commit, running = _reference(record)
    if reference == wanted and commit is None:
        raise NotUpgradeable(f"{contract} runs {wanted} already (implementation {running})")
    args = list(record.constructor_args)
    inputs = container.contract_type.constructor.inputs
    if len(inputs) != len(args):
        check_layout(wanted, reference, reference_commit=commit)  # the deeper refusal first
        raise NotUpgradeable(
            f"{wanted}'s constructor takes {len(inputs)} argument(s); {contract} was built "
            f"with {len(args)} ({', '.join(map(str, args))}); deploy it and propose "
            f"{UPGRADE_FUNCTION} with medchain admin propose"
        )
    new, calldata = prepare_upgrade(
        account, container, args, reference=reference, reference_commit=commit
    )
    label = f"{contract}.{UPGRADE_FUNCTION}({new.address}, 0x)"
    text = description.strip() or f"Upgrade {contract} to {wanted} ({new.address})"
    pid = gov.propose([Call(record.address, calldata, 0, label)], text, sender=account)
    return UpgradeProposal(
        proposal=proposal_label(pid),
        state=gov.state(pid).name,
        contract=contract,
        proxy=record.address,
        implementation=str(new.address),
        implementation_type=wanted,
        replaces=running,
        reference=f"{reference}@{commit[:12]}" if commit else reference,
        description=text,
        call=label,
    )


# ---------------------------------------------------------------------- execute
def _selector() -> bytes:
    from medchain.hashing import keccak_text

    return keccak_text(UPGRADE_SIGNATURE)[:4]


def upgrades_in(calls: Sequence[dict[str, Any]], book: AddressBook) -> list[UpgradeCall]:
    """The calls (`Proposal.calls`: target, value, data) that upgrade one of the book's
    proxies, in order."""
    from eth_abi import decode

    from medchain.codec import to_address

    proxies = {r.address.lower(): r.contract_name for r in book if r.implementation}
    found = []
    for call in calls:
        data = bytes(call["data"])
        name = proxies.get(str(call["target"]).lower())
        if name is None or data[:4] != _selector():
            continue
        new, _ = decode(["address", "bytes"], data[4:])
        found.append(UpgradeCall(name, str(call["target"]), to_address(new, "new implementation")))
    return found


def record_upgrades(
    book: AddressBook, upgrades: Sequence[UpgradeCall], receipt: Any, proposal: str
) -> list[DeploymentRecord]:
    """Write each executed upgrade into the book (`record_upgrade`: implementation, history,
    ABI, init code hash); one already recorded is left as it is. The implementation's
    contract is named by its code; one the tree does not build is refused in one line
    (the proposal has run: the line says so)."""
    from medchain.records.upgrade import record_upgrade

    written = []
    for upgrade in upgrades:
        record = book.get(upgrade.contract)
        if record.implementation.lower() == upgrade.implementation.lower():
            continue
        name = running_contract(upgrade.implementation)
        if name is None:
            raise DeploymentMismatch(
                f"proposal {proposal} ran (tx {receipt.txn_hash}), but the address book still "
                f"names {upgrade.contract}'s former implementation: {upgrade.implementation} is "
                "no upgradeable contract this tree builds, so its ABI is unknown here; record "
                "it with medchain.records.upgrade.record_upgrade from the tree that built it"
            )
        container = _upgradeable_types()[name]
        written.append(
            record_upgrade(
                book, upgrade.contract, upgrade.implementation, receipt, container,
                record.constructor_args,
            )
        )  # fmt: skip
    return written
