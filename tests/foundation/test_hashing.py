"""medchain.hashing and the signed-payload container: keccak against published vectors, the
EIP-712 digest against eth-account's independent encoder and against a deployed contract
that recovers signers from it, and ContractClient's one way of reading receipt events."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from medchain.codec import to_address
from medchain.eip712 import Eip712Domain, type_hash, typed_data, typed_data_digest
from medchain.errors import IntegrityError, InvalidInput
from medchain.hashing import KECCAK_BACKEND, keccak, keccak_text, selector
from medchain.identity import DIDRegistryClient, Operation, read_signed_request
from medchain.signing import SignedPayload

DAY = 86_400


# ---------------------------------------------------------------------- keccak
@pytest.mark.parametrize(
    ("data", "digest"),
    [
        (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
        (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
        (
            b"The quick brown fox jumps over the lazy dog",
            "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15",
        ),
    ],
)
def test_keccak_known_vectors(data, digest):
    assert keccak(data).hex() == digest
    assert keccak(bytearray(data)).hex() == digest


def test_keccak_backend_is_the_fastest_installed():
    assert KECCAK_BACKEND in ("pysha3", "pycryptodome")
    try:
        import sha3  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return
    assert KECCAK_BACKEND == "pysha3"


def test_keccak_text_and_selectors():
    assert keccak_text("abc") == keccak(b"abc")
    assert selector("transfer(address,uint256)").hex() == "a9059cbb"
    assert selector("transfer(address, uint256)").hex() == "a9059cbb"
    # a role id as the contracts compute it: keccak256("CLINICIAN_ROLE")
    assert keccak_text("CLINICIAN_ROLE") == keccak(b"CLINICIAN_ROLE")


# ---------------------------------------------------------------------- EIP-712
DOMAIN = Eip712Domain("MedchainTest", "1", 1337, "0x" + "11" * 20)
TYPES = {
    "Bundle": [
        {"name": "owner", "type": "address"},
        {"name": "label", "type": "string"},
        {"name": "blob", "type": "bytes"},
        {"name": "code", "type": "bytes32"},
        {"name": "tag", "type": "bytes4"},
        {"name": "flag", "type": "bool"},
        {"name": "amount", "type": "uint256"},
        {"name": "delta", "type": "int64"},
        {"name": "counts", "type": "uint16[]"},
        {"name": "items", "type": "Item[]"},
        {"name": "main", "type": "Item"},
    ],
    "Item": [{"name": "kind", "type": "uint8"}, {"name": "data", "type": "bytes"}],
}
MESSAGE = {
    "owner": "0x" + "22" * 20,
    "label": "Befund-ä",
    "blob": b"\x00\x01\x02",
    "code": b"\x07" * 32,
    "tag": b"\xde\xad\xbe\xef",
    "flag": True,
    "amount": 2**255,
    "delta": -5,
    "counts": [1, 2, 3],
    "items": [{"kind": 1, "data": b"a"}, {"kind": 2, "data": b""}],
    "main": {"kind": 9, "data": b"\xff" * 40},
}


def _eth_account_digest(document):
    signable = encode_typed_data(full_message=document)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def test_typed_data_digest_matches_eth_account():
    document = typed_data(DOMAIN, "Bundle", TYPES, MESSAGE)
    assert document["types"]["EIP712Domain"][0] == {"name": "name", "type": "string"}
    assert document["message"]["code"] == "0x" + "07" * 32  # JSON-ready
    assert typed_data_digest(document) == _eth_account_digest(document)


def test_type_hash_sorts_referenced_structs():
    assert type_hash("Bundle", TYPES) == keccak_text(
        "Bundle(address owner,string label,bytes blob,bytes32 code,bytes4 tag,bool flag,"
        "uint256 amount,int64 delta,uint16[] counts,Item[] items,Item main)"
        "Item(uint8 kind,bytes data)"
    )


def test_typed_data_refusals():
    with pytest.raises(InvalidInput, match="primary type 'Missing'"):
        typed_data(DOMAIN, "Missing", TYPES, MESSAGE)
    document = typed_data(DOMAIN, "Bundle", TYPES, {**MESSAGE, "tag": b"\x01"})
    with pytest.raises(InvalidInput, match=r"Bundle\.tag must be 4 bytes"):
        typed_data_digest(document)
    too_big = typed_data(DOMAIN, "Bundle", TYPES, {**MESSAGE, "counts": [70_000]})
    with pytest.raises(InvalidInput, match=r"Bundle\.counts does not fit uint16"):
        typed_data_digest(too_big)
    incomplete = {k: v for k, v in MESSAGE.items() if k != "flag"}
    with pytest.raises(InvalidInput, match="lacks the field 'flag'"):
        typed_data_digest(typed_data(DOMAIN, "Bundle", TYPES, incomplete))
    with pytest.raises(InvalidInput, match="EIP-712 domain"):
        Eip712Domain.from_dict({"name": "x"})


# ---------------------------------------------------------------------- SignedPayload
def test_signed_payload_round_trips_and_checks_its_signer():
    key = Account.create()
    document = typed_data(DOMAIN, "Bundle", TYPES, MESSAGE)
    payload = SignedPayload.sign(key.key, document)
    assert payload.signer == key.address and len(payload.signature) == 65
    assert payload.digest == typed_data_digest(document)
    assert payload.r + payload.s + bytes([payload.v]) == payload.signature
    payload.check_signer()
    again = SignedPayload.from_json(payload.to_json())
    assert again == payload
    values = again.message_values()
    assert values["code"] == b"\x07" * 32 and values["items"][0]["data"] == b"a"
    assert values["owner"] == to_address("0x" + "22" * 20) and values["delta"] == -5

    other = SignedPayload(payload.typed_data, payload.signature, "0x" + "33" * 20)
    with pytest.raises(IntegrityError, match="signature is by"):
        other.check_signer()
    with pytest.raises(InvalidInput, match="is for chain 1337"):
        payload.check_domain(1, DOMAIN.verifying_contract)
    with pytest.raises(InvalidInput, match="is for registry"):
        payload.check_domain(1337, "0x" + "44" * 20, what="registry")
    with pytest.raises(InvalidInput, match=r"not a medchain\.did\.signed-request/1"):
        SignedPayload.from_json(payload.to_json(), expected_format="medchain.did.signed-request/1")
    with pytest.raises(InvalidInput, match="not JSON"):
        SignedPayload.from_json("{")


def test_contract_recovers_signers_from_our_digest(project, deployer, provider):
    """The DIDRegistry (OZ EIP712) accepts a signature made over `typed_data_digest` of the
    document the client builds: the contract's hashTypedData and ours agree."""
    zero = "0x" + "00" * 20  # (predecessor, importAdmin, importDeadline): a first version
    client = DIDRegistryClient(deployer.deploy(project.DIDRegistry, zero, zero, 0), provider)
    owner = Account.create()
    document = client.typed_data(
        Operation.set_attribute("did/svc/Records", b"https://x", DAY), owner.address, owner.address
    )
    signature = bytes(Account.unsafe_sign_hash(typed_data_digest(document), owner.key).signature)
    request = SignedPayload(
        document, signature, owner.address, format="medchain.did.signed-request/1"
    )
    request = read_signed_request(request.to_json())
    receipt = client.relay(request)
    event = client.event_from(receipt, "DIDAttributeChanged")
    assert event["identity"] == owner.address
    assert bytes(event["name"]).rstrip(b"\0") == b"did/svc/Records"
    assert [e["identity"] for e in client.events_from(receipt, "DIDAttributeChanged")] == [
        owner.address
    ]
    assert client.events_from(receipt, "DIDOwnerChanged") == []
    with pytest.raises(IntegrityError, match="emitted no DIDOwnerChanged event"):
        client.event_from(receipt, "DIDOwnerChanged")
    with pytest.raises(InvalidInput, match="no ABI event 'Nope'"):
        client.events_from(receipt, "Nope")
