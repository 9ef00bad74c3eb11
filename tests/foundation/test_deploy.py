"""The deploy pipeline on the in-process chain: address book contents, idempotent
re-runs, refusal of changed bytecode (and of replacing a contract that holds data),
redeploy of a reset chain, binding by name."""

from __future__ import annotations

import json

import pytest
from ape import chain

from medchain.client import ContractClient, bind
from medchain.deploy import ContractSpec, data_events, deploy_all, discover_specs, order_specs
from medchain.deployments import AddressBook
from medchain.errors import (
    ConfigurationError,
    DeploymentMismatch,
    DeploymentNotFound,
    InvalidInput,
)


@pytest.fixture
def fresh_book(tmp_path):
    return AddressBook(tmp_path / "book")


@pytest.fixture
def first_deploy(deployer, roles, fresh_book):
    _, outcomes = deploy_all(deployer, fresh_book, accounts=roles, log=lambda _: None)
    return outcomes


def test_every_spec_is_deployed_in_dependency_order(first_deploy):
    names = [o.name for o in first_deploy]
    assert names, "no contracts declared in the domains' deploy specs"
    assert all(o.action == "deployed" for o in first_deploy)
    position = {name: i for i, name in enumerate(names)}
    for spec in discover_specs():
        for dependency in spec.depends_on:
            assert position[dependency] < position[spec.name]


def test_address_book_round_trip(first_deploy, fresh_book, deployer):
    index = json.loads((fresh_book.path / "index.json").read_text())
    assert index["chain_id"] == chain.chain_id
    assert set(index["contracts"]) == {o.name for o in first_deploy}
    for outcome in first_deploy:
        record = fresh_book.get(outcome.name)
        assert record.address == outcome.address == index["contracts"][outcome.name]["address"]
        assert record.deployer == str(deployer.address)
        assert record.compiler["version"] == "0.8.28"
        assert record.transaction_hash.startswith("0x") and record.block_number > 0
        assert any(item["type"] == "function" for item in record.abi)
        assert chain.provider.get_code(record.address)
        instance = bind(record)  # what a frontend does with the JSON: address + ABI
        assert str(instance.address) == record.address


def test_rerun_deploys_nothing_and_says_so(first_deploy, fresh_book, deployer, roles):
    lines: list[str] = []
    blocks_before = chain.blocks.height
    _, outcomes = deploy_all(deployer, fresh_book, accounts=roles, log=lines.append)
    assert [o.action for o in outcomes] == ["unchanged"] * len(first_deploy)
    assert chain.blocks.height == blocks_before
    assert all("unchanged" in line and "nothing deployed" in line for line in lines)


def _pretend_source_changed(book: AddressBook, name: str) -> None:
    """Make the book's fingerprint differ from what the current build would deploy."""
    path = book.path / f"{name}.json"
    data = json.loads(path.read_text())
    data["init_code_hash"] = "0x" + "00" * 32
    path.write_text(json.dumps(data))


def test_changed_bytecode_is_refused_without_the_flag(first_deploy, fresh_book, deployer, roles):
    name = first_deploy[0].name
    _pretend_source_changed(fresh_book, name)
    with pytest.raises(DeploymentMismatch, match=f"{name} changed since it was deployed"):
        deploy_all(deployer, fresh_book, accounts=roles, log=lambda _: None)


def test_changed_bytecode_is_redeployed_with_the_flag(first_deploy, fresh_book, deployer, roles):
    name = first_deploy[-1].name  # a leaf: nothing depends on it
    old = fresh_book.get(name).address
    _pretend_source_changed(fresh_book, name)
    _, outcomes = deploy_all(
        deployer, fresh_book, accounts=roles, redeploy_changed=True, log=lambda _: None
    )
    actions = {o.name: o.action for o in outcomes}
    assert actions[name] == "redeployed"
    assert fresh_book.get(name).address != old
    assert all(a == "unchanged" for n, a in actions.items() if n != name)


def test_reset_chain_is_detected_and_redeployed(first_deploy, fresh_book, deployer, roles):
    """A reset chain has none of the recorded code: everything is deployed again."""
    for outcome in first_deploy:
        path = fresh_book.path / f"{outcome.name}.json"
        data = json.loads(path.read_text())
        data["address"] = "0x000000000000000000000000000000000000dEaD"  # no code there
        path.write_text(json.dumps(data))
    _, outcomes = deploy_all(deployer, fresh_book, accounts=roles, log=lambda _: None)
    assert [o.action for o in outcomes] == ["deployed"] * len(first_deploy)
    assert all(chain.provider.get_code(o.address) for o in outcomes)


def test_redeploying_a_dependency_redeploys_its_dependents(
    first_deploy, fresh_book, deployer, roles
):
    """A new instance of a contract changes its dependents' constructor arguments. (The
    root is one whose dependents are not behind a proxy: a proxy is upgraded in place,
    never replaced, so redeploying the DID registry stops at RecordRegistry, see
    tests/records/test_upgrade.py.)"""
    root = "GenomicDataset"
    dependents = {s.name for s in discover_specs() if root in s.depends_on}
    assert dependents, f"nothing depends on {root}"
    assert not any(s.create for s in discover_specs() if s.name in dependents)
    _pretend_source_changed(fresh_book, root)
    _, outcomes = deploy_all(
        deployer, fresh_book, accounts=roles, redeploy_changed=True, log=lambda _: None
    )
    actions = {o.name: o.action for o in outcomes}
    assert actions[root] == "redeployed"
    assert all(actions[name] == "redeployed" for name in dependents)


def test_a_changed_contract_holding_data_is_not_replaced_by_an_empty_one(
    first_deploy, fresh_book, deployer, roles
):
    """--redeploy-changed used to start a changed ConsentRegistry empty, orphaning every
    grant at the old address. Role wiring and the constructor's own events are not data;
    one patient grant is, and the redeploy is refused (nothing sent) until that data is
    abandoned by name."""
    name = "ConsentRegistry"
    record = fresh_book.get(name)
    assert data_events(record) == (0, None)  # constructor event + role wiring only
    patient, clinician = roles["patient"], roles["provider"]
    registry = bind(record)
    end = chain.pending_timestamp + 86_400
    registry.grant(
        patient, clinician, b"Observation".ljust(32, b"\0"), 1, 1, 0, end, sender=patient
    )
    _pretend_source_changed(fresh_book, name)
    height = chain.blocks.height
    with pytest.raises(
        DeploymentMismatch, match=rf"{name} at {record.address} holds data \(1 events"
    ):
        deploy_all(deployer, fresh_book, accounts=roles, redeploy_changed=True, log=lambda _: None)
    assert chain.blocks.height == height and fresh_book.get(name).address == record.address
    with pytest.raises(InvalidInput, match="names no contract of this deploy: Nothing"):
        deploy_all(deployer, fresh_book, redeploy_changed=True, abandon_data=["Nothing"], log=print)
    _, outcomes = deploy_all(
        deployer, fresh_book, accounts=roles, redeploy_changed=True, abandon_data=[name],
        log=lambda _: None,
    )  # fmt: skip
    assert {o.name: o.action for o in outcomes}[name] == "redeployed"
    assert fresh_book.get(name).address != record.address


def test_client_binds_by_name_and_refuses_missing_or_foreign_entries(first_deploy, fresh_book):
    class Bound(ContractClient):
        contract_name = first_deploy[0].name

    client = Bound.connect(fresh_book)
    assert client.address == first_deploy[0].address

    class Missing(ContractClient):
        contract_name = "NoSuchContract"

    with pytest.raises(DeploymentNotFound, match="no deployment of NoSuchContract"):
        Missing.connect(fresh_book)

    path = fresh_book.path / f"{first_deploy[0].name}.json"
    data = json.loads(path.read_text())
    data["chain_id"] = 999
    path.write_text(json.dumps(data))
    with pytest.raises(DeploymentMismatch, match="on chain 999"):
        Bound.connect(fresh_book)


def test_spec_ordering_rejects_cycles_and_unknown_dependencies():
    a = ContractSpec("A", depends_on=("B",))
    b = ContractSpec("B", depends_on=("A",))
    with pytest.raises(ConfigurationError, match="dependency cycle"):
        order_specs([a, b])
    with pytest.raises(ConfigurationError, match="unknown contract C"):
        order_specs([ContractSpec("A", depends_on=("C",))])
    ordered = order_specs([ContractSpec("X", depends_on=("Y",)), ContractSpec("Y")])
    assert [s.name for s in ordered] == ["Y", "X"]


def test_a_missing_serial_registry_role_is_refused_before_anything_is_deployed(tmp_path, roles):
    """A deployer outside the test mnemonic (an imported account) without a roles file
    naming SerialRegistry's registrar and regulator is refused in one line before the
    first contract is sent, not after half the plan (docs/supply.md, "Roles")."""
    outsider = roles["lab"]  # funded, and not the test mnemonic's deployer
    book = AddressBook(tmp_path / "book")
    nonce = outsider.nonce
    with pytest.raises(
        ConfigurationError, match="SerialRegistry needs its registrar and regulator"
    ):
        deploy_all(outsider, book, accounts={}, log=lambda _: None)
    assert outsider.nonce == nonce and list(book) == []
