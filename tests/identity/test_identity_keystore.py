"""Key store: 0600 files, plaintext or scrypt+AES-GCM at rest, publication on the DID and
listing through key_agreement_keys (what the encryption layer wraps data keys to)."""

from __future__ import annotations

import json
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from medchain.errors import IntegrityError, InvalidInput
from medchain.identity import DIDRegistryClient, DIDResolver, format_did, key_agreement_keys
from medchain.keystore import (
    KeyNotFound,
    KeyStore,
    WrongPassphrase,
    public_bytes,
    publish_encryption_key,
)

DID = "did:ethr:0x539:0x" + "ab" * 20


def test_plaintext_key_round_trip_with_private_permissions(tmp_path):
    store = KeyStore(tmp_path / "keys")
    private, stored = store.generate(DID)
    assert stat.S_IMODE(stored.path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert not stored.encrypted
    loaded = store.load(DID)
    assert public_bytes(loaded) == public_bytes(private) == stored.public_key
    assert store.list(DID) == [stored]


def test_passphrase_encrypts_at_rest(tmp_path):
    store = KeyStore(tmp_path)
    private, stored = store.generate(DID, passphrase="correct horse")
    record = json.loads(stored.path.read_text())
    assert "privateKey" not in record and record["encryption"]["kdf"] == "scrypt"
    assert private.private_bytes_raw().hex() not in stored.path.read_text()
    assert public_bytes(store.load(DID, passphrase="correct horse")) == stored.public_key
    with pytest.raises(WrongPassphrase):
        store.load(DID, passphrase="wrong")
    with pytest.raises(InvalidInput, match="passphrase"):
        store.load(DID)
    # the public fields are bound: swapping the DID in the file breaks decryption
    record["did"] = DID.replace("ab", "cd")
    stored.path.write_text(json.dumps(record))
    with pytest.raises(WrongPassphrase):
        KeyStore(tmp_path).load(record["did"], passphrase="correct horse")


def test_several_keys_are_chosen_by_public_key(tmp_path):
    store = KeyStore(tmp_path)
    _, first = store.generate(DID)
    second_key, second = store.generate(DID)
    with pytest.raises(InvalidInput, match="2 stored keys"):
        store.load(DID)
    assert public_bytes(store.load(DID, second.public_key)) == public_bytes(second_key)
    with pytest.raises(KeyNotFound):
        store.load(DID, b"\x00" * 32)
    first.path.write_text("{not json")
    with pytest.raises(IntegrityError):
        store.list()


def test_load_any_opens_whichever_sealed_to_key_the_passphrase_fits(tmp_path):
    """A key envelope set names every key a DID publishes; the store opens the first it
    holds that the passphrase fits, and names the DID when none does."""
    store = KeyStore(tmp_path)
    first_key, first = store.generate(DID, passphrase="one")
    second_key, second = store.generate(DID, passphrase="two")
    sealed_to = [b"\x01" * 32, first.public_key, second.public_key]
    assert public_bytes(store.load_any(DID, sealed_to, "one")) == public_bytes(first_key)
    assert public_bytes(store.load_any(DID, sealed_to, "two")) == public_bytes(second_key)
    with pytest.raises(WrongPassphrase):
        store.load_any(DID, sealed_to, "three")
    with pytest.raises(KeyNotFound, match="among"):
        store.load_any(DID, [b"\x01" * 32], "one")


def test_published_key_is_listed_for_the_encryption_layer(registry, chain, patient, tmp_path):
    client = DIDRegistryClient(registry, patient)
    did = format_did(patient.address, chain.chain_id)
    private, stored = KeyStore(tmp_path).generate(did)
    publish_encryption_key(client, patient, stored.public_key)
    keys = key_agreement_keys(did, registry.address)
    assert keys == [(f"{did}#delegate-1", stored.public_key)]
    # a bare address works too, and the key agrees with the stored private half
    assert key_agreement_keys(patient.address, registry) == keys
    peer = X25519PrivateKey.generate()
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

    shared = peer.exchange(X25519PublicKey.from_public_bytes(keys[0][1]))
    assert shared == private.exchange(peer.public_key())
    resolver = DIDResolver(chain.provider.web3, registry.address, chain.chain_id)
    assert resolver.resolve(did).did_document["keyAgreement"] == [f"{did}#delegate-1"]
