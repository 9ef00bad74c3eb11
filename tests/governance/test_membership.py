"""Consortium membership: one soulbound vote per member; members join and leave, and M
changes, only through governance; nothing leaves fewer members than approvals needed."""

from __future__ import annotations

import pytest

from medchain.errors import ContractRevert, translate_errors
from medchain.governance import ProposalNotReady, ProposalState
from medchain.governance.demo import advance_to


def _as(sender, contract, method, *args):
    with translate_errors(contract.contract_type.name, contract.contract_type):
        # by ABI name: `delegate` is also an attribute of ape's contract instance
        handler = contract._mutable_methods_.get(method) or getattr(contract, method)
        return handler(*args, sender=sender)


def test_founders_hold_one_self_delegated_vote_each(membership, gov, member1, member2, member3):
    founders = {str(m.address) for m in (member1, member2, member3)}
    assert set(gov.members()) == founders
    assert membership.memberCount() == 3
    for member in (member1, member2, member3):
        assert membership.getVotes(member.address) == 1
        assert str(membership.delegates(member.address)) == str(member.address)
    assert membership.CLOCK_MODE() == "mode=timestamp"
    settings = gov.settings()
    assert (settings["min_approvals"], settings["member_count"]) == (2, 3)


def test_membership_cannot_be_transferred_approved_or_delegated(membership, member1, member2):
    token = int(str(member1.address), 16)
    with pytest.raises(ContractRevert, match="ConsortiumMembershipSoulbound"):
        _as(member1, membership, "transferFrom", member1.address, member2.address, token)
    with pytest.raises(ContractRevert, match="ConsortiumMembershipSoulbound"):
        _as(member1, membership, "approve", member2.address, token)
    with pytest.raises(ContractRevert, match="ConsortiumMembershipSoulbound"):
        _as(member1, membership, "setApprovalForAll", member2.address, True)
    with pytest.raises(ContractRevert, match="ConsortiumMembershipDelegationFixed"):
        _as(member1, membership, "delegate", member2.address)
    assert membership.getVotes(member2.address) == 1


def test_only_governance_adds_or_removes_members(membership, member1, roles, deployer):
    patient = roles["patient"]
    for sender in (member1, deployer):
        with pytest.raises(ContractRevert, match="ConsortiumMembershipNotGovernance"):
            _as(sender, membership, "addMember", patient.address)
        with pytest.raises(ContractRevert, match="ConsortiumMembershipNotGovernance"):
            _as(sender, membership, "removeMember", member1.address)


def test_members_join_and_leave_through_governance(gov, membership, passed, roles, member3):
    patient = roles["patient"]
    passed([gov.propose_call("ConsortiumMembership", "addMember", [patient.address])],
           "The patients' association joins")  # fmt: skip
    assert membership.isMember(patient.address) and membership.memberCount() == 4
    advance_to(int(gov.call("clock")) + 1)  # its vote counts from the next second on
    assert gov.propose(
        [gov.propose_call("RecordRegistry", "setWriteAuthorizer", [patient.address])],
        "A new member proposes", sender=patient,
    )  # fmt: skip
    passed([gov.propose_call("ConsortiumMembership", "removeMember", [member3.address])],
           "Member 3 leaves")  # fmt: skip
    assert not membership.isMember(member3.address)
    assert membership.getVotes(member3.address) == 0


def test_governance_cannot_leave_fewer_members_than_approvals(
    gov, voted, member1, member2, member3
):
    calls = [gov.propose_call("ConsortiumMembership", "removeMember", [m.address])
             for m in (member2, member3)]  # fmt: skip
    pid = voted(calls, "Member 1 alone remains")
    gov.queue(pid, sender=member1)
    advance_to(gov.proposal(pid).executable_at)
    with pytest.raises(
        ContractRevert, match=r"ConsortiumGovernorTooFewMembers\(members=1, minApprovals=2\)"
    ):
        gov.execute(pid, sender=member1)
    assert gov.state(pid) == ProposalState.Queued


def test_m_changes_only_through_governance_and_applies_to_later_proposals(
    gov, passed, voted, member1, member3
):
    with pytest.raises(ContractRevert, match="GovernorOnlyExecutor"):
        gov.transact("setMinApprovals", 1, sender=member1)
    with pytest.raises(ContractRevert, match="ConsortiumGovernorInvalidMinApprovals"):
        passed([gov.propose_call("ConsortiumGovernor", "setMinApprovals", [4])], "4 of 3")
    passed([gov.propose_call("ConsortiumGovernor", "setMinApprovals", [3])], "Unanimity")
    assert int(gov.call("minApprovals")) == 3
    call = gov.propose_call("RecordRegistry", "setWriteAuthorizer", [member1.address])
    pid = voted([call], "Two are no longer enough")
    with pytest.raises(ProposalNotReady, match=r"2 for \(3 needed\)"):
        gov.queue(pid, sender=member3)
