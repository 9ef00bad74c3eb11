"""Regression tests of the consent findings, each performing the attack with real
transactions and asserting the specific custom error (or the safe outcome):

* a rotated or deactivated DID still acting through ConsentRegistry (and so through
  RecordRegistry.canWrite, and key release on hasAccess);
* break-glass that survived off-boarding and could not be stopped by oversight;
* dictionary-reversible reason / review hashes;
* a consent delegate lifting the patient's deny and granting itself;
* signed grants that could not be cancelled or went stale;
* PatientWallet.rotateKey(0) bricking the wallet.
"""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak

from medchain.codec import scope_code
from medchain.consent import (
    ETREAT,
    READ,
    TREAT,
    WRITE,
    Commitment,
    NoteStore,
    UnknownEpisode,
    WrongChainDID,
)
from medchain.errors import ContractRevert

ZERO = "0x" + "00" * 20
ANY = scope_code("*")
LAB = scope_code("category:laboratory")
HOUR, DAY = 3600, 86_400


# ---------------------------------------------------------------- rotated / deactivated DID
def test_rotated_key_cannot_grant(client, registry, did, patient, lab, researcher):
    """Attack: after the patient moves its DID to a new key, the old (compromised) key
    still granted `*` READ|WRITE because `caller == patient` skipped the registry."""
    did.changeOwner(patient, lab, sender=patient)
    with ape.reverts(
        registry.ConsentUnauthorizedManager, patient=patient, caller=patient, owner=lab
    ):
        registry.grant(patient, researcher, ANY, READ | WRITE, 1, 0, 2**40 - 1, sender=patient)
    assert not registry.isManager(patient, patient)
    client.grant(patient, researcher, LAB, "read", "TREAT", sender=lab)  # the new key may
    assert client.check(patient, researcher, LAB, "read", "TREAT")


def test_deactivated_identity_gives_nobody_power(
    client, registry, did, patient, lab, guardian, researcher, provider
):
    """Attack (as reported): rotate to a new key, deactivate (identityOwner == 0); the old
    key, and a delegate added before, still granted READ|WRITE on `*` - which also let the
    attacker anchor records via canWrite and receive record keys via hasAccess."""
    did.addDelegate(patient, registry.CONSENT_DELEGATE(), guardian, DAY, sender=patient)
    client.grant(patient, provider, LAB, "read,write", "TREAT", sender=patient)  # legit, earlier
    did.changeOwner(patient, lab, sender=patient)
    did.changeOwner(patient, ZERO, sender=lab)
    for actor in (patient, lab, guardian):
        with ape.reverts(registry.ConsentIdentityDeactivated, patient=patient):
            registry.grant(patient, researcher, ANY, READ | WRITE, 1, 0, 2**40 - 1, sender=actor)
        assert not registry.isManager(patient, actor)
    with ape.reverts(registry.ConsentIdentityDeactivated, patient=patient):
        registry.revoke(patient, provider, LAB, sender=lab)
    # earlier permits are dead too: nobody could revoke them any more
    assert not registry.hasAccess(patient, provider, LAB, READ, TREAT)
    assert not registry.canWrite(patient, provider, LAB)
    _logging_a_read_is_refused(registry, patient, provider, TREAT, b"\x01" * 32)


def _logging_a_read_is_refused(registry, patient, grantee, purpose, ref):
    """The grantee can no longer log (hence perform) a LAB read for `purpose`."""
    with ape.reverts(
        registry.ConsentAccessDenied,
        patient=patient,
        grantee=grantee,
        scope=LAB,
        action=READ,
        purpose=purpose,
    ):
        registry.recordAccess(patient, LAB, READ, purpose, ref, sender=grantee)


def test_signature_of_rotated_key_refused(
    client, registry, did, patient, lab, provider, researcher
):
    signed = client.sign_grant(patient, patient, provider, LAB, deadline=2**40)
    did.changeOwner(patient, lab, sender=patient)  # the signer is nobody now
    with ape.reverts(
        registry.ConsentUnauthorizedManager, patient=patient, caller=patient, owner=lab
    ):
        client.contract.grantBySig(
            tuple(signed.message.values()), signed.signature, sender=researcher
        )


# ---------------------------------------------------------------- break-glass
def _activate(client, patient, provider, approvers, duration=4 * HOUR):
    episode = client.request_break_glass(patient, "fell, unresponsive", duration, sender=provider)
    for approver in approvers:
        client.approve_break_glass(episode, sender=approver)
    return episode


def test_offboarded_clinician_request_not_approvable(
    client, registry, deployer, patient, provider, approver1, approver2
):
    """Attack: a request stayed approvable after the clinician's role was revoked and
    then gave 24 h of ETREAT read/write."""
    episode = client.request_break_glass(patient, "r", 24 * HOUR, sender=provider)
    client.approve_break_glass(episode, sender=approver1)
    registry.revokeRole(registry.CLINICIAN_ROLE(), provider, sender=deployer)
    with ape.reverts(
        registry.ConsentBreakGlassClinicianRevoked, episodeId=episode, clinician=provider
    ):
        registry.approveBreakGlass(episode, sender=approver2)
    assert not registry.hasAccess(patient, provider, LAB, READ, ETREAT)


def test_offboarding_ends_active_access_at_once(
    client, registry, deployer, patient, provider, approver1, approver2
):
    episode = _activate(client, patient, provider, [approver1, approver2])
    assert registry.hasAccess(patient, provider, LAB, WRITE, ETREAT)
    registry.revokeRole(registry.CLINICIAN_ROLE(), provider, sender=deployer)
    assert not registry.hasAccess(patient, provider, LAB, READ, ETREAT)
    _logging_a_read_is_refused(registry, patient, provider, ETREAT, b"\x02" * 32)
    assert client.episode(episode)["status"] == "active"  # still awaits its review


@pytest.mark.parametrize("stopper", ["privacy_officer", "deployer"])
def test_oversight_ends_an_episode_and_it_is_audited(
    client, registry, roles, patient, provider, approver1, approver2, stopper, chain
):
    """Attack: only the requesting clinician could close an episode (the privacy officer
    and admin got BreakGlassNotRequester)."""
    episode = _activate(client, patient, provider, [approver1, approver2])
    receipt = client.close_break_glass(episode, sender=roles[stopper])
    closed = next(iter(registry.BreakGlassClosed.from_receipt(receipt)))
    assert closed.by == roles[stopper] and closed.patient == patient
    assert not registry.hasAccess(patient, provider, LAB, READ, ETREAT)
    client.review_break_glass(
        episode, False, "closed by oversight", sender=roles["privacy_officer"]
    )
    events = [e.event for e in client.audit(patient)]
    assert "BreakGlassClosed" in events and "BreakGlassReviewed" in events


@pytest.mark.parametrize("stopper", ["privacy_officer", "deployer", "provider"])
def test_pending_request_cancelled(client, registry, roles, patient, provider, approver1, stopper):
    episode = client.request_break_glass(patient, "r", HOUR, sender=provider)
    receipt = client.cancel_break_glass(episode, sender=roles[stopper])
    cancelled = next(iter(registry.BreakGlassCancelled.from_receipt(receipt)))
    assert cancelled.by == roles[stopper] and cancelled.episodeId == episode
    assert client.episode(episode)["status"] == "cancelled"
    with ape.reverts(registry.ConsentBreakGlassWrongStatus, episodeId=episode, status=5):
        registry.approveBreakGlass(episode, sender=approver1)
    assert any(e.event == "BreakGlassCancelled" for e in client.audit(patient))


def test_stranger_cannot_stop(client, registry, patient, provider, researcher):
    episode = client.request_break_glass(patient, "r", HOUR, sender=provider)
    with ape.reverts(registry.ConsentBreakGlassCannotStop, episodeId=episode, caller=researcher):
        registry.cancelBreakGlass(episode, sender=researcher)


# ---------------------------------------------------------------- salted commitments
WORDS = ["suspected", "opioid", "overdose,", "unresponsive", "fall", "stroke", "chest", "pain"]


def test_reason_and_review_are_salted_commitments(
    client, registry, patient, provider, approver1, approver2, privacy_officer, chain, tmp_path
):
    """Attack: reasonHash = keccak(text) of a short text; a 5-word dictionary recovered
    "suspected opioid overdose, unresponsive" next to the patient's address."""
    notes = NoteStore(tmp_path)
    text = "suspected opioid overdose, unresponsive"
    episode = client.request_break_glass(patient, text, HOUR, sender=provider, notes=notes)
    on_chain = client.episode(episode)["reason_hash"]
    # the reviewer's dictionary attack, on every 1..4-word phrase, finds nothing
    import itertools

    guesses = {
        "0x" + keccak(text=" ".join(words)).hex()
        for n in range(1, 5)
        for words in itertools.product(WORDS, repeat=n)
    }
    assert "0x" + keccak(text=text).hex() in guesses  # the old, unsalted scheme falls
    assert on_chain not in guesses
    kept = notes.load(client.note_name("reason", episode))  # salt kept with the text
    assert kept.text == text and client.verify_note(episode, "reason", kept)
    assert not client.verify_note(episode, "reason", Commitment.of(text))  # other salt
    for approver in (approver1, approver2):
        client.approve_break_glass(episode, sender=approver)
    chain.mine(timestamp=client.episode(episode)["expires_at"])
    client.review_break_glass(episode, True, "justified", sender=privacy_officer, notes=notes)
    review = notes.load(client.note_name("review", episode))
    assert client.episode(episode)["review_hash"] != "0x" + keccak(text="justified").hex()
    assert client.verify_note(episode, "review", review)


# ---------------------------------------------------------------- delegate vs the patient's deny
def test_delegate_cannot_lift_or_weaken_patient_deny(
    client, registry, did, patient, guardian, researcher
):
    """Attack: a consent delegate lifted the patient's own deny and granted itself."""
    did.addDelegate(patient, registry.CONSENT_DELEGATE(), guardian, DAY, sender=patient)
    client.grant(patient, guardian, ANY, "all", "all", deny=True, sender=patient)
    with ape.reverts(
        registry.ConsentDenyOwnerOnly, patient=patient, grantee=guardian, scope=ANY, caller=guardian
    ):
        registry.liftDeny(patient, guardian, ANY, sender=guardian)
    with ape.reverts(
        registry.ConsentDenyOwnerOnly, patient=patient, grantee=guardian, scope=ANY, caller=guardian
    ):  # replacing the deny with a narrow one would lift it too
        registry.deny(patient, guardian, ANY, 4, 1, 0, 2**40 - 1, sender=guardian)
    with ape.reverts(registry.ConsentDelegateSelfGrant, patient=patient, delegate=guardian):
        registry.grant(patient, guardian, LAB, READ, 1, 0, 2**40 - 1, sender=guardian)
    signed = client.sign_revocation(guardian, patient, guardian, ANY, deny=True, deadline=2**40)
    with ape.reverts(
        registry.ConsentDenyOwnerOnly, patient=patient, grantee=guardian, scope=ANY, caller=guardian
    ):  # nor by signature
        client.contract.revokeBySig(
            tuple(signed.message.values()), signed.signature, sender=researcher
        )
    # a delegate still adds denies and manages permits for others; the patient lifts denies
    client.grant(patient, researcher, LAB, "all", "all", deny=True, sender=guardian)
    client.grant(patient, researcher, scope_code("Observation"), "read", "TREAT", sender=guardian)
    client.revoke(patient, guardian, ANY, deny=True, sender=patient)


# ---------------------------------------------------------------- signatures
def test_unsent_signature_invalidated(client, registry, patient, provider, researcher):
    signed = client.sign_grant(patient, patient, provider, LAB, deadline=2**40)
    receipt = client.invalidate_signatures(patient, provider, LAB, sender=patient)
    log = next(iter(registry.ConsentSignaturesInvalidated.from_receipt(receipt)))
    assert log.nonce == 1
    with ape.reverts(
        registry.ConsentInvalidNonce,
        patient=patient,
        grantee=provider,
        scope=LAB,
        expected=1,
        given=0,
    ):
        client.contract.grantBySig(
            tuple(signed.message.values()), signed.signature, sender=researcher
        )


def test_stale_signature_after_a_direct_change_or_replay_after_revoke(
    client, registry, patient, provider, researcher
):
    signed = client.sign_grant(patient, patient, provider, LAB, "read,write", deadline=2**40)
    client.grant(patient, provider, LAB, "all", "all", deny=True, sender=patient)  # newer decision
    with ape.reverts(registry.ConsentInvalidNonce, expected=1, given=0):
        client.contract.grantBySig(
            tuple(signed.message.values()), signed.signature, sender=researcher
        )
    # relayed once, revoked, relayed again: the slot keeps its sequence, so no replay
    client.revoke(patient, provider, LAB, deny=True, sender=patient)
    fresh = client.sign_grant(patient, patient, provider, LAB, deadline=2**40)
    client.relay(fresh, sender=researcher)
    client.revoke(patient, provider, LAB, sender=patient)
    with ape.reverts(registry.ConsentInvalidNonce, expected=4, given=2):
        client.contract.grantBySig(
            tuple(fresh.message.values()), fresh.signature, sender=researcher
        )
    assert not client.check(patient, provider, LAB, "read", "TREAT")


# ---------------------------------------------------------------- PatientWallet
def test_wallet_rotation_is_two_step(project, deployer, roles):
    """Attack: rotateKey(0) made the wallet unusable for good."""
    key, new_key, stranger = roles["monitor"], roles["ethics"], roles["researcher"]
    wallet = deployer.deploy(project.PatientWallet, key)
    with ape.reverts(wallet.PatientWalletInvalidKey, proposed=ZERO):
        wallet.rotateKey(ZERO, sender=key)
    with ape.reverts(wallet.PatientWalletUnauthorized, caller=stranger, keyHolder=key):
        wallet.rotateKey(stranger, sender=stranger)
    wallet.rotateKey(new_key, sender=key)
    assert wallet.key() == key and wallet.pendingKey() == new_key  # nothing changed yet
    with ape.reverts(wallet.PatientWalletNotPendingKey, caller=stranger, pending=new_key):
        wallet.acceptKey(sender=stranger)
    wallet.cancelRotation(sender=key)
    with ape.reverts(wallet.PatientWalletNotPendingKey, caller=new_key, pending=ZERO):
        wallet.acceptKey(sender=new_key)
    wallet.rotateKey(new_key, sender=key)
    receipt = wallet.acceptKey(sender=new_key)
    assert wallet.key() == new_key and wallet.pendingKey() == ZERO
    assert next(iter(wallet.KeyRotated.from_receipt(receipt))).previousKey == key
    with ape.reverts(project.PatientWallet.PatientWalletInvalidKey, proposed=ZERO):
        deployer.deploy(project.PatientWallet, ZERO)


# ---------------------------------------------------------------- SDK refusals
def test_sdk_refuses_other_chain_did_and_names_roles(client, patient, provider, researcher):
    with pytest.raises(WrongChainDID, match="chain 11155111"):
        client.grant(patient, f"did:ethr:sepolia:{provider.address}", LAB, sender=patient)
    with pytest.raises(ContractRevert) as refused:
        client.request_break_glass(patient, "r", HOUR, sender=researcher)
    assert refused.value.arguments["neededRole"] == "CLINICIAN_ROLE"
    assert "neededRole=CLINICIAN_ROLE" in str(refused.value)
    with pytest.raises(UnknownEpisode, match="no break-glass episode 99"):
        client.episode(99)


def test_expired_grant_on_an_idle_chain(client, patient, provider, chain):
    """The chain answers at its last block's time; on an idle chain a grant that ended
    since still says yes there. `check_now` also applies the wall clock."""
    block_time = chain.blocks.head.timestamp
    end = block_time + 600
    client.grant(patient, provider, LAB, "read", "TREAT", 0, end, sender=patient)
    assert client.check(patient, provider, LAB, "read", "TREAT")  # the chain's view
    answer = client.check_now(patient, provider, LAB, "read", "TREAT", wall_clock=end + 60)
    assert answer["at_last_block"] and not answer["at_wall_clock"] and not answer["allowed"]
    (permit, _) = client.provision(patient, provider, LAB)
    assert permit is not None and permit.status_at(end + 60) == "expired"
