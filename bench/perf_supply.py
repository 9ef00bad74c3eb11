"""Lot tree timings in pure Python: leaves, tree and every proof of a 1,000,000-serial lot
(target: under 15 s on this machine), with a 10,000-serial lot for scale, the keccak
backend used, single-proof lookup, and a proof check of a sample; plus GS1 parsing
throughput for scanned element strings and Digital Links."""

from __future__ import annotations

import random
import time
from typing import Any

from medchain.supply import (
    KECCAK_BACKEND,
    ProductIdentifier,
    lot_leaves,
    make_gtin,
    process_proof,
    product_identifier,
)
from medchain.supply.merkle import MerkleTree

GTIN = make_gtin("0614141", "52341")


def _lot(n: int) -> dict[str, Any]:
    serials = [f"SN{i:010d}" for i in range(n)]
    c0 = time.process_time()
    t0 = time.perf_counter()
    leaves = lot_leaves(GTIN, "LOT2026A", "281130", serials)
    t1 = time.perf_counter()
    tree = MerkleTree(leaves)
    t2 = time.perf_counter()
    proofs = tree.all_proofs()
    t3 = time.perf_counter()
    c3 = time.process_time()
    sample = random.Random(7).sample(range(n), min(n, 1_000))
    ok = all(process_proof(leaves[i], proofs.proof(i)) == tree.root for i in sample)
    t4 = time.perf_counter()
    one = tree.proof(n // 3)
    t5 = time.perf_counter()
    return {
        "serials": n,
        "depth": tree.depth,
        "leaves_s": round(t1 - t0, 3),
        "tree_s": round(t2 - t1, 3),
        "all_proofs_s": round(t3 - t2, 3),
        "total_tree_and_all_proofs_s": round(t3 - t0, 3),
        # CPU seconds of this process: the machine's 2 cores are shared, so wall time
        # includes waiting for a core.
        "total_cpu_s": round(c3 - c0, 3),
        "proofs_bytes": int(proofs.siblings.nbytes + proofs.present.nbytes),
        "sample_proofs_checked": len(sample),
        "sample_check_s": round(t4 - t3, 3),
        "sample_all_valid": ok,
        "single_proof_us": round((t5 - t4) * 1e6, 1),
        "single_proof_len": len(one),
    }


def _parsing(n: int = 20_000) -> dict[str, Any]:
    pids = [ProductIdentifier(GTIN, f"S{i:08d}", "LOT2026A", "281130") for i in range(n)]
    raw = [p.element_string(parentheses=False) for p in pids]
    links = [p.digital_link() for p in pids]
    t0 = time.perf_counter()
    for text in raw:
        product_identifier(text)
    t1 = time.perf_counter()
    for text in links:
        product_identifier(text)
    t2 = time.perf_counter()
    return {
        "scans": n,
        "element_string_per_s": round(n / (t1 - t0)),
        "digital_link_per_s": round(n / (t2 - t1)),
    }


def run() -> dict[str, Any]:
    small = _lot(10_000)
    big = _lot(1_000_000)
    return {
        "keccak_backend": KECCAK_BACKEND,
        "lot_10k": small,
        "lot_1m": big,
        "target_1m_s": 15,
        "meets_target": big["total_tree_and_all_proofs_s"] < 15,
        "gs1_parsing": _parsing(),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
