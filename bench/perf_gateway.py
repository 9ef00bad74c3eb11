"""The FHIR gateway and the indexer against anvil (one run, one chain):

* consent-gated reads (`GET /Observation/{id}`: live hasAccess, recordAccess mined, key
  unwrapped and the record decrypted in process) per second with p50/p99 latency, for 1,
  8 and 32 concurrent clients (async httpx) against the gateway on uvicorn; beside the
  same reads through the SDK directly (`Records.read_access` + `Records.get`, one client):
  the ratio is gateway (1 client) / SDK;
* list queries at 10,000 and 100,000 consent events (`SIZES`): grants by grantee through
  `medchain.logs.LogReader` with the index (`MEDCHAIN_INDEX`: SQL for the indexed blocks,
  the node for the tail) and straight from the index (`Indexer.grants_to`), against the
  event-scan path (the same reader without an index: `eth_getLogs` from block 0 with the
  grantee topic, decoded), with the time the events took to create and to index.
Grants are created the cheap way anvil allows: `eth_sendTransaction` from the patient's
unlocked dev account (no signing in Python), sent in JSON-RPC batches with automine off
and mined PER_BLOCK to a block (`evm_mine`), on an anvil of their own started with
`--prune-history` (anvil otherwise keeps every block's state in memory: 100,000 grants
took it past 22 GB and the kernel killed it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SIZES = (10_000, 100_000)  # consent events on chain for the list-query figures
GRANTEES = 10  # each grantee gets 1 / GRANTEES of the grants
PER_BLOCK = 250
READS = {1: 60, 8: 160, 32: 320}
SDK_READS = 60
QUERY_REPEATS = 5


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(latencies: list[float], wall: float) -> dict[str, Any]:
    return {
        "reads": len(latencies),
        "per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(_pct(latencies, 0.50) * 1000, 1),
        "p99_ms": round(_pct(latencies, 0.99) * 1000, 1),
    }


async def _load(base: str, token: str, ids: list[str], clients: int, total: int) -> Any:
    import httpx

    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "X-Purpose-Of-Use": "TREAT"}
    queue = list(range(total))

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:

        async def worker() -> None:
            while queue:
                i = queue.pop()
                started = time.perf_counter()
                answer = await http.get(f"Observation/{ids[i % len(ids)]}")
                latencies.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return latencies, time.perf_counter() - started


def _generate_grants(uri: str, patient: str, registry: Any, first: int, count: int) -> None:
    """Grants `first` .. `first + count - 1` from the patient to GRANTEES grantees, each on
    a new scope (so each is a new provision and one ConsentGranted event); `registry` is
    the address book's entry (address and ABI)."""
    import httpx
    from eth_abi import encode
    from eth_utils import keccak, to_checksum_address

    from medchain.codec import scope_code

    (grant,) = [i for i in registry.abi if i.get("type") == "function" and i["name"] == "grant"]
    types = [str(i["type"]) for i in grant["inputs"]]
    selector = keccak(text=f"grant({','.join(types)})")[:4]
    address = to_checksum_address(registry.address)
    rpc = httpx.Client(timeout=600)

    def call(method: str, params: list[Any]) -> Any:
        answer = rpc.post(uri, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})  # fmt: skip
        return answer.json()["result"]

    # explicit nonces: a batch's requests are handled concurrently by anvil
    nonce = int(call("eth_getTransactionCount", [patient, "pending"]), 16)
    call("evm_setAutomine", [False])
    try:
        for start in range(first, first + count, PER_BLOCK):
            batch = []
            for i in range(start, min(first + count, start + PER_BLOCK)):
                grantee = to_checksum_address((1_000_000 + i % GRANTEES).to_bytes(20, "big"))
                args = encode(
                    types, [patient, grantee, scope_code(f"bench|{i}"), 1, 1, 0, 2**40 - 1]
                )
                tx = {"from": patient, "to": address, "data": "0x" + (selector + args).hex(),
                      "gas": hex(200_000), "nonce": hex(nonce)}  # fmt: skip
                nonce += 1
                batch.append({"jsonrpc": "2.0", "id": i, "method": "eth_sendTransaction",
                              "params": [tx]})  # fmt: skip
            answers = rpc.post(uri, json=batch).json()
            errors = [a["error"] for a in answers if "error" in a]
            assert not errors, errors[:3]
            call("evm_mine", [])
            last = call("eth_getTransactionReceipt", [answers[-1]["result"]])
            assert last is not None and int(last["status"], 16) == 1, last
            if (start + PER_BLOCK) % 10_000 == 0:
                print(f"perf_gateway: {start + PER_BLOCK} grants", file=sys.stderr, flush=True)
    finally:
        call("evm_setAutomine", [True])
        rpc.close()


@contextlib.contextmanager
def _pruned_anvil() -> Iterator[str]:
    """anvil on a free loopback port that keeps no historical states (logs and receipts
    stay); yields its URI."""
    import socket
    import subprocess

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        ["anvil", "--host", "127.0.0.1", "--port", str(port), "--silent", "--prune-history",
         "--accounts", "20", "--chain-id", "31339"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.post(uri, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId",
                                      "params": []}, timeout=5)  # fmt: skip
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("anvil did not start") from None
                time.sleep(0.2)
        yield uri
    finally:
        process.terminate()
        process.wait(timeout=30)


def _list_query_figures(tmp: Path) -> dict[str, Any]:
    """Grants by grantee at each of SIZES consent events on a pruned anvil holding the
    identity, records and consent registries."""
    from ape import accounts, networks
    from web3 import HTTPProvider, Web3

    from bench.deploy import deploy_specs
    from medchain.deployments import AddressBook
    from medchain.indexer import Indexer

    lists: dict[str, Any] = {
        "method": f"eth_sendTransaction from the patient's unlocked anvil account, "
        f"{PER_BLOCK} grant transactions per block (automine off, JSON-RPC batches, evm_mine), "
        "anvil --prune-history; the index follows after each size is reached",
    }
    with _pruned_anvil() as uri, networks.parse_network_choice(uri):
        deployer, patient = accounts.test_accounts[0], str(accounts.test_accounts[1].address)
        book = AddressBook(tmp / "lists-book")
        deploy_specs(deployer, "DIDRegistry", "RecordRegistry", "ConsentRegistry", book=book)
        web3 = Web3(HTTPProvider(uri, request_kwargs={"timeout": 600}))
        db = tmp / "lists-index.db"
        indexer = Indexer.for_book(web3, book, f"sqlite:///{db}")
        made, generating = 0, 0.0
        for size in SIZES:
            started = time.perf_counter()
            _generate_grants(uri, patient, book.get("ConsentRegistry"), made, size - made)
            generating += time.perf_counter() - started
            made = size
            started = time.perf_counter()
            indexer.sync()
            indexing = time.perf_counter() - started
            lists[f"{size}_events"] = {
                "create_seconds_total": round(generating, 1),
                "index_seconds_step": round(indexing, 1),
                "blocks": web3.eth.block_number,
                "grants_by_grantee": _list_queries(web3, book, indexer, db),
            }
    return lists


def _list_queries(web3: Any, book: Any, indexer: Any, db: Path) -> dict[str, Any]:
    """Grants by grantee three ways, each the median of QUERY_REPEATS runs; the answers
    must be the same."""
    from eth_utils import to_checksum_address

    from medchain.logs import reader_for_book

    grantee = to_checksum_address((1_000_000).to_bytes(20, "big"))
    query = {"names": ("ConsentGranted", "ConsentDenied", "ConsentRevoked"),
             "where": {"grantee": grantee}}  # fmt: skip
    scan = reader_for_book(web3, book, ["ConsentRegistry"], window=100_000, index=False)
    served = reader_for_book(web3, book, ["ConsentRegistry"], window=100_000, index=str(db))

    def timed(fn: Any) -> tuple[float, Any]:
        times, answer = [], None
        for _ in range(QUERY_REPEATS):
            t0 = time.perf_counter()
            answer = fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times), answer

    scanned, by_scan = timed(lambda: scan.read(**query))
    through_reader, by_reader = timed(lambda: served.read(**query))
    direct, by_sql = timed(lambda: indexer.grants_to(grantee))
    assert by_reader == by_scan and len(by_sql) == len(by_scan), (len(by_reader), len(by_scan))
    return {
        "rows": len(by_scan),
        "event_scan_ms": round(scanned * 1000, 1),
        "event_scan_getlogs_per_query": scan.queries // QUERY_REPEATS,
        "indexed_reader_ms": round(through_reader * 1000, 1),
        "indexed_reader_getlogs_per_query": served.queries // QUERY_REPEATS,
        "indexed_sql_ms": round(direct * 1000, 1),
        "speedup_reader": round(scanned / through_reader, 1),
        "speedup_sql": round(scanned / direct, 1),
    }


def run() -> dict[str, Any]:
    import uvicorn
    from ape import accounts, networks
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
    from web3 import HTTPProvider, Web3

    from medchain.consent import ConsentClient
    from medchain.demo import role_accounts
    from medchain.deploy import deploy_all
    from medchain.deployments import AddressBook
    from medchain.gateway import Gateway
    from medchain.gateway.app import create_app
    from medchain.gateway.auth import ASSERTION_TYPE, ClientRegistration, client_assertion
    from medchain.gateway.chain import Chain
    from medchain.identity.client import DIDRegistryClient
    from medchain.identity.did import format_did
    from medchain.indexer import Indexer
    from medchain.keystore import X25519_ENC_ATTRIBUTE, generate_x25519, public_bytes
    from medchain.records import Recipient, Records, RecordsClient
    from medchain.storage.embedded import EmbeddedStore

    out: dict[str, Any] = {"grantees": GRANTEES}
    with (
        networks.ethereum.local.use_provider("foundry") as provider_,
        tempfile.TemporaryDirectory() as tmp_name,
    ):
        tmp = Path(tmp_name)
        uri = provider_.uri
        roles = role_accounts(accounts.test_accounts)
        book = AddressBook(tmp / "book")
        ctx, _ = deploy_all(roles["deployer"], book, accounts=roles, log=lambda _: None)
        dids = DIDRegistryClient(ctx.contracts["DIDRegistry"])
        x25519 = {}
        for role in ("patient", "provider"):
            x25519[role] = generate_x25519()
            dids.set_attribute(roles[role], X25519_ENC_ATTRIBUTE, public_bytes(x25519[role]),
                               365 * 86400, sender=roles[role])  # fmt: skip
        store = EmbeddedStore(tmp / "ipfs")
        patient = str(roles["patient"].address)
        records = Records(RecordsClient(ctx.contracts["RecordRegistry"], roles["patient"], book),
                          store, chain_id=31337)  # fmt: skip
        ids = []
        for i in range(5):
            body = {"resourceType": "Observation", "status": "final",
                    "code": {"text": f"bench {i}"}, "subject": {"reference": f"Patient/{patient}"}}  # fmt: skip
            put = records.put(json.dumps(body).encode(), patient=patient, scope="Observation",
                              recipients=[Recipient(str(roles[r].address), public_bytes(x25519[r]), r)
                                          for r in ("patient", "provider")],
                              sender=roles["patient"])  # fmt: skip
            ids.append("0x" + put.record_id.hex())
        consent = ConsentClient(ctx.contracts["ConsentRegistry"], roles["patient"])
        consent.grant(patient, roles["provider"], "Observation", "read", "TREAT")

        web3 = Web3(HTTPProvider(uri))
        indexer = Indexer.for_book(web3, book, f"sqlite:///{tmp / 'index.db'}")
        provider_key = bytes.fromhex(roles["provider"].private_key[2:])
        x_raw = x25519["provider"].private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        did = format_did(str(roles["provider"].address), 31337)
        gateway = Gateway(Chain.from_book(web3, book), store, indexer,
                          [ClientRegistration(did, ["system/*.rs"], provider_key, x_raw)],
                          journal_dir=tmp / "journal")  # fmt: skip
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(gateway), host="127.0.0.1", port=port,
                                               log_level="warning"))  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}/"
        try:
            import httpx

            form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": client_assertion(did, provider_key, f"{base}token"),
                    "scope": "system/Observation.rs"}  # fmt: skip
            token = httpx.post(f"{base}token", data=form, timeout=30).json()["access_token"]
            asyncio.run(_load(base, token, ids, 1, 5))  # warm up
            reads: dict[str, Any] = {}
            for clients, total in READS.items():
                latencies, wall = asyncio.run(_load(base, token, ids, clients, total))
                reads[f"gateway_{clients}_clients"] = _summary(latencies, wall)

            reader_records = Records(
                RecordsClient(ctx.contracts["RecordRegistry"], roles["provider"], book), store,
                chain_id=31337,
            )  # fmt: skip
            sdk_lat = []
            started = time.perf_counter()
            for i in range(SDK_READS):
                t0 = time.perf_counter()
                rid = bytes.fromhex(ids[i % len(ids)][2:])
                reader_records.read_access(rid, reader=roles["provider"], purpose="TREAT")
                reader_records.get(rid, recipient=roles["provider"], private_key=x25519["provider"])
                sdk_lat.append(time.perf_counter() - t0)
            reads["sdk_1_client"] = _summary(sdk_lat, time.perf_counter() - started)
            reads["gateway_1_over_sdk"] = round(
                reads["gateway_1_clients"]["per_second"] / reads["sdk_1_client"]["per_second"], 2
            )
            out["reads"] = reads
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    with tempfile.TemporaryDirectory() as lists_tmp:  # after the reads' node is stopped
        out["list_queries"] = _list_query_figures(Path(lists_tmp))
    return out


if __name__ == "__main__":  # python -m bench.perf_gateway: this module only, same format
    from bench.run import record_figures

    print(json.dumps(record_figures("gateway", run), indent=2))
