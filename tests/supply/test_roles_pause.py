"""SerialRegistry's split authority and emergency pause (issue 14), with real transactions:

* the deploy gives the registrar and the regulator to two named accounts, never the admin;
  the constructor refuses address(0) and one account for two roles;
* admin, registrar, regulator and guardian stay four accounts on every later grant,
  including an admin transfer (the attack: a registrar made regulator too would onboard a
  partner and clear the units that partner was caught with);
* the guardian pauses and nothing else; only the admin unpauses; a pause stops every write
  of the normal flow with EnforcedPause, which succeeds again once unpaused, while reads,
  flags, recalls, deactivation, cancellations and quarantine keep working;
* a production deploy names both accounts in its roles file, or is refused in one line."""

from __future__ import annotations

import ape
import pytest
from ape.exceptions import ContractLogicError

from medchain.deploy import DeployContext, load_roles
from medchain.errors import ConfigurationError, ContractRevert
from medchain.supply import Outcome, Role, UnitStatus
from medchain.supply.deploy import operational_accounts, roles_file_accounts
from support.deploy import deploy_fresh
from support.supply import GTIN, WHOLESALER_PREFIX, new_lot, sscc

ZERO = "0x" + "00" * 20
ADMIN = b"\x00" * 32


def as_(client, account):
    return client.with_sender(account)


def _roles(registry):
    return {
        "admin": ADMIN,
        "registrar": registry.REGISTRAR_ROLE(),
        "regulator": registry.REGULATOR_ROLE(),
        "guardian": registry.GUARDIAN_ROLE(),
    }


def _hex(value):
    return value.hex().removeprefix("0x") if isinstance(value, bytes) else str(value).lower()


def _refused(error: str, call, **arguments) -> None:
    """`call` reverts with custom error `error` and these arguments, through the SDK
    (ContractRevert) or a raw contract call or deployment (ape's ContractLogicError)."""
    with pytest.raises((ContractRevert, ContractLogicError)) as err:
        call()
    exc = err.value
    if isinstance(exc, ContractRevert):
        name, inputs = exc.error_name, exc.arguments
    else:
        name, inputs = type(exc).__name__, getattr(exc, "inputs", {}) or {}
    assert name == error, str(exc)
    for key, value in arguments.items():
        assert _hex(inputs[key]).removeprefix("0x") == _hex(value).removeprefix("0x"), (key, inputs)


# ------------------------------------------------------------------ roles at deploy


def test_deploy_gives_each_role_to_its_own_account(registry, deployer, registrar, regulator):
    roles = _roles(registry)
    held = {
        who: {name for name, role in roles.items() if registry.hasRole(role, account)}
        for who, account in (("deployer", deployer), ("registrar", registrar),
                             ("regulator", regulator))
    }  # fmt: skip
    assert held == {"deployer": {"admin"}, "registrar": {"registrar"}, "regulator": {"regulator"}}
    assert registry.defaultAdmin() == deployer.address
    assert not registry.paused()


def test_admin_holds_no_operational_power(registry, client, partners, make_lot, deployer):
    manifest = make_lot(4)
    pid, proof = manifest.identifier(0), manifest.tree.proof(0)
    admin = as_(client, deployer)
    _refused("AccessControlUnauthorizedAccount", lambda: admin.register_partner(
        deployer.address, Role.WHOLESALER), account=deployer.address)  # fmt: skip
    _refused("AccessControlUnauthorizedAccount", lambda: admin.resolve(
        pid, proof, UnitStatus.ILLEGITIMATE), account=deployer.address)  # fmt: skip
    _refused("SerialRegistryNotPartner", lambda: admin.recall(GTIN, manifest.lot))
    _refused("SerialRegistryNotPartner", lambda: admin.verify_and_log(pid, proof))
    _refused("AccessControlUnauthorizedAccount", admin.pause, account=deployer.address)
    # Nor can it take one: the admin is refused every operational role it could grant itself.
    for name in ("registrar", "regulator", "guardian"):
        _refused(
            "SerialRegistryRoleConflict",
            lambda name=name: registry.grantRole(_roles(registry)[name], deployer, sender=deployer),
            account=deployer.address,
        )


def test_governed_deploy_hands_the_admin_to_the_timelock_and_nothing_else(
    roles, deployer, registrar, regulator
):
    ctx = deploy_fresh(deployer, "SerialRegistry", accounts=roles, governed=True)
    registry, timelock = ctx.contracts["SerialRegistry"], ctx.contracts["ConsortiumTimelock"]
    assert registry.pendingDefaultAdmin()[0] == timelock.address
    for role in (registry.REGISTRAR_ROLE(), registry.REGULATOR_ROLE(), registry.GUARDIAN_ROLE()):
        assert not registry.hasRole(role, timelock.address)
        assert not registry.hasRole(role, deployer)
    assert registry.hasRole(registry.REGISTRAR_ROLE(), registrar)
    assert registry.hasRole(registry.REGULATOR_ROLE(), regulator)


@pytest.mark.parametrize(
    "case", ["zero registrar", "zero regulator", "one account for both", "admin as registrar",
             "admin as regulator"],
)  # fmt: skip
def test_constructor_refusals(project, registry, deployer, registrar, regulator, case):
    did = registry.didRegistry()
    roles = _roles(registry)
    args, error, expect = {
        "zero registrar": ((ZERO, regulator), "SerialRegistryZeroAccount",
                           {"role": roles["registrar"]}),
        "zero regulator": ((registrar, ZERO), "SerialRegistryZeroAccount",
                           {"role": roles["regulator"]}),
        "one account for both": ((registrar, registrar), "SerialRegistryRoleConflict",
                                 {"account": registrar.address, "held": roles["registrar"],
                                  "granted": roles["regulator"]}),
        "admin as registrar": ((deployer, regulator), "SerialRegistryRoleConflict",
                               {"account": deployer.address, "held": ADMIN,
                                "granted": roles["registrar"]}),
        "admin as regulator": ((registrar, deployer), "SerialRegistryRoleConflict",
                               {"account": deployer.address, "held": ADMIN,
                                "granted": roles["regulator"]}),
    }[case]  # fmt: skip
    _refused(error, lambda: deployer.deploy(project.SerialRegistry, did, deployer, *args), **expect)


# ------------------------------------------------------------------ separation on grants


def test_registrar_cannot_act_as_regulator(client, partners, make_lot, registrar):
    manifest = make_lot(4)
    pid, proof = manifest.identifier(0), manifest.tree.proof(0)
    r = as_(client, registrar)
    as_(client, partners["pharmacy"]).report(pid, proof, UnitStatus.SUSPECT)
    _refused("AccessControlUnauthorizedAccount", lambda: r.resolve(pid, proof, UnitStatus.ACTIVE),
             account=registrar.address)  # fmt: skip
    _refused("SerialRegistryNotPartner", lambda: r.report(pid, proof, UnitStatus.ILLEGITIMATE))
    _refused("SerialRegistryNotPartner", lambda: r.recall(GTIN, manifest.lot))
    _refused("SerialRegistryNotPartner", lambda: r.verify_and_log(pid, proof))
    assert client.verify(pid, proof) == Outcome.SUSPECT


def test_regulator_cannot_act_as_registrar(client, partners, regulator, monitor):
    g = as_(client, regulator)
    _refused("AccessControlUnauthorizedAccount",
             lambda: g.register_partner(monitor.address, Role.WHOLESALER),
             account=regulator.address)  # fmt: skip
    _refused("AccessControlUnauthorizedAccount",
             lambda: g.deactivate_partner(partners["wholesaler"].address),
             account=regulator.address)  # fmt: skip
    assert client.partner(partners["wholesaler"].address).active


def test_one_account_never_holds_two_authority_roles(
    registry, client, partners, make_lot, deployer, registrar, regulator, ethics
):
    """The attack: with REGULATOR_ROLE added to the registrar, one key onboards a colluding
    partner and clears the counterfeit units it was caught with. Every such grant is refused,
    whichever role comes first; moving an account from one role to another needs the revoke
    first, so it never holds both."""
    roles = _roles(registry)
    grant = registry.grantRole
    _refused("SerialRegistryRoleConflict", lambda: grant(roles["regulator"], registrar,
             sender=deployer), account=registrar.address, held=roles["registrar"],
             granted=roles["regulator"])  # fmt: skip
    _refused("SerialRegistryRoleConflict", lambda: grant(roles["registrar"], regulator,
             sender=deployer), account=regulator.address, held=roles["regulator"],
             granted=roles["registrar"])  # fmt: skip
    grant(roles["guardian"], ethics, sender=deployer)
    for name, holder in (("registrar", registrar), ("regulator", regulator)):
        _refused("SerialRegistryRoleConflict",
                 lambda name=name: grant(roles[name], ethics, sender=deployer),
                 account=ethics.address, held=roles["guardian"], granted=roles[name])  # fmt: skip
        _refused("SerialRegistryRoleConflict",
                 lambda holder=holder: grant(roles["guardian"], holder, sender=deployer),
                 account=holder.address, held=roles[name], granted=roles["guardian"])  # fmt: skip
    # An admin transfer to an operational account fails at its acceptance.
    registry.beginDefaultAdminTransfer(ethics, sender=deployer)
    ape.chain.pending_timestamp += 86_400 + 1
    _refused("SerialRegistryRoleConflict",
             lambda: registry.acceptDefaultAdminTransfer(sender=ethics),
             account=ethics.address, held=roles["guardian"], granted=ADMIN)  # fmt: skip
    assert registry.defaultAdmin() == deployer.address
    # Revoke first, then the account may take the other role: it never holds both.
    registry.revokeRole(roles["registrar"], registrar, sender=deployer)
    grant(roles["regulator"], registrar, sender=deployer)
    assert not registry.hasRole(roles["registrar"], registrar)
    _refused("AccessControlUnauthorizedAccount",
             lambda: as_(client, registrar).register_partner(registrar.address, Role.WHOLESALER),
             account=registrar.address)  # fmt: skip


# ------------------------------------------------------------------ pause


@pytest.fixture
def guardian_role(registry, deployer, ethics):
    """`ethics` holds GUARDIAN_ROLE (the `guardian` fixture is a patient's DID delegate)."""
    registry.grantRole(registry.GUARDIAN_ROLE(), ethics, sender=deployer)
    return ethics


def test_only_the_guardian_pauses_and_only_the_admin_unpauses(
    registry, client, partners, deployer, registrar, regulator, guardian_role, monitor
):
    for who in (deployer, registrar, regulator, partners["manufacturer"], monitor):
        _refused("AccessControlUnauthorizedAccount", as_(client, who).pause, account=who.address)
    g = as_(client, guardian_role)
    g.pause()
    assert client.paused()
    _refused("EnforcedPause", g.pause)
    for who in (guardian_role, registrar, regulator, partners["manufacturer"]):
        _refused("AccessControlUnauthorizedAccount", as_(client, who).unpause, account=who.address)
    # The guardian can do nothing else: no grants, no partners, no investigations.
    _refused("AccessControlUnauthorizedAccount", lambda: registry.grantRole(
        registry.REGISTRAR_ROLE(), monitor, sender=guardian_role))  # fmt: skip
    _refused("AccessControlUnauthorizedAccount", lambda: registry.beginDefaultAdminTransfer(
        guardian_role, sender=guardian_role))  # fmt: skip
    _refused("AccessControlUnauthorizedAccount", lambda: g.deactivate_partner(
        partners["wholesaler"].address))  # fmt: skip
    as_(client, deployer).unpause()
    assert not client.paused()
    _refused("ExpectedPause", as_(client, deployer).unpause)
    # A revoked guardian cannot pause again.
    registry.revokeRole(registry.GUARDIAN_ROLE(), guardian_role, sender=deployer)
    _refused("AccessControlUnauthorizedAccount", g.pause, account=guardian_role.address)


def _move(client, container, frm, to):
    as_(client, frm).ship(container, to.address)
    as_(client, to).receive(container)


def test_pause_stops_the_flow_of_goods_and_keeps_safety_actions(
    registry, client, partners, make_lot, deployer, registrar, regulator, guardian_role, monitor
):
    m, w, p, lab = (partners[k] for k in ("manufacturer", "wholesaler", "pharmacy", "pharmacy2"))
    # Before the pause: one lot per action, each in the state where its action succeeds.
    to_ship, pending, to_cancel, to_pack, at_pharmacy, to_recall = (make_lot(8) for _ in range(6))
    as_(client, m).ship(pending.lot_id, w.address)
    as_(client, m).ship(to_cancel.lot_id, w.address)
    _move(client, to_pack.lot_id, m, w)
    _move(client, at_pharmacy.lot_id, m, w)
    _move(client, at_pharmacy.lot_id, w, p)
    lot = at_pharmacy
    unit = {i: (lot.identifier(i), lot.tree.proof(i)) for i in range(8)}
    ph = as_(client, p)
    ph.initiate_return(*unit[3], w.address, lot.lot_id)  # to be accepted (paused)
    ph.initiate_return(*unit[4], w.address, lot.lot_id)  # to be cancelled (available)
    ph.report(*unit[5], UnitStatus.SUSPECT)  # to be cleared (paused) or quarantined
    tree, sscc_id = to_pack.tree, sscc(WHOLESALER_PREFIX, 7)
    new = new_lot(4)

    paused_writes = {
        "registerPartner": lambda: as_(client, registrar).register_partner(
            monitor.address, Role.WHOLESALER),
        "commission": lambda: as_(client, m).commission(new, ""),
        "aggregate": lambda: as_(client, w).aggregate(
            sscc_id, to_pack.lot_id, tree.node(2, 0), 4, tree.proof(0, 2)),
        "ship": lambda: as_(client, m).ship(to_ship.lot_id, w.address),
        "receiveShipment": lambda: as_(client, w).receive(pending.lot_id),
        "dispense": lambda: ph.dispense(*unit[0], lot.lot_id),
        "initiateReturn": lambda: ph.initiate_return(*unit[1], w.address, lot.lot_id),
        "acceptReturn": lambda: as_(client, w).accept_return(*unit[3]),
        "decommission": lambda: ph.decommission(*unit[2], lot.lot_id),
        "resolveUnit to Active": lambda: as_(client, regulator).resolve(
            *unit[5], UnitStatus.ACTIVE),
        "resolveUnit to Returned": lambda: as_(client, regulator).resolve(
            *unit[5], UnitStatus.RETURNED),
    }  # fmt: skip
    as_(client, guardian_role).pause()
    for name, call in paused_writes.items():
        with pytest.raises(ContractRevert) as err:
            call()
        assert err.value.error_name == "EnforcedPause", (name, str(err.value))

    # Still available: reads, verification (logged too), flags, recalls, quarantine,
    # deactivation, cancellations, role administration.
    assert client.verify(*unit[0]) == Outcome.GENUINE
    assert client.custodian_of(unit[0][0], lot.lot_id, unit[0][1]) == p.address
    assert client.partner(m.address).active
    ph.verify_and_log(*unit[0])
    as_(client, regulator).verify_and_log(*unit[0])
    ph.report(*unit[6], UnitStatus.STOLEN)
    as_(client, m).report(*unit[7], UnitStatus.ILLEGITIMATE)
    as_(client, regulator).resolve(*unit[5], UnitStatus.ILLEGITIMATE)  # quarantine
    assert client.verify(*unit[5]) == Outcome.ILLEGITIMATE
    as_(client, m).recall(GTIN, to_recall.lot)
    as_(client, regulator).recall(GTIN, to_ship.lot)
    assert client.verify(to_recall.identifier(0), to_recall.tree.proof(0)) == Outcome.RECALLED
    as_(client, w).cancel_shipment(to_cancel.lot_id)
    ph.cancel_return(*unit[4])
    as_(client, registrar).deactivate_partner(lab.address)
    assert not client.partner(lab.address).active
    registry.grantRole(registry.REGULATOR_ROLE(), monitor, sender=deployer)
    assert client.paused()

    # Unpaused by the admin, every refused write goes through as it stands (the pause was
    # the only reason): to_ship is recalled now, so it goes back to a manufacturer role.
    as_(client, deployer).unpause()
    as_(client, registrar).register_partner(lab.address, Role.REPACKAGER, company_prefix="0777778")
    paused_writes["ship"] = lambda: as_(client, m).ship(to_ship.lot_id, lab.address)
    paused_writes["registerPartner"] = lambda: as_(client, registrar).register_partner(
        monitor.address, Role.WHOLESALER
    )
    for name, call in paused_writes.items():
        if name == "resolveUnit to Returned":
            continue  # unit 5 was cleared to Active by the row before
        call()
    assert client.verify(*unit[0]) == Outcome.ALREADY_DISPENSED
    assert client.verify(*unit[5]) == Outcome.GENUINE
    assert client.container(to_ship.lot_id).pending_to == lab.address


def test_partner_deactivated_during_a_pause_stays_out(
    client, partners, make_lot, deployer, registrar, guardian_role
):
    """Deactivating a compromised partner is what an incident calls for: it works while
    paused, the sender cancels the shipment pending to it, and once unpaused the partner
    can neither receive nor ship."""
    m, w = partners["manufacturer"], partners["wholesaler"]
    inbound, held = make_lot(4), make_lot(4)
    _move(client, held.lot_id, m, w)
    as_(client, m).ship(inbound.lot_id, w.address)
    as_(client, guardian_role).pause()
    as_(client, registrar).deactivate_partner(w.address)
    as_(client, m).cancel_shipment(inbound.lot_id)
    as_(client, deployer).unpause()
    assert client.container(inbound.lot_id).pending_to is None
    _refused("SerialRegistryNotPartner", lambda: as_(client, w).receive(inbound.lot_id),
             account=w.address)  # fmt: skip
    _refused("SerialRegistryNotPartner", lambda: as_(client, w).ship(held.lot_id, m.address),
             account=w.address)  # fmt: skip


# ------------------------------------------------------------------ production deploy


def test_roles_file_names_registrar_and_regulator(tmp_path, accounts, monitor, ethics, approver1):
    """A deployer that is not the public test key: the roles file's first REGISTRAR_ROLE and
    REGULATOR_ROLE members are the constructor's, further members are granted after."""
    roles = tmp_path / "roles.toml"
    roles.write_text(
        "[SerialRegistry]\n"
        f'REGISTRAR_ROLE = ["{monitor.address}", "{approver1.address}"]\n'
        f'REGULATOR_ROLE = ["{ethics.address}"]\n'
    )
    named = roles_file_accounts(load_roles(roles))
    assert {k: v.address for k, v in named.items()} == {
        "registrar": monitor.address,
        "regulator": ethics.address,
    }
    operator = accounts.generate_test_account()
    accounts[0].transfer(operator, 10**19)
    registry = deploy_fresh(operator, "SerialRegistry", accounts=named).contracts["SerialRegistry"]
    assert registry.hasRole(registry.REGISTRAR_ROLE(), monitor)
    assert registry.hasRole(registry.REGULATOR_ROLE(), ethics)
    assert registry.defaultAdmin() == operator.address


def test_deploy_without_named_accounts_is_refused_in_one_line(accounts):
    operator = accounts.generate_test_account()
    with pytest.raises(ConfigurationError) as err:
        operational_accounts(DeployContext(deployer=operator, accounts={}))
    message = str(err.value)
    assert "\n" not in message
    assert "registrar and regulator" in message and "REGULATOR_ROLE" in message
