"""A governed switch of a migrated contract to its next version, with real transactions on
the in-process chain and the governance contracts of the shipped governed deploy: a
ConsentRegistry holding a few provisions is migrated to a v2 (`medchain.consent.migrate`)
and switched through proposal, 2 votes, queue, the timelock's delay and execute; the book
then names v2 and keeps v1 in `versions`, RecordRegistry's write authorizer is v2, and
every consent answer read through the book is the same. The attacks: one member alone, an
execute before the delay, a v2 that does not follow the book's version, an unfinished
migration, a v2 administered by someone else, a DIDRegistry switch while contracts hold
the old one immutably, a competing switch executed after the first one. A TrialRegistry
switch (no mutable dependent: the proposal is the marker call alone; a trial moved but
not imported holds it back) and the CLI with --json from proposal to execution."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from eth_utils import keccak

from medchain.consent import ConsentClient
from medchain.consent.deploy import consent_args
from medchain.consent.migrate import migrate
from medchain.errors import DeploymentMismatch
from medchain.governance import GovernanceClient, ProposalNotReady, ProposalState
from medchain.governance.demo import advance_to
from medchain.governance.deploy import GOVERNOR, TIMELOCK
from medchain.governance.switch import (
    DependentsPinned,
    MigrationUnfinished,
    NotASuccessor,
    NotMigrated,
    SuccessorNotGoverned,
    propose_switch,
    switches_in,
)

# (grantee role, scope, purpose) of the patient's provisions in v1; a deny among them.
GRANTS = (("provider", "Observation", "TREAT"), ("researcher", "Condition", "HRESCH"),
          ("provider", "Condition", "TREAT"))  # fmt: skip
ASKED = [(grantee, scope, purpose) for grantee in ("provider", "researcher")
         for scope in ("Observation", "Condition", "MedicationRequest")
         for purpose in ("TREAT", "HRESCH")]  # fmt: skip


@pytest.fixture(scope="module")
def provisions(governed, roles):
    """v1's provisions: the patient grants three keys and denies one."""
    from ape import chain

    patient = roles["patient"]
    consent = ConsentClient(governed.contracts["ConsentRegistry"])
    end = chain.pending_timestamp + 90 * 86_400
    for grantee, scope, purpose in GRANTS:
        consent.grant(patient, roles[grantee], scope, "read", purpose, 0, end, sender=patient)
    consent.grant(patient, roles["researcher"], "Observation", "read", "HRESCH", deny=True,
                  sender=patient)  # fmt: skip
    return len(GRANTS) + 1


@pytest.fixture
def book_copy(book, tmp_path):
    """This test's copy of the module's book (an executed switch writes it; the chain is
    reverted after each test, files are not)."""
    from medchain.deployments import AddressBook

    shutil.copytree(book.path, tmp_path / "book")
    return AddressBook(tmp_path / "book")


@pytest.fixture
def gov_copy(governed, book_copy):
    return GovernanceClient(governed.contracts[GOVERNOR], book=book_copy)


def consent_v2(governed, deployer, project, admin=None, predecessor=None):
    """A ConsentRegistry version after the deployed one, administered by the timelock."""
    args = consent_args(
        governed.contracts["DIDRegistry"].address,
        admin or governed.contracts[TIMELOCK].address,
        predecessor or governed.contracts["ConsentRegistry"].address,
    )
    return deployer.deploy(project.ConsentRegistry, *args)


def answers(book, roles) -> dict:
    consent = ConsentClient.connect(book=book)  # whichever version the book names
    return {
        (grantee, scope, purpose): consent.check(
            roles["patient"], roles[grantee], scope, "read", purpose
        )
        for grantee, scope, purpose in ASKED
    }


def take_through(gov, pid, member1, member2, *, execute=True):
    advance_to(gov.proposal(pid).voting_starts_at)
    gov.vote(pid, "for", sender=member1)
    gov.vote(pid, "for", sender=member2)
    advance_to(gov.proposal(pid).voting_ends_at + 1)
    gov.queue(pid, sender=member1)
    if execute:
        advance_to(gov.proposal(pid).executable_at)
        gov.execute(pid, sender=member1)
        assert gov.state(pid) == ProposalState.Executed


def test_a_migrated_consent_registry_is_switched_with_its_dependents(
    governed, provisions, roles, gov_copy, book_copy, deployer, project, member1, member2
):
    gov, book = gov_copy, book_copy
    v1, records = governed.contracts["ConsentRegistry"], governed.contracts["RecordRegistry"]
    before = answers(book, roles)
    assert sum(before.values()) == 3  # the three grants, the deny answers False
    v2 = consent_v2(governed, deployer, project)
    report = migrate(v1, v2, roles["patient"])
    assert report.keys == provisions

    done = propose_switch(gov, "ConsentRegistry", v2.address, sender=member1)
    assert (done.old, done.new, done.state) == (v1.address, v2.address, "Pending")
    assert done.repointed == ["RecordRegistry.writeAuthorizer"]
    assert done.calls[1] == f"RecordRegistry.setWriteAuthorizer({v2.address})"
    assert done.migration == {"keys": provisions, "verified_keys": provisions, "skipped": 0}
    assert done.built_by_this_tree
    take_through(gov, done.proposal, member1, member2, execute=False)
    with pytest.raises(ProposalNotReady, match="is Queued: executable from"):
        gov.execute(done.proposal, sender=member1)  # the timelock's delay has not passed
    assert book.get("ConsentRegistry").address == v1.address
    assert records.writeAuthorizer() == v1.address
    advance_to(gov.proposal(done.proposal).executable_at)
    receipt = gov.execute(done.proposal, sender=roles["patient"])  # anyone executes

    record = book.get("ConsentRegistry")
    assert (
        record.address == v2.address
        and book.index()["contracts"]["ConsentRegistry"]["address"] == v2.address
    )
    [former] = record.versions
    assert former["address"] == v1.address and former["replaced_by"] == v2.address
    assert former["proposal"] == done.proposal
    assert former["switch_transaction_hash"] == str(receipt.txn_hash)
    assert former["switch_block_number"] == receipt.block_number
    assert record.block_number > former["block_number"]  # v2's own deploy block
    assert record.constructor_args[-1] == v1.address  # decoded from v2's creation code
    assert record.transaction_hash == str(v2.txn_hash) and record.deployer == deployer.address
    assert any(item.get("name") == "importProvisions" for item in record.abi)
    assert records.writeAuthorizer() == v2.address
    assert answers(book, roles) == before
    # A later deploy keeps the switched version and sends nothing.
    from medchain.deploy import deploy_all

    lines: list[str] = []
    nonce = deployer.nonce
    _, outcomes = deploy_all(deployer, book, accounts=roles, log=lines.append)
    assert {o.action for o in outcomes} == {"unchanged"} and deployer.nonce == nonce
    assert any("switched through governance" in line for line in lines), lines


def test_one_member_alone_cannot_switch(
    governed, provisions, roles, gov_copy, book_copy, deployer, project, member1
):
    v1, v2 = governed.contracts["ConsentRegistry"], consent_v2(governed, deployer, project)
    migrate(v1, v2, roles["patient"])
    done = propose_switch(gov_copy, "ConsentRegistry", v2.address, sender=member1)
    advance_to(gov_copy.proposal(done.proposal).voting_starts_at)
    gov_copy.vote(done.proposal, "for", sender=member1)
    advance_to(gov_copy.proposal(done.proposal).voting_ends_at + 1)
    with pytest.raises(ProposalNotReady, match=r"is Defeated: 1 for \(2 needed\)"):
        gov_copy.queue(done.proposal, sender=member1)
    with pytest.raises(ProposalNotReady, match="is Defeated"):
        gov_copy.execute(done.proposal, sender=member1)
    assert book_copy.get("ConsentRegistry").address == v1.address
    assert governed.contracts["RecordRegistry"].writeAuthorizer() == v1.address


def test_refusals_before_any_transaction(
    governed, provisions, roles, gov_copy, deployer, project, member1, chain
):
    v1 = governed.contracts["ConsentRegistry"]
    unmigrated = consent_v2(governed, deployer, project)
    migrated = consent_v2(governed, deployer, project)
    migrate(v1, migrated, roles["patient"])
    later = consent_v2(governed, deployer, project, predecessor=migrated.address)
    foreign = consent_v2(governed, deployer, project, admin=deployer.address)
    migrate(v1, foreign, roles["patient"])
    did_v2 = deployer.deploy(
        project.DIDRegistry,
        governed.contracts["DIDRegistry"].address,
        governed.contracts[TIMELOCK].address,
        0,  # no import deadline: the refusal tested here is about dependents
    )
    proposals = len(gov_copy.proposals())
    for contract, new, kind, text in (
        ("ConsentRegistry", later.address, NotASuccessor,
         f"migrates from {migrated.address}, not from the address book's ConsentRegistry"),
        ("ConsentRegistry", roles["patient"].address, NotASuccessor, "no contract at"),
        ("ConsentRegistry", governed.contracts["GenomicDataset"].address, NotASuccessor,
         "has no predecessor()"),
        ("ConsentRegistry", unmigrated.address, MigrationUnfinished,
         r"4 key\(s\) differ .*\(medchain consent migrate --from"),
        ("ConsentRegistry", foreign.address, SuccessorNotGoverned,
         f"default admin is {deployer.address}, not the governance timelock"),
        ("RecordRegistry", migrated.address, NotMigrated, "medchain admin upgrade"),
        ("DIDRegistry", did_v2.address, DependentsPinned,
         r"held immutably by 3 contract\(s\).*ConsentRegistry.didRegistry\(\) is immutable: "
         r"migrate it .*RecordRegistry.didRegistry\(\) is immutable: upgrade it .*"
         r"SerialRegistry.didRegistry\(\) is immutable: redeploy it"),
    ):  # fmt: skip
        nonce, head = member1.nonce, chain.blocks.head.number
        with pytest.raises(kind, match=text) as refused:
            propose_switch(gov_copy, contract, new, sender=member1)
        assert "\n" not in str(refused.value)
        assert (member1.nonce, chain.blocks.head.number) == (nonce, head), text
    assert len(gov_copy.proposals()) == proposals


def test_a_competing_switch_is_refused_once_the_first_ran(
    governed, provisions, roles, gov_copy, book_copy, deployer, project, member1, member2
):
    v1 = governed.contracts["ConsentRegistry"]
    first, second = (consent_v2(governed, deployer, project) for _ in range(2))
    for v2 in (first, second):
        migrate(v1, v2, roles["patient"])
    a = propose_switch(gov_copy, "ConsentRegistry", first.address, sender=member1)
    b = propose_switch(gov_copy, "ConsentRegistry", second.address, sender=member1)
    advance_to(gov_copy.proposal(b.proposal).voting_starts_at)
    for pid in (a.proposal, b.proposal):  # members carelessly pass both
        for member in (member1, member2):
            gov_copy.vote(pid, "for", sender=member)
    advance_to(gov_copy.proposal(b.proposal).voting_ends_at + 1)
    for pid in (a.proposal, b.proposal):
        gov_copy.queue(pid, sender=member1)
    advance_to(gov_copy.proposal(b.proposal).executable_at)
    gov_copy.execute(a.proposal, sender=member1)
    with pytest.raises(DeploymentMismatch, match=f"names {first.address} now"):
        gov_copy.execute(b.proposal, sender=member1)
    assert gov_copy.state(b.proposal) == ProposalState.Queued
    assert governed.contracts["RecordRegistry"].writeAuthorizer() == first.address
    assert len(switches_in(gov_copy.proposal(a.proposal).calls, book_copy)) == 0  # recorded


def test_a_trial_registry_switch_is_one_marker_call(
    governed, gov_copy, book_copy, deployer, project, member1, member2
):
    v1 = governed.contracts["TrialRegistry"]
    v2 = deployer.deploy(project.TrialRegistry, v1.address)
    done = propose_switch(gov_copy, "TrialRegistry", v2.address, sender=member1)
    assert done.repointed == [] and done.migration == {"imported": [], "left_behind": []}
    [call] = gov_copy.proposal(done.proposal).calls
    assert call["target"] == v2.address and call["data"] == keccak(text="predecessor()")[:4]
    take_through(gov_copy, done.proposal, member1, member2)
    record = book_copy.get("TrialRegistry")
    assert record.address == v2.address and [v["address"] for v in record.versions] == [v1.address]


def test_a_trial_moved_but_not_imported_holds_the_switch_back(
    governed, roles, gov_copy, book_copy, deployer, project, member1, member2
):
    """Trials moved to v2 must be imported there before the book moves; a trial its sponsor
    has not moved is listed as left behind, not refused (docs/upgrades.md)."""
    from medchain.trials import TrialsClient
    from medchain.trials import migrate as mig
    from support.trials import register_trial

    sponsor, ethics = roles["sponsor"], roles["ethics"]
    staff = [roles[r] for r in ("investigator", "investigator2", "monitor")]
    old = TrialsClient(governed.contracts["TrialRegistry"])
    new = TrialsClient(deployer.deploy(project.TrialRegistry, old.address))
    moved, stays = (register_trial(old, sponsor, ethics, *staff).trial_id for _ in range(2))
    mig.propose_move(old, moved, new.address, sender=sponsor)
    assert mig.approve_move(old, moved, new.address, sender=ethics)  # a board of one
    with pytest.raises(MigrationUnfinished, match=f"trial {moved} of .* is not imported there"):
        propose_switch(gov_copy, "TrialRegistry", new.address, sender=member1)
    new_id = mig.import_trial(new, old, moved, sender=deployer)
    done = propose_switch(gov_copy, "TrialRegistry", new.address, sender=member1)
    assert done.migration == {"imported": [moved], "left_behind": [stays]}
    take_through(gov_copy, done.proposal, member1, member2)
    assert book_copy.get("TrialRegistry").address == new.address
    assert int(TrialsClient.connect(book=book_copy).call("importedFrom", new_id)) == moved


@pytest.fixture(scope="module")
def did_only(deployer, roles, tmp_path_factory):
    """A governed deploy of the DID registry alone (no contract built on it), so its switch
    is held back by nothing but its own migration."""
    from medchain.deploy import deploy_all
    from medchain.deployments import AddressBook
    from medchain.governance.deploy import GOVERNANCE_CONTRACTS, GovernanceConfig, hand_over
    from support.deploy import specs_for

    book = AddressBook(tmp_path_factory.mktemp("did-only") / "book")
    ctx, _ = deploy_all(
        deployer, book, specs=specs_for(("DIDRegistry", *GOVERNANCE_CONTRACTS)), accounts=roles,
        governance=GovernanceConfig.development(), log=lambda _: None,
    )  # fmt: skip
    hand_over(ctx, log=lambda _: None)
    return ctx, book


def test_a_did_registry_switch_waits_for_the_voted_import(
    did_only, roles, deployer, project, member1, member2
):
    """An identity's history not yet imported into v2 holds the switch back; once governance
    voted the history root and anyone imported it, the switch passes and the DID resolves
    the same through the book."""
    from ape import chain

    from medchain.governance import Call
    from medchain.identity import DIDRegistryClient
    from medchain.identity.migrate import history_root, import_histories

    ctx, book = did_only
    gov = GovernanceClient(ctx.contracts[GOVERNOR], book=book)
    old, patient = ctx.contracts["DIDRegistry"], roles["patient"]
    DIDRegistryClient(old).set_attribute(
        patient, "did/svc/HealthRecords", b"https://records.example", 86_400, sender=patient
    )
    deadline = chain.blocks.head.timestamp + 30 * 86_400  # docs/upgrades.md: the DID steps
    new = deployer.deploy(
        project.DIDRegistry, old.address, ctx.contracts[TIMELOCK].address, deadline
    )
    with pytest.raises(MigrationUnfinished, match=r"1 identit\(ies\) changed in .* delta root"):
        propose_switch(gov, "DIDRegistry", new.address, sender=member1)

    plan = history_root(chain.provider.web3, old.address, new.address)
    vote = Call(new.address, bytes(new.addHistoryRoot.encode_input(plan.root)), 0, "root")
    take_through(gov, gov.propose([vote], "Accept the DID history root", sender=member1),
                 member1, member2)  # fmt: skip
    import_histories(DIDRegistryClient(new, roles["lab"]), plan)  # anyone imports
    done = propose_switch(gov, "DIDRegistry", new.address, sender=member1)
    assert done.migration == {"identities": 1, "native": 0} and done.repointed == []
    take_through(gov, done.proposal, member1, member2)
    assert book.get("DIDRegistry").address == new.address
    assert DIDRegistryClient.connect(book=book).contract.address == new.address


def test_the_cli_proposes_a_switch(
    governed, provisions, roles, book_copy, deployer, project, monkeypatch, tmp_path, member1
):
    from medchain.cli import cli

    v1, v2 = governed.contracts["ConsentRegistry"], consent_v2(governed, deployer, project)
    migrate(v1, v2, roles["patient"])
    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MEDCHAIN_BOOK", str(book_copy.path))
    base = ["--network", "ethereum:local:test", "--account", "TEST::20"]
    out = CliRunner(mix_stderr=False).invoke(
        cli, ["admin", "switch", "ConsentRegistry", v2.address, "--description", "Consent v2",
              *base, "--json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output + out.stderr
    result = json.loads(out.stdout)
    assert (result["contract"], result["old"], result["new"]) == (
        "ConsentRegistry", v1.address, v2.address,
    )  # fmt: skip
    assert result["state"] == "Pending" and result["description"] == "Consent v2"
    assert result["next"][2] == f"medchain admin execute {result['proposal']} --account <any>"
    gov = GovernanceClient(governed.contracts[GOVERNOR], book=book_copy)
    calls = gov.proposal(result["proposal"]).calls
    assert [c["target"] for c in calls] == [
        v2.address,
        governed.contracts["RecordRegistry"].address,
    ]
    assert gov.proposal(result["proposal"]).proposer == str(member1.address)

    pid = result["proposal"]
    advance_to(gov.proposal(pid).voting_starts_at)
    for account in ("TEST::20", "TEST::21"):  # member1, member2
        voted = CliRunner(mix_stderr=False).invoke(
            cli, ["admin", "vote", pid, "for", "--network", "ethereum:local:test",
                  "--account", account, "--json"],
        )  # fmt: skip
        assert voted.exit_code == 0, voted.output + voted.stderr
    advance_to(gov.proposal(pid).voting_ends_at + 1)
    queued = CliRunner(mix_stderr=False).invoke(cli, ["admin", "queue", pid, *base, "--json"])
    assert json.loads(queued.stdout)["state"] == "Queued", queued.stderr
    early = CliRunner(mix_stderr=False).invoke(cli, ["admin", "execute", pid, *base, "--json"])
    assert early.exit_code == 1 and "is Queued: executable from" in early.stderr
    assert early.stderr.strip().count("\n") == 0
    advance_to(gov.proposal(pid).executable_at)
    executed = CliRunner(mix_stderr=False).invoke(cli, ["admin", "execute", pid, *base, "--json"])
    assert executed.exit_code == 0, executed.output + executed.stderr
    step = json.loads(executed.stdout)
    assert step["state"] == "Executed" and step["upgrades"] == []
    assert step["switches"] == [
        {"contract": "ConsentRegistry", "address": v2.address, "former": v1.address,
         "versions": 1}
    ]  # fmt: skip
    assert book_copy.get("ConsentRegistry").address == v2.address

    refused = CliRunner(mix_stderr=False).invoke(
        cli, ["admin", "switch", "ConsentRegistry", v2.address, *base, "--json"]
    )
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    line = refused.stderr.strip()
    assert line.count("\n") == 0 and "names" in line and "as ConsentRegistry already" in line
