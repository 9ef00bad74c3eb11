"""The emergency guardian's pause (issue 14) with real transactions on the in-process chain:
a governed deploy whose governance file names a guardian gives it GUARDIAN_ROLE on
RecordRegistry, GenomicDataset, GenomicLicensing and EligibilityRegistry before the admin
moves to the timelock. Paused, every write of each contract is refused with EnforcedPause,
every read answers as before and the listed withdrawals (erasure, an owner's own dataset
pause and retirement, revoking approvals and key agents, closing offers, disputes, refunds,
withdrawals, credential revocation) still work. Nobody else can pause; the guardian can do
nothing but pause; governance unpauses by a proposal (the deployer's admin on an ungoverned
deploy), and governance upgrades a paused RecordRegistry."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from medchain.errors import ContractRevert
from medchain.governance import GovernanceClient, ProposalState
from medchain.governance.client import (
    AlreadyPaused,
    NotAdmin,
    NotGuardian,
    NotPausable,
    NotPaused,
    admin_unpause,
    guardian_pause,
    pause_status,
)
from medchain.governance.demo import advance_to
from medchain.governance.deploy import GOVERNOR, TIMELOCK, GovernanceConfig, pausable
from medchain.governance.upgrade import propose_upgrade
from support.fuzzing import property_settings
from support.genomics import HMB, Market, refuses, travel
from support.records import OBS, ZERO, cid_bytes, rid

PAUSABLE = ("EligibilityRegistry", "GenomicDataset", "GenomicLicensing", "RecordRegistry")
ADMIN = b"\0" * 32
DUMMY_PROOF = ([1, 2], [[3, 4], [5, 6]], [7, 8])


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    from medchain.deployments import AddressBook

    return AddressBook(tmp_path_factory.mktemp("paused") / "book")


@pytest.fixture(scope="module")
def governed(deployer, roles, guardian, book):
    """The pausable contracts (and ConsentRegistry, which has no pause) deployed governed
    with `guardian` in the governance config, and handed over."""
    from medchain.deploy import deploy_all
    from medchain.governance.deploy import GOVERNANCE_CONTRACTS, hand_over
    from support.deploy import specs_for

    config = dataclasses.replace(GovernanceConfig.development(), guardian=str(guardian.address))
    names = (*PAUSABLE, "ConsentRegistry", *GOVERNANCE_CONTRACTS)
    ctx, _ = deploy_all(
        deployer, book, specs=specs_for(names), accounts=roles, governance=config,
        log=lambda _: None,
    )  # fmt: skip
    outcomes = hand_over(ctx, log=lambda _: None)
    assert {(o.contract, o.action) for o in outcomes if o.action.startswith("guardian")} == {
        (name, "guardian granted") for name in PAUSABLE
    }
    return ctx


@pytest.fixture(scope="module")
def gov(governed, book):
    return GovernanceClient(governed.contracts[GOVERNOR], book=book)


def c(governed: Any, name: str) -> Any:
    return governed.contracts[name]


def passed(gov: GovernanceClient, pid: int, member1: Any, member2: Any) -> None:
    """Two members vote for `pid`; it is queued, waits out the timelock and executes."""
    advance_to(gov.proposal(pid).voting_starts_at)
    gov.vote(pid, "for", sender=member1)
    gov.vote(pid, "for", sender=member2)
    advance_to(gov.proposal(pid).voting_ends_at + 1)
    gov.queue(pid, sender=member1)
    advance_to(gov.proposal(pid).executable_at)
    gov.execute(pid, sender=member1)
    assert gov.state(pid) == ProposalState.Executed


def paused_refusal(call: Any) -> None:
    with refuses("EnforcedPause"):
        call()


def refusal_of(call: Any) -> str:
    """The name of the custom error `call` reverts with (it must revert)."""
    from medchain.errors import translate_errors

    with pytest.raises(ContractRevert) as info, translate_errors("EligibilityRegistry"):
        call()
    return info.value.error_name


def pause_all(governed: Any, guardian: Any, book: Any) -> None:
    for name in PAUSABLE:
        guardian_pause(name, guardian, book)
        assert c(governed, name).paused()


# ---------------------------------------------------------------------- wiring
def test_the_guardian_holds_only_the_guardian_role(governed, guardian, deployer, book):
    assert sorted(pausable(governed)) == list(PAUSABLE)  # ConsentRegistry has no pause
    timelock = str(c(governed, TIMELOCK).address)
    for name in PAUSABLE:
        contract = c(governed, name)
        assert contract.hasRole(contract.GUARDIAN_ROLE(), guardian.address)
        assert contract.GUARDIAN_ROLE() == keccak(b"GUARDIAN_ROLE")
        assert not contract.hasRole(ADMIN, guardian.address)
        assert contract.hasRole(ADMIN, timelock) and not contract.hasRole(ADMIN, deployer.address)
    assert [r["paused"] for r in pause_status(book)] == [False] * len(PAUSABLE)
    with pytest.raises(NotPausable, match="ConsentRegistry has no emergency pause"):
        guardian_pause("ConsentRegistry", guardian, book)


def test_governance_file_reads_the_guardian(tmp_path, guardian):
    path = tmp_path / "consortium.toml"
    path.write_text(f'[governance]\nmembers = []\nguardian = "{guardian.address}"\n')
    config = GovernanceConfig.from_file(path)
    assert config.guardian_address() == str(guardian.address)
    path.write_text("[governance]\nguardian = 7\n")
    from medchain.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="guardian must be one address"):
        GovernanceConfig.from_file(path)


# ---------------------------------------------------------------------- RecordRegistry
def _anchor(registry: Any, patient: Any, provider: Any, tag: bytes) -> bytes:
    salt = keccak(tag)
    req = (patient.address, salt, OBS, 1, cid_bytes(salt), keccak(salt), ZERO)
    registry.anchorRecord(req, [(provider.address, cid_bytes(b"env" + salt))], sender=patient)
    return rid(patient, req)


def _record_reads(registry: Any, record: bytes, patient: Any, provider: Any) -> tuple:
    return (
        registry.getRecord(record), registry.exists(record), registry.supersededBy(record),
        registry.envelopeOf(record, provider.address), registry.canWrite(patient, patient, OBS),
        registry.canShare(record, patient), registry.canSupersede(record, patient),
        registry.writeAuthorizer(), registry.didRegistry(),
    )  # fmt: skip


def test_paused_records_refuse_writes_answer_reads_and_erase(
    governed, guardian, patient, provider, researcher, book
):
    registry = c(governed, "RecordRegistry")
    kept, erased = (_anchor(registry, patient, provider, t) for t in (b"kept", b"erased"))
    before = _record_reads(registry, kept, patient, provider)
    receipt = guardian_pause("RecordRegistry", guardian, book)
    assert [dict(e.event_arguments) for e in registry.Paused.from_receipt(receipt)] == [
        {"account": guardian.address}
    ]
    salt = keccak(b"new")
    req = (patient.address, salt, OBS, 1, cid_bytes(salt), keccak(salt), ZERO)
    paused_refusal(lambda: registry.anchorRecord(req, [], sender=patient))
    paused_refusal(
        lambda: registry.addEnvelope(kept, researcher.address, cid_bytes(b"x"), sender=patient)
    )
    assert _record_reads(registry, kept, patient, provider) == before
    registry.eraseRecord(erased, sender=patient)  # the patient's erasure never waits
    assert registry.erasedAt(erased) > 0


# ---------------------------------------------------------------------- genomics
def test_paused_genomics_refuse_writes_and_keep_every_withdrawal(
    governed, guardian, patient, researcher, lab, deployer, chain, book
):
    token, market = c(governed, "GenomicDataset"), c(governed, "GenomicLicensing")
    m = Market(token, market, lab)
    delivered_ds, pending_ds, paid_ds, spare_ds = (m.list(patient) for _ in range(4))
    delivered = m.buy(researcher, m.offer(patient, delivered_ds))
    m.deliver(patient, delivered)
    pending = m.buy(researcher, m.offer(patient, pending_ds))
    paid = m.buy(researcher, m.offer(patient, paid_ds))
    m.deliver(patient, paid)
    market.acceptKey(paid, sender=researcher)  # credits the owner's balance
    open_offer = m.offer(patient, spare_ds)
    token.setApprovalForAll(deployer.address, True, sender=patient)
    token.approve(deployer.address, spare_ds, sender=patient)
    market.setKeyAgent(deployer.address, True, sender=patient)
    reads = lambda: (  # noqa: E731
        token.dataset(spare_ds), token.ownerOf(spare_ds), token.tokenURI(spare_ds),
        token.totalListed(), token.royaltyInfo(spare_ds, 10_000), market.offer(open_offer),
        market.licence(delivered), market.escrowOf(pending), market.platformFee(),
        market.isLicensed(delivered_ds, researcher.address, HMB),
        market.balanceOf(patient.address, "0x" + "00" * 20),
    )  # fmt: skip
    before = reads()
    pause_all(governed, guardian, book)
    assert reads() == before

    # every write is refused
    paused_refusal(lambda: m.list(patient))
    token.pause(spare_ds, sender=patient)  # the owner's own withdrawal from sale: open
    paused_refusal(lambda: token.resume(spare_ds, sender=patient))
    paused_refusal(lambda: token.transferFrom(patient, researcher, spare_ds, sender=patient))
    paused_refusal(lambda: token.safeTransferFrom(patient, researcher, spare_ds, sender=patient))
    paused_refusal(lambda: token.approve(researcher.address, spare_ds, sender=patient))
    paused_refusal(lambda: token.setApprovalForAll(researcher.address, True, sender=patient))
    paused_refusal(lambda: m.offer(patient, delivered_ds))
    paused_refusal(lambda: market.setKeyAgent(researcher.address, True, sender=patient))
    paused_refusal(lambda: m.deliver(patient, pending))
    paused_refusal(lambda: market.acceptKey(delivered, sender=researcher))
    paused_refusal(lambda: market.purchase(open_offer, HMB, 2**40, b"", sender=researcher))
    paused_refusal(lambda: market.resolveDispute(delivered, True, sender=deployer))

    # every withdrawal still works
    token.approve("0x" + "00" * 20, spare_ds, sender=patient)
    token.setApprovalForAll(deployer.address, False, sender=patient)
    market.setKeyAgent(deployer.address, False, sender=patient)
    market.closeOffer(open_offer, sender=patient)
    token.retire(spare_ds, sender=patient)
    market.disputeKey(delivered, sender=researcher)  # inside its review window
    market.withdraw("0x" + "00" * 20, sender=patient)
    travel(chain, int(market.licence(pending).deadline) - chain.pending_timestamp + 1)
    market.refund(pending, sender=researcher)
    paused_refusal(lambda: market.releaseEscrow(delivered, sender=patient))
    assert token.datasetState(spare_ds) == 3  # Retired
    assert not token.isApprovedForAll(patient.address, deployer.address)
    assert market.licence(pending).status == 5  # Refunded


# ---------------------------------------------------------------------- EligibilityRegistry
def test_paused_eligibility_refuses_issue_and_verify_but_revokes(
    governed, guardian, provider, book
):
    from medchain.zk.model import IssuerTree

    registry = c(governed, "EligibilityRegistry")
    leaves = [11, 22]
    registry.issueBatch(leaves, sender=provider)
    size, root, seq, valid_from = registry.tree(provider.address)
    check = (provider.address, provider.address, 1, 2, root, 3, registry.chainDate(), DUMMY_PROOF)
    answer = refusal_of(lambda: registry.checkEligibility(*check))
    assert answer != "EnforcedPause"
    guardian_pause("EligibilityRegistry", guardian, book)
    paused_refusal(lambda: registry.issue(33, sender=provider))
    paused_refusal(lambda: registry.issueBatch([33, 44], sender=provider))
    paused_refusal(
        lambda: registry.verifyEligibility(
            provider.address, 1, 2, root, 3, registry.chainDate(), DUMMY_PROOF, sender=provider
        )
    )
    assert refusal_of(lambda: registry.checkEligibility(*check)) == answer  # as before
    assert registry.tree(provider.address) == (size, root, seq, valid_from)
    assert registry.rootSeqOf(provider.address, root) == seq
    tree = IssuerTree(leaves)
    registry.revoke(1, 22, tree.path(1), sender=provider)  # a revocation never waits
    assert registry.tree(provider.address)[3] == seq + 1  # every earlier root is void


# ---------------------------------------------------------------------- who may pause
@pytest.mark.parametrize("name", PAUSABLE)
def test_only_the_guardian_pauses(governed, name, deployer, member1, patient, book):
    contract = c(governed, name)
    for intruder in (deployer, member1, patient):
        with pytest.raises(NotGuardian, match=f"{intruder.address} is not the guardian of {name}"):
            guardian_pause(name, intruder, book)
        with refuses("AccessControlUnauthorizedAccount", account=intruder.address):
            contract.pause(sender=intruder)
    assert not contract.paused()


def test_the_guardian_can_do_nothing_but_pause(governed, guardian, project, book):
    pause_all(governed, guardian, book)
    for name in PAUSABLE:
        contract = c(governed, name)
        with pytest.raises(AlreadyPaused):
            guardian_pause(name, guardian, book)
        with refuses("EnforcedPause"):
            contract.pause(sender=guardian)
        with pytest.raises(NotAdmin, match=f"not the admin of {name}: only governance"):
            admin_unpause(name, guardian, book)
        with refuses("AccessControlUnauthorizedAccount", account=guardian.address):
            contract.unpause(sender=guardian)
        for role in (ADMIN, contract.GUARDIAN_ROLE()):
            with refuses("AccessControlUnauthorizedAccount", account=guardian.address):
                contract.grantRole(role, guardian.address, sender=guardian)
        assert contract.paused()
    records, market = c(governed, "RecordRegistry"), c(governed, "GenomicLicensing")
    v2 = project.RecordRegistryV2.deploy(records.didRegistry(), sender=guardian)
    admin_refusals = [
        lambda: records.upgradeToAndCall(v2.address, b"", sender=guardian),
        lambda: records.setWriteAuthorizer(guardian.address, sender=guardian),
        lambda: market.setPlatformFee(guardian.address, 0, sender=guardian),
        lambda: market.setCurrencyAllowed(v2.address, True, sender=guardian),
        lambda: market.resolveDispute(1, True, sender=guardian),
    ]
    for refused in admin_refusals:
        with refuses("AccessControlUnauthorizedAccount", account=guardian.address):
            refused()


# ---------------------------------------------------------------------- governance unpauses
def test_governance_unpauses_by_proposal_and_upgrades_while_paused(
    governed, gov, guardian, member1, member2, patient, provider, book
):
    registry = c(governed, "RecordRegistry")
    record = _anchor(registry, patient, provider, b"before the pause")
    with pytest.raises(NotPaused, match="RecordRegistry is not paused"):
        gov.propose_unpause("RecordRegistry", sender=member1)
    guardian_pause("RecordRegistry", guardian, book)

    # a paused registry is upgraded by governance (the fix), records intact, still paused
    done = propose_upgrade(gov, "RecordRegistry", "RecordRegistryV2", "fix while paused",
                           sender=member1)  # fmt: skip
    passed(gov, int(done.proposal, 16), member1, member2)
    from medchain.client import bind

    upgraded = bind(book.get("RecordRegistry"))
    assert upgraded.version() == 2 and upgraded.paused()
    assert upgraded.getRecord(record).patient == patient.address

    pid = gov.propose_unpause("RecordRegistry", sender=member1)
    passed(gov, pid, member1, member2)
    assert not registry.paused()
    _anchor(registry, patient, provider, b"after the unpause")


def test_ungoverned_admin_unpauses_directly(deployer, guardian, provider, roles):
    from support.deploy import deploy_fresh

    ctx = deploy_fresh(deployer, "EligibilityRegistry", accounts=roles)
    registry = ctx.contracts["EligibilityRegistry"]
    registry.grantRole(registry.GUARDIAN_ROLE(), guardian.address, sender=deployer)
    registry.pause(sender=guardian)
    with refuses("EnforcedPause"):
        registry.issue(5, sender=provider)
    with refuses("AccessControlUnauthorizedAccount", account=guardian.address):
        registry.unpause(sender=guardian)
    receipt = registry.unpause(sender=deployer)
    assert [dict(e.event_arguments) for e in registry.Unpaused.from_receipt(receipt)] == [
        {"account": deployer.address}
    ]
    registry.issue(5, sender=provider)
    with refuses("ExpectedPause"):
        registry.unpause(sender=deployer)


# ---------------------------------------------------------------------- CLI
def test_the_cli_pauses_lists_and_proposes_the_unpause(governed, gov, book, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from medchain.cli import cli
    from medchain.demo import ROLES

    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MEDCHAIN_BOOK", str(book.path))
    guardian, member1 = (f"TEST::{ROLES.index(r)}" for r in ("guardian", "member1"))

    def run(*args: str) -> Any:
        return CliRunner(mix_stderr=False).invoke(
            cli, ["admin", *args, "--network", "ethereum:local:test"]
        )

    done = run("pause", "RecordRegistry", "--account", guardian, "--json")
    assert done.exit_code == 0, done.output + done.stderr
    assert json.loads(done.stdout)["paused"] is True
    status = run("paused", "--json")
    assert {r["contract"]: r["paused"] for r in json.loads(status.stdout)} == {
        "EligibilityRegistry": False, "GenomicDataset": False, "GenomicLicensing": False,
        "RecordRegistry": True,
    }  # fmt: skip
    for args, text in (
        (("pause", "RecordRegistry", "--account", guardian), "RecordRegistry is paused already"),
        (
            ("pause", "GenomicDataset", "--account", member1),
            "is not the guardian of GenomicDataset",
        ),
        (("unpause", "RecordRegistry", "--account", guardian), "is not a consortium member"),
        (("unpause", "GenomicDataset", "--account", member1), "GenomicDataset is not paused"),
        (("pause", "ConsentRegistry", "--account", guardian), "ConsentRegistry has no emergency"),
    ):
        refused = run(*args)
        assert refused.exit_code == 1 and "Traceback" not in refused.output, refused.output
        line = refused.stderr.strip()
        assert line.count("\n") == 0 and text in line, line
    proposed = run("unpause", "RecordRegistry", "--account", member1, "--json")
    assert proposed.exit_code == 0, proposed.output + proposed.stderr
    result = json.loads(proposed.stdout)
    assert result["state"] == "Pending"
    [call] = gov.proposal(result["proposal"]).calls
    assert call["target"] == governed.contracts["RecordRegistry"].address
    assert call["data"][:4] == keccak(b"unpause()")[:4]


# ---------------------------------------------------------------------- property
ACTORS = ("guardian", "deployer", "provider", "patient")  # guardian, admin, issuer, nobody
ACTIONS = ("pause", "unpause", "issue", "revoke", "grant")


@pytest.fixture(scope="module")
def ungoverned(deployer, guardian, roles):
    """An ungoverned EligibilityRegistry (admin: the deployer; issuer: provider) with a
    guardian, and the leaves its issuer holds (kept across examples: no isolation inside)."""
    from support.deploy import deploy_fresh

    registry = deploy_fresh(deployer, "EligibilityRegistry", accounts=roles).contracts[
        "EligibilityRegistry"
    ]
    registry.grantRole(registry.GUARDIAN_ROLE(), guardian.address, sender=deployer)
    return registry, []


@property_settings(15)
@given(steps=st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(ACTORS)), max_size=10))
def test_hostile_order_of_pauses_unpauses_and_writes(ungoverned, roles, steps):
    """Whoever calls what in whatever order: only the guardian pauses, only the admin
    unpauses, writes land exactly while unpaused, revocations land paused or not, and the
    guardian's role never grows into anything else."""
    from medchain.zk.model import IssuerTree

    registry, leaves = ungoverned
    paused = bool(registry.paused())
    for action, actor in steps:
        denied = "AccessControlUnauthorizedAccount"
        index = -1
        if action == "pause":
            method, args = "pause", ()
            ok = actor == "guardian"
            expected = denied if not ok else "EnforcedPause" if paused else None
        elif action == "unpause":
            method, args = "unpause", ()
            ok = actor == "deployer"
            expected = denied if not ok else None if paused else "ExpectedPause"
        elif action == "issue":
            method, args = "issue", (1000 + len(leaves),)
            expected = denied if actor != "provider" else "EnforcedPause" if paused else None
        elif action == "revoke":
            live = [i for i, leaf in enumerate(leaves) if leaf]
            if not live:
                continue
            index = live[0]
            method = "revoke"
            args = (index, leaves[index], IssuerTree(list(leaves)).path(index))
            expected = None if actor == "provider" else denied  # paused or not
        else:  # grant: nobody but the admin hands out a role, the guardian least of all
            method, args = "grantRole", (registry.ISSUER_ROLE(), roles["provider"].address)
            expected = None if actor == "deployer" else denied
        send = getattr(registry, method)
        if expected is not None:
            with refuses(expected):
                send(*args, sender=roles[actor])
            continue
        send(*args, sender=roles[actor])
        if action in ("pause", "unpause"):
            paused = action == "pause"
        elif action == "issue":
            leaves.append(args[0])
        elif action == "revoke":
            leaves[index] = 0
        assert bool(registry.paused()) == paused
    assert bool(registry.paused()) == paused
    assert registry.tree(roles["provider"].address)[0] == len(leaves)
    assert not registry.hasRole(b"\0" * 32, roles["guardian"].address)
