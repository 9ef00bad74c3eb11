"""Signing with any kind of account the SDK is handed, in one place: an ape account,
an eth-account `LocalAccount`, or a raw private key.

Signatures come back in the exact byte layout contracts expect: r and s always 32
bytes each (ape's `MessageSignature` may drop their leading zero bytes, which makes a
63/64-byte signature that recovers nothing, a failure about 1 time in 128).
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage

from medchain.errors import InvalidInput

# The EIP-712 domain every medchain contract uses (OZ EIP712: name, version, chain id,
# verifying contract).
EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def _word(value: Any) -> bytes:
    return value.to_bytes(32, "big") if isinstance(value, int) else bytes(value).rjust(32, b"\0")


def sign_message(signer: Any, message: SignableMessage) -> bytes:
    """65-byte r || s || v signature of an EIP-191/EIP-712 message."""
    if isinstance(signer, bytes | str):
        return bytes(Account.sign_message(message, private_key=signer).signature)
    if hasattr(signer, "sign_message") and hasattr(signer, "key"):  # eth_account LocalAccount
        return bytes(signer.sign_message(message).signature)
    sig = signer.sign_message(message)  # ape AccountAPI -> MessageSignature(v, r, s)
    if sig is None:
        raise InvalidInput(f"account {signer} declined to sign")
    return _word(sig.r) + _word(sig.s) + bytes([sig.v])


def sign_digest(signer: Any, digest: bytes) -> tuple[int, bytes, bytes]:
    """(v, r, s) signature of a raw 32-byte digest (schemes that hash for themselves,
    such as ERC-1056's legacy 0x19 0x00 signed calls)."""
    if isinstance(signer, bytes | str):
        signed = Account.unsafe_sign_hash(digest, private_key=signer)
        return signed.v, _word(signed.r), _word(signed.s)
    if hasattr(signer, "unsafe_sign_hash"):
        signed = signer.unsafe_sign_hash(digest)
        return signed.v, _word(signed.r), _word(signed.s)
    sig = signer.sign_raw_msghash(digest)  # ape account
    if sig is None:
        raise InvalidInput(f"account {signer} declined to sign")
    return sig.v, _word(sig.r), _word(sig.s)
