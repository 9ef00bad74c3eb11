"""The SDK's one set of coercions between Python values and ABI words.

Every client, CLI and model turns user input into addresses, bytes32 words and
unsigned integers through these functions, so a value is accepted or refused the
same way everywhere. A refusal is an `InvalidInput` whose message names the
argument (`what`) and says what was expected. Nothing here pads or truncates a
value silently: a bytes32 is exactly 32 bytes, text that does not fit is refused.

Scopes have a single encoding (`scope_code`), shared by records and consent, so a
record anchored under a scope and a consent grant for the same scope carry the
same bytes32.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_utils import is_checksum_address, to_checksum_address

from medchain.errors import InvalidInput
from medchain.hashing import keccak

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO32 = b"\0" * 32
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _is_hex(text: str) -> bool:
    return all(c in _HEX_DIGITS for c in text)


# --------------------------------------------------------------------------- addresses


def to_address(value: Any, what: str = "address") -> str:
    """The checksummed address of `value`: a 0x-hex string, 20 raw bytes, or anything
    with an `.address` (an ape account or contract). A mixed-case string must carry a
    valid EIP-55 checksum (a wrong one is usually a typo); all-lower or all-upper hex
    is accepted as is."""
    raw = getattr(value, "address", value)
    if isinstance(raw, bytes | bytearray):
        if len(raw) != 20:
            raise InvalidInput(f"{what} must be 20 bytes, got {len(raw)}")
        return str(to_checksum_address(bytes(raw)))
    if not isinstance(raw, str):
        raise InvalidInput(f"{what} {value!r} is not an Ethereum address")
    text = raw.strip()
    digits = text[2:] if text[:2] in ("0x", "0X") else None
    if digits is None or len(digits) != 40 or not _is_hex(digits):
        raise InvalidInput(f"{what} {text!r} is not an Ethereum address (0x + 40 hex digits)")
    text = "0x" + digits
    mixed_case = digits != digits.lower() and digits != digits.upper()
    if mixed_case and not is_checksum_address(text):
        raise InvalidInput(f"{what} {text} has an invalid EIP-55 checksum (a typo?)")
    return str(to_checksum_address(text))


def to_optional_address(value: Any, what: str = "address") -> str:
    """`to_address`, with None and "" meaning the zero address (an unset account)."""
    if value is None or value == "":
        return ZERO_ADDRESS
    return to_address(value, what)


# --------------------------------------------------------------------------- bytes


def to_bytes32(value: Any, what: str = "value") -> bytes:
    """Exactly 32 bytes from 32 raw bytes or a 0x + 64 hex digits string; anything
    else (other lengths, bad hex, text) is refused, never padded."""
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        if len(raw) != 32:
            raise InvalidInput(f"{what} must be 32 bytes, got {len(raw)}")
        return raw
    if isinstance(value, str):
        text = value.strip()
        digits = text[2:] if text[:2] in ("0x", "0X") else None
        if digits is None or len(digits) != 64 or not _is_hex(digits):
            raise InvalidInput(f"{what} must be 0x + 64 hex digits, got {value!r}")
        return bytes.fromhex(digits)
    raise InvalidInput(f"{what} must be 32 bytes or 0x + 64 hex digits, got {value!r}")


def hex_to_bytes(value: Any, what: str = "value") -> bytes:
    """Bytes of any length from raw bytes or a hex string (0x optional, even length)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        text = value.strip()
        digits = text[2:] if text[:2] in ("0x", "0X") else text
        if len(digits) % 2 == 0 and _is_hex(digits):
            return bytes.fromhex(digits)
    raise InvalidInput(
        f"{what} must be hex bytes (0x + an even number of hex digits), got {value!r}"
    )


def to_hex(raw: bytes | bytearray) -> str:
    """0x-prefixed lower-case hex of some bytes."""
    return "0x" + bytes(raw).hex()


def text_to_bytes32(text: str | bytes, what: str = "text", *, ascii_only: bool = False) -> bytes:
    """A short name as a left-aligned, zero-padded bytes32: its UTF-8 bytes (at most 32).
    Empty or longer text is refused; `ascii_only` also refuses non-ASCII text (for
    identifiers that other systems read as ASCII, e.g. trial registry ids)."""
    raw = text.encode() if isinstance(text, str) else bytes(text)
    if not raw:
        raise InvalidInput(f"{what} is empty")
    if ascii_only and not raw.isascii():
        raise InvalidInput(f"{what} must be ASCII, got {text!r}")
    if len(raw) > 32:
        raise InvalidInput(f"{what} {text!r} is {len(raw)} bytes; it must fit in 32 bytes")
    return raw.ljust(32, b"\0")


def bytes32_to_text(raw: bytes | bytearray) -> str:
    """The text of a left-aligned bytes32 (trailing zero bytes dropped), or its 0x-hex
    when the bytes are not UTF-8 text (e.g. a hash)."""
    data = bytes(raw)
    stripped = data.rstrip(b"\0")
    try:
        text = stripped.decode()
    except UnicodeDecodeError:
        return to_hex(data)
    if "\0" in text or not text.isprintable():
        return to_hex(data)
    return text


# --------------------------------------------------------------------------- integers


def to_uint(value: Any, bits: int = 256, what: str = "value") -> int:
    """A non-negative integer that fits in `bits` bits, from an int or a decimal / 0x-hex
    string. Booleans and fractions are refused rather than converted."""
    return to_int(value, bits, what)


def to_int(value: Any, bits: int = 256, what: str = "value", *, signed: bool = False) -> int:
    """An integer that fits a Solidity uint<bits> (or int<bits> when `signed`), from an
    int or a decimal / 0x-hex string. Booleans and fractions are refused rather than
    converted."""
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be an integer, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            number = int(text, 16) if text[:2] in ("0x", "0X") else int(text, 10)
        except ValueError:
            raise InvalidInput(f"{what} must be an integer, got {value!r}") from None
    else:
        raise InvalidInput(f"{what} must be an integer, got {value!r}")
    low, high = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
    if not low <= number < high:
        kind, bounds = (
            (f"int{bits}", f"-2**{bits - 1}..2**{bits - 1}-1")
            if signed
            else (f"uint{bits}", f"0..2**{bits}-1")
        )
        raise InvalidInput(f"{what} does not fit {kind} ({bounds}), got {number}")
    return number


# --------------------------------------------------------------------------- scopes


def scope_code(label: str | bytes) -> bytes:
    """THE on-chain code (bytes32) of a data scope, used by records and consent alike.

    A label of at most 32 printable ASCII characters ("*", "Observation",
    "category:laboratory") is stored left-aligned and zero-padded, so it reads back as
    text; any other label (non-ASCII such as "Befund-ä", longer than 32 bytes such as
    "system|code") is stored as the keccak256 of its UTF-8 bytes. An already encoded
    scope (32 raw bytes or 0x + 64 hex digits) passes through. Empty is refused.
    """
    if isinstance(label, bytes | bytearray | memoryview):
        return to_bytes32(label, "scope id")
    if not isinstance(label, str):
        raise InvalidInput(f"a scope is a label or a 32-byte id, got {label!r}")
    if len(label) == 66 and label[:2] in ("0x", "0X") and _is_hex(label[2:]):
        return bytes.fromhex(label[2:])
    if not label:
        raise InvalidInput("scope label is empty (use '*' for every scope)")
    raw = label.encode()
    if len(raw) <= 32 and label.isascii() and label.isprintable():
        return raw.ljust(32, b"\0")
    return keccak(raw)


def scope_label(scope: bytes | str, extra: Iterable[str] = ()) -> str:
    """The label of a scope code: its ASCII text, else a label from `extra` whose code it
    is (hashed labels cannot be read back otherwise), else its 0x-hex."""
    raw = scope_code(scope)
    text = raw.rstrip(b"\0")
    if text and all(32 <= b < 127 for b in text):
        return text.decode()
    for label in extra:
        if scope_code(label) == raw:
            return label
    return to_hex(raw)
