"""Gas of every SerialRegistry operation: partner registration, commissioning a 10,000-unit
lot (one transaction, independent of the count), aggregation, shipments, verification as
a transaction at depth 14 (10,000 units) and depth 20 (a real 1,000,000-unit lot),
dispensing (from a lot, through a case, and a caught clone), two-step returns (sent,
accepted, cancelled), decommissioning, reports, resolution and recall. Cases are nodes of
the lot tree (16 units, 10 hashes below the root), proven against the lot at packing. Anchors are the figures in shared/notes/domain.md."""

from __future__ import annotations

from typing import Any

from bench.accounts import funded_account
from medchain.supply import (
    LotManifest,
    Role,
    UnitStatus,
    container_proof,
    make_gtin,
    make_sscc,
)

SLOT_PER_SERIAL = (221_000_000, "one storage slot per serial: 22,100 x 10,000 (domain.md)")
MERKLE_DEPTH_20 = (49_900, "OZ MerkleProof.verifyCalldata + one write, depth 20 (domain.md)")
MERKLE_DEPTH_16 = (44_870, "OZ MerkleProof.verifyCalldata + one write, depth 16 (domain.md)")
PREFIX = "0614141"
WHOLESALER_PREFIX = "0888888"
# A CIDv1 (base32, sha2-256) as the encrypted manifest's reference: the usual length.
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def measure(g: Any) -> None:
    reg = g.contracts["SerialRegistry"]
    # Two accounts since issue 14: the registrar onboards, the regulator resolves.
    registrar, regulator = g.accounts["registrar"], g.accounts["regulator"]
    maker, wholesaler, pharmacy, pharmacy2 = (funded_account(g) for _ in range(4))

    g.record(
        "SerialRegistry.registerPartner (manufacturer)",
        reg.registerPartner(
            maker, maker, int(Role.MANUFACTURER), int(PREFIX), len(PREFIX), sender=registrar
        ),
    )
    reg.registerPartner(
        wholesaler,
        wholesaler,
        int(Role.WHOLESALER),
        int(WHOLESALER_PREFIX),
        len(WHOLESALER_PREFIX),
        sender=registrar,
    )
    reg.registerPartner(pharmacy, pharmacy, int(Role.DISPENSER), 0, 0, sender=registrar)
    reg.registerPartner(pharmacy2, pharmacy2, int(Role.DISPENSER), 0, 0, sender=registrar)
    temp = funded_account(g)
    reg.registerPartner(temp, temp, int(Role.WHOLESALER), 0, 0, sender=registrar)
    g.record(
        "SerialRegistry.registerPartner (update)",
        reg.registerPartner(temp, temp, int(Role.DISPENSER), 0, 0, sender=registrar),
    )
    g.record("SerialRegistry.deactivatePartner", reg.deactivatePartner(temp, sender=registrar))

    gtin = make_gtin(PREFIX, "52341")
    lot = LotManifest(gtin, "LOT2026A0001", "281130", [f"SN{i:010d}" for i in range(10_000)])
    onchain = lambda m: (int(m.gtin), m.lot.encode().ljust(20, b"\0"), int(m.expiry))  # noqa: E731

    def commission(m: LotManifest) -> Any:
        g_, l_, e_ = onchain(m)
        return reg.commission(g_, l_, e_, len(m.serials), m.root, CID, sender=maker)

    g.record("SerialRegistry.commission (10,000-unit lot)", commission(lot), *SLOT_PER_SERIAL)
    big = LotManifest(gtin, "LOT2026M", "281130", [f"M{i:09d}" for i in range(1_000_000)])
    g.record("SerialRegistry.commission (1,000,000-unit lot)", commission(big), *SLOT_PER_SERIAL)
    lid, big_id = lot.lot_id, big.lot_id

    # Custody: manufacturer -> wholesaler (refused once, then accepted).
    g.record("SerialRegistry.ship (lot)", reg.ship(lid, wholesaler, sender=maker))
    g.record("SerialRegistry.cancelShipment", reg.cancelShipment(lid, sender=wholesaler))
    reg.ship(lid, wholesaler, sender=maker)
    g.record("SerialRegistry.receiveShipment (lot)", reg.receiveShipment(lid, sender=wholesaler))

    # Verification as a transaction (logged), depth 14 and depth 20.
    pid = lot.identifier(10)
    g.record(
        "SerialRegistry.verifyAndLog (depth 14, 10,000 units)",
        reg.verifyAndLog(pid.onchain(), lot.tree.proof(10), sender=wholesaler),
        *MERKLE_DEPTH_16,
    )
    bpid = big.identifier(123_456)
    bproof = big.tree.proof(123_456)
    assert len(bproof) == 20
    g.record(
        "SerialRegistry.verifyAndLog (depth 20, 1,000,000 units)",
        reg.verifyAndLog(bpid.onchain(), bproof, sender=wholesaler),
        *MERKLE_DEPTH_20,
    )

    # Aggregation: the wholesaler packs two cases of 16 (level-4 nodes of the lot tree,
    # each proven by its 10 siblings up to the lot root) for the pharmacies.
    tree = lot.tree
    sscc_a = make_sscc("0", WHOLESALER_PREFIX, "000000001")
    sscc_b = make_sscc("0", WHOLESALER_PREFIX, "000000002")
    g.record(
        "SerialRegistry.aggregate (case of 16, first from the lot)",
        reg.aggregate(int(sscc_a), lid, tree.node(4, 0), 16, tree.proof(0, 4), sender=wholesaler),
    )
    g.record(
        "SerialRegistry.aggregate (next case)",
        reg.aggregate(int(sscc_b), lid, tree.node(4, 1), 16, tree.proof(1, 4), sender=wholesaler),
    )
    agg_a = int(sscc_a).to_bytes(32, "big")
    reg.ship(agg_a, pharmacy, sender=wholesaler)
    g.record("SerialRegistry.receiveShipment (case)", reg.receiveShipment(agg_a, sender=pharmacy))

    # Dispensing through the case (lot proof depth 14 + case proof depth 4).
    p0 = lot.identifier(0)
    in_case = lambda i: container_proof(tree.proof(i), 10)  # noqa: E731
    g.record(
        "SerialRegistry.dispense (through a case)",
        reg.dispense(p0.onchain(), tree.proof(0), agg_a, in_case(0), sender=pharmacy),
        *MERKLE_DEPTH_16,
    )
    g.record(
        "SerialRegistry.dispense (clone caught, recorded suspect)",
        reg.dispense(p0.onchain(), tree.proof(0), agg_a, in_case(0), sender=pharmacy2),
    )

    # Two-step saleable returns: the pharmacy sends units of its case back to the wholesaler.
    r1, r2 = lot.identifier(1), lot.identifier(2)
    g.record(
        "SerialRegistry.initiateReturn (through a case)",
        reg.initiateReturn(
            r1.onchain(), tree.proof(1), agg_a, in_case(1), wholesaler, sender=pharmacy
        ),
    )
    g.record(
        "SerialRegistry.acceptReturn",
        reg.acceptReturn(r1.onchain(), tree.proof(1), sender=wholesaler),
    )
    reg.initiateReturn(r2.onchain(), tree.proof(2), agg_a, in_case(2), wholesaler, sender=pharmacy)
    g.record(
        "SerialRegistry.cancelReturn (refused by the receiver)",
        reg.cancelReturn(r2.onchain(), tree.proof(2), sender=wholesaler),
    )
    g.record(
        "SerialRegistry.decommission (returned unit)",
        reg.decommission(r1.onchain(), tree.proof(1), lid, [], sender=wholesaler),
    )

    # Dispensing from a whole lot held by a pharmacy (depth 20).
    reg.ship(big_id, pharmacy, sender=maker)
    reg.receiveShipment(big_id, sender=pharmacy)
    g.record(
        "SerialRegistry.dispense (from a 1,000,000-unit lot, depth 20)",
        reg.dispense(bpid.onchain(), bproof, big_id, [], sender=pharmacy),
        *MERKLE_DEPTH_20,
    )

    # Unit exceptions on the 10,000-unit lot (units 100.. are not in any case).
    u2, u3 = lot.identifier(101), lot.identifier(102)
    g.record(
        "SerialRegistry.reportUnit (suspect)",
        reg.reportUnit(u2.onchain(), lot.tree.proof(101), int(UnitStatus.SUSPECT), sender=pharmacy),
    )
    g.record(
        "SerialRegistry.reportUnit (illegitimate, by manufacturer)",
        reg.reportUnit(
            u3.onchain(), lot.tree.proof(102), int(UnitStatus.ILLEGITIMATE), sender=maker
        ),
    )
    g.record(
        "SerialRegistry.resolveUnit (suspect cleared)",
        reg.resolveUnit(
            u2.onchain(), lot.tree.proof(101), int(UnitStatus.ACTIVE), sender=regulator
        ),
    )
    g.record(
        "SerialRegistry.recall (whole lot)",
        reg.recall(int(gtin), lot.lot.encode().ljust(20, b"\0"), sender=maker),
    )
    g.record(
        "SerialRegistry.ship (recalled case back to the manufacturer)",
        reg.ship(agg_a, maker, sender=pharmacy),
    )
