"""Defaults through the address book: the deploy spec records the DIDRegistry, and the
client, resolver and key_agreement_keys find it without being told the address."""

from __future__ import annotations

from medchain.deploy import deploy_all
from medchain.deployments import AddressBook
from medchain.identity import DIDRegistryClient, DIDResolver, format_did, key_agreement_keys
from medchain.identity.deploy import SPECS


def test_defaults_come_from_the_connected_networks_book(
    monkeypatch, tmp_path, deployer, patient, chain
):
    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path))
    book = AddressBook.for_connected_network()
    ctx, outcomes = deploy_all(deployer, book, specs=SPECS, log=lambda _: None)
    assert [o.name for o in outcomes] == ["DIDRegistry"]
    client = DIDRegistryClient.connect(sender=patient)
    assert client.address == ctx.address_of("DIDRegistry")
    client.set_attribute(patient, "did/pub/X25519/enc/base64", b"\x09" * 32, 3600)
    did = format_did(patient.address, chain.chain_id)
    assert key_agreement_keys(did) == [(f"{did}#delegate-1", b"\x09" * 32)]
    resolver = DIDResolver.connected()
    assert resolver.start_block == book.get("DIDRegistry").block_number
