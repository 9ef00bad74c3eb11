"""Property test: the contract against a small Python model of the consent rules, over
random sequences of grants, denies, revocations, delegation changes, time travel and
break-glass episodes. Times are placed on hour marks and checks on half-hour marks, so
the few seconds each transaction adds to the chain clock never straddle a boundary."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from medchain.consent import ETREAT, scope_id
from medchain.errors import ContractRevert, TransactionFailed, translate_errors

HOUR = 3600
SCOPES = [scope_id("category:laboratory"), scope_id("Observation"), scope_id("*")]
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

    def access(
        self, grantee: int, scope: bytes, action: int, purpose: int, now: int, clinician: int
    ) -> bool:
        if (
            purpose == ETREAT
            and action & ~3 == 0
            and grantee == clinician
            and now < self.emergency_until
        ):
            return True
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


def test_consent_matches_model(registry, client, did, chain, roles):
    patient, guardian = roles["patient"], roles["guardian"]
    grantees = [roles["provider"], roles["researcher"]]
    approvers = [roles["approver1"], roles["approver2"]]
    delegate_type = registry.CONSENT_DELEGATE()

    class ConsentMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.snapshot = chain.snapshot()
            self.base = (chain.pending_timestamp // HOUR + 2) * HOUR
            self.hour = 0
            chain.mine(timestamp=self.base + HOUR // 2)
            self.model = Model()

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
                    f"unexpected refusal {failed}"
                )
                return
            assert should_fail is None, f"expected {should_fail}"

        @rule(
            by_guardian=st.booleans(),
            grantee=st.integers(0, 1),
            scope=st.sampled_from(SCOPES),
            actions=st.integers(1, 7),
            purposes=st.sampled_from(PURPOSE_MASKS),
            start_in=st.integers(-2, 5),
            length=st.integers(1, 10),
            deny=st.booleans(),
        )
        def set_provision(
            self, by_guardian, grantee, scope, actions, purposes, start_in, length, deny
        ):
            start = max(0, self.base + (self.hour + start_in) * HOUR)
            end = self.base + (self.hour + start_in + length) * HOUR
            sender = guardian if by_guardian else patient
            method = registry.deny if deny else registry.grant
            if by_guardian and not self.model.delegated:
                failure = "ConsentUnauthorizedManager"
            elif end <= self.now_mark():
                failure = "ConsentInvalidProvision"
            else:
                failure = None
            self.expect(
                lambda: method(
                    patient, grantees[grantee], scope, actions, purposes, start, end, sender=sender
                ),
                failure,
            )
            if failure is None:
                self.model.provisions[(grantee, scope, deny)] = (actions, purposes, start, end)

        @rule(
            by_guardian=st.booleans(),
            grantee=st.integers(0, 1),
            scope=st.sampled_from(SCOPES),
            deny=st.booleans(),
        )
        def remove_provision(self, by_guardian, grantee, scope, deny):
            sender = guardian if by_guardian else patient
            method = registry.liftDeny if deny else registry.revoke
            key = (grantee, scope, deny)
            if by_guardian and not self.model.delegated:
                failure = "ConsentUnauthorizedManager"
            elif key not in self.model.provisions:
                failure = "ConsentNotFound"
            else:
                failure = None
            self.expect(lambda: method(patient, grantees[grantee], scope, sender=sender), failure)
            if failure is None:
                del self.model.provisions[key]

        @rule(on=st.booleans())
        def delegation(self, on):
            if on:
                did.addDelegate(patient, delegate_type, guardian, 400 * HOUR, sender=patient)
            elif self.model.delegated:
                did.revokeDelegate(patient, delegate_type, guardian, sender=patient)
            self.model.delegated = on

        @rule(hours=st.integers(1, 30))
        def travel(self, hours):
            self.hour += hours
            chain.mine(timestamp=self.now_mark())

        @rule(hours=st.integers(1, 24))
        def break_glass(self, hours):
            # a quarter-hour offset keeps the expiry away from the half-hour check marks
            duration = min(hours * HOUR - HOUR // 4, 24 * HOUR)
            episode = client.request_break_glass(patient, "emergency", duration, sender=grantees[0])
            client.approve_break_glass(episode, sender=approvers[0])
            receipt = client.approve_break_glass(episode, sender=approvers[1])
            expires = client.episode(episode)["expires_at"]
            assert expires == chain.blocks[receipt.block_number].timestamp + duration
            self.model.emergency_until = expires

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

    run_state_machine_as_test(
        ConsentMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
