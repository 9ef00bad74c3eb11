"""SerialRegistry flows on a real EVM: partners through DIDs, commissioning, custody of
lots and aggregations, verification outcomes, unit exceptions, recalls, and the
counterfeit scenarios (cloned serial, serial from another lot, forged proof, expiry)."""

from __future__ import annotations

import ape
import pytest

from medchain.errors import ContractRevert
from medchain.supply import (
    Outcome,
    ProductIdentifier,
    Role,
    UnitStatus,
    aggregation_id,
    build_lot_tree,
    container_proof,
    expiry_timestamp,
    leaf,
    lot_id,
    make_gtin,
    unit_id,
)
from medchain.supply.merkle import lot_leaves
from support.supply import GTIN, OTHER_GTIN, PHARMACY_PREFIX, PREFIX, sscc

ZERO = "0x0000000000000000000000000000000000000000"


def as_(client, account):
    return client.with_sender(account)


# ------------------------------------------------------------------ partners


def test_partner_must_control_its_did(registry, client, registrar, patient, guardian):
    with ape.reverts(
        registry.SerialRegistryNotIdentityOwner,
        identity=guardian.address,
        owner=guardian.address,
        account=patient.address,
    ):
        registry.registerPartner(patient, guardian, int(Role.WHOLESALER), 0, 0, sender=registrar)


def test_partner_linked_to_a_delegated_did(project, registry, client, deployer, patient, monitor):
    # The patient account's DID is moved to `monitor`: only monitor may register with it.
    did = project.DIDRegistry.at(registry.didRegistry())
    did.changeOwner(patient, monitor, sender=patient)
    client.register_partner(monitor.address, Role.WHOLESALER, identity=patient.address)
    p = client.partner(monitor.address)
    assert (p.role, p.identity, p.active) == (Role.WHOLESALER, patient.address, True)
    client.deactivate_partner(monitor.address)
    assert not client.partner(monitor.address).active


def test_company_prefix_rules(registry, registrar, investigator):
    with ape.reverts(
        registry.SerialRegistryInvalidCompanyPrefix, companyPrefix=123, prefixLength=3
    ):
        registry.registerPartner(investigator, investigator, 1, 123, 3, sender=registrar)
    with ape.reverts(
        registry.SerialRegistryInvalidCompanyPrefix, companyPrefix=10**7, prefixLength=7
    ):
        registry.registerPartner(investigator, investigator, 1, 10**7, 7, sender=registrar)
    with ape.reverts(registry.SerialRegistryInvalidCompanyPrefix, companyPrefix=5, prefixLength=1):
        registry.registerPartner(investigator, investigator, 3, 5, 1, sender=registrar)
    with ape.reverts(registry.SerialRegistryInvalidRole, role=0):
        registry.registerPartner(investigator, investigator, 0, 0, 0, sender=registrar)


# ------------------------------------------------------------------ commissioning


def test_commission_records_lot_and_event(registry, client, partners, make_lot):
    manifest = make_lot(16)
    c = client.container(manifest.lot_id)
    assert c.root == manifest.root
    assert (c.custodian, c.count, c.expiry) == (partners["manufacturer"].address, 16, 301231)
    assert not c.recalled and not c.opened and c.pending_to is None
    assert bytes(registry.lotIdOf(int(GTIN), manifest.lot.encode().ljust(20, b"\0"))) == lot_id(
        GTIN, manifest.lot
    )


def test_leaf_and_ids_match_the_contract(registry, make_lot):
    pid = ProductIdentifier(GTIN, "AB/12-%x", "LOT-7", "280200")
    assert bytes(registry.leafOf(pid.onchain())) == leaf(pid)
    assert bytes(registry.unitIdOf(int(GTIN), pid.onchain()[1])) == unit_id(GTIN, "AB/12-%x")
    assert lot_leaves(GTIN, "LOT-7", "280200", ["AB/12-%x"]) == [leaf(pid)]


@pytest.mark.parametrize("yymmdd", ["240229", "250200", "240200", "991231", "000101", "301130"])
def test_expiry_timestamp_matches_the_contract(registry, yymmdd):
    assert registry.expiryTimestamp(int(yymmdd)) == expiry_timestamp(yymmdd)


@pytest.mark.parametrize("bad", [250229, 251301, 250001, 250431, 250132])
def test_invalid_expiry_refused(registry, bad):
    with ape.reverts(registry.SerialRegistryInvalidExpiry, expiry=bad):
        registry.expiryTimestamp(bad)


def test_commission_refusals(registry, partners):
    m = partners["manufacturer"]
    root = b"\x01" * 32
    lot = b"LOTX".ljust(20, b"\0")
    with ape.reverts(registry.SerialRegistryGtinNotOwned, gtin=int(OTHER_GTIN), account=m.address):
        registry.commission(int(OTHER_GTIN), lot, 301231, 5, root, "", sender=m)
    bad_check = int(GTIN) + (1 if int(GTIN) % 10 < 9 else -1)
    with ape.reverts(registry.SerialRegistryInvalidGtin, gtin=bad_check):
        registry.commission(bad_check, lot, 301231, 5, root, "", sender=m)
    with ape.reverts(registry.SerialRegistryInvalidExpiry, expiry=301232):
        registry.commission(int(GTIN), lot, 301232, 5, root, "", sender=m)
    lid = lot_id(GTIN, "LOTX")
    with ape.reverts(registry.SerialRegistryInvalidLot, lotId=lid, count=0):
        registry.commission(int(GTIN), lot, 301231, 0, root, "", sender=m)
    with ape.reverts(
        registry.SerialRegistryWrongRole, account=partners["wholesaler"].address, role=3
    ):
        registry.commission(int(GTIN), lot, 301231, 5, root, "", sender=partners["wholesaler"])
    registry.commission(int(GTIN), lot, 301231, 5, root, "", sender=m)
    with ape.reverts(registry.SerialRegistryContainerExists, containerId=lid):
        registry.commission(int(GTIN), lot, 301231, 5, root, "", sender=m)


def test_gtin_prefix_check_with_gtin8_and_repackager(registry, client, partners):
    # A repackager commissions under its own prefix; a GTIN-13 normalised to 14 digits.
    gtin = make_gtin("0777777", "00042")
    assert gtin.startswith("00777777")
    manifest = build_lot_tree(gtin, "R1", "301231", ["A", "B"])
    registry.commission(int(gtin), b"R1".ljust(20, b"\0"), 301231, 2, manifest.root, "",
                        sender=partners["repackager"])  # fmt: skip
    with ape.reverts(registry.SerialRegistryGtinNotOwned):
        registry.commission(int(gtin), b"R2".ljust(20, b"\0"), 301231, 2, manifest.root, "",
                            sender=partners["manufacturer"])  # fmt: skip


# ------------------------------------------------------------------ custody


def test_ship_receive_and_cancel(registry, client, partners, make_lot):
    m, w, p = partners["manufacturer"], partners["wholesaler"], partners["pharmacy"]
    manifest = make_lot()
    lid = manifest.lot_id
    as_(client, m).ship(lid, w.address)
    assert client.container(lid).pending_to == w.address
    with ape.reverts(registry.SerialRegistryShipmentPending, containerId=lid, to=w.address):
        registry.ship(lid, p, sender=m)
    with ape.reverts(
        registry.SerialRegistryNotReceiver, containerId=lid, account=p.address, receiver=w.address
    ):
        registry.receiveShipment(lid, sender=p)
    as_(client, w).cancel_shipment(lid)  # the receiver refuses
    assert client.container(lid).custodian == m.address
    with ape.reverts(registry.SerialRegistryNoShipmentPending, containerId=lid):
        registry.receiveShipment(lid, sender=w)
    as_(client, m).ship(lid, w.address)
    receipt = as_(client, w).receive(lid)
    ev = receipt.decode_logs(registry.Received)[0]
    assert (ev["from"], ev.to, ev.bizStep, ev.disposition) == (m.address, w.address, 3, 1)
    assert client.container(lid).custodian == w.address
    with ape.reverts(
        registry.SerialRegistryNotCustodian, containerId=lid, account=m.address, custodian=w.address
    ):
        registry.ship(lid, p, sender=m)
    with ape.reverts(registry.SerialRegistrySelfShipment):
        registry.ship(lid, w, sender=w)


def test_aggregation_custody(registry, client, partners, make_lot):
    m, w, p, p2 = (partners[k] for k in ("manufacturer", "wholesaler", "pharmacy", "pharmacy2"))
    manifest = make_lot(8)
    lid, tree = manifest.lot_id, manifest.tree
    # Cases are nodes of the lot tree: level 2 holds units 0-3 and 4-7, one hash below the root.
    root_a, root_b = tree.node(2, 0), tree.node(2, 1)
    sscc_a, sscc_b = sscc(PREFIX, 1), sscc(PREFIX, 2)
    agg_a = as_(client, m).aggregate(sscc_a, lid, root_a, 4, tree.proof(0, level=2))
    agg_b = as_(client, m).aggregate(sscc_b, lid, root_b, 4, tree.proof(1, level=2))
    lot = client.container(lid)
    assert agg_a == aggregation_id(sscc_a) and lot.opened and lot.child_depth == 1
    assert lot.count == 0  # every unit now held through a case
    assert client.container(agg_a).lot_id == lid
    assert client.packed_from(lid, root_a) == agg_a
    pid0, pid5 = manifest.identifier(0), manifest.identifier(5)
    # The lot no longer confers custody of packed units: the error names the case.
    with ape.reverts(
        registry.SerialRegistryUnitInAggregation,
        unitId=unit_id(GTIN, pid0.serial),
        container=lid,
        aggregation=agg_a,
    ):
        registry.custodianOf(pid0.onchain(), lid, tree.proof(0))
    for agg, to in ((agg_a, p), (agg_b, p2)):
        as_(client, m).ship(agg, w.address)
        as_(client, w).receive(agg)
        as_(client, w).ship(agg, to.address)
        as_(client, to).receive(agg)
    assert client.custodian_of(pid0, agg_a, container_proof(tree.proof(0), 1)) == p.address
    assert client.custodian_of(pid5, agg_b, container_proof(tree.proof(5), 1)) == p2.address
    # A unit is not in the other case: its proof does not verify there.
    with ape.reverts(registry.SerialRegistryNotVerified):
        registry.custodianOf(pid5.onchain(), agg_a, container_proof(tree.proof(1), 1))
    # pharmacy2 cannot dispense a unit of pharmacy's case, pharmacy can.
    with ape.reverts(
        registry.SerialRegistryNotCustodian,
        containerId=agg_a,
        account=p2.address,
        custodian=p.address,
    ):
        registry.dispense(pid0.onchain(), tree.proof(0), agg_a, tree.proof(0)[:2], sender=p2)
    assert as_(client, p).dispense(pid0, tree.proof(0), agg_a, tree.proof(0)[:2]) == Outcome.GENUINE
    # Aggregation refusals: bad SSCC check digit, count above what the parent holds, reuse.
    pair = tree.node(1, 0)  # units 0-1, one hash below case A's root
    with ape.reverts(registry.SerialRegistryInvalidAggregation):
        bad = sscc(PHARMACY_PREFIX, 3)
        registry.aggregate(
            int(bad[:-1] + str((int(bad[-1]) + 1) % 10)), agg_a, pair, 1, [tree.node(1, 1)],
            sender=p,
        )  # fmt: skip
    with ape.reverts(
        registry.SerialRegistryInvalidAggregation, sscc=int(sscc(PHARMACY_PREFIX, 3)), count=5
    ):
        registry.aggregate(
            int(sscc(PHARMACY_PREFIX, 3)), agg_a, pair, 5, [tree.node(1, 1)], sender=p
        )
    other = make_lot(4)
    with ape.reverts(registry.SerialRegistryContainerExists, containerId=agg_b):
        registry.aggregate(int(sscc_b), other.lot_id, other.root, 4, [], sender=m)
    with ape.reverts(
        registry.SerialRegistryContainerLotMismatch,
        containerId=agg_a,
        unitLot=other.lot_id,
        actualLot=lid,
    ):
        registry.custodianOf(other.identifier(0).onchain(), agg_a, [])


# ------------------------------------------------------------------ verification and counterfeits


def test_verify_outcomes_and_logged_verification(registry, client, partners, make_lot, guardian):
    manifest = make_lot(32)
    pid = manifest.identifier(3)
    proof = manifest.tree.proof(3)
    assert client.verify(pid, proof) == Outcome.GENUINE
    wrong_expiry = ProductIdentifier(pid.gtin, pid.serial, pid.lot, "301130")
    assert client.verify(wrong_expiry, proof) == Outcome.LOT_EXPIRY_MISMATCH
    unknown_lot = ProductIdentifier(pid.gtin, pid.serial, "NOPE", pid.expiry)
    assert client.verify(unknown_lot, proof) == Outcome.LOT_EXPIRY_MISMATCH
    unknown_serial = ProductIdentifier(pid.gtin, "FAKE0001", pid.lot, pid.expiry)
    assert client.verify(unknown_serial, proof) == Outcome.UNKNOWN_SERIAL
    assert as_(client, partners["wholesaler"]).verify_and_log(pid, proof) == Outcome.GENUINE
    with ape.reverts(registry.SerialRegistryNotPartner, account=guardian.address):
        registry.verifyAndLog(pid.onchain(), proof, sender=guardian)


def test_forged_proof_and_serial_from_another_lot(registry, client, partners, make_lot):
    lot_a, lot_b = make_lot(8), make_lot(8)
    pid = lot_a.identifier(2)
    # A forged proof: right length, random siblings.
    forged = [bytes([i]) * 32 for i in range(len(lot_a.tree.proof(2)))]
    assert client.verify(pid, forged) == Outcome.UNKNOWN_SERIAL
    # A genuine serial of lot A printed with lot B's lot number and expiry.
    moved = ProductIdentifier(pid.gtin, pid.serial, lot_b.lot, lot_b.expiry)
    assert client.verify(moved, lot_a.tree.proof(2)) == Outcome.UNKNOWN_SERIAL
    assert client.verify(moved, lot_b.tree.proof(2)) == Outcome.UNKNOWN_SERIAL
    # An interior node is not a unit: a "proof" from a level-1 node fails (double-hashed leaves).
    node = lot_a.tree.levels[1][0]
    assert client.verify(pid, [node]) == Outcome.UNKNOWN_SERIAL
    # Dispensing any of them is refused with the outcome.
    uid = unit_id(pid.gtin, pid.serial)
    with ape.reverts(
        registry.SerialRegistryNotVerified, unitId=uid, outcome=int(Outcome.UNKNOWN_SERIAL)
    ):
        registry.dispense(pid.onchain(), forged, lot_a.lot_id, [], sender=partners["pharmacy"])


def _deliver(client, partners, lid, to="pharmacy"):
    m, w = partners["manufacturer"], partners["wholesaler"]
    as_(client, m).ship(lid, w.address)
    as_(client, w).receive(lid)
    as_(client, w).ship(lid, partners[to].address)
    as_(client, partners[to]).receive(lid)


def test_cloned_serial_dispensed_twice_is_caught(registry, client, partners, make_lot, regulator):
    manifest = make_lot(8)
    _deliver(client, partners, manifest.lot_id)
    pid, proof = manifest.identifier(1), manifest.tree.proof(1)
    assert (
        as_(client, partners["pharmacy"]).dispense(pid, proof, manifest.lot_id) == Outcome.GENUINE
    )
    assert client.verify(pid, proof) == Outcome.ALREADY_DISPENSED
    # The clone turns up at another pharmacy that does not even hold the lot.
    assert (
        as_(client, partners["pharmacy2"]).dispense(pid, proof, manifest.lot_id)
        == Outcome.ALREADY_DISPENSED
    )
    assert client.unit_status(pid) == UnitStatus.SUSPECT
    assert client.verify(pid, proof) == Outcome.SUSPECT
    with ape.reverts(registry.SerialRegistryNotVerified, outcome=int(Outcome.SUSPECT)):
        registry.dispense(pid.onchain(), proof, manifest.lot_id, [], sender=partners["pharmacy"])
    # The regulator's investigation restores the record.
    as_(client, regulator).resolve(pid, proof, UnitStatus.DISPENSED)
    assert client.verify(pid, proof) == Outcome.ALREADY_DISPENSED
    # A wholesaler cannot dispense; a pharmacy not holding the lot cannot either.
    with ape.reverts(registry.SerialRegistryWrongRole):
        registry.dispense(pid.onchain(), proof, manifest.lot_id, [], sender=partners["wholesaler"])
    pid2 = manifest.identifier(2)
    with ape.reverts(registry.SerialRegistryNotCustodian):
        registry.dispense(
            pid2.onchain(),
            manifest.tree.proof(2),
            manifest.lot_id,
            [],
            sender=partners["pharmacy2"],
        )


def test_expired_product(registry, client, partners, make_lot, chain):
    old = make_lot(4, expiry="200100")  # end of January 2020
    _deliver(client, partners, old.lot_id)
    pid, proof = old.identifier(0), old.tree.proof(0)
    assert client.verify(pid, proof) == Outcome.EXPIRED
    with ape.reverts(registry.SerialRegistryNotVerified, outcome=int(Outcome.EXPIRED)):
        registry.dispense(pid.onchain(), proof, old.lot_id, [], sender=partners["pharmacy"])
    # Expiry boundary: genuine until the end of the expiry day, expired from the next second.
    import datetime as dt

    today = dt.datetime.fromtimestamp(chain.pending_timestamp, dt.UTC).date() + dt.timedelta(days=1)
    soon = make_lot(2, expiry=today.strftime("%y%m%d"))
    p2, pr2 = soon.identifier(0), soon.tree.proof(0)
    assert client.verify(p2, pr2) == Outcome.GENUINE
    chain.mine(timestamp=expiry_timestamp(soon.expiry))
    assert client.verify(p2, pr2) == Outcome.EXPIRED


def test_recall(registry, client, partners, make_lot, regulator):
    manifest = make_lot(8)
    _deliver(client, partners, manifest.lot_id)
    pid, proof = manifest.identifier(0), manifest.tree.proof(0)
    with ape.reverts(registry.SerialRegistryWrongRole):
        registry.recall(int(GTIN), pid.onchain()[2], sender=partners["wholesaler"])
    as_(client, partners["manufacturer"]).recall(GTIN, manifest.lot)
    assert client.container(manifest.lot_id).recalled
    assert client.verify(pid, proof) == Outcome.RECALLED
    with ape.reverts(registry.SerialRegistryAlreadyRecalled, lotId=manifest.lot_id):
        registry.recall(int(GTIN), pid.onchain()[2], sender=regulator)
    with ape.reverts(registry.SerialRegistryNotVerified, outcome=int(Outcome.RECALLED)):
        registry.dispense(pid.onchain(), proof, manifest.lot_id, [], sender=partners["pharmacy"])
    # Recalled stock goes back only to a manufacturer/repackager.
    with ape.reverts(
        registry.SerialRegistryRecalledShipment,
        lotId=manifest.lot_id,
        to=partners["wholesaler"].address,
    ):
        registry.ship(manifest.lot_id, partners["wholesaler"], sender=partners["pharmacy"])
    as_(client, partners["pharmacy"]).ship(manifest.lot_id, partners["manufacturer"].address)
    with ape.reverts(registry.SerialRegistryUnknownContainer):
        registry.recall(int(GTIN), b"NOLOT".ljust(20, b"\0"), sender=regulator)


def test_returns_decommission_and_reports(registry, client, partners, make_lot, regulator):
    manifest = make_lot(8)
    _deliver(client, partners, manifest.lot_id)
    w, p = partners["wholesaler"], partners["pharmacy"]
    pid, proof = manifest.identifier(4), manifest.tree.proof(4)
    lid = manifest.lot_id
    uid = unit_id(GTIN, pid.serial)
    # Saleable return, two steps: the pharmacy (holder) sends it back, the wholesaler accepts.
    with ape.reverts(registry.SerialRegistryWrongRole, account=partners["pharmacy2"].address):
        registry.initiateReturn(pid.onchain(), proof, lid, [], partners["pharmacy2"], sender=p)
    as_(client, p).initiate_return(pid, proof, w.address, lid)
    assert client.unit_status(pid) == UnitStatus.RETURN_PENDING
    assert client.pending_return(pid) == w.address
    # In transit: nobody holds it, the sender cannot dispense it meanwhile.
    with ape.reverts(registry.SerialRegistryReturnPending, unitId=uid, to=w.address):
        registry.dispense(pid.onchain(), proof, lid, [], sender=p)
    with ape.reverts(
        registry.SerialRegistryNotReturnParty,
        unitId=uid,
        account=partners["manufacturer"].address,
        holder=p.address,
        receiver=w.address,
    ):
        registry.acceptReturn(pid.onchain(), proof, sender=partners["manufacturer"])
    as_(client, w).accept_return(pid, proof)
    assert client.unit_status(pid) == UnitStatus.RETURNED and client.pending_return(pid) is None
    assert client.custodian_of(pid, lid, proof) == w.address
    assert client.verify(pid, proof) == Outcome.GENUINE
    with ape.reverts(registry.SerialRegistryNotCustodian):
        registry.dispense(pid.onchain(), proof, lid, [], sender=p)
    with ape.reverts(registry.SerialRegistryNoReturnPending, unitId=uid):
        registry.acceptReturn(pid.onchain(), proof, sender=w)
    # Decommission by the holder.
    as_(client, w).decommission(pid, proof, lid)
    assert client.verify(pid, proof) == Outcome.DECOMMISSIONED
    with ape.reverts(registry.SerialRegistryUnitStatus):
        registry.decommission(pid.onchain(), proof, lid, [], sender=w)
    with ape.reverts(registry.SerialRegistryNotVerified, outcome=int(Outcome.DECOMMISSIONED)):
        registry.initiateReturn(pid.onchain(), proof, lid, [], partners["manufacturer"], sender=w)
    # Reports: suspect and stolen by any partner; illegitimate by the GTIN owner or regulator.
    pid6, pr6 = manifest.identifier(6), manifest.tree.proof(6)
    as_(client, p).report(pid6, pr6, UnitStatus.STOLEN)
    assert client.verify(pid6, pr6) == Outcome.STOLEN
    with ape.reverts(registry.SerialRegistryWrongRole):
        registry.reportUnit(pid6.onchain(), pr6, int(UnitStatus.ILLEGITIMATE), sender=p)
    as_(client, partners["manufacturer"]).report(pid6, pr6, UnitStatus.ILLEGITIMATE)
    assert client.verify(pid6, pr6) == Outcome.ILLEGITIMATE
    with ape.reverts(registry.SerialRegistryInvalidStatus, status=int(UnitStatus.DISPENSED)):
        registry.reportUnit(pid6.onchain(), pr6, int(UnitStatus.DISPENSED), sender=p)
    pid7, pr7 = manifest.identifier(7), manifest.tree.proof(7)
    as_(client, w).report(pid7, pr7, UnitStatus.SUSPECT)
    assert client.verify(pid7, pr7) == Outcome.SUSPECT
    as_(client, regulator).resolve(pid7, pr7, UnitStatus.ACTIVE)
    assert client.verify(pid7, pr7) == Outcome.GENUINE
    with pytest.raises(ContractRevert) as err:
        as_(client, p).report(pid7, [b"\x00" * 32], UnitStatus.SUSPECT)
    assert err.value.error_name == "SerialRegistryNotVerified"
