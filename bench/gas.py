"""Gas harness: runs every domain's `bench/gas_<domain>.py::measure(g)` against a fresh
deploy on anvil and records each operation's gas beside its floor.

floor = 21,000 base
      + calldata (16 gas per nonzero byte, 4 per zero byte; EIP-2028)
      + storage writes read from the transaction's prestate diff
        (zero->nonzero 22,100; nonzero->nonzero 5,000; nonzero->zero 200 net of refund;
         cold-slot figures of EIP-2929/3529)
      + logs (375 + 375 per topic + 8 per data byte).
It is what any implementation writing the same state and events must pay, so
`ratio = gas / floor` shows the overhead of the contract's own logic.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("gas.json")
TABLE = Path(__file__).with_name("gas.md")

TX_BASE = 21_000
SSTORE_SET = 22_100  # 20,000 + 2,100 cold access
SSTORE_RESET = 5_000  # 2,900 + 2,100 cold access
SSTORE_CLEAR_NET = 200  # 5,000 minus the 4,800 refund
LOG_BASE, LOG_TOPIC, LOG_BYTE = 375, 375, 8


@dataclass(frozen=True)
class GasFigure:
    gas: int
    floor: int
    ratio: float
    calldata: int
    storage: int
    logs: int
    slots_set: int
    slots_reset: int
    slots_cleared: int
    anchor: int | None = None
    anchor_source: str = ""


def calldata_gas(data: bytes) -> int:
    zeros = data.count(0)
    return 4 * zeros + 16 * (len(data) - zeros)


def log_gas(logs: list[dict[str, Any]]) -> int:
    total = 0
    for log in logs:
        data = log.get("data") or b""
        if isinstance(data, str):
            data = bytes.fromhex(data.removeprefix("0x"))
        total += LOG_BASE + LOG_TOPIC * len(log.get("topics") or []) + LOG_BYTE * len(data)
    return total


def storage_changes(diff: dict[str, Any]) -> tuple[int, int, int]:
    """(slots set, reset, cleared) from a prestateTracer diffMode result."""
    pre, post = diff.get("pre", {}), diff.get("post", {})
    set_, reset, cleared = 0, 0, 0
    for address in set(pre) | set(post):
        before = (pre.get(address) or {}).get("storage") or {}
        after = (post.get(address) or {}).get("storage") or {}
        for slot in set(before) | set(after):
            old = int(before.get(slot, "0x0"), 16)
            new = int(after.get(slot, "0x0"), 16)
            if old == new:
                continue
            if old == 0:
                set_ += 1
            elif new == 0:
                cleared += 1
            else:
                reset += 1
    return set_, reset, cleared


class GasRecorder:
    """What `measure(g)` uses: deployed contracts, role accounts, chain, and `record`."""

    def __init__(self, contracts: dict[str, Any], accounts: dict[str, Any]):
        from ape import chain

        self.contracts = contracts
        self.accounts = accounts
        self.chain = chain
        self.figures: dict[str, GasFigure] = {}

    def record(
        self, operation: str, receipt: Any, anchor: int | None = None, anchor_source: str = ""
    ) -> GasFigure:
        if operation in self.figures:
            raise ValueError(f"gas operation '{operation}' recorded twice")
        provider = self.chain.provider
        txn_hash = str(receipt.txn_hash)
        tx = provider.web3.eth.get_transaction(txn_hash)
        raw_receipt = provider.web3.eth.get_transaction_receipt(txn_hash)
        diff = provider.make_request(
            "debug_traceTransaction",
            [txn_hash, {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}],
        )
        data = bytes(tx["input"])
        calldata = calldata_gas(data)
        logs = log_gas(
            [{"topics": log["topics"], "data": bytes(log["data"])} for log in raw_receipt["logs"]]
        )
        set_, reset, cleared = storage_changes(diff)
        storage = SSTORE_SET * set_ + SSTORE_RESET * reset + SSTORE_CLEAR_NET * cleared
        floor = TX_BASE + calldata + storage + logs
        gas = int(raw_receipt["gasUsed"])
        figure = GasFigure(
            gas=gas,
            floor=floor,
            ratio=round(gas / floor, 3),
            calldata=calldata,
            storage=storage,
            logs=logs,
            slots_set=set_,
            slots_reset=reset,
            slots_cleared=cleared,
            anchor=anchor,
            anchor_source=anchor_source,
        )
        self.figures[operation] = figure
        return figure


def write_snapshot(figures: dict[str, GasFigure]) -> None:
    data = {op: asdict(fig) for op, fig in sorted(figures.items())}
    SNAPSHOT.write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        "# Gas per operation",
        "",
        "Measured from real transactions on anvil by `make bench` (bench/gas.py explains the floor).",
        "`ratio` = gas / floor; `anchor` = the comparable figure from shared/notes/domain.md.",
        "",
        "| operation | gas | floor | ratio | anchor | anchor source |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for op, fig in sorted(figures.items()):
        anchor = f"{fig.anchor:,}" if fig.anchor else ""
        lines.append(
            f"| {op} | {fig.gas:,} | {fig.floor:,} | {fig.ratio:.2f} | {anchor} | {fig.anchor_source} |"
        )
    lines += _design_cost_lines(figures)
    TABLE.write_text("\n".join(lines) + "\n")


def _design_cost_lines(figures: dict[str, GasFigure]) -> list[str]:
    """The per-call gas the upgrade design costs each operation, from bench/gas_proxy.py's
    measurement (bench/results/proxy_overhead.json): the proxy's cost where a contract is
    upgraded in place (already inside the gas column above), nothing where a contract is
    immutable and moves by migration."""
    from medchain.governance.upgrade import UPGRADED_IN_PLACE

    path = Path(__file__).parent / "results" / "proxy_overhead.json"
    if not path.is_file():
        return []
    measured = json.loads(path.read_text())
    contracts, operations = measured["contracts"], measured["operations"]
    lines = [
        "",
        "## Per-call cost of the upgrade design",
        "",
        f"From `bench/gas_proxy.py` ({measured['recorded_at'][:10]}, "
        "`bench/results/proxy_overhead.json`): each contract measured once directly and once "
        "behind an ERC-1967 proxy. RecordRegistry is upgraded in place behind its proxy, so "
        "its figures above include the proxy; every other contract is called directly (no "
        "overhead): ConsentRegistry, DIDRegistry and TrialRegistry move by migration to "
        "immutable successor versions because a proxy breaks their anchors (their native "
        "operations pay nothing for it; the one-time import per record, e.g. about 60k gas "
        "per consent key, is in docs/upgrades.md); the others could take a proxy within "
        "their anchors but are not converted yet (docs/upgrades.md).",
        "",
        "| operation | design | overhead per call | a proxy costs |",
        "|---|---|---:|---:|",
    ]
    for op in sorted(figures):
        contract = op.split(".", 1)[0]
        if contract not in contracts:
            continue
        proxy_cost = (operations.get(op) or {}).get("overhead")
        if contract in UPGRADED_IN_PLACE:
            design, overhead = "UUPS proxy", proxy_cost
        elif contracts[contract]["decision"] == "migration":
            design, overhead = "immutable, moves by migration (a proxy breaks an anchor)", 0
        else:
            design, overhead = "immutable (a proxy fits its anchors)", 0
        shown = f"{proxy_cost:,}" if proxy_cost is not None else ""
        cost = f"{overhead:,}" if overhead is not None else ""
        lines.append(f"| {op} | {design} | {cost} | {shown} |")
    return lines


def load_snapshot() -> dict[str, dict[str, Any]]:
    return json.loads(SNAPSHOT.read_text()) if SNAPSHOT.is_file() else {}


def compare(figures: dict[str, GasFigure], committed: dict[str, dict[str, Any]]) -> list[str]:
    """Lines describing every difference between a run and the committed snapshot."""
    problems = []
    for op in sorted(set(figures) | set(committed)):
        if op not in committed:
            problems.append(f"{op}: new operation ({figures[op].gas:,} gas) not in bench/gas.json")
        elif op not in figures:
            problems.append(f"{op}: in bench/gas.json but no longer measured")
        elif figures[op].gas != committed[op]["gas"]:
            problems.append(f"{op}: {committed[op]['gas']:,} -> {figures[op].gas:,} gas")
    return problems
