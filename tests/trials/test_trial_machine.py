"""Property test: TrialRegistry against a small Python model of the trial rules (roles per
site, suspension, termination, amendment approval, consent versions, data lock) over random
sequences of actions by random actors. Every action's outcome — success or the exact custom
error — must match the model; the chain's status, versions and entry count must match after
each step, and the exported log must verify against the chain at the end."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from trialkit import PROTOCOL_CID, SITE_A, SITE_B, register_trial

from medchain.errors import ContractRevert
from medchain.trials import Role, TrialStatus, document_hash

ACTORS = ("sponsor", "ethics", "approver1", "investigator", "investigator2", "monitor", "patient")
SITES = (SITE_A, SITE_B)
actors = st.sampled_from(ACTORS)
sites = st.sampled_from(SITES)


@dataclass
class Model:
    status: TrialStatus = TrialStatus.ACTIVE
    locked: bool = False
    protocol_version: int = 1
    consent_version: int = 1
    protocol_hash: bytes = b""
    pending: tuple[int, bytes, int] | None = None  # (version, hash, consent version)
    sites: dict[str, set[int]] = field(default_factory=dict)
    monitors: set[str] = field(default_factory=set)
    ethics: set[str] = field(default_factory=set)
    entries: int = 0

    @property
    def running(self) -> bool:
        return self.status in (TrialStatus.ACTIVE, TrialStatus.SUSPENDED)


class TrialMachine(RuleBasedStateMachine):
    client = None
    roles: dict = {}

    def __init__(self) -> None:
        super().__init__()
        r = self.roles
        t = register_trial(
            self.client,
            r["sponsor"],
            r["ethics"],
            r["investigator"],
            r["investigator2"],
            r["monitor"],
        )
        self.tid = t.trial_id
        info = self.client.trial(self.tid)
        self.model = Model(
            protocol_hash=bytes.fromhex(info.protocol_hash[2:]),
            sites={"investigator": {SITE_A}, "investigator2": {SITE_B}},
            monitors={"monitor"},
            ethics={"ethics"},
            entries=info.entry_count,
        )
        self.counter = 0

    # ---- helpers

    def _do(self, expected: str | None, fn) -> None:
        """Run a client call; it must succeed (expected None) or revert with `expected`."""
        try:
            fn()
        except ContractRevert as exc:
            assert exc.error_name == expected, f"expected {expected}, chain said {exc}"
            return
        assert expected is None, f"expected {expected}, chain accepted"
        self.model.entries += 1

    def _fresh(self) -> bytes:
        self.counter += 1
        return document_hash(os.urandom(8) + self.counter.to_bytes(4, "big"))

    def _ethics_check(self, actor: str) -> str | None:
        return None if actor in self.model.ethics else "NotEthicsBoard"

    # ---- rules

    @rule(actor=actors, site=sites, stale=st.booleans())
    def enroll(self, actor: str, site: int, stale: bool) -> None:
        m = self.model
        version = m.consent_version - 1 if stale else m.consent_version
        expected = None
        if m.status == TrialStatus.SUSPENDED:
            expected = "TrialSuspended"
        elif m.status != TrialStatus.ACTIVE:
            expected = "TrialNotActive"
        elif m.locked:
            expected = "DataLockState"
        elif site not in m.sites.get(actor, set()):
            expected = "NotSiteStaff"
        elif stale:
            expected = "StaleConsentVersion"
        self._do(
            expected,
            lambda: self.client.enroll(
                self.tid,
                site,
                f"S-{self.counter}",
                consent_version=version,
                sender=self.roles[actor],
            ),
        )
        self.counter += 1

    @rule(actor=actors, site=sites, serious=st.booleans())
    def adverse_event(self, actor: str, site: int, serious: bool) -> None:
        m = self.model
        expected = None
        if not m.running:
            expected = "TrialNotActive"
        elif actor not in m.monitors and site not in m.sites.get(actor, set()):
            expected = "NotSiteStaff"
        self._do(
            expected,
            lambda: self.client.log_adverse_event(
                self.tid,
                site,
                self._fresh(),
                grade=3,
                serious=serious,
                report_hash=self._fresh(),
                sender=self.roles[actor],
            ),
        )

    @rule(actor=actors)
    def suspend(self, actor: str) -> None:
        m = self.model
        expected = self._ethics_check(actor) or (
            None if m.status == TrialStatus.ACTIVE else "TrialNotActive"
        )
        self._do(expected, lambda: self.client.suspend(self.tid, sender=self.roles[actor]))
        if expected is None:
            m.status = TrialStatus.SUSPENDED

    @rule(actor=actors)
    def resume(self, actor: str) -> None:
        m = self.model
        expected = self._ethics_check(actor) or (
            None if m.status == TrialStatus.SUSPENDED else "TrialNotActive"
        )
        self._do(expected, lambda: self.client.resume(self.tid, sender=self.roles[actor]))
        if expected is None:
            m.status = TrialStatus.ACTIVE

    @rule(actor=actors, data=st.data())
    def terminate(self, actor: str, data) -> None:
        # Rare: termination ends most of what the machine can explore.
        if data.draw(st.integers(0, 9), label="terminate?") != 0:
            return
        m = self.model
        expected = self._ethics_check(actor) or (None if m.running else "TrialNotActive")
        self._do(expected, lambda: self.client.terminate(self.tid, sender=self.roles[actor]))
        if expected is None:
            m.status = TrialStatus.TERMINATED

    @rule(actor=actors, bump=st.booleans(), same=st.booleans())
    def propose(self, actor: str, bump: bool, same: bool) -> None:
        m = self.model
        new_hash = m.protocol_hash if same else self._fresh()
        consent = m.consent_version + (1 if bump else 0)
        expected = None
        if actor != "sponsor":
            expected = "NotSponsor"
        elif not m.running:
            expected = "TrialNotActive"
        elif m.pending is not None:
            expected = "AmendmentPending"
        elif same:
            expected = "InvalidAmendment"
        self._do(
            expected,
            lambda: self.client.propose_amendment(
                self.tid, new_hash, PROTOCOL_CID, consent, sender=self.roles[actor]
            ),
        )
        if expected is None:
            m.pending = (m.protocol_version + 1, new_hash, consent)

    @rule(actor=actors, approve=st.booleans(), wrong=st.booleans())
    def review(self, actor: str, approve: bool, wrong: bool) -> None:
        m = self.model
        version, phash = (
            (m.pending[0], m.pending[1]) if m.pending else (m.protocol_version + 1, self._fresh())
        )
        if wrong:
            phash = self._fresh()
        expected = self._ethics_check(actor)
        if expected is None and not m.running:
            expected = "TrialNotActive"
        if expected is None and (m.pending is None or wrong):
            expected = "NoSuchAmendment"
        who = self.roles[actor]
        if approve:
            self._do(
                expected,
                lambda: self.client.approve_amendment(self.tid, version, phash, sender=who),
            )
        else:
            self._do(
                expected, lambda: self.client.reject_amendment(self.tid, version, phash, sender=who)
            )
        if expected is None:
            if approve:
                assert m.pending is not None
                m.protocol_version, m.protocol_hash, m.consent_version = m.pending
            m.pending = None

    @rule(
        actor=actors,
        who=st.sampled_from(("investigator", "investigator2", "patient")),
        site=sites,
        grant=st.booleans(),
    )
    def investigator_role(self, actor: str, who: str, site: int, grant: bool) -> None:
        m = self.model
        has = site in m.sites.get(who, set())
        expected = None
        if actor != "sponsor":
            expected = "NotSponsor"
        elif not m.running:
            expected = "TrialNotActive"
        elif has == grant:
            expected = "RoleUnchanged"
        fn = self.client.grant_role if grant else self.client.revoke_role
        self._do(
            expected,
            lambda: fn(
                self.tid, self.roles[who], Role.INVESTIGATOR, site, sender=self.roles[actor]
            ),
        )
        if expected is None:
            (m.sites.setdefault(who, set()).add if grant else m.sites[who].discard)(site)

    @rule(
        actor=actors,
        who=st.sampled_from(("ethics", "approver1", "monitor", "patient")),
        ethics_role=st.booleans(),
        grant=st.booleans(),
    )
    def member_role(self, actor: str, who: str, ethics_role: bool, grant: bool) -> None:
        """Ethics-board membership (by the board only, never emptied) and monitors (sponsor)."""
        m = self.model
        members = m.ethics if ethics_role else m.monitors
        expected = None
        if ethics_role and actor not in m.ethics:
            expected = "NotEthicsBoard"
        elif not ethics_role and actor != "sponsor":
            expected = "NotSponsor"
        elif not m.running:
            expected = "TrialNotActive"
        elif (who in members) == grant:
            expected = "RoleUnchanged"
        elif ethics_role and not grant and len(m.ethics) == 1:
            expected = "LastEthicsMember"
        role = Role.ETHICS if ethics_role else Role.MONITOR
        fn = self.client.grant_role if grant else self.client.revoke_role
        self._do(expected, lambda: fn(self.tid, self.roles[who], role, 0, sender=self.roles[actor]))
        if expected is None:
            (members.add if grant else members.discard)(who)

    @rule(actor=actors, data=st.data())
    def lock(self, actor: str, data) -> None:
        if data.draw(st.integers(0, 4), label="lock?") != 0:
            return
        m = self.model
        expected = None
        if actor != "sponsor":
            expected = "NotSponsor"
        elif not m.running:
            expected = "TrialNotActive"
        elif m.locked:
            expected = "DataLockState"
        self._do(
            expected,
            lambda: self.client.lock_data(
                self.tid, self._fresh(), PROTOCOL_CID, sender=self.roles[actor]
            ),
        )
        if expected is None:
            m.locked = True

    # ---- invariants

    @invariant()
    def chain_matches_model(self) -> None:
        info = self.client.trial(self.tid)
        m = self.model
        assert info.status == m.status
        assert info.locked == m.locked
        assert (info.protocol_version, info.consent_version) == (
            m.protocol_version,
            m.consent_version,
        )
        assert info.entry_count == m.entries
        assert info.protocol_hash == "0x" + m.protocol_hash.hex()
        assert self.client.pending_amendment(self.tid).version == (m.pending[0] if m.pending else 0)
        assert info.ethics_count == len(m.ethics)

    def teardown(self) -> None:
        report = self.client.verify(self.client.export(self.tid))
        assert report.entry_count == self.model.entries


def test_trial_registry_matches_model(roles, client):
    TrialMachine.client = client
    TrialMachine.roles = roles
    run_state_machine_as_test(
        TrialMachine,
        settings=settings(
            max_examples=10,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
