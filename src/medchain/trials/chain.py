"""The hash-chain rule of a trial's timeline, the same as `contracts/interfaces/ITrialRegistry.sol`::

payloadHash = keccak256(abi.encode(<payload fields of the entry, in event order>))
entryHash   = keccak256(abi.encode(trialId, seq, uint8(type), author, timestamp, payloadHash))
head_seq    = keccak256(abi.encode(head_{seq-1}, entryHash))
head_{-1}   = keccak256(abi.encode(GENESIS_TAG, chainId, registry, trialId))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import encode as abi_encode

from medchain.hashing import keccak

GENESIS_TAG = keccak(b"medchain.TrialRegistry.genesis.v1")


def genesis_head(chain_id: int, registry: str, trial_id: int) -> bytes:
    return keccak(
        GENESIS_TAG
        + int(chain_id).to_bytes(32, "big")
        + bytes(12)
        + bytes.fromhex(registry.removeprefix("0x"))
        + int(trial_id).to_bytes(32, "big")
    )


def _word(abi_type: str, value: Any) -> bytes:
    """One static ABI word (the only types entries use besides `string`)."""
    if abi_type == "bytes32":
        return value if isinstance(value, bytes) else bytes.fromhex(str(value).removeprefix("0x"))
    if abi_type == "address":
        return bytes(12) + bytes.fromhex(str(value).removeprefix("0x"))
    if abi_type == "bool":
        return (1 if value else 0).to_bytes(32, "big")
    return int(value).to_bytes(32, "big")


def encode_payload(fields: Sequence[tuple[str, str]], values: Sequence[Any]) -> bytes:
    """abi.encode of an entry's payload; static-only payloads are packed word by word."""
    if all(t != "string" for _, t in fields):
        return b"".join(_word(t, v) for (_, t), v in zip(fields, values, strict=True))
    prepared = [
        (_word(t, v) if t == "bytes32" else v) if t != "address" else str(v)
        for (_, t), v in zip(fields, values, strict=True)
    ]
    return abi_encode([t for _, t in fields], prepared)


def entry_hash(
    trial_id: int, seq: int, entry_type: int, author: str, timestamp: int, payload_hash: bytes
) -> bytes:
    return keccak(
        int(trial_id).to_bytes(32, "big")
        + int(seq).to_bytes(32, "big")
        + int(entry_type).to_bytes(32, "big")
        + bytes(12)
        + bytes.fromhex(author.removeprefix("0x"))
        + int(timestamp).to_bytes(32, "big")
        + payload_hash
    )


def next_head(previous: bytes, entry: bytes) -> bytes:
    return keccak(previous + entry)
