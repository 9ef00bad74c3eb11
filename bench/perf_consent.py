"""Consent checks per second from Python against anvil (target >= 1,000/s):

* batched: `ConsentClient.check_many` (eth_calls in JSON-RPC batches of 500, one block);
* one call per check through the SDK (`check_many(batch=False)`, i.e. ape's call path);
* one raw HTTP eth_call per check (httpx, no batching), to separate ape's overhead
  from the round trips.
All three answer the same questions in the same run and must agree.
"""

from __future__ import annotations

import time
from typing import Any

BATCHED_CHECKS = 5_000
SINGLE_CHECKS = 500


def _questions(roles: dict[str, Any], count: int) -> list[Any]:
    from medchain.consent import Check

    scopes = ["category:laboratory", "Observation", "DiagnosticReport", "Condition"]
    grantees = [roles[r].address for r in ("provider", "researcher", "lab", "pharmacy")]
    purposes = ["TREAT", "HRESCH", "ETREAT"]
    return [
        Check(
            roles["patient"].address,
            grantees[i % 4],
            scopes[(i // 4) % 4],
            "read" if i % 2 else "write",
            purposes[(i // 16) % 3],
        )
        for i in range(count)
    ]


def run() -> dict[str, Any]:
    from ape import accounts, networks

    from bench.deploy import deploy_specs
    from medchain.consent import ConsentClient
    from medchain.consent.client import _http_uri
    from medchain.demo import role_accounts

    with networks.ethereum.local.use_provider("foundry"):
        roles = role_accounts(accounts.test_accounts)
        deployer, patient = roles["deployer"], roles["patient"]
        contracts = deploy_specs(deployer, "DIDRegistry", "RecordRegistry", "ConsentRegistry")
        registry = contracts["ConsentRegistry"]
        client = ConsentClient(registry)
        client.grant(
            patient, roles["provider"], "category:laboratory", "read", "TREAT", sender=patient
        )
        client.grant(patient, roles["researcher"], "*", "read", "HRESCH", sender=patient)
        client.grant(patient, roles["lab"], "Observation", "write", "TREAT", sender=patient)
        client.grant(patient, roles["lab"], "*", "write", "all", deny=True, sender=patient)

        questions = _questions(roles, BATCHED_CHECKS)
        client.check_many(questions[:100])  # warm up connections and caches

        started = time.perf_counter()
        batched = client.check_many(questions)
        batched_s = time.perf_counter() - started

        started = time.perf_counter()
        single = client.check_many(questions[:SINGLE_CHECKS], batch=False)
        single_s = time.perf_counter() - started

        raw_s = _raw_single(client, _http_uri() or "", questions[:SINGLE_CHECKS])

        if batched[:SINGLE_CHECKS] != single:
            raise RuntimeError("batched and single checks disagree")
        return {
            "checks_batched": BATCHED_CHECKS,
            "batched_checks_per_s": round(BATCHED_CHECKS / batched_s),
            "checks_single": SINGLE_CHECKS,
            "sdk_single_call_checks_per_s": round(SINGLE_CHECKS / single_s),
            "raw_http_single_call_checks_per_s": round(SINGLE_CHECKS / raw_s),
            "batched_over_sdk_single": round(
                single_s / SINGLE_CHECKS * BATCHED_CHECKS / batched_s, 1
            ),
            "allowed_fraction": round(sum(batched) / len(batched), 3),
            "target_checks_per_s": 1_000,
            "node": "anvil (ape-foundry), same machine",
        }


def _raw_single(client: Any, uri: str, questions: list[Any]) -> float:
    """One HTTP request per eth_call, no batching."""
    import httpx
    from eth_abi import encode
    from eth_utils import function_signature_to_4byte_selector

    from medchain.codec import scope_code
    from medchain.consent import actions_mask, purpose_index

    selector = function_signature_to_4byte_selector(
        "hasAccess(address,address,bytes32,uint8,uint8)"
    )
    with httpx.Client(timeout=30) as http:
        started = time.perf_counter()
        for i, q in enumerate(questions):
            data = selector + encode(
                ["address", "address", "bytes32", "uint8", "uint8"],
                [
                    q.patient,
                    q.grantee,
                    scope_code(q.scope),
                    actions_mask(q.action),
                    purpose_index(q.purpose),
                ],
            )
            body = {
                "jsonrpc": "2.0",
                "id": i,
                "method": "eth_call",
                "params": [{"to": client.address, "data": "0x" + data.hex()}, "latest"],
            }
            http.post(uri, json=body).raise_for_status()
        return time.perf_counter() - started
