"""`medchain record ...` end to end on the in-process chain: put with recipients from
the DID document and explicit keys, get with the key store or a key file, share,
verify, list, and an interrupted put finished by `resume`; refusals are one line."""

from __future__ import annotations

import json
import socket

import pytest
from click.testing import CliRunner

from medchain.cli import cli
from medchain.identity import DIDRegistryClient, format_did
from medchain.keystore import X25519_ENC_ATTRIBUTE, KeyStore, public_bytes

NET = ["--network", "ethereum:local:test"]


@pytest.fixture
def run(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MEDCHAIN_IPFS_API", raising=False)
    runner = CliRunner(mix_stderr=False)

    def invoke(*args: str):
        return runner.invoke(cli, ["record", *args, *NET, "--registry", registry.address])

    return invoke


def test_put_get_share_verify_list(run, did_registry, chain, accounts, tmp_path, keys):
    patient, provider = accounts[1], accounts[2]
    keystore = KeyStore(tmp_path / "keys")
    did = format_did(patient.address, chain.chain_id)
    private, _ = keystore.generate(did)
    DIDRegistryClient(did_registry).set_attribute(
        patient, X25519_ENC_ATTRIBUTE, public_bytes(private), 86_400, sender=patient
    )
    lab = tmp_path / "lab.json"
    lab.write_text('{"resourceType":"Observation","valueQuantity":{"value":5.4}}')
    out = run("put", str(lab), "--account", "TEST::1", "--to", did, "--json")
    assert out.exit_code == 0, out.output
    put = json.loads(out.stdout)
    rid = put["record_id"]
    assert put["cid"].startswith("bafkrei") and put["version"] == 1

    back = tmp_path / "back.json"
    got = run("get", rid, "--account", "TEST::1", "--keys-dir", str(tmp_path / "keys"),
              "--out", str(back), "--json")  # fmt: skip
    assert got.exit_code == 0, got.output
    assert back.read_bytes() == lab.read_bytes()

    provider_pub = public_bytes(keys["provider"]).hex()
    shared = run("share", rid, "--account", "TEST::1", "--keys-dir", str(tmp_path / "keys"),
                 "--to", f"{provider.address}={provider_pub}#prov", "--json")  # fmt: skip
    assert shared.exit_code == 0, shared.output
    key_file = tmp_path / "provider.key"
    key_file.write_text(keys["provider"].private_bytes_raw().hex())
    back2 = tmp_path / "back2.json"
    got2 = run("get", rid, "--as", provider.address, "--key-file", str(key_file),
               "--out", str(back2))  # fmt: skip
    assert got2.exit_code == 0, got2.output
    assert back2.read_bytes() == lab.read_bytes()

    verified = json.loads(run("verify", rid, "--json").stdout)
    assert verified["ok"] and len(verified["checks"]) == 5
    listed = json.loads(run("list", "--patient", patient.address, "--json").stdout)
    assert rid in [r["record_id"] for r in listed["records"]] and listed["pending"] == []

    refused = run("get", rid, "--as", provider.address, "--key-file", str(key_file),
                  "--out", str(tmp_path / "x"), "--ipfs", "http://127.0.0.1:9")  # fmt: skip
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert refused.stderr.startswith("error: IPFS node at http://127.0.0.1:9 is unreachable")
    assert not (tmp_path / "x").exists()


def test_interrupted_put_is_resumed(run, accounts, tmp_path, keys):
    patient = accounts[1]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}"
    lab = tmp_path / "lab.json"
    lab.write_text('{"resourceType":"Observation"}')
    me = f"{patient.address}={public_bytes(keys['patient']).hex()}"
    failed = run("put", str(lab), "--account", "TEST::1", "--to", me, "--ipfs", down)
    assert failed.exit_code == 1 and "unreachable" in failed.stderr
    pending = json.loads(run("list", "--patient", patient.address, "--json").stdout)["pending"]
    assert len(pending) == 1 and pending[0]["step"] == "encrypted"
    resumed = run("resume", "--account", "TEST::1", "--json")
    assert resumed.exit_code == 0, resumed.output
    (done,) = json.loads(resumed.stdout)["resumed"]
    assert done["record_id"] == pending[0]["record_id"]
    assert json.loads(run("list", "--patient", patient.address, "--json").stdout)["pending"] == []
