"""Hypothesis state machine: random shipments, receipts, cancellations, dispensing (and
cloned re-dispensing), saleable returns, reports and recalls against a small Python
model of custody, unit statuses and recalls. After every step each lot's custodian,
pending receiver and recall flag, and the verify answer of the unit just touched, must
equal the model's; every unit is compared when each run ends."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from supply_helpers import GTIN, new_lot

from medchain.errors import ContractRevert
from medchain.supply import Outcome, UnitStatus

UNITS_PER_LOT = 4
PARTNERS = ("manufacturer", "wholesaler", "pharmacy", "pharmacy2")
DISPENSERS = ("pharmacy", "pharmacy2")

_STATUS_OUTCOME = {
    UnitStatus.ILLEGITIMATE: Outcome.ILLEGITIMATE,
    UnitStatus.SUSPECT: Outcome.SUSPECT,
    UnitStatus.STOLEN: Outcome.STOLEN,
    UnitStatus.DISPENSED: Outcome.ALREADY_DISPENSED,
    UnitStatus.DECOMMISSIONED: Outcome.DECOMMISSIONED,
}


@pytest.fixture(scope="module")
def lots(client, partners):
    manifests = [new_lot(UNITS_PER_LOT), new_lot(UNITS_PER_LOT)]
    for m in manifests:
        client.with_sender(partners["manufacturer"]).commission(m, "")
    return manifests


def test_custody_and_status_model(client, partners, lots, chain):
    class Model(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.custodian = {m.lot_id: "manufacturer" for m in lots}
            self.pending: dict[bytes, str | None] = {m.lot_id: None for m in lots}
            self.recalled = {m.lot_id: False for m in lots}
            self.status: dict[tuple[int, int], UnitStatus] = {}
            self.holder: dict[tuple[int, int], str] = {}

        def teardown(self):
            try:
                for li in range(len(lots)):
                    for ui in range(UNITS_PER_LOT):
                        self._check_unit(li, ui)
            finally:
                chain.restore(self.snapshot)

        def _check_unit(self, li, ui):
            pid, proof = self._unit(li, ui)
            assert client.verify(pid, proof) == self._outcome(li, ui), (li, ui)

        # ---------------------------------------------------------- helpers

        def _as(self, name):
            return client.with_sender(partners[name])

        def _expect(self, error, fn):
            if error is None:
                return fn()
            with pytest.raises(ContractRevert) as err:
                fn()
            assert err.value.error_name == error, str(err.value)
            return None

        def _outcome(self, li, ui):
            status = self.status.get((li, ui), UnitStatus.ACTIVE)
            if status in _STATUS_OUTCOME:
                return _STATUS_OUTCOME[status]
            if self.recalled[lots[li].lot_id]:
                return Outcome.RECALLED
            return Outcome.GENUINE

        def _unit(self, li, ui):
            return lots[li].identifier(ui), lots[li].tree.proof(ui)

        # ---------------------------------------------------------- rules

        @rule(
            li=st.integers(0, 1),
            to=st.sampled_from(PARTNERS),
            by_holder=st.booleans(),
            other=st.sampled_from(PARTNERS),
        )
        def ship(self, li, to, by_holder, other):
            lid = lots[li].lot_id
            actor = self.custodian[lid] if by_holder else other
            error = None
            if actor != self.custodian[lid]:
                error = "SerialRegistryNotCustodian"
            elif self.pending[lid]:
                error = "SerialRegistryShipmentPending"
            elif to == actor:
                error = "SerialRegistrySelfShipment"
            elif self.recalled[lid] and to != "manufacturer":
                error = "SerialRegistryRecalledShipment"
            self._expect(error, lambda: self._as(actor).ship(lid, partners[to].address))
            if error is None:
                self.pending[lid] = to

        @rule(li=st.integers(0, 1), actor=st.sampled_from(PARTNERS))
        def receive(self, li, actor):
            lid = lots[li].lot_id
            to = self.pending[lid]
            error = None
            if to is None:
                error = "SerialRegistryNoShipmentPending"
            elif to != actor:
                error = "SerialRegistryNotReceiver"
            self._expect(error, lambda: self._as(actor).receive(lid))
            if error is None:
                self.custodian[lid], self.pending[lid] = actor, None

        @rule(li=st.integers(0, 1), actor=st.sampled_from(PARTNERS))
        def cancel(self, li, actor):
            lid = lots[li].lot_id
            to = self.pending[lid]
            error = None
            if to is None:
                error = "SerialRegistryNoShipmentPending"
            elif actor not in (to, self.custodian[lid]):
                error = "SerialRegistryNotReceiver"
            self._expect(error, lambda: self._as(actor).cancel_shipment(lid))
            if error is None:
                self.pending[lid] = None

        @rule(
            li=st.integers(0, 1),
            ui=st.integers(0, UNITS_PER_LOT - 1),
            actor=st.sampled_from(DISPENSERS),
        )
        def dispense(self, li, ui, actor):
            lid, key = lots[li].lot_id, (li, ui)
            pid, proof = self._unit(li, ui)
            outcome = self._outcome(li, ui)
            error = None
            if outcome == Outcome.ALREADY_DISPENSED:
                got = self._as(actor).dispense(pid, proof, lid)
                assert got == Outcome.ALREADY_DISPENSED
                self.status[key] = UnitStatus.SUSPECT
                self._check_unit(li, ui)
                return
            if outcome != Outcome.GENUINE:
                error = "SerialRegistryNotVerified"
            elif self.status.get(key) == UnitStatus.RETURNED:
                if self.holder[key] != actor:
                    error = "SerialRegistryNotCustodian"
            elif self.pending[lid]:
                error = "SerialRegistryShipmentPending"
            elif self.custodian[lid] != actor:
                error = "SerialRegistryNotCustodian"
            got = self._expect(error, lambda: self._as(actor).dispense(pid, proof, lid))
            if error is None:
                assert got == Outcome.GENUINE
                self.status[key], self.holder[key] = UnitStatus.DISPENSED, actor
            self._check_unit(li, ui)

        @rule(
            li=st.integers(0, 1),
            ui=st.integers(0, UNITS_PER_LOT - 1),
            actor=st.sampled_from(("manufacturer", "wholesaler")),
        )
        def accept_return(self, li, ui, actor):
            key = (li, ui)
            pid, proof = self._unit(li, ui)
            error = (
                None if self._outcome(li, ui) == Outcome.GENUINE else "SerialRegistryNotVerified"
            )
            self._expect(error, lambda: self._as(actor).accept_return(pid, proof))
            if error is None:
                self.status[key], self.holder[key] = UnitStatus.RETURNED, actor
            self._check_unit(li, ui)

        @rule(
            li=st.integers(0, 1),
            ui=st.integers(0, UNITS_PER_LOT - 1),
            actor=st.sampled_from(PARTNERS),
            status=st.sampled_from((UnitStatus.SUSPECT, UnitStatus.STOLEN)),
        )
        def report(self, li, ui, actor, status):
            pid, proof = self._unit(li, ui)
            self._as(actor).report(pid, proof, status)
            self.status[(li, ui)] = status
            self._check_unit(li, ui)

        @rule(li=st.integers(0, 1))
        def recall(self, li):
            lid = lots[li].lot_id
            error = "SerialRegistryAlreadyRecalled" if self.recalled[lid] else None
            self._expect(error, lambda: self._as("manufacturer").recall(GTIN, lots[li].lot))
            self.recalled[lid] = True
            self._check_unit(li, 0)

        # ---------------------------------------------------------- invariants

        @invariant()
        def contract_matches_model(self):
            for m in lots:
                c = client.container(m.lot_id)
                assert c.custodian == partners[self.custodian[m.lot_id]].address
                to = self.pending[m.lot_id]
                assert c.pending_to == (partners[to].address if to else None)
                assert c.recalled == self.recalled[m.lot_id]

    Model.TestCase.settings = settings(
        max_examples=6,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    Model.TestCase().runTest()
