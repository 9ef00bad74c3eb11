"""The SDK on the 3-signer geth Clique network (1 s blocks) with its three endpoints:
concurrent senders, confirmation depth, a node killed right after it accepted a
transaction, and a client configured with [node0, node1, node2] while node0 is down.
One network serves the module (~1 min)."""

from __future__ import annotations

import time
from types import SimpleNamespace

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
from support.geth import block_height, own_network

pytestmark = pytest.mark.geth

NAME = "sdkfailover"


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    from ape import accounts

    from medchain.network import create

    plain_sdk = ("MEDCHAIN_RPC_URLS", "MEDCHAIN_CONFIRMATIONS")  # no endpoints, no depth set
    with own_network(tmp_path_factory, NAME, unset=plain_sdk) as (root, _):
        funded = [str(a.address) for a in accounts.test_accounts]
        network = create(NAME, base_port=None, funded=funded)
        network.start()
        urls = [n.url for n in network.nodes]
        registry, book = deploy_consent(urls[1], root / "book")
        yield SimpleNamespace(network=network, urls=urls, registry=registry, book=book)


def test_eight_threads_sharing_a_sender_on_clique_use_contiguous_nonces(net):
    from ape import accounts

    lab = str(accounts.test_accounts[8].address)
    start = int(rpc(net.urls[0], "eth_getTransactionCount", lab, "pending"), 16)
    with connect(net.urls):
        receipts, errors = concurrent_record_access(net.registry, net.book)
    assert errors == []
    assert_contiguous(net.urls[2], lab, start, receipts)
    assert len({r.block_number for r in receipts}) >= 1


def test_transaction_returns_only_two_blocks_deep_with_confirmations_2(net, monkeypatch):
    from ape import accounts

    from medchain.consent import ConsentClient

    test = accounts.test_accounts
    monkeypatch.setenv("MEDCHAIN_CONFIRMATIONS", "2")
    with connect(net.urls):
        client = ConsentClient.at(net.registry, book=net.book)
        started = time.monotonic()
        receipt = client.record_access(
            test[1], SCOPE, "read", "TREAT", b"\x02" * 32, sender=test[8]
        )
        waited = time.monotonic() - started
        head = block_height(net.urls[0])
    assert receipt.status == 1
    assert head >= receipt.block_number + 2
    assert waited >= 1.5  # two more 1 s blocks were awaited
    mined = rpc(net.urls[2], "eth_getTransactionReceipt", receipt.txn_hash)
    assert int(mined["blockNumber"], 16) == receipt.block_number  # still canonical


def test_node_killed_after_accepting_a_transaction_neither_loses_nor_repeats_it(net):
    from ape import accounts

    from medchain.consent import ConsentClient

    test = accounts.test_accounts
    patient, lab = test[1], test[8]
    network = net.network
    before = int(rpc(net.urls[1], "eth_getTransactionCount", str(lab.address), "latest"), 16)
    seen: list[str] = []
    with connect(net.urls) as provider:
        failover = provider.web3.provider
        assert isinstance(failover, FailoverHTTPProvider) and failover.endpoint_uri == net.urls[0]
        provider.web3.middleware_onion.add(
            kill_after_send(lambda: network.stop_node(0, kill=True), seen)
        )
        client = ConsentClient.at(net.registry, book=net.book)
        receipt = client.record_access(patient, SCOPE, "read", "TREAT", b"\x03" * 32, sender=lab)
        assert failover.endpoint_uri == net.urls[1] and failover.failovers == 1
        # gossiped before the kill (found by hash) or sent again, the same bytes
        assert failover.found_by_hash + failover.rebroadcasts == 1
        assert failover.unconfirmed == []
        # the same session keeps reading and writing through node1
        assert client.check(patient, lab, SCOPE, "read", "TREAT")
        again = client.record_access(patient, SCOPE, "read", "TREAT", b"\x04" * 32, sender=lab)
    assert not network.running(network.nodes[0])
    assert seen == [receipt.txn_hash] and receipt.status == 1
    mined = rpc(net.urls[2], "eth_getTransactionByHash", seen[0])
    assert int(mined["nonce"], 16) == before
    assert int(rpc(net.urls[2], "eth_getTransactionByHash", again.txn_hash)["nonce"], 16) == (
        before + 1
    )
    final = int(rpc(net.urls[2], "eth_getTransactionCount", str(lab.address), "latest"), 16)
    assert final == before + 2  # two transactions, nothing sent twice


def test_client_configured_with_three_endpoints_works_while_node0_is_down(net, monkeypatch):
    from ape import accounts

    from medchain.consent import ConsentClient

    network = net.network
    assert not network.running(network.nodes[0])  # killed by the previous test
    test = accounts.test_accounts
    patient, grantee = test[1], test[9]
    scope = f"Condition-{int(time.time())}"
    monkeypatch.setenv("MEDCHAIN_RPC_URLS", ",".join(net.urls))
    with connect(net.urls) as provider:  # node0 first in the list, and dead
        assert provider.web3.provider.endpoint_uri == net.urls[1]
        client = ConsentClient.at(net.registry, book=net.book)
        assert not client.check(patient, grantee, scope, "read", "TREAT")
        granted = client.grant(patient, grantee, scope, "read", "TREAT", sender=patient)
        assert client.check(patient, grantee, scope, "read", "TREAT")
    assert granted.status == 1
    assert rpc(net.urls[2], "eth_getTransactionReceipt", granted.txn_hash)["status"] == "0x1"
