"""EIP-712 typed data: the SDK's one implementation.

`typed_data` builds the JSON document wallets and relayers exchange, `typed_data_digest`
computes the 32-byte hash a contract's `_hashTypedDataV4` computes, `signable` wraps it
for eth-account's signers, and `message_values` reads a document's message back as the
values a contract call takes.

One walker (`_walk`) goes over a message by its types, for hashing and for reading alike:
each atomic value is accepted or refused by `medchain.codec` (addresses, bytes, integers,
as everywhere in the SDK), then either encoded into its 32-byte encodeData word or
returned as is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_account.messages import SignableMessage

from medchain.codec import hex_to_bytes, to_address, to_int
from medchain.errors import InvalidInput
from medchain.hashing import keccak, keccak_text

Types = Mapping[str, Sequence[Mapping[str, str]]]

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
        types = {"EIP712Domain": EIP712_DOMAIN_TYPE}
        return bytes(_walk("EIP712Domain", self.as_dict(), types, "EIP712Domain", hashed=True))


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
    types: Types,
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


def _struct_dependencies(primary: str, types: Types) -> list[str]:
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


def _encode_type(primary: str, types: Types) -> str:
    return "".join(
        f"{name}(" + ",".join(f"{m['type']} {m['name']}" for m in types[name]) + ")"
        for name in _struct_dependencies(primary, types)
    )


def _atom(kind: str, value: Any, what: str) -> Any:
    """An atomic value of type `kind`, checked and ABI-ready."""
    field = f"EIP-712 field {what}"
    if kind == "string":
        return value if isinstance(value, str) else hex_to_bytes(value, field)
    if kind == "bool":
        return bool(value)
    if kind == "address":
        return to_address(value, field)
    if kind.startswith(("uint", "int")):
        signed = kind.startswith("int")
        bits = kind.removeprefix("int" if signed else "uint")
        return to_int(value, int(bits or 256), field, signed=signed)
    if kind.startswith("bytes"):
        raw = hex_to_bytes(value, field)
        if kind != "bytes" and len(raw) != int(kind[5:]):
            raise InvalidInput(f"{field} must be {kind[5:]} bytes, got {len(raw)}")
        return raw
    raise InvalidInput(f"EIP-712 type {kind!r} of field {what} is not supported")


def _word(kind: str, atom: Any) -> bytes:
    """The encodeData word of an atomic value: dynamic types hashed, the rest ABI-encoded."""
    if kind == "string":
        return keccak(atom.encode() if isinstance(atom, str) else atom)
    if kind == "bytes":
        return keccak(atom)
    if kind.startswith("bytes"):
        return bytes(atom).ljust(32, b"\0")
    return abi_encode([kind], [atom])


def _walk(kind: str, value: Any, types: Types, what: str, *, hashed: bool) -> Any:
    """The value of type `kind` at `what` (a path such as "Bundle.items"), ABI-ready
    (structs as dicts, arrays as lists); with `hashed`, its 32-byte encodeData word
    instead (arrays as the hash of their members' words, structs as hashStruct)."""
    if kind.endswith("]"):
        member = kind[: kind.rindex("[")]
        if not isinstance(value, list | tuple):
            raise InvalidInput(f"EIP-712 field {what} must be a list, got {value!r}")
        items = [_walk(member, v, types, what, hashed=hashed) for v in value]
        return keccak(b"".join(items)) if hashed else items
    if kind in types:
        if not isinstance(value, Mapping):
            raise InvalidInput(f"EIP-712 field {what} must be a {kind} struct, got {value!r}")
        try:
            fields = {
                m["name"]: _walk(m["type"], value[m["name"]], types, f"{what}.{m['name']}",
                                 hashed=hashed)
                for m in types[kind]
            }  # fmt: skip
        except KeyError as exc:
            raise InvalidInput(f"EIP-712 message {kind} lacks the field {exc.args[0]!r}") from None
        return keccak(type_hash(kind, types) + b"".join(fields.values())) if hashed else fields
    atom = _atom(kind, value, what)
    return _word(kind, atom) if hashed else atom


def type_hash(primary_type: str, types: Types) -> bytes:
    """keccak256 of the type's encoding, the `..._TYPEHASH` constant of a contract."""
    return keccak_text(_encode_type(primary_type, types))


def _message(document: Mapping[str, Any]) -> tuple[str, Any, Types]:
    try:
        return document["primaryType"], document["message"], document["types"]
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"not an EIP-712 typed-data document: missing {exc}") from exc


def struct_hash(document: Mapping[str, Any]) -> bytes:
    """hashStruct of the document's message (what a contract hashes before
    `_hashTypedDataV4`)."""
    primary, message, types = _message(document)
    return bytes(_walk(primary, message, types, primary, hashed=True))


def message_values(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document's message with ABI-ready values: bytes types as bytes, addresses
    checksummed, integers as int (structs and arrays read alike)."""
    primary, message, types = _message(document)
    return dict(_walk(primary, message, types, primary, hashed=False))


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
