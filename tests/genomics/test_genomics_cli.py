"""`medchain genomics ...` end to end on the in-process chain: the owner lists a file (the
lab authorises it) and offers it, anyone shows the dataset's metadata, the researcher
buys, `serve-keys --once` delivers, the researcher downloads, decrypts and accepts, lists
licences; owner withdraws; every command answers --json; refusals are one line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from medchain.cli import cli
from support.deploy import deploy_fresh
from support.genomics import published_key

GENOME = b"@read1\nACGTACGTTTGA\n+\nIIIIIIIIIIII\n" * 5_000


@pytest.fixture
def run(market, monkeypatch, tmp_path):
    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path / "home"))
    from ape import networks

    runner = CliRunner(mix_stderr=False)
    net = ["--network", networks.provider.network.choice]  # the chain the test runs on

    def invoke(*args: str):
        return runner.invoke(cli, ["genomics", *args, *net, "--market", market.address])

    return invoke


def test_owner_and_researcher_flow(run, deployer, researcher, lab, tmp_path):
    did = deploy_fresh(deployer, "DIDRegistry").contracts["DIDRegistry"]
    key = published_key(did, researcher, 10**7)
    key_file = tmp_path / "researcher.key"
    key_file.write_bytes(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
    genome = tmp_path / "sample.fastq"
    genome.write_bytes(GENOME)

    unauthorised = run("list-dataset", str(genome), "--assay", "WGS", "--reference", "GRCh38",
                       "--lab-account", "TEST::2", "--account", "TEST::1")  # fmt: skip
    assert unauthorised.exit_code == 1 and "GenomicDatasetNotProducer" in unauthorised.stderr
    assert "Traceback" not in unauthorised.stderr and len(unauthorised.stderr.splitlines()) == 1
    listed = run("list-dataset", str(genome), "--assay", "WGS", "--reference", "GRCh38",
                 "--lab-account", "TEST::4", "--account", "TEST::1", "--json")  # fmt: skip
    assert listed.exit_code == 0, listed.output + listed.stderr
    dataset_id = json.loads(listed.stdout)["dataset_id"]
    shown = run("dataset", str(dataset_id), "--json")
    assert shown.exit_code == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["metadata"]["assay"] == "WGS" and info["metadata"]["file_format"] == "FASTQ"
    assert info["metadata"]["reference_genome"] == "GRCh38"
    assert info["producer"] == lab.address  # TEST::4 plays the lab
    text = run("dataset", str(dataset_id))
    assert text.exit_code == 0 and "GRCh38" in text.stdout
    offered = run("offer", str(dataset_id), "--price", "0.01 ether", "--purposes", "GRU",
                  "--account", "TEST::1", "--json")  # fmt: skip
    assert offered.exit_code == 0, offered.stderr
    assert json.loads(offered.stdout)["purposes"] == ["GRU", "HMB", "DS", "POA"]
    offer_id = json.loads(offered.stdout)["offer_id"]

    shown = run("offers", "--json")
    assert [o["offer_id"] for o in json.loads(shown.stdout)] == [offer_id]

    early = run("download", str(dataset_id), "--out", str(tmp_path / "x"), "--account", "TEST::3",
                "--key-file", str(key_file))  # fmt: skip
    assert early.exit_code == 1 and early.stderr.startswith("error:")
    assert "holds no licence on dataset" in early.stderr  # not "no key posted yet"

    bought = run("buy", str(offer_id), "--purposes", "HMB", "--account", "TEST::3", "--json")
    assert bought.exit_code == 0, bought.stderr

    served = run("serve-keys", "--once", "--did-registry", did.address, "--account", "TEST::1",
                 "--json")  # fmt: skip
    assert served.exit_code == 0, served.stderr
    lines = [json.loads(line) for line in served.stdout.splitlines()]
    assert lines[0]["action"] == "delivered" and lines[-1]["delivered_total"] == 1

    out = tmp_path / "decrypted.fastq"
    got = run("download", str(dataset_id), "--out", str(out), "--purpose", "HMB",
              "--account", "TEST::3", "--key-file", str(key_file), "--json")  # fmt: skip
    assert got.exit_code == 0, got.stderr
    assert out.read_bytes() == GENOME

    mine = run("licences", "--account", "TEST::3", "--json")
    assert json.loads(mine.stdout)[0]["status"] == "delivered"
    early = run("withdraw", "--account", "TEST::1")  # escrow held until the key is accepted
    assert early.exit_code == 1 and "GenomicLicensingNothingToWithdraw" in early.stderr
    accepted = run("accept", str(dataset_id), "--account", "TEST::3", "--json")
    assert accepted.exit_code == 0, accepted.stderr
    assert json.loads(accepted.stdout)["status"] == "released"
    paid = run("withdraw", "--account", "TEST::1", "--json")
    assert paid.exit_code == 0 and json.loads(paid.stdout)["amount"] > 0
    again = run("withdraw", "--account", "TEST::1")
    assert again.exit_code == 1 and "GenomicLicensingNothingToWithdraw" in again.stderr
    paused = run("pause", str(dataset_id), "--account", "TEST::1", "--json")
    assert json.loads(paused.stdout) == {"dataset_id": dataset_id, "state": "paused"}
