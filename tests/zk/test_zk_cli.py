"""`medchain zk …` and the trial's proof path end to end on the in-process chain: a holder
secret, a credential issued by the lab and sealed to the patient's X25519 key, opened by the
patient, criteria written, a trial gated by them, a proof made from the command line, the
enrollment by proof, and a second enrollment with the same credential refused in one line;
then a verifier account's dry run, spend and refused second spend, and a revocation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from medchain.cli import cli
from medchain.keystore import KeyStore
from medchain.trials import Role, TrialsClient, document_hash, outcomes_hash
from support.deploy import deploy_fresh

NET = ["--network", "ethereum:local:test"]
LAB, SPONSOR, INV = "TEST::4", "TEST::8", "TEST::9"


@pytest.fixture
def run(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(mix_stderr=False)

    def invoke(*args: str, account: str | None = None, network: bool = True) -> Any:
        extra = (["--account", account] if account else []) + (NET if network else [])
        return runner.invoke(cli, [*args, *extra])

    return invoke


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output + (result.stderr or "")
    return json.loads(result.stdout)


def test_issue_receive_prove_and_enroll_by_proof(run, tmp_path, gate, lab, patient, deployer,
                                                 sponsor, ethics, investigator, researcher):  # fmt: skip
    g = gate.address
    holder = _json(run("zk", "holder", "--out", "me.holder.json", "--json", network=False))
    did = f"did:ethr:{patient.address}"
    _, stored = KeyStore().generate(did)
    issued = _json(run("zk", "issue", "--gate", g, "--holder", holder["commitment"], "--type",
                       "diagnosis", "--date", "2022-01-10", "--birth-date", "1980-03-03",
                       "--code", "I10", "--to-key", stored.public_key.hex(), "--no-store",
                       "--out", "sealed.json", "--json", account=LAB))  # fmt: skip
    assert "I10" not in (tmp_path / "sealed.json").read_text()  # sealed, not in clear
    cred = _json(run("zk", "receive", "sealed.json", "--gate", g, "--did", did, "--out",
                     "dx.json", "--json"))  # fmt: skip
    assert cred["leaf"] == issued["leaf"] and cred["codes"] == ["I10"]
    crit = _json(run("zk", "criteria", "--type", "diagnosis", "--any-of", "I10", "--none-of",
                     "E11", "--min-age", "18", "--max-age", "65", "--out", "htn.json", "--json",
                     network=False))  # fmt: skip

    trials = TrialsClient(deploy_fresh(deployer, "TrialRegistry").contracts["TrialRegistry"])
    tid = trials.register("NCT55500001", document_hash(b"cli"), "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
                          outcomes_hash(["o"], []), [ethics], sender=sponsor)  # fmt: skip
    trials.grant_role(tid, investigator, Role.INVESTIGATOR, 101, sender=sponsor)
    reg = ["--registry", trials.address]
    req = _json(run("trial", "require-eligibility", str(tid), "--issuer", lab.address,
                    "--criteria", "htn.json", "--gate", g, *reg, "--json", account=SPONSOR))  # fmt: skip
    assert req["criteria_hash"] == crit["hash"]

    proof = _json(run("zk", "prove", "--gate", g, "--holder", "me.holder.json", "--credential",
                      "dx.json", "--criteria", "htn.json", "--issuer", lab.address, "--trial",
                      str(tid), *reg, "--out", "proof.json", "--json"))  # fmt: skip
    assert proof["seconds"] > 0
    enrolled = _json(run("trial", "enroll", str(tid), "--site", "101", "--subject", "S-1",
                         "--proof", "proof.json", *reg, "--json", account=INV))  # fmt: skip
    assert enrolled["commitment"].startswith("0x")
    again = run("trial", "enroll", str(tid), "--site", "101", "--subject", "S-2", "--proof",
                "proof.json", *reg, account=INV)  # fmt: skip
    assert again.exit_code == 1
    assert again.stderr.startswith("error:") and "EligibilityNullifierSpent" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "S-2.subject.json").exists()  # salt file of a refused enrollment removed

    # an unmet criterion is one line, before any proving
    _json(run("zk", "criteria", "--type", "diagnosis", "--max-age", "30", "--out", "young.json",
              "--json", network=False))  # fmt: skip
    refused = run("zk", "prove", "--gate", g, "--holder", "me.holder.json", "--credential",
                  "dx.json", "--criteria", "young.json", "--issuer", lab.address, "--verifier",
                  investigator.address, "--out", "p2.json")  # fmt: skip
    assert refused.exit_code == 1 and "not eligible: older than 30" in refused.stderr
    tree = _json(run("zk", "tree", lab.address, "--gate", g, "--json"))
    assert tree["size"] >= 1 and tree["validFrom"] == 0

    # a verifier account's own scope: dry run, spend, a second spend refused; then revocation
    venue = "TEST::3"
    _json(run("zk", "prove", "--gate", g, "--holder", "me.holder.json", "--credential", "dx.json",
              "--criteria", "htn.json", "--issuer", lab.address, "--verifier", researcher.address,
              "--context", "9", "--out", "venue.json", "--json"))  # fmt: skip
    common = ["--gate", g, "--issuer", lab.address, "--criteria", "htn.json", "--context", "9"]
    checked = _json(
        run("zk", "verify", "venue.json", *common, "--check", researcher.address, "--json")
    )
    assert checked == {"valid": True, "spent": False, "scope": checked["scope"]}
    spent = _json(run("zk", "verify", "venue.json", *common, "--json", account=venue))
    assert spent["spent"] and spent["gas"] <= 280_000
    twice = run("zk", "verify", "venue.json", *common, account=venue)
    assert twice.exit_code == 1 and "EligibilityNullifierSpent" in twice.stderr
    _json(run("zk", "revoke", "--gate", g, "--leaf", issued["leaf"], "--json", account=LAB))
    assert _json(run("zk", "tree", lab.address, "--gate", g, "--json"))["validFrom"] > 0
    gone = run("zk", "prove", "--gate", g, "--holder", "me.holder.json", "--credential", "dx.json",
               "--criteria", "htn.json", "--issuer", lab.address, "--verifier",
               researcher.address, "--out", "p3.json")  # fmt: skip
    assert gone.exit_code == 1 and "no longer" in gone.stderr
