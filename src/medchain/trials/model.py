"""Trial vocabulary: entry types, trial status and roles, the log format's constants, the
trial's on-chain views, verification results and refusals, and the helpers that turn
documents, outcome sets and registry ids into the words the TrialRegistry stores."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from medchain.codec import text_to_bytes32
from medchain.errors import IntegrityError, InvalidInput
from medchain.hashing import keccak

LOG_FORMAT = "medchain.trial-log/2"
SERIOUS_FLAG = 0x80
MAX_CID_LENGTH = 128
DEFAULT_BATCH_BLOCKS = 5_000


class EntryType(IntEnum):
    """Timeline entry types; values are committed into entry hashes (see the interface). The
    names are the contract's `ITrialRegistry.EntryType` names, which are also the `type` of each
    entry in an exported log and the names docs/trials.md lists: one set of names everywhere."""

    Registered = 0
    RoleGranted = 1
    RoleRevoked = 2
    AmendmentProposed = 3
    AmendmentApproved = 4
    AmendmentRejected = 5
    AmendmentWithdrawn = 6
    Suspended = 7
    Resumed = 8
    Terminated = 9
    Enrolled = 10
    Reconsented = 11
    Withdrawn = 12
    DeviationLogged = 13
    AdverseEventLogged = 14
    DataLocked = 15
    OutcomesReported = 16
    FinalReportFiled = 17
    EthicsVoteCast = 18
    EligibilityRequired = 19
    MoveProposed = 20
    MoveWithdrawn = 21
    Moved = 22


class TrialStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    TERMINATED = 3
    CLOSED = 4
    MOVED = 5  # carried to a successor registry version; reads only (docs/upgrades.md)


class Role(IntEnum):
    NONE = 0
    INVESTIGATOR = 1
    MONITOR = 2
    ETHICS = 3


# Event name -> (entry type, or None when the event carries it; data fields after


def registry_id_bytes(registry_id: str) -> bytes:
    """An external registry id (e.g. 'NCT01234567') as the contract's left-aligned bytes32."""
    return text_to_bytes32(
        registry_id.strip(), "registry id (1..32 ASCII characters, e.g. NCT01234567)",
        ascii_only=True,
    )  # fmt: skip


def registry_id_text(value: bytes) -> str:
    return value.rstrip(b"\0").decode("ascii", "replace")


def document_hash(data: bytes) -> bytes:
    """Hash anchored for a document (protocol, dataset, report): keccak256 of its bytes."""
    return keccak(data)


def outcomes_document(primary: Sequence[str], secondary: Sequence[str] = ()) -> bytes:
    """The canonical bytes of a pre-specified outcome set: JSON with sorted keys, no spaces,
    UTF-8, outcomes in the given order (order matters: the first primary outcome is *the*
    primary outcome). Registration and reports hash the same form."""
    if not primary:
        raise InvalidInput("an outcome set needs at least one primary outcome")
    doc = {
        "primary": [str(p).strip() for p in primary],
        "secondary": [str(s).strip() for s in secondary],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def outcomes_hash(primary: Sequence[str], secondary: Sequence[str] = ()) -> bytes:
    return keccak(outcomes_document(primary, secondary))


def severity_code(grade: int, serious: bool) -> int:
    """The contract's adverse-event severity word: CTCAE grade 1..5, | 0x80 when serious."""
    if not 1 <= int(grade) <= 5:
        raise InvalidInput(f"adverse-event grade must be a CTCAE grade 1..5, got {grade}")
    return int(grade) | (SERIOUS_FLAG if serious else 0)


def check_cid(cid: str, name: str) -> str:
    """`cid` when it is 1..MAX_CID_LENGTH bytes long (what the contract stores)."""
    if not cid or len(cid.encode()) > MAX_CID_LENGTH:
        raise InvalidInput(f"{name} must be a CID of 1..{MAX_CID_LENGTH} bytes, got {cid!r}")
    return cid


@dataclass(frozen=True)
class TrialInfo:
    trial_id: int
    sponsor: str
    status: TrialStatus
    locked: bool
    protocol_version: int
    consent_version: int
    entry_count: int
    head: str
    protocol_hash: str
    outcomes_hash: str
    registered_block: int
    ethics_count: int
    outcome_reports: int
    outcome_mismatches: int
    ethics_threshold: int
    board_epoch: int
    amended_outcomes_hash: str  # zero: no approved amendment changed the outcomes


@dataclass(frozen=True)
class PendingAmendment:
    version: int
    protocol_hash: str
    consent_version: int
    outcomes_hash: str


# --------------------------------------------------------------------------- log model


@dataclass
class VerificationReport:
    """What `verify_log` / `TrialsClient.verify` established."""

    trial_id: int
    entry_count: int
    head: str
    checked_against_chain: bool = False
    outcome_mismatches: list[int] = field(default_factory=list)  # seqs of mismatching reports
    # seqs of approvals that changed the outcomes away from the pre-registered ones
    outcome_amendments: list[int] = field(default_factory=list)
    serious_adverse_events: int = 0
    enrollments: int = 0
    ethics_votes: int = 0
    disclosures_verified: int = 0  # disclosed (salt + text or pseudonym) commitments opened
    commitments_undisclosed: int = 0  # commitments in the log without a disclosure


class LogIntegrityError(IntegrityError):
    """An exported log does not match its own chain or the chain on chain. `seq` names the
    first entry that does not match (None when the header itself is wrong); `kind` is one of
    edited, omitted, reordered, truncated, extra, foreign, disclosure (a disclosed salt and text
    or pseudonym does not open the commitment it claims to, or opens none in the log)."""

    def __init__(self, message: str, *, seq: int | None, kind: str):
        self.seq = seq
        self.kind = kind
        super().__init__(message)


def default_threshold(members: int) -> int:
    """A majority of the board (a board of one decides alone)."""
    return 1 if members <= 1 else members // 2 + 1
