"""Consent traffic from N concurrent clients (N = 1, 4, 16) against anvil and against the
3-signer geth Clique network (`medchain.network`, 1 s blocks): each client loops
"consent check (eth_call hasAccess) + ConsentRegistry.recordAccess transaction, wait for
its receipt" for a fixed time. Recorded per N: operations per second and p50/p99 latency of
one operation, beside the chain's ceiling (block gas limit / gas per access / block period)
as a ratio. Anvil mines each transaction at once (no block period): its ceiling is not
defined and the figures show the client side alone.

Every client is its own sender (a distinct grantee account, granted by the patient), and
keeps its own nonce: read once, incremented per accepted transaction, so concurrent senders
never reuse or skip one. Transactions are signed locally (eth-account) and sent with
httpx; ape deploys the contracts (the deploy plan's DIDRegistry, RecordRegistry,
ConsentRegistry) and the patient's grants.

`python -m bench.perf_network` writes bench/results/network.json and bench/network.png.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

CLIENTS = (1, 4, 16)
SECONDS = 12.0  # per (target, N)
FIRST_GRANTEE = 10  # test accounts 10..25 are the clients (0..9 play demo roles)
SCOPE = "Observation"
TIP = 10**9  # 1 gwei: geth's txpool accepts remote transactions from 1 gwei tip
MAX_FEE = 50 * 10**9
HERE = Path(__file__).resolve().parent


class Rpc:
    """One HTTP connection per client thread."""

    def __init__(self, url: str):
        self.url = url
        self.http = httpx.Client(timeout=30)
        self.ids = 0

    def __call__(self, method: str, *params: Any) -> Any:
        self.ids += 1
        body = {"jsonrpc": "2.0", "id": self.ids, "method": method, "params": list(params)}
        data = self.http.post(self.url, json=body).json()
        if data.get("error"):
            raise RuntimeError(f"{method}: {data['error']}")
        return data["result"]


def _setup(url: str, n_clients: int) -> dict[str, Any]:
    """Deploy the consent contracts through ape and grant each client's account access."""
    from ape import accounts, networks

    from medchain.consent import ConsentClient
    from medchain.deploy import deploy_all, discover_specs, order_specs
    from medchain.deployments import AddressBook
    from medchain.network.poa import ensure_poa_middleware

    with networks.parse_network_choice(url):
        ensure_poa_middleware()
        test = accounts.test_accounts
        deployer, patient = test[0], test[1]
        wanted = {"DIDRegistry", "RecordRegistry", "ConsentRegistry"}
        specs = order_specs([s for s in discover_specs() if s.name in wanted])
        book = AddressBook(Path(tempfile.mkdtemp(prefix="perf-network-")) / "book")
        ctx, _ = deploy_all(deployer, book, specs=specs, log=lambda _: None)
        registry = ctx.contracts["ConsentRegistry"]
        client = ConsentClient(registry)
        grantees = [test[FIRST_GRANTEE + i] for i in range(n_clients)]
        for grantee in grantees:
            client.grant(patient, grantee, SCOPE, "read", "TREAT", sender=patient)
        return {
            "registry": str(registry.address),
            "patient": str(patient.address),
            "grantees": [(str(g.address), g.private_key) for g in grantees],
        }


def _client_loop(
    url: str,
    chain_id: int,
    setup: dict[str, Any],
    index: int,
    deadline: float,
    latencies: list[float],
    gas: list[int],
    errors: list[str],
) -> None:
    from eth_account import Account
    from eth_utils import to_hex

    from medchain.consent.codes import actions_mask, purpose_index, scope_id

    rpc = Rpc(url)
    address, key = setup["grantees"][index]
    account = Account.from_key(key)
    registry = setup["registry"]
    nonce = int(rpc("eth_getTransactionCount", address, "pending"), 16)
    check = _encode_has_access(
        setup["patient"], address, scope_id(SCOPE), actions_mask("read"), purpose_index("TREAT")
    )
    op = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        allowed = int(rpc("eth_call", {"to": registry, "data": check}, "latest"), 16)
        if allowed != 1:
            errors.append(f"client {index}: consent check said no")
            return
        data = _encode_record(
            setup["patient"],
            scope_id(SCOPE),
            actions_mask("read"),
            purpose_index("TREAT"),
            op,
            index,
        )
        tx = {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "to": registry,
            "data": data,
            "gas": 80_000,
            "maxFeePerGas": MAX_FEE,
            "maxPriorityFeePerGas": TIP,
            "value": 0,
        }
        signed = account.sign_transaction(tx)
        txhash = rpc("eth_sendRawTransaction", to_hex(signed.raw_transaction))
        nonce += 1  # accepted by the pool: this nonce is used, the next one is ours
        while True:
            receipt = rpc("eth_getTransactionReceipt", txhash)
            if receipt is not None:
                break
            if time.perf_counter() > deadline + 60:
                errors.append(f"client {index}: no receipt for {txhash}")
                return
            time.sleep(0.02)
        if int(receipt["status"], 16) != 1:
            errors.append(f"client {index}: recordAccess reverted in {txhash}")
            return
        latencies.append(time.perf_counter() - started)
        gas.append(int(receipt["gasUsed"], 16))
        op += 1


def _encode_has_access(patient: str, grantee: str, scope: bytes, action: int, purpose: int) -> str:
    from eth_abi import encode
    from eth_utils import function_signature_to_4byte_selector

    selector = function_signature_to_4byte_selector(
        "hasAccess(address,address,bytes32,uint8,uint8)"
    )
    return (
        "0x"
        + (
            selector
            + encode(
                ["address", "address", "bytes32", "uint8", "uint8"],
                [patient, grantee, scope, action, purpose],
            )
        ).hex()
    )


def _encode_record(
    patient: str, scope: bytes, action: int, purpose: int, op: int, client: int
) -> str:
    from eth_abi import encode
    from eth_utils import function_signature_to_4byte_selector

    selector = function_signature_to_4byte_selector(
        "recordAccess(address,bytes32,uint8,uint8,bytes32)"
    )
    ref = client.to_bytes(4, "big") + op.to_bytes(28, "big")
    return (
        "0x"
        + (
            selector
            + encode(
                ["address", "bytes32", "uint8", "uint8", "bytes32"],
                [patient, scope, action, purpose, ref],
            )
        ).hex()
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _measure(
    url: str, setup: dict[str, Any], n: int, period: float | None, gas_limit: int
) -> dict[str, Any]:
    chain_id = int(Rpc(url)("eth_chainId"), 16)
    latencies: list[float] = []
    gas: list[int] = []
    errors: list[str] = []
    started = time.perf_counter()
    deadline = started + SECONDS
    threads = [
        threading.Thread(
            target=_client_loop, args=(url, chain_id, setup, i, deadline, latencies, gas, errors)
        )
        for i in range(n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError("; ".join(errors[:3]))
    ops = len(latencies)
    gas_per_access = statistics.median(gas)
    ceiling = gas_limit / gas_per_access / period if period else None
    throughput = ops / wall
    return {
        "clients": n,
        "operations": ops,
        "seconds": round(wall, 2),
        "ops_per_s": round(throughput, 2),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "gas_per_access": int(gas_per_access),
        "ceiling_accesses_per_s": round(ceiling, 1) if ceiling else None,
        "share_of_ceiling": round(throughput / ceiling, 4) if ceiling else None,
    }


def _target(name: str, url: str, period: float | None) -> dict[str, Any]:
    setup = _setup(url, max(CLIENTS))
    rpc = Rpc(url)
    gas_limit = int(rpc("eth_getBlockByNumber", "latest", False)["gasLimit"], 16)
    rows = [_measure(url, setup, n, period, gas_limit) for n in CLIENTS]
    return {"target": name, "block_period_s": period, "block_gas_limit": gas_limit, "runs": rows}


def run() -> dict[str, Any]:
    import os
    import sys

    from medchain.network import create, destroy

    sys.path.insert(0, str(HERE.parent / "tests"))
    from support.anvil import anvil

    results: list[dict[str, Any]] = []
    with anvil("--accounts", "30") as uri:
        results.append(_target("anvil (automine)", uri, None))

    home = tempfile.mkdtemp(prefix="perf-network-home-")
    previous = os.environ.get("MEDCHAIN_HOME")
    os.environ["MEDCHAIN_HOME"] = home
    try:
        from ape import accounts

        funded = [str(a.address) for a in accounts.test_accounts]
        net = create("perf", base_port=None, funded=funded)
        try:
            net.start()
            results.append(_target("geth clique, 3 signers", net.nodes[0].url, float(net.period)))
        finally:
            destroy("perf")
    finally:
        if previous is None:
            os.environ.pop("MEDCHAIN_HOME", None)
        else:
            os.environ["MEDCHAIN_HOME"] = previous
    return {"scenario": __doc__.split("\n\n")[0], "seconds_per_run": SECONDS, "targets": results}


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for color, target in zip(("tab:blue", "tab:orange"), results["targets"], strict=False):
        ns = [r["clients"] for r in target["runs"]]
        name = target["target"]
        left.plot(ns, [r["ops_per_s"] for r in target["runs"]], "o-", color=color, label=name)
        ceiling = target["runs"][0]["ceiling_accesses_per_s"]
        if ceiling:
            left.axhline(ceiling, color=color, linestyle=":", label=f"{name}: chain ceiling")
        right.plot(
            ns, [r["p50_ms"] for r in target["runs"]], "o-", color=color, label=f"{name} p50"
        )
        right.plot(
            ns, [r["p99_ms"] for r in target["runs"]], "x--", color=color, label=f"{name} p99"
        )
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(list(CLIENTS), [str(n) for n in CLIENTS])
        ax.set_xlabel("concurrent clients (one sender each)")
        ax.grid(True, which="both", alpha=0.3)
    left.set_ylabel("check + recordAccess per second")
    left.set_title("throughput")
    right.set_ylabel("latency of one operation (ms)")
    right.set_title("latency (check, send, receipt)")
    left.legend(fontsize=8)
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    """Measure, or with --plot-only redraw the plot from the recorded results."""
    import sys

    out = HERE / "results" / "network.json"
    if "--plot-only" in sys.argv:
        results = json.loads(out.read_text())
    else:
        results = run()
        out.write_text(json.dumps(results, indent=2) + "\n")
    plot(results, HERE / "network.png")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
