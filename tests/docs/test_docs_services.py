"""The pages whose commands need services of their own, walked like the others (every `sh`
block in order, from a user's folder outside the clone; support/docs.py):

* docs/network.md brings up the 3-signer geth Clique network on its documented ports
  (18545-18547, p2p 18645-18647, authrpc 18745-18747), runs the demo through node 0 and a
  re-deploy through node 1, stops it, restarts it for the signer-vote recipe and stops it
  again (~5 min: the 1 s block period dominates). Its own user folder and ape data folder;
  no `user_node` anvil.
* docs/storage.md starts a Kubo node as the page shows, beside `user_node`'s anvil and
  deployment, and puts, verifies, reads and erases a record through it.

Whatever a block leaves running (the network, the Kubo daemon) is stopped afterwards even
when a block fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from support.docs import Scenario, walk
from support.geth import required_geth
from support.new_user import BIN, user_env

ROOT = Path(__file__).resolve().parents[2]
# HTTP, p2p and authrpc of the three nodes (base port 18545, docs/network.md)
NETWORK_PORTS = [18545 + kind + node for kind in (0, 100, 200) for node in range(3)]
GETH_BLOCK_TIMEOUT = 900  # the demo on 1 s blocks is one block of the page


def _busy(ports: list[int]) -> list[int]:
    busy = []
    for port in ports:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    return busy


@pytest.mark.geth
def test_network_page_runs(tmp_path):
    required_geth()
    busy = _busy(NETWORK_PORTS)
    assert not busy, f"docs/network.md uses ports {busy} that something else holds"
    home = tmp_path / "user"
    home.mkdir()
    env = user_env(home)
    env.update(CLONE=str(ROOT), MEDCHAIN_DEPLOYMENTS=str(home / "deployments"))
    scenario = Scenario(tmp_path / "scenario", home)
    try:
        ran = walk(ROOT / "docs/network.md", scenario, env, timeout=GETH_BLOCK_TIMEOUT)
        assert ran >= 3, f"docs/network.md ran only {ran} blocks"
        assert (home / ".medchain" / "network" / "default" / "network.json").is_file()
    finally:
        subprocess.run(
            [str(BIN / "medchain"), "network", "down", "--destroy"],
            cwd=home, env=env, capture_output=True, timeout=120, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert not _busy(NETWORK_PORTS[:3]), "a node still answers after `medchain network down`"


@pytest.mark.anvil
@pytest.mark.ipfs
def test_storage_page_runs(user_node, tmp_path):
    scenario = Scenario(tmp_path / "scenario", user_node.home)
    pid_file = user_node.home / "kubo.pid"
    try:
        ran = walk(ROOT / "docs/storage.md", scenario, user_node.env)
        assert ran >= 3, f"docs/storage.md ran only {ran} blocks"
    finally:
        if pid_file.is_file():  # the page stops it with `ipfs shutdown`; after a failure, here
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
