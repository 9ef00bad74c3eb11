"""The indexer on a real anvil: a follower SIGKILLed mid-stream and restarted misses and
duplicates nothing; a reorg (evm_snapshot / evm_revert, then other blocks) undoes the
replaced blocks' events; confirmation depth holds back the newest blocks."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from support import BIN
from support.anvil import deployed_anvil

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    from web3 import HTTPProvider, Web3

    from medchain.gateway.chain import Chain

    tmp = tmp_path_factory.mktemp("indexer")
    with deployed_anvil(tmp / "book", "ConsentRegistry", wire_roles=False) as (uri, book, _, roles):
        web3 = Web3(HTTPProvider(uri))
        patient = roles["patient"]
        yield {"uri": uri, "book": book, "web3": web3, "chain": Chain.from_book(web3, book),
               "patient": patient, "key": bytes.fromhex(patient.private_key[2:]), "tmp": tmp}  # fmt: skip


def _grant(node, n: int, salt: int = 0) -> None:
    from eth_utils import to_checksum_address

    from medchain.codec import scope_code

    for i in range(n):
        grantee = to_checksum_address((salt * 100_000 + i + 1).to_bytes(20, "big"))
        node["chain"].send(node["key"], "ConsentRegistry", "grant", str(node["patient"].address),
                           grantee, scope_code("Observation"), 1, 1, 0, 2**40 - 1)  # fmt: skip


def _truth(node) -> list[tuple[int, int]]:
    from medchain.logs import reader_for_book

    reader = reader_for_book(node["web3"], node["book"])
    return [(e.block_number, e.log_index) for e in reader.read(0)]


def _indexed(db: Path) -> list[tuple[int, int]]:
    with sqlite3.connect(db) as conn:
        try:
            return list(conn.execute("SELECT block_number, log_index FROM events ORDER BY 1, 2"))
        except sqlite3.OperationalError as exc:  # the file exists before the follower's tables
            if "no such table" in str(exc):
                return []
            raise


def _cli(node, db: Path, *args: str) -> list[str]:
    return [str(BIN / "medchain"), "index", "run", "--network", node["uri"], "--book",
            str(node["book"].path), "--db", f"sqlite:///{db}", *args]  # fmt: skip


def test_killed_follower_resumes_without_missing_or_duplicating(node):
    db = node["tmp"] / "killed.db"
    _grant(node, 40, salt=1)
    follower = subprocess.Popen(
        _cli(node, db, "--window", "1", "--max-window", "1", "--poll", "0.05"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not db.exists() or len(_indexed(db)) < 25:
            assert follower.poll() is None, "the follower exited"
            assert time.monotonic() < deadline, "the follower made no progress"
            _grant(node, 2, salt=2 + int(time.monotonic()))  # the chain keeps moving
        follower.send_signal(signal.SIGKILL)  # mid-stream: no chance to clean up
        follower.wait(timeout=10)
    finally:
        if follower.poll() is None:
            follower.kill()
    partial = _indexed(db)
    assert 25 <= len(partial) < len(_truth(node))
    _grant(node, 10, salt=99)
    done = subprocess.run(_cli(node, db, "--once", "--json"), capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    indexed = _indexed(db)
    assert indexed == _truth(node)  # nothing missed
    assert len(indexed) == len(set(indexed))  # nothing twice


def test_reorg_undoes_replaced_blocks(node):
    from medchain.indexer import Indexer

    indexer = Indexer.for_book(node["web3"], node["book"], f"sqlite:///{node['tmp'] / 'reorg.db'}")
    indexer.sync()
    web3 = node["web3"]
    snapshot = web3.provider.make_request("evm_snapshot", [])["result"]
    fork = int(web3.eth.block_number) + 1
    _grant(node, 3, salt=500)
    report = indexer.sync()
    doomed = {e["args"]["grantee"] for e in indexer.events("ConsentGranted") if e["block"] >= fork}
    assert len(doomed) == 3 and report.events == 3
    assert web3.provider.make_request("evm_revert", [snapshot])["result"] is True
    _grant(node, 5, salt=600)  # other transactions at the same heights: new block hashes
    report = indexer.sync()
    assert report.reorged_from == fork
    after = {e["args"]["grantee"] for e in indexer.events("ConsentGranted") if e["block"] >= fork}
    assert len(after) == 5 and not after & doomed
    truth = _truth(node)
    assert [(e["block"], e["log_index"]) for e in indexer.events()] == truth


def test_confirmation_depth_holds_back_new_blocks(node):
    from medchain.indexer import Indexer

    indexer = Indexer.for_book(node["web3"], node["book"],
                               f"sqlite:///{node['tmp'] / 'depth.db'}", depth=3)  # fmt: skip
    indexer.sync()
    head = int(node["web3"].eth.block_number)
    assert indexer.next_block() == head - 3 + 1
    assert all(e["block"] <= head - 3 for e in indexer.events())
    status = indexer.status()
    assert status["indexed_through"] == head - 3 and status["lag_blocks"] == 0
