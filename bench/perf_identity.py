"""Resolution time of a did:ethr DID with 1,000 changes (each in its own block) on anvil:
this resolver (batched eth_getLogs over block ranges) against the canonical walk of the
previousChange list (one eth_getLogs per changed block, as ethr-did-resolver does).
Target: under 2 s for the batched resolver."""

from __future__ import annotations

import statistics
import time
from typing import Any

from eth_abi import encode
from eth_utils import keccak

CHANGES = 1_000
DAY = 86_400


def _call(fn: str, types: list[str], args: list[Any]) -> str:
    return "0x" + (keccak(text=fn)[:4] + encode(types, args)).hex()


def _name(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


def _walk(resolver: Any, address: str) -> int:
    """The canonical algorithm: follow previousChange one block at a time."""
    from medchain.identity.resolver import did_event

    topic = "0x" + (bytes(12) + bytes.fromhex(address[2:])).hex()
    block = resolver.changed(address)
    events = 0
    while block:
        decoded = [did_event(e) for e in resolver.reader.read(block, block, topics=[topic])]
        events += len(decoded)
        block = min(e.previous_change for e in decoded)
    return events


def run() -> dict[str, Any]:
    from ape import accounts, chain, networks

    from bench.deploy import deploy_specs
    from medchain.identity import DIDResolver, format_did

    with networks.ethereum.local.use_provider("foundry"):
        owner = accounts.test_accounts[1]
        registry = deploy_specs(accounts.test_accounts[0], "DIDRegistry")["DIDRegistry"]
        web3 = chain.provider.web3
        me = owner.address
        delegate = accounts.test_accounts[2].address
        started = time.perf_counter()
        for i in range(CHANGES):
            kind = i % 4
            if kind == 0:
                data = _call(
                    "addDelegate(address,bytes32,address,uint256)",
                    ["address", "bytes32", "address", "uint256"],
                    [me, _name("veriKey"), delegate, DAY],
                )
            elif kind == 1:
                data = _call(
                    "setAttribute(address,bytes32,bytes,uint256)",
                    ["address", "bytes32", "bytes", "uint256"],
                    [me, _name("did/pub/X25519/enc/base64"), i.to_bytes(32, "big"), DAY],
                )
            elif kind == 2:
                data = _call(
                    "setAttribute(address,bytes32,bytes,uint256)",
                    ["address", "bytes32", "bytes", "uint256"],
                    [me, _name(f"did/svc/S{i % 10}"), f"https://s{i}".encode(), DAY],
                )
            else:
                data = _call(
                    "revokeAttribute(address,bytes32,bytes)",
                    ["address", "bytes32", "bytes"],
                    [me, _name("did/pub/X25519/enc/base64"), (i - 2).to_bytes(32, "big")],
                )
            web3.eth.send_transaction(
                {"from": me, "to": registry.address, "data": data, "gas": 200_000}
            )
        setup = time.perf_counter() - started
        did = format_did(me, chain.chain_id)
        batched, walked = [], []
        for _ in range(3):
            resolver = DIDResolver(web3, registry.address, chain.chain_id)
            t0 = time.perf_counter()
            result = resolver.resolve(did)
            batched.append(time.perf_counter() - t0)
            queries = resolver.log_queries
            t0 = time.perf_counter()
            walked_events = _walk(resolver, me)
            walked.append(time.perf_counter() - t0)
        history = DIDResolver(web3, registry.address, chain.chain_id).history(me)
        return {
            "changes": CHANGES,
            "events_in_history": len(history),
            "blocks_with_changes": len({e.block_number for e in history}),
            "setup_seconds": round(setup, 2),
            "resolve_seconds_median": round(statistics.median(batched), 3),
            "resolve_seconds_runs": [round(t, 3) for t in batched],
            "resolve_eth_getLogs_calls": queries,
            "walk_seconds_median": round(statistics.median(walked), 3),
            "walk_eth_getLogs_calls": len({e.block_number for e in history}),
            "walk_events": walked_events,
            "target_seconds": 2.0,
            "verification_methods": len(result.did_document["verificationMethod"]),
            "services": len(result.did_document.get("service", [])),
        }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
