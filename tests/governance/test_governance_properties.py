"""Hostile actors against the consortium's governance, as a property: whatever mix of
members and outsiders votes (for, against, abstain, twice, too early), a proposal passes
only with at least M = 2 distinct members for it and more for than against, runs only
after the timelock's delay, and an outsider's direct admin call never lands."""

from __future__ import annotations

import itertools

import pytest
from ape.exceptions import ContractLogicError
from hypothesis import example, given
from hypothesis import strategies as st

from medchain.errors import MedchainError
from medchain.governance import ProposalNotReady, ProposalState
from medchain.governance.demo import advance_to
from support.fuzzing import property_settings

ACTORS = ("member1", "member2", "member3", "patient", "researcher", "deployer")
MEMBERS = set(ACTORS[:3])
_run = itertools.count()

ballots = st.lists(
    st.tuples(st.sampled_from(ACTORS), st.sampled_from(("for", "against", "abstain"))),
    max_size=8,
)


@property_settings(8)
@given(ballots=ballots, hostile=st.sampled_from(ACTORS[3:]))
@example(  # the passing path, whatever the generated examples hold
    ballots=[("patient", "for"), ("member1", "for"), ("member1", "for"), ("member3", "for")],
    hostile="patient",
)
def test_only_m_distinct_members_pass_anything_and_only_after_the_delay(
    gov, governed, roles, ballots, hostile
):
    records = governed.contracts["RecordRegistry"]
    target = roles[hostile].address
    before = str(records.writeAuthorizer())
    call = gov.propose_call("RecordRegistry", "setWriteAuthorizer", [target])
    pid = gov.propose([call], f"Authorizer change #{next(_run)}", sender=roles["member1"])
    advance_to(gov.proposal(pid).voting_starts_at)
    counted: dict[str, str] = {}
    for actor, support in ballots:
        try:
            gov.vote(pid, support, sender=roles[actor])
        except MedchainError:
            assert actor not in MEMBERS or actor in counted  # an outsider, or a second vote
            continue
        assert actor in MEMBERS and actor not in counted
        counted[actor] = support
    with pytest.raises(ContractLogicError):  # the hostile account tries the admin call itself
        records.setWriteAuthorizer(target, sender=roles[hostile])
    advance_to(gov.proposal(pid).voting_ends_at + 1)
    votes = list(counted.values())
    should_pass = votes.count("for") >= 2 and votes.count("for") > votes.count("against")
    state = gov.state(pid)
    assert state == (ProposalState.Succeeded if should_pass else ProposalState.Defeated)
    if not should_pass:
        assert str(records.writeAuthorizer()) == before
        return
    gov.queue(pid, sender=roles[hostile])  # anyone may queue a passed proposal
    with pytest.raises(ProposalNotReady):
        gov.execute(pid, sender=roles[hostile])
    assert str(records.writeAuthorizer()) == before
    advance_to(gov.proposal(pid).executable_at)
    gov.execute(pid, sender=roles[hostile])
    assert str(records.writeAuthorizer()) == str(target)
