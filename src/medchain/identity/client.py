"""Typed client for the DIDRegistry contract: ERC-1056 calls, legacy (0x19 0x00) signed
calls, EIP-712 signed requests that one account signs and another relays, and batches.

A signed request is a `medchain.signing.SignedPayload` of format `REQUEST_FORMAT`: a
self-contained JSON object (`to_json`) holding the EIP-712 typed data, the signature and
the signer, so it can travel as a file from the signer to a relayer (`medchain did ...
--sign-only` then `medchain did relay <file>`, read back with `read_signed_request`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from medchain import codec
from medchain.client import ContractClient
from medchain.codec import (
    ZERO32,
    ZERO_ADDRESS,
    bytes32_to_text,
    hex_to_bytes,
    text_to_bytes32,
    to_address,
)
from medchain.eip712 import Eip712Domain, typed_data
from medchain.errors import InvalidInput, translate_errors
from medchain.hashing import keccak
from medchain.signing import SignedPayload, sign_digest, signing_address

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


def to_bytes32(name: str | bytes) -> bytes:
    """An ERC-1056 short name (`veriKey`, `did/svc/Records`) as its left-aligned bytes32
    (`medchain.codec.text_to_bytes32`: at most 32 UTF-8 bytes, never truncated)."""
    return text_to_bytes32(name, "ERC-1056 name")


# An ERC-1056 name read back from bytes32 (its text, or 0x-hex when it is not text).
from_bytes32 = bytes32_to_text


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
        return cls(OP_CHANGE_OWNER, account=to_address(new_owner, "new owner"))

    @classmethod
    def add_delegate(cls, delegate_type: str, delegate: Any, validity: int) -> Operation:
        return cls(
            OP_ADD_DELEGATE,
            to_bytes32(delegate_type),
            to_address(delegate, "delegate"),
            int(validity),
        )

    @classmethod
    def revoke_delegate(cls, delegate_type: str, delegate: Any) -> Operation:
        return cls(OP_REVOKE_DELEGATE, to_bytes32(delegate_type), to_address(delegate, "delegate"))

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
            codec.to_bytes32(msg["name"], "name"),
            to_address(msg["account"], "account"),
            int(msg["validity"]),
            hex_to_bytes(msg["value"], "value"),
        )


def read_signed_request(text: str | bytes) -> SignedPayload:
    """A signed registry request from its JSON file (`SignedPayload.to_json`); another kind
    of file, or one whose signer differs from the message's, is refused."""
    request = SignedPayload.from_json(text, expected_format=REQUEST_FORMAT)
    claimed = to_address(request.message.get("signer"), "signer")
    if claimed != request.signer:
        raise InvalidInput(
            f"signed request names signer {request.signer} but its message says {claimed}"
        )
    return request


def auth_tuple(request: SignedPayload) -> tuple[str, int, int, bytes]:
    """The `Auth` argument of the registry's typed calls: (signer, nonce, deadline, signature)."""
    msg = request.message
    return (
        to_address(msg["signer"], "signer"),
        int(msg["nonce"]),
        int(msg["deadline"]),
        request.signature,
    )


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
        return str(self.call("identityOwner", to_address(identity, "identity")))

    def changed(self, identity: Any) -> int:
        return int(self.call("changed", to_address(identity, "identity")))

    def nonce(self, owner: Any) -> int:
        return int(self.call("nonce", to_address(owner, "owner")))

    def valid_delegate(self, identity: Any, delegate_type: str, delegate: Any) -> bool:
        return bool(
            self.call(
                "validDelegate",
                to_address(identity, "identity"),
                to_bytes32(delegate_type),
                to_address(delegate, "delegate"),
            )
        )

    def delegate_valid_to(self, identity: Any, delegate_type: str, delegate: Any) -> int:
        key = keccak(to_bytes32(delegate_type))  # abi.encode(bytes32) is the 32 bytes
        return int(
            self.call(
                "delegates", to_address(identity, "identity"), key, to_address(delegate, "delegate")
            )
        )

    # ------------------------------------------------------------------ direct writes
    def change_owner(self, identity: Any, new_owner: Any, **kw: Any) -> Any:
        return self.transact(
            "changeOwner",
            to_address(identity, "identity"),
            to_address(new_owner, "new owner"),
            **kw,
        )

    def add_delegate(
        self, identity: Any, delegate_type: str, delegate: Any, validity: int, **kw: Any
    ) -> Any:
        return self.transact(
            "addDelegate",
            to_address(identity, "identity"),
            to_bytes32(delegate_type),
            to_address(delegate, "delegate"),
            int(validity),
            **kw,
        )

    def revoke_delegate(self, identity: Any, delegate_type: str, delegate: Any, **kw: Any) -> Any:
        return self.transact(
            "revokeDelegate",
            to_address(identity, "identity"),
            to_bytes32(delegate_type),
            to_address(delegate, "delegate"),
            **kw,
        )

    def set_attribute(
        self, identity: Any, name: str, value: bytes, validity: int, **kw: Any
    ) -> Any:
        return self.transact(
            "setAttribute",
            to_address(identity, "identity"),
            to_bytes32(name),
            bytes(value),
            int(validity),
            **kw,
        )

    def revoke_attribute(self, identity: Any, name: str, value: bytes, **kw: Any) -> Any:
        return self.transact(
            "revokeAttribute",
            to_address(identity, "identity"),
            to_bytes32(name),
            bytes(value),
            **kw,
        )

    def invalidate_nonce(self, **kw: Any) -> Any:
        """Burn the sender's next signature nonce: every signed but unsent request of the
        sender (legacy or EIP-712) carrying it can no longer be relayed."""
        return self.transact("invalidateNonce", **kw)

    def batch(self, identity: Any, operations: Sequence[Operation], **kw: Any) -> Any:
        if not operations:
            raise InvalidInput("a batch needs at least one operation")
        return self.transact(
            "batch", to_address(identity, "identity"), [op.as_tuple() for op in operations], **kw
        )

    # ------------------------------------------------------------------ EIP-712
    def eip712_domain(self, chain_id: int | None = None) -> Eip712Domain:
        """The registry's EIP-712 domain (another `chain_id` only to sign for another chain)."""
        return Eip712Domain(
            DOMAIN_NAME,
            DOMAIN_VERSION,
            self.chain_id if chain_id is None else int(chain_id),
            to_address(self.address, "registry"),
        )

    def domain(self, chain_id: int | None = None) -> dict[str, Any]:
        """`eip712_domain` in its typed-data JSON form."""
        return self.eip712_domain(chain_id).as_dict()

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
        identity_addr = to_address(identity, "identity")
        signer_addr = to_address(signer, "signer")
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
        types = {primary: TYPES[primary]}
        if primary == "Batch":
            types["Operation"] = TYPES["Operation"]
        return typed_data(self.eip712_domain(chain_id), primary, types, message)

    def sign(
        self,
        signer: Any,
        operation: Operation | Sequence[Operation],
        identity: Any,
        *,
        signer_address: Any | None = None,
        **typed: Any,
    ) -> SignedPayload:
        """Sign a request as the identity owner. `signer` signs (ape account, LocalAccount
        or private key); `signer_address` names the owner when it is an ERC-1271 contract
        whose key is `signer`."""
        owner = signing_address(signer) if signer_address is None else signer_address
        data = self.typed_data(operation, identity, owner, **typed)
        return SignedPayload.sign(signer, data, signer_address=owner, format=REQUEST_FORMAT)

    def relay(self, request: SignedPayload, **kw: Any) -> Any:
        """Submit a signed request from this client's sender (anyone may relay)."""
        request.check_domain(self.chain_id, self.address, what="registry")
        msg = request.message
        identity = to_address(msg["identity"], "identity")
        auth = auth_tuple(request)
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
        identity_addr = to_address(identity, "identity")
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
        identity_addr = to_address(identity, "identity")
        v, r, s = sign_digest(signer, self.legacy_hash(operation, identity_addr))
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
        return [to_address(msg["newOwner"], "new owner")]
    if primary == "AddDelegate":
        return [
            codec.to_bytes32(msg["delegateType"], "delegate type"),
            to_address(msg["delegate"], "delegate"),
            int(msg["validity"]),
        ]
    if primary == "RevokeDelegate":
        return [
            codec.to_bytes32(msg["delegateType"], "delegate type"),
            to_address(msg["delegate"], "delegate"),
        ]
    if primary == "SetAttribute":
        return [
            codec.to_bytes32(msg["name"], "name"),
            hex_to_bytes(msg["value"], "value"),
            int(msg["validity"]),
        ]
    if primary == "RevokeAttribute":
        return [codec.to_bytes32(msg["name"], "name"), hex_to_bytes(msg["value"], "value")]
    raise InvalidInput(f"unknown signed request type {primary!r}")
