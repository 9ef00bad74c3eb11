"""Break-glass: a clinician's request, M-of-N approvals, bounded automatic expiry,
the patient's notification event, early closing, and the mandatory review."""

from __future__ import annotations

import ape
import pytest

from medchain.codec import scope_code
from medchain.consent import ETREAT, READ, SHARE, TREAT, WRITE

HOUR = 3600
LAB = scope_code("category:laboratory")


def _request(client, patient, provider, duration=2 * HOUR):
    return client.request_break_glass(
        patient, "unconscious in ED, allergy history needed", duration, sender=provider
    )


def test_full_episode(
    client, registry, patient, provider, approver1, approver2, privacy_officer, chain
):
    # the patient even denied this provider everything: break-glass still opens ETREAT access
    client.grant(patient, provider, "*", "all", "all", deny=True, sender=patient)
    pending_before = client.awaiting_review()
    episode = _request(client, patient, provider)
    assert client.episode(episode)["status"] == "pending"
    assert not registry.hasAccess(patient, provider, LAB, READ, ETREAT)
    client.approve_break_glass(episode, sender=approver1)
    assert client.episode(episode)["status"] == "pending"
    receipt = client.approve_break_glass(episode, sender=approver2)
    activated = next(iter(registry.BreakGlassActivated.from_receipt(receipt)))
    assert activated.patient == patient and activated.clinician == provider
    info = client.episode(episode)
    assert info["status"] == "active" and info["approvals"] == 2
    assert client.awaiting_review() == pending_before + 1
    assert registry.hasAccess(patient, provider, LAB, READ, ETREAT)
    assert registry.hasAccess(patient, provider, LAB, WRITE, ETREAT)
    assert not registry.hasAccess(patient, provider, LAB, SHARE, ETREAT)
    assert not registry.hasAccess(patient, provider, LAB, READ, TREAT)
    receipt = client.record_access(patient, LAB, "read", "ETREAT", b"\x01" * 32, sender=provider)
    assert next(iter(registry.AccessRecorded.from_receipt(receipt))).episodeId == episode
    with ape.reverts(
        registry.ConsentBreakGlassStillActive, episodeId=episode, expiresAt=info["expires_at"]
    ):
        registry.reviewBreakGlass(episode, True, b"\0" * 32, sender=privacy_officer)
    chain.mine(timestamp=info["expires_at"])
    assert not registry.hasAccess(patient, provider, LAB, READ, ETREAT)
    assert [e["episode"] for e in client.episodes_awaiting_review()].count(episode) == 1
    client.review_break_glass(
        episode, False, "not an emergency: flagged for follow-up", sender=privacy_officer
    )
    assert client.episode(episode)["status"] == "flagged"
    assert client.awaiting_review() == pending_before
    with ape.reverts(registry.ConsentBreakGlassWrongStatus, episodeId=episode, status=4):
        registry.reviewBreakGlass(episode, True, b"\0" * 32, sender=privacy_officer)
    client.revoke(patient, provider, "*", deny=True, sender=patient)


def test_approval_rules(
    client, registry, patient, provider, approver1, approver2, approver3, chain
):
    episode = _request(client, patient, provider)
    client.approve_break_glass(episode, sender=approver1)
    with ape.reverts(
        registry.ConsentBreakGlassAlreadyApproved, episodeId=episode, approver=approver1
    ):
        registry.approveBreakGlass(episode, sender=approver1)
    client.approve_break_glass(episode, sender=approver2)
    with ape.reverts(registry.ConsentBreakGlassWrongStatus, episodeId=episode, status=2):
        registry.approveBreakGlass(episode, sender=approver3)
    with ape.reverts(registry.ConsentBreakGlassUnknownEpisode, episodeId=episode + 100):
        registry.approveBreakGlass(episode + 100, sender=approver3)
    # a stale request can no longer be approved
    stale = _request(client, patient, provider)
    requested_at = client.episode(stale)["requested_at"]
    chain.mine(timestamp=requested_at + registry.REQUEST_TTL())
    with ape.reverts(
        registry.ConsentBreakGlassRequestExpired,
        episodeId=stale,
        expiredAt=requested_at + registry.REQUEST_TTL(),
    ):
        registry.approveBreakGlass(stale, sender=approver1)


def test_self_approval_refused(registry, deployer, patient, approver3, approver1):
    registry.grantRole(registry.CLINICIAN_ROLE(), approver3, sender=deployer)
    receipt = registry.requestBreakGlass(patient, b"\x02" * 32, HOUR, sender=approver3)
    episode = next(iter(registry.BreakGlassRequested.from_receipt(receipt))).episodeId
    with ape.reverts(registry.ConsentBreakGlassSelfApproval, episodeId=episode, approver=approver3):
        registry.approveBreakGlass(episode, sender=approver3)


@pytest.mark.parametrize("duration", [0, 24 * HOUR + 1])
def test_duration_bounded(registry, patient, provider, duration):
    with ape.reverts(registry.ConsentBreakGlassInvalidDuration, requested=duration, max=24 * HOUR):
        registry.requestBreakGlass(patient, b"\x03" * 32, duration, sender=provider)


def test_close_early_then_review(
    client, registry, patient, provider, approver1, approver3, privacy_officer, researcher
):
    episode = _request(client, patient, provider, duration=8 * HOUR)
    client.approve_break_glass(episode, sender=approver1)
    client.approve_break_glass(episode, sender=approver3)
    assert registry.hasAccess(patient, provider, LAB, READ, ETREAT)
    with ape.reverts(registry.ConsentBreakGlassCannotStop, episodeId=episode, caller=researcher):
        registry.closeBreakGlass(episode, sender=researcher)
    client.close_break_glass(episode, sender=provider)
    assert not registry.hasAccess(patient, provider, LAB, READ, ETREAT)
    client.review_break_glass(episode, True, "justified", sender=privacy_officer)
    assert client.episode(episode)["status"] == "accepted"


def test_threshold_governed(registry, deployer, researcher):
    with ape.reverts(registry.ConsentBreakGlassInvalidThreshold, threshold=0):
        registry.setBreakGlassThreshold(0, sender=deployer)
    registry.setBreakGlassThreshold(3, sender=deployer)
    assert registry.breakGlassThreshold() == 3
    registry.setBreakGlassThreshold(2, sender=deployer)
