"""Clinical-trial logs: register trials, approve amendments, log site entries, report outcomes,
and export a trial's hash-chained timeline as JSON and verify it end to end against the chain.

The package, module by module:

* `model`: entry types, status, roles, log-format constants, on-chain views, refusals, and
  the document / outcome-set / registry-id encodings;
* `chain`: the hash-chain rule (genesis head, payload and entry hashes, next head);
* `commitments`: salted subject and note commitments (nobody is named on chain);
* `events`: which event is which entry, and decoded events -> numbered, chained entries;
* `disclosures`: (salt, text or pseudonym) records that open commitments beside a log;
* `logfile`: the exported log file, read, written and verified offline;
* `client`: `TrialsClient`, the TrialRegistry calls and the export / on-chain verification.

Everything public is importable from `medchain.trials` itself.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_BATCH_BLOCKS",
    "GENESIS_TAG",
    "LOG_FORMAT",
    "MAX_CID_LENGTH",
    "NOTE_FIELDS",
    "NOTE_TAG",
    "PAYLOAD_FIELDS",
    "SERIOUS_FLAG",
    "SUBJECT_FIELDS",
    "SUBJECT_TAG",
    "EntryType",
    "LogIntegrityError",
    "NoteCommitment",
    "PendingAmendment",
    "Role",
    "SubjectCommitment",
    "TrialInfo",
    "TrialStatus",
    "TrialsClient",
    "VerificationReport",
    "append_note",
    "attach_disclosures",
    "check_disclosure",
    "default_threshold",
    "disclosure_kind",
    "document_hash",
    "encode_payload",
    "entries_from_events",
    "entry_hash",
    "genesis_head",
    "keccak",
    "load_disclosures",
    "load_log",
    "next_head",
    "note_commitment",
    "outcomes_document",
    "outcomes_hash",
    "recompute_entry",
    "registry_id_bytes",
    "registry_id_text",
    "save_log",
    "severity_code",
    "subject_commitment",
    "verify_log",
]

from medchain.hashing import keccak
from medchain.trials.chain import GENESIS_TAG, encode_payload, entry_hash, genesis_head, next_head
from medchain.trials.client import TrialsClient
from medchain.trials.commitments import (
    NOTE_TAG,
    SUBJECT_TAG,
    NoteCommitment,
    SubjectCommitment,
    note_commitment,
    subject_commitment,
)
from medchain.trials.disclosures import (
    append_note,
    attach_disclosures,
    check_disclosure,
    disclosure_kind,
    load_disclosures,
)
from medchain.trials.events import (
    NOTE_FIELDS,
    PAYLOAD_FIELDS,
    SUBJECT_FIELDS,
    entries_from_events,
)
from medchain.trials.logfile import load_log, recompute_entry, save_log, verify_log
from medchain.trials.model import (
    DEFAULT_BATCH_BLOCKS,
    LOG_FORMAT,
    MAX_CID_LENGTH,
    SERIOUS_FLAG,
    EntryType,
    LogIntegrityError,
    PendingAmendment,
    Role,
    TrialInfo,
    TrialStatus,
    VerificationReport,
    default_threshold,
    document_hash,
    outcomes_document,
    outcomes_hash,
    registry_id_bytes,
    registry_id_text,
    severity_code,
)
