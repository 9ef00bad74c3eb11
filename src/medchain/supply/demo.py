"""Demo step: a manufacturer commissions a serialised lot (one transaction, encrypted
manifest off chain), ships it to a wholesaler, who packs a case (SSCC, a node of the lot
tree proven against the lot) for a pharmacy; the pharmacy scans a pack, verifies and
dispenses it; a cloned pack with the same serial is caught and recorded as suspect; the
pharmacy returns a pack to the wholesaler (two steps); the manufacturer recalls the lot."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from medchain.demo import DemoContext
from medchain.storage import open_store
from medchain.supply import (
    LotManifest,
    Outcome,
    Role,
    SupplyClient,
    container_proof,
    make_gtin,
    make_sscc,
    open_manifest,
    product_identifier,
    upload_manifest,
)

COMPANY_PREFIX = "0614141"  # GS1's example prefix
WHOLESALER_PREFIX = "0888888"  # the wholesaler's own prefix, for its SSCCs
LOT_SIZE = 10_000
CASE_LEVEL = 4  # a case is a level-4 node of the lot tree: 16 packs


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
    # The registrar onboards partners; the deployer (the admin) holds no operational role.
    registrar = SupplyClient(registry, acc["registrar"])
    maker = registrar.with_sender(acc["manufacturer"])
    wholesaler = registrar.with_sender(acc["wholesaler"])
    pharmacy = registrar.with_sender(acc["pharmacy"])

    # Trading partners, each through its own did:ethr identity (idempotent on re-runs).
    registrar.register_partner(
        acc["manufacturer"].address, Role.MANUFACTURER, company_prefix=COMPANY_PREFIX
    )
    registrar.register_partner(
        acc["wholesaler"].address, Role.WHOLESALER, company_prefix=WHOLESALER_PREFIX
    )
    registrar.register_partner(acc["pharmacy"].address, Role.DISPENSER)
    console.print(
        "partners         manufacturer (prefix 0614141), wholesaler (prefix 0888888), pharmacy"
    )

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
        chain_id=chain.provider.chain_id,
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
        chain_id=chain.provider.chain_id,
        registry=registry.address,
        lot=lot,
        envelope_cid=up.envelopes["pharmacy"],
        private_key=_key(ctx, "pharmacy"),
    )
    on_chain_root = registrar.container(lot).root
    assert opened.root == on_chain_root, "decrypted manifest does not rebuild the on-chain root"
    console.print(
        f"manifest         {up.cid} (encrypted; key wrapped for wholesaler, pharmacy); "
        f"pharmacy decrypted {len(opened.serials):,} serials, they rebuild the on-chain root"
    )

    # Manufacturer -> wholesaler (the whole lot), wholesaler packs a case for the pharmacy.
    maker.ship(lot, acc["wholesaler"].address)
    wholesaler.receive(lot)
    tree = manifest.tree
    root, node_proof, case_size = tree.pack(tree.root, CASE_LEVEL, 0)
    sscc = make_sscc("0", WHOLESALER_PREFIX, run_tag.rjust(9, "0"))
    case = wholesaler.aggregate(sscc, lot, root, case_size, node_proof)
    wholesaler.ship(case, acc["pharmacy"].address)
    pharmacy.receive(case)
    depth = len(node_proof)
    console.print(
        f"custody          manufacturer -> wholesaler (lot) -> pharmacy (case SSCC {sscc}, "
        f"{case_size} packs, proven {depth} hashes below the lot root)"
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
    in_case = container_proof(proof, depth)
    holder = registrar.custodian_of(scanned, case, in_case)
    outcome = pharmacy.dispense(scanned, proof, case, in_case)
    console.print(
        f"dispense         {outcome.name.lower()}; the unit was held through the case by {holder}"
    )

    # A counterfeit pack carrying a copy of the same serial reaches the counter.
    clone = product_identifier(pack.element_string(parentheses=False))
    caught = pharmacy.dispense(clone, proof, case, in_case)
    assert caught == Outcome.ALREADY_DISPENSED
    console.print(
        f"clone            {clone.element_string()} -> {caught.name.lower()}, "
        f"now {registrar.verify(clone, proof).name.lower()}"
    )

    # A saleable return, two steps: the pharmacy (holder) sends pack 5 back, the wholesaler
    # accepts it and now holds it.
    back, back_proof = manifest.identifier(5), tree.proof(5)
    pharmacy.initiate_return(
        back, back_proof, acc["wholesaler"].address, case, container_proof(back_proof, depth)
    )
    wholesaler.accept_return(back, back_proof)
    console.print(
        f"return           pack {back.serial}: pharmacy -> wholesaler (sent, accepted); "
        f"held by {registrar.custodian_of(back, lot, back_proof)}"
    )

    # The manufacturer recalls the lot: every pack answers "recalled" at once.
    maker.recall(gtin, manifest.lot)
    other = manifest.identifier(7)
    console.print(
        f"recall           lot {manifest.lot}; pack {other.serial} now "
        f"{registrar.verify(other, manifest.tree.proof(7)).name.lower()}"
    )
    ctx.shared["supply"] = {
        "lot_id": lot,
        "gtin": gtin,
        "lot": manifest.lot,
        "manifest_cid": up.cid,
        "envelopes": up.envelopes,
    }
