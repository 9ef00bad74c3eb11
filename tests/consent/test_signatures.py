"""EIP-712 signed grants and revocations: relayed by anyone, each signature usable once,
bound to chain id, contract, deadline and nonce; ERC-1271 contract wallets sign too."""

from __future__ import annotations

import json

import ape
import pytest

from medchain.codec import scope_code
from medchain.consent import read_signed_change
from medchain.errors import ContractRevert

DAY = 24 * 3600
SCOPE = scope_code("DiagnosticReport")


@pytest.fixture
def deadline(chain):
    return chain.pending_timestamp + 3600


def _refused_for_its_nonce(registry, signed, patient, grantee, *, expected, given, sender):
    """The signed grant (on SCOPE), sent to the contract as it is, reverts with
    ConsentInvalidNonce naming the nonce the registry expects and the one given."""
    with ape.reverts(
        registry.ConsentInvalidNonce,
        patient=patient,
        grantee=grantee,
        scope=SCOPE,
        expected=expected,
        given=given,
    ):
        registry.grantBySig(tuple(signed.message.values()), signed.signature, sender=sender)


def test_signed_grant_relayed_by_anyone_then_replay_refused(
    client, registry, patient, provider, researcher, deadline
):
    nonce = client.nonce(patient, provider, SCOPE)
    signed = client.sign_grant(
        patient, patient, provider, SCOPE, "read", "TREAT", deadline=deadline
    )
    # JSON round trip, as the CLI's `consent sign` -> `consent relay` does
    signed = read_signed_change(signed.to_json())
    receipt = client.relay(signed, sender=researcher)
    assert client.check(patient, provider, SCOPE, "read", "TREAT")
    log = next(iter(registry.ConsentGranted.from_receipt(receipt)))
    assert log.patient == patient and log.grantee == provider
    assert list(registry.ConsentManagedBy.from_receipt(receipt)) == []  # the patient signed
    assert client.nonce(patient, provider, SCOPE) == nonce + 1
    _refused_for_its_nonce(
        registry, signed, patient, provider, expected=nonce + 1, given=nonce, sender=researcher
    )


def test_signed_revocation(client, patient, provider, researcher, deadline):
    client.grant(patient, provider, SCOPE, "read", "TREAT", sender=patient)
    signed = client.sign_revocation(patient, patient, provider, SCOPE, deadline=deadline)
    client.relay(signed, sender=researcher)
    assert not client.check(patient, provider, SCOPE, "read", "TREAT")


def test_other_chain_id_refused(client, registry, patient, provider, researcher, deadline):
    signed = client.sign_grant(
        patient, patient, provider, SCOPE, deadline=deadline, chain_id=client_chain_other()
    )
    with ape.reverts(registry.ConsentInvalidSignature, signer=patient):
        registry.grantBySig(tuple(signed.message.values()), signed.signature, sender=researcher)


def client_chain_other() -> int:
    from ape import chain

    return chain.chain_id + 1


def test_expired_refused(client, registry, patient, provider, researcher, chain):
    deadline = chain.pending_timestamp - 1
    signed = client.sign_grant(patient, patient, provider, SCOPE, deadline=deadline)
    with pytest.raises(ContractRevert) as refused:
        client.relay(signed, sender=researcher)
    assert refused.value.error_name == "ConsentExpiredSignature"
    assert refused.value.arguments["deadline"] == deadline


def test_wrong_nonce_refused(client, registry, patient, provider, researcher, deadline):
    current = client.nonce(patient, provider, SCOPE)
    signed = client.sign_grant(
        patient, patient, provider, SCOPE, deadline=deadline, nonce=current + 1
    )
    _refused_for_its_nonce(
        registry, signed, patient, provider, expected=current, given=current + 1, sender=researcher
    )


def test_signature_by_someone_else_refused(
    client, registry, patient, provider, lab, researcher, deadline
):
    # lab signs but claims to be the patient
    signed = client.sign_grant(patient, patient, provider, SCOPE, deadline=deadline)
    forged = client.sign_grant(lab, patient, provider, SCOPE, deadline=deadline)
    message = dict(signed.message)
    with ape.reverts(registry.ConsentInvalidSignature, signer=patient):
        registry.grantBySig(tuple(message.values()), forged.signature, sender=researcher)
    # lab signs as itself: valid signature, but lab does not manage the patient's consent
    with ape.reverts(
        registry.ConsentUnauthorizedManager, patient=patient, caller=lab, owner=patient
    ):
        registry.grantBySig(tuple(forged.message.values()), forged.signature, sender=researcher)


def test_tampered_message_refused(client, registry, patient, provider, researcher, deadline):
    signed = client.sign_grant(patient, patient, provider, SCOPE, "read", deadline=deadline)
    message = dict(signed.message, actions=7)
    with ape.reverts(registry.ConsentInvalidSignature, signer=patient):
        registry.grantBySig(tuple(message.values()), signed.signature, sender=researcher)


def test_erc1271_wallet_patient(
    project, client, registry, deployer, roles, provider, researcher, deadline
):
    key_holder, new_key = roles["monitor"], roles["ethics"]
    wallet = deployer.deploy(project.PatientWallet, key_holder)
    # the signer field must be the wallet (the patient), signed by its key holder
    typed_for_wallet = client.sign_grant(
        key_holder, wallet, provider, SCOPE, deadline=deadline, signer_address=wallet
    )
    message = typed_for_wallet.message
    assert message["signer"] == wallet.address
    client.relay(typed_for_wallet, sender=researcher)
    assert client.check(wallet, provider, SCOPE, "read", "TREAT")
    # after the wallet rotates its key (two steps), the old key's signatures no longer count
    wallet.rotateKey(new_key, sender=key_holder)
    wallet.acceptKey(sender=new_key)
    condition = scope_code("Condition")
    message2 = dict(message, nonce=client.nonce(wallet, provider, condition), scope=condition)
    stale = _sign_raw(client, key_holder, "provision", message2)
    with ape.reverts(registry.ConsentInvalidSignature, signer=wallet.address):
        registry.grantBySig(tuple(message2.values()), stale, sender=researcher)
    fresh = _sign_raw(client, new_key, "provision", message2)
    registry.grantBySig(tuple(message2.values()), fresh, sender=researcher)
    assert client.check(wallet, provider, scope_code("Condition"), "read", "TREAT")


def _sign_raw(client, account, kind, message) -> bytes:
    from eth_account.messages import encode_typed_data

    sig = account.sign_message(encode_typed_data(full_message=client.typed_data(kind, message)))
    return bytes(sig.r).rjust(32, b"\0") + bytes(sig.s).rjust(32, b"\0") + bytes([sig.v])


def test_delegate_signs_for_patient(
    client, registry, did, patient, guardian, provider, researcher, deadline
):
    did.addDelegate(patient, registry.CONSENT_DELEGATE(), guardian, DAY, sender=patient)
    signed = client.sign_grant(
        guardian, patient, provider, scope_code("CarePlan"), deadline=deadline
    )
    receipt = client.relay(signed, sender=researcher)
    assert next(iter(registry.ConsentManagedBy.from_receipt(receipt))).manager == guardian
    assert client.check(patient, provider, scope_code("CarePlan"), "read", "TREAT")


def test_a_file_in_the_former_signed_message_form_still_relays(
    client, patient, provider, researcher, deadline
):
    signed = client.sign_grant(patient, patient, provider, SCOPE, deadline=deadline)
    # what `consent sign` wrote before signed changes were SignedPayloads
    former = {
        "kind": "provision",
        "message": signed.message,
        "signature": "0x" + signed.signature.hex(),
        "chainId": signed.domain.chain_id,
        "verifyingContract": signed.domain.verifying_contract,
    }
    again = read_signed_change(json.dumps(former))
    assert again.digest == signed.digest and again.signer == patient.address
    client.relay(again, sender=researcher)
    assert client.check(patient, provider, SCOPE, "read", "TREAT")
