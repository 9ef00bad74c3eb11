"""RecordRegistry on the in-process EVM: who may write and share, what is stored,
append-only corrections, and every refusal as a custom error with its facts. Record ids
are derived from the author (`recordIdOf`), so requests carry a salt, not an id."""

from __future__ import annotations

import os

import ape
import pytest
from eth_utils import keccak

from medchain.records import scope_code
from medchain.storage.cid import CID
from medchain.storage.unixfs import compute_cid
from support.deploy import deploy_beside, deploy_fresh
from support.records import OBS, ZERO, cid_bytes, request, rid


def test_patient_anchors_a_record_with_envelope(registry, patient, chain):
    req = request(patient)
    env = cid_bytes(b"env")
    tx = registry.anchorRecord(req, [(patient.address, env)], sender=patient)
    view = registry.getRecord(rid(patient, req))
    assert view.patient == patient.address and view.author == patient.address
    assert bytes(view.cid) == req[4] and bytes(view.contentHash) == req[5]
    assert bytes(view.scope) == OBS and view.version == 1 and view.schemaVersion == 1
    assert view.anchoredAt == chain.blocks.head.timestamp
    assert bytes(view.supersededBy) == ZERO
    assert bytes(registry.envelopeOf(rid(patient, req), patient.address)) == env
    anchored = tx.decode_logs(registry.RecordAnchored)[0]
    assert anchored.recordId == rid(patient, req) and anchored.patient == patient.address
    assert bytes(anchored.cid) == req[4] and anchored.version == 1
    assert tx.decode_logs(registry.EnvelopeAnchored)[0].recipient == patient.address


@pytest.mark.parametrize("version", [0, 1])
def test_cid_forms_round_trip(registry, patient, version):
    for data in (b"a" * 10, b"b" * 300_000):  # raw leaf and dag-pb root for v1
        cid = compute_cid(data, cid_version=version).to_bytes()
        req = request(patient, cid=cid)
        registry.anchorRecord(req, [], sender=patient)
        assert bytes(registry.getRecord(rid(patient, req)).cid) == cid


def test_refusals(registry, patient, provider):
    req = request(patient)
    registry.anchorRecord(req, [], sender=patient)
    with ape.reverts(registry.RecordExists, recordId=rid(patient, req)):
        registry.anchorRecord(req, [], sender=patient)
    other = request(patient)
    with ape.reverts(registry.RecordUnauthorizedWriter, patient=patient.address,
                     writer=provider.address, scope=OBS):  # fmt: skip
        registry.anchorRecord(other, [], sender=provider)
    bad_cid = b"\x01\x71\x12\x20" + b"\x11" * 32  # dag-cbor: not a UnixFS file
    with ape.reverts(registry.RecordInvalidCid, cid=bad_cid):
        registry.anchorRecord(request(patient, cid=bad_cid), [], sender=patient)
    with ape.reverts(registry.RecordInvalidCid, cid=b"\x12\x20\x01"):
        registry.anchorRecord(request(patient, cid=b"\x12\x20\x01"), [], sender=patient)
    zero_hash = (*other[:5], ZERO, other[6])
    with ape.reverts(registry.RecordInvalidContentHash, recordId=rid(patient, other)):
        registry.anchorRecord(zero_hash, [], sender=patient)
    zero_patient = ("0x" + "00" * 20, *other[1:])
    with ape.reverts(registry.RecordInvalidPatient):
        registry.anchorRecord(zero_patient, [], sender=patient)
    many = [(f"0x{i + 1:040x}", cid_bytes(b"e")) for i in range(17)]
    with ape.reverts(registry.RecordTooManyEnvelopes, count=17, max=16):
        registry.anchorRecord(other, many, sender=patient)
    with ape.reverts(registry.RecordInvalidRecipient, recordId=rid(patient, other)):
        registry.anchorRecord(other, [("0x" + "00" * 20, cid_bytes(b"e"))], sender=patient)
    missing = os.urandom(32)
    with ape.reverts(registry.RecordNotFound, recordId=missing):
        registry.getRecord(missing)


def test_corrections_are_linked_versions(registry, patient, provider):
    first = request(patient)
    registry.anchorRecord(first, [], sender=patient)
    second = request(patient, supersedes=rid(patient, first))
    tx = registry.anchorRecord(second, [], sender=patient)
    assert registry.getRecord(rid(patient, second)).version == 2
    assert bytes(registry.getRecord(rid(patient, second)).supersedes) == rid(patient, first)
    assert bytes(registry.supersededBy(rid(patient, first))) == rid(patient, second)
    log = tx.decode_logs(registry.RecordSuperseded)[0]
    assert log.recordId == rid(patient, first) and log.supersededBy == rid(patient, second)
    with ape.reverts(
        registry.RecordAlreadySuperseded,
        recordId=rid(patient, first),
        supersededBy=rid(patient, second),
    ):
        registry.anchorRecord(request(patient, supersedes=rid(patient, first)), [], sender=patient)
    with ape.reverts(registry.RecordCorrectionMismatch, superseded=rid(patient, second),
                     patient=patient.address, scope=OBS):  # fmt: skip
        registry.anchorRecord(
            request(patient, supersedes=rid(patient, second), scope=scope_code("Condition")),
            [],
            sender=patient,
        )
    missing = os.urandom(32)
    with ape.reverts(registry.RecordNotFound, recordId=missing):
        registry.anchorRecord(request(patient, supersedes=missing), [], sender=patient)
    third = request(patient, supersedes=rid(patient, second))
    registry.anchorRecord(third, [], sender=patient)
    assert registry.getRecord(rid(patient, third)).version == 3


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
    assert registry.getRecord(rid(provider, req)).author == provider.address
    registry.addEnvelope(rid(provider, req), researcher, cid_bytes(b"r"), sender=provider)
    did_registry.revokeDelegate(patient, delegate_type, provider, sender=patient)
    assert not registry.canWrite(patient, provider, OBS)
    with ape.reverts(registry.RecordUnauthorizedSharer, recordId=rid(provider, req),
                     patient=patient.address, sharer=provider.address):  # fmt: skip
        registry.addEnvelope(rid(provider, req), provider, cid_bytes(b"p"), sender=provider)


def test_new_did_owner_replaces_the_patient_key(deployer, patient, researcher):
    deployed = deploy_fresh(deployer, "RecordRegistry").contracts
    did, registry = deployed["DIDRegistry"], deployed["RecordRegistry"]
    did.changeOwner(patient, researcher, sender=patient)
    req = request(patient)
    with ape.reverts(registry.RecordUnauthorizedWriter, writer=patient.address):
        registry.anchorRecord(req, [], sender=patient)
    registry.anchorRecord(req, [], sender=researcher)
    assert registry.getRecord(rid(researcher, req)).patient == patient.address


def test_envelopes_are_append_only(registry, patient, provider):
    req = request(patient)
    registry.anchorRecord(req, [(provider.address, cid_bytes(b"1"))], sender=patient)
    with ape.reverts(
        registry.RecordEnvelopeExists, recordId=rid(patient, req), recipient=provider.address
    ):
        registry.addEnvelope(rid(patient, req), provider, cid_bytes(b"2"), sender=patient)
    assert registry.canShare(rid(patient, req), patient) and not registry.canShare(
        rid(patient, req), provider
    )
    missing = os.urandom(32)
    with ape.reverts(registry.RecordNotFound, recordId=missing):
        registry.addEnvelope(missing, provider, cid_bytes(b"2"), sender=patient)
    assert bytes(registry.envelopeOf(rid(patient, req), patient)) == b""
    v0 = cid_bytes(b"v0", version=0)
    with ape.reverts(registry.RecordInvalidCid, cid=v0):  # envelopes are single raw blocks
        registry.addEnvelope(rid(patient, req), patient, v0, sender=patient)


def test_consent_registry_as_write_authorizer(registry, did_registry, deployer,
                                              patient, provider):  # fmt: skip
    # Not wired: this test performs the consent spec's wiring step (setWriteAuthorizer) itself.
    existing = {"DIDRegistry": did_registry, "RecordRegistry": registry}
    consent = deploy_beside(deployer, "ConsentRegistry", existing, wire=False)
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
    assert registry.getRecord(rid(provider, req)).author == provider.address
    # A consented writer anchors but cannot share the patient's record afterwards.
    with ape.reverts(registry.RecordUnauthorizedSharer):
        registry.addEnvelope(rid(provider, req), provider, cid_bytes(b"q"), sender=provider)
    registry.setWriteAuthorizer("0x" + "00" * 20, sender=deployer)
    assert not registry.canWrite(patient, provider, OBS)


def test_cid_parser_matches_contract(registry, patient):
    cid = CID.parse("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    req = request(patient, cid=cid.to_bytes())
    registry.anchorRecord(req, [], sender=patient)
    assert CID.from_bytes(bytes(registry.getRecord(rid(patient, req)).cid)) == cid


# -- security review: authority from the DID registry's current state ------------------

RECORDS = keccak(b"medchain/records")
DEAD = "0x" + "00" * 20


@pytest.fixture
def fresh(deployer):
    """A DID registry, a record registry and a consent registry (the write authorizer, as
    the consent spec wires it) of their own, so rotating or deactivating a DID here does
    not touch other tests."""
    deployed = deploy_fresh(deployer, "ConsentRegistry").contracts
    return tuple(deployed[n] for n in ("DIDRegistry", "RecordRegistry", "ConsentRegistry"))


def grant_write(consent, patient, writer, sender=None):
    now = ape.chain.pending_timestamp
    consent.grant(patient, writer, OBS, consent.WRITE(), 1 << consent.TREAT(), now,
                  now + 86_400, sender=sender or patient)  # fmt: skip


def test_record_ids_are_derived_from_the_author(fresh, patient, provider):
    """Low (front-running): an id the patient announced (or bound into a ciphertext) cannot
    be squatted: the same salt from another writer lands under another id."""
    _, registry, consent = fresh
    grant_write(consent, patient, provider)
    req = request(patient)
    assert bytes(registry.recordIdOf(patient, patient, req[1])) == rid(patient, req)
    # The attacker copies the patient's pending request (same salt) and lands first.
    squat = (*req[:4], cid_bytes(b"squat"), os.urandom(32), ZERO)
    registry.anchorRecord(squat, [], sender=provider)
    assert rid(provider, squat) != rid(patient, req)
    tx = registry.anchorRecord(req, [], sender=patient)  # the patient's id is still free
    assert tx.decode_logs(registry.RecordAnchored)[0].recordId == rid(patient, req)
    assert bytes(registry.getRecord(rid(patient, req)).cid) == req[4]
    with ape.reverts(registry.RecordExists, recordId=rid(patient, req)):
        registry.anchorRecord(req, [], sender=patient)


def test_old_key_after_rotation_has_no_power(fresh, patient, researcher, provider):
    """High (finding 2): once the patient's DID moved to a new key, the old key can no
    longer anchor, share or correct - not even a record it authored itself."""
    did, registry, _ = fresh
    own = request(patient)
    registry.anchorRecord(own, [(patient.address, cid_bytes(b"o"))], sender=patient)
    did.changeOwner(patient, researcher, sender=patient)  # rotation: researcher = new key
    assert not registry.canWrite(patient, patient, OBS)
    assert not registry.canShare(rid(patient, own), patient)
    assert not registry.canSupersede(rid(patient, own), patient)
    with ape.reverts(registry.RecordUnauthorizedWriter, patient=patient.address,
                     writer=patient.address, scope=OBS):  # fmt: skip
        registry.anchorRecord(request(patient), [], sender=patient)
    with ape.reverts(registry.RecordUnauthorizedWriter, patient=patient.address,
                     writer=patient.address, scope=OBS):  # fmt: skip
        registry.anchorRecord(request(patient, supersedes=rid(patient, own)), [], sender=patient)
    with ape.reverts(registry.RecordUnauthorizedSharer, recordId=rid(patient, own),
                     patient=patient.address, sharer=patient.address):  # fmt: skip
        registry.addEnvelope(rid(patient, own), provider, cid_bytes(b"x"), sender=patient)
    # The new key holds all of it.
    fix = request(patient, supersedes=rid(patient, own))
    registry.anchorRecord(fix, [], sender=researcher)
    assert registry.getRecord(rid(researcher, fix)).version == 2
    registry.addEnvelope(rid(patient, own), provider, cid_bytes(b"x"), sender=researcher)


def test_deactivated_identity_gives_nobody_power(fresh, patient, provider, researcher):
    """High (finding 2): after deactivation the records delegate, the consented writer and
    the last owner are all refused - anchor, correct and share."""
    did, registry, consent = fresh
    did.addDelegate(patient, RECORDS, researcher, 86_400, sender=patient)
    grant_write(consent, patient, provider)
    mine = request(patient)
    registry.anchorRecord(mine, [], sender=provider)
    did.changeOwner(patient, DEAD, sender=patient)  # deactivated for good
    for who in (patient, researcher, provider):
        assert not registry.canWrite(patient, who, OBS)
        assert not registry.canShare(rid(provider, mine), who)
        assert not registry.canSupersede(rid(provider, mine), who)
        with ape.reverts(registry.RecordIdentityDeactivated, patient=patient.address):
            registry.anchorRecord(request(patient), [], sender=who)
        with ape.reverts(registry.RecordIdentityDeactivated, patient=patient.address):
            registry.addEnvelope(rid(provider, mine), provider, cid_bytes(b"y"), sender=who)
    # The consented writer cannot even extend its own chain.
    with ape.reverts(registry.RecordIdentityDeactivated, patient=patient.address):
        registry.anchorRecord(request(patient, supersedes=rid(provider, mine)), [],
                              sender=provider)  # fmt: skip
    assert registry.getRecord(rid(provider, mine)).version == 1  # history stays readable


def test_delegate_after_deactivation_even_if_did_still_lists_it(fresh, patient, researcher):
    """High (finding 2): the delegate's ERC-1056 entry outlives the identity; the records
    registry checks the identity is live itself rather than trusting validDelegate."""
    did, registry, _ = fresh
    did.addDelegate(patient, RECORDS, researcher, 86_400, sender=patient)
    req = request(patient)
    registry.anchorRecord(req, [], sender=researcher)
    did.changeOwner(patient, DEAD, sender=patient)
    with ape.reverts(registry.RecordIdentityDeactivated, patient=patient.address):
        registry.anchorRecord(request(patient), [], sender=researcher)
    with ape.reverts(registry.RecordIdentityDeactivated, patient=patient.address):
        registry.anchorRecord(request(patient, supersedes=rid(researcher, req)), [],
                              sender=researcher)  # fmt: skip
    with ape.reverts(registry.RecordIdentityDeactivated, patient=patient.address):
        registry.addEnvelope(rid(researcher, req), researcher, cid_bytes(b"z"), sender=researcher)


def test_writer_cannot_take_over_another_authors_chain(fresh, patient, provider, lab,
                                                       researcher):  # fmt: skip
    """Medium (finding 9): a consented writer corrects only its own records; the patient's
    current owner and records delegates may correct anyone's."""
    did, registry, consent = fresh
    grant_write(consent, patient, provider)
    grant_write(consent, patient, lab)
    first = request(patient)
    registry.anchorRecord(first, [], sender=provider)
    first_id = rid(provider, first)
    assert registry.canSupersede(first_id, provider) and not registry.canSupersede(first_id, lab)
    with ape.reverts(registry.RecordUnauthorizedSuperseder, superseded=first_id,
                     author=provider.address, caller=lab.address):  # fmt: skip
        registry.anchorRecord(request(patient, supersedes=first_id), [], sender=lab)
    second = request(patient, supersedes=first_id)
    registry.anchorRecord(second, [], sender=provider)  # the author corrects its own
    second_id = rid(provider, second)
    third = request(patient, supersedes=second_id)
    registry.anchorRecord(third, [], sender=patient)  # the patient (DID owner) may
    third_id = rid(patient, third)
    with ape.reverts(registry.RecordUnauthorizedSuperseder, superseded=third_id,
                     author=patient.address, caller=provider.address):  # fmt: skip
        registry.anchorRecord(request(patient, supersedes=third_id), [], sender=provider)
    did.addDelegate(patient, RECORDS, researcher, 86_400, sender=patient)
    fourth = request(patient, supersedes=third_id)
    registry.anchorRecord(fourth, [], sender=researcher)  # and so may a records delegate
    assert registry.getRecord(rid(researcher, fourth)).version == 4
    # An author whose write consent was revoked no longer extends even its own chain.
    fifth = request(patient)
    registry.anchorRecord(fifth, [], sender=lab)
    consent.revoke(patient, lab, OBS, sender=patient)
    assert not registry.canSupersede(rid(lab, fifth), lab)
    with ape.reverts(registry.RecordUnauthorizedWriter, patient=patient.address,
                     writer=lab.address, scope=OBS):  # fmt: skip
        registry.anchorRecord(request(patient, supersedes=rid(lab, fifth)), [], sender=lab)
