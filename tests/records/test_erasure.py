"""Erasure on request (right to be forgotten, retention limits): who may erase (the
patient's current DID owner or records delegate), what an erased record refuses on chain
(sharing, correcting, erasing again), and the SDK: envelopes and ciphertext removed from
the store, every read refused with `RecordErased`."""

from __future__ import annotations

import os

import ape
import pytest
from eth_utils import keccak

from medchain.errors import ContractRevert
from medchain.records import RecordErased
from medchain.storage import ContentNotFound
from support.records import OBS, ZERO, cid_bytes, request, rid

RECORDS = keccak(b"medchain/records")


def test_only_the_patients_manager_may_erase(registry, did_registry, patient, provider,
                                             researcher, chain):  # fmt: skip
    req = request(patient)
    registry.anchorRecord(req, [], sender=patient)
    record = rid(patient, req)
    with ape.reverts(registry.RecordUnauthorizedEraser, recordId=record,
                     patient=patient.address, caller=provider.address):  # fmt: skip
        registry.eraseRecord(record, sender=provider)
    with ape.reverts(registry.RecordNotFound, recordId=b"\x01" * 32):
        registry.eraseRecord(b"\x01" * 32, sender=patient)
    # A records delegate of the patient's DID may erase (the same people who may share).
    did_registry.addDelegate(patient, RECORDS, researcher, 3600, sender=patient)
    receipt = registry.eraseRecord(record, sender=researcher)
    assert [e.erasedBy for e in receipt.events] == [researcher.address]
    assert receipt.events[0].recordId == record and receipt.events[0].patient == patient.address
    erased_at = registry.erasedAt(record)
    assert erased_at == chain.blocks[receipt.block_number].timestamp
    did_registry.revokeDelegate(patient, RECORDS, researcher, sender=patient)
    # Erased: no second erasure, no new envelope, no correction.
    with ape.reverts(registry.RecordAlreadyErased, recordId=record, erasedAt=erased_at):
        registry.eraseRecord(record, sender=patient)
    with ape.reverts(registry.RecordAlreadyErased, recordId=record, erasedAt=erased_at):
        registry.addEnvelope(record, provider, cid_bytes(b"late"), sender=patient)
    with ape.reverts(registry.RecordAlreadyErased, recordId=record, erasedAt=erased_at):
        registry.anchorRecord(request(patient, supersedes=record), [], sender=patient)
    assert registry.erasedAt(rid(patient, request(patient))) == 0


def test_after_key_rotation_only_the_new_owner_may_erase(registry, did_registry, patient,
                                                         provider):  # fmt: skip
    req = request(patient, supersedes=ZERO, scope=OBS)
    registry.anchorRecord(req, [], sender=patient)
    record = rid(patient, req)
    did_registry.changeOwner(patient, provider, sender=patient)
    try:
        with ape.reverts(registry.RecordUnauthorizedEraser, recordId=record,
                         patient=patient.address, caller=patient.address):  # fmt: skip
            registry.eraseRecord(record, sender=patient)
        registry.eraseRecord(record, sender=provider)
        assert registry.erasedAt(record) != 0
    finally:
        did_registry.changeOwner(patient, patient, sender=provider)


def test_sdk_erase_removes_content_and_refuses_reads(records, store, registry, patient,
                                                     provider, keys, recipient):  # fmt: skip
    me = recipient(patient, keys["patient"])
    other = recipient(provider, keys["provider"])
    payload = os.urandom(600_000)  # three chunks: a DAG, not a single block
    kept = records.put(b"another record", patient=patient, scope="Observation",
                       recipients=[me], sender=patient)  # fmt: skip
    put = records.put(payload, patient=patient, scope="Observation", recipients=[me, other],
                      sender=patient)  # fmt: skip
    assert put.replicas is None  # one local store: nothing to count
    assert records.get(put.record_id, recipient=patient, private_key=keys["patient"]) == payload
    with pytest.raises(ContractRevert, match="RecordUnauthorizedEraser"):
        records.erase(put.record_id, sender=provider)  # a recipient may not erase
    report = records.erase(put.record_id, sender=patient)
    assert report.transaction and len(report.envelopes) == 2
    for cid in [put.cid, *put.envelopes.values()]:
        assert not store.has(cid) and not store.pinned(cid)
        with pytest.raises(ContentNotFound):
            store.cat(cid)
    assert records.client.record(put.record_id).erased_at > 0
    for read in (
        lambda: records.get(put.record_id, recipient=patient, private_key=keys["patient"]),
        lambda: records.verify(put.record_id),
        lambda: records.share(
            put.record_id,
            holder=patient,
            private_key=keys["patient"],
            recipient=other,
            sender=patient,
        ),
        lambda: records.read_access(put.record_id, reader=provider),
    ):
        with pytest.raises(RecordErased, match=r"was erased on .* UTC"):
            read()
    # Running it again (e.g. after a storage failure) only repeats the storage part.
    assert records.erase(put.record_id, sender=patient).transaction == ""
    # Other content in the same store is untouched.
    assert records.get(kept.record_id, recipient=patient, private_key=keys["patient"]) == (
        b"another record"
    )
