"""The SDK's read side: many checks at once, the current grants of a patient, the full
audit trail (JSON and CSV) rebuilt from events, and FHIR export of on-chain grants."""

from __future__ import annotations

import csv
import io

from medchain.codec import scope_code
from medchain.consent import Check, audit_csv, export_consent, import_consent

HOUR = 3600


def test_check_many_agrees_with_check(client, patient, provider, researcher):
    client.grant(patient, provider, "category:laboratory", "read", "TREAT", sender=patient)
    client.grant(patient, researcher, "*", "read", "HRESCH", sender=patient)
    checks = [
        Check(patient.address, g.address, s, a, p)
        for g in (provider, researcher)
        for s in ("category:laboratory", "Observation")
        for a in ("read", "write")
        for p in ("TREAT", "HRESCH")
    ]
    answers = client.check_many(checks)
    assert answers == [
        client.check(c.patient, c.grantee, c.scope, c.action, c.purpose) for c in checks
    ]
    assert sum(answers) == 3


def test_audit_trail_and_csv(
    client, registry, patient, provider, approver1, approver2, privacy_officer, chain
):
    start_block = chain.blocks.height
    client.grant(patient, provider, "Immunization", "read", "TREAT", sender=patient)
    client.record_access(patient, "Immunization", "read", "TREAT", b"\x07" * 32, sender=provider)
    client.revoke(patient, provider, "Immunization", sender=patient)
    episode = client.request_break_glass(patient, "anaphylaxis", HOUR, sender=provider)
    client.approve_break_glass(episode, sender=approver1)
    client.approve_break_glass(episode, sender=approver2)
    client.close_break_glass(episode, sender=provider)
    client.review_break_glass(episode, True, "justified", sender=privacy_officer)
    trail = client.audit(patient, from_block=start_block)
    names = [e.event for e in trail]
    assert names == [
        "ConsentGranted",
        "AccessRecorded",
        "ConsentRevoked",
        "BreakGlassRequested",
        "BreakGlassApproved",
        "BreakGlassApproved",
        "BreakGlassActivated",
        "BreakGlassClosed",
        "BreakGlassReviewed",
    ]
    assert trail[0].fields["scope"] == "Immunization" and trail[0].fields["purposes"] == "TREAT"
    assert trail[1].fields["recordRef"] == "0x" + "07" * 32
    assert all(e.timestamp > 0 for e in trail)
    rows = list(csv.DictReader(io.StringIO(audit_csv(trail))))
    assert len(rows) == len(trail) and rows[4]["approver"] == approver1.address
    # another patient's trail does not leak in
    assert client.audit(provider, from_block=start_block) == []


def test_grants_of_and_fhir_export_round_trip(client, registry, roles, chain):
    patient, gp, lab = roles["sponsor"], roles["provider"], roles["lab"]
    end = chain.pending_timestamp + 30 * 24 * HOUR
    client.grant(patient, gp, "category:laboratory", "read", "TREAT,COC", 0, end, sender=patient)
    client.grant(patient, lab, "DiagnosticReport", "write", "TREAT", sender=patient)
    client.grant(patient, lab, "*", "share", "all", deny=True, sender=patient)
    client.grant(patient, lab, "Observation", "read", "TREAT", sender=patient)
    client.revoke(patient, lab, "Observation", sender=patient)
    grants = client.grants_of(patient)
    assert len(grants) == 3
    # the grantee's view: every patient's provisions naming it, revoked ones gone
    assert sorted(client.grants_to(lab), key=repr) == sorted(
        [g for g in grants if g.grantee == lab.address], key=repr
    )
    assert [g.patient for g in client.grants_to(gp)] == [patient.address]
    resource = export_consent(grants)
    imported = import_consent(resource)
    assert sorted(imported, key=repr) == sorted(grants, key=repr)
    # applying the imported consent to another patient's keys reproduces the same rights
    other = roles["investigator"]
    moved = [
        type(g)(other.address, g.grantee, g.scope, g.actions, g.purposes, g.start, g.end, g.deny)
        for g in imported
    ]
    client.apply(moved, sender=other)
    for g in moved:
        assert client.provision(other, g.grantee, scope_code(g.scope))[1 if g.deny else 0] == g
