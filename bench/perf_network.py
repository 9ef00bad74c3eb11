"""Consent-gated record reads from N concurrent clients (N = 1, 4, 16, 64) against anvil
and against the 3-signer geth Clique network (`medchain.network`, 1 s blocks). Each client
loops, for a fixed time, over one read as the records SDK does it: consent check
(`hasAccess` through eth_call), fetch the client's key envelope and the ciphertext from the
content store (every block checked against its CID), unwrap the data key and decrypt
(sha256 of the ciphertext checked against the anchor), then log the access on chain
(`ConsentRegistry.recordAccess` with the record id) and wait for its receipt. Recorded per
N: reads per second, p50/p99 latency of one whole read and of its off-chain part (check,
fetch, decrypt), the run's duration, beside the chain's ceiling (block gas limit / gas per
access / block period) as a ratio. Anvil mines each transaction at once (no block period):
its ceiling is not defined and its figures show the client side alone.

Set-up through ape and the SDK: the deploy plan's DIDRegistry, RecordRegistry and
ConsentRegistry; the patient grants every client read consent (concurrently, through the
SDK's nonce manager); each 16 KiB record is put with `Records.put` into an embedded store,
sealed to 16 clients' own X25519 keys (RecordRegistry's limit of envelopes per anchor:
four records for 64 clients). Every client is its
own sender (an account of the test mnemonic from index 10, funded by anvil or the Clique
genesis) and keeps its own nonce: read once, incremented per accepted transaction.
Transactions are signed locally (eth-account) and sent with httpx, one connection per
client thread, so the figures are the chain's and the read path's, not ape's. A client
reads the record's anchor and its envelope's CID once (they do not change while the
record is not erased).

`python -m bench.perf_network` writes bench/results/network.json and bench/network.png
(`--plot-only` redraws the plot from the JSON); ~4 minutes here.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CLIENTS = (1, 4, 16, 64)
SECONDS = 10.0  # per (target, N)
FIRST_CLIENT = 10  # mnemonic accounts 10.. are the clients (0..9 play demo roles)
SCOPE = "Observation"
RECORD_BYTES = 16 * 1024  # a lab result bundle
READERS_PER_RECORD = 16  # RecordRegistry anchors at most 16 key envelopes at once
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


@dataclass(frozen=True)
class Record:
    """What a reader learns once from the record's anchor."""

    record_id: bytes
    scope: bytes
    cid: str  # the ciphertext's CID
    content_hash: bytes
    context: Any  # medchain.crypto.EnvelopeContext of the record


@dataclass(frozen=True)
class Client:
    """One reader: its account, the record it reads and the X25519 key its envelope is
    sealed to."""

    address: str
    account_key: bytes
    x25519_private: bytes
    record: Record
    envelope_cid: str


@dataclass(frozen=True)
class Setup:
    consent: str  # ConsentRegistry address
    patient: str
    store: Any  # the EmbeddedStore holding ciphertexts and envelopes
    clients: tuple[Client, ...]


def client_accounts(count: int) -> list[Any]:
    """eth-account keys of the test mnemonic from FIRST_CLIENT (beyond ape's 30 test
    accounts: anvil funds them with --accounts, the Clique genesis with `funded`)."""
    from ape import accounts
    from ape.utils import generate_dev_accounts
    from eth_account import Account

    container = accounts.test_accounts
    keys = generate_dev_accounts(
        container.mnemonic,
        FIRST_CLIENT + count,
        hd_path=container.containers["test"].hd_path,
    )
    return [Account.from_key(k.private_key) for k in keys[FIRST_CLIENT:]]


def _setup(url: str, n_clients: int, folder: Path) -> Setup:
    """Deploy the consent contracts, grant every client read consent and put one record
    sealed to every client, through ape and the SDK."""
    import os

    from ape import accounts, networks

    from medchain.consent import ConsentClient
    from medchain.deploy import deploy_all, discover_specs, order_specs
    from medchain.deployments import AddressBook
    from medchain.keystore import generate_x25519, public_bytes
    from medchain.network.poa import ensure_poa_middleware
    from medchain.records import Journal, Recipient, Records, RecordsClient
    from medchain.storage.embedded import EmbeddedStore

    with networks.parse_network_choice(url):
        ensure_poa_middleware()
        test = accounts.test_accounts
        deployer, patient = test[0], test[1]
        wanted = {"DIDRegistry", "RecordRegistry", "ConsentRegistry"}
        specs = order_specs([s for s in discover_specs() if s.name in wanted])
        ctx, _ = deploy_all(deployer, AddressBook(folder / "book"), specs=specs, log=lambda _: None)
        consent = ConsentClient(ctx.contracts["ConsentRegistry"])
        readers = client_accounts(n_clients)
        with ThreadPoolExecutor(16) as pool:  # 1 s blocks: one grant at a time takes minutes
            done = pool.map(
                lambda who: consent.grant(
                    patient, who.address, SCOPE, "read", "TREAT", sender=patient
                ),
                readers,
            )
            list(done)
        x25519 = [generate_x25519() for _ in readers]
        store = EmbeddedStore(folder / "store")
        records = Records(
            RecordsClient(ctx.contracts["RecordRegistry"], sender=patient),
            store,
            journal=Journal(folder / "journal"),
        )
        clients: list[Client] = []
        for first in range(0, len(readers), READERS_PER_RECORD):
            group = list(zip(readers, x25519, strict=True))[first : first + READERS_PER_RECORD]
            recipients = [Recipient(r.address, public_bytes(k), "reader") for r, k in group]
            put = records.put(os.urandom(RECORD_BYTES), patient=patient, scope=SCOPE,
                              recipients=recipients, sender=patient)  # fmt: skip
            anchor = records.client.record(put.record_id)
            record = Record(
                record_id=put.record_id,
                scope=anchor.scope,
                cid=str(anchor.cid),
                content_hash=anchor.content_hash,
                context=records.context(anchor.record_id, anchor.schema_version),
            )
            clients += [
                Client(
                    r.address,
                    bytes(r.key),
                    k.private_bytes_raw(),
                    record,
                    str(put.envelopes[r.address]),
                )
                for r, k in group
            ]
        return Setup(str(consent.address), str(patient.address), store, tuple(clients))


def read_record(setup: Setup, client: Client) -> bytes:
    """Fetch the client's envelope and the ciphertext (CID-checked), unwrap, decrypt and
    check the ciphertext hash against the anchor: the SDK's `Records.get` path."""
    from medchain.crypto import decrypt_iter, unwrap_key
    from medchain.errors import IntegrityError

    record = client.record
    data_key = unwrap_key(setup.store.cat(client.envelope_cid), client.x25519_private,
                          record.context)  # fmt: skip
    digest = hashlib.sha256()

    def fetched() -> Any:
        for block in setup.store.stream(record.cid):
            digest.update(block)
            yield block

    plaintext = b"".join(decrypt_iter(fetched(), data_key, record.context))
    if digest.digest() != record.content_hash:
        raise IntegrityError("ciphertext of the record does not hash to its anchor")
    return plaintext


def _client_loop(
    url: str,
    chain_id: int,
    setup: Setup,
    index: int,
    deadline: float,
    latencies: list[float],
    reads: list[float],
    gas: list[int],
    errors: list[str],
) -> None:
    from eth_account import Account
    from eth_utils import to_hex

    from medchain.consent.codes import actions_mask, purpose_index

    rpc = Rpc(url)
    client = setup.clients[index]
    account = Account.from_key(client.account_key)
    nonce = int(rpc("eth_getTransactionCount", client.address, "pending"), 16)
    check = _encode_has_access(
        setup.patient,
        client.address,
        client.record.scope,
        actions_mask("read"),
        purpose_index("TREAT"),
    )
    log_access = _encode_record(
        setup.patient,
        client.record.scope,
        actions_mask("read"),
        purpose_index("TREAT"),
        client.record.record_id,
    )
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        allowed = int(rpc("eth_call", {"to": setup.consent, "data": check}, "latest"), 16)
        if allowed != 1:
            errors.append(f"client {index}: consent check said no")
            return
        if len(read_record(setup, client)) != RECORD_BYTES:
            errors.append(f"client {index}: the record decrypted to another length")
            return
        read_done = time.perf_counter()
        tx = {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "to": setup.consent,
            "data": log_access,
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
        reads.append(read_done - started)
        gas.append(int(receipt["gasUsed"], 16))


def _calldata(signature: str, types: list[str], values: list[Any]) -> str:
    """0x-hex calldata of a call to `signature` (e.g. "f(address,uint8)") with `values`."""
    from eth_abi import encode
    from eth_utils import function_signature_to_4byte_selector

    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, values)).hex()


def _encode_has_access(patient: str, grantee: str, scope: bytes, action: int, purpose: int) -> str:
    types = ["address", "address", "bytes32", "uint8", "uint8"]
    return _calldata(
        f"hasAccess({','.join(types)})", types, [patient, grantee, scope, action, purpose]
    )


def _encode_record(patient: str, scope: bytes, action: int, purpose: int, ref: bytes) -> str:
    types = ["address", "bytes32", "uint8", "uint8", "bytes32"]
    return _calldata(
        f"recordAccess({','.join(types)})", types, [patient, scope, action, purpose, ref]
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _measure(
    url: str, setup: Setup, n: int, period: float | None, gas_limit: int
) -> dict[str, Any]:
    chain_id = int(Rpc(url)("eth_chainId"), 16)
    latencies: list[float] = []
    reads: list[float] = []
    gas: list[int] = []
    errors: list[str] = []
    started = time.perf_counter()
    deadline = started + SECONDS
    threads = [
        threading.Thread(
            target=_client_loop,
            args=(url, chain_id, setup, i, deadline, latencies, reads, gas, errors),
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
        "read_p50_ms": round(_percentile(reads, 0.50) * 1000, 1),
        "read_p99_ms": round(_percentile(reads, 0.99) * 1000, 1),
        "gas_per_access": int(gas_per_access),
        "ceiling_accesses_per_s": round(ceiling, 1) if ceiling else None,
        "share_of_ceiling": round(throughput / ceiling, 4) if ceiling else None,
    }


def _target(name: str, url: str, period: float | None) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="perf-network-") as tmp:
        setup = _setup(url, max(CLIENTS), Path(tmp))
        setup_seconds = time.perf_counter() - started
        rpc = Rpc(url)
        gas_limit = int(rpc("eth_getBlockByNumber", "latest", False)["gasLimit"], 16)
        rows = []
        for n in CLIENTS:
            rows.append(_measure(url, setup, n, period, gas_limit))
            print(f"  {name}: {n} clients, {rows[-1]['ops_per_s']} reads/s")
    return {
        "target": name,
        "block_period_s": period,
        "block_gas_limit": gas_limit,
        "setup_seconds": round(setup_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "runs": rows,
    }


def run() -> dict[str, Any]:
    import os
    import sys

    from medchain.network import create, destroy

    sys.path.insert(0, str(HERE.parent / "tests"))
    from support.anvil import anvil  # the tests' helper: anvil on a free port

    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    with anvil("--accounts", str(FIRST_CLIENT + max(CLIENTS))) as uri:
        results.append(_target("anvil (automine)", uri, None))

    home = tempfile.mkdtemp(prefix="perf-network-home-")
    previous = os.environ.get("MEDCHAIN_HOME")
    os.environ["MEDCHAIN_HOME"] = home
    try:
        from ape import accounts

        funded = [str(a.address) for a in accounts.test_accounts]
        funded += [a.address for a in client_accounts(max(CLIENTS))]
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
    return {
        "scenario": __doc__.split("\n\n")[0],
        "record_bytes": RECORD_BYTES,
        "seconds_per_run": SECONDS,
        "seconds": round(time.perf_counter() - started, 1),
        "targets": results,
    }


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
    left.set_ylabel("reads per second (check, fetch, decrypt, log)")
    left.set_title("throughput")
    right.set_ylabel("latency of one operation (ms)")
    right.set_title("latency of one read, up to the recordAccess receipt")
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
