"""RecordRegistry against a small Python model: random anchors, corrections and shares
by authorised and unauthorised accounts; the contract must accept exactly what the
model accepts, refuse the rest with the model's error, and read back the same state."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import ape
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from medchain.errors import ContractRevert
from medchain.records import RecordsClient, scope_code
from medchain.storage.unixfs import compute_cid

SCOPES = [scope_code("Observation"), scope_code("Condition")]
ZERO = b"\0" * 32


@dataclass
class Row:
    patient: str
    scope: bytes
    cid: bytes
    version: int
    supersedes: bytes
    superseded_by: bytes = ZERO
    envelopes: dict[str, bytes] = field(default_factory=dict)


def run_machine(project, deployer, did_registry, people) -> None:
    class RegistryModel(RuleBasedStateMachine):
        @initialize()
        def deploy(self) -> None:
            contract = deployer.deploy(project.RecordRegistry, did_registry, deployer)
            self.client = RecordsClient(contract)
            self.rows: dict[bytes, Row] = {}

        def _expect(self, call, error: str | None) -> None:
            if error is None:
                call()
                return
            try:
                call()
            except ContractRevert as exc:
                assert exc.error_name == error, (exc.error_name, error)
            else:
                raise AssertionError(f"expected {error}")

        @rule(patient=st.sampled_from(people), writer=st.sampled_from(people),
              scope=st.sampled_from(SCOPES), reuse=st.booleans(), n_env=st.integers(0, 2),
              data=st.data())  # fmt: skip
        def anchor(self, patient, writer, scope, reuse, n_env, data) -> None:
            supersedes = ZERO
            if reuse and self.rows:
                supersedes = data.draw(st.sampled_from(sorted(self.rows)))
            rid = os.urandom(32)
            cid = compute_cid(rid)
            recipients = data.draw(st.lists(st.sampled_from(people), min_size=n_env,
                                            max_size=n_env, unique=True))  # fmt: skip
            envs = [
                (str(r.address), compute_cid(rid + bytes(r.address, "ascii"))) for r in recipients
            ]
            error = None
            if writer != patient:
                error = "UnauthorizedWriter"
            elif supersedes != ZERO:
                old = self.rows[supersedes]
                if old.superseded_by != ZERO:
                    error = "AlreadySuperseded"
                elif old.patient != str(patient.address) or old.scope != scope:
                    error = "CorrectionMismatch"

            def call() -> None:
                self.client.anchor(patient=patient, record_id=rid, scope=scope, schema_version=1,
                                   cid=cid, content_hash=os.urandom(32), supersedes=supersedes,
                                   envelopes=envs, sender=writer)  # fmt: skip

            self._expect(call, error)
            if error is None:
                version = 1 if supersedes == ZERO else self.rows[supersedes].version + 1
                self.rows[rid] = Row(str(patient.address), scope, cid.to_bytes(), version,
                                     supersedes, envelopes={a: c.to_bytes() for a, c in envs})  # fmt: skip
                if supersedes != ZERO:
                    self.rows[supersedes].superseded_by = rid

        @rule(sharer=st.sampled_from(people), recipient=st.sampled_from(people), data=st.data())
        def share(self, sharer, recipient, data) -> None:
            if not self.rows:
                return
            rid = data.draw(st.sampled_from(sorted(self.rows)))
            row = self.rows[rid]
            cid = compute_cid(os.urandom(16))
            error = None
            if str(sharer.address) != row.patient:
                error = "UnauthorizedSharer"
            elif str(recipient.address) in row.envelopes:
                error = "EnvelopeExists"
            self._expect(
                lambda: self.client.add_envelope(rid, recipient, cid, sender=sharer), error
            )
            if error is None:
                row.envelopes[str(recipient.address)] = cid.to_bytes()

        @invariant()
        def same_state(self) -> None:
            for rid, row in self.rows.items():
                anchor = self.client.record(rid)
                assert (anchor.patient, anchor.scope, anchor.cid.to_bytes(), anchor.version) == (
                    row.patient, row.scope, row.cid, row.version)  # fmt: skip
                assert (anchor.supersedes, anchor.superseded_by) == (
                    row.supersedes,
                    row.superseded_by,
                )
            if self.rows:
                rid = max(self.rows)
                for person in people:
                    env = self.client.envelope_of(rid, person)
                    want = self.rows[rid].envelopes.get(str(person.address))
                    assert (env.to_bytes() if env else None) == want

    RegistryModel.TestCase.settings = settings(
        max_examples=12, stateful_step_count=12, deadline=None
    )
    RegistryModel.TestCase().runTest()


def test_registry_matches_model(project, deployer, did_registry, patient, provider, researcher):
    assert ape.chain.chain_id
    run_machine(project, deployer, did_registry, [patient, provider, researcher])
