"""`medchain did ...` end to end on the in-process chain: create with a stored key,
sign-only requests relayed by another account, resolve, one-line refusals."""

from __future__ import annotations

import json
import stat

from click.testing import CliRunner

from medchain.cli import cli
from medchain.identity import DIDResolver, format_did


def test_create_stores_key_and_publishes_it(run, registry, chain, accounts, tmp_path):
    out = run("did", "create", "--account", "TEST::5", "--keys-dir", str(tmp_path), "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    me = accounts[5].address
    assert result["did"] == format_did(me, chain.chain_id)
    key_file = tmp_path / result["key_file"].rsplit("/", 1)[-1]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = (
        DIDResolver(chain.provider.web3, registry.address, chain.chain_id)
        .resolve(result["did"])
        .key_agreement
    )
    assert [pk.hex() for _, pk in keys] == [result["public_key"][2:]]

    shown = run("did", "show", result["did"], "--keys-dir", str(tmp_path), "--json")
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.stdout)
    assert summary["owner"] == me and summary["local_keys"][0]["public_key"] == result["public_key"]


def test_sign_only_then_relay_from_another_account(run, registry, chain, accounts, tmp_path):
    request = tmp_path / "svc.json"
    signed = run(
        "did",
        "add-service",
        "Records",
        "https://records.example/6",
        "--account",
        "TEST::6",
        "--sign-only",
        "--out",
        str(request),
    )
    assert signed.exit_code == 0, signed.output
    assert json.loads(request.read_text())["typedData"]["primaryType"] == "SetAttribute"
    relayed = run("did", "relay", str(request), "--account", "TEST::0", "--json")
    assert relayed.exit_code == 0, relayed.output
    did = format_did(accounts[6].address, chain.chain_id)
    resolved = run("did", "resolve", did)
    doc = json.loads(resolved.stdout)["didDocument"]
    assert doc["service"] == [
        {
            "id": f"{did}#service-1",
            "type": "Records",
            "serviceEndpoint": "https://records.example/6",
        }
    ]
    again = run("did", "relay", str(request), "--account", "TEST::0")
    assert again.exit_code == 1
    assert "DIDInvalidNonce" in again.stderr and "Traceback" not in again.output


def test_delegate_and_owner_commands(run, registry, accounts):
    me, lab = accounts[7].address, accounts[4].address
    out = run("did", "add-delegate", lab, "--type", "sigAuth", "--account", "TEST::7")
    assert out.exit_code == 0, out.output
    assert registry.validDelegate(me, b"sigAuth".ljust(32, b"\0"), lab)
    out = run("did", "revoke", "--delegate", lab, "--type", "sigAuth", "--account", "TEST::7")
    assert out.exit_code == 0, out.output
    assert not registry.validDelegate(me, b"sigAuth".ljust(32, b"\0"), lab)
    refused = run("did", "change-owner", "0x" + "00" * 20, "--account", "TEST::7")
    assert refused.exit_code == 1 and "add --deactivate" in refused.stderr
    out = run("did", "change-owner", lab, "--account", "TEST::7")
    assert out.exit_code == 0 and registry.identityOwner(me) == lab
    stolen = run("did", "add-delegate", lab, "--account", "TEST::7")
    assert stolen.exit_code == 1
    assert "DIDNotOwner" in stolen.stderr and len(stolen.stderr.strip().splitlines()) == 1


def test_malformed_did_is_one_line(run):
    out = run("did", "resolve", "did:ethr:moonbase:0x" + "ab" * 20)
    assert out.exit_code == 1
    assert out.stderr.startswith("error: unknown did:ethr network 'moonbase'")


def test_encrypted_add_key_and_relayed_owner_change(run, registry, accounts, tmp_path):
    me, new_owner = accounts[8].address, accounts[9].address
    out = run(
        "did",
        "add-key",
        "--account",
        "TEST::8",
        "--keys-dir",
        str(tmp_path),
        "--passphrase",
        "pw",
        "--json",
    )
    assert out.exit_code == 0, out.output
    added = json.loads(out.stdout)
    assert added["attribute"] == "did/pub/X25519/enc/base64"
    assert "encryption" in json.loads((tmp_path / added["key_file"].rsplit("/", 1)[-1]).read_text())
    request = tmp_path / "owner.json"
    signed = run(
        "did",
        "change-owner",
        new_owner,
        "--account",
        "TEST::8",
        "--sign-only",
        "--out",
        str(request),
    )
    assert signed.exit_code == 0, signed.output
    assert registry.identityOwner(me) == me  # nothing sent yet
    relayed = run("did", "relay", str(request), "--account", "TEST::0")
    assert relayed.exit_code == 0, relayed.output
    assert registry.identityOwner(me) == new_owner


def test_resolving_against_an_empty_address_is_refused():
    out = CliRunner(mix_stderr=False).invoke(
        cli,
        [
            "did",
            "resolve",
            "did:ethr:0x539:0x" + "ab" * 20,
            "--network",
            "ethereum:local:test",
            "--registry",
            "0x" + "12" * 20,
        ],
    )
    assert out.exit_code == 1
    assert out.stderr.startswith("error: no contract at 0x1212")


def test_migrate_root_vote_then_migrate(project, accounts, chain):
    """`did migrate-root` prints the root to vote on and the new version's import deadline;
    `did migrate` refuses (one line) until it is voted, then imports and reports every
    identity verified equal, a rotated owner included, none left exposed."""
    zero = "0x" + "00" * 20
    start = chain.blocks.head.number  # the old registry is younger: its logs start after
    old = accounts[0].deploy(project.DIDRegistry, zero, zero, 0)
    for i in (3, 4):
        old.setAttribute(accounts[i], b"did/svc/X".ljust(32, b"\0"), b"https://x", 3600,
                         sender=accounts[i])  # fmt: skip
    old.addDelegate(accounts[4], b"veriKey".ljust(32, b"\0"), accounts[5], 3600, sender=accounts[4])
    old.changeOwner(accounts[3], accounts[6], sender=accounts[3])  # a rotated key
    timelock = accounts[9]
    deadline = chain.blocks.head.timestamp + 7 * 86_400
    new = accounts[0].deploy(project.DIDRegistry, old.address, timelock, deadline)
    runner = CliRunner(mix_stderr=False)

    def run(*args):
        where = ["--from-block", str(start), "--network", "ethereum:local:test"]
        return runner.invoke(cli, ["did", *args, *where])

    # a successor without a deadline: the root still prints, with a warning on stderr
    bare = accounts[0].deploy(project.DIDRegistry, old.address, timelock, 0)
    unguarded = run("migrate-root", "--from", old.address, "--to", bare.address, "--json")
    assert unguarded.exit_code == 0, unguarded.stderr
    assert json.loads(unguarded.stdout)["import_deadline"] == 0
    assert "has no import deadline" in unguarded.stderr

    voted = run("migrate-root", "--from", old.address, "--to", new.address, "--json")
    assert voted.exit_code == 0, voted.stderr
    assert "import deadline" not in voted.stderr
    plan = json.loads(voted.stdout)
    assert (plan["identities"], plan["changes"], plan["import_deadline"]) == (2, 4, deadline)
    block = str(plan["at_block"])
    early = run("migrate", "--from", old.address, "--to", new.address, "--at-block", block,
                "--account", "TEST::8")  # fmt: skip
    assert early.exit_code == 1
    assert early.stderr.startswith(f"error: root {plan['root']} is not accepted")
    assert len(early.stderr.strip().splitlines()) == 1
    new.addHistoryRoot(plan["root"], sender=timelock)
    done = run("migrate", "--from", old.address, "--to", new.address, "--at-block", block,
               "--account", "TEST::8", "--json")  # fmt: skip
    assert done.exit_code == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["verified_equal"], out["delegates_checked"], out["native"]) == (2, 1, [])
    assert (out["import_deadline"], out["exposed_until_import"]) == (deadline, [])
    assert new.identityOwner(accounts[3]) == accounts[6].address
    assert new.identityOwner(accounts[4]) == accounts[4].address
    assert new.importedCount(accounts[4]) == 2
