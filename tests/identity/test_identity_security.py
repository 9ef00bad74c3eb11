"""Regression tests of the identity findings, each performing the attack with real
transactions: delegates of a deactivated identity, signed-but-unsent changes that could
not be cancelled, and the `did create` / `did change-owner 0x0` CLI behaviour."""

from __future__ import annotations

import json

import ape
import pytest

from medchain.errors import ContractRevert
from medchain.identity import DIDRegistryClient, Operation, to_bytes32

ZERO = "0x" + "00" * 20
DAY = 86_400
DEADLINE = 2**40


def test_deactivated_identity_has_no_valid_delegates(registry, patient, provider, lab):
    """Attack: a delegate added before the patient moved and then deactivated its DID kept
    answering validDelegate == true (ERC-1056 ignores deactivation)."""
    consent = to_bytes32("medchain/consent")
    registry.addDelegate(patient, consent, lab, DAY, sender=patient)
    registry.changeOwner(patient, provider, sender=patient)  # moved to a new key
    assert registry.validDelegate(patient, consent, lab)  # rotation keeps delegates
    registry.changeOwner(patient, ZERO, sender=provider)  # then deactivated
    assert registry.identityOwner(patient) == ZERO
    assert not registry.validDelegate(patient, consent, lab)
    # the raw ERC-1056 entry stays (resolvers replay history); only its meaning changed
    assert DIDRegistryClient(registry).delegate_valid_to(patient, "medchain/consent", lab) > 0
    with ape.reverts(registry.DIDDeactivated, identity=patient):
        registry.addDelegate(patient, consent, lab, DAY, sender=lab)


def test_invalidate_nonce_cancels_unsent_typed_request(client, registry, patient, lab, deployer):
    """Attack: an owner signs a change, then moves the identity away and back; the unsent
    signature still runs. The owner can now burn the nonce, and the relay is refused."""
    op = Operation.add_delegate("sigAuth", lab, DAY)
    request = client.sign(patient, op, patient, deadline=DEADLINE)
    registry.changeOwner(patient, lab, sender=patient)  # away ...
    registry.changeOwner(patient, patient, sender=lab)  # ... and back: still valid
    receipt = client.invalidate_nonce(sender=patient)
    log = next(iter(registry.NonceInvalidated.from_receipt(receipt)))
    assert log.owner == patient and log.nonce == 0
    with pytest.raises(ContractRevert) as refused:
        client.with_sender(deployer).relay(request)
    assert refused.value.error_name == "DIDInvalidNonce"
    assert refused.value.arguments == {"owner": patient.address, "expected": 1, "given": 0}
    assert not registry.validDelegate(patient, to_bytes32("sigAuth"), lab)


def test_invalidate_nonce_cancels_unsent_legacy_signature(client, registry, patient, lab, deployer):
    op = Operation.add_delegate("veriKey", lab, DAY)
    digest = client.legacy_hash(op, patient)  # signed over nonce 0
    registry.invalidateNonce(sender=patient)
    assert client.nonce(patient) == 1
    from medchain.signing import sign_digest

    v, r, s = sign_digest(patient, digest)
    with ape.reverts(registry.DIDInvalidLegacySignature):
        registry.addDelegateSigned(
            patient, v, r, s, op.name, op.account, op.validity, sender=deployer
        )


def test_second_create_refused_then_rotate_or_add(run, registry, chain, accounts, tmp_path):
    """A second `did create` used to publish another key silently."""
    from medchain.identity import DIDResolver

    first = run("did", "create", "--account", "TEST::10", "--keys-dir", str(tmp_path), "--json")
    assert first.exit_code == 0, first.output
    did = json.loads(first.stdout)["did"]
    again = run("did", "create", "--account", "TEST::10", "--keys-dir", str(tmp_path))
    assert again.exit_code == 1
    assert "already publishes 1 encryption key(s)" in again.stderr
    assert "--rotate" in again.stderr and len(again.stderr.strip().splitlines()) == 1

    def published() -> list[str]:
        resolver = DIDResolver(chain.provider.web3, registry.address, chain.chain_id)
        return ["0x" + raw.hex() for _, raw in resolver.resolve(did).key_agreement]

    added = run("did", "create", "--add", "--account", "TEST::10", "--keys-dir", str(tmp_path))
    assert added.exit_code == 0, added.output
    assert len(published()) == 2
    rotated = run(
        "did", "create", "--rotate", "--account", "TEST::10", "--keys-dir", str(tmp_path), "--json"
    )
    assert rotated.exit_code == 0, rotated.output
    assert published() == [json.loads(rotated.stdout)["public_key"]]


def test_change_owner_zero_short_form_deactivates(run, registry, accounts):
    me = accounts[11].address
    refused = run("did", "change-owner", "0x0", "--account", "TEST::11")
    assert refused.exit_code == 1 and "add --deactivate" in refused.stderr
    mismatch = run(
        "did", "change-owner", accounts[4].address, "--deactivate", "--account", "TEST::11"
    )
    assert mismatch.exit_code == 1 and "--deactivate goes with NEW_OWNER 0x0" in mismatch.stderr
    out = run("did", "change-owner", "0x0", "--deactivate", "--account", "TEST::11")
    assert out.exit_code == 0, out.output
    assert registry.identityOwner(me) == ZERO
