"""`medchain supply …` end to end on the in-process chain: partner, commission (encrypted
manifest into an embedded store), ship, receive, verify a scanned Digital Link and
element string, dispense, catch a clone, flag, return, recall — and one-line refusals."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from medchain.cli import cli
from medchain.supply import make_gtin

GTIN = make_gtin("0614141", "77777")


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
    run("partner", m, "--role", "manufacturer", "--prefix", "0614141", account=0)
    run("partner", w, "--role", "wholesaler", account=0)
    run("partner", p, "--role", "dispenser", account=0)
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
    saved = json.loads((tmp_path / "CLILOT.manifest.json").read_text())
    assert saved["manifest"]["serials"][0] == "CLI00000"
    container = f"{GTIN}:CLILOT"
    run("ship", container, "--to", w, account=5)
    run("receive", container, account=6)
    run("ship", container, "--to", p, account=6)
    run("receive", container, account=7)
    link = f"https://id.gs1.org/01/{GTIN}/10/CLILOT/21/CLI00003?17=291200"
    verified = json.loads(run("verify", link, "--manifest", "CLILOT.manifest.json", "--json"))
    assert verified["outcome"] == "genuine"
    element = f"(01){GTIN}(21)CLI00003(10)CLILOT(17)291200"
    assert "genuine: dispensed" in run(
        "dispense", element, "--manifest", "CLILOT.manifest.json", account=7
    )
    assert "clone caught" in run(
        "dispense", element, "--manifest", "CLILOT.manifest.json", account=7
    )
    assert "suspect" in run(
        "verify", element, "--manifest", "CLILOT.manifest.json", "--log", account=6
    )
    stolen = f"(01){GTIN}(21)CLI00004(10)CLILOT(17)291200"
    run("suspect", stolen, "--manifest", "CLILOT.manifest.json", "--status", "stolen", account=6)
    ret = f"(01){GTIN}(21)CLI00005(10)CLILOT(17)291200"
    run("return", ret, "--manifest", "CLILOT.manifest.json", account=6)
    run("recall", "--gtin", GTIN, "--lot", "CLILOT", account=5)
    assert '"recalled"' in run(
        "verify",
        f"(01){GTIN}(21)CLI00009(10)CLILOT(17)291200",
        "--manifest",
        "CLILOT.manifest.json",
        "--json",
    )
    # Refusals: one line, exit 1.
    bad = run("verify", f"(01){GTIN}(21)X(10)CLILOT(17)291332", "--proof", "", ok=False)
    assert "AI (17) expiry" in bad and "month 13" in bad
    refused = run("recall", "--gtin", GTIN, "--lot", "CLILOT", account=6, ok=False)
    assert "SerialRegistryWrongRole" in refused
