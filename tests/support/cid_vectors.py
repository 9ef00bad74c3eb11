"""The IPFS CID vectors (tests/storage/vectors/ipfs_cids.json, computed by two independent
implementations; copied into the repository so a clone with nothing beside it tests) and
their payload rule."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from support import ROOT

VECTORS = ROOT / "tests" / "storage" / "vectors" / "ipfs_cids.json"


def vector_payload(size: int) -> bytes:
    """Byte i is sha256(b'medchain-vector' + (i // 32).to_bytes(8, 'big'))[i % 32]."""
    blocks = (size + 31) // 32
    out = b"".join(
        hashlib.sha256(b"medchain-vector" + j.to_bytes(8, "big")).digest() for j in range(blocks)
    )
    return out[:size]


def load_vectors() -> list[dict[str, Any]]:
    return list(json.loads(VECTORS.read_text())["vectors"])
