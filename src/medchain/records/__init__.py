"""Encrypted health records: encrypt on the client, store on IPFS, anchor on chain.

`RecordsClient` wraps the RecordRegistry contract. `Records` is the high-level API:

* `put`    encrypt (fresh data key, context-bound), store and pin, then anchor the CID,
           ciphertext hash and one key envelope per recipient;
* `get`    read the anchor, fetch (every block checked against its CID), check the
           ciphertext hash, unwrap the caller's envelope and decrypt;
* `share`  unwrap the data key and seal it to another recipient, store, anchor;
* `verify` integrity of a record without any key;
* `resume` finish interrupted puts from the local journal (`discard` drops one);
* `read_access` / `check_share`  the consent gate for reading someone else's record (the
           read is recorded with `ConsentRegistry.recordAccess`) and for sealing a key to
           someone who is not the patient's manager (read consent required).

Record ids are derived from the author: `keccak256(abi.encode(author, patient, salt))`
(`record_id_for`, the contract's `recordIdOf`), so nobody else can anchor under an id the
author announced. The id is bound into the ciphertext, so a put is prepared for one author
and only that account can finish it.

Modules: `model` (ids, anchors, results, refusals), `client` (`RecordsClient`), `did`
(recipients from DIDs), `journal` (the put journal), `service` (`Records`). Scopes are
`medchain.codec.scope_code`, the encoding consent uses, so a record anchored under a label
and a consent grant for that label name the same bytes32 (non-ASCII and long labels are
hashed).

Nothing lost: each put writes a journal entry (`$MEDCHAIN_HOME/journal/<id>.json`, its
ciphertext spooled beside it) before touching the network, and advances it step by step
(`encrypted` -> `stored` -> done). A CID is anchored only after the store confirms it
holds every block. Nothing leaked: plaintext and data keys never leave the process or
reach the disk; the journal holds only ciphertext, public key envelopes and hashes.
"""

from __future__ import annotations

__all__ = [
    "RECORDS_DELEGATE_NAME",
    "SCHEMA_VERSION",
    "Anchor",
    "CiphertextHasher",
    "ConsentRequired",
    "ContractRevert",
    "ErasureReport",
    "Journal",
    "JournalEntry",
    "JournalError",
    "NoEnvelope",
    "Progress",
    "PutResult",
    "Recipient",
    "RecordErased",
    "Records",
    "RecordsClient",
    "StorageErasureIncomplete",
    "VerifyReport",
    "recipients_for",
    "record_id_for",
    "scope_code",
    "scope_name",
]

from medchain.codec import scope_code
from medchain.consent.client import ConsentRequired
from medchain.errors import ContractRevert
from medchain.records.client import RecordsClient
from medchain.records.did import Recipient, recipients_for
from medchain.records.journal import Journal, JournalEntry
from medchain.records.model import (
    RECORDS_DELEGATE_NAME,
    SCHEMA_VERSION,
    Anchor,
    ErasureReport,
    JournalError,
    NoEnvelope,
    Progress,
    PutResult,
    RecordErased,
    StorageErasureIncomplete,
    VerifyReport,
    record_id_for,
    scope_name,
)
from medchain.records.service import CiphertextHasher, Records
