"""RecordRegistry upgrades in place (docs/upgrades.md): the storage-layout check by
OpenZeppelin's upgrades-core accepts the registry and a compatible V2 and refuses a layout
that inserts a field before anything is sent; a proxy holding 1,000 records answers every
lookup identically after the upgrade to V2; only the admin upgrades; initialize runs once
and never on the implementation; the deploy pipeline keeps the proxy and refuses to
replace it."""

from __future__ import annotations

from dataclasses import replace

import ape
import pytest
from eth_account import Account
from eth_utils import keccak

from medchain.deploy import deploy_all
from medchain.errors import DeploymentMismatch
from medchain.records import record_id_for
from medchain.records.upgrade import (
    StorageLayoutIncompatible,
    check_layout,
    implementation_of,
    prepare_upgrade,
    upgrade,
)
from support.anvil import deployed_anvil
from support.deploy import specs_for
from support.records import OBS, ZERO, cid_bytes

RECORDS = 1_000
ADMIN_ROLE = b"\0" * 32


def test_layout_check_accepts_the_registry_and_a_compatible_v2():
    check_layout("RecordRegistry")  # upgrade-safe code: no unsafe patterns unannotated
    check_layout("RecordRegistryV2", "RecordRegistry")


def test_incompatible_layout_refused_before_any_transaction(deployer, chain, project):
    nonce, head = deployer.nonce, chain.blocks.head.number
    with pytest.raises(StorageLayoutIncompatible, match=r"RecordRegistryBadLayout\.sol:\d+: "
                       r"Inserted `recordCount` \(New variables should be placed after"):  # fmt: skip
        prepare_upgrade(deployer, project.RecordRegistryBadLayout, [], reference="RecordRegistry")
    assert (deployer.nonce, chain.blocks.head.number) == (nonce, head)


def _anchor_many(chain, registry, patient, provider, count):
    """`count` records by the patient, sent as raw signed transactions (ape's per-call work
    would dominate): every 10th shared with the provider, every 25th corrected by the next,
    every 40th erased. Returns the record ids."""
    web3 = chain.provider.web3
    key, nonce = patient.private_key, web3.eth.get_transaction_count(patient.address)
    chain_id, ids, previous = web3.eth.chain_id, [], ZERO

    def send(data):
        nonlocal nonce
        tx = {"to": registry.address, "data": data, "gas": 400_000, "nonce": nonce,
              "chainId": chain_id, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0}  # fmt: skip
        web3.eth.send_raw_transaction(Account.sign_transaction(tx, key).raw_transaction)
        nonce += 1

    for i in range(count):
        salt = keccak(b"upgrade-record" + i.to_bytes(4, "big"))
        supersedes = previous if i % 25 == 1 else ZERO
        req = (patient.address, salt, OBS, 1 + i % 3, cid_bytes(salt, version=i % 2),
               keccak(salt), supersedes)  # fmt: skip
        envelopes = [(provider.address, cid_bytes(b"env" + salt))] if i % 10 == 0 else []
        send(registry.anchorRecord.encode_input(req, envelopes))
        ids.append(previous := record_id_for(patient.address, patient.address, salt))
        if i % 40 == 39:
            send(registry.eraseRecord.encode_input(previous))
    return ids


def _answers(chain, registry, ids, readers):
    """Every lookup's raw answer (return data or revert data) per record and reader."""
    web3 = chain.provider.web3
    calls = [("getRecord", ()), ("exists", ()), ("supersededBy", ()), ("erasedAt", ())]
    calls += [("envelopeOf", (r.address,)) for r in readers]
    answers = {}
    for record_id in ids:
        for name, extra in calls:
            data = getattr(registry, name).encode_input(record_id, *extra)
            call = {"from": registry.address, "to": registry.address, "data": data}
            answers[(record_id, name, extra)] = bytes(web3.eth.call(call))
    return answers


def test_upgrade_keeps_every_record_and_the_address(tmp_path, project):
    # anvil: 1,000 records and 12,000 lookups take seconds there, minutes in-process
    with deployed_anvil(tmp_path / "book", "RecordRegistry") as (_, book, deployed, roles):
        _upgrade_keeps_every_record(book, deployed, roles, project)


def _upgrade_keeps_every_record(book, deployed, roles, project):
    from ape import chain

    deployer, patient, provider = roles["deployer"], roles["patient"], roles["provider"]
    registry, did = deployed.contracts["RecordRegistry"], deployed.contracts["DIDRegistry"]
    address, first_impl = registry.address, implementation_of(registry)
    assert book.get("RecordRegistry").address == address
    assert book.get("RecordRegistry").implementation == first_impl

    # Re-running deploy with the same implementation sends nothing and changes nothing.
    nonce = deployer.nonce
    _, outcomes = deploy_all(
        deployer, book, specs=specs_for(["RecordRegistry"]), log=lambda _: None
    )
    assert {o.name: o.action for o in outcomes}["RecordRegistry"] == "unchanged"
    assert deployer.nonce == nonce

    ids = _anchor_many(chain, registry, patient, provider, RECORDS)
    before = _answers(chain, registry, ids, (patient, provider))
    # Every transaction landed (raw sends do not raise): all records exist, some corrected,
    # some erased, some shared.
    words = [(name, int.from_bytes(answer[:32], "big")) for (_, name, _), answer in before.items()]
    assert sum(value for name, value in words if name == "exists") == RECORDS
    assert sum(value > 0 for name, value in words if name == "supersededBy") == RECORDS // 25
    assert sum(value > 0 for name, value in words if name == "erasedAt") == RECORDS // 40

    v2 = upgrade(
        registry, project.RecordRegistryV2, [did.address], deployer, reference="RecordRegistry",
        call=project.RecordRegistryV2.at(address).initializeV2.encode_input(), book=book,
    )  # fmt: skip
    assert v2.address == address and implementation_of(address) != first_impl
    assert _answers(chain, registry, ids, (patient, provider)) == before
    assert v2.version() == 2 and v2.upgradedAt() == chain.blocks.head.timestamp

    record = book.get("RecordRegistry")
    assert record.address == address and record.implementation == implementation_of(address)
    assert [e["address"] for e in record.implementations] == [first_impl, record.implementation]

    # The book's proxy now runs other code than the tree's RecordRegistry, as the book
    # recorded: deploy keeps it (a new instance would orphan the records), sends nothing,
    # --redeploy-changed or not, and names the command that would bring the tree's code.
    nonce = deployer.nonce
    for redeploy_changed in (False, True):
        lines: list[str] = []
        _, outcomes = deploy_all(
            deployer, book, specs=specs_for(["RecordRegistry"]),
            redeploy_changed=redeploy_changed, log=lines.append,
        )  # fmt: skip
        assert {o.name: o.action for o in outcomes}["RecordRegistry"] == "unchanged"
        assert any("medchain admin upgrade RecordRegistry" in line for line in lines), lines
    assert deployer.nonce == nonce and book.get("RecordRegistry").address == address

    # An upgrade the book did not see (a governance proposal) is named as such.
    book.write(replace(book.get("RecordRegistry"), implementation=first_impl))
    with pytest.raises(DeploymentMismatch, match="upgrade went through without the book"):
        deploy_all(deployer, book, specs=specs_for(["RecordRegistry"]), log=lambda _: None)


def test_only_the_admin_upgrades(registry, did_registry, deployer, provider, project):
    v2 = deployer.deploy(project.RecordRegistryV2, did_registry.address)
    with ape.reverts(registry.AccessControlUnauthorizedAccount, account=provider.address,
                     neededRole=ADMIN_ROLE):  # fmt: skip
        registry.upgradeToAndCall(v2.address, b"", sender=provider)


def test_initialize_runs_once_and_never_on_the_implementation(
    registry, did_registry, provider, project
):
    did = did_registry.address
    with ape.reverts(registry.InvalidInitialization):
        registry.initialize(did, provider.address, sender=provider)
    implementation = project.RecordRegistry.at(implementation_of(registry))
    with ape.reverts(implementation.InvalidInitialization):
        implementation.initialize(did, provider.address, sender=provider)


def test_proxy_refuses_another_did_registry(deployer, provider, project):
    implementation = deployer.deploy(project.RecordRegistry, deployer.address)
    data = implementation.initialize.encode_input(provider.address, deployer.address)
    with ape.reverts(implementation.RecordDidRegistryMismatch, requested=provider.address,
                     built=deployer.address):  # fmt: skip
        deployer.deploy(project.MedchainProxy, implementation.address, data)
