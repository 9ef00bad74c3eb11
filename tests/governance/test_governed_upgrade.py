"""A governed upgrade of RecordRegistry with real transactions on the in-process chain: on
a governed deploy holding records (shared, corrected, erased) and consent grants,
`propose_upgrade` (and once `medchain admin upgrade` through click) checks the layout,
deploys RecordRegistryV2 and proposes upgradeToAndCall; 2 of 3 members pass it, execute
waits for the timelock and records the new implementation in the address book; every
record and consent answer is the same after it. An incompatible layout, a non-member, a
contract without a proxy, a proposal passed by one member and the former deployer's direct
upgrade are each refused."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from eth_utils import keccak

from medchain.errors import ContractRevert
from medchain.governance import GovernanceClient, NotAMember, ProposalNotReady, ProposalState
from medchain.governance.demo import advance_to
from medchain.governance.deploy import GOVERNOR
from medchain.governance.upgrade import NotUpgradeable, propose_upgrade, running_contract
from medchain.records.upgrade import StorageLayoutIncompatible, implementation_of
from support.records import OBS, ZERO, cid_bytes, rid

SCOPES = ("Observation", "Condition")
PURPOSES = ("TREAT", "HRESCH")


@pytest.fixture(scope="module")
def holdings(governed, roles):
    """Records by the patient (every 3rd shared with the provider, one corrected, one
    erased) and consent grants to the provider and the researcher; returns the record ids."""
    from ape import chain

    from medchain.consent import ConsentClient

    patient, provider = roles["patient"], roles["provider"]
    registry = governed.contracts["RecordRegistry"]
    ids = []
    for i in range(12):
        salt = keccak(b"governed-upgrade" + bytes([i]))
        supersedes = ids[-1] if i == 5 else ZERO
        req = (patient.address, salt, OBS, 1, cid_bytes(salt), keccak(salt), supersedes)
        envelopes = [(provider.address, cid_bytes(b"env" + salt))] if i % 3 == 0 else []
        registry.anchorRecord(req, envelopes, sender=patient)
        ids.append(rid(patient, req))
    registry.eraseRecord(ids[7], sender=patient)
    consent = ConsentClient(governed.contracts["ConsentRegistry"])
    end = chain.pending_timestamp + 90 * 86_400
    consent.grant(patient, provider, "Observation", "read", "TREAT", 0, end, sender=patient)
    consent.grant(patient, roles["researcher"], "Condition", "read", "HRESCH", sender=patient)
    return ids


def answers(governed, roles, ids) -> dict:
    """Every record lookup and consent answer, as the chain gives them now."""
    from medchain.consent import ConsentClient

    registry = governed.contracts["RecordRegistry"]
    readers = [roles[r] for r in ("patient", "provider", "researcher")]
    found: dict = {}
    for record_id in ids:
        found[record_id, "getRecord"] = tuple(registry.getRecord(record_id))
        for name in ("exists", "supersededBy", "erasedAt"):
            found[record_id, name] = getattr(registry, name)(record_id)
        for reader in readers:
            found[record_id, "envelopeOf", reader.address] = registry.envelopeOf(
                record_id, reader.address
            )
    consent = ConsentClient(governed.contracts["ConsentRegistry"])
    for reader in readers:
        for scope in SCOPES:
            for purpose in PURPOSES:
                key = ("hasAccess", reader.address, scope, purpose)
                found[key] = consent.check(roles["patient"], reader, scope, "read", purpose)
    return found


@pytest.fixture
def book_copy(book, tmp_path):
    """This test's own copy of the module's book: an executed upgrade writes to it, and
    the chain is reverted after each test while files are not."""
    from medchain.deployments import AddressBook

    shutil.copytree(book.path, tmp_path / "book")
    return AddressBook(tmp_path / "book")


@pytest.fixture
def gov_copy(governed, book_copy):
    return GovernanceClient(governed.contracts[GOVERNOR], book=book_copy)


def test_the_demo_upgrades_mid_step_and_a_rerun_skips(deployed, roles, book_dir, tmp_path):
    """The governance demo step on the session's deploy, with a lab record and a consent
    grant as the records and consent steps leave them: the upgrade is proposed, passed and
    executed, both answers are the same, V2 runs and the book has two implementations; a
    re-run finds V2 and proposes nothing."""
    import importlib

    from ape import chain
    from rich.console import Console

    from medchain.consent import ConsentClient
    from medchain.demo import DemoContext
    from medchain.deployments import AddressBook

    shutil.copytree(book_dir / "session", tmp_path / "book")
    patient, provider = roles["patient"], roles["provider"]
    salt = keccak(b"demo lab record")
    req = (patient.address, salt, OBS, 1, cid_bytes(salt), keccak(salt), ZERO)
    deployed.contracts["RecordRegistry"].anchorRecord(req, [], sender=patient)
    end = chain.pending_timestamp + 30 * 86_400
    ConsentClient(deployed.contracts["ConsentRegistry"]).grant(
        patient, provider, "Observation", "read", "TREAT", 0, end, sender=patient
    )
    step = importlib.import_module("medchain.governance.demo")
    console = Console(record=True, width=240)
    ctx = DemoContext(console, roles, dict(deployed.contracts), AddressBook(tmp_path / "book"))
    ctx.shared["lab_record"] = rid(patient, req)
    step.run(ctx)
    text = console.export_text()
    for needle in (
        "RecordRegistryV2 may replace RecordRegistry (OpenZeppelin upgrades-core)",
        "proposed         RecordRegistry.upgradeToAndCall(0x",
        "version() 2, 2 implementations in the address book",
        "same answers     consent read/TREAT Observation True; lab record 0x",
        "getRecord: identical before and after the upgrade",
    ):
        assert needle in text, text
    assert len(ctx.book.get("RecordRegistry").implementations) == 2

    console = Console(record=True, width=240)
    step.run(DemoContext(console, roles, ctx.contracts, ctx.book, shared=ctx.shared))
    again = console.export_text()
    assert "RecordRegistry runs RecordRegistryV2 already: nothing proposed" in again, again
    assert len(ctx.book.get("RecordRegistry").implementations) == 2


def test_governed_upgrade_keeps_every_answer_and_records_the_history(
    governed, holdings, roles, gov_copy, book_copy, member1, member2, project, deployer
):
    gov, book, proxy = gov_copy, book_copy, governed.contracts["RecordRegistry"]
    first = implementation_of(proxy)
    assert running_contract(first) == "RecordRegistry"
    before = answers(governed, roles, holdings)
    assert sum(1 for k, v in before.items() if k[0] == "hasAccess" and v) == 2

    done = propose_upgrade(gov, "RecordRegistry", "RecordRegistryV2", sender=member1)
    assert (done.state, done.reference, done.replaces) == ("Pending", "RecordRegistry", first)
    assert done.call == f"RecordRegistry.upgradeToAndCall({done.implementation}, 0x)"
    pid = done.proposal
    advance_to(gov.proposal(pid).voting_starts_at)
    gov.vote(pid, "for", sender=member1)
    gov.vote(pid, "for", sender=member2)
    advance_to(gov.proposal(pid).voting_ends_at + 1)
    gov.queue(pid, sender=member1)
    with pytest.raises(ProposalNotReady, match="is Queued: executable from"):
        gov.execute(pid, sender=member1)
    assert (
        implementation_of(proxy) == first and len(book.get("RecordRegistry").implementations) == 1
    )
    advance_to(gov.proposal(pid).executable_at)
    gov.execute(pid, sender=roles["patient"])  # anyone executes once it is due
    assert gov.state(pid) == ProposalState.Executed

    assert implementation_of(proxy) == done.implementation
    assert running_contract(done.implementation) == "RecordRegistryV2"
    assert answers(governed, roles, holdings) == before
    assert project.RecordRegistryV2.at(proxy.address).version() == 2
    record = book.get("RecordRegistry")
    assert record.address == proxy.address and record.implementation == done.implementation
    history = [entry["address"] for entry in record.implementations]
    assert history == [first, done.implementation]
    assert any(item.get("name") == "version" for item in record.abi)  # the ABI followed
    # The next upgrade is checked against what runs now: V2 again is refused as a no-op.
    with pytest.raises(NotUpgradeable, match="runs RecordRegistryV2 already"):
        propose_upgrade(gov, "RecordRegistry", "RecordRegistryV2", sender=member1)
    # A later deploy keeps the upgraded proxy (the book says V2 runs there), sends nothing
    # and names the command that would bring this tree's RecordRegistry.
    from medchain.deploy import deploy_all

    lines: list[str] = []
    nonce = deployer.nonce
    _, outcomes = deploy_all(deployer, book, accounts=roles, log=lines.append)
    assert {o.action for o in outcomes} == {"unchanged"} and deployer.nonce == nonce
    assert any("medchain admin upgrade RecordRegistry" in line for line in lines), lines


def test_the_cli_proposes_an_upgrade(governed, book_copy, monkeypatch, tmp_path, member1):
    from medchain.cli import cli

    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MEDCHAIN_BOOK", str(book_copy.path))
    out = CliRunner(mix_stderr=False).invoke(
        cli,
        ["admin", "upgrade", "RecordRegistry", "--implementation", "RecordRegistryV2",
         "--description", "Records v2", "--network", "ethereum:local:test",
         "--account", "TEST::20", "--json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output + out.stderr
    result = json.loads(out.stdout)
    assert (result["contract"], result["implementation_type"]) == (
        "RecordRegistry",
        "RecordRegistryV2",
    )
    assert result["state"] == "Pending" and result["description"] == "Records v2"
    assert result["next"][0] == f"medchain admin vote {result['proposal']} for --account <member>"
    gov = GovernanceClient(governed.contracts[GOVERNOR], book=book_copy)
    [call] = gov.proposal(result["proposal"]).calls
    assert call["target"] == governed.contracts["RecordRegistry"].address
    assert running_contract(result["implementation"]) == "RecordRegistryV2"
    assert str(member1.address) == gov.proposal(result["proposal"]).proposer

    refused = CliRunner(mix_stderr=False).invoke(
        cli,
        ["admin", "upgrade", "ConsentRegistry", "--network", "ethereum:local:test",
         "--account", "TEST::20"],
    )  # fmt: skip
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    line = refused.stderr.strip()
    assert line.count("\n") == 0 and "RecordRegistry is the only upgradeable contract" in line
    assert "ConsentRegistry uses the migration design" in line and "docs/upgrades.md" in line


def test_refusals_before_any_transaction(gov_copy, member1, roles, chain):
    patient, proposals = roles["patient"], len(gov_copy.proposals())
    for account, kind, contract, implementation, text in (
        (member1, StorageLayoutIncompatible, "RecordRegistry", "RecordRegistryBadLayout",
         r"RecordRegistryBadLayout is not upgrade-safe to replace RecordRegistry: .*Inserted"),
        (patient, NotAMember, "RecordRegistry", "RecordRegistryV2", "only members propose"),
        (member1, NotUpgradeable, "ConsentRegistry", None, "uses the migration design"),
        (member1, NotUpgradeable, "RecordRegistry", "ConsentRegistry", "not an upgradeable"),
    ):  # fmt: skip
        nonce, head = account.nonce, chain.blocks.head.number
        with pytest.raises(kind, match=text):
            propose_upgrade(gov_copy, contract, implementation, sender=account)
        assert (account.nonce, chain.blocks.head.number) == (nonce, head), implementation
    assert len(gov_copy.proposals()) == proposals


def test_one_member_alone_cannot_upgrade(governed, gov_copy, member1):
    proxy = governed.contracts["RecordRegistry"]
    first = implementation_of(proxy)
    done = propose_upgrade(gov_copy, "RecordRegistry", "RecordRegistryV2", sender=member1)
    pid = done.proposal
    advance_to(gov_copy.proposal(pid).voting_starts_at)
    gov_copy.vote(pid, "for", sender=member1)
    advance_to(gov_copy.proposal(pid).voting_ends_at + 1)
    assert gov_copy.state(pid) == ProposalState.Defeated
    with pytest.raises(ProposalNotReady, match=r"is Defeated: 1 for \(2 needed\)"):
        gov_copy.queue(pid, sender=member1)
    with pytest.raises(ProposalNotReady, match="is Defeated"):
        gov_copy.execute(pid, sender=member1)
    assert implementation_of(proxy) == first


def test_the_former_deployer_cannot_upgrade_directly(governed, deployer, project):
    from medchain.errors import translate_errors

    proxy = governed.contracts["RecordRegistry"]
    v2 = deployer.deploy(project.RecordRegistryV2, governed.contracts["DIDRegistry"].address)
    with (
        pytest.raises(ContractRevert, match="AccessControlUnauthorizedAccount"),
        translate_errors("RecordRegistry", proxy.contract_type),
    ):
        proxy.upgradeToAndCall(v2.address, b"", sender=deployer)


def test_the_upgrade_designs_are_the_measured_ones(project):
    """What the SDK says of each contract's design agrees with bench/gas_proxy.py's decision
    (bench/results/proxy_overhead.json), and every contract upgraded in place is UUPS."""
    from medchain.deployments import project_root
    from medchain.governance.upgrade import MIGRATED, UPGRADED_IN_PLACE

    measured = json.loads(
        project_root().joinpath("bench", "results", "proxy_overhead.json").read_text()
    )["contracts"]
    assert set(MIGRATED) == {n for n, c in measured.items() if c["decision"] == "migration"}
    assert all(measured[name]["decision"] == "proxy" for name in UPGRADED_IN_PLACE)
    for name in UPGRADED_IN_PLACE:
        abi = getattr(project, name).contract_type.abi
        assert any(getattr(item, "name", "") == "proxiableUUID" for item in abi), name
