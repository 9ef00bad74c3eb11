"""medchain on a real consortium chain: three geth 1.13.15 signers sealing Clique blocks
every second on loopback, started with `medchain network up`.

One network serves the module, in order: it comes up peered and sealing; the EVM probe
refuses post-London bytecode; every contract deploys through one node and a re-deploy
through another finds everything unchanged (the whole demo, every domain, runs on a
Clique network in docs/network.md's walk, tests/docs/test_docs_services.py); a signer is
killed (SIGKILL) and the two others keep sealing while the SDK works through a surviving
node; the killed signer restarts, catches up and seals again; `down` stops every process.
The 1 s block period dominates.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from medchain.network import Network
from medchain.network.rpc import rpc
from support.geth import ape, block_height, medchain, medchain_json, own_network, wait_until

pytestmark = pytest.mark.geth

NAME = "consortium"


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """A 3-signer network brought up by the CLI; every node stopped afterwards."""
    with own_network(tmp_path_factory, NAME, books=True) as (root, env):
        up = medchain("network", "up", "--name", NAME, "--base-port", "0", env=env, timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        network = Network.load(NAME)
        yield SimpleNamespace(env=env, network=network, root=root, up=up.stdout)


def _sealer(url: str, number: int) -> str:
    return str(rpc(url, "clique_getSigner", hex(number))).lower()


def test_up_starts_three_peered_signers_that_seal(net):
    assert "address book: ethereum-chain-6334   signers: 3" in net.up
    status = medchain_json("network", "status", "--name", NAME, env=net.env)
    assert status["chain_id"] == 6334 and status["period"] == 1
    nodes = status["nodes"]
    assert [n["running"] for n in nodes] == [True] * 3
    assert [n["peers"] for n in nodes] == [2] * 3
    assert sorted(s.lower() for s in status["signers"]) == sorted(
        n["signer"].lower() for n in nodes
    )
    assert all(n["mining"] for n in nodes)
    urls = [n["url"] for n in nodes]
    assert all(u.startswith("http://127.0.0.1:") for u in urls)
    start = block_height(urls[0])
    wait_until(lambda: block_height(urls[0]) >= start + 3, "three more blocks", timeout=15)
    head = block_height(urls[0])
    # every node agrees on the chain, and more than one signer seals it
    wait_until(lambda: min(block_height(u) for u in urls) >= head, "all nodes at the head", 10)
    hashes = {rpc(u, "eth_getBlockByNumber", hex(head), False)["hash"] for u in urls}
    assert len(hashes) == 1
    assert len({_sealer(urls[0], b) for b in range(head - 3, head + 1)}) >= 2


def test_probe_refuses_shanghai_bytecode_naming_push0_and_the_setting(net):
    url = net.network.nodes[0].url
    out = medchain("network", "probe", "--url", url, "--evm-version", "shanghai", env=net.env)
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"error: the node at {url} does not run PUSH0 (shanghai), which contracts compiled "
        "for evm_version 'shanghai' use; set `solidity.evm_version: paris` in ape-config.yaml "
        "and recompile"
    ]
    table = medchain_json("network", "probe", "--url", url, env=net.env)
    assert table == dict.fromkeys(table, False) and "TSTORE" in table  # London/Paris EVM
    ok = medchain("network", "probe", "--url", url, "--evm-version", "paris", env=net.env)
    assert ok.returncode == 0, ok.stderr


def test_deploy_through_one_signer_and_idempotent_deploy_through_another(net):
    nodes = net.network.nodes
    from medchain.deploy import discover_specs

    every = len(discover_specs())  # the whole plan: every domain's contracts
    first = ("run", "deploy", "--network", nodes[1].url, "--account", "TEST::0", "--ungoverned")
    done = ape(*first, env=net.env, timeout=480)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    index = json.loads(
        (Path(net.env["MEDCHAIN_DEPLOYMENTS"]) / "ethereum-chain-6334" / "index.json").read_text()
    )
    assert index["chain_id"] == 6334 and len(index["contracts"]) == every

    deploy = ("run", "deploy", "--network", nodes[0].url, "--account", "TEST::0")
    refused = ape(*deploy, env=net.env, timeout=300)  # geth is no development node
    assert refused.returncode == 1 and "--governance FILE" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    dev = ape(*deploy, "--governance", "dev", env=net.env, timeout=300)  # test accounts: no
    assert dev.returncode == 1 and "development nodes only" in dev.stderr, dev.stderr
    again = ape(*deploy, "--ungoverned", env=net.env, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"All {every} contracts unchanged; nothing deployed." in again.stdout
    for name, entry in index["contracts"].items():  # the code is on every node
        for node in nodes:
            code = rpc(node.url, "eth_getCode", entry["address"], "latest")
            assert len(code) > 2, (name, node.index)


def test_killed_signer_chain_keeps_sealing_and_sdk_works_through_another_node(net):
    network = net.network
    victim, survivors = network.nodes[0], network.nodes[1:]
    network.stop_node(0, kill=True)  # SIGKILL: a crashed institution
    assert not network.running(victim)
    killed_at = block_height(survivors[0].url)
    wait_until(
        lambda: block_height(survivors[0].url) >= killed_at + 5,
        "5 blocks without node0",
        timeout=20,
    )
    head = block_height(survivors[0].url)
    sealers = {_sealer(survivors[0].url, b) for b in range(killed_at + 2, head + 1)}
    assert sealers == {n.signer.lower() for n in survivors}

    # The SDK through node2's endpoint: a patient grants, the provider checks and records.
    from ape import accounts, networks

    from medchain.consent import ConsentClient
    from medchain.demo import role_accounts
    from medchain.network.poa import ensure_poa_middleware

    roles = role_accounts(accounts.test_accounts)
    patient, lab = roles["patient"], roles["lab"]
    scope = f"Observation-{int(time.time())}"
    with networks.parse_network_choice(survivors[1].url):
        ensure_poa_middleware()
        client = ConsentClient.connect()
        assert not client.check(patient, lab, scope, "read", "TREAT")
        granted = client.grant(patient, lab, scope, "read", "TREAT", sender=patient)
        assert client.check(patient, lab, scope, "read", "TREAT")
        recorded = client.record_access(patient, scope, "read", "TREAT", b"\x01" * 32, sender=lab)
    assert granted.block_number > killed_at and recorded.block_number > killed_at
    assert not network.running(victim)


def test_restarted_signer_catches_up_and_seals_again(net):
    network = net.network
    head_before = block_height(network.nodes[1].url)
    up = medchain("network", "up", "--name", NAME, env=net.env, timeout=180)  # resumes node0
    assert up.returncode == 0, up.stdout + up.stderr
    restarted = Network.load(NAME)
    node0 = restarted.nodes[0]
    assert restarted.running(node0)
    wait_until(lambda: block_height(node0.url) >= head_before, "node0 to reach the old head", 60)
    wait_until(
        lambda: abs(block_height(node0.url) - block_height(restarted.nodes[1].url)) <= 1,
        "node0 at the others' head",
        30,
    )
    caught_up = block_height(node0.url)
    signer = node0.signer.lower()
    wait_until(
        lambda: any(
            _sealer(restarted.nodes[1].url, b) == signer
            for b in range(caught_up, block_height(restarted.nodes[1].url) + 1)
        ),
        "a block sealed by the restarted signer",
        30,
    )
    status = medchain_json("network", "status", "--name", NAME, env=net.env)
    assert [n["peers"] for n in status["nodes"]] == [2] * 3
    net.network = restarted


def test_down_stops_every_node(net):
    pids = [n.pid for n in Network.load(NAME).nodes]
    out = medchain("network", "down", "--name", NAME, env=net.env)
    assert out.returncode == 0, out.stderr
    assert "3 nodes stopped" in out.stdout
    assert all(not Path(f"/proc/{pid}").exists() or _zombie(pid) for pid in pids if pid)
    status = medchain_json("network", "status", "--name", NAME, env=net.env)
    assert [n["running"] for n in status["nodes"]] == [False] * 3
    assert (net.root / "home" / "network" / NAME / "node0" / "geth" / "chaindata").is_dir()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True
