"""Hypothesis state machine with hostile actors: every partner role (manufacturer, a
repackager of another company, wholesaler, two dispensers) and an outsider act at random,
out of turn included: ship / receive / cancel containers, pack aggregations (any node of
the lot tree under any container), dispense (clones too), two-step returns, decommission,
reports and recalls. A small Python model predicts every answer, error name included.

Invariants: containers (custodian, pending receiver, opened, units held directly) match the
model after every step; a unit has exactly one custodian: with no own record exactly one
container is responsible for it (answering custodianOf, or in transit), with one every
container answers the record's holder (or every one refuses while a return is in transit);
checked for the unit just touched after each step and for every unit at the end. Only its
holder changes a unit's custody or lifecycle (dispense, decommission, return): every such
call by anyone else must revert with the error the model names."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from medchain.errors import ContractRevert
from medchain.supply import Outcome, UnitStatus
from support.fuzzing import machine_settings
from support.supply import GTIN, PARTNER_PREFIXES, PREFIX, new_lot, sscc

UNITS = 8  # a complete tree of depth 3: nodes (level, index), the lot is (3, 0)
TOP = 3
ACTORS = ("manufacturer", "repackager", "wholesaler", "pharmacy", "pharmacy2", "outsider")
PARTNERS = ACTORS[:-1]
ROLE = {
    "manufacturer": "M",
    "repackager": "R",
    "wholesaler": "W",
    "pharmacy": "D",
    "pharmacy2": "D",
}
NODES = [(level, index) for level in range(TOP + 1) for index in range(UNITS >> level)]
_STATUS_OUTCOME = {
    UnitStatus.ILLEGITIMATE: Outcome.ILLEGITIMATE,
    UnitStatus.SUSPECT: Outcome.SUSPECT,
    UnitStatus.STOLEN: Outcome.STOLEN,
    UnitStatus.DISPENSED: Outcome.ALREADY_DISPENSED,
    UnitStatus.DECOMMISSIONED: Outcome.DECOMMISSIONED,
}
_ssccs = itertools.count(1)


@dataclass
class Box:
    node: tuple[int, int]
    custodian: str
    count: int
    pending: str | None = None
    child_depth: int | None = None  # None until opened
    children: dict[tuple[int, int], bytes] = field(default_factory=dict)


def under(node, parent) -> bool:
    (lv, ix), (plv, pix) = node, parent
    return lv <= plv and ix >> (plv - lv) == pix


@pytest.fixture(scope="module")
def world(client, partners, guardian):
    actors = {**partners, "outsider": guardian}
    manifest = new_lot(UNITS)
    client.with_sender(actors["manufacturer"]).commission(manifest, "")
    return actors, manifest


@pytest.mark.statemachine
def test_hostile_custody_model(client, world, chain):
    actors, manifest = world
    tree = manifest.tree
    lid = manifest.lot_id
    E = "SerialRegistry"

    class Model(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.boxes: dict[bytes, Box] = {lid: Box((TOP, 0), "manufacturer", UNITS)}
            self.status: dict[int, UnitStatus] = {}
            self.holder: dict[int, str] = {}  # own record's custodian
            self.return_to: dict[int, str] = {}
            self.recalled = False
            self.touched: int | None = None

        def teardown(self):
            try:
                for u in range(UNITS):
                    self._check_unit(u)
            finally:
                chain.restore(self.snapshot)

        # ---------------------------------------------------------- helpers

        def _as(self, name):
            return client.with_sender(actors[name])

        def _expect(self, error, fn):
            if error is None:
                return fn()
            with pytest.raises(ContractRevert) as err:
                fn()
            assert err.value.error_name == E + error, str(err.value)
            return None

        def _box_ids(self):
            return sorted(self.boxes)

        def _box_holder_error(self, actor, box):
            """The error a container's holder-only call (ship, aggregate into it) names
            first, or None: partners only, its custodian only, not while shipped."""
            if actor == "outsider":
                return "NotPartner"
            if box.custodian != actor:
                return "NotCustodian"
            if box.pending:
                return "ShipmentPending"
            return None

        def _outcome(self, u):
            status = self.status.get(u, UnitStatus.ACTIVE)
            if status in _STATUS_OUTCOME:
                return _STATUS_OUTCOME[status]
            return Outcome.RECALLED if self.recalled else Outcome.GENUINE

        def _path(self, u, box_id):
            """The unit's proof in a container: the lot proof minus the container's depth."""
            level = self.boxes[box_id].node[0]
            return tree.proof(u)[: len(tree.proof(u)) - (TOP - level)]

        def _custody(self, u, box_id):
            """(error, custodian) of the unit asked through `box_id`, as the contract answers."""
            if u in self.holder:
                if self.status.get(u) == UnitStatus.RETURN_PENDING:
                    return "ReturnPending", None
                return None, self.holder[u]
            box = self.boxes[box_id]
            if box.pending:
                return "ShipmentPending", None
            if not under((0, u), box.node):
                return "NotVerified", None
            if box.child_depth is not None:
                level = box.node[0] - box.child_depth
                if level >= 0 and (level, u >> level) in box.children:
                    return "UnitInAggregation", None
            return None, box.custodian

        def _holder_error(self, actor, u, box_id):
            error, custodian = self._custody(u, box_id)
            if error is None and custodian != actor:
                error = "NotCustodian"
            return error

        def _check_unit(self, u):
            pid = manifest.identifier(u)
            assert client.verify(pid, tree.proof(u)) == self._outcome(u), u
            answers = []
            for box_id in self._box_ids():
                error, custodian = self._custody(u, box_id)
                got = self._expect(
                    error, lambda b=box_id: client.custodian_of(pid, b, self._path(u, b))
                )
                if error is None:
                    assert got == actors[custodian].address, (u, box_id)
                inside = under((0, u), self.boxes[box_id].node)
                answers.append((error, custodian, inside))
            if u in self.holder:
                assert len({a[:2] for a in answers}) == 1  # every route: the record's answer
            else:
                # Exactly one container answers for it, or holds it in transit.
                responsible = [
                    a for a in answers if a[0] is None or (a[0] == "ShipmentPending" and a[2])
                ]
                assert len(responsible) == 1, (u, answers)

        # ---------------------------------------------------------- containers

        @rule(data=st.data(), actor=st.sampled_from(ACTORS), to=st.sampled_from(ACTORS))
        def ship(self, data, actor, to):
            box_id = data.draw(st.sampled_from(self._box_ids()))
            box = self.boxes[box_id]
            actor = box.custodian if data.draw(st.booleans()) else actor
            error = self._box_holder_error(actor, box)
            if error is not None:
                pass
            elif box.child_depth is not None:
                error = "ContainerOpened"
            elif to == "outsider":
                error = "NotPartner"
            elif to == actor:
                error = "SelfShipment"
            elif self.recalled and ROLE[to] not in ("M", "R"):
                error = "RecalledShipment"
            self._expect(error, lambda: self._as(actor).ship(box_id, actors[to].address))
            if error is None:
                box.pending = to

        @rule(data=st.data(), actor=st.sampled_from(ACTORS))
        def receive(self, data, actor):
            box_id = data.draw(st.sampled_from(self._box_ids()))
            box = self.boxes[box_id]
            actor = box.pending or actor if data.draw(st.booleans()) else actor
            error = None
            if actor == "outsider":
                error = "NotPartner"
            elif box.pending is None:
                error = "NoShipmentPending"
            elif box.pending != actor:
                error = "NotReceiver"
            self._expect(error, lambda: self._as(actor).receive(box_id))
            if error is None:
                box.custodian, box.pending = actor, None

        @rule(data=st.data(), actor=st.sampled_from(ACTORS))
        def cancel(self, data, actor):
            box_id = data.draw(st.sampled_from(self._box_ids()))
            box = self.boxes[box_id]
            error = None
            if box.pending is None:
                error = "NoShipmentPending"
            elif actor not in (box.pending, box.custodian):
                error = "NotReceiver"
            self._expect(error, lambda: self._as(actor).cancel_shipment(box_id))
            if error is None:
                box.pending = None

        @rule(data=st.data(), actor=st.sampled_from(ACTORS), node=st.sampled_from(NODES))
        def aggregate(self, data, actor, node):
            parent_id = data.draw(st.sampled_from(self._box_ids()))
            parent = self.boxes[parent_id]
            if data.draw(st.booleans()):  # the holder, packing a node of its container
                actor = parent.custodian
                plv, pix = parent.node
                level = data.draw(st.integers(0, plv))
                node = (
                    level,
                    (pix << (plv - level)) + data.draw(st.integers(0, 2 ** (plv - level) - 1)),
                )
            level, index = node
            depth = parent.node[0] - level
            full = tree.proof(index, level)
            node_proof = full[: max(depth, 0)] if depth >= 0 else full
            count = len(tree.leaves_under(level, index))
            code = sscc(PARTNER_PREFIXES.get(actor, PREFIX), next(_ssccs))
            error = self._box_holder_error(actor, parent)
            if error is not None:
                pass
            elif actor not in PARTNER_PREFIXES:  # pharmacy2 packs no SSCC
                error = "SsccNotOwned"
            elif count > parent.count:
                error = "InvalidAggregation"
            elif not under(node, parent.node):
                error = "NotInParent"
            elif parent.child_depth is not None and depth != parent.child_depth:
                error = "ChildDepth"
            elif node in parent.children:
                error = "NodePacked"
            agg = self._expect(
                error,
                lambda: self._as(actor).aggregate(
                    code, parent_id, tree.node(level, index), count, node_proof
                ),
            )
            if error is None:
                parent.count -= count
                parent.child_depth = depth
                parent.children[node] = agg
                self.boxes[agg] = Box(node, actor, count)

        # ---------------------------------------------------------- units

        def _unit_rule(self, data):
            u = data.draw(st.integers(0, UNITS - 1))
            box_id = data.draw(st.sampled_from(self._box_ids()))
            self.touched = u
            return u, box_id, manifest.identifier(u), tree.proof(u)

        def _maybe_holder(self, data, actor, u, box_id):
            """Half the time the actor is whoever the model says holds the unit there."""
            if data.draw(st.booleans()):
                custodian = self._custody(u, box_id)[1]
                return custodian or actor
            return actor

        @rule(data=st.data(), actor=st.sampled_from(ACTORS))
        def dispense(self, data, actor):
            u, box_id, pid, proof = self._unit_rule(data)
            actor = self._maybe_holder(data, actor, u, box_id)
            outcome = self._outcome(u)
            error = None
            if actor == "outsider":
                error = "NotPartner"
            elif ROLE[actor] != "D":
                error = "WrongRole"
            elif outcome == Outcome.ALREADY_DISPENSED:
                got = self._as(actor).dispense(pid, proof, box_id, self._path(u, box_id))
                assert got == Outcome.ALREADY_DISPENSED
                self.status[u] = UnitStatus.SUSPECT  # the clone; holder unchanged
                return
            elif outcome != Outcome.GENUINE:
                error = "NotVerified"
            else:
                error = self._holder_error(actor, u, box_id)
            got = self._expect(
                error,
                lambda: self._as(actor).dispense(pid, proof, box_id, self._path(u, box_id)),
            )
            if error is None:
                assert got == Outcome.GENUINE
                self.status[u], self.holder[u] = UnitStatus.DISPENSED, actor

        @rule(data=st.data(), actor=st.sampled_from(ACTORS))
        def decommission(self, data, actor):
            u, box_id, pid, proof = self._unit_rule(data)
            actor = self._maybe_holder(data, actor, u, box_id)
            status = self.status.get(u, UnitStatus.ACTIVE)
            error = None
            if actor == "outsider":
                error = "NotPartner"
            elif status in (UnitStatus.DISPENSED, UnitStatus.DECOMMISSIONED):
                error = "UnitStatus"
            else:
                error = self._holder_error(actor, u, box_id)
            self._expect(
                error,
                lambda: self._as(actor).decommission(pid, proof, box_id, self._path(u, box_id)),
            )
            if error is None:
                self.status[u], self.holder[u] = UnitStatus.DECOMMISSIONED, actor

        @rule(data=st.data(), actor=st.sampled_from(ACTORS), to=st.sampled_from(ACTORS))
        def initiate_return(self, data, actor, to):
            u, box_id, pid, proof = self._unit_rule(data)
            actor = self._maybe_holder(data, actor, u, box_id)
            error = None
            if actor == "outsider" or to == "outsider":
                error = "NotPartner"
            elif ROLE[to] == "D":
                error = "WrongRole"
            elif to == actor:
                error = "SelfShipment"
            elif self._outcome(u) != Outcome.GENUINE:
                error = "NotVerified"
            else:
                error = self._holder_error(actor, u, box_id)
            self._expect(
                error,
                lambda: self._as(actor).initiate_return(
                    pid, proof, actors[to].address, box_id, self._path(u, box_id)
                ),
            )
            if error is None:
                self.status[u], self.holder[u] = UnitStatus.RETURN_PENDING, actor
                self.return_to[u] = to

        @rule(data=st.data(), actor=st.sampled_from(ACTORS))
        def accept_return(self, data, actor):
            u, _, pid, proof = self._unit_rule(data)
            actor = self.return_to.get(u, actor) if data.draw(st.booleans()) else actor
            error = None
            if actor == "outsider":
                error = "NotPartner"
            elif u not in self.return_to or self.status.get(u) != UnitStatus.RETURN_PENDING:
                error = "NoReturnPending"
            elif self.return_to[u] != actor:
                error = "NotReturnParty"
            self._expect(error, lambda: self._as(actor).accept_return(pid, proof))
            if error is None:
                self.status[u], self.holder[u] = UnitStatus.RETURNED, actor
                del self.return_to[u]

        @rule(data=st.data(), actor=st.sampled_from(ACTORS))
        def cancel_return(self, data, actor):
            u, _, pid, proof = self._unit_rule(data)
            error = None
            if u not in self.return_to:
                error = "NoReturnPending"
            elif actor not in (self.return_to[u], self.holder[u]):
                error = "NotReturnParty"
            self._expect(error, lambda: self._as(actor).cancel_return(pid, proof))
            if error is None:
                del self.return_to[u]
                if self.status[u] == UnitStatus.RETURN_PENDING:
                    self.status[u] = UnitStatus.RETURNED

        @rule(
            data=st.data(),
            actor=st.sampled_from(ACTORS),
            status=st.sampled_from(
                (UnitStatus.SUSPECT, UnitStatus.STOLEN, UnitStatus.ILLEGITIMATE)
            ),
        )
        def report(self, data, actor, status):
            u, _, pid, proof = self._unit_rule(data)
            error = None
            if actor == "outsider":
                error = "NotPartner"
            elif status == UnitStatus.ILLEGITIMATE and ROLE[actor] in ("W", "D"):
                error = "WrongRole"
            elif status == UnitStatus.ILLEGITIMATE and actor == "repackager":
                error = "GtinNotOwned"
            elif (
                self.status.get(u) == UnitStatus.ILLEGITIMATE and status != UnitStatus.ILLEGITIMATE
            ):
                error = "UnitStatus"
            self._expect(error, lambda: self._as(actor).report(pid, proof, status))
            if error is None:
                self.status[u] = status

        @rule(actor=st.sampled_from(("manufacturer", "repackager")))
        def recall(self, actor):
            error = None
            if actor == "repackager":
                error = "GtinNotOwned"
            elif self.recalled:
                error = "AlreadyRecalled"
            self._expect(error, lambda: self._as(actor).recall(GTIN, manifest.lot))
            if error is None:
                self.recalled = True

        # ---------------------------------------------------------- invariants

        @invariant()
        def containers_match_and_touched_unit_has_one_custodian(self):
            for box_id, box in self.boxes.items():
                c = client.container(box_id)
                assert c.custodian == actors[box.custodian].address
                assert c.pending_to == (actors[box.pending].address if box.pending else None)
                assert c.opened == (box.child_depth is not None)
                assert c.count == box.count
            if self.touched is not None:
                self._check_unit(self.touched)
                self.touched = None

    Model.TestCase.settings = machine_settings(ci_examples=4, ci_steps=20)
    Model.TestCase().runTest()
