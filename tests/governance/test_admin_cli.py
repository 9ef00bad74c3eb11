"""`ape run deploy --governance dev` and the `medchain admin` commands end to end against
anvil reached by URI: the governed deploy and its idempotent re-run, then a proposal
through two member votes, queue, the timelock's delay and execute, with the one-line
refusals of a non-member, an early queue and an early execute; then a TrialRegistry switched
to a migrated version (`medchain admin switch`) over JSON-RPC. anvil's clock is moved with
evm_increaseTime, as a test chain allows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from support.anvil import anvil

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MEMBER1, MEMBER2, NOT_A_MEMBER = 20, 21, 1  # test account indexes (medchain.demo.ROLES)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    home = tmp_path_factory.mktemp("admin-cli")
    env = {**os.environ, "MEDCHAIN_HOME": str(home / "home"),
           "MEDCHAIN_DEPLOYMENTS": str(home / "deployments")}  # fmt: skip
    with anvil("--accounts", "25") as uri:
        yield uri, env


def _deploy(node) -> subprocess.CompletedProcess:
    uri, env = node
    return subprocess.run(
        [str(BIN / "ape"), "run", "deploy", "--network", uri, "--account", "TEST::0",
         "--governance", "dev"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _admin(node, *args: str, account: int | None = None) -> subprocess.CompletedProcess:
    uri, env = node
    extra = ["--network", uri] + (["--account", f"TEST::{account}"] if account is not None else [])
    return subprocess.run(
        [str(BIN / "medchain"), "admin", *args, *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _json(out: subprocess.CompletedProcess):
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads("\n".join(x for x in out.stdout.splitlines() if not x.startswith("INFO:")))


def _refused(out: subprocess.CompletedProcess, text: str) -> None:
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], out.stderr


def _advance(node, seconds: int) -> None:
    for method, params in (("evm_increaseTime", [seconds]), ("evm_mine", [])):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        request = urllib.request.Request(
            node[0], body.encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert "error" not in json.loads(answer.read())


@pytest.mark.anvil
def test_governed_deploy_and_a_proposal_through_the_cli(node):
    first = _deploy(node)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "RecordRegistry: admin handed over" in first.stdout
    assert "ConsentRegistry: admin transfer started" in first.stdout
    again = _deploy(node)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "nothing deployed" in again.stdout and "handed over" not in again.stdout

    settings = _json(_admin(node, "members", "--json"))
    assert (settings["min_approvals"], settings["member_count"]) == (2, 3)

    propose = ("propose", "RecordRegistry", "setWriteAuthorizer", settings["timelock"],
               "--description", "Records: the timelock authorizes writes", "--json")  # fmt: skip
    _refused(_admin(node, *propose, account=NOT_A_MEMBER), "is not a consortium member")
    proposal = _json(_admin(node, *propose, account=MEMBER1))["proposal"]
    _advance(node, 2)  # past the one-second voting delay
    for member in (MEMBER1, MEMBER2):
        assert _admin(node, "vote", proposal, "for", account=member).returncode == 0
    _refused(_admin(node, "vote", proposal, "for", account=NOT_A_MEMBER), "not a consortium member")
    _refused(_admin(node, "queue", proposal, account=MEMBER1), "is Active: voting ends at")
    _advance(node, settings["voting_period"] + 1)
    assert _json(_admin(node, "queue", proposal, "--json", account=MEMBER1))["state"] == "Queued"
    _refused(_admin(node, "execute", proposal, account=MEMBER1), "is Queued: executable from")
    _advance(node, settings["timelock_delay"] + 1)
    assert _json(_admin(node, "execute", proposal, "--json", account=NOT_A_MEMBER))["state"] == (
        "Executed"
    )  # anyone executes a passed proposal once it is due
    status = _json(_admin(node, "status", proposal, "--json"))
    assert (status["state"], status["for_votes"], status["approvals_needed"]) == ("Executed", 2, 2)
    listed = _json(_admin(node, "status", "--json"))
    assert [p["id"] for p in listed] == [proposal]
    accept = _json(_admin(node, "accept-admin", "ConsentRegistry", "--json", account=MEMBER1))
    assert accept["state"] == "Pending"

    # A migrated contract's switch over JSON-RPC: a TrialRegistry v2 following the book's
    # (nothing to import: no trial was registered), switched from the command line; the
    # book finds v2's deploy block and transaction on the node.
    book = next(Path(node[1]["MEDCHAIN_DEPLOYMENTS"]).glob("*/TrialRegistry.json"))
    v1 = json.loads(book.read_text())["address"]
    v2, deployed_in = _deploy_trial_registry(node, v1)
    switch = _json(_admin(node, "switch", "TrialRegistry", v2, "--json", account=MEMBER1))
    assert (switch["old"], switch["new"], switch["built_by_this_tree"]) == (v1, v2, True)
    _advance(node, 2)
    for member in (MEMBER1, MEMBER2):
        assert _admin(node, "vote", switch["proposal"], "for", account=member).returncode == 0
    _advance(node, settings["voting_period"] + 1)
    assert _admin(node, "queue", switch["proposal"], account=MEMBER1).returncode == 0
    _advance(node, settings["timelock_delay"] + 1)
    executed = _json(_admin(node, "execute", switch["proposal"], "--json", account=MEMBER1))
    assert executed["switches"] == [
        {"contract": "TrialRegistry", "address": v2, "former": v1, "versions": 1}
    ]
    record = json.loads(book.read_text())
    assert (record["address"], record["transaction_hash"]) == (v2, deployed_in["transactionHash"])
    assert record["block_number"] == int(deployed_in["blockNumber"], 16)
    assert [v["address"] for v in record["versions"]] == [v1]


def _rpc(node, method: str, params: list) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    request = urllib.request.Request(node[0], body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["result"]


def _deploy_trial_registry(node, predecessor: str) -> tuple[str, dict]:
    """A TrialRegistry with `predecessor`, sent by anvil's unlocked first account; returns
    its address and receipt."""
    from ape import project
    from eth_abi import encode
    from eth_utils import to_checksum_address

    code = project.TrialRegistry.contract_type.deployment_bytecode.bytecode
    data = code + encode(["address"], [predecessor]).hex()
    sender = _rpc(node, "eth_accounts", [])[0]
    tx = _rpc(node, "eth_sendTransaction", [{"from": sender, "data": data, "gas": hex(8_000_000)}])
    # anvil answers eth_sendTransaction before its automine has stored the receipt
    deadline = time.monotonic() + 30
    while (receipt := _rpc(node, "eth_getTransactionReceipt", [tx])) is None:
        assert time.monotonic() < deadline, f"no receipt for {tx}"
        time.sleep(0.1)
    assert receipt["status"] == "0x1", receipt
    return to_checksum_address(receipt["contractAddress"]), receipt
