"""Security review finding 6 (k-of-n ethics board) and finding 5 (salted text commitments),
each attack performed with real transactions:

- one ethics-board member tries to take the board over (revoke the others, appoint a
  sponsor-controlled member) and to approve an outcome-changing amendment alone;
- a removed member's earlier vote is replayed after the board changed;
- the sponsor makes itself investigator or monitor of its own trial;
- outcomes changed by an approved amendment are reported as if pre-registered;
- a dictionary attack on the text behind a deviation / adverse-event entry.
"""

from __future__ import annotations

import itertools

import ape
import pytest

from medchain.trials import (
    EntryType,
    NoteCommitment,
    Role,
    document_hash,
    keccak,
    outcomes_hash,
    registry_id_bytes,
    verify_log,
)
from support.trials import PRIMARY, PROTOCOL_CID, SECONDARY, SITE_A, register_trial

H = document_hash
ETHICS = int(Role.ETHICS)


@pytest.fixture
def board_trial(client, sponsor, ethics, ethics2, ethics3, investigator, investigator2, monitor):
    """A trial whose ethics board is ethics, ethics2, ethics3 deciding 2 of 3."""
    return register_trial(
        client, sponsor, ethics, investigator, investigator2, monitor,
        board=[ethics2, ethics3], threshold=2,
    )  # fmt: skip


def test_one_member_cannot_change_the_board(board_trial, roles, sponsor, ethics, ethics2, ethics3):
    """The reviewed attack: a single member revokes the other two and appoints a puppet."""
    c, tid = board_trial.client, board_trial.trial_id
    puppet = roles["patient"]  # an account the sponsor controls
    assert not c.revoke_role(tid, ethics2, Role.ETHICS, sender=ethics)  # a vote, nothing more
    assert not c.revoke_role(tid, ethics3, Role.ETHICS, sender=ethics)
    assert not c.grant_role(tid, puppet, Role.ETHICS, sender=ethics)
    for member in (ethics, ethics2, ethics3):
        assert c.has_role(tid, member, Role.ETHICS)
    assert not c.has_role(tid, puppet, Role.ETHICS)
    info = c.trial(tid)
    assert (info.ethics_count, info.ethics_threshold, info.board_epoch) == (3, 2, 0)
    # Voting twice does not make two votes.
    with ape.reverts(
        c.contract.TrialEthicsVoteRepeated, member=ethics.address, motion=int(EntryType.RoleGranted)
    ):
        c.contract.grantRole(tid, puppet, ETHICS, 0, sender=ethics)
    assert c.ethics_votes(tid, EntryType.RoleGranted, account=puppet, member=ethics) == (1, True)
    # The puppet itself is an outsider and cannot vote.
    with ape.reverts(c.contract.TrialNotEthicsBoard, account=puppet.address):
        c.contract.revokeRole(tid, ethics2, ETHICS, 0, sender=puppet)
    # A second member's vote is what carries a decision; each vote is a logged entry.
    assert c.revoke_role(tid, ethics3, Role.ETHICS, sender=ethics2)
    assert not c.has_role(tid, ethics3, Role.ETHICS)
    entries = c.export(tid)["entries"]
    votes = [e for e in entries if e["type"] == "EthicsVoteCast"]
    assert len(votes) == 3 and {v["author"] for v in votes} == {ethics.address.lower()}
    assert entries[-1]["type"] == "RoleRevoked"
    assert entries[-1]["author"] == ethics2.address.lower()
    # Never below the threshold: 2 members left, 2 needed.
    with ape.reverts(c.contract.TrialEthicsBoardBelowThreshold, members=1, threshold=2):
        c.contract.revokeRole(tid, ethics2, ETHICS, 0, sender=ethics)


def test_removed_members_vote_does_not_count_after_the_board_changes(
    board_trial, roles, ethics, ethics2, ethics3
):
    c, tid = board_trial.client, board_trial.trial_id
    puppet = roles["patient"]
    assert not c.grant_role(tid, puppet, Role.ETHICS, sender=ethics3)  # 1 of 2 votes
    assert c.revoke_role(tid, ethics3, Role.ETHICS, sender=ethics) is False
    assert c.revoke_role(tid, ethics3, Role.ETHICS, sender=ethics2)  # ethics3 removed
    # ethics3's earlier vote for the puppet is void: one more vote is not enough.
    assert not c.grant_role(tid, puppet, Role.ETHICS, sender=ethics)
    assert not c.has_role(tid, puppet, Role.ETHICS)
    assert c.ethics_votes(tid, EntryType.RoleGranted, account=puppet, member=ethics) == (1, True)


def test_one_member_cannot_approve_an_outcome_switching_amendment(
    board_trial, sponsor, ethics, ethics2
):
    c, tid = board_trial.client, board_trial.trial_id
    switched = outcomes_hash(SECONDARY[:1], PRIMARY)
    c.propose_amendment(tid, H(b"v2"), PROTOCOL_CID, 1, switched, sender=sponsor)
    assert not c.approve_amendment(tid, 2, H(b"v2"), sender=ethics)
    with ape.reverts(c.contract.TrialEthicsVoteRepeated, member=ethics.address):
        c.contract.approveAmendment(tid, 2, H(b"v2"), sender=ethics)
    info = c.trial(tid)
    assert info.protocol_version == 1
    assert int(info.amended_outcomes_hash, 16) == 0
    # Withdrawn and proposed again (same version, same hash): the old vote does not carry over.
    c.withdraw_amendment(tid, 2, H(b"v2"), sender=sponsor)
    c.propose_amendment(tid, H(b"v2"), PROTOCOL_CID, 1, switched, sender=sponsor)
    assert not c.approve_amendment(tid, 2, H(b"v2"), sender=ethics2)
    assert c.trial(tid).protocol_version == 1
    # Two members approve: in force, and flagged as an outcome change.
    assert c.approve_amendment(tid, 2, H(b"v2"), sender=ethics)
    info = c.trial(tid)
    assert info.protocol_version == 2
    assert info.outcomes_hash == "0x" + outcomes_hash(PRIMARY, SECONDARY).hex()
    assert info.amended_outcomes_hash == "0x" + switched.hex()
    # Reported against the amended set: still a mismatch with the pre-registered outcomes.
    c.lock_data(tid, H(b"dataset"), PROTOCOL_CID, sender=sponsor)
    receipt = c.contract.reportOutcomes(tid, switched, H(b"results"), PROTOCOL_CID, sender=sponsor)
    flag = next(log for log in receipt.events if log.event_name == "OutcomeMismatchFlagged")
    assert bytes(flag.registeredOutcomesHash) == outcomes_hash(PRIMARY, SECONDARY)
    assert c.trial(tid).outcome_mismatches == 1
    report = c.verify(c.export(tid))
    assert len(report.outcome_amendments) == 1 and len(report.outcome_mismatches) == 1


def test_sponsor_cannot_make_itself_site_staff(trial, sponsor):
    c, tid = trial.client, trial.trial_id
    with ape.reverts(
        c.contract.TrialSponsorInSiteRole, sponsor=sponsor.address, role=int(Role.INVESTIGATOR)
    ):
        c.contract.grantRole(tid, sponsor, int(Role.INVESTIGATOR), SITE_A, sender=sponsor)
    with ape.reverts(
        c.contract.TrialSponsorInSiteRole, sponsor=sponsor.address, role=int(Role.MONITOR)
    ):
        c.contract.grantRole(tid, sponsor, int(Role.MONITOR), 0, sender=sponsor)
    with ape.reverts(c.contract.TrialNotSiteStaff, account=sponsor.address):
        c.contract.enroll(tid, H(b"subject"), SITE_A, 1, sender=sponsor)


def test_registration_refuses_a_board_any_one_member_could_run(client, sponsor, ethics, ethics2):
    c = client.contract
    rid = registry_id_bytes("NCT77777777")
    args = (rid, H(b"p"), PROTOCOL_CID, H(b"o"), 1)
    with ape.reverts(c.TrialInvalidEthicsThreshold, threshold=1, members=2):
        c.register(*args, [ethics, ethics2], 1, sender=sponsor)
    with ape.reverts(c.TrialInvalidEthicsThreshold, threshold=3, members=2):
        c.register(*args, [ethics, ethics2], 3, sender=sponsor)
    with ape.reverts(c.TrialInvalidEthicsThreshold, threshold=0, members=1):
        c.register(*args, [ethics], 0, sender=sponsor)
    with pytest.raises(ValueError):  # the SDK says so before sending
        client.register("NCT77777777", H(b"p"), PROTOCOL_CID, H(b"o"), [ethics, ethics2],
                        threshold=1, sender=sponsor)  # fmt: skip
    tid = client.register(
        "NCT77777777", H(b"p"), PROTOCOL_CID, H(b"o"), [ethics, ethics2], sender=sponsor
    )
    assert client.trial(tid).ethics_threshold == 2  # default: a majority
    assert client.export(tid)["entries"][0]["payload"]["ethicsThreshold"] == 2


# ---- finding 5: text behind an entry is not recoverable from the chain

WORDS = ("visit", "missed", "out", "of", "window", "dose", "late", "3", "day", "7")


def test_dictionary_attack_on_deviation_and_adverse_event_text_fails(trial, investigator, monitor):
    """The reviewer's attack: hash every short phrase from a small dictionary and compare
    with the value logged beside the subject. With salted commitments nothing matches, while
    the site's disclosure still verifies the entry offline."""
    c, tid = trial.client, trial.trial_id
    subject = c.enroll(tid, SITE_A, "A-001", sender=investigator)
    text = "visit 3 out of window"
    deviation = c.log_deviation(tid, SITE_A, text, subject=subject.commitment, sender=monitor)
    report = c.log_adverse_event(
        tid, SITE_A, subject.commitment, grade=2, serious=False, report="dose late",
        sender=investigator,
    )  # fmt: skip
    log = c.export(tid)
    on_chain = {
        e["payload"].get("descriptionCommitment") or e["payload"].get("reportCommitment")
        for e in log["entries"]
        if e["type"] in ("DeviationLogged", "AdverseEventLogged")
    }
    assert on_chain == {"0x" + deviation.commitment.hex(), "0x" + report.commitment.hex()}
    guesses = {
        "0x" + keccak(" ".join(words).encode()).hex()
        for n in range(1, 6)
        for words in itertools.product(WORDS, repeat=n)
    }
    assert "0x" + keccak(text.encode()).hex() in guesses  # the old, unsalted value
    assert not on_chain & guesses
    # Salted with the trial id too: the same text and salt differ in another trial.
    again = NoteCommitment.create(tid + 1, text, deviation.salt)
    assert again.commitment != deviation.commitment
    # The site discloses (salt, text) beside the log: verified offline, no node.
    from medchain.trials import attach_disclosures

    attached, left_out = attach_disclosures(
        log, [deviation.to_json(), report.to_json(), subject.to_json()]
    )
    assert (attached, left_out) == (3, 0)
    assert verify_log(log).disclosures_verified == 3
