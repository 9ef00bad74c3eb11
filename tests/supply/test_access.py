"""Access matrix: every state-changing function of SerialRegistry called by every kind
of actor (the admin, the registrar, the regulator and the pause guardian: four different
accounts, each partner role, a stranger, a deactivated partner). Allowed cells must
succeed; refused cells must name the right custom error and the refused account. Each cell
runs in its own snapshot (ape's test isolation)."""

from __future__ import annotations

import pytest

from medchain.errors import ContractRevert
from medchain.supply import Role, UnitStatus
from support.supply import GTIN, OTHER_GTIN, PARTNER_PREFIXES, PREFIX, new_lot, sscc

ACTORS = (
    "admin",
    "registrar",
    "regulator",
    "guardian",
    "manufacturer",
    "repackager",
    "wholesaler",
    "dispenser",
    "stranger",
    "deactivated",
)
OK = "ok"
NP = "SerialRegistryNotPartner"
WR = "SerialRegistryWrongRole"
AC = "AccessControlUnauthorizedAccount"
PARTNERS_OK = {"manufacturer": OK, "repackager": OK, "wholesaler": OK, "dispenser": OK}
# Actors that are no trading partner (the deactivated one no longer is).
NON_PARTNERS = ("admin", "registrar", "regulator", "guardian", "stranger", "deactivated")

EXPECTED: dict[str, dict[str, str]] = {
    "registerPartner": {"registrar": OK},
    "deactivatePartner": {"registrar": OK},
    "commission": {"manufacturer": OK, "repackager": OK, "wholesaler": WR, "dispenser": WR},
    "aggregate": PARTNERS_OK,
    "ship": PARTNERS_OK,
    "receiveShipment": PARTNERS_OK,
    "cancelShipment": {
        **PARTNERS_OK,
        **{a: "SerialRegistryNotReceiver" for a in NON_PARTNERS},
    },
    "dispense": {"manufacturer": WR, "repackager": WR, "wholesaler": WR, "dispenser": OK},
    "initiateReturn": PARTNERS_OK,
    "acceptReturn": {
        "manufacturer": OK,
        "repackager": OK,
        "wholesaler": OK,
        "dispenser": "SerialRegistryNotReturnParty",
    },
    "cancelReturn": {
        "manufacturer": OK,
        "wholesaler": OK,
        **{a: "SerialRegistryNotReturnParty" for a in ("repackager", "dispenser", *NON_PARTNERS)},
    },
    "decommission": PARTNERS_OK,
    "reportSuspect": PARTNERS_OK,
    "reportIllegitimate": {
        "regulator": OK,
        "manufacturer": OK,
        "repackager": "SerialRegistryGtinNotOwned",
        "wholesaler": WR,
        "dispenser": WR,
    },
    "resolveUnit": {"regulator": OK},
    "recall": {
        "regulator": OK,
        "manufacturer": OK,
        "repackager": "SerialRegistryGtinNotOwned",
        "wholesaler": WR,
        "dispenser": WR,
    },
    "verifyAndLog": {**PARTNERS_OK, "regulator": OK},
    "pause": {"guardian": OK},
    "unpause": {"admin": OK},
}
ROLE_ONLY = {"registerPartner", "deactivatePartner", "resolveUnit", "pause", "unpause"}


# The company prefix each actor packs SSCCs under (the dispenser is the pharmacy partner).
PREFIXES = {**PARTNER_PREFIXES, "dispenser": PARTNER_PREFIXES["pharmacy"]}


def expected(fn: str, actor: str) -> str:
    default = AC if fn in ROLE_ONLY else NP
    return EXPECTED[fn].get(actor, default)


@pytest.fixture(scope="module")
def world(
    client, registry, partners, deployer, registrar, regulator, ethics, guardian, privacy_officer
):
    registry.grantRole(registry.GUARDIAN_ROLE(), ethics, sender=deployer)
    client.register_partner(privacy_officer.address, Role.WHOLESALER)
    client.deactivate_partner(privacy_officer.address)
    manifest = new_lot(8)
    client.with_sender(partners["manufacturer"]).commission(manifest, "")
    actors = {
        "admin": deployer,
        "registrar": registrar,
        "regulator": regulator,
        "guardian": ethics,  # GUARDIAN_ROLE (the `guardian` fixture is a patient's DID delegate)
        "manufacturer": partners["manufacturer"],
        "repackager": partners["repackager"],
        "wholesaler": partners["wholesaler"],
        "dispenser": partners["pharmacy"],
        "stranger": guardian,
        "deactivated": privacy_officer,
    }
    return actors, manifest


def _give(client, actors, actor, lid):
    """Move the lot to `actor` when it is a partner (custody-gated functions)."""
    m = actors["manufacturer"]
    if actor == "manufacturer" or actor in NON_PARTNERS:
        return
    client.with_sender(m).ship(lid, actors[actor].address)
    client.with_sender(actors[actor]).receive(lid)


def _attempt(fn, client, actors, actor, manifest, guardian):
    me = actors[actor]
    c = client.with_sender(me)
    lid = manifest.lot_id
    pid, proof = manifest.identifier(0), manifest.tree.proof(0)
    if fn == "registerPartner":
        return c.register_partner(guardian.address, Role.WHOLESALER)
    if fn == "deactivatePartner":
        return c.deactivate_partner(actors["wholesaler"].address)
    if fn == "commission":
        gtin = OTHER_GTIN if actor == "repackager" else GTIN
        return c.commission(new_lot(4, gtin=gtin), "")
    if fn == "aggregate":
        _give(client, actors, actor, lid)
        tree = manifest.tree
        return c.aggregate(
            sscc(PREFIXES.get(actor, PREFIX), 99), lid, tree.node(2, 0), 4, tree.proof(0, 2)
        )
    if fn == "ship":
        _give(client, actors, actor, lid)
        to = actors["dispenser"] if actor == "wholesaler" else actors["wholesaler"]
        if actor == "dispenser":
            to = actors["manufacturer"]
        return c.ship(lid, to.address)
    if fn in ("receiveShipment", "cancelShipment"):
        if actor == "manufacturer" or actor in NON_PARTNERS:
            # Pending from the manufacturer to the wholesaler; the manufacturer is the sender.
            client.with_sender(actors["manufacturer"]).ship(lid, actors["wholesaler"].address)
            if actor == "manufacturer":
                if fn == "cancelShipment":
                    return c.cancel_shipment(lid)
                client.with_sender(actors["wholesaler"]).receive(lid)
                client.with_sender(actors["wholesaler"]).ship(lid, me.address)
                return c.receive(lid)
        else:
            client.with_sender(actors["manufacturer"]).ship(lid, me.address)
        return c.receive(lid) if fn == "receiveShipment" else c.cancel_shipment(lid)
    if fn == "dispense":
        _give(client, actors, actor, lid)
        return c.dispense(pid, proof, lid)
    if fn == "initiateReturn":
        _give(client, actors, actor, lid)
        to = actors["manufacturer"] if actor == "wholesaler" else actors["wholesaler"]
        return c.initiate_return(pid, proof, to.address, lid)
    if fn == "acceptReturn":
        holder = actors["manufacturer"]
        if actor in ("manufacturer", "repackager", "wholesaler"):
            if actor == "manufacturer":
                _give(client, actors, "wholesaler", lid)
                holder = actors["wholesaler"]
            client.with_sender(holder).initiate_return(pid, proof, me.address, lid)
        else:
            client.with_sender(holder).initiate_return(
                pid, proof, actors["wholesaler"].address, lid
            )
        return c.accept_return(pid, proof)
    if fn == "cancelReturn":
        client.with_sender(actors["manufacturer"]).initiate_return(
            pid, proof, actors["wholesaler"].address, lid
        )
        return c.cancel_return(pid, proof)
    if fn == "decommission":
        _give(client, actors, actor, lid)
        return c.decommission(pid, proof, lid)
    if fn == "reportSuspect":
        return c.report(pid, proof, UnitStatus.SUSPECT)
    if fn == "reportIllegitimate":
        return c.report(pid, proof, UnitStatus.ILLEGITIMATE)
    if fn == "resolveUnit":
        return c.resolve(pid, proof, UnitStatus.SUSPECT)
    if fn == "recall":
        return c.recall(GTIN, manifest.lot)
    if fn == "verifyAndLog":
        return c.verify_and_log(pid, proof)
    if fn == "pause":
        return c.pause()
    if fn == "unpause":
        client.with_sender(actors["guardian"]).pause()
        return c.unpause()
    raise AssertionError(fn)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("fn", list(EXPECTED))
def test_access_matrix(fn, actor, client, world, guardian):
    actors, manifest = world
    want = expected(fn, actor)
    if want == OK:
        _attempt(fn, client, actors, actor, manifest, guardian)
        return
    with pytest.raises(ContractRevert) as err:
        _attempt(fn, client, actors, actor, manifest, guardian)
    assert err.value.error_name == want, str(err.value)
    if "account" in err.value.arguments:
        assert err.value.arguments["account"] == actors[actor].address


def test_matrix_covers_every_state_changing_function(registry):
    """Every non-view function of the ABI (except OZ's own role administration) is a row."""
    oz_admin = {
        "grantRole",
        "revokeRole",
        "renounceRole",
        "beginDefaultAdminTransfer",
        "cancelDefaultAdminTransfer",
        "acceptDefaultAdminTransfer",
        "changeDefaultAdminDelay",
        "rollbackDefaultAdminDelay",
    }
    writes = {abi.name for abi in registry.contract_type.mutable_methods} - oz_admin
    rows = {("reportUnit" if f.startswith("report") else f) for f in EXPECTED}
    assert writes == rows
