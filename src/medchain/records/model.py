"""What the records domain talks about: record ids, anchors as the chain holds them, the
results of a put, a verification and an erasure, and the refusals particular to records.
Scopes are encoded by `medchain.codec.scope_code`, the same rule consent uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode

from medchain.codec import scope_label, to_address, to_bytes32
from medchain.errors import IntegrityError, InvalidInput
from medchain.hashing import keccak
from medchain.storage.cid import CID

SCHEMA_VERSION = 1
RECORDS_DELEGATE_NAME = b"medchain/records"
Progress = Callable[[str, int], None]  # (stage, bytes just processed)


class NoEnvelope(InvalidInput, LookupError):
    """The record has no key envelope for this recipient: it was not shared with them."""


class RecordErased(InvalidInput, LookupError):
    """The record was erased on request: its key envelopes and ciphertext are gone."""


class JournalError(InvalidInput):
    """A journal entry is missing or cannot be resumed as it stands."""


class StorageErasureIncomplete(IntegrityError):
    """The record is erased on chain, but its content could not be removed everywhere."""


def record_id_for(author: Any, patient: Any, salt: bytes) -> bytes:
    """The id RecordRegistry gives a record anchored by `author` for `patient` with `salt`:
    keccak256(abi.encode(author, patient, salt))."""
    words = [to_address(author, "author"), to_address(patient, "patient"), to_bytes32(salt, "salt")]
    return keccak(encode(["address", "address", "bytes32"], words))


def scope_name(code: bytes) -> str:
    """A record's scope for people: its label when the code is a short ASCII label, else
    the code's 0x-hex (a hashed label such as "Befund-ä" cannot be read back)."""
    return scope_label(bytes(code))


@dataclass(frozen=True)
class Anchor:
    """A record as anchored on chain."""

    record_id: bytes
    patient: str
    author: str
    anchored_at: int
    version: int
    schema_version: int
    scope: bytes
    cid: CID
    content_hash: bytes
    supersedes: bytes
    superseded_by: bytes
    erased_at: int = 0  # unix time of the on-chain erasure, 0 while the record stands

    @property
    def scope_name(self) -> str:
        return scope_name(self.scope)


@dataclass(frozen=True)
class PutResult:
    record_id: bytes
    cid: CID
    content_hash: bytes
    size: int
    envelopes: dict[str, CID]
    transaction: str
    version: int = 1
    # How many storage nodes pinned the ciphertext and every envelope before anchoring
    # (the lowest count among them); None for a single local store.
    replicas: int | None = None


@dataclass(frozen=True)
class VerifyReport:
    record_id: bytes
    cid: CID
    content_hash: bytes
    ciphertext_size: int
    plaintext_size: int
    envelopes_checked: int
    checks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ErasureReport:
    record_id: bytes
    transaction: str  # empty when the record was already erased on chain
    cid: CID
    envelopes: list[CID]
