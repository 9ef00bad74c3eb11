"""Export and verification of a 10,000-entry trial log on anvil: the entries (enrollments at
two sites, deviations by a monitor, adverse events) are real transactions sent in batched
JSON-RPC and mined 100 per block; the log is then exported with batched eth_getLogs over
block ranges, verified against the chain, written to a file and verified again from the file
in pure Python. Target: export + verify under 5 s."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

ENTRIES = 10_000
PER_BLOCK = 100
BATCH_BLOCKS = 25  # eth_getLogs block range: ~100 blocks -> several calls
SITE_A, SITE_B = 101, 202
CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def _rpc(uri: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    import httpx

    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    replies = httpx.post(uri, json=body, timeout=120).json()
    errors = [r["error"] for r in replies if "error" in r]
    if errors:
        raise RuntimeError(f"anvil refused: {errors[0]}")
    return [r["result"] for r in sorted(replies, key=lambda r: r["id"])]


def _calldata(signature: str, types: list[str], args: list[Any]) -> str:
    from eth_abi import encode

    from medchain.trials import keccak

    return "0x" + (keccak(signature.encode())[:4] + encode(types, args)).hex()


def _entry(i: int, tid: int, roles: dict[str, Any]) -> tuple[str, str]:
    """(sender, calldata) of the i-th entry: 60% enrollments, 25% deviations, 15% AEs."""
    from medchain.trials import document_hash, severity_code

    subject = document_hash(b"subject %d" % i)
    kind = i % 20
    if kind < 12:
        site, who = (SITE_A, "investigator") if i % 2 else (SITE_B, "investigator2")
        data = _calldata(
            "enroll(uint64,bytes32,uint32,uint16)",
            ["uint64", "bytes32", "uint32", "uint16"],
            [tid, subject, site, 1],
        )
        return roles[who].address, data
    if kind < 17:
        data = _calldata(
            "logDeviation(uint64,uint32,bytes32,bool,bytes32)",
            ["uint64", "uint32", "bytes32", "bool", "bytes32"],
            [tid, SITE_A, subject, kind == 16, document_hash(b"deviation %d" % i)],
        )
        return roles["monitor"].address, data
    data = _calldata(
        "logAdverseEvent(uint64,uint32,bytes32,uint8,bytes32)",
        ["uint64", "uint32", "bytes32", "uint8", "bytes32"],
        [tid, SITE_A, subject, severity_code(1 + i % 5, kind == 19), document_hash(b"ae %d" % i)],
    )
    return roles["investigator"].address, data


def run() -> dict[str, Any]:
    from ape import accounts, chain, networks

    from bench.deploy import deploy_specs
    from medchain.demo import role_accounts
    from medchain.trials import Role, TrialsClient, document_hash, load_log, outcomes_hash
    from medchain.trials import verify_log as verify_file

    with networks.ethereum.local.use_provider("foundry"):
        roles = role_accounts(accounts.test_accounts)
        registry = deploy_specs(roles["deployer"], "TrialRegistry")["TrialRegistry"]
        client = TrialsClient(registry)
        sponsor = roles["sponsor"]
        tid = client.register(
            "NCT09999999",
            document_hash(b"protocol"),
            CID,
            outcomes_hash(["mortality"]),
            [roles["ethics"]],
            sender=sponsor,
        )
        client.grant_role(tid, roles["investigator"], Role.INVESTIGATOR, SITE_A, sender=sponsor)
        client.grant_role(tid, roles["investigator2"], Role.INVESTIGATOR, SITE_B, sender=sponsor)
        client.grant_role(tid, roles["monitor"], Role.MONITOR, sender=sponsor)
        uri = chain.provider.uri
        _, base = client.chain_head(tid)

        started = time.perf_counter()
        _rpc(uri, [("evm_setAutomine", [False])])
        for first in range(0, ENTRIES - base, PER_BLOCK):
            sends = []
            for i in range(first, min(first + PER_BLOCK, ENTRIES - base)):
                sender, data = _entry(i, tid, roles)
                tx = {"from": sender, "to": registry.address, "data": data, "gas": hex(80_000)}
                sends.append(("eth_sendTransaction", [tx]))
            _rpc(uri, sends)
            _rpc(uri, [("evm_mine", [])])
        _rpc(uri, [("evm_setAutomine", [True])])
        build_s = time.perf_counter() - started
        _, count = client.chain_head(tid)
        if count != ENTRIES:
            raise RuntimeError(
                f"built {count} entries, wanted {ENTRIES} (some transactions reverted)"
            )
        blocks = chain.blocks.head.number - client.trial(tid).registered_block + 1

        started = time.perf_counter()
        log = client.export(tid, batch_blocks=BATCH_BLOCKS)
        export_s = time.perf_counter() - started
        started = time.perf_counter()
        report = client.verify(log)
        verify_chain_s = time.perf_counter() - started

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "trial.json"
            path.write_text(json.dumps(log))
            size = path.stat().st_size
            started = time.perf_counter()
            verify_file(load_log(path))
            verify_file_s = time.perf_counter() - started

    return {
        "entries": count,
        "blocks_spanned": blocks,
        "eth_getLogs_calls": -(-blocks // BATCH_BLOCKS),
        "build_entries_on_anvil_s": round(build_s, 2),
        "export_s": round(export_s, 3),
        "verify_against_chain_s": round(verify_chain_s, 3),
        "export_plus_verify_s": round(export_s + verify_chain_s, 3),
        "verify_file_pure_python_s": round(verify_file_s, 3),
        "log_file_bytes": size,
        "target_s": 5.0,
        "meets_target": export_s + verify_chain_s < 5.0,
        "serious_adverse_events": report.serious_adverse_events,
        "enrollments": report.enrollments,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
