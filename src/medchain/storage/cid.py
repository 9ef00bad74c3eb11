"""Content identifiers (CIDs) exactly as IPFS writes them, with the standard library only.

Covers what `ipfs add` produces and what the project anchors on chain: sha2-256
multihashes, CIDv0 (base58btc, implicit dag-pb) and CIDv1 (dag-pb or raw) in
base32 (the default string form) or base58btc. Anything else is refused with
`InvalidInput`, because a CID the registry cannot check is a CID it must not anchor.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from medchain.errors import InvalidInput

DAG_PB = 0x70
RAW = 0x55
SHA2_256 = 0x12
_CODEC_NAMES = {DAG_PB: "dag-pb", RAW: "raw"}

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_B32_INDEX = {c: i for i, c in enumerate(_B32)}


def encode_varint(value: int) -> bytes:
    """Unsigned LEB128 (protobuf and multiformats varint)."""
    if value < 0:
        raise InvalidInput(f"varint must be non-negative, got {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes, pos: int = 0) -> tuple[int, int]:
    """Read a varint at `pos`; returns (value, next position)."""
    result = shift = 0
    while True:
        if pos >= len(data):
            raise InvalidInput("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise InvalidInput("varint longer than 9 bytes")


def b58encode(data: bytes) -> str:
    num = int.from_bytes(data, "big")
    out = ""
    while num:
        num, rem = divmod(num, 58)
        out = _B58[rem] + out
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + out


def b58decode(text: str) -> bytes:
    num = 0
    for ch in text:
        if ch not in _B58_INDEX:
            raise InvalidInput(f"not base58btc: character {ch!r}")
        num = num * 58 + _B58_INDEX[ch]
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + body


def b32encode(data: bytes) -> str:
    """RFC 4648 base32, lower case, no padding (multibase prefix `b`)."""
    bits = int.from_bytes(data, "big") if data else 0
    nbits = len(data) * 8
    pad = (-nbits) % 5
    bits <<= pad
    total = (nbits + pad) // 5
    return "".join(_B32[(bits >> (5 * (total - 1 - i))) & 31] for i in range(total))


def b32decode(text: str) -> bytes:
    bits = 0
    for ch in text:
        if ch not in _B32_INDEX:
            raise InvalidInput(f"not lower-case base32: character {ch!r}")
        bits = (bits << 5) | _B32_INDEX[ch]
    nbits = len(text) * 5
    extra = nbits % 8
    if extra >= 5 or (bits & ((1 << extra) - 1)):
        raise InvalidInput("base32 text has non-canonical trailing bits")
    bits >>= extra
    return bits.to_bytes(nbits // 8, "big")


@dataclass(frozen=True)
class CID:
    """A parsed CID. `str(cid)` is the canonical text (v0 base58btc, v1 base32)."""

    version: int
    codec: int
    digest: bytes  # the 32-byte sha2-256 digest

    @classmethod
    def of_block(cls, block: bytes | memoryview, *, codec: int, version: int = 1) -> CID:
        if version == 0 and codec != DAG_PB:
            raise InvalidInput("CIDv0 can only name dag-pb blocks")
        return cls(version, codec, hashlib.sha256(block).digest())

    @property
    def multihash(self) -> bytes:
        return bytes([SHA2_256, 32]) + self.digest

    def to_bytes(self) -> bytes:
        """Binary form: what the registry stores and what dag-pb links carry."""
        if self.version == 0:
            return self.multihash
        return b"\x01" + encode_varint(self.codec) + self.multihash

    def __str__(self) -> str:
        if self.version == 0:
            return b58encode(self.multihash)
        return "b" + b32encode(self.to_bytes())

    @property
    def codec_name(self) -> str:
        return _CODEC_NAMES[self.codec]

    def to_v1(self) -> CID:
        return CID(1, self.codec, self.digest)

    def verify(self, block: bytes) -> bool:
        return hashlib.sha256(block).digest() == self.digest

    @classmethod
    def parse(cls, value: str | bytes | CID) -> CID:
        """Parse a CID from its text or binary form; `InvalidInput` names what is wrong."""
        if isinstance(value, CID):
            return value
        if isinstance(value, bytes | bytearray):
            return cls.from_bytes(bytes(value))
        text = value.strip()
        if not text:
            raise InvalidInput("empty CID")
        if len(text) == 46 and text.startswith("Qm"):
            return cls.from_bytes(b58decode(text))
        prefix, body = text[0], text[1:]
        if prefix == "b":
            raw = b32decode(body)
        elif prefix == "z":
            raw = b58decode(body)
        elif prefix == "B":
            raw = b32decode(body.lower())
        else:
            raise InvalidInput(
                f"unsupported CID {text[:16]!r}: expected CIDv0 (Qm...) or CIDv1 base32 (b...)"
            )
        cid = cls.from_bytes(raw)
        if cid.version != 1:
            raise InvalidInput(f"malformed CID {text[:16]!r}: multibase text must be CIDv1")
        return cid

    @classmethod
    def from_bytes(cls, raw: bytes) -> CID:
        if len(raw) == 34 and raw[:2] == bytes([SHA2_256, 32]):
            return cls(0, DAG_PB, raw[2:])
        try:
            version, pos = decode_varint(raw, 0)
            codec, pos = decode_varint(raw, pos)
            hash_code, pos = decode_varint(raw, pos)
            length, pos = decode_varint(raw, pos)
        except InvalidInput as exc:
            raise InvalidInput(f"malformed CID bytes 0x{raw.hex()[:40]}: {exc}") from None
        if version != 1:
            raise InvalidInput(f"malformed CID: version {version} is not 1")
        if codec not in _CODEC_NAMES:
            raise InvalidInput(f"unsupported CID codec 0x{codec:x} (only dag-pb and raw)")
        if hash_code != SHA2_256 or length != 32:
            raise InvalidInput(f"unsupported multihash 0x{hash_code:x}/{length} (only sha2-256)")
        digest = raw[pos:]
        if len(digest) != 32:
            raise InvalidInput(f"malformed CID: digest is {len(digest)} bytes, expected 32")
        return cls(1, codec, digest)
