"""The `medchain consent` / `medchain breakglass` commands end to end against a running
anvil node reached by URI (the shape of a private chain): deploy, grant, check, sign and
relay, audit as CSV, a break-glass episode, and a one-line refusal."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.anvil import anvil

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# test accounts: 0 deployer, 1 patient, 2 provider (clinician), 13/14 approvers, 16 officer
PATIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
PROVIDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def _test_address(index: int) -> str:
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    mnemonic = "test test test test test test test test test test test junk"
    return Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}").address


APPROVER1, APPROVER2, OFFICER = _test_address(13), _test_address(14), _test_address(16)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    home = tmp_path_factory.mktemp("consent-cli")
    env = {
        **os.environ,
        "MEDCHAIN_HOME": str(home / "home"),
        "MEDCHAIN_DEPLOYMENTS": str(home / "deployments"),
    }
    with anvil("--accounts", "20") as uri:
        deployed = subprocess.run(
            [str(BIN / "ape"), "run", "deploy", "--network", uri, "--account", "TEST::0"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert deployed.returncode == 0, deployed.stdout[-2000:] + deployed.stderr[-2000:]
        yield uri, env, home


def _payload(out: subprocess.CompletedProcess) -> str:
    """stdout without ape's connection log lines (ape logs INFO to stdout)."""
    return "\n".join(line for line in out.stdout.splitlines() if not line.startswith("INFO:"))


def _json(out: subprocess.CompletedProcess):
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(_payload(out))


def _medchain(node, *args: str, account: int | None = None) -> subprocess.CompletedProcess:
    uri, env, _ = node
    extra = ["--network", uri] + (["--account", f"TEST::{account}"] if account is not None else [])
    return subprocess.run(
        [str(BIN / "medchain"), *args, *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.anvil
def test_consent_cli_end_to_end(node):
    _, _, home = node
    out = _medchain(
        node, "consent", "grant", "--grantee", PROVIDER, "--scope", "category:laboratory",
        "--actions", "read", "--purpose", "TREAT", "--until", "+30d", "--json", account=1,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert _json(out)["gas"] <= 56_000
    check = ("consent", "check", "--patient", PATIENT, "--grantee", PROVIDER, "--json")
    out = _medchain(node, *check, "--scope", "category:laboratory")
    answer = _json(out)
    assert answer["allowed"] and answer["at_last_block"] and answer["at_wall_clock"], answer
    assert {"last_block_time", "wall_clock"} <= set(answer)
    out = _medchain(node, "consent", "list", "--patient", PATIENT, "--json")
    assert [g["status"] for g in _json(out)] == ["active"]
    out = _medchain(node, "consent", "list", "--grantee", PROVIDER, "--json")  # provider's view
    assert [(g["patient"], g["status"]) for g in _json(out)] == [(PATIENT, "active")]
    out = _medchain(node, "consent", "list", "--grantee", PROVIDER, "--patient", PATIENT)
    assert out.returncode == 1 and "drop --patient" in out.stderr, out.stderr

    # another chain's DID is refused (it would silently grant to the same address)
    other = f"did:ethr:sepolia:{PROVIDER}"
    out = _medchain(node, "consent", "grant", "--grantee", other, "--scope", "Observation",
                    account=1)  # fmt: skip
    assert out.returncode == 1
    assert "chain 11155111" in out.stderr and "connected chain is 31337" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = _medchain(node, "consent", "grant", "--grantee", f"did:ethr:0x7a69:{PROVIDER}",
                    "--scope", "Observation", account=1)  # fmt: skip
    assert out.returncode == 0, out.stderr

    signed = home / "signed.json"
    out = _medchain(
        node, "consent", "sign", "--grantee", PROVIDER, "--scope", "Immunization",
        "--out", str(signed), account=1,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert _medchain(node, "consent", "relay", str(signed), account=5).returncode == 0
    out = _medchain(node, "consent", "relay", str(signed), account=5)
    assert (
        out.returncode == 1
        and out.stderr.startswith("error: ")
        and "ConsentInvalidNonce" in out.stderr
    )
    assert len(out.stderr.strip().splitlines()) == 1

    roles = [("clinician", PROVIDER), ("approver", APPROVER1), ("approver", APPROVER2),
             ("privacy-officer", OFFICER)]  # fmt: skip
    for role, member in roles:
        out = _medchain(node, "breakglass", "grant-role", "--role", role, "--to", member, account=0)
        assert out.returncode == 0, out.stderr
    out = _medchain(
        node, "breakglass", "grant-role", "--role", "approver", "--to", PATIENT, account=1
    )
    assert out.returncode == 1 and "AccessControlUnauthorizedAccount" in out.stderr
    assert "neededRole=DEFAULT_ADMIN_ROLE" in out.stderr
    out = _medchain(node, "breakglass", "request", "--patient", PATIENT, "--reason", "ED",
                    "--duration", "1h", account=5)  # fmt: skip
    assert out.returncode == 1 and "neededRole=CLINICIAN_ROLE" in out.stderr, out.stderr
    assert "0x" + "00" * 4 not in out.stderr.split("neededRole=")[1]
    notes = home / "notes"
    out = _medchain(node, "breakglass", "request", "--patient", PATIENT, "--reason", "ED",
                    "--duration", "1h", "--notes-dir", str(notes), "--json", account=2)  # fmt: skip
    assert out.returncode == 0, out.stderr
    requested = _json(out)
    episode = str(requested["episode"])
    note = json.loads(Path(requested["reason_note"]).read_text())
    assert note["text"] == "ED" and len(bytes.fromhex(note["salt"][2:])) == 32
    out = _medchain(node, "breakglass", "status", episode, "--json")
    assert _json(out)["reason_hash"] == note["commitment"]
    out = _medchain(node, "breakglass", "status", "99")
    assert out.returncode == 1 and "no break-glass episode 99" in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert _medchain(node, "breakglass", "approve", episode, account=13).returncode == 0
    out = _medchain(node, "breakglass", "approve", episode, "--json", account=14)
    assert _json(out)["status"] == "active", out.stderr
    out = _medchain(node, "breakglass", "review", episode, "--accept", "--notes", "ok", account=16)
    assert out.returncode == 1 and "ConsentBreakGlassStillActive" in out.stderr

    out = _medchain(node, "consent", "audit", "--patient", PATIENT, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(_payload(out))))
    assert [r["event"] for r in rows][:2] == ["ConsentGranted", "ConsentGranted"]
    assert "BreakGlassActivated" in {r["event"] for r in rows}

    out = _medchain(node, "consent", "list", "--patient", PATIENT, "--fhir")
    resource = _json(out)
    assert resource["resourceType"] == "Consent" and len(resource["provision"]["provision"]) == 3
