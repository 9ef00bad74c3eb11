"""RecordRegistry against a small Python model, with hostile actors: every role plus an
outsider anchors, corrects, replays salts and shares at random (out of turn included),
while the patients' DIDs are rotated, deactivated, given records delegates and consent
write grants. The contract must accept exactly what the model accepts, refuse the rest
with the model's error, and read back the same state.

Invariants (security review, findings 2 and 9):
* a rotated or deactivated identity gives nobody any power over its records: a
  deactivated identity lets nobody write, share or correct; after a rotation the old
  key has no power unless it was made a delegate or given consent on its own;
* only authorised parties extend a version chain: the superseded record's author (while
  it may still write) or the patient's manager (current DID owner / records delegate).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import ape
import pytest
from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from medchain.errors import ContractRevert
from medchain.records import RecordsClient, record_id_for, scope_code
from medchain.storage.unixfs import compute_cid
from support.deploy import deploy_fresh
from support.fuzzing import machine_settings

SCOPES = [scope_code("Observation"), scope_code("Condition")]
ZERO = b"\0" * 32
DEAD = "0x" + "00" * 20
RECORDS = keccak(b"medchain/records")


@dataclass
class Row:
    patient: str
    author: str
    scope: bytes
    cid: bytes
    version: int
    supersedes: bytes
    superseded_by: bytes = ZERO
    envelopes: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Identity:
    owner: str
    keys: set[str]  # every address that ever owned it (the old keys after rotations)
    deactivated: bool = False
    delegates: set[str] = field(default_factory=set)
    grants: set[tuple[str, bytes]] = field(default_factory=set)  # (writer, scope)


def run_machine(project, deployer, people, patients) -> None:
    names = {str(p.address): p for p in people}

    class RegistryModel(RuleBasedStateMachine):
        @initialize()
        def deploy(self) -> None:
            # As shipped: the consent registry is the record registry's write authorizer.
            deployed = deploy_fresh(deployer, "ConsentRegistry").contracts
            self.did, self.consent = deployed["DIDRegistry"], deployed["ConsentRegistry"]
            self.client = RecordsClient(deployed["RecordRegistry"])
            self.rows: dict[bytes, Row] = {}
            self.salts: list[tuple[str, bytes]] = []  # (patient, salt) used so far
            self.ids = {
                str(p.address): Identity(str(p.address), {str(p.address)}) for p in patients
            }

        # -- the model's rules ---------------------------------------------------------

        def _manager(self, ident: Identity, who: str) -> bool:
            return not ident.deactivated and (who == ident.owner or who in ident.delegates)

        def _authorized(self, ident: Identity, who: str, scope: bytes) -> bool:
            return (who, scope) in ident.grants

        def _can_write(self, patient: str, who: str, scope: bytes) -> bool:
            ident = self.ids[patient]
            if ident.deactivated:
                return False
            return self._manager(ident, who) or self._authorized(ident, who, scope)

        def _can_share(self, rid: bytes, who: str) -> bool:
            return self._manager(self.ids[self.rows[rid].patient], who)

        def _can_supersede(self, rid: bytes, who: str) -> bool:
            row = self.rows[rid]
            ident = self.ids[row.patient]
            if ident.deactivated or row.superseded_by != ZERO:
                return False
            return self._manager(ident, who) or (
                who == row.author and self._authorized(ident, who, row.scope)
            )

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

        # -- the identity's owner changes the DID and consent (in turn) ----------------

        @rule(patient=st.sampled_from(patients), new_owner=st.sampled_from(people))
        def rotate(self, patient, new_owner) -> None:
            ident = self.ids[str(patient.address)]
            if ident.deactivated:
                return
            self.did.changeOwner(patient, new_owner, sender=names[ident.owner])
            ident.owner = str(new_owner.address)
            ident.keys.add(ident.owner)

        @rule(patient=st.sampled_from(patients))
        def deactivate(self, patient) -> None:
            ident = self.ids[str(patient.address)]
            if ident.deactivated:
                return
            self.did.changeOwner(patient, DEAD, sender=names[ident.owner])
            ident.deactivated = True

        @rule(patient=st.sampled_from(patients), delegate=st.sampled_from(people),
              add=st.booleans())  # fmt: skip
        def delegate(self, patient, delegate, add) -> None:
            ident = self.ids[str(patient.address)]
            who = str(delegate.address)
            if ident.deactivated or (not add and who not in ident.delegates):
                return
            owner = names[ident.owner]
            if add:
                self.did.addDelegate(patient, RECORDS, delegate, 86_400, sender=owner)
                ident.delegates.add(who)
            else:
                self.did.revokeDelegate(patient, RECORDS, delegate, sender=owner)
                ident.delegates.discard(who)

        @rule(patient=st.sampled_from(patients), writer=st.sampled_from(people),
              scope=st.sampled_from(SCOPES), add=st.booleans())  # fmt: skip
        def consent(self, patient, writer, scope, add) -> None:
            ident = self.ids[str(patient.address)]
            key = (str(writer.address), scope)
            if ident.deactivated or (not add and key not in ident.grants):
                return
            owner = names[ident.owner]
            if add:
                now = ape.chain.pending_timestamp
                self.consent.grant(patient, writer, scope, self.consent.WRITE(),
                                   1 << self.consent.TREAT(), 0, now + 86_400 * 30,
                                   sender=owner)  # fmt: skip
                ident.grants.add(key)
            else:
                self.consent.revoke(patient, writer, scope, sender=owner)
                ident.grants.discard(key)

        # -- anyone, at random, against the record registry -----------------------------

        @rule(patient=st.sampled_from(patients), writer=st.sampled_from(people),
              scope=st.sampled_from(SCOPES), correct=st.booleans(), replay=st.booleans(),
              n_env=st.integers(0, 2), data=st.data())  # fmt: skip
        def anchor(self, patient, writer, scope, correct, replay, n_env, data) -> None:
            p, w = str(patient.address), str(writer.address)
            supersedes = ZERO
            if correct and self.rows:
                supersedes = data.draw(st.sampled_from(sorted(self.rows)))
            salt = os.urandom(32)
            if replay and self.salts:  # someone's salt, seen in a pending transaction
                p, salt = data.draw(st.sampled_from(self.salts))
                patient = names[p]
            rid = record_id_for(w, p, salt)
            cid = compute_cid(salt + bytes(w, "ascii"))
            recipients = data.draw(st.lists(st.sampled_from(people), min_size=n_env,
                                            max_size=n_env, unique=True))  # fmt: skip
            envs = [(str(r.address), compute_cid(rid + bytes(r.address, "ascii")))
                    for r in recipients]  # fmt: skip
            ident = self.ids[p]
            error = None
            if rid in self.rows:
                error = "RecordExists"
            elif ident.deactivated:
                error = "RecordIdentityDeactivated"
            elif not self._can_write(p, w, scope):
                error = "RecordUnauthorizedWriter"
            elif supersedes != ZERO:
                old = self.rows[supersedes]
                if old.superseded_by != ZERO:
                    error = "RecordAlreadySuperseded"
                elif old.patient != p or old.scope != scope:
                    error = "RecordCorrectionMismatch"
                elif not self._manager(ident, w) and w != old.author:
                    error = "RecordUnauthorizedSuperseder"

            def call() -> None:
                self.client.anchor(patient=patient, salt=salt, scope=scope, schema_version=1,
                                   cid=cid, content_hash=os.urandom(32), supersedes=supersedes,
                                   envelopes=envs, sender=writer)  # fmt: skip

            self._expect(call, error)
            self.salts.append((p, salt))
            if error is None:
                version = 1 if supersedes == ZERO else self.rows[supersedes].version + 1
                self.rows[rid] = Row(p, w, scope, cid.to_bytes(), version, supersedes,
                                     envelopes={a: c.to_bytes() for a, c in envs})  # fmt: skip
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
            if self.ids[row.patient].deactivated:
                error = "RecordIdentityDeactivated"
            elif not self._can_share(rid, str(sharer.address)):
                error = "RecordUnauthorizedSharer"
            elif str(recipient.address) in row.envelopes:
                error = "RecordEnvelopeExists"
            self._expect(
                lambda: self.client.add_envelope(rid, recipient, cid, sender=sharer), error
            )
            if error is None:
                row.envelopes[str(recipient.address)] = cid.to_bytes()

        # -- invariants ---------------------------------------------------------------

        @invariant()
        def same_state(self) -> None:
            for rid, row in self.rows.items():
                anchor = self.client.record(rid)
                assert (anchor.patient, anchor.author, anchor.scope, anchor.cid.to_bytes(),
                        anchor.version) == (row.patient, row.author, row.scope, row.cid,
                                            row.version)  # fmt: skip
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

        @invariant()
        def power_comes_from_the_live_did(self) -> None:
            for patient, ident in self.ids.items():
                for person in people:
                    who = str(person.address)
                    for scope in SCOPES:
                        can = self.client.can_write(patient, who, scope)
                        assert can == self._can_write(patient, who, scope), (patient, who)
                        if ident.deactivated:
                            assert not can  # deactivated: nobody
                        elif who in ident.keys and who != ident.owner:
                            # an old key after rotation: only what it was given on its own
                            assert can == (who in ident.delegates or (who, scope) in ident.grants)
            latest = sorted(self.rows)[-2:]  # a few records per step keeps CI fast
            for rid in latest:
                for person in people:
                    who = str(person.address)
                    share = self.client.can_share(rid, who)
                    supersede = self.client.can_supersede(rid, who)
                    assert share == self._can_share(rid, who), (rid.hex(), who)
                    assert supersede == self._can_supersede(rid, who), (rid.hex(), who)
                    if self.ids[self.rows[rid].patient].deactivated:
                        assert not (share or supersede)

    RegistryModel.TestCase.settings = machine_settings(ci_examples=6, ci_steps=12)
    RegistryModel.TestCase().runTest()


@pytest.mark.statemachine
def test_registry_matches_model(project, deployer, patient, provider, researcher, lab,
                                accounts):  # fmt: skip
    assert ape.chain.chain_id
    outsider = accounts[29]
    run_machine(project, deployer, [patient, provider, researcher, lab, outsider],
                [patient, researcher])  # fmt: skip
