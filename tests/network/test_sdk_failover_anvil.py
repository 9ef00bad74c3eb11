"""The SDK's nonce manager and transaction failover against real anvil processes.

- 8 threads share one sender through `ContractClient.transact`: every transaction is
  mined, the nonces are contiguous, none is used twice.
- A transaction whose node dies right after `eth_sendRawTransaction` answered: two
  independent anvils carry the same deployment (same deployer, same nonces); the
  transaction is sent through A, A is killed before the receipt is read, the client fails
  over to B, which never saw it, and rebroadcasts the same signed bytes: same hash, same
  nonce, mined once on B.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from medchain.network.failover import FailoverHTTPProvider, connect
from medchain.network.rpc import rpc
from support.failover import (
    SCOPE,
    assert_contiguous,
    concurrent_record_access,
    deploy_consent,
    kill_after_send,
)

pytestmark = pytest.mark.anvil


def _start_anvil(tmp: Path, name: str) -> tuple[subprocess.Popen, str]:
    from support.anvil import SDK_CHAIN_ID, free_port

    port = free_port()
    proc = subprocess.Popen(
        [
            "anvil",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--silent",
            "--accounts",
            "30",
            "--chain-id",
            str(SDK_CHAIN_ID),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            rpc(url, "eth_chainId", timeout=1)
            return proc, url
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"anvil {name} did not start") from None
            time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_eight_threads_sharing_a_sender_on_anvil_use_contiguous_nonces(tmp_path):
    from ape import accounts, networks

    proc, url = _start_anvil(tmp_path, "A")
    try:
        registry, book = deploy_consent(url, tmp_path / "book")
        lab = str(accounts.test_accounts[8].address)
        start = int(rpc(url, "eth_getTransactionCount", lab, "pending"), 16)
        with networks.parse_network_choice(url):
            receipts, errors = concurrent_record_access(registry, book)
        assert errors == []
        assert_contiguous(url, lab, start, receipts)
    finally:
        _stop(proc)


def test_node_dying_after_send_rebroadcasts_the_same_signed_transaction(tmp_path):
    from ape import accounts

    from medchain.consent import ConsentClient

    a, url_a = _start_anvil(tmp_path, "A")
    b, url_b = _start_anvil(tmp_path, "B")
    try:
        registry_a, book = deploy_consent(url_a, tmp_path / "book-a")
        registry_b, _ = deploy_consent(url_b, tmp_path / "book-b")
        assert registry_a == registry_b  # same deployer, same nonces
        test = accounts.test_accounts
        patient, lab = test[1], test[8]
        nonce_before = int(rpc(url_b, "eth_getTransactionCount", str(lab.address), "latest"), 16)
        seen: list[str] = []
        with connect([url_a, url_b]) as provider:
            failover = provider.web3.provider
            assert isinstance(failover, FailoverHTTPProvider)
            assert failover.endpoint_uri == url_a
            provider.web3.middleware_onion.add(
                kill_after_send(lambda: (a.send_signal(signal.SIGKILL), a.wait(10)), seen)
            )
            client = ConsentClient.at(registry_a, book=book)
            receipt = client.record_access(
                patient, SCOPE, "read", "TREAT", b"\x07" * 32, sender=lab
            )
            assert failover.endpoint_uri == url_b and failover.failovers == 1
            assert failover.rebroadcasts == 1 and failover.found_by_hash == 0
            assert failover.unconfirmed == []
            # the SDK keeps working through B without the caller changing anything
            assert client.check(patient, lab, SCOPE, "read", "TREAT")
        assert a.poll() is not None
        assert seen == [receipt.txn_hash]  # the hash node A answered with was mined on B
        mined = rpc(url_b, "eth_getTransactionByHash", seen[0])
        assert int(mined["nonce"], 16) == nonce_before
        assert int(rpc(url_b, "eth_getTransactionCount", str(lab.address), "latest"), 16) == (
            nonce_before + 1
        )  # sent once: no second transaction with another nonce
        assert receipt.status == 1 and receipt.block_number == int(mined["blockNumber"], 16)
    finally:
        _stop(a)
        _stop(b)
