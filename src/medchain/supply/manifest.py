"""The lot manifest: the serial list behind a lot's Merkle root, kept off chain because
serial lists are commercially sensitive. It is canonical JSON, encrypted with
`medchain.crypto` (context = lot id, chain, registry) and stored in a content store;
only its CID goes on chain in the commissioning event. Trading partners receive the
data key wrapped to their X25519 keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from medchain import crypto
from medchain.codec import to_bytes32, to_hex
from medchain.errors import IntegrityError, InvalidInput
from medchain.hashing import keccak

from .gs1 import ProductIdentifier, normalize_gtin, parse_yymmdd
from .merkle import MerkleTree, build_lot_tree

MANIFEST_FORMAT = "medchain-lot-manifest"
MANIFEST_VERSION = 1
LEAF_RULE = (
    "keccak256(keccak256(abi.encode(uint64 gtin, bytes20 lot, uint24 expiry, bytes20 serial)))"
)
TREE_RULE = "sorted-pair keccak256 (OpenZeppelin MerkleProof); odd last node carried up"


class Store(Protocol):
    def add(self, data: bytes) -> Any: ...

    def cat(self, cid: Any) -> bytes: ...


def lot_id(gtin: str | int, lot: str) -> bytes:
    """keccak256(abi.encode(uint64 gtin, bytes20 lot)) — the contract's lot id."""
    from .gs1 import to_bytes20

    return keccak(int(gtin).to_bytes(32, "big") + to_bytes20(lot).ljust(32, b"\0"))


def unit_id(gtin: str | int, serial: str) -> bytes:
    """keccak256(abi.encode(uint64 gtin, bytes20 serial)) — the contract's unit id."""
    from .gs1 import to_bytes20

    return keccak(int(gtin).to_bytes(32, "big") + to_bytes20(serial).ljust(32, b"\0"))


@dataclass
class LotManifest:
    """A lot's product data and serials in leaf order; `tree` is built on demand."""

    gtin: str
    lot: str
    expiry: str
    serials: list[str]
    _tree: MerkleTree | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.gtin = normalize_gtin(self.gtin)
        if not self.serials:
            raise InvalidInput("a lot manifest needs at least one serial")
        # Validates lot, expiry and the first serial's form; lot_leaves checks the rest.
        ProductIdentifier(self.gtin, self.serials[0], self.lot, self.expiry)
        parse_yymmdd(self.expiry)

    @property
    def tree(self) -> MerkleTree:
        if self._tree is None:
            self._tree = build_lot_tree(self.gtin, self.lot, self.expiry, self.serials)
        return self._tree

    @property
    def root(self) -> bytes:
        return self.tree.root

    @property
    def lot_id(self) -> bytes:
        return lot_id(self.gtin, self.lot)

    def identifier(self, index: int) -> ProductIdentifier:
        return ProductIdentifier(self.gtin, self.serials[index], self.lot, self.expiry)

    def proof(self, serial: str) -> list[bytes]:
        try:
            return self.tree.proof(self.serials.index(serial))
        except ValueError:
            raise InvalidInput(f"AI (21) serial {serial!r} is not in lot {self.lot!r}") from None

    def to_json(self) -> bytes:
        return crypto.canonical_json(
            {
                "format": MANIFEST_FORMAT,
                "v": MANIFEST_VERSION,
                "gtin": self.gtin,
                "lot": self.lot,
                "expiry": self.expiry,
                "count": len(self.serials),
                "root": to_hex(self.root),
                "leaf": LEAF_RULE,
                "tree": TREE_RULE,
                "serials": self.serials,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> LotManifest:
        """Parse and check a manifest: its serials must rebuild the root it states."""
        try:
            doc = json.loads(raw)
            if doc["format"] != MANIFEST_FORMAT or doc["v"] != MANIFEST_VERSION:
                raise ValueError(f"format {doc['format']!r} v{doc['v']}")
            manifest = cls(doc["gtin"], doc["lot"], doc["expiry"], list(doc["serials"]))
            stated = to_bytes32(doc["root"], "root")
            count = int(doc["count"])
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(f"not a medchain lot manifest: {exc}") from None
        if count != len(manifest.serials) or manifest.root != stated:
            raise IntegrityError("lot manifest's serials do not rebuild its stated root and count")
        return manifest


def envelope_context(lot: bytes, chain_id: int, registry: str) -> crypto.EnvelopeContext:
    return crypto.EnvelopeContext(
        record_id=lot, schema_version=MANIFEST_VERSION, chain_id=chain_id, registry=registry
    )


@dataclass(frozen=True)
class ManifestUpload:
    cid: str
    data_key: bytes
    envelopes: dict[str, str]  # recipient name -> CID of its key envelope


def upload_manifest(
    store: Store,
    manifest: LotManifest,
    *,
    chain_id: int,
    registry: str,
    recipients: Mapping[str, X25519PublicKey | bytes] | None = None,
) -> ManifestUpload:
    """Encrypt the manifest under a fresh data key, store it, and store one key envelope
    per recipient (name -> X25519 public key). Returns the CIDs and the data key."""
    context = envelope_context(manifest.lot_id, chain_id, registry)
    data_key = crypto.new_data_key()
    cid = str(store.add(crypto.encrypt(manifest.to_json(), data_key, context)))
    envelopes = {
        name: str(store.add(crypto.wrap_key(data_key, context, public, key_id=name).to_bytes()))
        for name, public in (recipients or {}).items()
    }
    return ManifestUpload(cid, data_key, envelopes)


def open_manifest(
    store: Store,
    cid: str,
    *,
    chain_id: int,
    registry: str,
    lot: bytes,
    data_key: bytes | None = None,
    envelope_cid: str | None = None,
    private_key: X25519PrivateKey | bytes | None = None,
) -> LotManifest:
    """Fetch, decrypt and check a manifest, with the data key or a key envelope + private key."""
    context = envelope_context(lot, chain_id, registry)
    if data_key is None:
        if envelope_cid is None or private_key is None:
            raise InvalidInput("open_manifest needs data_key, or envelope_cid and private_key")
        data_key = crypto.unwrap_key(store.cat(envelope_cid), private_key, context)
    manifest = LotManifest.from_json(crypto.decrypt(store.cat(cid), data_key, context))
    if manifest.lot_id != lot:
        raise IntegrityError("the manifest describes another lot")
    return manifest


def manifest_from_serials(gtin: str, lot: str, expiry: str, serials: Sequence[str]) -> LotManifest:
    return LotManifest(gtin, lot, expiry, list(serials))
