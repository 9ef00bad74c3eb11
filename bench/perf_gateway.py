"""The FHIR gateway and the indexer against anvil (one run, one chain):

* consent-gated reads (`GET /Observation/{id}`: live hasAccess, recordAccess mined, key
  unwrapped and the record decrypted in process) per second with p50/p99 latency, for 1,
  8 and 32 concurrent clients (async httpx) against the gateway on uvicorn; beside the
  same reads through the SDK directly (`Records.read_access` + `Records.get`, one client):
  the ratio is gateway (1 client) / SDK;
* list queries at GRANTS consent events: grants by grantee from the index
  (`Indexer.grants_to`) against the event-scan path (`eth_getLogs` over the whole chain
  with the grantee topic, decoded: what `medchain.logs` does without an index).
Grants are generated cheaply: raw signed transactions in JSON-RPC batches, mined 200 per
block with automine off.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

GRANTS = 10_000
GRANTEES = 10  # each grantee gets GRANTS / GRANTEES grants
PER_BLOCK = 200
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


def _generate_grants(uri: str, key: bytes, patient: str, registry: Any, count: int) -> None:
    import httpx
    from eth_account import Account
    from eth_utils import to_checksum_address

    from medchain.consent.codes import scope_id

    account = Account.from_key(key)
    rpc = httpx.Client(timeout=120)

    def call(method: str, params: list[Any]) -> Any:
        return rpc.post(uri, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()["result"]  # fmt: skip

    nonce = int(call("eth_getTransactionCount", [account.address, "pending"]), 16)
    gas_price = int(call("eth_gasPrice", []), 16) * 2
    call("evm_setAutomine", [False])
    try:
        for first in range(0, count, PER_BLOCK):
            batch = []
            for i in range(first, min(count, first + PER_BLOCK)):
                grantee = to_checksum_address((1_000_000 + i % GRANTEES).to_bytes(20, "big"))
                scope = scope_id(f"bench|{i}")  # a new (grantee, scope) key each time
                data = registry.functions.grant(
                    patient, grantee, scope, 1, 1, 0, 2**40 - 1
                )._encode_transaction_data()
                tx = {"to": registry.address, "data": data, "gas": 200_000, "gasPrice": gas_price,
                      "nonce": nonce, "chainId": 31337, "value": 0}  # fmt: skip
                nonce += 1
                raw = account.sign_transaction(tx).raw_transaction
                batch.append({"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction",
                              "params": ["0x" + raw.hex()]})  # fmt: skip
            answers = rpc.post(uri, json=batch).json()
            errors = [a["error"] for a in answers if "error" in a]
            assert not errors, errors[:3]
            call("evm_mine", [])
    finally:
        call("evm_setAutomine", [True])
        rpc.close()


def run() -> dict[str, Any]:
    import uvicorn
    from ape import accounts, networks
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
    from eth_utils import to_checksum_address
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
    from medchain.logs import reader_for_book
    from medchain.records import Recipient, Records, RecordsClient
    from medchain.storage.embedded import EmbeddedStore

    out: dict[str, Any] = {"grants": GRANTS, "grantees": GRANTEES}
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

        # -- list queries at GRANTS events ---------------------------------------------
        started = time.perf_counter()
        entry = book.get("ConsentRegistry")
        registry = web3.eth.contract(address=to_checksum_address(entry.address), abi=entry.abi)
        _generate_grants(uri, bytes.fromhex(roles["patient"].private_key[2:]), patient, registry,
                         GRANTS)  # fmt: skip
        out["generate_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        indexer.sync()
        out["index_seconds"] = round(time.perf_counter() - started, 1)
        grantee = to_checksum_address((1_000_000).to_bytes(20, "big"))
        topic = "0x" + grantee[2:].lower().rjust(64, "0")
        reader = reader_for_book(web3, book, ["ConsentRegistry"], window=100_000)

        def timed(fn: Any) -> tuple[float, int]:
            times, n = [], 0
            for _ in range(QUERY_REPEATS):
                t0 = time.perf_counter()
                n = len(fn())
                times.append(time.perf_counter() - t0)
            return statistics.median(times), n

        indexed, n_indexed = timed(lambda: indexer.grants_to(grantee))
        scanned, n_scanned = timed(
            lambda: [e for e in reader.read(0, topics=[None, topic])
                     if e.name in ("ConsentGranted", "ConsentDenied", "ConsentRevoked")]
        )  # fmt: skip
        assert n_indexed == n_scanned == GRANTS // GRANTEES, (n_indexed, n_scanned)
        out["grants_by_grantee"] = {
            "rows": n_indexed,
            "indexed_ms": round(indexed * 1000, 1),
            "event_scan_ms": round(scanned * 1000, 1),
            "speedup": round(scanned / indexed, 1),
        }
    return out


if __name__ == "__main__":  # python -m bench.perf_gateway: this module only, same format
    import datetime as dt

    began = time.perf_counter()
    figures = run()
    record = {
        "domain": "gateway",
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - began, 2),
        "figures": figures,
    }
    print(json.dumps(record, indent=2))
    (Path(__file__).with_name("results") / "gateway.json").write_text(
        json.dumps(record, indent=2) + "\n"
    )
