"""Consortium governance with real transactions on the in-process chain: 2 of 3 members
change a role on RecordRegistry and the break-glass threshold on ConsentRegistry through
propose, votes, queue, the timelock's delay and execute; one member alone, an abstention,
a non-member, an early execute and the former deployer are each refused."""

from __future__ import annotations

import pytest

from medchain.errors import ConfigurationError, ContractRevert
from medchain.governance import NotAMember, ProposalNotReady, ProposalState
from medchain.governance.demo import advance_to
from medchain.governance.deploy import DEFAULT_ADMIN_ROLE, GovernanceConfig

ADMIN = DEFAULT_ADMIN_ROLE


def test_the_deploy_hands_every_admin_to_the_timelock(governed, timelock, deployer, gov):
    tl = str(timelock.address)
    for name in ("RecordRegistry", "GenomicLicensing", "GenomicDataset", "EligibilityRegistry"):
        contract = governed.contracts[name]
        assert contract.hasRole(ADMIN, tl), name
        assert not contract.hasRole(ADMIN, deployer.address), name
    for name in ("ConsentRegistry", "SerialRegistry"):  # two-step: governance accepts later
        pending, _ = governed.contracts[name].pendingDefaultAdmin()
        assert str(pending) == tl, name
    governor = str(gov.address)
    for role in (timelock.PROPOSER_ROLE(), timelock.CANCELLER_ROLE(), timelock.EXECUTOR_ROLE()):
        assert timelock.hasRole(role, governor)
        assert not timelock.hasRole(role, deployer.address)
    assert timelock.hasRole(ADMIN, tl) and not timelock.hasRole(ADMIN, deployer.address)
    assert governed.contracts["ConsentRegistry"].hasRole(
        governed.contracts["ConsentRegistry"].CLINICIAN_ROLE(), governed.accounts["provider"]
    )  # operational roles stay where the specs put them


def test_two_of_three_grant_a_role_on_record_registry(gov, governed, passed, roles):
    privacy_officer = roles["privacy_officer"]
    records = governed.contracts["RecordRegistry"]
    call = gov.propose_call(
        "RecordRegistry", "grantRole", ["DEFAULT_ADMIN_ROLE", privacy_officer.address]
    )
    assert not records.hasRole(ADMIN, privacy_officer.address)
    passed([call], "Make the privacy officer a records admin")
    assert records.hasRole(ADMIN, privacy_officer.address)


def test_two_of_three_accept_consent_admin_and_change_the_threshold(
    gov, governed, passed, timelock, deployer
):
    consent = governed.contracts["ConsentRegistry"]
    _, accept_from = consent.pendingDefaultAdmin()
    advance_to(int(accept_from) + 1)  # the registry's own admin delay (3 days) first
    accept = gov.accept_admin_call("ConsentRegistry")
    threshold = gov.propose_call("ConsentRegistry", "setBreakGlassThreshold", ["3"])
    passed([accept, threshold], "Consent: governance takes the admin; 3 approvers for break-glass")
    assert str(consent.defaultAdmin()) == str(timelock.address)
    assert consent.breakGlassThreshold() == 3
    with pytest.raises(ContractRevert, match="AccessControlUnauthorizedAccount"):
        _as(deployer, consent, "setBreakGlassThreshold", 2)


def test_one_member_alone_is_defeated_and_refused(gov, voted, member1):
    call = gov.propose_call("GenomicLicensing", "setPlatformFee", [member1.address, "1000"])
    pid = voted([call], "Member 1 takes the platform fee", [(member1, "for")])
    assert gov.state(pid) == ProposalState.Defeated
    with pytest.raises(ProposalNotReady, match=r"is Defeated: 1 for \(2 needed\), 0 against"):
        gov.queue(pid, sender=member1)
    with pytest.raises(ContractRevert, match="GovernorUnexpectedProposalState"):
        gov.transact("queue", pid, sender=member1)
    with pytest.raises(ContractRevert, match="GovernorUnexpectedProposalState"):
        gov.transact("execute", pid, sender=member1)


def test_an_abstention_does_not_count_towards_the_approvals(gov, voted, member1, member2):
    call = gov.propose_call("RecordRegistry", "setWriteAuthorizer", [member1.address])
    pid = voted([call], "Records write authorizer", [(member1, "for"), (member2, "abstain")])
    assert gov.state(pid) == ProposalState.Defeated


def test_execute_before_the_delay_is_refused(gov, member1, member2, governed):
    call = gov.propose_call("EligibilityRegistry", "grantRole", ["ISSUER_ROLE", member2.address])
    pid = gov.propose([call], "Member 2 issues eligibility credentials", sender=member1)
    with pytest.raises(ProposalNotReady, match="is Pending: voting starts at"):
        gov.vote(pid, "for", sender=member1)
    advance_to(gov.proposal(pid).voting_starts_at)
    gov.vote(pid, "for", sender=member1)
    gov.vote(pid, "for", sender=member2)
    with pytest.raises(ProposalNotReady, match="is Active: voting ends at"):
        gov.queue(pid, sender=member1)
    advance_to(gov.proposal(pid).voting_ends_at + 1)
    with pytest.raises(ProposalNotReady, match="queue it first"):
        gov.execute(pid, sender=member1)
    gov.queue(pid, sender=member1)
    with pytest.raises(ProposalNotReady, match="is Queued: executable from"):
        gov.execute(pid, sender=member1)
    with pytest.raises(ContractRevert, match="TimelockUnexpectedOperationState"):
        gov.transact("execute", pid, sender=member1)
    advance_to(gov.proposal(pid).executable_at)
    gov.execute(pid, sender=member1)
    registry = governed.contracts["EligibilityRegistry"]
    assert registry.hasRole(registry.ISSUER_ROLE(), member2.address)


def test_a_non_member_can_neither_propose_nor_vote(gov, member1, roles):
    patient = roles["patient"]
    call = gov.propose_call("RecordRegistry", "setWriteAuthorizer", [patient.address])
    with pytest.raises(NotAMember, match="only members propose"):
        gov.propose([call], "The patient proposes", sender=patient)
    args = ([call.target], [0], [call.data], "The patient proposes")
    with pytest.raises(ContractRevert, match="GovernorInsufficientProposerVotes"):
        gov.transact("propose", *args, sender=patient)
    pid = gov.propose([call], "A member proposes", sender=member1)
    advance_to(gov.proposal(pid).voting_starts_at)
    with pytest.raises(NotAMember, match="held no membership"):
        gov.vote(pid, "for", sender=patient)
    with pytest.raises(ContractRevert, match="ConsortiumGovernorNotAMember"):
        gov.transact("castVote", pid, 1, sender=patient)


def test_a_member_votes_once_and_a_proposal_is_made_once(gov, member1):
    call = gov.propose_call("RecordRegistry", "setWriteAuthorizer", [member1.address])
    pid = gov.propose([call], "Once", sender=member1)
    with pytest.raises(ProposalNotReady, match="exists already and is Pending"):
        gov.propose([call], "Once", sender=member1)
    advance_to(gov.proposal(pid).voting_starts_at)
    gov.vote(pid, "against", sender=member1)
    with pytest.raises(ProposalNotReady, match="has voted"):
        gov.vote(pid, "for", sender=member1)


def test_the_former_deployer_is_refused_everywhere(governed, deployer, timelock, gov):
    c = governed.contracts
    refusals = [
        (c["RecordRegistry"], "setWriteAuthorizer", (deployer.address,)),
        (c["GenomicLicensing"], "setPlatformFee", (deployer.address, 0)),
        (c["GenomicDataset"], "grantRole", (c["GenomicDataset"].PRODUCER_ROLE(), deployer.address)),
        (
            c["EligibilityRegistry"],
            "grantRole",
            (c["EligibilityRegistry"].ISSUER_ROLE(), deployer.address),
        ),
        (timelock, "grantRole", (timelock.PROPOSER_ROLE(), deployer.address)),
        (timelock, "schedule", (deployer.address, 0, b"", b"\0" * 32, b"\0" * 32, 600)),
    ]
    for contract, method, args in refusals:
        with pytest.raises(ContractRevert, match="AccessControlUnauthorizedAccount"):
            _as(deployer, contract, method, *args)
    with pytest.raises(ContractRevert, match="GovernorOnlyExecutor"):
        gov.transact("setMinApprovals", 1, sender=deployer)


def test_a_governed_rerun_sends_nothing_and_refuses_deployer_grants(
    governed, book, deployer, roles
):
    patient = roles["patient"]
    from ape import chain

    from medchain.deploy import RoleGrant, assign_roles, deploy_all
    from medchain.governance.deploy import GOVERNANCE_CONTRACTS, hand_over
    from support.deploy import specs_for

    names = [n for n in governed.contracts if n not in GOVERNANCE_CONTRACTS]
    height = chain.blocks.height
    ctx, outcomes = deploy_all(
        deployer, book, specs=specs_for((*names, *GOVERNANCE_CONTRACTS)), accounts=roles,
        governance=GovernanceConfig.development(), log=lambda _: None,
    )  # fmt: skip
    actions = {o.action for o in hand_over(ctx, log=lambda _: None)}
    assert {o.action for o in outcomes} == {"unchanged"}
    assert actions <= {"governed", "transfer pending"}
    assert chain.blocks.height == height
    grant = RoleGrant("EligibilityRegistry", "ISSUER_ROLE", "patient", str(patient.address))
    with pytest.raises(ConfigurationError, match="no longer administers EligibilityRegistry"):
        assign_roles(ctx, [grant], log=lambda _: None)


def test_deploy_fresh_governed_flag(deployer, roles):
    from support.deploy import deploy_fresh

    ctx = deploy_fresh(deployer, "RecordRegistry", accounts=roles, governed=True)
    records, timelock = ctx.contracts["RecordRegistry"], ctx.contracts["ConsortiumTimelock"]
    assert records.hasRole(ADMIN, timelock.address)
    assert not records.hasRole(ADMIN, deployer.address)
    plain = deploy_fresh(deployer, "RecordRegistry")
    assert plain.contracts["RecordRegistry"].hasRole(ADMIN, deployer.address)
    assert "ConsortiumGovernor" not in plain.contracts


def _as(sender, contract, method, *args):
    """A direct call of `method` by `sender`, refusals decoded as the SDK does."""
    from medchain.errors import translate_errors

    with translate_errors(contract.contract_type.name, contract.contract_type):
        return getattr(contract, method)(*args, sender=sender)


def test_an_ungoverned_book_says_how_to_deploy_governance(deployed, book_dir):
    """The session's deploy is ungoverned: binding the governor names the governed deploy,
    not the plain `ape run deploy` that the book already had."""
    from medchain.deployments import AddressBook
    from medchain.errors import DeploymentNotFound
    from medchain.governance import GovernanceClient

    with pytest.raises(DeploymentNotFound, match=r"deployed without governance: .*--governance"):
        GovernanceClient.connect(AddressBook(book_dir / "session"))
