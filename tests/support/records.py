"""What the record-registry tests share: the Observation scope, the zero id, CIDs of
test payloads, an anchor request (RecordRegistry.AnchorRequest as a tuple), the id an
author gets for it, and an account as a recipient of sealed records."""

from __future__ import annotations

import os

from medchain.keystore import public_bytes
from medchain.records import Recipient, record_id_for, scope_code
from medchain.storage.unixfs import compute_cid

OBS = scope_code("Observation")
ZERO = b"\0" * 32


def cid_bytes(seed: bytes, version: int = 1) -> bytes:
    return compute_cid(seed * 3, cid_version=version).to_bytes()


def request(patient, salt=None, cid=None, content_hash=None, supersedes=ZERO, scope=OBS):
    return (
        str(patient.address), salt or os.urandom(32), scope, 1, cid or cid_bytes(b"x"),
        content_hash or os.urandom(32), supersedes,
    )  # fmt: skip


def rid(author, req) -> bytes:
    """The id `author` gets for `req` (keccak256(abi.encode(author, patient, salt)))."""
    return record_id_for(author, req[0], req[1])


def recipient_of(account, key, kid: str = "") -> Recipient:
    """`account` as a recipient of sealed records holding the X25519 private `key` (its
    key id `kid`, by default the DID's #enc key)."""
    return Recipient(
        str(account.address), public_bytes(key), kid or f"did:ethr:{account.address}#enc"
    )
