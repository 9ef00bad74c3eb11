"""Keccak-256, ABI selectors and EIP-712 typed data: the SDK's one implementation of each.

`keccak` runs on the fastest backend installed: safe-pysha3, about 10x faster per call
than pycryptodome, eth_hash and eth_utils (`python -m bench.perf_hashing` measures them
side by side into bench/results/hashing.json). Merkle trees of a lot of millions of
serials hash twice per leaf, so that matters there. pysha3 is optional: without it
pycryptodome (a dependency of eth-account) is used.

EIP-712: `typed_data` builds the JSON document wallets and relayers exchange,
`typed_data_digest` computes the 32-byte hash a contract's `_hashTypedDataV4`
computes, and `signable` wraps it for eth-account's signers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_account.messages import SignableMessage

from medchain.errors import InvalidInput


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


# --------------------------------------------------------------------------- EIP-712

EIP712_DOMAIN_TYPE: list[dict[str, str]] = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@dataclass(frozen=True)
class Eip712Domain:
    """The domain every medchain contract signs under (OpenZeppelin `EIP712`: name,
    version, chain id and the verifying contract's address)."""

    name: str
    version: str
    chain_id: int
    verifying_contract: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": int(self.chain_id),
            "verifyingContract": str(self.verifying_contract),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Eip712Domain:
        try:
            return cls(
                str(data["name"]),
                str(data["version"]),
                int(data["chainId"]),
                str(data["verifyingContract"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"EIP-712 domain is incomplete or malformed: {exc}") from exc

    def separator(self) -> bytes:
        """The domain separator (`_domainSeparatorV4()` of the verifying contract)."""
        return _hash_struct("EIP712Domain", {"EIP712Domain": EIP712_DOMAIN_TYPE}, self.as_dict())


def _jsonable(value: Any) -> Any:
    """Bytes become 0x-hex so the document survives JSON; containers are walked."""
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def typed_data(
    domain: Eip712Domain,
    primary_type: str,
    types: Mapping[str, Sequence[Mapping[str, str]]],
    message: Mapping[str, Any],
) -> dict[str, Any]:
    """The EIP-712 document (`types` with EIP712Domain, `primaryType`, `domain`,
    `message`) in the JSON form eth_signTypedData_v4 takes; bytes values become 0x-hex.
    `types` holds the primary type and every struct it refers to."""
    if primary_type not in types:
        raise InvalidInput(f"EIP-712 types do not define the primary type {primary_type!r}")
    all_types = {"EIP712Domain": EIP712_DOMAIN_TYPE}
    all_types.update({name: [dict(f) for f in fields] for name, fields in types.items()})
    return {
        "types": all_types,
        "primaryType": primary_type,
        "domain": domain.as_dict(),
        "message": _jsonable(dict(message)),
    }


def _struct_dependencies(
    primary: str, types: Mapping[str, Sequence[Mapping[str, str]]]
) -> list[str]:
    found: list[str] = []
    pending = [primary]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.append(name)
        for member in types[name]:
            base = member["type"].split("[", 1)[0]
            if base in types and base not in found:
                pending.append(base)
    return [primary, *sorted(n for n in found if n != primary)]


def _encode_type(primary: str, types: Mapping[str, Sequence[Mapping[str, str]]]) -> str:
    return "".join(
        f"{name}(" + ",".join(f"{m['type']} {m['name']}" for m in types[name]) + ")"
        for name in _struct_dependencies(primary, types)
    )


def _as_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        digits = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            return bytes.fromhex(digits)
        except ValueError:
            pass
    raise InvalidInput(f"EIP-712 field {what} must be bytes or hex, got {value!r}")


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value[:2] in ("0x", "0X") else int(value)
        except ValueError:
            pass
    raise InvalidInput(f"EIP-712 field {what} must be an integer, got {value!r}")


def _encode_value(
    kind: str, value: Any, types: Mapping[str, Sequence[Mapping[str, str]]], what: str
) -> bytes:
    """One 32-byte word of encodeData: atomic types ABI-encoded, dynamic types and
    structs hashed, arrays as the hash of their members' words."""
    if kind.endswith("]"):
        member = kind[: kind.rindex("[")]
        if not isinstance(value, list | tuple):
            raise InvalidInput(f"EIP-712 field {what} must be a list, got {value!r}")
        return keccak(b"".join(_encode_value(member, v, types, what) for v in value))
    if kind in types:
        if not isinstance(value, Mapping):
            raise InvalidInput(f"EIP-712 field {what} must be a {kind} struct, got {value!r}")
        return _hash_struct(kind, types, value)
    if kind == "string":
        return keccak(value.encode() if isinstance(value, str) else _as_bytes(value, what))
    if kind == "bytes":
        return keccak(_as_bytes(value, what))
    if kind == "bool":
        return abi_encode(["bool"], [bool(value)])
    if kind == "address":
        from medchain.codec import to_address

        return abi_encode(["address"], [to_address(value, f"EIP-712 field {what}")])
    if kind.startswith(("uint", "int")):
        from eth_abi.exceptions import EncodingError

        try:
            return abi_encode([kind], [_as_int(value, what)])
        except EncodingError:
            raise InvalidInput(f"EIP-712 field {what} does not fit {kind}: {value!r}") from None
    if kind.startswith("bytes"):
        raw = _as_bytes(value, what)
        size = int(kind[5:])
        if len(raw) != size:
            raise InvalidInput(f"EIP-712 field {what} must be {size} bytes, got {len(raw)}")
        return raw.ljust(32, b"\0")
    raise InvalidInput(f"EIP-712 type {kind!r} of field {what} is not supported")


def _hash_struct(
    name: str, types: Mapping[str, Sequence[Mapping[str, str]]], data: Mapping[str, Any]
) -> bytes:
    try:
        words = [
            _encode_value(m["type"], data[m["name"]], types, f"{name}.{m['name']}")
            for m in types[name]
        ]
    except KeyError as exc:
        raise InvalidInput(f"EIP-712 message {name} lacks the field {exc.args[0]!r}") from None
    return keccak(keccak_text(_encode_type(name, types)) + b"".join(words))


def type_hash(primary_type: str, types: Mapping[str, Sequence[Mapping[str, str]]]) -> bytes:
    """keccak256 of the type's encoding, the `..._TYPEHASH` constant of a contract."""
    return keccak_text(_encode_type(primary_type, types))


def struct_hash(document: Mapping[str, Any]) -> bytes:
    """hashStruct of the document's message (what a contract hashes before
    `_hashTypedDataV4`)."""
    try:
        return _hash_struct(document["primaryType"], document["types"], document["message"])
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"not an EIP-712 typed-data document: missing {exc}") from exc


def document_domain(document: Mapping[str, Any]) -> Eip712Domain:
    try:
        return Eip712Domain.from_dict(document["domain"])
    except (KeyError, TypeError) as exc:
        raise InvalidInput("not an EIP-712 typed-data document: missing domain") from exc


def signable(document: Mapping[str, Any]) -> SignableMessage:
    """The document as eth-account's EIP-191 version 0x01 message, ready to sign or recover."""
    return SignableMessage(b"\x01", document_domain(document).separator(), struct_hash(document))


def typed_data_digest(document: Mapping[str, Any]) -> bytes:
    """keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(message)): the digest the
    signer signs and the contract recovers from."""
    message = signable(document)
    return keccak(b"\x19" + message.version + message.header + message.body)
