"""Merkle trees over a lot's serial leaves, compatible with OpenZeppelin `MerkleProof`
(sorted-pair keccak256) and with the `StandardMerkleTree` leaf (double keccak of the
ABI encoding), fast enough for lots of millions of units.

Shape: leaves in the order given (the manifest's order); each level hashes pairs
left to right and an odd last node is carried up unchanged, so a proof has one
sibling per level where the node has one (at most ceil(log2 n)). All proofs at once
come from numpy gathers over the levels, not from walking the tree per leaf.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from medchain.codec import to_bytes32, to_hex
from medchain.errors import IntegrityError, InvalidInput

# The SDK's one keccak (fastest backend, see medchain.hashing); KECCAK_BACKEND and keccak
# stay importable here for the supply API and its benchmarks.
from medchain.hashing import KECCAK_BACKEND as KECCAK_BACKEND
from medchain.hashing import keccak as keccak
from medchain.hashing import keccak_new

from .gs1 import ProductIdentifier, to_bytes20


def leaf_prefix(gtin: int | str, lot: str, expiry: int | str) -> bytes:
    """abi.encode(uint64 gtin, bytes20 lot, uint24 expiry) — the part shared by a lot's leaves."""
    return (
        int(gtin).to_bytes(32, "big")
        + to_bytes20(lot).ljust(32, b"\0")
        + int(expiry).to_bytes(32, "big")
    )


def leaf(pid: ProductIdentifier) -> bytes:
    """keccak256(keccak256(abi.encode(uint64 gtin, bytes20 lot, uint24 expiry, bytes20 serial)))."""
    encoded = leaf_prefix(pid.gtin, pid.lot, pid.expiry) + to_bytes20(pid.serial).ljust(32, b"\0")
    return keccak(keccak(encoded))


def lot_leaves(gtin: int | str, lot: str, expiry: int | str, serials: Iterable[str]) -> list[bytes]:
    """The leaves of every serial of one lot (serials must be valid AI 21 values)."""
    prefix = leaf_prefix(gtin, lot, expiry)
    new = keccak_new  # the hash constructor itself: no wrapper call per hash
    pads = [b"\0" * (32 - n) for n in range(33)]
    out: list[bytes] = []
    append = out.append
    for serial in serials:
        raw = serial.encode("ascii")
        if not 0 < len(raw) <= 20:
            raise InvalidInput(f"AI (21) serial {serial!r}: must be 1-20 characters")
        append(new(new(prefix + raw + pads[len(raw)]).digest()).digest())
    return out


def hash_pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin Hashes.commutativeKeccak256."""
    return keccak(a + b if a < b else b + a)


def process_proof(leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    """The root a proof leads to (OpenZeppelin MerkleProof.processProof)."""
    node = leaf_hash
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


@dataclass
class ProofSet:
    """Every proof of a tree, level-major: `siblings[k, i]` (32-byte void) is leaf i's
    sibling at level k where `present[k, i]`; `proof(i)` returns the list the contract takes."""

    siblings: np.ndarray  # (depth, n) dtype V32
    present: np.ndarray  # (depth, n) bool

    def __len__(self) -> int:
        return int(self.siblings.shape[1])

    def proof(self, index: int) -> list[bytes]:
        column = self.siblings[:, index][self.present[:, index]]
        return [item.tobytes() for item in column]


class MerkleTree:
    """Levels of a sorted-pair keccak tree; `levels[0]` are the leaves."""

    def __init__(self, leaves: Sequence[bytes]):
        if not leaves:
            raise InvalidInput("a Merkle tree needs at least one leaf")
        level = list(leaves)
        self.levels: list[list[bytes]] = [level]
        new = keccak_new
        while len(level) > 1:
            nxt = [
                new(a + b).digest() if a < b else new(b + a).digest()
                for a, b in zip(level[0::2], level[1::2], strict=False)
            ]
            if len(level) % 2:
                nxt.append(level[-1])
            self.levels.append(nxt)
            level = nxt
        self._index: dict[bytes, int] | None = None

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    @property
    def depth(self) -> int:
        return len(self.levels) - 1

    def __len__(self) -> int:
        return len(self.levels[0])

    def index_of(self, leaf_hash: bytes) -> int:
        if self._index is None:
            self._index = {h: i for i, h in enumerate(self.levels[0])}
        try:
            return self._index[leaf_hash]
        except KeyError:
            raise InvalidInput(f"leaf {to_hex(leaf_hash)} is not in this tree") from None

    def proof(self, index: int, level: int = 0) -> list[bytes]:
        """The proof of node `index` of `level` (0: leaf `index`): siblings bottom-up."""
        if not 0 <= level < len(self.levels):
            raise InvalidInput(f"level {level} outside 0..{self.depth}")
        width = len(self.levels[level])
        if not 0 <= index < width:
            raise InvalidInput(f"index {index} outside 0..{width - 1} at level {level}")
        out = []
        for nodes in self.levels[level:-1]:
            sibling = index ^ 1
            if sibling < len(nodes):
                out.append(nodes[sibling])
            index >>= 1
        return out

    def node(self, level: int, index: int) -> bytes:
        """Node `index` of `level`: the root of the aggregation packing the leaves under it."""
        return self.levels[level][index]

    def locate(self, node: bytes) -> tuple[int, int]:
        """(level, index) of a node of this tree (the lowest level of a carried node)."""
        for level, nodes in enumerate(self.levels):
            try:
                return level, nodes.index(node)
            except ValueError:
                continue
        raise InvalidInput(f"{to_hex(node)} is not a node of this tree")

    def node_depth(self, node: bytes) -> int:
        """How many hashes below the root `node` sits (its proof length)."""
        return len(self.proof(*reversed(self.locate(node))))

    def pack(self, parent_root: bytes, level: int, index: int) -> tuple[bytes, list[bytes], int]:
        """(root, node proof, unit count) to pack node `index` of `level` out of the container
        whose root is `parent_root` (the lot root or an aggregation's node of this tree)."""
        full = self.proof(index, level)
        node_proof = container_proof(full, self.node_depth(parent_root))
        return self.node(level, index), node_proof, len(self.leaves_under(level, index))

    def leaves_under(self, level: int, index: int) -> range:
        """The leaf indices under node `index` of `level` (a carried node keeps its leaves)."""
        start = index << level
        return range(start, min(start + (1 << level), len(self)))

    def proof_for(self, leaf_hash: bytes) -> list[bytes]:
        return self.proof(self.index_of(leaf_hash))

    def all_proofs(self) -> ProofSet:
        """Every leaf's proof, gathered level by level with numpy (contiguous per level)."""
        n, depth = len(self), self.depth
        siblings = np.empty((depth, n), dtype="V32")
        present = np.empty((depth, n), dtype=bool)
        positions = np.arange(n, dtype=np.int64)
        for k, level in enumerate(self.levels[:-1]):
            nodes = np.frombuffer(b"".join(level), dtype="V32")
            sibling = (positions >> k) ^ 1
            np.less(sibling, len(level), out=present[k])
            np.take(nodes, np.minimum(sibling, len(level) - 1), out=siblings[k])
        return ProofSet(siblings, present)

    def verify(self, leaf_hash: bytes, proof: Sequence[bytes]) -> bool:
        return process_proof(leaf_hash, proof) == self.root


def build_lot_tree(
    gtin: int | str, lot: str, expiry: int | str, serials: Sequence[str]
) -> MerkleTree:
    """The tree of a lot; refuses duplicate serials (a lot must not contain a clone)."""
    leaves = lot_leaves(gtin, lot, expiry, serials)
    if len(set(leaves)) != len(leaves):
        seen: set[bytes] = set()
        for serial, h in zip(serials, leaves, strict=True):
            if h in seen:
                raise IntegrityError(f"AI (21) serial {serial!r} appears twice in lot {lot!r}")
            seen.add(h)
    return MerkleTree(leaves)


def container_proof(unit_proof: Sequence[bytes], node_depth: int) -> list[bytes]:
    """A unit's proof in an aggregation whose root is the node `node_depth` hashes below the
    lot root: the unit's lot proof without its top `node_depth` siblings."""
    if not 0 <= node_depth <= len(unit_proof):
        raise InvalidInput(f"node depth {node_depth} outside 0..{len(unit_proof)}")
    return list(unit_proof[: len(unit_proof) - node_depth])


def proof_to_hex(proof: Sequence[bytes]) -> list[str]:
    return [to_hex(p) for p in proof]


def proof_from_hex(items: Sequence[Any]) -> list[bytes]:
    return [to_bytes32(item, f"proof element {i}") for i, item in enumerate(items)]
