"""Gas of every TrialRegistry operation: registration (first trial in a registry, next, with a
3-member ethics board), role changes, the amendment cycle, oversight, every timeline entry
(investigator and monitor paths; the issue's budget is 40,000 per log entry), data lock,
outcome reports (matching and switched) and the final report."""

from __future__ import annotations

from typing import Any

from medchain.trials import document_hash, outcomes_hash, registry_id_bytes, severity_code

BUDGET = 40_000
BUDGET_SRC = "issue 7 budget per log entry"
OZ_GRANT = 51_455
OZ_SRC = "OZ AccessControl grantRole, new member (domain.md)"
CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
SITE_A, SITE_B = 101, 202
H = document_hash


def measure(g: Any) -> None:
    reg = g.contracts["TrialRegistry"]
    a = g.accounts
    sponsor, ethics, inv, inv2, monitor = (
        a["sponsor"],
        a["ethics"],
        a["investigator"],
        a["investigator2"],
        a["monitor"],
    )
    outcomes = outcomes_hash(["28-day mortality"], ["ventilator-free days", "ICU stay"])

    # ---- registration
    g.record(
        "TrialRegistry.register (first trial, 1 ethics member)",
        reg.register(
            registry_id_bytes("NCT00000001"), H(b"p1"), CID, outcomes, 1, [ethics], sender=sponsor
        ),
    )
    tid = int(reg.trialIdOf(sponsor, registry_id_bytes("NCT00000001")))
    g.record(
        "TrialRegistry.register (next trial, 1 ethics member)",
        reg.register(
            registry_id_bytes("NCT00000002"), H(b"p2"), CID, outcomes, 1, [ethics], sender=sponsor
        ),
    )
    g.record(
        "TrialRegistry.register (next trial, 3 ethics members)",
        reg.register(
            registry_id_bytes("NCT00000003"),
            H(b"p3"),
            CID,
            outcomes,
            1,
            [ethics, a["approver1"], a["approver2"]],
            sender=sponsor,
        ),
    )

    # ---- roles
    g.record(
        "TrialRegistry.grantRole (investigator, first site)",
        reg.grantRole(tid, inv, 1, SITE_A, sender=sponsor),
        OZ_GRANT,
        OZ_SRC,
    )
    g.record(
        "TrialRegistry.grantRole (investigator, second site)",
        reg.grantRole(tid, inv, 1, 303, sender=sponsor),
        OZ_GRANT,
        OZ_SRC,
    )
    reg.grantRole(tid, inv2, 1, SITE_B, sender=sponsor)
    g.record(
        "TrialRegistry.grantRole (monitor)",
        reg.grantRole(tid, monitor, 2, 0, sender=sponsor),
        OZ_GRANT,
        OZ_SRC,
    )
    g.record(
        "TrialRegistry.grantRole (ethics member, by the board)",
        reg.grantRole(tid, a["approver1"], 3, 0, sender=ethics),
        OZ_GRANT,
        OZ_SRC,
    )
    g.record(
        "TrialRegistry.revokeRole (investigator site)",
        reg.revokeRole(tid, inv, 1, 303, sender=sponsor),
    )
    g.record(
        "TrialRegistry.revokeRole (ethics member)",
        reg.revokeRole(tid, a["approver1"], 3, 0, sender=ethics),
    )

    # ---- entries (the 40k budget)
    subject = H(b"subject A-001")
    g.record(
        "TrialRegistry.enroll",
        reg.enroll(tid, subject, SITE_A, 1, sender=inv),
        BUDGET,
        BUDGET_SRC,
    )
    reg.enroll(tid, H(b"subject B-001"), SITE_B, 1, sender=inv2)
    g.record(
        "TrialRegistry.logDeviation (investigator)",
        reg.logDeviation(tid, SITE_A, subject, True, H(b"visit out of window"), sender=inv),
        BUDGET,
        BUDGET_SRC,
    )
    g.record(
        "TrialRegistry.logDeviation (monitor)",
        reg.logDeviation(tid, SITE_B, bytes(32), False, H(b"temperature log gap"), sender=monitor),
        BUDGET,
        BUDGET_SRC,
    )
    g.record(
        "TrialRegistry.logAdverseEvent (investigator, serious)",
        reg.logAdverseEvent(tid, SITE_A, subject, severity_code(3, True), H(b"SAE"), sender=inv),
        BUDGET,
        BUDGET_SRC,
    )
    g.record(
        "TrialRegistry.logAdverseEvent (monitor)",
        reg.logAdverseEvent(
            tid, SITE_A, subject, severity_code(1, False), H(b"AE"), sender=monitor
        ),
        BUDGET,
        BUDGET_SRC,
    )

    # ---- amendments and re-consent
    g.record(
        "TrialRegistry.proposeAmendment",
        reg.proposeAmendment(tid, H(b"p1 v2"), CID, 2, bytes(32), sender=sponsor),
    )
    g.record(
        "TrialRegistry.approveAmendment",
        reg.approveAmendment(tid, 2, H(b"p1 v2"), sender=ethics),
    )
    g.record(
        "TrialRegistry.reconsent",
        reg.reconsent(tid, subject, SITE_A, 2, sender=inv),
        BUDGET,
        BUDGET_SRC,
    )
    reg.proposeAmendment(tid, H(b"p1 v3"), CID, 2, bytes(32), sender=sponsor)
    g.record(
        "TrialRegistry.rejectAmendment",
        reg.rejectAmendment(tid, 3, H(b"p1 v3"), H(b"why"), sender=ethics),
    )
    reg.proposeAmendment(tid, H(b"p1 v3b"), CID, 2, bytes(32), sender=sponsor)
    g.record(
        "TrialRegistry.withdrawAmendment",
        reg.withdrawAmendment(tid, 3, H(b"p1 v3b"), sender=sponsor),
    )

    # ---- oversight
    g.record("TrialRegistry.suspend", reg.suspend(tid, H(b"DSMB"), sender=ethics))
    g.record("TrialRegistry.resume", reg.resume(tid, H(b"cleared"), sender=ethics))
    g.record(
        "TrialRegistry.withdrawSubject",
        reg.withdrawSubject(tid, H(b"subject B-001"), SITE_B, H(b"lost"), sender=inv2),
        BUDGET,
        BUDGET_SRC,
    )

    # ---- results
    g.record("TrialRegistry.lockData", reg.lockData(tid, H(b"dataset"), CID, sender=sponsor))
    g.record(
        "TrialRegistry.reportOutcomes (matches registration)",
        reg.reportOutcomes(tid, outcomes, H(b"results"), CID, sender=sponsor),
    )
    switched = outcomes_hash(["ventilator-free days"], ["28-day mortality"])
    g.record(
        "TrialRegistry.reportOutcomes (switched outcomes, flagged)",
        reg.reportOutcomes(tid, switched, H(b"results 2"), CID, sender=sponsor),
    )
    g.record(
        "TrialRegistry.fileFinalReport (completed trial)",
        reg.fileFinalReport(tid, H(b"final"), CID, sender=sponsor),
    )
    other = tid + 1
    g.record("TrialRegistry.terminate", reg.terminate(other, H(b"futility"), sender=ethics))
    g.record(
        "TrialRegistry.fileFinalReport (terminated trial)",
        reg.fileFinalReport(other, H(b"final 2"), CID, sender=sponsor),
    )
