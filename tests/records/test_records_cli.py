"""`medchain record ...` end to end on the in-process chain: put with recipients from
the DID document and explicit keys, get with the key store or a key file, share,
verify, list, and an interrupted put finished by `resume`; refusals are one line.
Reads and shares by the real CLI go through consent: a provider reads only with read
consent and the read is recorded on chain; a share needs the recipient's consent."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from medchain.cli import cli
from medchain.consent import ConsentClient
from medchain.identity import DIDRegistryClient, format_did
from medchain.keystore import X25519_ENC_ATTRIBUTE, KeyStore, public_bytes
from support.anvil import free_port
from support.deploy import deploy_beside

NET = ["--network", "ethereum:local:test"]


@pytest.fixture(scope="module")
def consent(deployer, did_registry, registry):
    """A consent registry wired as the record registry's write authorizer (its shipped spec)."""
    existing = {"DIDRegistry": did_registry, "RecordRegistry": registry}
    return ConsentClient(deploy_beside(deployer, "ConsentRegistry", existing))


def grant_read(consent, patient, grantee) -> None:
    from ape import chain

    end = chain.pending_timestamp + 86_400
    consent.grant(patient, grantee, "Observation", "read", "TREAT", 0, end, sender=patient)


@pytest.fixture
def run(registry, consent, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MEDCHAIN_IPFS_API", raising=False)
    runner = CliRunner(mix_stderr=False)

    def invoke(*args: str):
        return runner.invoke(cli, ["record", *args, *NET, "--registry", registry.address])

    return invoke


def test_put_get_share_verify_list(run, consent, did_registry, chain, accounts, tmp_path, keys):
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
    to_provider = f"{provider.address}={provider_pub}#prov"
    # No consent yet: the share is refused before any key is sealed.
    unconsented = run("share", rid, "--account", "TEST::1", "--keys-dir", str(tmp_path / "keys"),
                      "--to", to_provider)  # fmt: skip
    assert unconsented.exit_code == 1 and "Traceback" not in unconsented.output
    assert "has no read consent" in unconsented.stderr and "no key was shared" in unconsented.stderr
    grant_read(consent, patient, provider)
    shared = run("share", rid, "--account", "TEST::1", "--keys-dir", str(tmp_path / "keys"),
                 "--to", to_provider, "--json")  # fmt: skip
    assert shared.exit_code == 0, shared.output
    key_file = tmp_path / "provider.key"
    key_file.write_text(keys["provider"].private_bytes_raw().hex())
    back2 = tmp_path / "back2.json"
    start = chain.blocks.height + 1
    got2 = run("get", rid, "--account", "TEST::2", "--key-file", str(key_file),
               "--out", str(back2), "--json")  # fmt: skip
    assert got2.exit_code == 0, got2.output
    assert json.loads(got2.stdout)["access_recorded"] is True
    assert back2.read_bytes() == lab.read_bytes()
    # The read is in the patient's audit trail, naming the record.
    reads = [e for e in consent.audit(patient, from_block=start) if e.event == "AccessRecorded"]
    assert [(e.fields["grantee"], e.fields["recordRef"]) for e in reads] == [
        (provider.address, rid)
    ]

    verified = json.loads(run("verify", rid, "--json").stdout)
    assert verified["ok"] and len(verified["checks"]) == 5
    listed = json.loads(run("list", "--patient", patient.address, "--json").stdout)
    assert rid in [r["record_id"] for r in listed["records"]] and listed["pending"] == []

    refused = run("get", rid, "--account", "TEST::2", "--key-file", str(key_file),
                  "--out", str(tmp_path / "x"), "--ipfs", "http://127.0.0.1:9")  # fmt: skip
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert refused.stderr.startswith("error: IPFS node at http://127.0.0.1:9 is unreachable")
    assert not (tmp_path / "x").exists()


def _put_while_ipfs_is_down(run, patient, tmp_path, keys):
    """`record put` of tmp_path/lab.json by the patient (TEST::1) to an IPFS address nothing
    listens on: it fails after encrypting, leaving a journal entry to resume."""
    down = f"http://127.0.0.1:{free_port()}"
    lab = tmp_path / "lab.json"
    lab.write_text('{"resourceType":"Observation"}')
    me = f"{patient.address}={public_bytes(keys['patient']).hex()}"
    return run("put", str(lab), "--account", "TEST::1", "--to", me, "--ipfs", down)


def test_interrupted_put_is_resumed(run, accounts, tmp_path, keys):
    patient = accounts[1]
    failed = _put_while_ipfs_is_down(run, patient, tmp_path, keys)
    assert failed.exit_code == 1 and "unreachable" in failed.stderr
    pending = json.loads(run("list", "--patient", patient.address, "--json").stdout)["pending"]
    assert len(pending) == 1 and pending[0]["step"] == "encrypted"
    resumed = run("resume", "--account", "TEST::1", "--json")
    assert resumed.exit_code == 0, resumed.output
    (done,) = json.loads(resumed.stdout)["resumed"]
    assert done["record_id"] == pending[0]["record_id"]
    assert json.loads(run("list", "--patient", patient.address, "--json").stdout)["pending"] == []
    assert "medchain record resume" in failed.stderr  # the hint: the job is not lost


def _put(run, tmp_path, patient, keys, *extra: str) -> str:
    lab = tmp_path / "lab.json"
    lab.write_text('{"resourceType":"Observation","valueQuantity":{"value":6.1}}')
    me = f"{patient.address}={public_bytes(keys['patient']).hex()}"
    put = run("put", str(lab), "--account", "TEST::1", "--to", me, *extra, "--json")
    assert put.exit_code == 0, put.output
    return str(json.loads(put.stdout)["record_id"])


def test_revoked_reader_is_refused(run, consent, accounts, tmp_path, keys):
    """New-user issue: after a revoke the provider's `record get` must stop, with one
    line, nothing written and nothing decrypted."""
    patient, provider = accounts[1], accounts[2]
    rid = _put(run, tmp_path, patient, keys)
    key_file = tmp_path / "patient.key"
    key_file.write_text(keys["patient"].private_bytes_raw().hex())
    grant_read(consent, patient, provider)
    to_provider = f"{provider.address}={public_bytes(keys['provider']).hex()}"
    shared = run("share", rid, "--account", "TEST::1", "--key-file", str(key_file),
                 "--to", to_provider)  # fmt: skip
    assert shared.exit_code == 0, shared.output
    provider_key = tmp_path / "provider.key"
    provider_key.write_text(keys["provider"].private_bytes_raw().hex())
    ok = run("get", rid, "--account", "TEST::2", "--key-file", str(provider_key),
             "--out", str(tmp_path / "ok.json"))  # fmt: skip
    assert ok.exit_code == 0, ok.output
    consent.revoke(patient, provider, "Observation", sender=patient)
    out = tmp_path / "after-revoke.json"
    refused = run("get", rid, "--account", "TEST::2", "--key-file", str(provider_key),
                  "--out", str(out))  # fmt: skip
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert refused.stderr.startswith("error: ") and "has no read consent" in refused.stderr
    assert not out.exists()
    # Reading as someone else's envelope without an account cannot skip the gate either.
    anonymous = run("get", rid, "--as", provider.address, "--key-file", str(provider_key),
                    "--out", str(out))  # fmt: skip
    assert anonymous.exit_code == 1 and "--account" in anonymous.stderr and not out.exists()
    # The patient's record trail shows the anchor, the share and the one recorded read.
    trail = run("audit", "--patient", patient.address, "--json")
    assert trail.exit_code == 0, trail.output
    mine = [e for e in json.loads(trail.stdout)["events"] if e["record_id"] == rid]
    assert [(e["event"], e["by"]) for e in mine] == [
        ("anchored", patient.address),
        ("shared", patient.address),  # the patient's own envelope, in the anchoring call
        ("shared", patient.address),  # sealed to the provider
        ("read", provider.address),
    ]
    assert mine[2]["to"] == provider.address


def test_get_refuses_to_overwrite_without_force(run, accounts, tmp_path, keys):
    patient = accounts[1]
    rid = _put(run, tmp_path, patient, keys)
    key_file = tmp_path / "patient.key"
    key_file.write_text(keys["patient"].private_bytes_raw().hex())
    out = tmp_path / "notes.txt"
    out.write_text("my own notes")
    refused = run("get", rid, "--account", "TEST::1", "--key-file", str(key_file),
                  "--out", str(out))  # fmt: skip
    assert refused.exit_code == 1 and "--force" in refused.stderr
    assert out.read_text() == "my own notes"
    forced = run("get", rid, "--account", "TEST::1", "--key-file", str(key_file),
                 "--out", str(out), "--force")  # fmt: skip
    assert forced.exit_code == 0, forced.output
    assert out.read_bytes() == (tmp_path / "lab.json").read_bytes()


def test_entry_that_cannot_finish_is_skipped_and_discarded(run, accounts, tmp_path, keys):
    """New-user issue: a journal entry that can never succeed (here: prepared by the
    patient's account, so only that account can anchor its author-derived id) must not
    block `record resume`, and `--discard` drops it."""
    patient = accounts[1]
    failed = _put_while_ipfs_is_down(run, patient, tmp_path, keys)
    assert failed.exit_code == 1
    (entry,) = json.loads(run("list", "--patient", patient.address, "--json").stdout)["pending"]
    stuck = run("resume", "--account", "TEST::2", "--json")
    assert stuck.exit_code == 1 and "Traceback" not in stuck.output
    assert "prepared by" in stuck.stderr and "--discard" in stuck.stderr
    assert json.loads(stuck.stdout)["failed"][0]["record_id"] == entry["record_id"]
    dropped = run("resume", "--discard", entry["record_id"], "--json")
    assert dropped.exit_code == 0, dropped.output
    assert json.loads(dropped.stdout)["discarded"] == entry["record_id"]
    assert json.loads(run("list", "--patient", patient.address, "--json").stdout)["pending"] == []
    again = run("resume", "--discard", entry["record_id"])
    assert again.exit_code == 1 and "no journal entry" in again.stderr


def test_interrupted_put_prints_the_resume_hint(run, accounts, tmp_path, keys, monkeypatch):
    """Ctrl-C during the upload (a KeyboardInterrupt raised where the signal would land):
    the job stays in the journal and the CLI says how to finish it."""
    from medchain.storage.embedded import EmbeddedStore

    patient = accounts[1]

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(EmbeddedStore, "add", interrupted)
    lab = tmp_path / "lab.json"
    lab.write_text('{"resourceType":"Observation"}')
    me = f"{patient.address}={public_bytes(keys['patient']).hex()}"
    stopped = run("put", str(lab), "--account", "TEST::1", "--to", me)
    assert stopped.exit_code == 1 and "Traceback" not in stopped.output
    assert stopped.stderr.startswith("error: interrupted: record 0x")
    assert "medchain record resume 0x" in stopped.stderr
    monkeypatch.undo()
    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MEDCHAIN_IPFS_API", raising=False)
    resumed = run("resume", "--account", "TEST::1", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert len(json.loads(resumed.stdout)["resumed"]) == 1
