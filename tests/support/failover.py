"""What the SDK failover tests share on anvil and on the geth Clique network: the
consent deployment they transact against (through the shipped deploy specs), eight
threads sharing one sender, the contiguous-nonce check, and a middleware that kills a
node right after it accepted a transaction."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from web3.middleware import Web3Middleware

from medchain.network.rpc import rpc

SCOPE = "Observation"
THREADS, PER_THREAD = 8, 4


def deploy_consent(url: str, book_dir: Path) -> tuple[str, object]:
    """Deploy DIDRegistry, RecordRegistry, ConsentRegistry with test account 0 and have
    the patient (test account 1) grant the lab (test account 8) read access."""
    from ape import accounts, networks

    from medchain.consent import ConsentClient
    from medchain.deploy import deploy_all
    from medchain.deployments import AddressBook
    from medchain.network.poa import ensure_poa_middleware
    from support.deploy import specs_for

    with networks.parse_network_choice(url):
        ensure_poa_middleware()
        test = accounts.test_accounts
        book = AddressBook(book_dir)
        specs = specs_for(["ConsentRegistry"])  # and what it needs: DIDRegistry, RecordRegistry
        ctx, _ = deploy_all(test[0], book, specs=specs, log=lambda _: None)
        registry = ctx.contracts["ConsentRegistry"]
        ConsentClient(registry).grant(test[1], test[8], SCOPE, "read", "TREAT", sender=test[1])
        return str(registry.address), book


def concurrent_record_access(registry: str, book: object) -> tuple[list, list[str]]:
    """THREADS threads, one shared sender (the lab), PER_THREAD recordAccess each, all
    through ConsentClient.transact; returns the receipts and any errors."""
    from ape import accounts

    from medchain.consent import ConsentClient

    test = accounts.test_accounts
    patient, lab = test[1], test[8]
    client = ConsentClient.at(registry, book=book)
    receipts: list = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        for op in range(PER_THREAD):
            ref = bytes([index, op]) + os.urandom(30)
            try:
                receipt = client.record_access(patient, SCOPE, "read", "TREAT", ref, sender=lab)
            except Exception as exc:  # collected: the test shows every failure
                with lock:
                    errors.append(f"thread {index} op {op}: {type(exc).__name__}: {exc}")
                return
            with lock:
                receipts.append(receipt)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return receipts, errors


def assert_contiguous(url: str, sender: str, start: int, receipts: list) -> None:
    assert len(receipts) == THREADS * PER_THREAD
    assert all(r.status == 1 for r in receipts)
    nonces = sorted(
        int(rpc(url, "eth_getTransactionByHash", r.txn_hash)["nonce"], 16) for r in receipts
    )
    assert nonces == list(range(start, start + THREADS * PER_THREAD))  # contiguous, no reuse
    assert int(rpc(url, "eth_getTransactionCount", sender, "latest"), 16) == start + len(nonces)


def kill_after_send(kill, seen: list[str]):
    """A web3 middleware that kills the node as soon as it answered eth_sendRawTransaction
    (once), recording the hash it answered with."""

    class KillAfterSend(Web3Middleware):
        def response_processor(self, method, response):
            if method == "eth_sendRawTransaction" and not seen and response.get("result"):
                seen.append(str(response["result"]))
                kill()
            return response

    return KillAfterSend
