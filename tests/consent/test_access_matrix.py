"""Access-control matrix: every state-changing function called by every role, against
the one expected outcome per cell (success or the exact custom error)."""

from __future__ import annotations

import pytest

from medchain.codec import scope_code
from medchain.consent import ConsentClient
from medchain.errors import ContractRevert, translate_errors

LAB = scope_code("category:laboratory")
DENIED = scope_code("Condition")
ROLES = ("admin", "patient", "delegate", "clinician", "approver", "officer", "stranger")
DAY = 24 * 3600


@pytest.fixture(scope="module")
def world(client: ConsentClient, registry, did, roles, chain):
    """One state where each function has a valid target, so only the caller decides."""
    patient, provider = roles["patient"], roles["provider"]
    actors = {
        "admin": roles["deployer"],
        "patient": patient,
        "delegate": roles["guardian"],
        "clinician": provider,
        "approver": roles["approver1"],
        "officer": roles["privacy_officer"],
        "stranger": roles["researcher"],
    }
    did.addDelegate(
        patient, registry.CONSENT_DELEGATE(), roles["guardian"], 30 * DAY, sender=patient
    )
    client.grant(patient, provider, LAB, "read", "TREAT", sender=patient)
    client.grant(patient, provider, DENIED, "read", "TREAT", deny=True, sender=patient)
    to_review = client.request_break_glass(patient, "r", 60, sender=provider)
    client.approve_break_glass(to_review, sender=roles["approver2"])
    client.approve_break_glass(to_review, sender=roles["approver3"])
    chain.mine(timestamp=chain.pending_timestamp + 61)
    to_close = client.request_break_glass(patient, "c", DAY, sender=provider)
    client.approve_break_glass(to_close, sender=roles["approver2"])
    client.approve_break_glass(to_close, sender=roles["approver3"])
    to_approve = client.request_break_glass(patient, "a", DAY, sender=provider)
    deadline = chain.pending_timestamp + 30 * DAY
    signed_grant = client.sign_grant(
        patient, patient, provider, scope_code("Encounter"), deadline=deadline
    )
    signed_revoke = client.sign_revocation(patient, patient, provider, LAB, deadline=deadline)
    return {
        "actors": actors,
        "patient": patient,
        "provider": provider,
        "episodes": {"review": to_review, "close": to_close, "approve": to_approve},
        "signed": {"grant": signed_grant, "revoke": signed_revoke},
        "end": deadline,
    }


def _calls(registry, w):
    p, g = w["patient"], w["provider"]
    e = w["episodes"]
    sg, sr = w["signed"]["grant"], w["signed"]["revoke"]
    role = registry.EMERGENCY_APPROVER_ROLE()
    return {
        "grant": lambda s: registry.grant(
            p, g, scope_code("Specimen"), 1, 1, 0, w["end"], sender=s
        ),
        "deny": lambda s: registry.deny(p, g, scope_code("Specimen"), 1, 1, 0, w["end"], sender=s),
        "revoke": lambda s: registry.revoke(p, g, LAB, sender=s),
        "liftDeny": lambda s: registry.liftDeny(p, g, DENIED, sender=s),
        "grantBySig": lambda s: registry.grantBySig(
            tuple(sg.message.values()), sg.signature, sender=s
        ),
        "revokeBySig": lambda s: registry.revokeBySig(
            tuple(sr.message.values()), sr.signature, sender=s
        ),
        "recordAccess": lambda s: registry.recordAccess(p, LAB, 1, 0, b"\x01" * 32, sender=s),
        "requestBreakGlass": lambda s: registry.requestBreakGlass(p, b"\x05" * 32, 3600, sender=s),
        "approveBreakGlass": lambda s: registry.approveBreakGlass(e["approve"], sender=s),
        "closeBreakGlass": lambda s: registry.closeBreakGlass(e["close"], sender=s),
        "cancelBreakGlass": lambda s: registry.cancelBreakGlass(e["approve"], sender=s),
        "invalidateSignatures": lambda s: registry.invalidateSignatures(p, g, LAB, sender=s),
        "reviewBreakGlass": lambda s: registry.reviewBreakGlass(
            e["review"], True, b"\x06" * 32, sender=s
        ),
        "setBreakGlassThreshold": lambda s: registry.setBreakGlassThreshold(3, sender=s),
        "grantRole": lambda s: registry.grantRole(role, w["patient"], sender=s),
        "revokeRole": lambda s: registry.revokeRole(role, w["actors"]["approver"], sender=s),
        "beginDefaultAdminTransfer": lambda s: registry.beginDefaultAdminTransfer(p, sender=s),
        "changeDefaultAdminDelay": lambda s: registry.changeDefaultAdminDelay(DAY, sender=s),
        "importProvisions": lambda s: registry.importProvisions([(p, g, LAB)], sender=s),
        "importRoles": lambda s: registry.importRoles(role, [w["actors"]["approver"]], sender=s),
    }


MANAGERS = {"patient", "delegate"}
EVERYONE = set(ROLES)
STOPPERS = {"clinician", "officer", "admin"}  # may cancel or end an episode
ALLOWED = {
    "grant": (MANAGERS, "ConsentUnauthorizedManager"),
    "deny": (MANAGERS, "ConsentUnauthorizedManager"),
    "revoke": (MANAGERS, "ConsentUnauthorizedManager"),
    "invalidateSignatures": (MANAGERS, "ConsentUnauthorizedManager"),
    "liftDeny": ({"patient"}, "ConsentUnauthorizedManager"),  # the delegate: see EXCEPTIONS
    "grantBySig": (EVERYONE, None),  # relaying is open: the signature carries the authority
    "revokeBySig": (EVERYONE, None),
    "recordAccess": ({"clinician"}, "ConsentAccessDenied"),  # only the grantee
    "requestBreakGlass": ({"clinician"}, "AccessControlUnauthorizedAccount"),
    "approveBreakGlass": ({"approver"}, "AccessControlUnauthorizedAccount"),
    "closeBreakGlass": (STOPPERS, "ConsentBreakGlassCannotStop"),
    "cancelBreakGlass": (STOPPERS, "ConsentBreakGlassCannotStop"),
    "reviewBreakGlass": ({"officer"}, "AccessControlUnauthorizedAccount"),
    "setBreakGlassThreshold": ({"admin"}, "AccessControlUnauthorizedAccount"),
    "grantRole": ({"admin"}, "AccessControlUnauthorizedAccount"),
    "revokeRole": ({"admin"}, "AccessControlUnauthorizedAccount"),
    "beginDefaultAdminTransfer": ({"admin"}, "AccessControlUnauthorizedAccount"),
    "changeDefaultAdminDelay": ({"admin"}, "AccessControlUnauthorizedAccount"),
    # Open to anyone on a version with a predecessor (tests/consent/test_migration.py);
    # this first version has none, so nobody can import into it.
    "importProvisions": (set(), "ConsentNoPredecessor"),
    "importRoles": (set(), "ConsentNoPredecessor"),
}
# Cells refused with another error than the row's: a consent delegate may not lift the
# patient's deny (only the DID owner may).
EXCEPTIONS = {("liftDeny", "delegate"): "ConsentDenyOwnerOnly"}


def test_matrix_covers_every_state_changing_function(registry):
    writes = {
        abi.name
        for abi in registry.contract_type.mutable_methods
        if abi.name
        not in {
            "renounceRole",
            "acceptDefaultAdminTransfer",
            "cancelDefaultAdminTransfer",
            "rollbackDefaultAdminDelay",
        }
    }
    assert writes == set(ALLOWED)


@pytest.mark.parametrize("function", sorted(ALLOWED))
def test_matrix(registry, world, function, chain):
    allowed, error = ALLOWED[function]
    calls = _calls(registry, world)
    outcomes = {}
    for role in ROLES:
        snapshot = chain.snapshot()
        try:
            with translate_errors("ConsentRegistry", registry.contract_type):
                calls[function](world["actors"][role])
            outcomes[role] = "ok"
        except ContractRevert as refused:
            outcomes[role] = refused.error_name
        finally:
            chain.restore(snapshot)
    expected = {
        role: "ok" if role in allowed else EXCEPTIONS.get((function, role), error) for role in ROLES
    }
    assert outcomes == expected
