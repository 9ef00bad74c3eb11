"""Gas of every TrialRegistry operation: registration (first trial in a registry, next, with a
2-of-3 ethics board), role changes, the amendment cycle, the board's k-of-n votes (a vote short
of the threshold, and the deciding vote), oversight, every timeline entry (investigator and
monitor paths; the issue's budget is 40,000 per log entry), data lock, outcome reports
(matching and switched) and the final report. Free-text fields are salted commitments made
off chain with fixed salts here (deterministic calldata); they cost what a bare hash did."""

from __future__ import annotations

from typing import Any

from medchain.trials import (
    NoteCommitment,
    document_hash,
    outcomes_hash,
    registry_id_bytes,
    severity_code,
)

BUDGET = 40_000
BUDGET_SRC = "issue 7 budget per log entry"
OZ_GRANT = 51_455
OZ_SRC = "OZ AccessControl grantRole, new member (domain.md)"
CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
SITE_A, SITE_B = 101, 202
H = document_hash


def note(trial_id: int, text: str) -> bytes:
    """A salted commitment to `text` with a salt fixed per text (deterministic gas)."""
    return NoteCommitment.create(trial_id, text, H(b"salt " + text.encode())).commitment


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
            registry_id_bytes("NCT00000001"),
            H(b"p1"),
            CID,
            outcomes,
            1,
            [ethics],
            1,
            sender=sponsor,
        ),
    )
    tid = int(reg.trialIdOf(sponsor, registry_id_bytes("NCT00000001")))
    g.record(
        "TrialRegistry.register (next trial, 1 ethics member)",
        reg.register(
            registry_id_bytes("NCT00000002"),
            H(b"p2"),
            CID,
            outcomes,
            1,
            [ethics],
            1,
            sender=sponsor,
        ),
    )
    g.record(
        "TrialRegistry.register (next trial, 2-of-3 ethics board)",
        reg.register(
            registry_id_bytes("NCT00000003"),
            H(b"p3"),
            CID,
            outcomes,
            1,
            [ethics, a["ethics2"], a["ethics3"]],
            2,
            sender=sponsor,
        ),
    )
    board = tid + 2

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
        "TrialRegistry.grantRole (ethics member, 2-of-3 board: first vote)",
        reg.grantRole(board, a["approver1"], 3, 0, sender=ethics),
        OZ_GRANT,
        OZ_SRC,
    )
    g.record(
        "TrialRegistry.grantRole (ethics member, 2-of-3 board: deciding vote)",
        reg.grantRole(board, a["approver1"], 3, 0, sender=a["ethics2"]),
        OZ_GRANT,
        OZ_SRC,
    )
    g.record(
        "TrialRegistry.revokeRole (investigator site)",
        reg.revokeRole(tid, inv, 1, 303, sender=sponsor),
    )
    g.record(
        "TrialRegistry.revokeRole (ethics member, 2-of-4 board: first vote)",
        reg.revokeRole(board, a["approver1"], 3, 0, sender=ethics),
    )
    g.record(
        "TrialRegistry.revokeRole (ethics member, 2-of-4 board: deciding vote)",
        reg.revokeRole(board, a["approver1"], 3, 0, sender=a["ethics3"]),
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
        reg.logDeviation(tid, SITE_A, subject, True, note(tid, "visit out of window"), sender=inv),
        BUDGET,
        BUDGET_SRC,
    )
    g.record(
        "TrialRegistry.logDeviation (monitor)",
        reg.logDeviation(
            tid, SITE_B, bytes(32), False, note(tid, "temperature log gap"), sender=monitor
        ),
        BUDGET,
        BUDGET_SRC,
    )
    g.record(
        "TrialRegistry.logAdverseEvent (investigator, serious)",
        reg.logAdverseEvent(
            tid, SITE_A, subject, severity_code(3, True), note(tid, "SAE"), sender=inv
        ),
        BUDGET,
        BUDGET_SRC,
    )
    g.record(
        "TrialRegistry.logAdverseEvent (monitor)",
        reg.logAdverseEvent(
            tid, SITE_A, subject, severity_code(1, False), note(tid, "AE"), sender=monitor
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
        "TrialRegistry.approveAmendment (1-of-1 board)",
        reg.approveAmendment(tid, 2, H(b"p1 v2"), sender=ethics),
    )
    changed = outcomes_hash(["ventilator-free days"], ["28-day mortality"])
    reg.proposeAmendment(board, H(b"p3 v2"), CID, 1, changed, sender=sponsor)
    g.record(
        "TrialRegistry.approveAmendment (2-of-3 board: first vote)",
        reg.approveAmendment(board, 2, H(b"p3 v2"), sender=ethics),
    )
    g.record(
        "TrialRegistry.approveAmendment (2-of-3 board: deciding vote, outcomes changed, flagged)",
        reg.approveAmendment(board, 2, H(b"p3 v2"), sender=a["ethics2"]),
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
        reg.rejectAmendment(tid, 3, H(b"p1 v3"), note(tid, "why"), sender=ethics),
    )
    reg.proposeAmendment(tid, H(b"p1 v3b"), CID, 2, bytes(32), sender=sponsor)
    g.record(
        "TrialRegistry.withdrawAmendment",
        reg.withdrawAmendment(tid, 3, H(b"p1 v3b"), sender=sponsor),
    )

    # ---- oversight
    g.record("TrialRegistry.suspend", reg.suspend(tid, note(tid, "DSMB"), sender=ethics))
    g.record("TrialRegistry.resume", reg.resume(tid, note(tid, "cleared"), sender=ethics))
    g.record(
        "TrialRegistry.withdrawSubject",
        reg.withdrawSubject(tid, H(b"subject B-001"), SITE_B, note(tid, "lost"), sender=inv2),
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
    g.record(
        "TrialRegistry.terminate", reg.terminate(other, note(other, "futility"), sender=ethics)
    )
    g.record(
        "TrialRegistry.fileFinalReport (terminated trial)",
        reg.fileFinalReport(other, H(b"final 2"), CID, sender=sponsor),
    )
