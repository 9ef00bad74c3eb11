"""`medchain.logs.LogReader` with a confirmation depth never reports an event from a block
that a reorg replaced, on a real anvil process.

The consent contracts are deployed and the patient grants the lab read access; every
event under test is a `ConsentRegistry.recordAccess` by the lab with its own record
reference, sent with `eth_sendTransaction` (anvil signs for its dev accounts and tracks
their nonces across the rewind). Two kinds of reorg:

* `evm_snapshot` / `evm_revert`: the chain is rewound REORG_DEPTH blocks and other
  transactions are mined at the same heights (different blocks, different hashes);
* `anvil_reorg`: anvil replaces the last REORG_DEPTH blocks itself, with the transactions
  it is given.

Depth 0 sees the doomed event; every depth >= the reorg depth never does; after the reorg
the reader reports the new chain's event, with the new chain's block hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from web3 import HTTPProvider, Web3

from medchain.codec import scope_code
from medchain.consent.codes import actions_mask, purpose_index
from medchain.logs import Event, LogReader
from medchain.network.rpc import rpc
from support.anvil import SDK_CHAIN_ID, anvil

pytestmark = pytest.mark.anvil

SCOPE = "Observation"
REORG_DEPTH = 3
PATIENT, LAB = 1, 8  # test accounts: the lab holds the patient's read consent


def _deploy(url: str, book_dir: Path) -> tuple[str, list[dict[str, Any]], str, str]:
    """Deploy the consent contracts; the patient grants the lab read access. Returns the
    registry's address and ABI, the patient's and the lab's addresses."""
    from ape import accounts, networks

    from medchain.consent import ConsentClient
    from medchain.deploy import deploy_all, discover_specs, order_specs
    from medchain.deployments import AddressBook

    with networks.parse_network_choice(url):
        test = accounts.test_accounts
        wanted = {"DIDRegistry", "RecordRegistry", "ConsentRegistry"}
        specs = order_specs([s for s in discover_specs() if s.name in wanted])
        ctx, _ = deploy_all(test[0], AddressBook(book_dir), specs=specs, log=lambda _: None)
        registry = ctx.contracts["ConsentRegistry"]
        patient, lab = test[PATIENT], test[LAB]
        ConsentClient(registry).grant(patient, lab, SCOPE, "read", "TREAT", sender=patient)
        abi = [item.model_dump(mode="json", by_alias=True) for item in registry.contract_type.abi]
        return str(registry.address), abi, str(patient.address), str(lab.address)


class Chain:
    """The anvil under test, the consent registry on it and a reader of its events."""

    def __init__(self, url: str, registry: str, abi: list[dict[str, Any]], patient: str, lab: str):
        self.url, self.registry, self.patient, self.lab = url, registry, patient, lab
        self.reader = LogReader(Web3(HTTPProvider(url)), {registry: abi})
        self.start = self.head() + 1  # events under test are all later than the set-up

    def call(self, method: str, *params: Any) -> Any:
        return rpc(self.url, method, *params)

    def head(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def access_tx(self, ref: bytes) -> dict[str, Any]:
        selector = function_signature_to_4byte_selector(
            "recordAccess(address,bytes32,uint8,uint8,bytes32)"
        )
        args = encode(
            ["address", "bytes32", "uint8", "uint8", "bytes32"],
            [self.patient, scope_code(SCOPE), actions_mask("read"), purpose_index("TREAT"), ref],
        )
        return {"from": self.lab, "to": self.registry, "data": "0x" + (selector + args).hex()}

    def record_access(self, ref: bytes) -> int:
        """Mine the lab's recordAccess(ref) (automine: its own block); its block number."""
        txhash = self.call("eth_sendTransaction", self.access_tx(ref))
        receipt = self.call("eth_getTransactionReceipt", txhash)
        assert int(receipt["status"], 16) == 1, receipt
        return int(receipt["blockNumber"], 16)

    def mine(self, blocks: int) -> None:
        for _ in range(blocks):
            self.call("evm_mine")

    def refs(self, depth: int) -> list[bytes]:
        return [bytes(e.args["recordRef"]) for e in self.accesses(depth)]

    def accesses(self, depth: int) -> list[Event]:
        events = self.reader.read(self.start, depth=depth)
        return [e for e in events if e.name == "AccessRecorded"]

    def canonical_hash(self, number: int) -> str:
        return str(self.call("eth_getBlockByNumber", hex(number), False)["hash"])


@pytest.fixture
def chain(tmp_path):
    with anvil("--accounts", "30", "--chain-id", str(SDK_CHAIN_ID)) as url:
        yield Chain(url, *_deploy(url, tmp_path / "book"))


def _ref(label: str) -> bytes:
    return label.encode().ljust(32, b"\0")


def _assert_new_chain_only(chain: Chain, doomed: bytes, replacement: bytes) -> None:
    """After the reorg: at every depth the doomed event is gone; once the replacement is
    buried deep enough it is reported, from the canonical block."""
    for depth in range(REORG_DEPTH + 3):
        refs = chain.refs(depth)
        assert doomed not in refs, f"depth {depth} reported a replaced event"
    for event in chain.accesses(0):
        assert event.block_hash == chain.canonical_hash(event.block_number)
    assert replacement in chain.refs(0)


def test_depth_reads_never_report_a_block_replaced_by_snapshot_revert(chain):
    base = chain.call("evm_snapshot")
    fork_point = chain.head()
    doomed = _ref("old chain")
    block = chain.record_access(doomed)
    assert block == fork_point + 1
    chain.mine(REORG_DEPTH - 1)  # the doomed event is REORG_DEPTH - 1 blocks deep
    assert chain.head() == fork_point + REORG_DEPTH
    old_hash = chain.canonical_hash(block)

    # Before the reorg: depth 0 sees it; a depth >= REORG_DEPTH cannot (not buried enough).
    assert chain.refs(0) == [doomed]
    seen_at_0 = chain.accesses(0)[0]
    assert (seen_at_0.block_number, seen_at_0.block_hash) == (block, old_hash)
    for depth in range(REORG_DEPTH, REORG_DEPTH + 3):
        assert chain.refs(depth) == [], f"depth {depth} read an unconfirmed block"

    # The reorg: rewind to the fork point, other transactions at the same heights, longer.
    assert chain.call("evm_revert", base) is True
    assert chain.head() == fork_point
    replacement = _ref("new chain")
    chain.mine(1)
    assert chain.record_access(replacement) == fork_point + 2
    chain.mine(REORG_DEPTH)
    assert chain.canonical_hash(block) != old_hash

    _assert_new_chain_only(chain, doomed, replacement)
    # The replacement is at head - REORG_DEPTH: reported by every depth up to REORG_DEPTH.
    for depth in range(REORG_DEPTH + 1):
        assert chain.refs(depth) == [replacement]
    assert chain.refs(REORG_DEPTH + 1) == []


def test_depth_reads_never_report_a_block_replaced_by_anvil_reorg(chain):
    doomed = _ref("old chain")
    chain.mine(1)
    block = chain.record_access(doomed)
    chain.mine(REORG_DEPTH - 2)  # the doomed block is second of the last REORG_DEPTH blocks
    head = chain.head()
    old_hash = chain.canonical_hash(block)
    assert chain.refs(0) == [doomed]
    for depth in range(REORG_DEPTH, REORG_DEPTH + 3):
        assert chain.refs(depth) == []

    # anvil replaces the last REORG_DEPTH blocks; the replacement goes in the first of them.
    replacement = _ref("new chain")
    chain.call("anvil_reorg", REORG_DEPTH, [[chain.access_tx(replacement), 0]])
    assert chain.head() == head
    assert chain.canonical_hash(block) != old_hash
    chain.mine(REORG_DEPTH)

    _assert_new_chain_only(chain, doomed, replacement)
    new = chain.accesses(0)
    assert [e.block_number for e in new] == [head - REORG_DEPTH + 1]
