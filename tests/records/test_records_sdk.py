"""The records SDK end to end on the in-process chain with the embedded store:
round trips, sharing, and every failure as a typed error with nothing anchored that is
not stored and the journal able to finish the job."""

from __future__ import annotations

import os
import socket

import pytest
from eth_utils import keccak

from medchain.crypto import DecryptionFailed, WrongRecipientKey
from medchain.errors import ContractRevert, IntegrityError, InvalidInput
from medchain.records import JournalError, NoEnvelope, Records, RecordsClient, record_id_for
from medchain.storage import ContentNotFound, StoreUnavailable
from medchain.storage.cid import CID
from medchain.storage.kubo import KuboStore

LAB = b'{"resourceType":"Observation","status":"final","valueQuantity":{"value":5.4}}'


def test_put_get_verify_round_trip(recipient, records, patient, keys):
    me = recipient(patient, keys["patient"])
    result = records.put(LAB, patient=patient, scope="Observation", recipients=[me],
                         sender=patient)  # fmt: skip
    anchor = records.client.record(result.record_id)
    assert anchor.cid == result.cid and anchor.scope_name == "Observation"
    assert records.store.has(result.cid) and records.pending() == []
    assert records.get(result.record_id, recipient=patient, private_key=keys["patient"]) == LAB
    report = records.verify(result.record_id)
    assert report.plaintext_size == len(LAB) and report.envelopes_checked == 1
    assert [a.record_id for a in records.client.records_of(patient)][-1] == result.record_id


def test_large_payload_streams_to_a_file(recipient, records, patient, keys, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)  # 4 encryption chunks, 13 IPFS chunks
    source = tmp_path / "scan.bin"
    source.write_bytes(data)
    seen: dict[str, int] = {}
    result = records.put(source, patient=patient, scope="ImagingStudy",
                         recipients=[recipient(patient, keys["patient"])], sender=patient,
                         progress=lambda stage, n: seen.__setitem__(stage, seen.get(stage, 0) + n))  # fmt: skip
    assert result.cid.codec_name == "dag-pb"
    assert seen["encrypt"] == result.size and seen["store"] == result.size
    out = records.get(result.record_id, recipient=patient, private_key=keys["patient"],
                      out=tmp_path / "back.bin")  # fmt: skip
    assert out.read_bytes() == data


def test_share_wraps_the_same_key_for_another_did(
    recipient, records, patient, provider, researcher, keys
):
    result = records.put(LAB, patient=patient, scope="Observation",
                         recipients=[recipient(patient, keys["patient"])], sender=patient)  # fmt: skip
    with pytest.raises(NoEnvelope):
        records.get(result.record_id, recipient=provider, private_key=keys["provider"])
    before = records.store.cat(result.cid)
    records.share(result.record_id, holder=patient, private_key=keys["patient"],
                  recipient=recipient(provider, keys["provider"]), sender=patient)  # fmt: skip
    assert records.store.cat(result.cid) == before  # the payload was not re-encrypted
    assert records.get(result.record_id, recipient=provider, private_key=keys["provider"]) == LAB
    assert records.verify(result.record_id).envelopes_checked == 2
    # The provider holds an envelope but may not share the patient's record onwards.
    with pytest.raises(ContractRevert) as err:
        records.share(result.record_id, holder=provider, private_key=keys["provider"],
                      recipient=recipient(researcher, keys["researcher"]), sender=provider)  # fmt: skip
    assert err.value.error_name == "RecordUnauthorizedSharer"


def test_wrong_recipient_key_is_refused(recipient, records, patient, keys):
    result = records.put(LAB, patient=patient, scope="Observation",
                         recipients=[recipient(patient, keys["patient"])], sender=patient)  # fmt: skip
    with pytest.raises(WrongRecipientKey):
        records.get(result.record_id, recipient=patient, private_key=keys["researcher"])


def test_tampered_ciphertext_is_refused(recipient, records, store, patient, keys):
    result = records.put(LAB, patient=patient, scope="Observation",
                         recipients=[recipient(patient, keys["patient"])], sender=patient)  # fmt: skip
    block = store._path(result.cid)
    raw = bytearray(block.read_bytes())
    raw[-5] ^= 1
    block.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="does not hash"):
        records.get(result.record_id, recipient=patient, private_key=keys["patient"])
    with pytest.raises(IntegrityError):
        records.verify(result.record_id)


def test_ciphertext_is_bound_to_its_record(recipient, records, store, patient, keys):
    # Re-anchoring an existing ciphertext under a new record id fails to decrypt.
    first = records.put(LAB, patient=patient, scope="Observation",
                        recipients=[recipient(patient, keys["patient"])], sender=patient)  # fmt: skip
    env = records.client.envelope_of(first.record_id, patient)
    salt = os.urandom(32)
    replay = record_id_for(patient, patient, salt)
    records.client.anchor(patient=patient, salt=salt, scope=b"Observation".ljust(32, b"\0"),
                          schema_version=1, cid=first.cid, content_hash=first.content_hash,
                          envelopes=[(patient.address, env)], sender=patient)  # fmt: skip
    with pytest.raises(IntegrityError):
        records.get(replay, recipient=patient, private_key=keys["patient"])
    with pytest.raises(IntegrityError):
        records.verify(replay)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_node_anchors_nothing_and_resume_finishes(recipient, records, registry, patient, keys,
                                                              tmp_path):  # fmt: skip
    down = Records(RecordsClient(registry), KuboStore(f"http://127.0.0.1:{_closed_port()}",
                                                      timeout=2), journal=records.journal)  # fmt: skip
    with pytest.raises(StoreUnavailable):
        down.put(LAB, patient=patient, scope="Observation",
                 recipients=[recipient(patient, keys["patient"])], sender=patient)  # fmt: skip
    (entry,) = records.pending()
    assert entry.step == "encrypted" and "StoreUnavailable" in entry.last_error
    rid = bytes.fromhex(entry.record_id[2:])
    assert not records.client.exists(rid)
    # The node is back (here: the embedded store): resume stores, confirms, anchors.
    result = records.resume(entry.record_id, sender=patient)
    assert records.client.record(rid).cid == result.cid
    assert records.get(rid, recipient=patient, private_key=keys["patient"]) == LAB
    assert records.pending() == [] and not records.journal.spool(entry.record_id).exists()


def test_chain_rejecting_the_anchor_keeps_the_job(recipient, records, registry, did_registry, patient,
                                                  researcher, keys):  # fmt: skip
    with pytest.raises(ContractRevert) as err:
        records.put(LAB, patient=patient, scope="Observation",
                    recipients=[recipient(patient, keys["patient"])], sender=researcher)  # fmt: skip
    assert err.value.error_name == "RecordUnauthorizedWriter"
    (entry,) = records.pending()
    assert entry.step == "stored" and "UnauthorizedWriter" in entry.last_error
    assert records.store.has(CID.parse(entry.cid))  # stored, but not anchored
    rid = bytes.fromhex(entry.record_id[2:])
    assert not records.client.exists(rid)
    did_registry.addDelegate(patient, keccak(b"medchain/records"), researcher, 3600,
                             sender=patient)  # fmt: skip
    result = records.resume(entry.record_id, sender=researcher)
    assert records.client.record(rid).author == researcher.address
    assert result.cid == CID.parse(entry.cid)
    did_registry.revokeDelegate(patient, keccak(b"medchain/records"), researcher, sender=patient)


def test_killed_between_steps(recipient, records, patient, keys):
    # Killed after encryption: only the journal and its ciphertext spool exist.
    entry = records.prepare(LAB, patient=patient, scope="Observation", author=patient,
                            recipients=[recipient(patient, keys["patient"])])  # fmt: skip
    assert b"Observation" not in records.journal.spool(entry.record_id).read_bytes()
    fresh = Records(records.client, records.store, journal=records.journal)
    fresh.resume(entry.record_id, sender=patient)
    rid = bytes.fromhex(entry.record_id[2:])
    # Killed after the anchor landed but before the journal was closed.
    entry2 = records.prepare(LAB, patient=patient, scope="Observation", author=patient,
                             recipients=[recipient(patient, keys["patient"])])  # fmt: skip
    records.store_prepared(entry2)
    entry2.step = "stored"
    records.journal.write(entry2)
    records._anchor(entry2, patient)  # lands, then "crash" before the journal is cleared
    records.journal.write(entry2)
    done = fresh.resume(entry2.record_id, sender=patient)
    assert done.transaction == "" and records.pending() == []
    assert records.get(rid, recipient=patient, private_key=keys["patient"]) == LAB
    with pytest.raises(JournalError):
        fresh.resume(entry2.record_id, sender=patient)


def test_missing_content_and_malformed_cids(recipient, records, store, patient, keys):
    result = records.put(LAB, patient=patient, scope="Observation",
                         recipients=[recipient(patient, keys["patient"])], sender=patient)  # fmt: skip
    store._path(result.cid).unlink()
    assert not store.has(result.cid)
    with pytest.raises(ContentNotFound):
        records.verify(result.record_id)
    for bad in ("", "Qm123", "bafy!!", "zzzz", "bafkqaaa", "f01551220" + "00" * 32):
        with pytest.raises(InvalidInput):
            CID.parse(bad)
    # A long label is hashed like consent hashes it (test_records_consent_scopes.py); an
    # empty one names no scope at all.
    with pytest.raises(InvalidInput, match="scope label is empty"):
        records.put(LAB, patient=patient, scope="", sender=patient,
                    recipients=[recipient(patient, keys["patient"])])  # fmt: skip
    with pytest.raises(DecryptionFailed):
        from medchain.crypto import KeyEnvelope

        KeyEnvelope.from_bytes(b"{}")


def test_recipients_resolved_from_the_did_document(records, did_registry, patient, provider,
                                                   keys):  # fmt: skip
    from medchain.identity import DIDRegistryClient
    from medchain.keystore import X25519_ENC_ATTRIBUTE, public_bytes
    from medchain.records import recipients_for

    client = DIDRegistryClient(did_registry)
    for who in (patient, provider):
        role = "patient" if who == patient else "provider"
        client.set_attribute(who, X25519_ENC_ATTRIBUTE, public_bytes(keys[role]), 86_400,
                             sender=who)  # fmt: skip
    (me,) = recipients_for(patient, did_registry)
    assert me.public_key == public_bytes(keys["patient"]) and me.address == patient.address
    result = records.put(LAB, patient=patient, scope="Observation", recipients=[me],
                         sender=patient)  # fmt: skip
    from ape import chain

    from medchain.identity import format_did

    (them,) = recipients_for(format_did(provider.address, chain.chain_id), did_registry)
    records.share(result.record_id, holder=patient, private_key=keys["patient"],
                  recipient=them, sender=patient)  # fmt: skip
    assert records.get(result.record_id, recipient=provider, private_key=keys["provider"]) == LAB


def test_record_id_is_derived_from_the_author(recipient, records, registry, patient, provider,
                                              keys):  # fmt: skip
    """The SDK computes ids exactly as the contract (`recordIdOf`); the id is bound into
    the ciphertext, so only the author the put was prepared for can finish it."""
    salt = os.urandom(32)
    assert record_id_for(provider, patient, salt) == records.client.record_id_of(
        provider, patient, salt
    )
    result = records.put(LAB, patient=patient, scope="Observation", sender=patient, salt=salt,
                         recipients=[recipient(patient, keys["patient"])])  # fmt: skip
    assert result.record_id == bytes(registry.recordIdOf(patient, patient, salt))
    entry = records.prepare(LAB, patient=patient, scope="Observation", author=patient,
                            recipients=[recipient(patient, keys["patient"])])  # fmt: skip
    with pytest.raises(JournalError, match="prepared by"):
        records.resume(entry.record_id, sender=provider)
    assert not records.client.exists(bytes.fromhex(entry.record_id[2:]))
    dropped = records.discard(entry.record_id)
    assert dropped.record_id == entry.record_id and records.pending() == []
    assert not records.journal.spool(entry.record_id).exists()
    with pytest.raises(JournalError):
        records.discard(entry.record_id)


def test_a_did_with_two_devices_gets_one_envelope_both_devices_open(
    records, did_registry, patient, provider, keys
):
    """`did create --add` publishes a second key (another device). The chain keeps one
    envelope per address, so put and share seal to every published key of that address in
    one key envelope set: each device decrypts, a third key does not."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from medchain.crypto import WrongRecipientKey, envelopes_in
    from medchain.identity import DIDRegistryClient
    from medchain.keystore import X25519_ENC_ATTRIBUTE, public_bytes
    from medchain.records import recipients_for

    client = DIDRegistryClient(did_registry)
    devices = {"patient": [keys["patient"], X25519PrivateKey.generate()],
               "provider": [keys["provider"], X25519PrivateKey.generate()]}  # fmt: skip
    for who, role in ((patient, "patient"), (provider, "provider")):
        for key in devices[role]:
            client.set_attribute(who, X25519_ENC_ATTRIBUTE, public_bytes(key), 86_400,
                                 sender=who)  # fmt: skip
    mine = recipients_for(patient, did_registry)
    assert len(mine) == 2 and {r.address for r in mine} == {patient.address}
    result = records.put(LAB, patient=patient, scope="Observation", recipients=mine,
                         sender=patient)  # fmt: skip
    sealed = envelopes_in(records.store.cat(records.client.envelope_of(result.record_id, patient)))
    assert {e.recipient_public_key for e in sealed} == {public_bytes(k) for k in devices["patient"]}
    for device in devices["patient"]:
        assert records.get(result.record_id, recipient=patient, private_key=device) == LAB
    with pytest.raises(WrongRecipientKey):
        records.get(result.record_id, recipient=patient, private_key=X25519PrivateKey.generate())

    records.share(result.record_id, holder=patient, private_key=devices["patient"][1],
                  recipient=recipients_for(provider, did_registry), sender=patient)  # fmt: skip
    for device in devices["provider"]:
        assert records.get(result.record_id, recipient=provider, private_key=device) == LAB
    assert records.verify(result.record_id)
