"""keccak256 backends measured side by side (the figure behind `medchain.hashing`'s choice of
backend): ns per call on a 64-byte input, timeit over the same input for each backend that
is installed. `python -m bench.perf_hashing` writes bench/results/hashing.json; `make bench`
runs it with the other perf_ modules."""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

CALLS = 200_000
DATA = bytes(range(64))


def _backends() -> dict[str, Callable[[bytes], bytes]]:
    found: dict[str, Callable[[bytes], bytes]] = {}
    try:
        import sha3  # safe-pysha3

        found[f"pysha3 (safe-pysha3 {version('safe-pysha3')})"] = lambda d: sha3.keccak_256(
            d
        ).digest()
    except ImportError:
        pass
    from Crypto.Hash import keccak as pycryptodome

    found[f"pycryptodome {version('pycryptodome')}"] = lambda d: pycryptodome.new(
        digest_bits=256, data=d
    ).digest()
    from eth_hash.auto import keccak as eth_hash_keccak

    found[f"eth_hash.auto {version('eth-hash')}"] = eth_hash_keccak
    from eth_utils import keccak as eth_utils_keccak

    found["eth_utils.keccak"] = lambda d: eth_utils_keccak(d)
    return found


def run() -> dict[str, Any]:
    from medchain.hashing import KECCAK_BACKEND, keccak

    backends = _backends()
    expected = keccak(DATA)
    ns = {}
    for name, fn in backends.items():
        assert fn(DATA) == expected, f"{name} disagrees with medchain.hashing.keccak"
        best = min(timeit.repeat(lambda fn=fn: fn(DATA), number=CALLS, repeat=3))
        ns[name] = round(best / CALLS * 1e9)
    return {
        "what": f"keccak256 of a 64-byte input, ns per call (timeit, best of 3 x {CALLS} calls)",
        "ns_per_call": ns,
        "fastest": min(ns, key=ns.__getitem__),
        "medchain_backend": KECCAK_BACKEND,
    }


if __name__ == "__main__":
    from bench.run import record_figures

    print(json.dumps(record_figures("hashing", run)["figures"], indent=2))
