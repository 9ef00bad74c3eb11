"""Regression tests of the security review's findings, each performing the attack with
real transactions on SerialRegistry and asserting the custom error or the safe outcome:

1. aggregation roots claiming units outside the parent (another partner's case), sibling
   aggregations overlapping, an opened container shipped, children above the parent's count;
3. a saleable return recorded by someone who does not hold the unit;
and the lows: SSCC squatting, Illegitimate findings overwritten by any partner, and a
regulator that is also a manufacturer blocked on other companies' GTINs."""

from __future__ import annotations

import ape
import pytest

from medchain.supply import (
    MerkleTree,
    Outcome,
    UnitStatus,
    container_proof,
    unit_id,
)
from support.supply import (
    GTIN,
    OTHER_GTIN,
    PHARMACY_PREFIX,
    PREFIX,
    WHOLESALER_PREFIX,
    new_lot,
    sscc,
)


def as_(client, account):
    return client.with_sender(account)


def _move(client, container, *hops):
    """Ship `container` along hops [(from, to), ...], each received."""
    for frm, to in hops:
        as_(client, frm).ship(container, to.address)
        as_(client, to).receive(container)


@pytest.fixture
def two_cases(client, partners, make_lot):
    """The review's scenario: the manufacturer packs case A (units 0-3) and case B (4-7)
    of an 8-unit lot, ships A to the wholesaler and B to the pharmacy."""
    m, w, p = partners["manufacturer"], partners["wholesaler"], partners["pharmacy"]
    manifest = make_lot(8)
    lid, tree = manifest.lot_id, manifest.tree
    a = as_(client, m).aggregate(sscc(PREFIX, 11), lid, tree.node(2, 0), 4, tree.proof(0, 2))
    b = as_(client, m).aggregate(sscc(PREFIX, 12), lid, tree.node(2, 1), 4, tree.proof(1, 2))
    _move(client, a, (m, w))
    _move(client, b, (m, w), (w, p))
    return manifest, a, b


# ------------------------------------------------------------------ finding 1 (high)


def test_case_claiming_units_of_another_partners_case_is_refused(
    registry, client, partners, two_cases
):
    """W holds A (units 0-3) and tries to create C "from A" with a root over units 4-7
    (P's case B), as a fresh tree or with B's real node: neither is a node of A's tree."""
    manifest, a, b = two_cases
    w, p = partners["wholesaler"], partners["pharmacy"]
    tree = manifest.tree
    forged = MerkleTree(tree.levels[0][4:8]).root
    c = int(sscc(WHOLESALER_PREFIX, 1))
    for root, node_proof in ((forged, []), (forged, [tree.node(2, 0)]), (tree.node(2, 1), [])):
        with ape.reverts(registry.SerialRegistryNotInParent, parent=a, root=root):
            registry.aggregate(c, a, root, 4, node_proof, sender=w)
    # Case B is P's: the proof of unit 5 in A fails, W cannot decommission it through A ...
    pid5, proof5 = manifest.identifier(5), tree.proof(5)
    with ape.reverts(
        registry.SerialRegistryNotVerified,
        unitId=unit_id(GTIN, pid5.serial),
        outcome=int(Outcome.UNKNOWN_SERIAL),
    ):
        registry.decommission(pid5.onchain(), proof5, a, container_proof(proof5, 1), sender=w)
    assert client.custodian_of(pid5, b, container_proof(proof5, 1)) == p.address
    # ... and P dispenses its genuine unit 5.
    assert as_(client, p).dispense(pid5, proof5, b, container_proof(proof5, 1)) == Outcome.GENUINE


def test_colluding_dispenser_cannot_dispense_first_and_frame_the_real_pack(
    registry, client, partners, two_cases
):
    """W packs a legitimate case C from A and ships it to a colluding dispenser D, who tries
    to dispense unit 6 (in P's case B) through C: refused, so P's genuine pack is never
    answered AlreadyDispensed nor marked suspect."""
    manifest, a, b = two_cases
    w, p, d = partners["wholesaler"], partners["pharmacy"], partners["pharmacy2"]
    tree = manifest.tree
    c = as_(client, w).aggregate(
        sscc(WHOLESALER_PREFIX, 2), a, tree.node(1, 0), 2, container_proof(tree.proof(0, 1), 1)
    )
    _move(client, c, (w, d))
    pid6, proof6 = manifest.identifier(6), tree.proof(6)
    for path in (container_proof(proof6, 2), container_proof(proof6, 1), []):
        with ape.reverts(registry.SerialRegistryNotVerified, outcome=int(Outcome.UNKNOWN_SERIAL)):
            registry.dispense(pid6.onchain(), proof6, c, path, sender=d)
    assert client.verify(pid6, proof6) == Outcome.GENUINE
    assert as_(client, p).dispense(pid6, proof6, b, container_proof(proof6, 1)) == Outcome.GENUINE
    assert client.unit_status(manifest.identifier(6)) == UnitStatus.DISPENSED
    # D dispenses what it really holds (unit 1 of C).
    pid1, proof1 = manifest.identifier(1), tree.proof(1)
    assert as_(client, d).dispense(pid1, proof1, c, container_proof(proof1, 2)) == Outcome.GENUINE


def test_sibling_aggregations_cannot_overlap(registry, client, partners, make_lot):
    """Once the lot has a case at depth 1, the same node, the whole lot (depth 0) and a
    sub-node of the case (depth 2) are all refused: siblings stay disjoint."""
    m = partners["manufacturer"]
    manifest = make_lot(8)
    lid, tree = manifest.lot_id, manifest.tree
    a = as_(client, m).aggregate(sscc(PREFIX, 21), lid, tree.node(2, 0), 4, tree.proof(0, 2))
    again = int(sscc(PREFIX, 22))
    with ape.reverts(
        registry.SerialRegistryNodePacked, parent=lid, root=tree.node(2, 0), aggregation=a
    ):
        registry.aggregate(again, lid, tree.node(2, 0), 4, tree.proof(0, 2), sender=m)
    with ape.reverts(registry.SerialRegistryChildDepth, parent=lid, depth=0, expected=1):
        registry.aggregate(again, lid, tree.root, 4, [], sender=m)
    with ape.reverts(registry.SerialRegistryChildDepth, parent=lid, depth=2, expected=1):
        registry.aggregate(again, lid, tree.node(1, 0), 2, tree.proof(0, 1), sender=m)
    # Units 0-3 have exactly one custodian route (the case), 4-7 stay with the lot.
    pid0, pid4 = manifest.identifier(0), manifest.identifier(4)
    with ape.reverts(registry.SerialRegistryUnitInAggregation, container=lid, aggregation=a):
        registry.custodianOf(pid0.onchain(), lid, tree.proof(0))
    assert client.custodian_of(pid0, a, container_proof(tree.proof(0), 1)) == m.address
    assert client.custodian_of(pid4, lid, tree.proof(4)) == m.address


def test_opened_container_cannot_be_shipped_and_children_respect_its_count(
    registry, client, partners, make_lot
):
    m, w = partners["manufacturer"], partners["wholesaler"]
    manifest = make_lot(8)
    lid, tree = manifest.lot_id, manifest.tree
    a = as_(client, m).aggregate(sscc(PREFIX, 31), lid, tree.node(2, 0), 4, tree.proof(0, 2))
    with ape.reverts(registry.SerialRegistryContainerOpened, containerId=lid):
        registry.ship(lid, w, sender=m)
    # The lot now holds 4 units directly: a second case of 5 is refused, of 4 accepted.
    bad = int(sscc(PREFIX, 32))
    with ape.reverts(registry.SerialRegistryInvalidAggregation, sscc=bad, count=5):
        registry.aggregate(bad, lid, tree.node(2, 1), 5, tree.proof(1, 2), sender=m)
    as_(client, m).aggregate(sscc(PREFIX, 32), lid, tree.node(2, 1), 4, tree.proof(1, 2))
    assert client.container(lid).count == 0
    # A case of 4 cannot hold a child of 5; an opened case cannot be shipped either.
    inner = int(sscc(PREFIX, 33))
    with ape.reverts(registry.SerialRegistryInvalidAggregation, sscc=inner, count=5):
        registry.aggregate(inner, a, tree.node(1, 0), 5, [tree.node(1, 1)], sender=m)
    as_(client, m).aggregate(inner, a, tree.node(1, 0), 2, [tree.node(1, 1)])
    with ape.reverts(registry.SerialRegistryContainerOpened, containerId=a):
        registry.ship(a, w, sender=m)


def test_foreign_tree_cannot_squat_or_claim_a_node(registry, client, partners, make_lot):
    """A repackager commissions a lot whose tree embeds the victim lot's case node and packs
    it: the victim's holder can still pack the node, and the squatter's aggregation confers
    no custody of the victim's units (wrong lot)."""
    m, r = partners["manufacturer"], partners["repackager"]
    victim = make_lot(8)
    node = victim.tree.node(2, 0)
    rogue_leaves = [node, b"\x42" * 32]
    rogue_tree = MerkleTree(rogue_leaves)
    rogue_lot = b"ROGUE".ljust(20, b"\0")
    registry.commission(int(OTHER_GTIN), rogue_lot, 301231, 8, rogue_tree.root, "", sender=r)
    from medchain.supply import lot_id

    rogue_id = lot_id(OTHER_GTIN, "ROGUE")
    squat = as_(client, r).aggregate(sscc("0777777", 1), rogue_id, node, 4, [b"\x42" * 32])
    pid0, proof0 = victim.identifier(0), victim.tree.proof(0)
    with ape.reverts(
        registry.SerialRegistryContainerLotMismatch,
        containerId=squat,
        unitLot=victim.lot_id,
        actualLot=rogue_id,
    ):
        registry.custodianOf(pid0.onchain(), squat, container_proof(proof0, 1))
    assert client.custodian_of(pid0, victim.lot_id, proof0) == m.address
    a = as_(client, m).aggregate(sscc(PREFIX, 41), victim.lot_id, node, 4, victim.tree.proof(0, 2))
    assert client.custodian_of(pid0, a, container_proof(proof0, 1)) == m.address


# ------------------------------------------------------------------ finding 3 (medium)


@pytest.mark.parametrize("thief", ["wholesaler", "repackager", "manufacturer"])
def test_return_cannot_take_custody_without_possession(registry, client, partners, make_lot, thief):
    """The lot sits with the pharmacy. Another partner (any company) tries to record a
    return of a unit: there is no one-step return any more, it cannot start one (not the
    holder), and the pharmacy keeps custody and dispenses."""
    m, w, p = partners["manufacturer"], partners["wholesaler"], partners["pharmacy"]
    manifest = make_lot(8)
    lid = manifest.lot_id
    _move(client, lid, (m, w), (w, p))
    pid, proof = manifest.identifier(2), manifest.tree.proof(2)
    attacker = partners[thief]
    with ape.reverts(registry.SerialRegistryNoReturnPending, unitId=unit_id(GTIN, pid.serial)):
        registry.acceptReturn(pid.onchain(), proof, sender=attacker)
    to = w if thief != "wholesaler" else m
    with ape.reverts(
        registry.SerialRegistryNotCustodian,
        containerId=lid,
        account=attacker.address,
        custodian=p.address,
    ):
        registry.initiateReturn(pid.onchain(), proof, lid, [], to, sender=attacker)
    assert client.custodian_of(pid, lid, proof) == p.address
    assert as_(client, p).dispense(pid, proof, lid) == Outcome.GENUINE


def test_return_refused_and_cancelled(registry, client, partners, make_lot, guardian):
    m, w, p = partners["manufacturer"], partners["wholesaler"], partners["pharmacy"]
    manifest = make_lot(8)
    lid = manifest.lot_id
    _move(client, lid, (m, w), (w, p))
    pid, proof = manifest.identifier(3), manifest.tree.proof(3)
    uid = unit_id(GTIN, pid.serial)
    with ape.reverts(registry.SerialRegistrySelfShipment, containerId=uid, account=w.address):
        # Not even the holder; the self-return is refused before custody is checked.
        registry.initiateReturn(pid.onchain(), proof, lid, [], w, sender=w)
    as_(client, p).initiate_return(pid, proof, w.address, lid)
    with ape.reverts(registry.SerialRegistryReturnPending, unitId=uid, to=w.address):
        registry.initiateReturn(pid.onchain(), proof, lid, [], m, sender=p)
    with ape.reverts(
        registry.SerialRegistryNotReturnParty,
        unitId=uid,
        account=guardian.address,
        holder=p.address,
        receiver=w.address,
    ):
        registry.cancelReturn(pid.onchain(), proof, sender=guardian)
    as_(client, w).cancel_return(pid, proof)  # the wholesaler refuses it
    assert client.pending_return(pid) is None
    # The pharmacy still holds the unit (its own record now, whatever happens to the lot).
    assert client.custodian_of(pid, lid, proof) == p.address
    with ape.reverts(registry.SerialRegistryNoReturnPending, unitId=uid):
        registry.cancelReturn(pid.onchain(), proof, sender=p)
    assert as_(client, p).dispense(pid, proof, lid) == Outcome.GENUINE


def test_returned_unit_returns_again_upstream(registry, client, partners, make_lot):
    m, w, p = partners["manufacturer"], partners["wholesaler"], partners["pharmacy"]
    manifest = make_lot(8)
    lid = manifest.lot_id
    _move(client, lid, (m, w), (w, p))
    pid, proof = manifest.identifier(5), manifest.tree.proof(5)
    as_(client, p).initiate_return(pid, proof, w.address, lid)
    as_(client, w).accept_return(pid, proof)
    as_(client, w).initiate_return(pid, proof, m.address, lid)
    as_(client, m).accept_return(pid, proof)
    assert client.custodian_of(pid, lid, proof) == m.address
    with ape.reverts(registry.SerialRegistryNotCustodian, account=p.address, custodian=m.address):
        registry.dispense(pid.onchain(), proof, lid, [], sender=p)


# ------------------------------------------------------------------ lows


def test_sscc_must_carry_the_packers_company_prefix(registry, partners, make_lot, client):
    m, w, lab = partners["manufacturer"], partners["wholesaler"], partners["pharmacy2"]
    manifest = make_lot(8)
    lid, tree = manifest.lot_id, manifest.tree
    _move(client, lid, (m, w))
    squatted = int(sscc(PREFIX, 51))  # the manufacturer's prefix
    with ape.reverts(registry.SerialRegistrySsccNotOwned, sscc=squatted, account=w.address):
        registry.aggregate(squatted, lid, tree.node(2, 0), 4, tree.proof(0, 2), sender=w)
    _move(client, lid, (w, lab))
    mine = int(sscc(PHARMACY_PREFIX, 51))  # lab has no prefix at all
    with ape.reverts(registry.SerialRegistrySsccNotOwned, sscc=mine, account=lab.address):
        registry.aggregate(mine, lid, tree.node(2, 0), 4, tree.proof(0, 2), sender=lab)


def test_illegitimate_finding_is_not_overwritten(registry, client, partners, make_lot, regulator):
    manifest = make_lot(8)
    pid, proof = manifest.identifier(1), manifest.tree.proof(1)
    uid = unit_id(GTIN, pid.serial)
    as_(client, partners["manufacturer"]).report(pid, proof, UnitStatus.ILLEGITIMATE)
    for who in ("pharmacy", "wholesaler", "repackager"):
        for status in (UnitStatus.SUSPECT, UnitStatus.STOLEN):
            with ape.reverts(
                registry.SerialRegistryUnitStatus,
                unitId=uid,
                status=int(UnitStatus.ILLEGITIMATE),
            ):
                registry.reportUnit(pid.onchain(), proof, int(status), sender=partners[who])
    assert client.verify(pid, proof) == Outcome.ILLEGITIMATE
    as_(client, regulator).resolve(pid, proof, UnitStatus.SUSPECT)  # only the regulator changes it
    assert client.verify(pid, proof) == Outcome.SUSPECT
    with ape.reverts(registry.SerialRegistryInvalidStatus, status=int(UnitStatus.RETURN_PENDING)):
        registry.resolveUnit(pid.onchain(), proof, int(UnitStatus.RETURN_PENDING), sender=regulator)


def test_regulator_that_is_a_manufacturer_recalls_other_companies_gtins(
    registry, client, partners, make_lot, deployer
):
    m = partners["manufacturer"]
    theirs = make_lot(4, who="repackager", gtin=OTHER_GTIN)
    pid, proof = theirs.identifier(0), theirs.tree.proof(0)
    with ape.reverts(registry.SerialRegistryGtinNotOwned, gtin=int(OTHER_GTIN), account=m.address):
        registry.recall(int(OTHER_GTIN), pid.onchain()[2], sender=m)
    registry.grantRole(registry.REGULATOR_ROLE(), m, sender=deployer)
    as_(client, m).report(pid, proof, UnitStatus.ILLEGITIMATE)
    as_(client, m).recall(OTHER_GTIN, theirs.lot)
    assert client.container(theirs.lot_id).recalled
    # Its own GTINs still go through ownership.
    mine = new_lot(4)
    as_(client, m).commission(mine, "")
    as_(client, m).recall(GTIN, mine.lot)
    assert client.verify(pid, proof) == Outcome.ILLEGITIMATE
