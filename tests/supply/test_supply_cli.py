"""`medchain supply …` end to end on the in-process chain: partner, commission (encrypted
manifest into an embedded store, written 0600), ship, receive, pack a case, cancel a
shipment, verify a scanned Digital Link and element string, dispense through the case,
catch a clone (exit 1), decommission, return in two steps, resolve, flag, read the lot's
custody history, recall — and one-line refusals ("not genuine" exits 1)."""

from __future__ import annotations

import json
import shutil
import stat

import pytest
from click.testing import CliRunner

from medchain.cli import cli
from medchain.demo import ROLES
from medchain.supply import make_gtin, make_sscc

GTIN = make_gtin("0614141", "77777")
REGISTRAR, REGULATOR = ROLES.index("registrar"), ROLES.index("regulator")  # TEST::<n>


@pytest.fixture
def run(deployed, book_dir, tmp_path, monkeypatch, chain, networks):
    home = tmp_path / "home"
    name = f"ethereum-local-{networks.provider.name}-{chain.chain_id}"
    shutil.copytree(book_dir / "session", home / "deployments" / name)
    monkeypatch.setenv("MEDCHAIN_HOME", str(home))
    monkeypatch.delenv("MEDCHAIN_IPFS_API", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, account: int | None = None, ok: bool = True):
        argv = ["supply", *args, "--network", "ethereum:local:test"]
        if account is not None:
            argv += ["--account", f"TEST::{account}"]
        result = runner.invoke(cli, argv, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return invoke


def test_cli_walkthrough(run, tmp_path, roles):
    m, w, p = (roles[r].address for r in ("manufacturer", "wholesaler", "pharmacy"))
    # The deployer administers but is no registrar (issue 14): refused in one line.
    refused = run(
        "partner", m, "--role", "manufacturer", "--prefix", "0614141", account=0, ok=False
    )
    assert "AccessControlUnauthorizedAccount" in refused and "REGISTRAR_ROLE" in refused
    assert "Traceback" not in refused
    run("partner", m, "--role", "manufacturer", "--prefix", "0614141", account=REGISTRAR)
    run("partner", w, "--role", "wholesaler", "--prefix", "0888888", account=REGISTRAR)
    run("partner", p, "--role", "dispenser", account=REGISTRAR)
    serials = tmp_path / "serials.txt"
    serials.write_text("\n".join(f"CLI{i:05d}" for i in range(40)))
    out = json.loads(
        run(
            "commission",
            "--gtin",
            GTIN,
            "--lot",
            "CLILOT",
            "--expiry",
            "291200",
            "--serials",
            str(serials),
            "--json",
            account=5,
        )
    )
    assert out["count"] == 40 and out["manifest_cid"]
    saved_path = tmp_path / "CLILOT.manifest.json"
    # The manifest holds the data key: owner-only, never group/world readable.
    assert stat.S_IMODE(saved_path.stat().st_mode) == 0o600
    saved = json.loads(saved_path.read_text())
    assert saved["manifest"]["serials"][0] == "CLI00000"
    mf = ("--manifest", "CLILOT.manifest.json")
    container = f"{GTIN}:CLILOT"
    run("ship", container, "--to", w, account=5)
    run("receive", container, account=6)
    # The wholesaler packs units 0-7 (node 0 of level 3) into a case under its own prefix.
    case = make_sscc("0", "0888888", "000000001")
    packed = json.loads(
        run("aggregate", case, "--parent", container, *mf, "--level", "3", "--index", "0",
            "--json", account=6)
    )  # fmt: skip
    assert packed["count"] == 8 and packed["units"] == "0..7"
    run("ship", case, "--to", p, account=6)
    assert "cancelled" in run("cancel-shipment", case, account=7)  # refused
    run("ship", case, "--to", p, account=6)
    run("receive", case, account=7)
    link = f"https://id.gs1.org/01/{GTIN}/10/CLILOT/21/CLI00003?17=291200"
    verified = json.loads(run("verify", link, *mf, "--json"))
    assert verified["outcome"] == "genuine"
    element = f"(01){GTIN}(21)CLI00003(10)CLILOT(17)291200"
    assert "genuine: dispensed" in run("dispense", element, *mf, "--container", case, account=7)
    # A clone: recorded as suspect, and a failure exit.
    assert "clone caught" in run("dispense", element, *mf, "--container", case, account=7, ok=False)
    assert "suspect" in run("verify", element, *mf, "--log", account=6, ok=False)
    unknown = f"(01){GTIN}(21)NOPE0001(10)CLILOT(17)291200"
    assert '"unknown_serial"' in run("verify", unknown, *mf, "--json", ok=False)
    destroyed = f"(01){GTIN}(21)CLI00004(10)CLILOT(17)291200"
    assert "decommissioned" in run("decommission", destroyed, *mf, "--container", case, account=7)
    ret = f"(01){GTIN}(21)CLI00005(10)CLILOT(17)291200"
    run("return", ret, *mf, "--to", w, "--container", case, account=7)
    run("accept-return", ret, *mf, account=6)
    assert "resolved to dispensed" in run(
        "resolve", element, *mf, "--status", "dispensed", account=REGULATOR
    )
    stolen = f"(01){GTIN}(21)CLI00006(10)CLILOT(17)291200"
    run("suspect", stolen, *mf, "--status", "stolen", account=6)
    events = json.loads(run("history", container, "--json"))
    kinds = [e["event"] for e in events]
    for kind in ("commissioned", "packed", "shipped", "cancelled", "received", "dispensed",
                 "suspect", "decommissioned", "return sent", "returned", "stolen"):  # fmt: skip
        assert kind in kinds, kinds
    assert "packed" in run("history", case)
    run("recall", "--gtin", GTIN, "--lot", "CLILOT", account=5)
    assert '"recalled"' in run(
        "verify", f"(01){GTIN}(21)CLI00009(10)CLILOT(17)291200", *mf, "--json", ok=False
    )
    # Refusals: one line, exit 1.
    bad = run("verify", f"(01){GTIN}(21)X(10)CLILOT(17)291332", "--proof", "", ok=False)
    assert "AI (17) expiry" in bad and "month 13" in bad
    refused = run("recall", "--gtin", GTIN, "--lot", "CLILOT", account=6, ok=False)
    assert "SerialRegistryWrongRole" in refused and "Traceback" not in refused
    squat = run(
        "aggregate", make_sscc("0", "0614141", "000000002"), "--parent", container, *mf,
        "--level", "3", "--index", "1", account=6, ok=False,
    )  # fmt: skip
    assert "SerialRegistrySsccNotOwned" in squat and "Traceback" not in squat


def test_paused_write_is_refused_in_one_line(run, deployed, roles):
    """While the guardian's pause holds, a CLI write exits 1 with EnforcedPause in one line.
    (The CLI reconnects to the chain, so ape's snapshot does not undo the pause: the test
    unpauses and revokes itself.)"""
    registry = deployed.contracts["SerialRegistry"]
    admin, guardian = roles["deployer"], roles["ethics"]
    registry.grantRole(registry.GUARDIAN_ROLE(), guardian, sender=admin)
    registry.pause(sender=guardian)
    try:
        out = run("partner", roles["monitor"].address, "--role", "wholesaler",
                  account=REGISTRAR, ok=False)  # fmt: skip
    finally:
        registry.unpause(sender=admin)
        registry.revokeRole(registry.GUARDIAN_ROLE(), guardian, sender=admin)
    assert "EnforcedPause" in out and "Traceback" not in out, out
    assert len(out.strip().splitlines()) == 1, out
