"""The records SDK over a real IPFS node: put, get, share-free verify with the payload
and its key envelope living on a Kubo node, and the embedded store naming them the same."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from medchain.keystore import public_bytes
from medchain.records import Journal, Recipient, Records, RecordsClient
from medchain.storage.embedded import EmbeddedStore
from medchain.storage.kubo import KuboStore
from support.deploy import deploy_fresh


@pytest.mark.ipfs
def test_records_round_trip_on_a_real_node(ipfs_api, deployer, patient, tmp_path):
    registry = deploy_fresh(deployer, "RecordRegistry").contracts["RecordRegistry"]
    node = KuboStore(ipfs_api)
    records = Records(RecordsClient(registry), node, journal=Journal(tmp_path / "journal"))
    key = X25519PrivateKey.generate()
    me = Recipient(patient.address, public_bytes(key))
    payload = os.urandom(700_000)  # three IPFS chunks: a dag-pb root over raw leaves
    result = records.put(payload, patient=patient, scope="Observation", recipients=[me],
                         sender=patient)  # fmt: skip
    assert node.has(result.cid) and records.pending() == []
    assert records.get(result.record_id, recipient=patient, private_key=key) == payload
    assert records.verify(result.record_id).envelopes_checked == 1
    # The same ciphertext added to the embedded store gets the same CID.
    assert EmbeddedStore(tmp_path / "ipfs").add(node.cat(result.cid)) == result.cid
