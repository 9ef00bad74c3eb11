"""RecordRegistry on the in-process EVM: who may write and share, what is stored,
append-only corrections, and every refusal as a custom error with its facts."""

from __future__ import annotations

import os

import ape
import pytest
from eth_utils import keccak

from medchain.records import scope_code
from medchain.storage.cid import CID
from medchain.storage.unixfs import compute_cid

OBS = scope_code("Observation")
ZERO = b"\0" * 32


def cid_bytes(seed: bytes, version: int = 1) -> bytes:
    return compute_cid(seed * 3, cid_version=version).to_bytes()


def request(patient, rid=None, cid=None, content_hash=None, supersedes=ZERO, scope=OBS):
    return (
        str(patient.address), rid or os.urandom(32), scope, 1, cid or cid_bytes(b"x"),
        content_hash or os.urandom(32), supersedes,
    )  # fmt: skip


def test_patient_anchors_a_record_with_envelope(registry, patient, chain):
    req = request(patient)
    env = cid_bytes(b"env")
    tx = registry.anchorRecord(req, [(patient.address, env)], sender=patient)
    view = registry.getRecord(req[1])
    assert view.patient == patient.address and view.author == patient.address
    assert bytes(view.cid) == req[4] and bytes(view.contentHash) == req[5]
    assert bytes(view.scope) == OBS and view.version == 1 and view.schemaVersion == 1
    assert view.anchoredAt == chain.blocks.head.timestamp
    assert bytes(view.supersededBy) == ZERO
    assert bytes(registry.envelopeOf(req[1], patient.address)) == env
    anchored = tx.decode_logs(registry.RecordAnchored)[0]
    assert anchored.recordId == req[1] and anchored.patient == patient.address
    assert bytes(anchored.cid) == req[4] and anchored.version == 1
    assert tx.decode_logs(registry.EnvelopeAnchored)[0].recipient == patient.address


@pytest.mark.parametrize("version", [0, 1])
def test_cid_forms_round_trip(registry, patient, version):
    for data in (b"a" * 10, b"b" * 300_000):  # raw leaf and dag-pb root for v1
        cid = compute_cid(data, cid_version=version).to_bytes()
        req = request(patient, cid=cid)
        registry.anchorRecord(req, [], sender=patient)
        assert bytes(registry.getRecord(req[1]).cid) == cid


def test_refusals(registry, patient, provider):
    req = request(patient)
    registry.anchorRecord(req, [], sender=patient)
    with ape.reverts(registry.RecordExists, recordId=req[1]):
        registry.anchorRecord(req, [], sender=patient)
    other = request(patient)
    with ape.reverts(registry.UnauthorizedWriter, patient=patient.address,
                     writer=provider.address, scope=OBS):  # fmt: skip
        registry.anchorRecord(other, [], sender=provider)
    bad_cid = b"\x01\x71\x12\x20" + b"\x11" * 32  # dag-cbor: not a UnixFS file
    with ape.reverts(registry.InvalidCid, cid=bad_cid):
        registry.anchorRecord(request(patient, cid=bad_cid), [], sender=patient)
    with ape.reverts(registry.InvalidCid, cid=b"\x12\x20\x01"):
        registry.anchorRecord(request(patient, cid=b"\x12\x20\x01"), [], sender=patient)
    zero_rid = (*other[:1], ZERO, *other[2:])
    with ape.reverts(registry.InvalidRecordId, recordId=ZERO):
        registry.anchorRecord(zero_rid, [], sender=patient)
    zero_hash = (*other[:5], ZERO, other[6])
    with ape.reverts(registry.InvalidContentHash, recordId=other[1]):
        registry.anchorRecord(zero_hash, [], sender=patient)
    zero_patient = ("0x" + "00" * 20, *other[1:])
    with ape.reverts(registry.InvalidPatient):
        registry.anchorRecord(zero_patient, [], sender=patient)
    many = [(f"0x{i + 1:040x}", cid_bytes(b"e")) for i in range(17)]
    with ape.reverts(registry.TooManyEnvelopes, count=17, max=16):
        registry.anchorRecord(other, many, sender=patient)
    with ape.reverts(registry.InvalidRecipient, recordId=other[1]):
        registry.anchorRecord(other, [("0x" + "00" * 20, cid_bytes(b"e"))], sender=patient)
    missing = os.urandom(32)
    with ape.reverts(registry.RecordNotFound, recordId=missing):
        registry.getRecord(missing)


def test_corrections_are_linked_versions(registry, patient, provider):
    first = request(patient)
    registry.anchorRecord(first, [], sender=patient)
    second = request(patient, supersedes=first[1])
    tx = registry.anchorRecord(second, [], sender=patient)
    assert registry.getRecord(second[1]).version == 2
    assert bytes(registry.getRecord(second[1]).supersedes) == first[1]
    assert bytes(registry.supersededBy(first[1])) == second[1]
    log = tx.decode_logs(registry.RecordSuperseded)[0]
    assert log.recordId == first[1] and log.supersededBy == second[1]
    with ape.reverts(registry.AlreadySuperseded, recordId=first[1], supersededBy=second[1]):
        registry.anchorRecord(request(patient, supersedes=first[1]), [], sender=patient)
    with ape.reverts(registry.CorrectionMismatch, superseded=second[1],
                     patient=patient.address, scope=OBS):  # fmt: skip
        registry.anchorRecord(
            request(patient, supersedes=second[1], scope=scope_code("Condition")),
            [],
            sender=patient,
        )
    missing = os.urandom(32)
    with ape.reverts(registry.RecordNotFound, recordId=missing):
        registry.anchorRecord(request(patient, supersedes=missing), [], sender=patient)
    third = request(patient, supersedes=second[1])
    registry.anchorRecord(third, [], sender=patient)
    assert registry.getRecord(third[1]).version == 3


def test_did_delegate_and_new_owner_may_write(
    registry, did_registry, patient, provider, researcher
):
    delegate_type = keccak(b"medchain/records")
    assert bytes(registry.RECORDS_DELEGATE_TYPE()) == delegate_type
    assert not registry.canWrite(patient, provider, OBS)
    did_registry.addDelegate(patient, delegate_type, provider, 3600, sender=patient)
    assert registry.canWrite(patient, provider, OBS)
    req = request(patient)
    registry.anchorRecord(req, [], sender=provider)
    assert registry.getRecord(req[1]).author == provider.address
    registry.addEnvelope(req[1], researcher, cid_bytes(b"r"), sender=provider)
    did_registry.revokeDelegate(patient, delegate_type, provider, sender=patient)
    assert not registry.canWrite(patient, provider, OBS)
    with ape.reverts(registry.UnauthorizedSharer, recordId=req[1], patient=patient.address,
                     sharer=provider.address):  # fmt: skip
        registry.addEnvelope(req[1], provider, cid_bytes(b"p"), sender=provider)


def test_new_did_owner_replaces_the_patient_key(project, deployer, patient, researcher):
    did = deployer.deploy(project.DIDRegistry)
    registry = deployer.deploy(project.RecordRegistry, did, deployer)
    did.changeOwner(patient, researcher, sender=patient)
    req = request(patient)
    with ape.reverts(registry.UnauthorizedWriter, writer=patient.address):
        registry.anchorRecord(req, [], sender=patient)
    registry.anchorRecord(req, [], sender=researcher)
    assert registry.getRecord(req[1]).patient == patient.address


def test_envelopes_are_append_only(registry, patient, provider):
    req = request(patient)
    registry.anchorRecord(req, [(provider.address, cid_bytes(b"1"))], sender=patient)
    with ape.reverts(registry.EnvelopeExists, recordId=req[1], recipient=provider.address):
        registry.addEnvelope(req[1], provider, cid_bytes(b"2"), sender=patient)
    assert registry.canShare(req[1], patient) and not registry.canShare(req[1], provider)
    missing = os.urandom(32)
    with ape.reverts(registry.RecordNotFound, recordId=missing):
        registry.addEnvelope(missing, provider, cid_bytes(b"2"), sender=patient)
    assert bytes(registry.envelopeOf(req[1], patient)) == b""
    v0 = cid_bytes(b"v0", version=0)
    with ape.reverts(registry.InvalidCid, cid=v0):  # envelopes are single raw blocks
        registry.addEnvelope(req[1], patient, v0, sender=patient)


def test_consent_registry_as_write_authorizer(project, registry, did_registry, deployer,
                                              patient, provider):  # fmt: skip
    consent = deployer.deploy(project.ConsentRegistry, did_registry, 0, deployer, 2)
    with ape.reverts(registry.AccessControlUnauthorizedAccount, account=provider.address):
        registry.setWriteAuthorizer(consent, sender=provider)
    tx = registry.setWriteAuthorizer(consent, sender=deployer)
    assert tx.decode_logs(registry.WriteAuthorizerChanged)[0].current == consent.address
    assert not registry.canWrite(patient, provider, OBS)
    now = ape.chain.pending_timestamp
    consent.grant(patient, provider, OBS, consent.WRITE(), 1 << consent.TREAT(), now,
                  now + 86400, sender=patient)  # fmt: skip
    assert registry.canWrite(patient, provider, OBS)
    assert not registry.canWrite(patient, provider, scope_code("Condition"))
    req = request(patient)
    registry.anchorRecord(req, [(patient.address, cid_bytes(b"p"))], sender=provider)
    assert registry.getRecord(req[1]).author == provider.address
    # A consented writer anchors but cannot share the patient's record afterwards.
    with ape.reverts(registry.UnauthorizedSharer):
        registry.addEnvelope(req[1], provider, cid_bytes(b"q"), sender=provider)
    registry.setWriteAuthorizer("0x" + "00" * 20, sender=deployer)
    assert not registry.canWrite(patient, provider, OBS)


def test_cid_parser_matches_contract(registry, patient):
    cid = CID.parse("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    req = request(patient, cid=cid.to_bytes())
    registry.anchorRecord(req, [], sender=patient)
    assert CID.from_bytes(bytes(registry.getRecord(req[1]).cid)) == cid
