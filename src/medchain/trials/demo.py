"""Demo step: a sponsor registers a trial (protocol, pre-specified outcomes, a 2-of-3 ethics
board); an amendment with a new consent form takes effect only once two board members approve
it (one approval alone is a recorded vote); two sites enroll subjects (salted commitments, no
identities) and re-consent under the new form; a monitor logs a deviation and an investigator
a serious adverse event (their texts on chain only as salted commitments); the sponsor locks
the data and reports the outcomes; the exported log, with the sites' disclosures, verifies
offline and against the chain."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from medchain.demo import DemoContext
from medchain.trials import (
    Role,
    TrialsClient,
    document_hash,
    load_log,
    outcomes_hash,
    save_log,
    verify_log,
)

SITE_A, SITE_B = 101, 202
PRIMARY = ["All-cause mortality at day 28"]
SECONDARY = ["Ventilator-free days to day 28", "Length of ICU stay"]


def _cid(ctx: DemoContext, data: bytes) -> str:
    """Stored in the demo's content store when there is one, else the CID `ipfs add` would give."""
    if ctx.store is not None:
        return str(ctx.store.add(data))
    from medchain.storage.unixfs import compute_cid

    return str(compute_cid(data, cid_version=1))


def run(ctx: DemoContext) -> None:
    from ape import chain

    console = ctx.console
    acc = ctx.accounts
    sponsor = TrialsClient(ctx.contracts["TrialRegistry"], acc["sponsor"])
    ethics = sponsor.with_sender(acc["ethics"])
    ethics2 = sponsor.with_sender(acc["ethics2"])
    site_a = sponsor.with_sender(acc["investigator"])
    site_b = sponsor.with_sender(acc["investigator2"])
    monitor = sponsor.with_sender(acc["monitor"])

    # Registration: unique registry id per run so the demo can run again on the same chain.
    registry_id = f"NCT{chain.blocks.height % 10**8:08d}"
    protocol_v1 = (
        f"Protocol {registry_id} v1: randomised, double-blind, placebo-controlled".encode()
    )
    outcomes = outcomes_hash(PRIMARY, SECONDARY)
    board = [acc["ethics"], acc["ethics2"], acc["ethics3"]]
    tid = sponsor.register(
        registry_id,
        document_hash(protocol_v1),
        _cid(ctx, protocol_v1),
        outcomes,
        board,
        threshold=2,
    )
    sponsor.grant_role(tid, acc["investigator"], Role.INVESTIGATOR, SITE_A)
    sponsor.grant_role(tid, acc["investigator2"], Role.INVESTIGATOR, SITE_B)
    sponsor.grant_role(tid, acc["monitor"], Role.MONITOR)
    console.print(
        f"registered       trial {tid} ({registry_id}), protocol v1, outcomes "
        f"0x{outcomes.hex()[:16]}… pre-specified; 2-of-3 ethics board, sites {SITE_A} and "
        f"{SITE_B}, monitor"
    )

    # Enrollment under consent form v1 at both sites; the salts stay with the sites.
    a1 = site_a.enroll(tid, SITE_A, "A-001")
    a2 = site_a.enroll(tid, SITE_A, "A-002")
    b1 = site_b.enroll(tid, SITE_B, "B-001")
    console.print(
        f"enrolled         A-001, A-002 at site {SITE_A}; B-001 at site {SITE_B} (consent v1); "
        f"on chain only 0x{a1.commitment.hex()[:12]}…-style commitments"
    )

    # Amendment: new protocol and consent form, in force only after ethics approval.
    protocol_v2 = protocol_v1.replace(b"v1", b"v2") + b"; extra safety visit on day 7"
    version = sponsor.propose_amendment(
        tid, document_hash(protocol_v2), _cid(ctx, protocol_v2), consent_version=2
    )
    first = ethics.approve_amendment(tid, version, document_hash(protocol_v2))
    pending = sponsor.trial(tid)
    second = ethics2.approve_amendment(tid, version, document_hash(protocol_v2))
    after = sponsor.trial(tid)
    assert not first and second
    console.print(
        f"amended          v{version} proposed; one approval is a vote (protocol stayed "
        f"v{pending.protocol_version}), the second puts it in force: protocol "
        f"v{after.protocol_version}, consent v{after.consent_version}"
    )
    for subject, client, site in ((a1, site_a, SITE_A), (a2, site_a, SITE_A), (b1, site_b, SITE_B)):
        client.reconsent(tid, site, subject.commitment)
    b2 = site_b.enroll(tid, SITE_B, "B-002")
    console.print("re-consented     A-001, A-002, B-001 to consent v2; B-002 enrolled under v2")

    # Conduct: a deviation found by the monitor, a serious adverse event at site A.
    deviation = monitor.log_deviation(
        tid, SITE_A, "A-002 day-7 visit 3 days out of window",
        subject=a2.commitment, important=True,
    )  # fmt: skip
    sae = site_a.log_adverse_event(
        tid, SITE_A, a1.commitment, grade=3, serious=True,
        report="A-001 hospitalised with pneumonia, day 12",
    )  # fmt: skip
    console.print(
        "logged           important deviation (monitor), serious adverse event grade 3; "
        f"texts on chain only as salted commitments (0x{sae.commitment.hex()[:12]}…)"
    )

    # Results: lock, then report against the pre-registered outcomes.
    dataset = json.dumps({"subjects": 4, "sealed": True}).encode()
    sponsor.lock_data(tid, document_hash(dataset), _cid(ctx, dataset))
    results = b"encrypted results dataset"
    matches = sponsor.report_outcomes(tid, outcomes, document_hash(results), _cid(ctx, results))
    console.print(
        "reported         outcomes "
        + ("match the pre-registered ones" if matches else "DIFFER from registration (flagged)")
    )

    # Export the whole timeline and verify it end to end.
    # The sites disclose their salts beside the log, so auditors can open every commitment.
    held = [s.to_json() for s in (a1, a2, b1, b2)] + [deviation.to_json(), sae.to_json()]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"trial-{tid}.log.json"
        save_log(sponsor.export(tid, disclosures=held), path)
        offline = verify_log(load_log(path))
        report = sponsor.verify(load_log(path))
    console.print(
        f"verified         exported log: {report.entry_count} entries, head {report.head[:18]}… "
        f"matches the chain; {report.enrollments} enrollments, "
        f"{report.serious_adverse_events} serious adverse event, "
        f"{len(report.outcome_mismatches)} outcome mismatches, {report.ethics_votes} board "
        f"vote; offline: {offline.disclosures_verified} disclosures open their commitments"
    )
    shared: dict[str, Any] = {
        "trial_id": tid,
        "registry_id": registry_id,
        "subjects": [s.to_json() for s in (a1, a2, b1, b2)],
        "head": report.head,
    }
    ctx.shared["trials"] = shared
