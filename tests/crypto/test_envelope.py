"""The envelope format: round trips at chunk boundaries, every kind of tampering
(bit flip, truncation, reordering, extension, header edits), context binding, HPKE
key envelopes and the key commitment."""

from __future__ import annotations

import io
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from medchain.crypto import (
    HEADER_SIZE,
    TAG_SIZE,
    ContextMismatch,
    DecryptionFailed,
    EnvelopeContext,
    Header,
    KeyEnvelope,
    WrongRecipientKey,
    decrypt,
    decrypt_iter,
    encrypt,
    encrypt_iter,
    inspect,
    key_commitment,
    new_data_key,
    unwrap_key,
    wrap_key,
)
from medchain.errors import InvalidInput
from support.fuzzing import property_settings

CTX = EnvelopeContext(b"\x07" * 32, 1, 31337, "0x" + "ab" * 20)
CHUNK = 64  # small chunks so boundaries are cheap to reach


def pieces(ct: bytes, chunk: int = CHUNK) -> list[bytes]:
    body = ct[HEADER_SIZE:]
    size = chunk + TAG_SIZE
    return [body[i : i + size] for i in range(0, len(body), size)]


@property_settings(40)
@given(st.binary(max_size=5 * CHUNK + 3), st.integers(min_value=1, max_value=3 * CHUNK))
def test_round_trip_any_size_and_chunking(data, chunk):
    key = new_data_key()
    ct = encrypt(data, key, CTX, chunk_size=chunk)
    header = Header.parse(ct)
    assert len(ct) == header.expected_length(len(data))
    assert header.check_length(len(ct)) == len(data)
    assert decrypt(ct, key, CTX) == data


def test_streams_from_files_in_pieces():
    data = os.urandom(10 * CHUNK + 5)
    key = new_data_key()
    out = io.BytesIO()
    for piece in encrypt_iter(io.BytesIO(data), key, CTX, chunk_size=CHUNK):
        assert len(piece) <= CHUNK + TAG_SIZE or len(piece) == HEADER_SIZE
        out.write(piece)
    ct = out.getvalue()
    # Decrypt from an iterator of odd-sized pieces (as blocks arrive from IPFS).
    odd = [ct[i : i + 37] for i in range(0, len(ct), 37)]
    assert b"".join(decrypt_iter(iter(odd), key, CTX)) == data


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_every_flipped_bit_position_class_is_detected(size):
    key = new_data_key()
    ct = encrypt(os.urandom(size), key, CTX, chunk_size=CHUNK)
    for pos in {0, 5, 10, 16, HEADER_SIZE - 1, HEADER_SIZE, len(ct) // 2, len(ct) - 1}:
        bad = bytearray(ct)
        bad[pos] ^= 0x40
        with pytest.raises((DecryptionFailed, ContextMismatch)):
            decrypt(bytes(bad), key, CTX)


def test_truncation_reordering_and_extension_are_detected():
    key = new_data_key()
    ct = encrypt(os.urandom(4 * CHUNK + 9), key, CTX, chunk_size=CHUNK)
    head, chunks = ct[:HEADER_SIZE], pieces(ct)
    assert len(chunks) == 5
    cases = {
        "drop last": head + b"".join(chunks[:-1]),
        "drop at boundary": head + b"".join(chunks[:2]),
        "drop middle": head + b"".join(chunks[:1] + chunks[2:]),
        "swap": head + b"".join([chunks[1], chunks[0], *chunks[2:]]),
        "repeat": head + b"".join([*chunks[:-1], chunks[-2], chunks[-1]]),
        "header only": head,
        "cut tag": ct[:-3],
    }
    for name, bad in cases.items():
        with pytest.raises(DecryptionFailed):
            decrypt(bad, key, CTX)
        assert name
    other = encrypt(os.urandom(4 * CHUNK + 9), key, CTX, chunk_size=CHUNK)
    with pytest.raises(DecryptionFailed):  # a chunk spliced in from another payload
        decrypt(head + b"".join([chunks[0], pieces(other)[1], *chunks[2:]]), key, CTX)


def test_context_binding_covers_every_field():
    key = new_data_key()
    ct = encrypt(b"lab result", key, CTX)
    for other in (
        EnvelopeContext(b"\x08" * 32, 1, 31337, CTX.registry),
        EnvelopeContext(CTX.record_id, 2, 31337, CTX.registry),
        EnvelopeContext(CTX.record_id, 1, 1, CTX.registry),
        EnvelopeContext(CTX.record_id, 1, 31337, "0x" + "ac" * 20),
    ):
        with pytest.raises(ContextMismatch):
            decrypt(ct, key, other)
        with pytest.raises(ContextMismatch):
            inspect(ct[:HEADER_SIZE], other)
    assert inspect(ct[:HEADER_SIZE], CTX).chunk_size == 1 << 20
    with pytest.raises(InvalidInput):
        EnvelopeContext(b"short", 1, 1, CTX.registry)
    with pytest.raises(InvalidInput):
        EnvelopeContext(CTX.record_id, 1, 1, "0x1234")


def test_wrong_data_key_fails_the_commitment_before_decrypting():
    ct = encrypt(b"lab result", new_data_key(), CTX)
    with pytest.raises(DecryptionFailed, match="commitment"):
        decrypt(ct, new_data_key(), CTX)


def test_key_envelopes_for_several_recipients_and_later_sharing():
    key = new_data_key()
    ct = encrypt(b"lab result", key, CTX)
    alice, bob, carol = (X25519PrivateKey.generate() for _ in range(3))
    envelopes = [wrap_key(key, CTX, k.public_key(), f"k{i}") for i, k in enumerate((alice, bob))]
    for envelope, private in zip(envelopes, (alice, bob), strict=True):
        restored = KeyEnvelope.from_bytes(envelope.to_bytes())
        assert unwrap_key(restored, private, CTX) == key
    # Sharing later: Alice unwraps and wraps again for Carol; the payload is untouched.
    later = wrap_key(unwrap_key(envelopes[0], alice, CTX), CTX, carol.public_key())
    assert decrypt(ct, unwrap_key(later.to_bytes(), carol, CTX), CTX) == b"lab result"
    with pytest.raises(WrongRecipientKey):
        unwrap_key(envelopes[0], bob, CTX)
    with pytest.raises(ContextMismatch):
        unwrap_key(envelopes[0], alice, EnvelopeContext(b"\x09" * 32, 1, 31337, CTX.registry))


def test_tampered_or_forged_envelopes_are_refused():
    key = new_data_key()
    alice = X25519PrivateKey.generate()
    env = wrap_key(key, CTX, alice.public_key())
    flipped = bytearray(env.wrapped)
    flipped[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        unwrap_key(KeyEnvelope(env.key_id, env.recipient_public_key, env.context_digest,
                               env.commitment, bytes(flipped)), alice, CTX)  # fmt: skip
    # A sender wrapping a different key to one recipient: the commitment no longer
    # matches the ciphertext header, so that recipient is refused instead of reading
    # a different plaintext.
    ct = encrypt(b"the real result", key, CTX)
    rogue = wrap_key(new_data_key(), CTX, alice.public_key())
    with pytest.raises(DecryptionFailed, match="commitment"):
        decrypt(ct, unwrap_key(rogue, alice, CTX), CTX)
    forged = KeyEnvelope(env.key_id, env.recipient_public_key, env.context_digest,
                         key_commitment(new_data_key(), CTX), env.wrapped)  # fmt: skip
    with pytest.raises(DecryptionFailed, match="commitment"):
        unwrap_key(forged, alice, CTX)
    for raw in (
        b"",
        b"[]",
        b'{"format":"other","v":1}',
        env.to_bytes().replace(b'"v":1', b'"v":9'),
    ):
        with pytest.raises(DecryptionFailed):
            KeyEnvelope.from_bytes(raw)
    with pytest.raises(InvalidInput):
        wrap_key(key, CTX, b"\x01" * 31)


def test_header_refuses_foreign_formats():
    ct = encrypt(b"x", new_data_key(), CTX)
    for bad in (b"XXXX" + ct[4:], ct[:4] + b"\x02" + ct[5:], ct[: HEADER_SIZE - 1]):
        with pytest.raises(DecryptionFailed):
            Header.parse(bad)
