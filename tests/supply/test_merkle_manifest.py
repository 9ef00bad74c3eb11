"""Merkle trees (shape, proofs, every-proof gather, OZ compatibility checked on the EVM)
and the encrypted lot manifest through a real content store."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from medchain.crypto import DecryptionFailed
from medchain.errors import IntegrityError, InvalidInput
from medchain.storage.embedded import EmbeddedStore
from medchain.supply import (
    LotManifest,
    MerkleTree,
    hash_pair,
    lot_id,
    open_manifest,
    process_proof,
    upload_manifest,
)
from medchain.supply.merkle import keccak
from support.fuzzing import property_settings
from support.supply import GTIN


@property_settings(40)
@given(n=st.integers(min_value=1, max_value=70))
def test_every_proof_of_every_shape(n):
    leaves = [keccak(i.to_bytes(4, "big")) for i in range(n)]
    tree = MerkleTree(leaves)
    proofs = tree.all_proofs()
    assert len(proofs) == n
    for i in range(n):
        assert proofs.proof(i) == tree.proof(i)
        assert process_proof(leaves[i], tree.proof(i)) == tree.root
        assert len(tree.proof(i)) <= max(0, (n - 1).bit_length())
    if n > 1:
        assert not tree.verify(leaves[0], tree.proof(1 if n > 2 else 0)[:-1] or [b"\0" * 32])


def test_single_and_pair():
    a, b = keccak(b"a"), keccak(b"b")
    assert MerkleTree([a]).root == a and MerkleTree([a]).proof(0) == []
    assert MerkleTree([a, b]).root == hash_pair(b, a) == keccak(min(a, b) + max(a, b))
    with pytest.raises(InvalidInput):
        MerkleTree([])


def test_proofs_verify_in_openzeppelin_merkleproof(registry, partners, make_lot):
    """Odd-sized lot (carried-up nodes): every proof is accepted by the contract."""
    manifest = make_lot(13)
    from medchain.supply import Outcome, SupplyClient

    client = SupplyClient(registry)
    proofs = manifest.tree.all_proofs()
    for i in range(13):
        assert client.verify(manifest.identifier(i), proofs.proof(i)) == Outcome.GENUINE


def test_duplicate_serials_refused():
    with pytest.raises(IntegrityError, match="appears twice"):
        _ = LotManifest(GTIN, "L1", "301231", ["A", "B", "A"]).root


def test_manifest_roundtrip_encrypted(tmp_path):
    store = EmbeddedStore(tmp_path / "ipfs")
    manifest = LotManifest(GTIN, "LOT-9", "301231", [f"S{i}" for i in range(50)])
    wholesaler = X25519PrivateKey.generate()
    registry = "0x" + "ab" * 20
    up = upload_manifest(
        store, manifest, chain_id=1337, registry=registry,
        recipients={"wholesaler": wholesaler.public_key()},
    )  # fmt: skip
    raw = store.cat(up.cid)
    assert b"S49" not in raw  # encrypted at rest
    opened = open_manifest(
        store, up.cid, chain_id=1337, registry=registry, lot=lot_id(GTIN, "LOT-9"),
        envelope_cid=up.envelopes["wholesaler"], private_key=wholesaler,
    )  # fmt: skip
    assert opened.serials == manifest.serials and opened.root == manifest.root
    # Bound to the lot and the chain: another chain id does not decrypt.
    with pytest.raises(IntegrityError):
        open_manifest(store, up.cid, chain_id=1, registry=registry,
                      lot=manifest.lot_id, data_key=up.data_key)  # fmt: skip
    # A manifest whose serials do not rebuild its root is refused.
    doc = manifest.to_json().replace(b'"S7"', b'"S7X"')
    with pytest.raises(IntegrityError, match="do not rebuild"):
        LotManifest.from_json(doc)
    assert issubclass(DecryptionFailed, IntegrityError)
