"""medchain.codec: every coercion accepts what it documents and refuses everything else with
an InvalidInput naming the argument; scopes have one encoding for records and consent."""

from __future__ import annotations

import pytest
from eth_utils import keccak as reference_keccak

from medchain.codec import (
    bytes32_to_text,
    hex_to_bytes,
    scope_code,
    scope_label,
    text_to_bytes32,
    to_address,
    to_bytes32,
    to_optional_address,
    to_uint,
)
from medchain.errors import InvalidInput

CHECKSUMMED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55's own example


class _Account:
    address = CHECKSUMMED.lower()


# ---------------------------------------------------------------------- to_address
@pytest.mark.parametrize(
    "value",
    [CHECKSUMMED, CHECKSUMMED.lower(), "0x" + CHECKSUMMED[2:].upper(), f"  {CHECKSUMMED} "],
)
def test_address_forms_become_checksummed(value):
    assert to_address(value) == CHECKSUMMED


def test_address_of_an_account_object_and_of_20_raw_bytes():
    assert to_address(_Account()) == CHECKSUMMED
    assert to_address(bytes.fromhex(CHECKSUMMED[2:])) == CHECKSUMMED


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0x1234", "not an Ethereum address"),
        (CHECKSUMMED[2:], "not an Ethereum address"),  # no 0x
        ("0x" + "g" * 40, "not an Ethereum address"),  # bad hex
        (CHECKSUMMED + "00", "not an Ethereum address"),  # 21 bytes
        (CHECKSUMMED[:-1] + "D", "invalid EIP-55 checksum"),  # one letter's case flipped
        (b"\x01" * 19, "must be 20 bytes"),
        (12345, "not an Ethereum address"),
        (None, "not an Ethereum address"),
        ("did:ethr:" + CHECKSUMMED, "not an Ethereum address"),
    ],
)
def test_address_refusals_name_the_argument(value, reason):
    with pytest.raises(InvalidInput, match=reason) as err:
        to_address(value, "grantee")
    assert str(err.value).startswith("grantee")
    assert "\n" not in str(err.value)


def test_optional_address_maps_unset_to_zero():
    assert to_optional_address(None) == "0x" + "0" * 40
    assert to_optional_address("") == "0x" + "0" * 40
    assert to_optional_address(CHECKSUMMED.lower()) == CHECKSUMMED


# ---------------------------------------------------------------------- bytes32
def test_bytes32_accepts_raw_bytes_and_0x_hex():
    raw = bytes(range(32))
    assert to_bytes32(raw) == raw
    assert to_bytes32(bytearray(raw)) == raw
    assert to_bytes32("0x" + raw.hex()) == raw
    assert to_bytes32("0x" + raw.hex().upper()) == raw


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\x01" * 31, "must be 32 bytes, got 31"),  # never left- or right-padded
        (b"\x01" * 33, "must be 32 bytes, got 33"),
        ("0x" + "ab" * 31, "0x \\+ 64 hex digits"),
        ("0x" + "ab" * 33, "0x \\+ 64 hex digits"),
        ("ab" * 32, "0x \\+ 64 hex digits"),  # hex without 0x is ambiguous with text
        ("0x" + "zz" * 32, "0x \\+ 64 hex digits"),
        ("Observation", "0x \\+ 64 hex digits"),
        (7, "32 bytes or 0x"),
    ],
)
def test_bytes32_refusals(value, reason):
    with pytest.raises(InvalidInput, match=reason) as err:
        to_bytes32(value, "salt")
    assert str(err.value).startswith("salt")


def test_hex_to_bytes_any_length():
    assert hex_to_bytes("0x") == b""
    assert hex_to_bytes("0x0102") == b"\x01\x02"
    assert hex_to_bytes("0102") == b"\x01\x02"
    assert hex_to_bytes(b"\x05") == b"\x05"
    for bad in ("0x123", "0xzz", 5):
        with pytest.raises(InvalidInput, match="value must be hex bytes"):
            hex_to_bytes(bad)


# ---------------------------------------------------------------------- text <-> bytes32
def test_text_to_bytes32_left_aligns_utf8_up_to_32_bytes():
    assert text_to_bytes32("veriKey") == b"veriKey" + b"\0" * 25
    assert text_to_bytes32("ä") == "ä".encode() + b"\0" * 30
    assert text_to_bytes32("x" * 32) == b"x" * 32
    assert text_to_bytes32(b"raw") == b"raw" + b"\0" * 29


@pytest.mark.parametrize(
    ("text", "kw", "reason"),
    [
        ("x" * 33, {}, "is 33 bytes; it must fit in 32"),
        ("ä" * 17, {}, "is 34 bytes"),  # 17 characters, 34 UTF-8 bytes: refused, not cut
        ("", {}, "is empty"),
        ("NCT0123ä", {"ascii_only": True}, "must be ASCII"),
    ],
)
def test_text_to_bytes32_refusals(text, kw, reason):
    with pytest.raises(InvalidInput, match=reason) as err:
        text_to_bytes32(text, "registry id", **kw)
    assert str(err.value).startswith("registry id")


def test_bytes32_to_text_round_trips_text_and_shows_hashes_as_hex():
    assert bytes32_to_text(text_to_bytes32("did/svc/Records")) == "did/svc/Records"
    assert bytes32_to_text(text_to_bytes32("Befund-ä")) == "Befund-ä"
    digest = reference_keccak(b"x")
    assert bytes32_to_text(digest) == "0x" + digest.hex()


# ---------------------------------------------------------------------- uint
def test_to_uint_bounds_and_forms():
    assert to_uint(0, 8) == 0
    assert to_uint(255, 8) == 255
    assert to_uint("0x10", 16) == 16
    assert to_uint("1_000", 16) == 1000
    for value, reason in [
        (256, "uint8"),
        (-1, "uint8"),
        (True, "must be an integer"),
        (1.5, "must be an integer"),
        ("ten", "must be an integer"),
    ]:
        with pytest.raises(InvalidInput, match=reason) as err:
            to_uint(value, 8, "kind")
        assert str(err.value).startswith("kind")


# ---------------------------------------------------------------------- scopes
def test_short_ascii_scope_is_left_aligned_text():
    assert scope_code("Observation") == b"Observation" + b"\0" * 21
    assert scope_code("*") == b"*" + b"\0" * 31
    assert scope_label(scope_code("category:laboratory")) == "category:laboratory"


def test_exactly_32_ascii_bytes_stay_text():
    label = "category:" + "x" * 23
    assert len(label) == 32
    assert scope_code(label) == label.encode()
    assert scope_label(scope_code(label)) == label


def test_longer_scope_is_hashed():
    label = "http://loinc.org|" + "1" * 16  # 33 bytes
    assert scope_code(label) == reference_keccak(label.encode())
    assert scope_label(scope_code(label)) == "0x" + reference_keccak(label.encode()).hex()
    assert scope_label(scope_code(label), extra=[label]) == label


def test_non_ascii_scope_is_hashed_the_same_for_records_and_consent():
    """The bug of issue 13: records left-aligned "Befund-ä" as UTF-8 while consent hashed
    it, so a record under that scope never matched the grant. One encoding now."""
    from medchain.consent import codes as consent_codes

    code = scope_code("Befund-ä")
    assert code == reference_keccak("Befund-ä".encode())
    assert consent_codes.scope_code("Befund-ä") == code
    assert scope_label(code, extra=["Befund-ä"]) == "Befund-ä"


def test_non_printable_ascii_scope_is_hashed():
    assert scope_code("tab\there") == reference_keccak(b"tab\there")


def test_encoded_scopes_pass_through():
    code = scope_code("Observation")
    assert scope_code(code) == code
    assert scope_code("0x" + code.hex()) == code


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "scope label is empty"),
        (b"\x01" * 31, "scope id must be 32 bytes"),
        (3, "a scope is a label or a 32-byte id"),
    ],
)
def test_scope_refusals(value, reason):
    with pytest.raises(InvalidInput, match=reason):
        scope_code(value)
