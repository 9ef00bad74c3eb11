"""Demo step: a manufacturer commissions a serialised lot (one transaction, encrypted
manifest off chain), ships it to a wholesaler, who packs a case (SSCC) for a pharmacy;
the pharmacy scans a pack, verifies and dispenses it; a cloned pack with the same
serial is caught and recorded as suspect; the manufacturer recalls the lot."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from medchain.demos import DemoContext
from medchain.storage import open_store
from medchain.supply import (
    LotManifest,
    MerkleTree,
    Outcome,
    Role,
    SupplyClient,
    make_gtin,
    make_sscc,
    open_manifest,
    product_identifier,
    upload_manifest,
)

COMPANY_PREFIX = "0614141"  # GS1's example prefix
LOT_SIZE = 10_000
CASE_SIZE = 12


def _key(ctx: DemoContext, role: str) -> X25519PrivateKey:
    """The role's X25519 key from the identity step, or a fresh one published here."""
    keys = ctx.shared.setdefault("keys", {})
    key = keys.get(role)
    if key is None:
        key = keys[role] = X25519PrivateKey.generate()
    return key if isinstance(key, X25519PrivateKey) else X25519PrivateKey.from_private_bytes(key)


def run(ctx: DemoContext) -> None:
    from ape import chain

    console = ctx.console
    acc = ctx.accounts
    registry = ctx.contracts["SerialRegistry"]
    admin = SupplyClient(registry, acc["deployer"])
    maker = admin.with_sender(acc["manufacturer"])
    wholesaler = admin.with_sender(acc["wholesaler"])
    pharmacy = admin.with_sender(acc["pharmacy"])

    # Trading partners, each through its own did:ethr identity (idempotent on re-runs).
    admin.register_partner(
        acc["manufacturer"].address, Role.MANUFACTURER, company_prefix=COMPANY_PREFIX
    )
    admin.register_partner(acc["wholesaler"].address, Role.WHOLESALER)
    admin.register_partner(acc["pharmacy"].address, Role.DISPENSER)
    console.print("partners         manufacturer (prefix 0614141), wholesaler, pharmacy")

    # A lot of 10,000 packs: unique per run so the demo can run again on the same chain.
    run_tag = f"{chain.blocks.height:06d}"
    gtin = make_gtin(COMPANY_PREFIX, "52341")
    manifest = LotManifest(
        gtin, f"LOT{run_tag}", "281100", [f"P{run_tag}{i:06d}" for i in range(LOT_SIZE)]
    )
    recipients = {r: _key(ctx, r).public_key() for r in ("wholesaler", "pharmacy")}
    if ctx.store is None:
        ctx.store = open_store()  # embedded under $MEDCHAIN_HOME/ipfs unless MEDCHAIN_IPFS_API
    up = upload_manifest(
        ctx.store,
        manifest,
        chain_id=chain.chain_id,
        registry=registry.address,
        recipients=recipients,
    )
    lot = maker.commission(manifest, up.cid)
    receipt = maker.last_receipt
    console.print(
        f"commissioned     GTIN {gtin} lot {manifest.lot} exp {manifest.expiry}: "
        f"{LOT_SIZE:,} packs, root 0x{manifest.root.hex()[:16]}…, {receipt.gas_used:,} gas"
    )
    # The pharmacy opens the serial list with its own key (the CID comes from the event).
    opened = open_manifest(
        ctx.store,
        up.cid,
        chain_id=chain.chain_id,
        registry=registry.address,
        lot=lot,
        envelope_cid=up.envelopes["pharmacy"],
        private_key=_key(ctx, "pharmacy"),
    )
    on_chain_root = admin.container(lot).root
    assert opened.root == on_chain_root, "decrypted manifest does not rebuild the on-chain root"
    console.print(
        f"manifest         {up.cid} (encrypted; key wrapped for wholesaler, pharmacy); "
        f"pharmacy decrypted {len(opened.serials):,} serials, they rebuild the on-chain root"
    )

    # Manufacturer -> wholesaler (the whole lot), wholesaler packs a case for the pharmacy.
    maker.ship(lot, acc["wholesaler"].address)
    wholesaler.receive(lot)
    case_tree = MerkleTree(manifest.tree.levels[0][:CASE_SIZE])
    sscc = make_sscc("0", COMPANY_PREFIX, run_tag.rjust(9, "0"))
    case = wholesaler.aggregate(sscc, lot, case_tree.root, CASE_SIZE)
    wholesaler.ship(case, acc["pharmacy"].address)
    pharmacy.receive(case)
    console.print(
        f"custody          manufacturer -> wholesaler (lot) -> pharmacy (case SSCC {sscc}, "
        f"{CASE_SIZE} packs)"
    )

    # The pharmacist scans pack 3's 2D code (a Digital Link here) and verifies it.
    pack = manifest.identifier(3)
    scanned = product_identifier(pack.digital_link())
    proof = manifest.tree.proof(3)
    console.print(f"scan             {pack.digital_link()}")
    console.print(
        f"verify           {pharmacy.verify(scanned, proof).name.lower()} "
        f"(depth {len(proof)} proof, free call)"
    )
    outcome = pharmacy.dispense(scanned, proof, case, case_tree.proof(3))
    console.print(
        f"dispense         {outcome.name.lower()}; the unit was held through the case by "
        f"{admin.custodian_of(scanned, case, case_tree.proof(3))}"
    )

    # A counterfeit pack carrying a copy of the same serial reaches the counter.
    clone = product_identifier(pack.element_string(parentheses=False))
    caught = pharmacy.dispense(clone, proof, case, case_tree.proof(3))
    assert caught == Outcome.ALREADY_DISPENSED
    console.print(
        f"clone            {clone.element_string()} -> {caught.name.lower()}, "
        f"now {admin.verify(clone, proof).name.lower()}"
    )

    # The manufacturer recalls the lot: every pack answers "recalled" at once.
    maker.recall(gtin, manifest.lot)
    other = manifest.identifier(7)
    console.print(
        f"recall           lot {manifest.lot}; pack {other.serial} now "
        f"{admin.verify(other, manifest.tree.proof(7)).name.lower()}"
    )
    ctx.shared["supply"] = {
        "lot_id": lot,
        "gtin": gtin,
        "lot": manifest.lot,
        "manifest_cid": up.cid,
        "envelopes": up.envelopes,
    }
