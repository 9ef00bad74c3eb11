"""The consent rules on the real contract: permit, deny over permit, wildcard scope,
purposes, time windows, revocation, delegation through the DID registry, the audit
record and the RecordRegistry write hook."""

from __future__ import annotations

import ape
import pytest

from medchain.codec import scope_code
from medchain.consent import OPEN_END, READ, SHARE, TREAT, WRITE, purposes_mask
from medchain.consent.codes import PURPOSES
from medchain.errors import ContractRevert

LAB = scope_code("category:laboratory")
ANY = scope_code("*")
HRESCH = PURPOSES.index("HRESCH")
DAY = 24 * 3600


def test_grant_then_check_and_revoke(client, registry, patient, provider, now, chain):
    client.grant(patient, provider, LAB, "read", "TREAT", 0, now + 30 * DAY, sender=patient)
    assert client.check(patient, provider, LAB, "read", "TREAT")
    assert not client.check(patient, provider, LAB, "write", "TREAT")
    assert not client.check(patient, provider, LAB, "read", "HRESCH")
    assert not client.check(patient, provider, scope_code("Condition"), "read", "TREAT")
    permit, denial = client.provision(patient, provider, LAB)
    assert permit is not None and permit.actions == READ and permit.end == now + 30 * DAY
    assert denial is None
    client.revoke(patient, provider, LAB, sender=patient)
    assert not client.check(patient, provider, LAB, "read", "TREAT")
    with ape.reverts(
        registry.ConsentNotFound, patient=patient, grantee=provider, scope=LAB, deny=False
    ):
        registry.revoke(patient, provider, LAB, sender=patient)


def test_deny_overrides_permit_including_wildcard(client, patient, researcher, now):
    client.grant(patient, researcher, ANY, "read,share", "all", sender=patient)
    assert client.check(patient, researcher, scope_code("Observation"), "read", "HRESCH")
    client.grant(
        patient, researcher, scope_code("Observation"), "share", "HRESCH", deny=True, sender=patient
    )
    assert not client.check(patient, researcher, scope_code("Observation"), "share", "HRESCH")
    # a deny on some actions blocks a request touching any of them
    assert not client.check(patient, researcher, scope_code("Observation"), READ | SHARE, "HRESCH")
    assert client.check(patient, researcher, scope_code("Observation"), "read", "HRESCH")
    assert client.check(patient, researcher, scope_code("Observation"), "share", "TREAT")
    # a wildcard deny wins over an exact-scope permit
    client.grant(patient, researcher, LAB, "read", "HRESCH", sender=patient)
    client.grant(patient, researcher, ANY, "read", "HRESCH", deny=True, sender=patient)
    assert not client.check(patient, researcher, LAB, "read", "HRESCH")
    client.revoke(patient, researcher, ANY, deny=True, sender=patient)
    assert client.check(patient, researcher, LAB, "read", "HRESCH")


def test_time_window(client, registry, patient, lab, chain, now):
    start, end = now + DAY, now + 2 * DAY
    client.grant(patient, lab, LAB, "write", "TREAT", start, end, sender=patient)
    assert not registry.canWrite(patient, lab, LAB)
    chain.mine(timestamp=start)
    assert registry.canWrite(patient, lab, LAB)
    assert client.check(patient, lab, LAB, WRITE, TREAT)
    chain.mine(timestamp=end)
    assert not registry.canWrite(patient, lab, LAB)


def test_invalid_provisions_refused(registry, patient, provider, now):
    cases = [
        (0, 1, 0, now + DAY),  # no action
        (8, 1, 0, now + DAY),  # unknown action bit
        (1, 0, 0, now + DAY),  # no purpose
        (1, 1, now + DAY, now + DAY),  # empty window
        (1, 1, 0, now - 1),  # already over
    ]
    for actions, purposes, start, end in cases:
        with ape.reverts(
            registry.ConsentInvalidProvision,
            actions=actions,
            purposes=purposes,
            start=start,
            end=end,
        ):
            registry.grant(patient, provider, LAB, actions, purposes, start, end, sender=patient)


def test_only_managers_manage(client, registry, did, patient, provider, guardian, now):
    with ape.reverts(registry.ConsentUnauthorizedManager, patient=patient, caller=guardian):
        registry.grant(patient, provider, LAB, 1, 1, 0, now + DAY, sender=guardian)
    # the patient makes the guardian a consent delegate in the DID registry
    delegate_type = registry.CONSENT_DELEGATE()
    did.addDelegate(patient, delegate_type, guardian, DAY, sender=patient)
    assert client.is_manager(patient, guardian)
    client.grant(patient, provider, scope_code("Immunization"), "read", "TREAT", sender=guardian)
    assert client.check(patient, provider, scope_code("Immunization"), "read", "TREAT")
    did.revokeDelegate(patient, delegate_type, guardian, sender=patient)
    with pytest.raises(ContractRevert) as refused:
        client.revoke(patient, provider, scope_code("Immunization"), sender=guardian)
    assert refused.value.error_name == "ConsentUnauthorizedManager"
    # a delegate of another type has no say
    did.addDelegate(patient, b"veriKey".ljust(32, b"\0"), guardian, DAY, sender=patient)
    assert not client.is_manager(patient, guardian)


def test_new_did_owner_manages(client, did, registry, roles, now):
    minor, parent, provider = roles["investigator"], roles["investigator2"], roles["provider"]
    did.changeOwner(minor, parent, sender=minor)
    client.grant(minor, provider, LAB, "read", "TREAT", 0, now + DAY, sender=parent)
    assert client.check(minor, provider, LAB, "read", "TREAT")


def test_record_access_audited_only_when_permitted(client, registry, patient, provider, now):
    ref = b"\x11" * 32
    with ape.reverts(
        registry.ConsentAccessDenied,
        patient=patient,
        grantee=provider,
        scope=scope_code("Procedure"),
        action=READ,
        purpose=TREAT,
    ):
        registry.recordAccess(patient, scope_code("Procedure"), READ, TREAT, ref, sender=provider)
    client.grant(
        patient, provider, scope_code("Procedure"), "read", "TREAT", 0, now + DAY, sender=patient
    )
    receipt = client.record_access(
        patient, scope_code("Procedure"), "read", "TREAT", ref, sender=provider
    )
    logs = list(registry.AccessRecorded.from_receipt(receipt))
    assert len(logs) == 1
    assert logs[0].grantee == provider and logs[0].recordRef == ref and logs[0].episodeId == 0


def test_can_write_uses_treatment_write(registry, client, patient, pharmacy, now):
    scope = scope_code("MedicationDispense")
    client.grant(patient, pharmacy, scope, "write", "HRESCH", 0, now + DAY, sender=patient)
    assert not registry.canWrite(patient, pharmacy, scope)  # write, but not for treatment
    client.grant(
        patient,
        pharmacy,
        scope,
        "write",
        purposes_mask("TREAT,HRESCH"),
        0,
        OPEN_END,
        sender=patient,
    )
    assert registry.canWrite(patient, pharmacy, scope)
    assert not registry.canWrite(patient, pharmacy, LAB)


def test_purpose_out_of_range_is_no_access(registry, patient, provider):
    assert not registry.hasAccess(patient, provider, LAB, READ, 200)
    assert not registry.hasAccess(patient, provider, LAB, 0, TREAT)


def test_governance_two_step_delayed(registry, deployer, researcher, chain):
    assert registry.defaultAdminDelay() == 3 * DAY
    registry.beginDefaultAdminTransfer(researcher, sender=deployer)
    with ape.reverts(registry.AccessControlEnforcedDefaultAdminDelay):
        registry.acceptDefaultAdminTransfer(sender=researcher)
    registry.cancelDefaultAdminTransfer(sender=deployer)
    assert registry.defaultAdmin() == deployer
