"""Carry did:ethr identities from one DIDRegistry version to the next (docs/upgrades.md,
"DIDRegistry: migration"): read every identity's ERC-1056 history from the old registry's
logs, commit to it with a Merkle root for governance to vote on (`history_root`), replay
it into the new registry through its permissionless `importHistory` (`import_histories`),
and check that both registries answer alike (`verify`).

Attributes live only in the old registry's logs, which the EVM cannot read, so the new
registry accepts a history only under a root its importAdmin (the governance timelock)
added; every member recomputes the root from public logs with `history_root` before
voting. A plan is a pure function of the chain at one block (`at_block`): the old
registry's logs up to it and the new registry's import progress at it, so members who
pass the same block get the same root. A later root (a delta) continues each identity
where its import stopped, for changes made in the old registry after the first root.

Leaves follow OpenZeppelin's StandardMerkleTree: keccak256(keccak256(abi.encode(address
identity, uint256 fromIndex, bytes32 keccak256(abi.encode(HistoryChange[]))))), pairs
hashed sorted, so the contract verifies proofs with OZ `MerkleProof`.

A successor deployed with an import deadline refuses native changes to identities it has
never seen change until that time (`DIDImportPending`): the old key of an identity whose
owner moved away in the old version cannot take it over before the import. `verify`
reports what that window leaves open (`exposed`: not imported and owner moved away;
`suspect`: such an identity already acted natively, i.e. after the deadline or in a
version without one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from medchain.errors import IntegrityError, InvalidInput, MedchainError
from medchain.hashing import selector
from medchain.identity.did import to_did
from medchain.identity.resolver import (
    ERC1056_EVENTS,
    DIDResolver,
    _check_chain,
    did_event,
)
from medchain.logs import Event, LogReader

__all__ = [
    "Change",
    "HistoryLeaf",
    "ImportBlocked",
    "ImportResult",
    "MigrationMismatch",
    "MigrationPlan",
    "NothingToMigrate",
    "RootNotAccepted",
    "Verification",
    "history_root",
    "import_deadline",
    "import_histories",
    "leaf_hash",
    "read_histories",
    "verify",
]

OWNER, DELEGATE, ATTRIBUTE = 0, 1, 2  # IDIDRegistry.ChangeKind
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
CHANGE_TYPE = "(uint8,bytes32,address,bytes,uint256)[]"
# One importHistories transaction carries at most this many changes: a replayed change
# costs ~10-30k gas, so a batch stays far below block gas limits of private chains.
MAX_CHANGES_PER_TX = 40


class NothingToMigrate(InvalidInput):
    """The old registry has no history left to import (everything imported already)."""


class RootNotAccepted(MedchainError):
    """The plan's root is not (yet) an accepted history root of the new registry."""


class ImportBlocked(MedchainError):
    """A leaf does not continue an identity's import where it stopped."""


class MigrationMismatch(IntegrityError):
    """After the import, the two registries answer differently for an identity."""


@dataclass(frozen=True)
class Change:
    """One ERC-1056 event of the old registry, as `IDIDRegistry.HistoryChange`."""

    kind: int
    name: bytes
    account: str
    value: bytes
    valid_to: int

    def as_tuple(self) -> tuple[int, bytes, str, bytes, int]:
        return (self.kind, self.name, self.account, self.value, self.valid_to)

    @classmethod
    def from_event(cls, event: Event) -> Change:
        a = event.args
        if event.name == "DIDOwnerChanged":
            return cls(OWNER, bytes(32), _address(a["owner"]), b"", 0)
        if event.name == "DIDDelegateChanged":
            return cls(
                DELEGATE, _b32(a["delegateType"]), _address(a["delegate"]), b"", int(a["validTo"])
            )
        return cls(ATTRIBUTE, _b32(a["name"]), ZERO_ADDRESS, _bytes(a["value"]), int(a["validTo"]))


@dataclass(frozen=True)
class HistoryLeaf:
    """Changes `from_index`.. of `identity`'s history: one leaf of a history root."""

    identity: str
    from_index: int
    changes: tuple[Change, ...]

    @property
    def hash(self) -> bytes:
        return leaf_hash(self.identity, self.from_index, self.changes)


@dataclass
class MigrationPlan:
    """What one history root commits to, and the proof of each leaf."""

    old: str
    new: str | None
    at_block: int
    leaves: list[HistoryLeaf]
    root: bytes
    proofs: dict[str, list[bytes]]  # identity -> proof of its leaf
    skipped: list[str] = field(default_factory=list)  # changed natively in the new version
    from_block: int = 0  # logs (old and new registry) were read from this block on

    def summary(self) -> dict[str, Any]:
        return {
            "root": "0x" + self.root.hex(),
            "old_registry": self.old,
            "new_registry": self.new,
            "at_block": self.at_block,
            "identities": len(self.leaves),
            "changes": sum(len(leaf.changes) for leaf in self.leaves),
            "skipped_native": list(self.skipped),
        }


@dataclass
class Verification:
    """Outcome of `verify`: identities checked equal, and those still behind the old one."""

    equal: list[str]
    pending_delta: list[str]  # changed in the old registry after the last imported root
    native: list[str]  # changed natively in the new registry: their own history now
    delegates_checked: int = 0
    # native ones whose old version had moved control away from the identity's own key
    # (owner changed or deactivated) in a change not imported: that key took the DID over
    # in the new version (docs/upgrades.md); governance must deal with each by hand. With
    # an import deadline the contract refuses this before the deadline (DIDImportPending),
    # so an entry here acted after it, or the new version has no deadline.
    suspect: list[str] = field(default_factory=list)
    # never imported (nothing, not even a first leaf) and not native, whose old version
    # moved control away from the identity key: the contract refuses that key until
    # `import_deadline`; after it, or with no deadline, nothing does. Import these first.
    exposed: list[str] = field(default_factory=list)
    import_deadline: int = 0  # the new registry's (unix seconds; 0: none)


# ---------------------------------------------------------------------- hashing
def changes_hash(changes: Sequence[Change]) -> bytes:
    """keccak256(abi.encode(HistoryChange[])), as the contract computes it."""
    return keccak(abi_encode([CHANGE_TYPE], [[c.as_tuple() for c in changes]]))


def leaf_hash(identity: str, from_index: int, changes: Sequence[Change]) -> bytes:
    """The StandardMerkleTree leaf of (identity, fromIndex, changesHash)."""
    inner = abi_encode(
        ["address", "uint256", "bytes32"],
        [to_checksum_address(identity), int(from_index), changes_hash(changes)],
    )
    return keccak(keccak(inner))


def _hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(min(a, b) + max(a, b))


def merkle_tree(leaves: Sequence[bytes]) -> list[bytes]:
    """OpenZeppelin StandardMerkleTree layout: leaves sorted, stored from the end of a
    2n-1 array, each inner node the sorted-pair hash of its children; tree[0] is the root."""
    if not leaves:
        raise NothingToMigrate("no identity history to commit to")
    ordered = sorted(leaves)
    tree: list[bytes] = [b""] * (2 * len(ordered) - 1)
    for i, leaf in enumerate(ordered):
        tree[len(tree) - 1 - i] = leaf
    for i in range(len(tree) - 1 - len(ordered), -1, -1):
        tree[i] = _hash_pair(tree[2 * i + 1], tree[2 * i + 2])
    return tree


def merkle_proof(tree: list[bytes], leaf: bytes) -> list[bytes]:
    index = tree.index(leaf, len(tree) // 2)  # leaves occupy the second half
    proof = []
    while index > 0:
        proof.append(tree[index + 1 if index % 2 else index - 1])
        index = (index - 1) // 2
    return proof


# ---------------------------------------------------------------------- reading
def read_histories(
    web3: Any, old: str, *, at_block: int | None = None, from_block: int = 0
) -> dict[str, list[Change]]:
    """Every identity's changes in the old registry up to `at_block` (default: head),
    oldest first, each identity's list checked against the registry's own previousChange
    list at that block (an incomplete or pruned node raises IntegrityError)."""
    old = to_checksum_address(old)
    reader = LogReader(web3, {old: ERC1056_EVENTS})
    last = reader.head() if at_block is None else int(at_block)
    events: dict[str, list[Event]] = {}
    for event in reader.read(from_block, last):
        events.setdefault(_address(event.args["identity"]), []).append(event)
    histories: dict[str, list[Change]] = {}
    for identity, found in events.items():
        found.sort(key=lambda e: (e.block_number, e.log_index))
        _check_chain(
            identity,
            [did_event(e) for e in found],
            _uint(web3, old, "changed(address)", identity, last),
        )
        histories[identity] = [Change.from_event(e) for e in found]
    return histories


def _event_counts(
    web3: Any, new: str, at_block: int | None = None, from_block: int = 0
) -> dict[str, int]:
    """How many ERC-1056 events each identity has in the new registry up to `at_block`
    (from `from_block`: the new registry is younger than the old one, whose deployment
    block is a safe start for both)."""
    reader = LogReader(web3, {to_checksum_address(new): ERC1056_EVENTS})
    counts: dict[str, int] = {}
    last = reader.head() if at_block is None else int(at_block)
    for event in reader.read(from_block, last):
        identity = _address(event.args["identity"])
        counts[identity] = counts.get(identity, 0) + 1
    return counts


def _acted_natively(web3: Any, new: str, identity: str, block: Any, events: int) -> bool:
    """Whether `identity` changed natively in the new registry: its last change is not
    the last import's, or it has more events than imported changes (a native change in
    the very block of an import leaves `changed` as the import left it: only the count
    shows it)."""
    changed = _uint(web3, new, "changed(address)", identity, block)
    if changed != _uint(web3, new, "importedChange(address)", identity, block):
        return True
    return events != _uint(web3, new, "importedCount(address)", identity, block)


def history_root(
    web3: Any,
    old: str,
    new: str | None = None,
    *,
    at_block: int | None = None,
    from_block: int = 0,
) -> MigrationPlan:
    """The root to vote on: for every identity of `old` with changes not yet imported into
    `new` (as of `at_block`), a leaf with the rest of its history. Without `new`, every
    history from its first change (a first root before the new version exists)."""
    at = int(web3.eth.block_number) if at_block is None else int(at_block)
    histories = read_histories(web3, old, at_block=at, from_block=from_block)
    leaves: list[HistoryLeaf] = []
    skipped: list[str] = []
    counts = {} if new is None else _event_counts(web3, new, at, from_block)
    for identity, changes in sorted(histories.items()):
        start = 0
        if new is not None:
            if _acted_natively(web3, new, identity, at, counts.get(identity, 0)):
                skipped.append(identity)
                continue
            start = _uint(web3, new, "importedCount(address)", identity, at)
        if start < len(changes):
            leaves.append(HistoryLeaf(identity, start, tuple(changes[start:])))
    if not leaves and new is None:
        raise NothingToMigrate(
            f"nothing to import from {old} as of block {at}: no identity changed there"
        )
    if not leaves:
        raise NothingToMigrate(
            f"nothing to import from {old} into {new} as of block {at}: every history is "
            f"imported ({len(skipped)} changed natively in the new version, left out)"
        )
    tree = merkle_tree([leaf.hash for leaf in leaves])
    proofs = {leaf.identity: merkle_proof(tree, leaf.hash) for leaf in leaves}
    return MigrationPlan(
        to_checksum_address(old),
        None if new is None else to_checksum_address(new),
        at,
        leaves,
        tree[0],
        proofs,
        skipped,
        from_block,
    )


# ---------------------------------------------------------------------- importing
@dataclass
class ImportResult:
    """Outcome of `import_histories`: receipts sent, identities found imported already, and
    identities refused because they changed natively in the new version."""

    receipts: list[Any]
    already: list[str]
    blocked: list[str]

    @property
    def gas_used(self) -> int:
        return sum(int(r.gas_used) for r in self.receipts)


def import_histories(
    client: Any,
    plan: MigrationPlan,
    *,
    sender: Any = None,
    max_changes: int = MAX_CHANGES_PER_TX,
    log: Callable[[str], None] = lambda _: None,
) -> ImportResult:
    """Send the plan's leaves to the new registry (`client`: a DIDRegistryClient on it) in
    `importHistories` transactions of at most `max_changes` changes. Leaves imported
    already (by anyone: the call is permissionless) are skipped; identities that changed
    natively in the new version are left out and reported (one such identity must not
    hold up everyone else's import). A batch that reverts because an identity acted in
    between is resent leaf by leaf."""
    if not client.call("isHistoryRoot", plan.root):
        raise RootNotAccepted(
            f"root 0x{plan.root.hex()} is not accepted by DIDRegistry {client.address}: "
            "governance must vote addHistoryRoot for it first"
        )
    result = ImportResult([], [], [])
    web3 = _web3_of(client)
    counts = _event_counts(web3, client.address, from_block=plan.from_block)
    pending = [leaf for leaf in plan.leaves if _importable(client, leaf, result, web3, counts)]
    for batch in _batches(pending, max_changes):
        try:
            result.receipts.append(_send(client, plan, batch, sender, log))
        except MedchainError:
            if len(batch) == 1:
                raise
            for leaf in batch:  # someone moved first: re-check and send one by one
                counts = _event_counts(web3, client.address, from_block=plan.from_block)
                if _importable(client, leaf, result, web3, counts):
                    result.receipts.append(_send(client, plan, [leaf], sender, log))
    return result


def _web3_of(client: Any) -> Any:
    from ape import chain

    return chain.provider.web3


def _importable(
    client: Any, leaf: HistoryLeaf, result: ImportResult, web3: Any, counts: dict[str, int]
) -> bool:
    done = int(client.call("importedCount", leaf.identity))
    if _acted_natively(web3, client.address, leaf.identity, "latest", counts.get(leaf.identity, 0)):
        result.blocked.append(leaf.identity)
        return False
    if done >= leaf.from_index + len(leaf.changes):
        result.already.append(leaf.identity)
        return False
    if done != leaf.from_index:
        raise ImportBlocked(
            f"{leaf.identity}: {done} changes imported, but the root's leaf starts at "
            f"{leaf.from_index} (a plan made at another block?)"
        )
    return True


def _send(client: Any, plan: MigrationPlan, batch: list[HistoryLeaf], sender: Any, log: Any) -> Any:
    entries = [
        (
            plan.root,
            leaf.identity,
            leaf.from_index,
            [c.as_tuple() for c in leaf.changes],
            plan.proofs[leaf.identity],
        )
        for leaf in batch
    ]
    receipt = client.transact("importHistories", entries, sender=sender)
    log(
        f"imported {len(batch)} identities ({sum(len(x.changes) for x in batch)} changes), "
        f"gas {int(receipt.gas_used):,}"
    )
    return receipt


def _batches(leaves: Iterable[HistoryLeaf], max_changes: int) -> list[list[HistoryLeaf]]:
    """Group leaves into transactions of at most `max_changes` changes (a longer single
    history gets a transaction of its own)."""
    out: list[list[HistoryLeaf]] = []
    size = 0
    for leaf in leaves:
        if not out or size + len(leaf.changes) > max_changes:
            out.append([])
            size = 0
        out[-1].append(leaf)
        size += len(leaf.changes)
    return out


# ---------------------------------------------------------------------- verifying
def verify(web3: Any, old: str, new: str, chain_id: int, from_block: int = 0) -> Verification:
    """Compare the two registries for every identity of the old one: identityOwner, every
    (type, delegate) ever named (validDelegate and expiry) and the resolved DID document
    (medchain's resolver). Identities the old registry changed after the last import are
    reported as pending a delta root, those changed natively in the new one as native
    (and as suspect when the old version had moved control away from the identity key),
    pending ones never imported whose old version had done so as exposed (the contract
    guards them only until the new registry's import deadline, reported too); any other
    difference raises MigrationMismatch naming the identity and what differs. Logs are
    read from `from_block` (the old registry's deployment block spares a long chain's
    history)."""
    histories = read_histories(web3, old, from_block=from_block)
    old_resolver = DIDResolver(web3, old, chain_id)
    new_resolver = DIDResolver(web3, new, chain_id)
    result = Verification([], [], [], import_deadline=import_deadline(web3, new))
    counts = _event_counts(web3, new, from_block=from_block)
    for identity, changes in sorted(histories.items()):
        imported = _uint(web3, new, "importedCount(address)", identity, "latest")
        if _acted_natively(web3, new, identity, "latest", counts.get(identity, 0)):
            result.native.append(identity)
            # an owner change the import did not bring over: whoever acted here was not
            # the owner the old version names (after a full import, the owner it named did)
            if any(c.kind == OWNER for c in changes[imported:]):
                result.suspect.append(identity)
            continue
        if imported != len(changes):
            result.pending_delta.append(identity)
            if imported == 0 and any(c.kind == OWNER for c in changes):
                result.exposed.append(identity)
            continue
        owner = [_call(web3, r, "identityOwner(address)", identity)[12:] for r in (old, new)]
        if owner[0] != owner[1]:
            raise MigrationMismatch(
                f"{identity}: identityOwner differs (0x{owner[0].hex()} vs 0x{owner[1].hex()})"
            )
        seen = {(c.name, c.account) for c in changes if c.kind == DELEGATE}
        for name, delegate in sorted(seen):
            for sig in (
                "validDelegate(address,bytes32,address)",
                "delegates(address,bytes32,address)",
            ):
                key = name if sig.startswith("valid") else keccak(abi_encode(["bytes32"], [name]))
                args = (identity, key, delegate)
                answers = [_call(web3, r, sig, *args) for r in (old, new)]
                if answers[0] != answers[1]:
                    raise MigrationMismatch(
                        f"{identity}: {sig.split('(')[0]} of delegate {delegate} "
                        f"({name.rstrip(bytes(1)).decode(errors='replace')}) differs"
                    )
            result.delegates_checked += 1
        did = to_did(identity, chain_id).did
        docs = [r.resolve(did).did_document for r in (old_resolver, new_resolver)]
        if docs[0] != docs[1]:
            raise MigrationMismatch(f"{did}: the resolved DID documents differ")
        result.equal.append(identity)
    return result


def import_deadline(web3: Any, registry: str) -> int:
    """The registry's `importDeadline()` (unix seconds; 0: no window). A registry without
    it (a canonical ERC-1056 one, or a medchain version before it) has no window: 0."""
    from web3.exceptions import ContractLogicError

    try:
        raw = _call(web3, registry, "importDeadline()")
    except ContractLogicError:  # no such function there (no fallback): it reverts
        return 0
    return int.from_bytes(raw[:32], "big") if len(raw) >= 32 else 0


# ---------------------------------------------------------------------- helpers
def _call(web3: Any, to: str, signature: str, *args: Any, block: Any = "latest") -> bytes:
    inner = signature[signature.index("(") + 1 : -1]
    types = inner.split(",") if inner else []
    data = selector(signature) + abi_encode(types, list(args))
    raw = web3.eth.call({"to": to_checksum_address(to), "data": "0x" + data.hex()}, block)
    return bytes(raw)


def _uint(web3: Any, to: str, signature: str, identity: str, block: Any) -> int:
    raw = _call(web3, to, signature, to_checksum_address(identity), block=block)
    return int.from_bytes(raw, "big") if raw else 0


def _address(value: Any) -> str:
    return to_checksum_address(value if isinstance(value, str) else "0x" + bytes(value).hex())


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)


def _b32(value: Any) -> bytes:
    raw = _bytes(value)
    if len(raw) != 32:
        raise IntegrityError(f"expected a bytes32 in a registry event, got {len(raw)} bytes")
    return raw
