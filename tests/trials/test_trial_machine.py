"""Property test: TrialRegistry against a small Python model of the trial rules (roles per
site, suspension, termination, k-of-n amendment approval and board membership, consent
versions, data lock) over random sequences of actions by every role and outsiders, each
acting at random and out of turn. Every action's outcome — success, a vote short of the
threshold, or the exact custom error — must match the model; the chain's status, versions,
board and entry count must match after each step, and the exported log must verify against
the chain at the end.

Invariant (security review finding 6): no single ethics member changes the board or the
registered outcomes — every membership change and every approved amendment carries votes of
`THRESHOLD` distinct members of the board as it stood, and the pre-registered outcomes hash
never changes whatever is approved."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from medchain.errors import ContractRevert
from medchain.trials import Role, TrialStatus, document_hash, outcomes_hash
from support.fuzzing import machine_settings
from support.trials import PRIMARY, PROTOCOL_CID, SECONDARY, SITE_A, SITE_B, register_trial

ACTORS = (
    "sponsor",
    "ethics",
    "ethics2",
    "ethics3",
    "approver1",
    "investigator",
    "investigator2",
    "monitor",
    "patient",
)
BOARD = ("ethics", "ethics2", "ethics3")
THRESHOLD = 2
REGISTERED_OUTCOMES = outcomes_hash(PRIMARY, SECONDARY)
SWITCHED_OUTCOMES = outcomes_hash(SECONDARY[:1], PRIMARY)
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
    # (version, hash, consent version, outcomes hash or b"", proposal seq)
    pending: tuple[int, bytes, int, bytes, int] | None = None
    sites: dict[str, set[int]] = field(default_factory=dict)
    monitors: set[str] = field(default_factory=set)
    ethics: set[str] = field(default_factory=set)
    entries: int = 0
    epoch: int = 0
    amended_outcomes: bytes = bytes(32)
    # open votes: motion -> voters (motion keys include the epoch / proposal seq, as on chain)
    votes: dict[tuple, set[str]] = field(default_factory=dict)
    # every decision the board took: (what, voters) — checked by the invariant
    decisions: list[tuple[str, frozenset[str]]] = field(default_factory=list)

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
            board=[r["ethics2"], r["ethics3"]],
            threshold=THRESHOLD,
        )
        self.tid = t.trial_id
        info = self.client.trial(self.tid)
        self.model = Model(
            protocol_hash=bytes.fromhex(info.protocol_hash[2:]),
            sites={"investigator": {SITE_A}, "investigator2": {SITE_B}},
            monitors={"monitor"},
            ethics=set(BOARD),
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
        return None if actor in self.model.ethics else "TrialNotEthicsBoard"

    def _sponsor_check(self, actor: str) -> str | None:
        """The error a sponsor-only call on a running trial names first, or None."""
        if actor != "sponsor":
            return "TrialNotSponsor"
        return None if self.model.running else "TrialNotActive"

    def _site_role(
        self, actor: str, who: str, grant: bool, role: Role, site: int, has: bool
    ) -> bool:
        """The sponsor grants (or revokes) `who` a site-scoped role (investigator, monitor;
        never the sponsor itself); True when the model expects the change to take effect."""
        expected = self._sponsor_check(actor)
        if expected is None and grant and who == "sponsor":
            expected = "TrialSponsorInSiteRole"
        elif expected is None and has == grant:
            expected = "TrialRoleUnchanged"
        fn = self.client.grant_role if grant else self.client.revoke_role
        self._do(
            expected,
            lambda: fn(self.tid, self.roles[who], role, site, sender=self.roles[actor]),
        )
        return expected is None

    def _vote(self, motion: tuple, actor: str) -> tuple[str | None, bool]:
        """(expected error, passes) of `actor`'s vote on `motion` per the model."""
        voters = self.model.votes.get(motion, set())
        if actor in voters:
            return "TrialEthicsVoteRepeated", False
        return None, len(voters) + 1 >= THRESHOLD

    def _record_vote(self, motion: tuple, actor: str, passes: bool, what: str) -> None:
        voters = self.model.votes.setdefault(motion, set())
        voters.add(actor)
        if passes:
            self.model.decisions.append((what, frozenset(voters)))

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
            expected = "TrialDataLockState"
        elif site not in m.sites.get(actor, set()):
            expected = "TrialNotSiteStaff"
        elif stale:
            expected = "TrialStaleConsentVersion"
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
            expected = "TrialNotSiteStaff"
        self._do(
            expected,
            lambda: self.client.log_adverse_event(
                self.tid,
                site,
                self._fresh(),
                grade=3,
                serious=serious,
                report=self._fresh(),
                sender=self.roles[actor],
            ),
        )

    def _ethics_moves(self, actor: str, method: str, start: TrialStatus, end: TrialStatus) -> None:
        """The ethics board moves the trial from `start` to `end` (suspend / resume)."""
        m = self.model
        expected = self._ethics_check(actor) or (None if m.status == start else "TrialNotActive")
        move = getattr(self.client, method)
        self._do(expected, lambda: move(self.tid, sender=self.roles[actor]))
        if expected is None:
            m.status = end

    @rule(actor=actors)
    def suspend(self, actor: str) -> None:
        self._ethics_moves(actor, "suspend", TrialStatus.ACTIVE, TrialStatus.SUSPENDED)

    @rule(actor=actors)
    def resume(self, actor: str) -> None:
        self._ethics_moves(actor, "resume", TrialStatus.SUSPENDED, TrialStatus.ACTIVE)

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

    @rule(actor=actors, bump=st.booleans(), same=st.booleans(), switch=st.booleans())
    def propose(self, actor: str, bump: bool, same: bool, switch: bool) -> None:
        m = self.model
        new_hash = m.protocol_hash if same else self._fresh()
        consent = m.consent_version + (1 if bump else 0)
        outcomes = SWITCHED_OUTCOMES if switch else None
        expected = self._sponsor_check(actor)
        if expected is not None:
            pass
        elif m.pending is not None:
            expected = "TrialAmendmentPending"
        elif same:
            expected = "TrialInvalidAmendment"
        elif switch and m.locked:
            expected = "TrialOutcomesFrozen"
        seq = m.entries
        self._do(
            expected,
            lambda: self.client.propose_amendment(
                self.tid, new_hash, PROTOCOL_CID, consent, outcomes, sender=self.roles[actor]
            ),
        )
        if expected is None:
            m.pending = (m.protocol_version + 1, new_hash, consent, outcomes or b"", seq)

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
            expected = "TrialNoSuchAmendment"
        passes = True
        motion: tuple = ()
        if expected is None and approve:
            assert m.pending is not None
            if m.pending[3] and m.locked:
                expected = "TrialOutcomesFrozen"
            else:
                motion = ("approve", version, phash, m.pending[4], m.epoch)
                expected, passes = self._vote(motion, actor)
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
            assert m.pending is not None
            if approve:
                self._record_vote(motion, actor, passes, "amendment")
                if not passes:
                    return
                m.protocol_version, m.protocol_hash, m.consent_version = m.pending[:3]
                if m.pending[3]:
                    m.amended_outcomes = m.pending[3]
            m.pending = None

    @rule(
        actor=actors,
        who=st.sampled_from(("investigator", "investigator2", "patient", "sponsor")),
        site=sites,
        grant=st.booleans(),
    )
    def investigator_role(self, actor: str, who: str, site: int, grant: bool) -> None:
        m = self.model
        has = site in m.sites.get(who, set())
        if self._site_role(actor, who, grant, Role.INVESTIGATOR, site, has):
            (m.sites.setdefault(who, set()).add if grant else m.sites[who].discard)(site)

    @rule(
        actor=actors,
        who=st.sampled_from(("ethics", "ethics2", "ethics3", "approver1", "patient", "sponsor")),
        grant=st.booleans(),
    )
    def ethics_member(self, actor: str, who: str, grant: bool) -> None:
        """Board membership: k-of-n votes of the board only, never below the threshold."""
        m = self.model
        expected = None
        passes = True
        motion = ("grant" if grant else "revoke", who, m.epoch)
        if actor not in m.ethics:
            expected = "TrialNotEthicsBoard"
        elif not m.running:
            expected = "TrialNotActive"
        elif (who in m.ethics) == grant:
            expected = "TrialRoleUnchanged"
        elif grant and who == "sponsor":
            expected = "TrialSponsorOnEthicsBoard"
        elif not grant and len(m.ethics) <= THRESHOLD:
            expected = "TrialEthicsBoardBelowThreshold"
        else:
            expected, passes = self._vote(motion, actor)
        fn = self.client.grant_role if grant else self.client.revoke_role
        self._do(
            expected,
            lambda: fn(self.tid, self.roles[who], Role.ETHICS, 0, sender=self.roles[actor]),
        )
        if expected is None:
            self._record_vote(motion, actor, passes, f"{motion[0]} {who}")
            if passes:
                (m.ethics.add if grant else m.ethics.discard)(who)
                m.epoch += 1

    @rule(actor=actors, who=st.sampled_from(("monitor", "patient", "sponsor")), grant=st.booleans())
    def monitor_role(self, actor: str, who: str, grant: bool) -> None:
        m = self.model
        if self._site_role(actor, who, grant, Role.MONITOR, 0, who in m.monitors):
            (m.monitors.add if grant else m.monitors.discard)(who)

    @rule(actor=actors, data=st.data())
    def lock(self, actor: str, data) -> None:
        if data.draw(st.integers(0, 4), label="lock?") != 0:
            return
        m = self.model
        expected = self._sponsor_check(actor) or ("TrialDataLockState" if m.locked else None)
        self._do(
            expected,
            lambda: self.client.lock_data(
                self.tid, self._fresh(), PROTOCOL_CID, sender=self.roles[actor]
            ),
        )
        if expected is None:
            m.locked = True

    @rule(actor=actors, switched=st.booleans())
    def report(self, actor: str, switched: bool) -> None:
        """Results are compared with the pre-registered outcomes, whatever was amended."""
        m = self.model
        expected = self._sponsor_check(actor) or (None if m.locked else "TrialDataLockState")
        reported = SWITCHED_OUTCOMES if switched else REGISTERED_OUTCOMES
        matches: list[bool] = []
        self._do(
            expected,
            lambda: matches.append(
                self.client.report_outcomes(
                    self.tid, reported, self._fresh(), PROTOCOL_CID, sender=self.roles[actor]
                )
            ),
        )
        if expected is None:
            assert matches == [not switched]

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
        assert info.ethics_threshold == THRESHOLD and info.board_epoch == m.epoch
        assert info.amended_outcomes_hash == "0x" + m.amended_outcomes.hex()
        # Finding 6: no single ethics member changes the board or the registered outcomes.
        # The pre-registered outcomes never change, and every board decision the chain carried
        # out (it agreed with the model on every step) had THRESHOLD distinct voters.
        assert info.outcomes_hash == "0x" + REGISTERED_OUTCOMES.hex()
        assert all(len(voters) >= THRESHOLD for _, voters in m.decisions)

    def teardown(self) -> None:
        for name in ("ethics", "ethics2", "ethics3", "approver1", "patient", "sponsor"):
            held = self.client.has_role(self.tid, self.roles[name], Role.ETHICS)
            assert held == (name in self.model.ethics), name
        report = self.client.verify(self.client.export(self.tid))
        assert report.entry_count == self.model.entries
        decided = [d for d in self.model.decisions if d[0] == "amendment"]
        assert report.ethics_votes >= sum(THRESHOLD - 1 for _ in decided)


@pytest.mark.statemachine
def test_trial_registry_matches_model(roles, client):
    TrialMachine.client = client
    TrialMachine.roles = roles
    run_state_machine_as_test(TrialMachine, settings=machine_settings(6, 20))
