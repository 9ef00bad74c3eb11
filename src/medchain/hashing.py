"""Keccak-256 and ABI selectors: the SDK's one implementation of each (EIP-712 typed
data, built on them, is `medchain.eip712`).

`keccak` runs on the fastest backend installed: safe-pysha3, about 10x faster per call
than pycryptodome, eth_hash and eth_utils (`python -m bench.perf_hashing` measures them
side by side into bench/results/hashing.json). Merkle trees of a lot of millions of
serials hash twice per leaf, so that matters there. pysha3 is optional: without it
pycryptodome (a dependency of eth-account) is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _keccak_backend() -> tuple[str, Callable[[bytes], Any]]:
    try:
        import sha3  # type: ignore[import-not-found]

        return "pysha3", sha3.keccak_256
    except ImportError:
        from Crypto.Hash import keccak as _pycryptodome

        return "pycryptodome", lambda data: _pycryptodome.new(digest_bits=256, data=data)


# `keccak_new(data).digest()` is keccak256(data). Hot loops (Merkle levels of millions of
# nodes) call the constructor directly: a wrapper call per hash costs ~15 % there.
KECCAK_BACKEND, keccak_new = _keccak_backend()


def keccak(data: bytes | bytearray | memoryview) -> bytes:
    """keccak256 of some bytes (Ethereum's hash, not NIST SHA3-256)."""
    return bytes(keccak_new(bytes(data)).digest())


def keccak_text(text: str) -> bytes:
    """keccak256 of a string's UTF-8 bytes (role ids, event topics, namespaced ids)."""
    return bytes(keccak_new(text.encode()).digest())


def selector(signature: str) -> bytes:
    """The 4-byte selector of a function or error signature, e.g. "transfer(address,uint256)"."""
    return keccak_text(signature.replace(" ", ""))[:4]
