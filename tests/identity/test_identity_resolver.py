"""Resolver output on scripted registry histories equals the DID documents the did:ethr
method spec prescribes; DID parsing refuses malformed input with one clear line."""

from __future__ import annotations

import datetime as dt

import pytest
from eth_account import Account
from eth_keys import keys as eth_keys

from medchain.errors import IntegrityError, InvalidInput
from medchain.identity import DIDResolver, format_did, parse_did, to_bytes32
from medchain.identity.resolver import base58btc, base58btc_decode

DAY = 86_400
CTX = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/secp256k1recovery-2020/v2"]


@pytest.fixture
def resolver(registry, chain):
    return DIDResolver(chain.provider.web3, registry.address, chain.chain_id)


def _iso(chain, block):
    ts = chain.blocks[block].timestamp
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_base58btc_vectors():
    # draft-msporny-base58 test vectors
    assert base58btc(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
    assert base58btc(bytes.fromhex("0000287fb4cd")) == "11233QC4"
    assert base58btc_decode("11233QC4") == bytes.fromhex("0000287fb4cd")


def test_unchanged_identity_resolves_to_its_controller(resolver, chain, researcher):
    did = format_did(researcher.address, chain.chain_id)
    result = resolver.resolve(did)
    acct = f"eip155:{chain.chain_id}:{researcher.address}"
    assert result.to_dict() == {
        "didDocument": {
            "@context": CTX,
            "id": did,
            "verificationMethod": [
                {
                    "id": f"{did}#controller",
                    "type": "EcdsaSecp256k1RecoveryMethod2020",
                    "controller": did,
                    "blockchainAccountId": acct,
                }
            ],
            "authentication": [f"{did}#controller"],
            "assertionMethod": [f"{did}#controller"],
        },
        "didDocumentMetadata": {},
        "didResolutionMetadata": {"contentType": "application/did+ld+json"},
    }


def test_scripted_history_gives_the_spec_document(
    registry, resolver, chain, patient, lab, provider
):
    did = format_did(patient.address, chain.chain_id)
    x25519 = bytes(range(32))
    ed25519 = bytes(range(100, 132))
    blocks = [
        registry.addDelegate(patient, to_bytes32("veriKey"), lab, DAY, sender=patient),
        registry.addDelegate(patient, to_bytes32("sigAuth"), provider, DAY, sender=patient),
        registry.setAttribute(
            patient, to_bytes32("did/pub/X25519/enc/base64"), x25519, DAY, sender=patient
        ),
        registry.setAttribute(
            patient,
            to_bytes32("did/svc/HealthRecords"),
            b"https://records.example/p",
            DAY,
            sender=patient,
        ),
        registry.setAttribute(
            patient, to_bytes32("did/pub/Ed25519/veriKey/base58"), ed25519, DAY, sender=patient
        ),
        registry.revokeDelegate(patient, to_bytes32("veriKey"), lab, sender=patient),
    ]
    numbers = [r.block_number for r in blocks]

    def recovery_method(fragment: str, account) -> dict:
        return {
            "id": f"{did}#{fragment}",
            "type": "EcdsaSecp256k1RecoveryMethod2020",
            "controller": did,
            "blockchainAccountId": f"eip155:{chain.chain_id}:{account.address}",
        }

    ctrl = recovery_method("controller", patient)
    d1 = recovery_method("delegate-1", lab)
    d2 = recovery_method("delegate-2", provider)
    d3 = {
        "id": f"{did}#delegate-3",
        "type": "X25519KeyAgreementKey2020",
        "controller": did,
        "publicKeyMultibase": "z" + base58btc(b"\xec\x01" + x25519),
    }
    d4 = {
        "id": f"{did}#delegate-4",
        "type": "Ed25519VerificationKey2020",
        "controller": did,
        "publicKeyMultibase": "z" + base58btc(b"\xed\x01" + ed25519),
    }
    svc = {
        "id": f"{did}#service-1",
        "type": "HealthRecords",
        "serviceEndpoint": "https://records.example/p",
    }

    latest = resolver.resolve(did)
    assert latest.did_document == {
        "@context": [
            *CTX,
            "https://w3id.org/security/suites/ed25519-2020/v1",
            "https://w3id.org/security/suites/x25519-2020/v1",
        ],
        "id": did,
        "verificationMethod": [ctrl, d2, d3, d4],
        "authentication": [f"{did}#controller", f"{did}#delegate-2"],
        "assertionMethod": [f"{did}#controller", f"{did}#delegate-2", f"{did}#delegate-4"],
        "service": [svc],
        "keyAgreement": [f"{did}#delegate-3"],
    }
    assert latest.did_document_metadata == {
        "versionId": str(numbers[-1]),
        "updated": _iso(chain, numbers[-1]),
    }
    assert latest.key_agreement == [(f"{did}#delegate-3", x25519)]
    assert resolver.log_queries == 1  # the whole history in one eth_getLogs call

    # historical version: as of the third change, before the service existed
    old = resolver.resolve(f"{did}?versionId={numbers[2]}")
    assert old.did_document["verificationMethod"] == [ctrl, d1, d2, d3]
    assert old.did_document["assertionMethod"] == [
        f"{did}#controller",
        f"{did}#delegate-1",
        f"{did}#delegate-2",
    ]
    assert "service" not in old.did_document
    assert old.did_document_metadata == {
        "versionId": str(numbers[2]),
        "updated": _iso(chain, numbers[2]),
        "nextVersionId": str(numbers[3]),
        "nextUpdate": _iso(chain, numbers[3]),
    }

    # everything expires with chain time
    chain.pending_timestamp += DAY + 10
    chain.mine()
    expired = resolver.resolve(did, ld_context=False)
    assert expired.did_document == {
        "id": did,
        "verificationMethod": [ctrl],
        "authentication": [f"{did}#controller"],
        "assertionMethod": [f"{did}#controller"],
    }
    assert expired.key_agreement == []


def test_owner_change_and_deactivation(registry, resolver, chain, patient, provider):
    did = format_did(patient.address, chain.chain_id)
    registry.changeOwner(patient, provider, sender=patient)
    doc = resolver.resolve(did).did_document
    assert doc["verificationMethod"][0]["blockchainAccountId"] == (
        f"eip155:{chain.chain_id}:{provider.address}"
    )
    receipt = registry.changeOwner(patient, "0x" + "00" * 20, sender=provider)
    result = resolver.resolve(did, ld_context=False)
    assert result.deactivated
    assert result.did_document == {
        "id": did,
        "verificationMethod": [],
        "authentication": [],
        "assertionMethod": [],
    }
    assert result.did_document_metadata["versionId"] == str(receipt.block_number)


def test_public_key_did_lists_the_controller_key(resolver, chain):
    key = eth_keys.PrivateKey(Account.create().key)
    compressed = key.public_key.to_compressed_bytes()
    did = f"did:ethr:{hex(chain.chain_id)}:0x{compressed.hex()}"
    parsed = parse_did(did)
    assert parsed.address == key.public_key.to_checksum_address()
    doc = resolver.resolve(did).did_document
    jwk = doc["verificationMethod"][1]["publicKeyJwk"]
    import base64

    raw = key.public_key.to_bytes()
    assert base64.urlsafe_b64decode(jwk["x"] + "=") == raw[:32]
    assert base64.urlsafe_b64decode(jwk["y"] + "=") == raw[32:]
    assert doc["authentication"] == [f"{did}#controller", f"{did}#controllerKey"]
    assert {
        "publicKeyJwk": {"@id": "https://w3id.org/security#publicKeyJwk", "@type": "@json"}
    } in doc["@context"]


def test_incomplete_history_is_refused(registry, chain, patient):
    registry.setAttribute(patient, to_bytes32("did/svc/A"), b"a", DAY, sender=patient)
    last = registry.setAttribute(patient, to_bytes32("did/svc/B"), b"b", DAY, sender=patient)
    # a node (or start block) that misses the first change must not yield a document
    blind = DIDResolver(
        chain.provider.web3, registry.address, chain.chain_id, start_block=last.block_number
    )
    with pytest.raises(IntegrityError, match="incomplete"):
        blind.resolve(format_did(patient.address, chain.chain_id))


def test_history_is_fetched_in_block_ranges(registry, chain, patient):
    for i in range(4):
        registry.setAttribute(patient, to_bytes32(f"did/svc/S{i}"), b"x", DAY, sender=patient)
    chunked = DIDResolver(
        chain.provider.web3,
        registry.address,
        chain.chain_id,
        chunk=2,
        start_block=max(0, chain.blocks.head.number - 6),
    )
    doc = chunked.resolve(format_did(patient.address, chain.chain_id)).did_document
    assert [s["type"] for s in doc["service"]] == ["S0", "S1", "S2", "S3"]
    assert chunked.log_queries >= 2


def test_resolver_refuses_a_did_of_another_chain(resolver, patient):
    with pytest.raises(InvalidInput, match="chain 11155111"):
        resolver.resolve(f"did:ethr:sepolia:{patient.address}")


ADDR = "0x" + "ab" * 20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("did:web:example.com", "only did:ethr"),
        ("ethr:0x12", "not a DID"),
        ("did:ethr:", "missing the address"),
        ("did:ethr:0x1234", "40 hex digits"),
        (f"did:ethr:moonbase:{ADDR}", "unknown did:ethr network 'moonbase'"),
        (f"did:ethr:0xZZ:{ADDR}", "malformed chain id"),
        ("did:ethr:0x02" + "00" * 32, "not a point on secp256k1"),
        (f"did:ethr:{ADDR}?versionId=latest", "versionId must be a block number"),
    ],
)
def test_malformed_dids_are_refused_clearly(text, message):
    with pytest.raises(InvalidInput, match=message) as err:
        parsed = parse_did(text)
        _ = parsed.version_id
    assert "\n" not in str(err.value)


def test_parse_and_format_round_trip():
    checksummed = parse_did(f"did:ethr:{ADDR}").address
    assert parse_did(f"did:ethr:{ADDR}").chain_id == 1
    assert parse_did(f"did:ethr:0x539:{ADDR}").chain_id == 1337
    assert parse_did(f"did:ethr:sepolia:{ADDR}").chain_id == 11155111
    assert parse_did(f"did:ethr:rsk:testnet:{ADDR}").chain_id == 31
    assert format_did(ADDR, 1337) == f"did:ethr:0x539:{checksummed}"
    assert format_did(ADDR, 1) == f"did:ethr:{checksummed}"
    assert format_did(ADDR, network="sepolia") == f"did:ethr:sepolia:{checksummed}"
    assert parse_did(f"did:ethr:0x539:{ADDR}#delegate-1").fragment == "delegate-1"
    with pytest.raises(InvalidInput, match="not an Ethereum address"):
        format_did("0x1234", 1)


def test_ethr_did_resolver_11_profile(registry, chain, patient):
    """The profile that matches the released npm ethr-did-resolver 11.x byte for byte
    (checked against it by tests/identity/crosscheck_ethr_did.py)."""
    did = format_did(patient.address, chain.chain_id)
    key = bytes(range(32))
    registry.setAttribute(
        patient, to_bytes32("did/pub/X25519/enc/base64"), key, DAY, sender=patient
    )
    legacy = DIDResolver(
        chain.provider.web3, registry.address, chain.chain_id, profile="ethr-did-resolver@11"
    ).resolve(did)
    import base64

    assert legacy.did_document["@context"] == [*CTX, "https://w3id.org/security/v3-unstable"]
    assert legacy.did_document["verificationMethod"][1] == {
        "id": f"{did}#delegate-1",
        "type": "X25519KeyAgreementKey2019",
        "controller": did,
        "publicKeyBase64": base64.b64encode(key).decode(),
    }
    assert legacy.key_agreement == [(f"{did}#delegate-1", key)]
    with pytest.raises(InvalidInput, match="unknown resolver profile"):
        DIDResolver(chain.provider.web3, registry.address, chain.chain_id, profile="v9")


def test_version_time_resolves_the_document_at_that_moment(registry, resolver, chain, patient):
    did = format_did(patient.address, chain.chain_id)
    first = registry.setAttribute(patient, to_bytes32("did/svc/A"), b"a", DAY, sender=patient)
    chain.pending_timestamp += 100
    second = registry.setAttribute(patient, to_bytes32("did/svc/B"), b"b", DAY, sender=patient)
    t_first = chain.blocks[first.block_number].timestamp
    at_first = resolver.resolve(f"{did}?versionTime={t_first + 50}")
    assert [s["type"] for s in at_first.services()] == ["A"]
    assert at_first.did_document_metadata["nextVersionId"] == str(second.block_number)
    iso = _iso(chain, second.block_number)
    assert [s["type"] for s in resolver.resolve(f"{did}?versionTime={iso}").services()] == [
        "A",
        "B",
    ]
    with pytest.raises(InvalidInput, match="cannot both"):
        resolver.resolve(f"{did}?versionId=1&versionTime=5")
    with pytest.raises(InvalidInput, match="versionTime must be"):
        resolver.resolve(f"{did}?versionTime=yesterday")
