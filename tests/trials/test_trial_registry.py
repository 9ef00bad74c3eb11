"""TrialRegistry behaviour through the SDK and directly: registration, amendments with
ethics approval and re-consent, oversight (suspension refuses enrollment), data lock,
outcome switching recorded and flagged, the access matrix, and per-entry gas."""

from __future__ import annotations

import ape
import pytest

from medchain.errors import ContractRevert, InvalidInput
from medchain.trials import (
    Role,
    SubjectCommitment,
    TrialStatus,
    document_hash,
    genesis_head,
    outcomes_hash,
    registry_id_bytes,
    severity_code,
    subject_commitment,
)
from support.trials import PRIMARY, PROTOCOL_CID, SECONDARY, SITE_A, SITE_B, register_trial

H = document_hash


def test_registration_records_protocol_outcomes_and_board(trial, sponsor, ethics, chain):
    info = trial.client.trial(trial.trial_id)
    assert info.sponsor == sponsor.address
    assert info.status == TrialStatus.ACTIVE
    assert (info.protocol_version, info.consent_version) == (1, 1)
    assert info.outcomes_hash == "0x" + outcomes_hash(PRIMARY, SECONDARY).hex()
    assert (info.ethics_count, info.ethics_threshold) == (1, 1)
    # Registered + ethics grant + 2 investigators + monitor.
    assert info.entry_count == 5
    assert trial.client.trial_id_of(sponsor, trial.registry_id) == trial.trial_id
    assert trial.client.has_role(trial.trial_id, ethics, Role.ETHICS)
    genesis = genesis_head(chain.chain_id, trial.client.address, trial.trial_id)
    assert bytes(trial.client.contract.genesisHead(trial.trial_id)) == genesis


def test_same_registry_id_twice_refused_per_sponsor(roles, sponsor, ethics, client, trial):
    patient = roles["patient"]
    with ape.reverts(client.contract.TrialAlreadyRegistered, trialId=trial.trial_id):
        client.contract.register(
            registry_id_bytes(trial.registry_id),
            H(b"p"),
            PROTOCOL_CID,
            H(b"o"),
            1,
            [ethics],
            1,
            sender=sponsor,
        )
    # Another sponsor may use the same external id: the trial id tells them apart.
    other = client.register(
        trial.registry_id, H(b"p"), PROTOCOL_CID, H(b"o"), [ethics], sender=patient
    )
    assert other != trial.trial_id


def test_registration_input_refusals(client, sponsor, ethics):
    c = client.contract
    rid = registry_id_bytes("NCT99999999")
    with ape.reverts(c.TrialZeroHash):
        c.register(rid, bytes(32), PROTOCOL_CID, H(b"o"), 1, [ethics], 1, sender=sponsor)
    with ape.reverts(c.TrialInvalidCid, length=0):
        c.register(rid, H(b"p"), "", H(b"o"), 1, [ethics], 1, sender=sponsor)
    with ape.reverts(c.TrialInvalidEthicsBoard, count=0):
        c.register(rid, H(b"p"), PROTOCOL_CID, H(b"o"), 1, [], 1, sender=sponsor)
    with ape.reverts(c.TrialRoleUnchanged):
        c.register(rid, H(b"p"), PROTOCOL_CID, H(b"o"), 1, [ethics, ethics], 2, sender=sponsor)
    with ape.reverts(c.TrialSponsorOnEthicsBoard, sponsor=sponsor.address):
        c.register(rid, H(b"p"), PROTOCOL_CID, H(b"o"), 1, [ethics, sponsor], 2, sender=sponsor)
    with pytest.raises(InvalidInput):
        registry_id_bytes("X" * 33)


def test_amendment_takes_effect_only_after_ethics_approval(trial, sponsor, ethics, investigator):
    c, tid = trial.client, trial.trial_id
    subject = c.enroll(tid, SITE_A, "S-1", sender=investigator)
    v2 = H(b"protocol v2")
    version = c.propose_amendment(tid, v2, PROTOCOL_CID, consent_version=2, sender=sponsor)
    assert version == 2
    info = c.trial(tid)
    assert (info.protocol_version, info.consent_version) == (1, 1)  # not yet in force
    with pytest.raises(ContractRevert) as err:
        c.propose_amendment(tid, H(b"v3"), PROTOCOL_CID, consent_version=2, sender=sponsor)
    assert err.value.error_name == "TrialAmendmentPending"
    # The sponsor cannot approve its own amendment; a mismatching version/hash is refused.
    with pytest.raises(ContractRevert) as err:
        c.approve_amendment(tid, 2, v2, sender=sponsor)
    assert err.value.error_name == "TrialNotEthicsBoard"
    with pytest.raises(ContractRevert) as err:
        c.approve_amendment(tid, 2, H(b"something else"), sender=ethics)
    assert err.value.error_name == "TrialNoSuchAmendment"
    c.approve_amendment(tid, 2, v2, sender=ethics)
    info = c.trial(tid)
    assert (info.protocol_version, info.consent_version) == (2, 2)
    assert info.protocol_hash == "0x" + v2.hex()
    # Old consent form is stale now: new enrollments need v2, existing subjects re-consent.
    with pytest.raises(ContractRevert) as err:
        c.enroll(tid, SITE_A, "S-2", consent_version=1, sender=investigator)
    assert err.value.error_name == "TrialStaleConsentVersion"
    assert err.value.arguments["current"] == 2
    c.reconsent(tid, SITE_A, subject.commitment, sender=investigator)
    entries = c.export(tid)["entries"]
    assert [e["type"] for e in entries[-3:]] == [
        "AmendmentProposed",
        "AmendmentApproved",
        "Reconsented",
    ]
    assert entries[-1]["payload"]["consentVersion"] == 2


def test_amendment_reject_and_withdraw(trial, sponsor, ethics):
    c, tid = trial.client, trial.trial_id
    c.propose_amendment(tid, H(b"r"), PROTOCOL_CID, consent_version=1, sender=sponsor)
    c.reject_amendment(tid, 2, H(b"r"), "not justified", sender=ethics)
    assert c.pending_amendment(tid).version == 0
    c.propose_amendment(tid, H(b"w"), PROTOCOL_CID, consent_version=1, sender=sponsor)
    c.withdraw_amendment(tid, 2, H(b"w"), sender=sponsor)
    assert c.trial(tid).protocol_version == 1
    with pytest.raises(ContractRevert) as err:  # consent version cannot go down
        c.propose_amendment(tid, H(b"x"), PROTOCOL_CID, consent_version=0, sender=sponsor)
    assert err.value.error_name == "TrialInvalidAmendment"


def test_enrollment_while_suspended_refused_but_safety_reporting_continues(
    trial, ethics, investigator, monitor
):
    c, tid = trial.client, trial.trial_id
    subject = c.enroll(tid, SITE_A, "S-1", sender=investigator)
    c.suspend(tid, "DSMB interim safety signal", sender=ethics)
    assert c.trial(tid).status == TrialStatus.SUSPENDED
    with ape.reverts(c.contract.TrialSuspended, trialId=tid):
        c.contract.enroll(tid, H(b"s2"), SITE_A, 1, sender=investigator)
    c.log_adverse_event(
        tid,
        SITE_A,
        subject.commitment,
        grade=4,
        serious=True,
        report="sae",
        sender=investigator,
    )
    c.log_deviation(tid, SITE_A, "missed visit", subject=subject.commitment, sender=monitor)
    c.resume(tid, sender=ethics)
    c.enroll(tid, SITE_A, "S-2", sender=investigator)
    types = [e["type"] for e in c.export(tid)["entries"][-6:]]
    assert types == [
        "Enrolled",
        "Suspended",
        "AdverseEventLogged",
        "DeviationLogged",
        "Resumed",
        "Enrolled",
    ]


def test_terminated_trial_accepts_only_the_final_report(trial, sponsor, ethics, investigator):
    c, tid = trial.client, trial.trial_id
    c.terminate(tid, "futility", sender=ethics)
    for call in (
        lambda: c.contract.enroll(tid, H(b"s"), SITE_A, 1, sender=investigator),
        lambda: c.contract.logDeviation(
            tid, SITE_A, bytes(32), False, H(b"d"), sender=investigator
        ),
        lambda: c.contract.lockData(tid, H(b"d"), PROTOCOL_CID, sender=sponsor),
        lambda: c.contract.resume(tid, bytes(32), sender=ethics),
        lambda: c.contract.grantRole(tid, investigator, int(Role.MONITOR), 0, sender=sponsor),
    ):
        with ape.reverts(
            c.contract.TrialNotActive, trialId=tid, status=int(TrialStatus.TERMINATED)
        ):
            call()
    c.file_final_report(tid, H(b"final"), PROTOCOL_CID, sender=sponsor)
    assert c.trial(tid).status == TrialStatus.CLOSED
    with ape.reverts(c.contract.TrialNotActive, status=int(TrialStatus.CLOSED)):
        c.contract.fileFinalReport(tid, H(b"again"), PROTOCOL_CID, sender=sponsor)


def test_outcome_switch_is_recorded_and_flagged_not_refused(trial, sponsor, ethics):
    c, tid = trial.client, trial.trial_id
    with pytest.raises(ContractRevert) as err:  # results only after data lock
        c.report_outcomes(
            tid, outcomes_hash(PRIMARY, SECONDARY), H(b"r"), PROTOCOL_CID, sender=sponsor
        )
    assert err.value.error_name == "TrialDataLockState"
    c.lock_data(tid, H(b"locked dataset"), PROTOCOL_CID, sender=sponsor)
    # After lock, no amendment may change the outcomes.
    with pytest.raises(ContractRevert) as err:
        c.propose_amendment(
            tid, H(b"v2"), PROTOCOL_CID, 1, outcomes_hash(["Other"]), sender=sponsor
        )
    assert err.value.error_name == "TrialOutcomesFrozen"
    assert c.report_outcomes(
        tid, outcomes_hash(PRIMARY, SECONDARY), H(b"r1"), PROTOCOL_CID, sender=sponsor
    )
    switched = outcomes_hash(SECONDARY[:1], PRIMARY)  # secondary promoted to primary
    receipt = c.contract.reportOutcomes(tid, switched, H(b"r2"), PROTOCOL_CID, sender=sponsor)
    flags = [log for log in receipt.events if log.event_name == "OutcomeMismatchFlagged"]
    assert len(flags) == 1 and bytes(flags[0].reportedOutcomesHash) == switched
    info = c.trial(tid)
    assert (info.outcome_reports, info.outcome_mismatches) == (2, 1)
    log = c.export(tid)
    last = log["entries"][-1]
    assert last["type"] == "OutcomesReported" and last["payload"]["matchesRegistered"] is False
    assert log["flags"] == [
        {
            "seq": last["seq"],
            "kind": "OutcomeMismatch",
            "registeredOutcomesHash": "0x" + outcomes_hash(PRIMARY, SECONDARY).hex(),
            "reportedOutcomesHash": "0x" + switched.hex(),
        }
    ]
    assert c.verify(log).outcome_mismatches == [last["seq"]]


def test_outcome_change_by_approved_amendment_is_flagged_and_reports_use_the_original(
    trial, sponsor, ethics
):
    c, tid = trial.client, trial.trial_id
    original = outcomes_hash(PRIMARY, SECONDARY)
    new = outcomes_hash(["28-day mortality", "90-day mortality"], SECONDARY)
    c.propose_amendment(tid, H(b"v2"), PROTOCOL_CID, 1, new, sender=sponsor)
    receipt = c.contract.approveAmendment(tid, 2, H(b"v2"), sender=ethics)
    flags = [log for log in receipt.events if log.event_name == "OutcomesAmendedFlagged"]
    assert len(flags) == 1 and bytes(flags[0].amendedOutcomesHash) == new
    info = c.trial(tid)
    assert info.outcomes_hash == "0x" + original.hex()  # the pre-registered set never changes
    assert info.amended_outcomes_hash == "0x" + new.hex()
    c.lock_data(tid, H(b"dataset"), PROTOCOL_CID, sender=sponsor)
    # Reporting the amended outcomes is still outcome switching against the registration.
    assert not c.report_outcomes(tid, new, H(b"r"), PROTOCOL_CID, sender=sponsor)
    log = c.export(tid)
    approved = next(e for e in log["entries"] if e["type"] == "AmendmentApproved")
    assert [f["kind"] for f in log["flags"]] == ["OutcomesAmended", "OutcomeMismatch"]
    report = c.verify(log)
    assert report.outcome_amendments == [approved["seq"]]
    assert report.outcome_mismatches == [log["entries"][-1]["seq"]]


def test_board_of_one_cannot_grow_or_leave(roles, sponsor, ethics, trial):
    """A 1-of-1 board (e.g. a multisig) decides alone, so it cannot add a member who would
    then decide alone too; k-of-n boards are tested in test_trial_board.py."""
    c, tid = trial.client, trial.trial_id
    with ape.reverts(c.contract.TrialNotEthicsBoard, account=sponsor.address):
        c.contract.grantRole(tid, roles["ethics2"], int(Role.ETHICS), 0, sender=sponsor)
    with ape.reverts(c.contract.TrialInvalidEthicsThreshold, threshold=1, members=2):
        c.contract.grantRole(tid, roles["ethics2"], int(Role.ETHICS), 0, sender=ethics)
    with ape.reverts(c.contract.TrialEthicsBoardBelowThreshold, members=0, threshold=1):
        c.contract.revokeRole(tid, ethics, int(Role.ETHICS), 0, sender=ethics)
    with ape.reverts(c.contract.TrialSponsorOnEthicsBoard, sponsor=sponsor.address):
        c.contract.grantRole(tid, sponsor, int(Role.ETHICS), 0, sender=ethics)


def test_investigator_sites_are_bounded_and_site_bound(trial, sponsor, investigator, investigator2):
    c, tid = trial.client, trial.trial_id
    with pytest.raises(ContractRevert) as err:  # investigator of site A cannot act for site B
        c.enroll(tid, SITE_B, "S-x", sender=investigator)
    assert err.value.error_name == "TrialNotSiteStaff"
    with pytest.raises(ContractRevert) as err:
        c.grant_role(tid, investigator, Role.INVESTIGATOR, 0, sender=sponsor)
    assert err.value.error_name == "TrialInvalidSite"
    for site in range(1, 7):  # site A + 6 more = 7
        c.grant_role(tid, investigator, Role.INVESTIGATOR, site, sender=sponsor)
    with pytest.raises(ContractRevert) as err:
        c.grant_role(tid, investigator, Role.INVESTIGATOR, 7, sender=sponsor)
    assert err.value.error_name == "TrialTooManySites"
    c.revoke_role(tid, investigator, Role.INVESTIGATOR, 3, sender=sponsor)
    c.grant_role(tid, investigator, Role.INVESTIGATOR, 7, sender=sponsor)
    assert c.has_role(tid, investigator, Role.INVESTIGATOR, 7)
    assert not c.has_role(tid, investigator, Role.INVESTIGATOR, 3)
    c.enroll(tid, 7, "S-7", sender=investigator)
    c.revoke_role(tid, investigator2, Role.INVESTIGATOR, SITE_B, sender=sponsor)
    with pytest.raises(ContractRevert) as err:
        c.enroll(tid, SITE_B, "S-y", sender=investigator2)
    assert err.value.error_name == "TrialNotSiteStaff"


# Access matrix: who may do what. Each row: (action, roles allowed, expected error otherwise).
ROLES = ("sponsor", "investigator", "investigator2", "monitor", "ethics", "patient")


def _actions(tid, subject):
    return {
        "grant monitor": (
            ("sponsor",),
            "TrialNotSponsor",
            lambda c, a: c.grantRole(tid, "0x" + "ab" * 20, int(Role.MONITOR), 0, sender=a),
        ),
        "propose amendment": (
            ("sponsor",),
            "TrialNotSponsor",
            lambda c, a: c.proposeAmendment(tid, H(b"am"), PROTOCOL_CID, 1, bytes(32), sender=a),
        ),
        "suspend": (
            ("ethics",),
            "TrialNotEthicsBoard",
            lambda c, a: c.suspend(tid, bytes(32), sender=a),
        ),
        "terminate": (
            ("ethics",),
            "TrialNotEthicsBoard",
            lambda c, a: c.terminate(tid, bytes(32), sender=a),
        ),
        "enroll at site A": (
            ("investigator",),
            "TrialNotSiteStaff",
            lambda c, a: c.enroll(tid, H(a.address.encode()), SITE_A, 1, sender=a),
        ),
        "deviation at site A": (
            ("investigator", "monitor"),
            "TrialNotSiteStaff",
            lambda c, a: c.logDeviation(tid, SITE_A, subject, True, H(b"d"), sender=a),
        ),
        "adverse event at site A": (
            ("investigator", "monitor"),
            "TrialNotSiteStaff",
            lambda c, a: c.logAdverseEvent(
                tid, SITE_A, subject, severity_code(2, False), H(b"ae"), sender=a
            ),
        ),
        "lock data": (
            ("sponsor",),
            "TrialNotSponsor",
            lambda c, a: c.lockData(tid, H(b"ds"), PROTOCOL_CID, sender=a),
        ),
    }


@pytest.mark.parametrize(
    "action",
    [
        "grant monitor",
        "propose amendment",
        "suspend",
        "terminate",
        "enroll at site A",
        "deviation at site A",
        "adverse event at site A",
        "lock data",
    ],
)
def test_access_matrix(
    action, roles, client, sponsor, ethics, investigator, investigator2, monitor
):
    t = register_trial(client, sponsor, ethics, investigator, investigator2, monitor)
    subject = subject_commitment(t.trial_id, "S-1", bytes(range(32)))
    allowed, error, act = _actions(t.trial_id, subject)[action]
    for role in ROLES:
        account = roles[role]
        if role in allowed:
            continue
        with ape.reverts(getattr(client.contract, error)):
            act(client.contract, account)
    for role in allowed:
        act(client.contract, roles[role])


def test_subject_commitment_is_salted_and_reproducible(trial):
    a = SubjectCommitment.create(trial.trial_id, "S-1")
    b = SubjectCommitment.create(trial.trial_id, "S-1")
    assert a.commitment != b.commitment  # fresh salt each time: no dictionary attack on ids
    assert subject_commitment(trial.trial_id, "S-1", a.salt) == a.commitment
    with pytest.raises(InvalidInput):
        subject_commitment(trial.trial_id, "S-1", b"short")


def test_log_entries_stay_under_40k_gas(trial, sponsor, investigator, monitor):
    """The issue's budget for one log entry, checked on every kind of site entry."""
    c, tid = trial.client.contract, trial.trial_id
    subject = H(b"subject")
    receipts = {
        "enroll": c.enroll(tid, subject, SITE_A, 1, sender=investigator),
        "deviation (investigator)": c.logDeviation(
            tid, SITE_A, subject, True, H(b"d"), sender=investigator
        ),
        "deviation (monitor)": c.logDeviation(tid, SITE_A, subject, True, H(b"d"), sender=monitor),
        "adverse event (investigator)": c.logAdverseEvent(
            tid, SITE_A, subject, severity_code(4, True), H(b"ae"), sender=investigator
        ),
        "adverse event (monitor)": c.logAdverseEvent(
            tid, SITE_A, subject, severity_code(5, True), H(b"ae"), sender=monitor
        ),
        "withdraw": c.withdrawSubject(tid, subject, SITE_A, H(b"lost"), sender=investigator),
    }
    used = {name: r.gas_used for name, r in receipts.items()}
    assert all(g <= 40_000 for g in used.values()), used


def test_severity_validation(trial, investigator):
    c, tid = trial.client.contract, trial.trial_id
    with ape.reverts(c.TrialInvalidSeverity, severity=0x86):
        c.logAdverseEvent(tid, SITE_A, H(b"s"), 0x86, H(b"r"), sender=investigator)
    with pytest.raises(InvalidInput):
        severity_code(0, True)


def test_dirty_calldata_refused_before_it_reaches_the_hash(trial, investigator, chain):
    """Static entries hash and log their calldata words directly, so the ABI decoder must
    refuse a word with dirty high bits (it would hash differently from what readers decode)."""
    from eth_abi import encode
    from eth_tester.exceptions import TransactionFailed
    from web3.exceptions import ContractLogicError

    from medchain.trials import keccak

    selector = keccak(b"enroll(uint64,bytes32,uint32,uint16)")[:4]
    clean = encode(["uint64", "bytes32", "uint32", "uint16"], [trial.trial_id, H(b"s"), SITE_A, 1])
    web3 = chain.provider.web3
    call = {"from": investigator.address, "to": trial.client.address}
    web3.eth.call({**call, "data": "0x" + (selector + clean).hex()})  # accepted as is
    dirty = bytearray(clean)
    dirty[64] = 0x01  # high byte of the uint32 site word
    with pytest.raises((ContractLogicError, TransactionFailed)):  # web3 node / EthTester
        web3.eth.call({**call, "data": "0x" + (selector + bytes(dirty)).hex()})
