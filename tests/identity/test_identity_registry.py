"""DIDRegistry on a real EVM: ERC-1056 behaviour, legacy 0x19 0x00 signatures, EIP-712
signed calls (EOA and ERC-1271 owners), replay refusals and atomic batches."""

from __future__ import annotations

import ape
import pytest
from eth_abi.packed import encode_packed
from eth_account import Account
from eth_utils import keccak

from medchain.errors import ContractRevert
from medchain.identity import DIDRegistryClient, Operation, auth_tuple, to_bytes32
from support.deploy import deploy_fresh

VERI = to_bytes32("veriKey")
ENC = to_bytes32("did/pub/X25519/enc/base64")
DAY = 86_400


def _events(receipt, name):
    return [log for log in receipt.events if log.event_name == name]


# ---------------------------------------------------------------------- ERC-1056 direct
def test_identity_owns_itself_until_it_names_an_owner(registry, patient, provider):
    assert registry.identityOwner(patient) == patient.address
    assert registry.owners(patient) == "0x" + "0" * 40
    receipt = registry.changeOwner(patient, provider, sender=patient)
    assert registry.identityOwner(patient) == provider.address
    assert registry.owners(patient) == provider.address
    assert registry.changed(patient) == receipt.block_number
    (log,) = _events(receipt, "DIDOwnerChanged")
    assert (log.identity, log.owner, log.previousChange) == (patient.address, provider.address, 0)
    # the old key lost control, the new owner has it
    with ape.reverts(
        registry.DIDNotOwner,
        identity=patient.address,
        actor=patient.address,
        owner=provider.address,
    ):
        registry.setAttribute(patient, ENC, b"\x01" * 32, DAY, sender=patient)
    second = registry.changeOwner(patient, researcher_addr := provider.address, sender=provider)
    assert _events(second, "DIDOwnerChanged")[0].previousChange == receipt.block_number
    assert researcher_addr == registry.identityOwner(patient)


def test_delegates_expire_and_revoke(registry, chain, patient, lab):
    receipt = registry.addDelegate(patient, VERI, lab, DAY, sender=patient)
    (log,) = _events(receipt, "DIDDelegateChanged")
    now = chain.blocks.head.timestamp
    assert log.validTo == now + DAY and log.delegate == lab.address
    assert registry.validDelegate(patient, VERI, lab)
    assert registry.delegates(patient, keccak(VERI), lab) == now + DAY
    assert not registry.validDelegate(patient, to_bytes32("sigAuth"), lab)
    chain.pending_timestamp += DAY + 1
    chain.mine()
    assert not registry.validDelegate(patient, VERI, lab)
    registry.addDelegate(patient, VERI, lab, DAY, sender=patient)
    assert registry.validDelegate(patient, VERI, lab)
    revoke = registry.revokeDelegate(patient, VERI, lab, sender=patient)
    assert _events(revoke, "DIDDelegateChanged")[0].validTo == chain.blocks.head.timestamp
    assert not registry.validDelegate(patient, VERI, lab)


def test_attributes_are_events_with_previous_change_links(registry, chain, patient):
    first = registry.setAttribute(patient, ENC, b"\xaa" * 32, DAY, sender=patient)
    second = registry.revokeAttribute(patient, ENC, b"\xaa" * 32, sender=patient)
    a, b = _events(first, "DIDAttributeChanged")[0], _events(second, "DIDAttributeChanged")[0]
    assert a.previousChange == 0 and b.previousChange == first.block_number
    assert a.validTo == chain.blocks[first.block_number].timestamp + DAY
    assert b.validTo == 0 and bytes(b.value) == b"\xaa" * 32


def test_deactivation_is_final(registry, patient):
    registry.changeOwner(patient, "0x" + "0" * 40, sender=patient)
    assert registry.identityOwner(patient) == "0x" + "0" * 40
    with ape.reverts(registry.DIDDeactivated, identity=patient.address):
        registry.changeOwner(patient, patient, sender=patient)
    with ape.reverts(registry.DIDDeactivated, identity=patient.address):
        registry.setAttribute(patient, ENC, b"", 1, sender=patient)
    # an unrecoverable legacy signature (ecrecover -> 0) cannot pass for the zero owner
    with ape.reverts(registry.DIDDeactivated, identity=patient.address):
        registry.changeOwnerSigned(patient, 27, b"\0" * 32, b"\0" * 32, patient, sender=patient)


def test_validity_overflow_is_a_named_error(registry, patient, lab):
    huge = 2**256 - 1
    with ape.reverts(registry.DIDValidityOverflow, validity=huge):
        registry.addDelegate(patient, VERI, lab, huge, sender=patient)


def test_client_maps_refusals_to_contract_revert(client, patient, provider):
    with pytest.raises(ContractRevert) as err:
        client.set_attribute(patient, "did/svc/Records", b"https://x", DAY, sender=provider)
    assert err.value.error_name == "DIDNotOwner"
    assert err.value.arguments["owner"] == patient.address


# ---------------------------------------------------------------------- legacy signatures
def _legacy_digest(registry, nonce, identity, action, *parts):
    types = ["bytes1", "bytes1", "address", "uint256", "address", "string"]
    values = [b"\x19", b"\x00", registry.address, nonce, identity, action]
    for t, v in parts:
        types.append(t)
        values.append(v)
    return keccak(encode_packed(types, values))


def test_legacy_signed_calls_use_the_erc1056_hash(registry, client, provider, lab):
    owner = Account.create()
    identity = owner.address
    relayer = provider
    value = b"\x42" * 32

    def sig(digest):
        signed = Account.unsafe_sign_hash(digest, owner.key)
        return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")

    d = _legacy_digest(
        registry, 0, identity, "setAttribute", ("bytes32", ENC), ("bytes", value), ("uint256", DAY)
    )
    assert (
        client.legacy_hash(
            Operation.set_attribute(ENC.rstrip(b"\0").decode(), value, DAY), identity
        )
        == d
    )
    # the malleable twin (s -> n - s, v flipped) is the same signer but refused
    v, r, s = sig(d)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    twin = (55 - v, r, (n - int.from_bytes(s, "big")).to_bytes(32, "big"))
    with ape.reverts(
        registry.DIDInvalidLegacySignature, identity=identity, recovered="0x" + "00" * 20
    ):
        registry.setAttributeSigned(identity, *twin, ENC, value, DAY, sender=relayer)
    receipt = registry.setAttributeSigned(identity, *sig(d), ENC, value, DAY, sender=relayer)
    assert _events(receipt, "DIDAttributeChanged")[0].identity == identity
    assert registry.call_view_method("nonce", identity) == 1
    # the same signature again: the nonce moved, so it recovers to someone else
    with ape.reverts(registry.DIDInvalidLegacySignature, identity=identity, owner=identity):
        registry.setAttributeSigned(identity, *sig(d), ENC, value, DAY, sender=relayer)

    d = _legacy_digest(
        registry,
        1,
        identity,
        "addDelegate",
        ("bytes32", VERI),
        ("address", lab.address),
        ("uint256", DAY),
    )
    registry.addDelegateSigned(identity, *sig(d), VERI, lab, DAY, sender=relayer)
    assert registry.validDelegate(identity, VERI, lab)
    d = _legacy_digest(
        registry, 2, identity, "revokeDelegate", ("bytes32", VERI), ("address", lab.address)
    )
    registry.revokeDelegateSigned(identity, *sig(d), VERI, lab, sender=relayer)
    assert not registry.validDelegate(identity, VERI, lab)
    d = _legacy_digest(registry, 3, identity, "revokeAttribute", ("bytes32", ENC), ("bytes", value))
    registry.revokeAttributeSigned(identity, *sig(d), ENC, value, sender=relayer)
    new_owner = Account.create()
    d = _legacy_digest(registry, 4, identity, "changeOwner", ("address", new_owner.address))
    registry.changeOwnerSigned(identity, *sig(d), new_owner.address, sender=relayer)
    assert registry.identityOwner(identity) == new_owner.address
    # the nonce is keyed by the owner (ERC-1056): the new owner starts at 0
    assert (
        registry.call_view_method("nonce", new_owner.address) == 0
        and registry.call_view_method("nonce", identity) == 5
    )
    via_client = client.with_sender(relayer)
    via_client.send_legacy_signed(
        new_owner.key, Operation.set_attribute("did/svc/X", b"u", 5), identity
    )
    assert registry.call_view_method("nonce", new_owner.address) == 1


# ---------------------------------------------------------------------- EIP-712
def test_typed_data_signed_with_eth_account_is_accepted(registry, client, chain, provider):
    owner = Account.create()
    op = Operation.set_attribute("did/pub/X25519/enc/base64", b"\x07" * 32, DAY)
    data = client.typed_data(op, owner.address, owner.address)
    signature = Account.sign_typed_data(owner.key, full_message=data).signature
    auth = (owner.address, 0, data["message"]["deadline"], bytes(signature))
    receipt = registry.setAttributeTyped(
        owner.address, op.name, op.value, DAY, auth, sender=provider
    )
    (log,) = _events(receipt, "DIDAttributeChanged")
    assert log.identity == owner.address and bytes(log.value) == b"\x07" * 32
    assert registry.nonces(owner.address) == 1 == registry.call_view_method("nonce", owner.address)


@pytest.mark.parametrize(
    "op",
    [
        Operation.change_owner("0x" + "11" * 20),
        Operation.add_delegate("sigAuth", "0x" + "22" * 20, DAY),
        Operation.revoke_delegate("veriKey", "0x" + "33" * 20),
        Operation.set_attribute("did/svc/Records", b'{"uri":"https://r"}', DAY),
        Operation.revoke_attribute("did/svc/Records", b'{"uri":"https://r"}'),
    ],
    ids=lambda op: str(op.kind),
)
def test_every_typed_variant_relays(client, provider, op):
    owner = Account.create()
    request = client.sign(owner.key, op, owner.address)
    receipt = client.with_sender(provider).relay(request)
    assert receipt.events and client.nonce(owner.address) == 1
    assert client.changed(owner.address) == receipt.block_number


def test_replays_and_forgeries_are_refused(registry, client, chain, provider, lab):
    owner = Account.create()
    relay = client.with_sender(provider)
    op = Operation.add_delegate("veriKey", lab, DAY)
    request = client.sign(owner.key, op, owner.address)
    relay.relay(request)
    # same signature twice
    with pytest.raises(ContractRevert) as err:
        relay.relay(request)
    assert err.value.error_name == "DIDInvalidNonce"
    assert err.value.arguments == {"owner": owner.address, "expected": 1, "given": 0}
    # wrong nonce (signed ahead)
    ahead = client.sign(owner.key, op, owner.address, nonce=5)
    with ape.reverts(registry.DIDInvalidNonce, owner=owner.address, expected=1, given=5):
        registry.addDelegateTyped(
            owner.address, op.name, op.account, DAY, auth_tuple(ahead), sender=provider
        )
    # signed for another chain id: the contract recomputes the domain with its own
    other_chain = client.sign(owner.key, op, owner.address, chain_id=client.chain_id + 1)
    with ape.reverts(registry.DIDInvalidSignature, identity=owner.address, signer=owner.address):
        registry.addDelegateTyped(
            owner.address, op.name, op.account, DAY, auth_tuple(other_chain), sender=provider
        )
    # expired deadline
    deadline = chain.pending_timestamp + 10
    late = client.sign(owner.key, op, owner.address, deadline=deadline)
    chain.pending_timestamp += 60
    with ape.reverts(registry.DIDSignatureExpired, deadline=deadline):
        registry.addDelegateTyped(
            owner.address, op.name, op.account, DAY, auth_tuple(late), sender=provider
        )
    # a stranger's signature naming itself as signer
    stranger = Account.create()
    forged = client.sign(stranger.key, op, owner.address)
    with ape.reverts(
        registry.DIDNotOwner,
        identity=owner.address,
        actor=stranger.address,
        owner=owner.address,
    ):
        relay.contract.addDelegateTyped(
            owner.address, op.name, op.account, DAY, auth_tuple(forged), sender=provider
        )
    # a stranger's signature claiming to be the owner
    claimed = client.sign(stranger.key, op, owner.address, signer_address=owner.address)
    with ape.reverts(registry.DIDInvalidSignature, identity=owner.address, signer=owner.address):
        registry.addDelegateTyped(
            owner.address, op.name, op.account, DAY, auth_tuple(claimed), sender=provider
        )


def test_contract_wallet_owner_signs_through_erc1271(
    project, registry, client, deployer, provider, patient
):
    key = Account.create()
    wallet = deployer.deploy(project.PatientWallet, key.address)
    registry.changeOwner(patient, wallet, sender=patient)
    op = Operation.set_attribute("did/svc/Records", b"https://records.example", DAY)
    request = client.sign(key.key, op, patient, signer_address=wallet.address)
    receipt = client.with_sender(provider).relay(request)
    assert _events(receipt, "DIDAttributeChanged")[0].identity == patient.address
    assert registry.nonces(wallet) == 1
    other = client.sign(Account.create().key, op, patient, signer_address=wallet.address)
    with ape.reverts(registry.DIDInvalidSignature, identity=patient.address, signer=wallet.address):
        registry.setAttributeTyped(
            patient, op.name, op.value, DAY, auth_tuple(other), sender=provider
        )


# ---------------------------------------------------------------------- batches
def test_batch_applies_in_order_and_links_previous_change(
    registry, client, chain, patient, lab, provider
):
    earlier = registry.setAttribute(patient, ENC, b"\x01" * 32, DAY, sender=patient)
    ops = [
        Operation.set_attribute("did/svc/A", b"a", DAY),
        Operation.add_delegate("veriKey", lab, DAY),
        Operation.revoke_attribute("did/pub/X25519/enc/base64", b"\x01" * 32),
        Operation.change_owner(provider),
    ]
    receipt = client.batch(patient, ops, sender=patient)
    logs = list(receipt.events)
    assert [log.event_name for log in logs] == [
        "DIDAttributeChanged",
        "DIDDelegateChanged",
        "DIDAttributeChanged",
        "DIDOwnerChanged",
    ]
    assert [log.previousChange for log in logs] == [earlier.block_number] + [
        receipt.block_number
    ] * 3
    assert registry.changed(patient) == receipt.block_number
    assert registry.identityOwner(patient) == provider.address
    assert registry.validDelegate(patient, VERI, lab)


def test_batch_is_atomic(registry, client, patient, provider, lab):
    ops = [Operation.change_owner(provider), Operation.add_delegate("veriKey", lab, DAY)]
    with ape.reverts(
        registry.DIDNotOwner,
        identity=patient.address,
        actor=patient.address,
        owner=provider.address,
    ):
        registry.batch(patient, [op.as_tuple() for op in ops], sender=patient)
    assert registry.identityOwner(patient) == patient.address
    assert registry.changed(patient) == 0
    with ape.reverts(registry.DIDEmptyBatch, identity=patient.address):
        registry.batch(patient, [], sender=patient)
    bad = (9, b"\0" * 32, lab.address, 0, b"")
    with ape.reverts(registry.DIDUnknownOperation, index=1, kind=9):
        registry.batch(patient, [ops[1].as_tuple(), bad], sender=patient)


def test_signed_batch_relayed_by_another_account(registry, client, provider, lab):
    owner = Account.create()
    ops = [Operation.set_attribute(f"did/svc/S{i}", b"x" * i, DAY) for i in range(1, 4)]
    ops.append(Operation.add_delegate("sigAuth", lab, DAY))
    data = client.typed_data(ops, owner.address, owner.address)
    signature = Account.sign_typed_data(owner.key, full_message=data).signature
    auth = (owner.address, 0, data["message"]["deadline"], bytes(signature))
    receipt = registry.batchTyped(
        owner.address, [op.as_tuple() for op in ops], auth, sender=provider
    )
    assert len(list(receipt.events)) == 4
    assert registry.validDelegate(owner.address, to_bytes32("sigAuth"), lab)
    # altering one operation breaks the signature
    ops[0] = Operation.set_attribute("did/svc/S1", b"evil", DAY)
    auth = (owner.address, 1, data["message"]["deadline"], bytes(signature))
    with ape.reverts(registry.DIDInvalidSignature, identity=owner.address, signer=owner.address):
        registry.batchTyped(owner.address, [op.as_tuple() for op in ops], auth, sender=provider)


def test_client_refuses_relay_for_another_registry(client, deployer, provider):
    another = deploy_fresh(deployer, "DIDRegistry").contracts["DIDRegistry"]
    other = DIDRegistryClient(another, provider)
    request = client.sign(
        Account.create().key, Operation.change_owner(provider), Account.create().address
    )
    from medchain.errors import InvalidInput

    with pytest.raises(InvalidInput, match="registry"):
        other.relay(request)


def test_client_domain_matches_erc5267(registry, client):
    fields, name, version, chain_id, verifying, salt, extensions = registry.eip712Domain()
    domain = client.domain()
    assert (name, version, chain_id, verifying) == (
        domain["name"],
        domain["version"],
        domain["chainId"],
        domain["verifyingContract"],
    )
    assert fields == b"\x0f" and salt == b"\x00" * 32 and list(extensions) == []
