"""Typed client for the DIDRegistry contract: ERC-1056 calls, legacy (0x19 0x00) signed
calls, EIP-712 signed requests that one account signs and another relays, and batches.

A signed request is a self-contained JSON object (`SignedRequest.to_json`) holding the
EIP-712 typed data and the signature, so it can travel as a file from the signer to a
relayer (`medchain did ... --sign-only` then `medchain did relay <file>`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import keccak, to_checksum_address

from medchain.client import ContractClient
from medchain.errors import IntegrityError, InvalidInput, translate_errors
from medchain.signing import EIP712_DOMAIN, sign_digest, sign_message

DOMAIN_NAME = "DIDRegistry"
DOMAIN_VERSION = "1"
REQUEST_FORMAT = "medchain.did.signed-request/1"

OP_CHANGE_OWNER, OP_ADD_DELEGATE, OP_REVOKE_DELEGATE, OP_SET_ATTRIBUTE, OP_REVOKE_ATTRIBUTE = range(
    5
)
OP_NAMES = ("changeOwner", "addDelegate", "revokeDelegate", "setAttribute", "revokeAttribute")

# EIP-712 types, mirroring the typehashes in contracts/identity/DIDRegistry.sol.
_AUTH_FIELDS = [
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
_HEAD = [{"name": "identity", "type": "address"}, {"name": "signer", "type": "address"}]
TYPES: dict[str, list[dict[str, str]]] = {
    "ChangeOwner": [*_HEAD, {"name": "newOwner", "type": "address"}, *_AUTH_FIELDS],
    "AddDelegate": [
        *_HEAD,
        {"name": "delegateType", "type": "bytes32"},
        {"name": "delegate", "type": "address"},
        {"name": "validity", "type": "uint256"},
        *_AUTH_FIELDS,
    ],
    "RevokeDelegate": [
        *_HEAD,
        {"name": "delegateType", "type": "bytes32"},
        {"name": "delegate", "type": "address"},
        *_AUTH_FIELDS,
    ],
    "SetAttribute": [
        *_HEAD,
        {"name": "name", "type": "bytes32"},
        {"name": "value", "type": "bytes"},
        {"name": "validity", "type": "uint256"},
        *_AUTH_FIELDS,
    ],
    "RevokeAttribute": [
        *_HEAD,
        {"name": "name", "type": "bytes32"},
        {"name": "value", "type": "bytes"},
        *_AUTH_FIELDS,
    ],
    "Batch": [*_HEAD, {"name": "operations", "type": "Operation[]"}, *_AUTH_FIELDS],
    "Operation": [
        {"name": "kind", "type": "uint8"},
        {"name": "name", "type": "bytes32"},
        {"name": "account", "type": "address"},
        {"name": "validity", "type": "uint256"},
        {"name": "value", "type": "bytes"},
    ],
}
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO32 = b"\x00" * 32


def to_bytes32(text: str | bytes) -> bytes:
    """ERC-1056 short name (`veriKey`, `did/svc/Records`) as right-zero-padded bytes32."""
    raw = text.encode() if isinstance(text, str) else bytes(text)
    if len(raw) > 32:
        raise InvalidInput(f"name {text!r} is {len(raw)} bytes; ERC-1056 names fit in 32 bytes")
    return raw.ljust(32, b"\x00")


def from_bytes32(raw: bytes) -> str:
    """bytes32 back to text (trailing zero bytes dropped); hex if not UTF-8."""
    stripped = bytes(raw).rstrip(b"\x00")
    try:
        return stripped.decode()
    except UnicodeDecodeError:
        return "0x" + bytes(raw).hex()


def _address(value: Any, what: str) -> str:
    text = str(getattr(value, "address", value))
    try:
        return to_checksum_address(text)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{what} is not an Ethereum address: {text!r}") from exc


@dataclass(frozen=True)
class Operation:
    """One change in a batch (see `IDIDRegistry.Operation`)."""

    kind: int
    name: bytes = ZERO32
    account: str = ZERO_ADDRESS
    validity: int = 0
    value: bytes = b""

    @classmethod
    def change_owner(cls, new_owner: Any) -> Operation:
        return cls(OP_CHANGE_OWNER, account=_address(new_owner, "new owner"))

    @classmethod
    def add_delegate(cls, delegate_type: str, delegate: Any, validity: int) -> Operation:
        return cls(
            OP_ADD_DELEGATE,
            to_bytes32(delegate_type),
            _address(delegate, "delegate"),
            int(validity),
        )

    @classmethod
    def revoke_delegate(cls, delegate_type: str, delegate: Any) -> Operation:
        return cls(OP_REVOKE_DELEGATE, to_bytes32(delegate_type), _address(delegate, "delegate"))

    @classmethod
    def set_attribute(cls, name: str, value: bytes, validity: int) -> Operation:
        return cls(OP_SET_ATTRIBUTE, to_bytes32(name), validity=int(validity), value=bytes(value))

    @classmethod
    def revoke_attribute(cls, name: str, value: bytes) -> Operation:
        return cls(OP_REVOKE_ATTRIBUTE, to_bytes32(name), value=bytes(value))

    def as_tuple(self) -> tuple[int, bytes, str, int, bytes]:
        return (self.kind, self.name, self.account, self.validity, self.value)

    def as_message(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": "0x" + self.name.hex(),
            "account": self.account,
            "validity": self.validity,
            "value": "0x" + self.value.hex(),
        }

    @classmethod
    def from_message(cls, msg: dict[str, Any]) -> Operation:
        return cls(
            int(msg["kind"]),
            _hex_bytes(msg["name"]),
            _address(msg["account"], "account"),
            int(msg["validity"]),
            _hex_bytes(msg["value"]),
        )


def _hex_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    try:
        return bytes.fromhex(str(value).removeprefix("0x"))
    except ValueError as exc:
        raise InvalidInput(f"not hex bytes: {value!r}") from exc


@dataclass
class SignedRequest:
    """An EIP-712 signed registry request: typed data plus the owner's signature."""

    typed_data: dict[str, Any]
    signature: bytes
    format: str = field(default=REQUEST_FORMAT)

    @property
    def primary_type(self) -> str:
        return str(self.typed_data["primaryType"])

    @property
    def message(self) -> dict[str, Any]:
        return dict(self.typed_data["message"])

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": self.format,
                "typedData": self.typed_data,
                "signature": "0x" + self.signature.hex(),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> SignedRequest:
        try:
            data = json.loads(text)
            if data.get("format") != REQUEST_FORMAT:
                raise InvalidInput(
                    f"not a medchain DID signed request (format {data.get('format')!r}, "
                    f"expected {REQUEST_FORMAT})"
                )
            return cls(data["typedData"], _hex_bytes(data["signature"]))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidInput(f"unreadable signed request: {exc}") from exc

    def signable(self) -> SignableMessage:
        return encode_typed_data(full_message=self.typed_data)

    def recover_signer(self) -> str:
        """The EOA that made the signature (a contract owner's signature recovers to its key)."""
        return str(Account.recover_message(self.signable(), signature=self.signature))

    def auth_tuple(self) -> tuple[str, int, int, bytes]:
        msg = self.message
        return (
            _address(msg["signer"], "signer"),
            int(msg["nonce"]),
            int(msg["deadline"]),
            self.signature,
        )


sign_signable = sign_message  # kept as this module's public name
sign_hash = sign_digest


class DIDKeyExists(InvalidInput):
    """`did create` on a DID that already publishes an encryption key, without saying
    whether the new key replaces (--rotate) or joins (--add) the published ones."""


class DIDRegistryClient(ContractClient):
    """ERC-1056 registry calls with typed arguments (`str` names become bytes32)."""

    contract_name = "DIDRegistry"

    def call(self, method: str, *args: Any, **kw: Any) -> Any:
        """Read-only call through the one error mapping. `nonce` collides with ape's own
        account-nonce attribute on contract instances, so views go through
        `call_view_method`."""
        with translate_errors(self.contract_name, self.contract.contract_type):
            return self.contract.call_view_method(method, *args, **kw)

    # ------------------------------------------------------------------ reads
    def identity_owner(self, identity: Any) -> str:
        return str(self.call("identityOwner", _address(identity, "identity")))

    def changed(self, identity: Any) -> int:
        return int(self.call("changed", _address(identity, "identity")))

    def nonce(self, owner: Any) -> int:
        return int(self.call("nonce", _address(owner, "owner")))

    def valid_delegate(self, identity: Any, delegate_type: str, delegate: Any) -> bool:
        return bool(
            self.call(
                "validDelegate",
                _address(identity, "identity"),
                to_bytes32(delegate_type),
                _address(delegate, "delegate"),
            )
        )

    def delegate_valid_to(self, identity: Any, delegate_type: str, delegate: Any) -> int:
        key = keccak(to_bytes32(delegate_type))  # abi.encode(bytes32) is the 32 bytes
        return int(
            self.call(
                "delegates", _address(identity, "identity"), key, _address(delegate, "delegate")
            )
        )

    @property
    def chain_id(self) -> int:
        from ape import chain

        return int(chain.provider.chain_id)

    # ------------------------------------------------------------------ direct writes
    def change_owner(self, identity: Any, new_owner: Any, **kw: Any) -> Any:
        return self.transact(
            "changeOwner", _address(identity, "identity"), _address(new_owner, "new owner"), **kw
        )

    def add_delegate(
        self, identity: Any, delegate_type: str, delegate: Any, validity: int, **kw: Any
    ) -> Any:
        return self.transact(
            "addDelegate",
            _address(identity, "identity"),
            to_bytes32(delegate_type),
            _address(delegate, "delegate"),
            int(validity),
            **kw,
        )

    def revoke_delegate(self, identity: Any, delegate_type: str, delegate: Any, **kw: Any) -> Any:
        return self.transact(
            "revokeDelegate",
            _address(identity, "identity"),
            to_bytes32(delegate_type),
            _address(delegate, "delegate"),
            **kw,
        )

    def set_attribute(
        self, identity: Any, name: str, value: bytes, validity: int, **kw: Any
    ) -> Any:
        return self.transact(
            "setAttribute",
            _address(identity, "identity"),
            to_bytes32(name),
            bytes(value),
            int(validity),
            **kw,
        )

    def revoke_attribute(self, identity: Any, name: str, value: bytes, **kw: Any) -> Any:
        return self.transact(
            "revokeAttribute", _address(identity, "identity"), to_bytes32(name), bytes(value), **kw
        )

    def invalidate_nonce(self, **kw: Any) -> Any:
        """Burn the sender's next signature nonce: every signed but unsent request of the
        sender (legacy or EIP-712) carrying it can no longer be relayed."""
        return self.transact("invalidateNonce", **kw)

    def batch(self, identity: Any, operations: Sequence[Operation], **kw: Any) -> Any:
        if not operations:
            raise InvalidInput("a batch needs at least one operation")
        return self.transact(
            "batch", _address(identity, "identity"), [op.as_tuple() for op in operations], **kw
        )

    # ------------------------------------------------------------------ EIP-712
    def domain(self, chain_id: int | None = None) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id if chain_id is None else chain_id,
            "verifyingContract": to_checksum_address(self.address),
        }

    def typed_data(
        self,
        operation: Operation | Sequence[Operation],
        identity: Any,
        signer: Any,
        *,
        nonce: int | None = None,
        deadline: int | None = None,
        ttl: int = 3600,
        chain_id: int | None = None,
    ) -> dict[str, Any]:
        """EIP-712 typed data for one operation (its own primary type) or a batch."""
        identity_addr = _address(identity, "identity")
        signer_addr = _address(signer, "signer")
        if nonce is None:
            nonce = self.nonce(signer_addr)
        if deadline is None:
            deadline = self._now() + ttl
        message: dict[str, Any] = {"identity": identity_addr, "signer": signer_addr}
        if isinstance(operation, Operation):
            primary = operation_type(operation.kind)
            message.update(_single_fields(operation))
        else:
            if not operation:
                raise InvalidInput("a batch needs at least one operation")
            primary = "Batch"
            message["operations"] = [op.as_message() for op in operation]
        message.update({"nonce": int(nonce), "deadline": int(deadline)})
        types: dict[str, Any] = {"EIP712Domain": EIP712_DOMAIN, primary: TYPES[primary]}
        if primary == "Batch":
            types["Operation"] = TYPES["Operation"]
        return {
            "types": types,
            "primaryType": primary,
            "domain": self.domain(chain_id),
            "message": message,
        }

    def sign(
        self,
        signer: Any,
        operation: Operation | Sequence[Operation],
        identity: Any,
        *,
        signer_address: Any | None = None,
        **typed: Any,
    ) -> SignedRequest:
        """Sign a request as the identity owner. `signer` signs (ape account, LocalAccount
        or private key); `signer_address` names the owner when it is an ERC-1271 contract
        whose key is `signer`."""
        owner = signer_address if signer_address is not None else _signer_address(signer)
        data = self.typed_data(operation, identity, owner, **typed)
        return SignedRequest(data, sign_signable(signer, encode_typed_data(full_message=data)))

    def relay(self, request: SignedRequest, **kw: Any) -> Any:
        """Submit a signed request from this client's sender (anyone may relay)."""
        domain = request.typed_data.get("domain", {})
        if int(domain.get("chainId", -1)) != self.chain_id:
            raise InvalidInput(
                f"signed request is for chain {domain.get('chainId')}, connected to {self.chain_id}"
            )
        if str(domain.get("verifyingContract", "")).lower() != self.address.lower():
            raise InvalidInput(
                f"signed request is for registry {domain.get('verifyingContract')}, "
                f"this registry is {self.address}"
            )
        msg = request.message
        identity = _address(msg["identity"], "identity")
        auth = request.auth_tuple()
        primary = request.primary_type
        if primary == "Batch":
            ops = [Operation.from_message(m).as_tuple() for m in msg["operations"]]
            return self.transact("batchTyped", identity, ops, auth, **kw)
        args = _single_args(primary, msg)
        return self.transact(
            primary[0].lower() + primary[1:] + "Typed", identity, *args, auth, **kw
        )

    # ------------------------------------------------------------------ legacy ERC-1056
    def legacy_hash(self, operation: Operation, identity: Any, nonce: int | None = None) -> bytes:
        """keccak256(0x19 0x00 registry nonce identity action args...) as ERC-1056 signs it."""
        identity_addr = _address(identity, "identity")
        if nonce is None:
            nonce = self.nonce(self.identity_owner(identity_addr))
        head = (
            b"\x19\x00"
            + bytes.fromhex(self.address[2:])
            + int(nonce).to_bytes(32, "big")
            + bytes.fromhex(identity_addr[2:])
            + OP_NAMES[operation.kind].encode()
        )
        acct = bytes.fromhex(operation.account[2:])
        tail = {
            OP_CHANGE_OWNER: acct,
            OP_ADD_DELEGATE: operation.name + acct + operation.validity.to_bytes(32, "big"),
            OP_REVOKE_DELEGATE: operation.name + acct,
            OP_SET_ATTRIBUTE: operation.name
            + operation.value
            + operation.validity.to_bytes(32, "big"),
            OP_REVOKE_ATTRIBUTE: operation.name + operation.value,
        }[operation.kind]
        return keccak(head + tail)

    def send_legacy_signed(
        self, signer: Any, operation: Operation, identity: Any, **kw: Any
    ) -> Any:
        """Sign with the ERC-1056 scheme (as ethr-did does) and submit `<op>Signed`."""
        identity_addr = _address(identity, "identity")
        v, r, s = sign_hash(signer, self.legacy_hash(operation, identity_addr))
        method = OP_NAMES[operation.kind] + "Signed"
        args = _single_args(operation_type(operation.kind), {**_single_fields(operation)})
        return self.transact(method, identity_addr, v, r, s, *args, **kw)

    def _now(self) -> int:
        try:
            from ape import chain

            return int(chain.pending_timestamp)
        except Exception:  # no provider: the wall clock is the best we have
            return int(time.time())


def operation_type(kind: int) -> str:
    if not 0 <= kind < len(OP_NAMES):
        raise InvalidInput(f"unknown operation kind {kind}")
    name = OP_NAMES[kind]
    return name[0].upper() + name[1:]


def _single_fields(op: Operation) -> dict[str, Any]:
    name = "0x" + op.name.hex()
    value = "0x" + op.value.hex()
    fields: dict[int, dict[str, Any]] = {
        OP_CHANGE_OWNER: {"newOwner": op.account},
        OP_ADD_DELEGATE: {"delegateType": name, "delegate": op.account, "validity": op.validity},
        OP_REVOKE_DELEGATE: {"delegateType": name, "delegate": op.account},
        OP_SET_ATTRIBUTE: {"name": name, "value": value, "validity": op.validity},
        OP_REVOKE_ATTRIBUTE: {"name": name, "value": value},
    }
    return fields[op.kind]


def _single_args(primary: str, msg: dict[str, Any]) -> list[Any]:
    if primary == "ChangeOwner":
        return [_address(msg["newOwner"], "new owner")]
    if primary == "AddDelegate":
        return [
            _hex_bytes(msg["delegateType"]),
            _address(msg["delegate"], "delegate"),
            int(msg["validity"]),
        ]
    if primary == "RevokeDelegate":
        return [_hex_bytes(msg["delegateType"]), _address(msg["delegate"], "delegate")]
    if primary == "SetAttribute":
        return [_hex_bytes(msg["name"]), _hex_bytes(msg["value"]), int(msg["validity"])]
    if primary == "RevokeAttribute":
        return [_hex_bytes(msg["name"]), _hex_bytes(msg["value"])]
    raise InvalidInput(f"unknown signed request type {primary!r}")


def _signer_address(signer: Any) -> str:
    if isinstance(signer, bytes | str):
        return str(Account.from_key(signer).address)
    return _address(signer, "signer")


def check_request_signer(request: SignedRequest) -> None:
    """Refuse locally a request whose EOA signature does not match its `signer` field
    (contract-wallet signers are checked on chain by ERC-1271)."""
    claimed = _address(request.message["signer"], "signer")
    recovered = request.recover_signer()
    if recovered.lower() != claimed.lower():
        raise IntegrityError(
            f"signed request names signer {claimed} but the signature is by {recovered}"
        )
