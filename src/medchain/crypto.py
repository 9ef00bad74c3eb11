"""Envelope encryption for health records: chunked AES-256-GCM payloads whose data key
is wrapped per recipient with RFC 9180 HPKE (X25519), bound to the record's context.

Payload format, version 1 (all integers big-endian)::

    header (81 bytes)
      magic           4  b"MCEV"
      version         1  0x01
      suite           1  0x01 = AES-256-GCM, 16-byte tags
      chunk_size      4  plaintext bytes per chunk (default 1 MiB)
      nonce_prefix    7  random per payload
      context_digest 32  sha256(EnvelopeContext.encode())
      key_commitment 32  HMAC-SHA256(data_key, "medchain/key-commitment/v1" || context_digest)
    chunks: AES-256-GCM(payload_key, nonce, chunk, aad=header) ++ tag, each carrying
      chunk_size plaintext bytes except the last (which may be shorter or empty).
      nonce = nonce_prefix(7) || counter(4) || final(1); final is 1 only on the last
      chunk, so dropping, reordering or truncating chunks fails authentication.
      payload_key = HMAC-SHA256(data_key, "medchain/payload-key/v1" || context_digest)

Key envelope, version 1: canonical JSON (sorted keys, no spaces) with `format`,
`v`, `suite`, `kid`, `pk` (recipient X25519 public key, hex), `ctx` (context digest),
`commitment` and `wrapped` = HPKE base-mode single-shot seal of the 32-byte data key,
suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM, with
info = "medchain/key-wrap/v1" || context_digest || recipient public key.

Key envelope set, version 1: what an address whose DID publishes several X25519 keys (one
per device, `did create --add`) is given: canonical JSON `{"format":
"medchain-key-envelope-set", "v": 1, "envelopes": [<key envelope>, ...]}`, one envelope
per published key, all for the same data key and context. The chain holds one envelope
CID per address, so the set is how every device of that address can open the record.
An address with one key gets a plain key envelope, as before.

Why each piece: a fresh data key per payload limits any leak to one record; the
context (record id, schema version, chain id, registry) in the AAD and HPKE info
stops a ciphertext or envelope being replayed under another record or chain; AES-GCM
is not key-committing, so the commitment in the authenticated header makes every
recipient who unwraps successfully provably hold the same key and read the same
plaintext; sharing later re-wraps the same key and never touches the payload.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from medchain.codec import to_address, to_bytes32, to_uint
from medchain.errors import IntegrityError, InvalidInput

FORMAT_VERSION = 1
MAGIC = b"MCEV"
SUITE_AES256GCM = 1
DEFAULT_CHUNK_SIZE = 1 << 20
MAX_CHUNK_SIZE = 1 << 24
TAG_SIZE = 16
KEY_SIZE = 32
_HEADER = struct.Struct(">4sBBI7s32s32s")
HEADER_SIZE = _HEADER.size
ENVELOPE_FORMAT = "medchain-key-envelope"
ENVELOPE_SET_FORMAT = "medchain-key-envelope-set"
ENVELOPE_SUITE = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-128-GCM"
_HPKE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)


class DecryptionFailed(IntegrityError):
    """Ciphertext or key envelope failed authentication (tampered, truncated, wrong key)."""


class WrongRecipientKey(InvalidInput):
    """The private key offered is not the one the key envelope was made for."""


class ContextMismatch(IntegrityError):
    """The ciphertext or envelope was made for another record, schema, chain or registry."""


@dataclass(frozen=True)
class EnvelopeContext:
    """What a payload is bound to. Changing any field makes decryption fail."""

    record_id: bytes
    schema_version: int
    chain_id: int
    registry: str

    def __post_init__(self) -> None:
        # normalised in place, so `encode` always sees bytes, ints and a checksummed address
        object.__setattr__(self, "record_id", to_bytes32(self.record_id, "record_id"))
        object.__setattr__(
            self, "schema_version", to_uint(self.schema_version, 16, "schema_version")
        )
        object.__setattr__(self, "chain_id", to_uint(self.chain_id, 256, "chain_id"))
        object.__setattr__(self, "registry", to_address(self.registry, "registry"))

    def encode(self) -> bytes:
        return (
            b"medchain/record-context/v1\x00"
            + self.record_id
            + self.schema_version.to_bytes(2, "big")
            + self.chain_id.to_bytes(32, "big")
            + bytes.fromhex(self.registry[2:])
        )

    def digest(self) -> bytes:
        return hashlib.sha256(self.encode()).digest()


def new_data_key() -> bytes:
    """A fresh random 256-bit data key (one per payload)."""
    return os.urandom(KEY_SIZE)


def _derive(data_key: bytes, label: bytes, context_digest: bytes) -> bytes:
    if len(data_key) != KEY_SIZE:
        raise InvalidInput(f"data key must be {KEY_SIZE} bytes, got {len(data_key)}")
    return hmac.new(data_key, label + context_digest, hashlib.sha256).digest()


def key_commitment(data_key: bytes, context: EnvelopeContext) -> bytes:
    return _derive(data_key, b"medchain/key-commitment/v1", context.digest())


@dataclass(frozen=True)
class Header:
    """The parsed fixed-size payload header."""

    version: int
    suite: int
    chunk_size: int
    nonce_prefix: bytes
    context_digest: bytes
    key_commitment: bytes

    def encode(self) -> bytes:
        return _HEADER.pack(
            MAGIC, self.version, self.suite, self.chunk_size, self.nonce_prefix,
            self.context_digest, self.key_commitment,
        )  # fmt: skip

    @classmethod
    def parse(cls, raw: bytes) -> Header:
        if len(raw) < HEADER_SIZE:
            raise DecryptionFailed(f"ciphertext is {len(raw)} bytes, shorter than its header")
        magic, version, suite, chunk_size, prefix, ctx, commitment = _HEADER.unpack(
            raw[:HEADER_SIZE]
        )
        if magic != MAGIC:
            raise DecryptionFailed("not a medchain ciphertext (bad magic)")
        if version != FORMAT_VERSION or suite != SUITE_AES256GCM:
            raise DecryptionFailed(f"unsupported ciphertext format v{version} suite {suite}")
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise DecryptionFailed(f"invalid chunk size {chunk_size} in header")
        return cls(version, suite, chunk_size, prefix, ctx, commitment)

    def expected_length(self, plaintext_length: int) -> int:
        chunks = max(1, -(-plaintext_length // self.chunk_size))
        return HEADER_SIZE + plaintext_length + chunks * TAG_SIZE

    def check_length(self, ciphertext_length: int) -> int:
        """The plaintext length a well-formed ciphertext of this size carries."""
        body = ciphertext_length - HEADER_SIZE
        full = self.chunk_size + TAG_SIZE
        chunks, last = divmod(body, full)
        if last == 0 and chunks > 0:
            last = full
            chunks -= 1
        if last < TAG_SIZE or body < TAG_SIZE:
            raise DecryptionFailed(f"ciphertext length {ciphertext_length} is malformed")
        return chunks * self.chunk_size + last - TAG_SIZE


def _nonce(prefix: bytes, counter: int, final: bool) -> bytes:
    if counter >= 1 << 32:
        raise InvalidInput("payload too large: more than 2**32 chunks")
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


def _read_exact(source: BinaryIO, size: int) -> bytes:
    first = source.read(size)
    if len(first) == size or not first:
        return first  # the common case: no extra copy
    buf = bytearray(first)
    while len(buf) < size:
        part = source.read(size - len(buf))
        if not part:
            break
        buf += part
    return bytes(buf)


def _as_stream(source: BinaryIO | bytes) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    return source


def encrypt_iter(
    source: BinaryIO | bytes,
    data_key: bytes,
    context: EnvelopeContext,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[bytes]:
    """Yield the ciphertext piece by piece (header, then one piece per chunk).

    Memory stays at two chunks whatever the size of `source`.
    """
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise InvalidInput(f"chunk_size must be in 1..{MAX_CHUNK_SIZE}, got {chunk_size}")
    digest = context.digest()
    header = Header(
        FORMAT_VERSION, SUITE_AES256GCM, chunk_size, os.urandom(7), digest,
        key_commitment(data_key, context),
    ).encode()  # fmt: skip
    aead = AESGCM(_derive(data_key, b"medchain/payload-key/v1", digest))
    yield header
    stream = _as_stream(source)
    current = _read_exact(stream, chunk_size)
    counter = 0
    while True:
        following = _read_exact(stream, chunk_size) if len(current) == chunk_size else b""
        final = not following
        yield aead.encrypt(_nonce(header[10:17], counter, final), current, header)
        if final:
            return
        current = following
        counter += 1


def encrypt(data: bytes, data_key: bytes, context: EnvelopeContext, **kw: int) -> bytes:
    return b"".join(encrypt_iter(data, data_key, context, **kw))


def decrypt_iter(
    source: BinaryIO | bytes | Iterable[bytes],
    data_key: bytes,
    context: EnvelopeContext,
) -> Iterator[bytes]:
    """Yield authenticated plaintext chunks. Truncation is only detectable at the end:
    a consumer must treat the output as complete only once the iterator is exhausted.
    """
    stream = _as_stream(source) if isinstance(source, bytes | bytearray) else source
    if not hasattr(stream, "read"):
        stream = _IterReader(stream)  # type: ignore[arg-type]
    header_raw = _read_exact(stream, HEADER_SIZE)  # type: ignore[arg-type]
    header = Header.parse(header_raw)
    if not hmac.compare_digest(header.context_digest, context.digest()):
        raise ContextMismatch(
            "ciphertext was made for another record, schema version, chain or registry"
        )
    if not hmac.compare_digest(header.key_commitment, key_commitment(data_key, context)):
        raise DecryptionFailed("data key does not match the ciphertext's key commitment")
    aead = AESGCM(_derive(data_key, b"medchain/payload-key/v1", header.context_digest))
    size = header.chunk_size + TAG_SIZE
    current = _read_exact(stream, size)  # type: ignore[arg-type]
    counter = 0
    while True:
        following = _read_exact(stream, size) if len(current) == size else b""  # type: ignore[arg-type]
        final = not following
        try:
            yield aead.decrypt(_nonce(header.nonce_prefix, counter, final), current, header_raw)
        except InvalidTag:
            raise DecryptionFailed(
                f"chunk {counter} failed authentication (tampered, reordered or truncated)"
            ) from None
        if final:
            return
        current = following
        counter += 1


def decrypt(ciphertext: bytes, data_key: bytes, context: EnvelopeContext) -> bytes:
    return b"".join(decrypt_iter(ciphertext, data_key, context))


class _IterReader(io.RawIOBase):
    """A read()-able view of an iterator of byte strings (bounded buffering)."""

    def __init__(self, pieces: Iterable[bytes]):
        self._pieces = iter(pieces)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if size is None or size < 0:
            return self._buffer + b"".join(self._pieces)
        while len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def reader(pieces: Iterable[bytes]) -> BinaryIO:
    """Wrap an iterator of byte strings as a readable binary stream."""
    return _IterReader(pieces)  # type: ignore[return-value]


# -- key envelopes ---------------------------------------------------------------------


def _public_bytes(key: X25519PublicKey | bytes) -> bytes:
    if isinstance(key, X25519PublicKey):
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    if len(key) != 32:
        raise InvalidInput(f"X25519 public key must be 32 raw bytes, got {len(key)}")
    return bytes(key)


def _private_key(key: X25519PrivateKey | bytes) -> X25519PrivateKey:
    if isinstance(key, X25519PrivateKey):
        return key
    if len(key) != 32:
        raise InvalidInput(f"X25519 private key must be 32 raw bytes, got {len(key)}")
    return X25519PrivateKey.from_private_bytes(bytes(key))


def _wrap_info(context_digest: bytes, recipient: bytes) -> bytes:
    return b"medchain/key-wrap/v1" + context_digest + recipient


@dataclass(frozen=True)
class KeyEnvelope:
    """The data key of one payload, sealed to one recipient's X25519 key."""

    key_id: str
    recipient_public_key: bytes
    context_digest: bytes
    commitment: bytes
    wrapped: bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": ENVELOPE_FORMAT,
            "v": FORMAT_VERSION,
            "suite": ENVELOPE_SUITE,
            "kid": self.key_id,
            "pk": self.recipient_public_key.hex(),
            "ctx": self.context_digest.hex(),
            "commitment": self.commitment.hex(),
            "wrapped": self.wrapped.hex(),
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_dict())

    @classmethod
    def from_bytes(cls, raw: bytes) -> KeyEnvelope:
        try:
            return cls.from_dict(json.loads(raw))
        except ValueError as exc:  # not JSON at all
            raise DecryptionFailed(f"not a medchain key envelope: {exc}") from None

    @classmethod
    def from_dict(cls, doc: Any) -> KeyEnvelope:
        try:
            if doc["format"] != ENVELOPE_FORMAT or doc["v"] != FORMAT_VERSION:
                raise ValueError(f"format {doc['format']!r} v{doc['v']}")
            if doc["suite"] != ENVELOPE_SUITE:
                raise ValueError(f"suite {doc['suite']!r}")
            envelope = cls(
                str(doc["kid"]), bytes.fromhex(doc["pk"]), bytes.fromhex(doc["ctx"]),
                bytes.fromhex(doc["commitment"]), bytes.fromhex(doc["wrapped"]),
            )  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise DecryptionFailed(f"not a medchain key envelope: {exc}") from None
        if len(envelope.recipient_public_key) != 32 or len(envelope.commitment) != 32:
            raise DecryptionFailed("key envelope has malformed key or commitment fields")
        return envelope


def canonical_json(doc: Any) -> bytes:
    """The SDK's canonical JSON bytes: keys sorted, no white space, non-ASCII escaped.
    Every document whose bytes are hashed, sealed or stored by CID (key envelopes, lot
    manifests, dataset metadata) is written this way, so the same document always has the
    same bytes (and so the same hash: the layout must never change)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def envelopes_in(raw: bytes) -> list[KeyEnvelope]:
    """The key envelopes in a stored envelope document: one for a plain key envelope,
    one per published key for a key envelope set."""
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise DecryptionFailed(f"not a medchain key envelope: {exc}") from None
    if isinstance(doc, dict) and doc.get("format") == ENVELOPE_SET_FORMAT:
        items = doc.get("envelopes")
        if doc.get("v") != FORMAT_VERSION or not isinstance(items, list) or not items:
            raise DecryptionFailed("key envelope set has no envelopes or an unknown version")
        envelopes = [KeyEnvelope.from_dict(item) for item in items]
        if len({(e.context_digest, e.commitment) for e in envelopes}) != 1:
            raise DecryptionFailed("key envelope set mixes envelopes of different records")
        return envelopes
    return [KeyEnvelope.from_dict(doc)]


def seal_key(data_key: bytes, context: EnvelopeContext, keys: Sequence[tuple[bytes, str]]) -> bytes:
    """The envelope document for one address: `data_key` sealed to each of its published
    X25519 keys `(public key, key id)`; a plain key envelope when it has one key, a key
    envelope set when it has several (see the module docstring)."""
    unique = list(dict.fromkeys((bytes(public), kid) for public, kid in keys))
    if not unique:
        raise InvalidInput("an envelope needs at least one X25519 key to seal to")
    sealed = [wrap_key(data_key, context, public, kid) for public, kid in unique]
    if len(sealed) == 1:
        return sealed[0].to_bytes()
    return canonical_json(
        {
            "format": ENVELOPE_SET_FORMAT,
            "v": FORMAT_VERSION,
            "envelopes": [envelope.to_dict() for envelope in sealed],
        }
    )


def wrap_key(
    data_key: bytes,
    context: EnvelopeContext,
    recipient_public_key: X25519PublicKey | bytes,
    key_id: str = "",
) -> KeyEnvelope:
    """Seal `data_key` to one recipient (HPKE base mode), bound to `context`."""
    public = _public_bytes(recipient_public_key)
    digest = context.digest()
    wrapped = _HPKE.encrypt(
        data_key, X25519PublicKey.from_public_bytes(public), info=_wrap_info(digest, public)
    )
    return KeyEnvelope(key_id, public, digest, key_commitment(data_key, context), wrapped)


def unwrap_key(
    envelope: KeyEnvelope | bytes,
    private_key: X25519PrivateKey | bytes,
    context: EnvelopeContext,
) -> bytes:
    """Open an envelope (or the envelope of a set sealed to this key) with the recipient's
    private key; checks context and commitment."""
    candidates = envelopes_in(envelope) if isinstance(envelope, bytes) else [envelope]
    key = _private_key(private_key)
    public = _public_bytes(key.public_key())
    matching = [e for e in candidates if hmac.compare_digest(public, e.recipient_public_key)]
    if not matching:
        sealed_to = ", ".join(f"{e.recipient_public_key.hex()[:16]}..." for e in candidates)
        raise WrongRecipientKey(
            f"key envelope {candidates[0].key_id if len(candidates) == 1 else ''} is sealed "
            f"to X25519 key {sealed_to}, not to {public.hex()[:16]}..."
        )
    env = matching[0]
    digest = context.digest()
    if not hmac.compare_digest(env.context_digest, digest):
        raise ContextMismatch("key envelope was made for another record, chain or registry")
    try:
        data_key = _HPKE.decrypt(env.wrapped, key, info=_wrap_info(digest, public))
    except InvalidTag:
        raise DecryptionFailed("key envelope failed authentication (tampered)") from None
    if len(data_key) != KEY_SIZE or not hmac.compare_digest(
        env.commitment, key_commitment(data_key, context)
    ):
        raise DecryptionFailed("unwrapped key does not match the envelope's key commitment")
    return data_key


def inspect(header_bytes: bytes, context: EnvelopeContext | None = None) -> Header:
    """Parse a ciphertext header (no key needed); with `context`, check the binding."""
    header = Header.parse(header_bytes)
    if context is not None and not hmac.compare_digest(header.context_digest, context.digest()):
        raise ContextMismatch("ciphertext header is bound to another record, chain or registry")
    return header
