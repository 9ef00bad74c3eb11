"""Property test: the contract against a small Python model of the consent rules, over
random sequences of grants, denies, revocations, delegation changes, DID rotation and
deactivation, clinician on/off-boarding, time travel and break-glass episodes. Times are
placed on hour marks and checks on half-hour marks, so the few seconds each transaction
adds to the chain clock never straddle a boundary.

Hostile actors: the patient's original key, the key it may rotate to, the consent
delegate, a grantee and an outsider all try every consent change at random (out of turn
included); every role and outsiders try to stop episodes. Invariants: only the DID's
current owner (and a live delegate, within its limits) changes consent; a deactivated
identity's permits grant nothing; break-glass access ends when its episode ends or its
clinician loses CLINICIAN_ROLE."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from medchain.codec import scope_code
from medchain.consent import ETREAT
from medchain.errors import ContractRevert, TransactionFailed, translate_errors
from support.fuzzing import machine_settings

HOUR = 3600
SCOPES = [scope_code("category:laboratory"), scope_code("Observation"), scope_code("*")]
ANY = SCOPES[2]
PURPOSE_MASKS = [0b1, 0b10, 0b10000, 0b10011, (1 << 19) - 1]  # TREAT, ETREAT, HRESCH, mixes, all
CHECK_PURPOSES = [0, 1, 4]  # TREAT, ETREAT, HRESCH


@dataclass
class Model:
    """The rules, independently: deny (exact or wildcard) beats permit; an active
    break-glass grants ETREAT read/write whatever the provisions say."""

    provisions: dict[tuple[int, bytes, bool], tuple[int, int, int, int]] = field(
        default_factory=dict
    )
    delegated: bool = False
    emergency_until: int = 0
    owner: str | None = "patient"  # "patient" (its own key), "newkey", None: deactivated
    clinician_role: bool = True

    def access(
        self, grantee: int, scope: bytes, action: int, purpose: int, now: int, clinician: int
    ) -> bool:
        if (
            purpose == ETREAT
            and action & ~3 == 0
            and grantee == clinician
            and now < self.emergency_until
            and self.clinician_role
        ):
            return True
        if self.owner is None:
            return False
        scopes = [scope] if scope == ANY else [scope, ANY]

        def matches(deny: bool, s: bytes) -> bool:
            p = self.provisions.get((grantee, s, deny))
            if p is None:
                return False
            actions, purposes, start, end = p
            covers = actions & action != 0 if deny else actions & action == action
            return covers and purposes >> purpose & 1 == 1 and start <= now < end

        if any(matches(True, s) for s in scopes):
            return False
        return any(matches(False, s) for s in scopes)


@pytest.mark.statemachine
def test_consent_matches_model(registry, client, did, chain, roles):
    patient, guardian, newkey = roles["patient"], roles["guardian"], roles["lab"]
    grantees = [roles["provider"], roles["researcher"]]
    approvers = [roles["approver1"], roles["approver2"]]
    admin, officer, outsider = roles["deployer"], roles["privacy_officer"], roles["monitor"]
    delegate_type = registry.CONSENT_DELEGATE()
    clinician_role = registry.CLINICIAN_ROLE()
    # who tries consent changes: name -> account
    managers = {
        "patient": patient,
        "newkey": newkey,
        "guardian": guardian,
        "grantee": grantees[1],
        "outsider": outsider,
    }
    stoppers = {"clinician": grantees[0], "officer": officer, "admin": admin, "outsider": outsider}
    ZERO = "0x" + "00" * 20

    class ConsentMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.snapshot = chain.snapshot()
            self.base = (chain.pending_timestamp // HOUR + 2) * HOUR
            self.hour = 0
            chain.mine(timestamp=self.base + HOUR // 2)
            self.model = Model()
            self.episode = 0  # latest episode and its model status
            self.episode_status = "none"
            self.approved: set[int] = set()
            self.requested_hour = 0

        def teardown(self) -> None:
            chain.restore(self.snapshot)

        def now_mark(self) -> int:
            return self.base + self.hour * HOUR + HOUR // 2

        def expect(self, fn, should_fail: str | None) -> None:
            try:
                with translate_errors("ConsentRegistry", registry.contract_type):
                    fn()
            except (ContractRevert, TransactionFailed) as failed:
                name = getattr(failed, "error_name", str(failed))
                assert should_fail is not None and should_fail in name, (
                    f"unexpected refusal {failed}, expected {should_fail}"
                )
                return
            assert should_fail is None, f"expected {should_fail}"

        def manager_failure(self, who: str) -> tuple[str | None, bool]:
            """(refusal of the manager check, whether `who` acts as the owner)."""
            if self.model.owner is None:
                return "ConsentIdentityDeactivated", False
            if who == self.model.owner:
                return None, True
            if who == "guardian" and self.model.delegated:
                return None, False
            return "ConsentUnauthorizedManager", False

        @rule(
            who=st.sampled_from(sorted(managers)),
            grantee=st.integers(0, 1),
            scope=st.sampled_from(SCOPES),
            actions=st.integers(1, 7),
            purposes=st.sampled_from(PURPOSE_MASKS),
            start_in=st.integers(-2, 5),
            length=st.integers(1, 10),
            deny=st.booleans(),
        )
        def set_provision(self, who, grantee, scope, actions, purposes, start_in, length, deny):
            start = max(0, self.base + (self.hour + start_in) * HOUR)
            end = self.base + (self.hour + start_in + length) * HOUR
            method = registry.deny if deny else registry.grant
            failure, as_owner = self.manager_failure(who)
            if failure is None and end <= self.now_mark():
                failure = "ConsentInvalidProvision"
            weakens = deny and (grantee, scope, True) in self.model.provisions
            if failure is None and not as_owner and weakens:
                failure = "ConsentDenyOwnerOnly"  # a delegate never weakens a deny
            self.expect(
                lambda: method(
                    patient,
                    grantees[grantee],
                    scope,
                    actions,
                    purposes,
                    start,
                    end,
                    sender=managers[who],
                ),
                failure,
            )
            if failure is None:
                self.model.provisions[(grantee, scope, deny)] = (actions, purposes, start, end)

        @rule(
            who=st.sampled_from(sorted(managers)),
            grantee=st.integers(0, 1),
            scope=st.sampled_from(SCOPES),
            deny=st.booleans(),
        )
        def remove_provision(self, who, grantee, scope, deny):
            method = registry.liftDeny if deny else registry.revoke
            key = (grantee, scope, deny)
            failure, as_owner = self.manager_failure(who)
            if failure is None and key not in self.model.provisions:
                failure = "ConsentNotFound"
            if failure is None and deny and not as_owner:
                failure = "ConsentDenyOwnerOnly"
            self.expect(
                lambda: method(patient, grantees[grantee], scope, sender=managers[who]), failure
            )
            if failure is None:
                del self.model.provisions[key]

        def owner_account(self):
            return patient if self.model.owner == "patient" else newkey

        @rule(on=st.booleans())
        def delegation(self, on):
            if self.model.owner is None:
                return
            if on:
                did.addDelegate(
                    patient, delegate_type, guardian, 400 * HOUR, sender=self.owner_account()
                )
            elif self.model.delegated:
                did.revokeDelegate(patient, delegate_type, guardian, sender=self.owner_account())
            self.model.delegated = on

        @rule()
        def rotate(self):
            """The DID moves to the other key; the previous key becomes nobody."""
            if self.model.owner is None:
                return
            to = "newkey" if self.model.owner == "patient" else "patient"
            did.changeOwner(patient, managers[to], sender=self.owner_account())
            self.model.owner = to

        @rule(really=st.integers(0, 3))
        def deactivate(self, really):
            if self.model.owner is None or really:  # rare: it ends every consent change
                return
            did.changeOwner(patient, ZERO, sender=self.owner_account())
            self.model.owner = None

        @rule(on=st.booleans())
        def clinician_boarding(self, on):
            if on:
                registry.grantRole(clinician_role, grantees[0], sender=admin)
            else:
                registry.revokeRole(clinician_role, grantees[0], sender=admin)
            self.model.clinician_role = on

        @rule(hours=st.integers(1, 30))
        def travel(self, hours):
            self.hour += hours
            chain.mine(timestamp=self.now_mark())

        @rule(hours=st.integers(1, 24))
        def request(self, hours):
            # a quarter-hour offset keeps the expiry away from the half-hour check marks
            duration = min(hours * HOUR - HOUR // 4, 24 * HOUR)
            if not self.model.clinician_role:
                self.expect(
                    lambda: registry.requestBreakGlass(
                        patient, b"\1" * 32, duration, sender=grantees[0]
                    ),
                    "AccessControlUnauthorizedAccount",
                )
                return
            self.episode = client.request_break_glass(
                patient, "emergency", duration, sender=grantees[0]
            )
            self.episode_status, self.approved = "pending", set()
            self.requested_hour, self.duration = self.hour, duration

        @rule(which=st.integers(0, 1))
        def approve(self, which):
            if not self.episode:
                return
            if self.episode_status != "pending":
                failure = "ConsentBreakGlassWrongStatus"
            elif self.hour != self.requested_hour:
                failure = "ConsentBreakGlassRequestExpired"
            elif not self.model.clinician_role:
                failure = "ConsentBreakGlassClinicianRevoked"
            elif which in self.approved:
                failure = "ConsentBreakGlassAlreadyApproved"
            else:
                failure = None
            self.expect(
                lambda: registry.approveBreakGlass(self.episode, sender=approvers[which]), failure
            )
            if failure is None:
                self.approved.add(which)
                if len(self.approved) == 2:
                    expires = client.episode(self.episode)["expires_at"]
                    assert expires == chain.blocks.head.timestamp + self.duration
                    self.model.emergency_until = expires
                    self.episode_status = "active"

        @rule(who=st.sampled_from(sorted(stoppers)), close=st.booleans())
        def stop(self, who, close):
            """Anyone tries to cancel a pending or close an active episode."""
            if not self.episode:
                return
            now = chain.blocks.head.timestamp
            if who == "outsider":
                failure = "ConsentBreakGlassCannotStop"
            elif (
                close and (self.episode_status != "active" or now >= self.model.emergency_until)
            ) or (not close and self.episode_status != "pending"):
                failure = "ConsentBreakGlassWrongStatus"
            else:
                failure = None
            method = registry.closeBreakGlass if close else registry.cancelBreakGlass
            self.expect(lambda: method(self.episode, sender=stoppers[who]), failure)
            if failure is None and close:
                self.model.emergency_until = chain.blocks.head.timestamp
            elif failure is None:
                self.episode_status = "cancelled"

        @rule(
            grantee=st.integers(0, 1),
            scope=st.sampled_from(SCOPES),
            action=st.integers(1, 7),
            purpose=st.sampled_from(CHECK_PURPOSES),
        )
        def check(self, grantee, scope, action, purpose):
            now = chain.blocks.head.timestamp
            expected = self.model.access(grantee, scope, action, purpose, now, 0)
            assert (
                registry.hasAccess(patient, grantees[grantee], scope, action, purpose) == expected
            )

        @invariant()
        def treatment_read_of_labs(self):
            if not hasattr(self, "model"):
                return
            now = chain.blocks.head.timestamp
            for grantee in (0, 1):
                expected = self.model.access(grantee, SCOPES[0], 1, 0, now, 0)
                assert registry.hasAccess(patient, grantees[grantee], SCOPES[0], 1, 0) == expected
            assert registry.canWrite(patient, grantees[0], SCOPES[1]) == self.model.access(
                0, SCOPES[1], 2, 0, now, 0
            )

        @invariant()
        def only_the_current_owner_and_live_delegate_manage(self):
            if not hasattr(self, "model"):
                return
            for who, account in managers.items():
                expected = self.model.owner is not None and (
                    who == self.model.owner or (who == "guardian" and self.model.delegated)
                )
                assert registry.isManager(patient, account) == expected, who

        @invariant()
        def break_glass_ends_with_episode_or_role(self):
            if not hasattr(self, "model"):
                return
            now = chain.blocks.head.timestamp
            live = now < self.model.emergency_until and self.model.clinician_role
            assert registry.hasAccess(patient, grantees[0], SCOPES[1], 1, ETREAT) == (
                live or self.model.access(0, SCOPES[1], 1, ETREAT, now, 1)
            )

    run_state_machine_as_test(ConsentMachine, settings=machine_settings(6, 14))
