"""Clinical-trial logs: register trials, approve amendments, log site entries, report outcomes,
and export a trial's hash-chained timeline as JSON and verify it end to end against the chain.

The chain rule (the same as `contracts/interfaces/ITrialRegistry.sol`)::

    payloadHash = keccak256(abi.encode(<payload fields of the entry, in event order>))
    entryHash   = keccak256(abi.encode(trialId, seq, uint8(type), author, timestamp, payloadHash))
    head_seq    = keccak256(abi.encode(head_{seq-1}, entryHash))
    head_{-1}   = keccak256(abi.encode(GENESIS_TAG, chainId, registry, trialId))

An entry's `seq` is its position among the trial's entry events in chain order. Subjects are
never named on chain: `subject_commitment` hides a pseudonym behind 32 random bytes the site keeps.
Free text (deviation descriptions, adverse-event reports, reasons) is never hashed bare either:
`note_commitment` salts it the same way, and the (text, salt) pairs travel beside an exported log
as `disclosures`, which `verify_log` checks offline.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from Crypto.Hash import keccak as _keccak_mod
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from medchain.client import ContractClient
from medchain.errors import IntegrityError, InvalidInput

LOG_FORMAT = "medchain.trial-log/2"
SERIOUS_FLAG = 0x80
MAX_CID_LENGTH = 128
DEFAULT_BATCH_BLOCKS = 5_000


def keccak(data: bytes) -> bytes:
    """keccak256 (pycryptodome directly: ~2x faster than the eth-hash wrapper on 10k entries)."""
    return _keccak_mod.new(digest_bits=256, data=data).digest()


GENESIS_TAG = keccak(b"medchain.TrialRegistry.genesis.v1")
SUBJECT_TAG = keccak(b"medchain.trials.subject.v1")
NOTE_TAG = keccak(b"medchain.trials.note.v1")


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


class TrialStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    TERMINATED = 3
    CLOSED = 4


class Role(IntEnum):
    NONE = 0
    INVESTIGATOR = 1
    MONITOR = 2
    ETHICS = 3


# Event name -> (entry type, or None when the event carries it; data fields after
# (author, timestamp) as (name, abi type)). The payload is these fields, in this order,
# except `entryType` of TrialStatusChanged, which is committed as the entry's type.
_EVENTS: dict[str, tuple[EntryType | None, tuple[tuple[str, str], ...]]] = {
    "TrialRegistered": (
        EntryType.Registered,
        (
            ("registryId", "bytes32"),
            ("protocolHash", "bytes32"),
            ("protocolCid", "string"),
            ("outcomesHash", "bytes32"),
            ("consentVersion", "uint16"),
            ("ethicsThreshold", "uint16"),
        ),
    ),
    "TrialRoleGranted": (
        EntryType.RoleGranted,
        (("account", "address"), ("role", "uint8"), ("siteId", "uint32")),
    ),
    "TrialRoleRevoked": (
        EntryType.RoleRevoked,
        (("account", "address"), ("role", "uint8"), ("siteId", "uint32")),
    ),
    "AmendmentProposed": (
        EntryType.AmendmentProposed,
        (
            ("version", "uint16"),
            ("protocolHash", "bytes32"),
            ("protocolCid", "string"),
            ("consentVersion", "uint16"),
            ("outcomesHash", "bytes32"),
        ),
    ),
    "AmendmentApproved": (
        EntryType.AmendmentApproved,
        (("version", "uint16"), ("protocolHash", "bytes32")),
    ),
    "AmendmentRejected": (
        EntryType.AmendmentRejected,
        (("version", "uint16"), ("protocolHash", "bytes32"), ("reasonCommitment", "bytes32")),
    ),
    "AmendmentWithdrawn": (
        EntryType.AmendmentWithdrawn,
        (("version", "uint16"), ("protocolHash", "bytes32")),
    ),
    "TrialStatusChanged": (
        None,
        (("entryType", "uint8"), ("status", "uint8"), ("reasonCommitment", "bytes32")),
    ),
    "SubjectEnrolled": (
        EntryType.Enrolled,
        (("subjectCommitment", "bytes32"), ("siteId", "uint32"), ("consentVersion", "uint16")),
    ),
    "SubjectReconsented": (
        EntryType.Reconsented,
        (("subjectCommitment", "bytes32"), ("siteId", "uint32"), ("consentVersion", "uint16")),
    ),
    "SubjectWithdrawn": (
        EntryType.Withdrawn,
        (("subjectCommitment", "bytes32"), ("siteId", "uint32"), ("reasonCommitment", "bytes32")),
    ),
    "DeviationLogged": (
        EntryType.DeviationLogged,
        (
            ("siteId", "uint32"),
            ("subjectCommitment", "bytes32"),
            ("important", "bool"),
            ("descriptionCommitment", "bytes32"),
        ),
    ),
    "AdverseEventLogged": (
        EntryType.AdverseEventLogged,
        (
            ("siteId", "uint32"),
            ("subjectCommitment", "bytes32"),
            ("severity", "uint8"),
            ("reportCommitment", "bytes32"),
        ),
    ),
    "DataLocked": (
        EntryType.DataLocked,
        (("datasetHash", "bytes32"), ("datasetCid", "string")),
    ),
    "OutcomesReported": (
        EntryType.OutcomesReported,
        (
            ("reportedOutcomesHash", "bytes32"),
            ("registeredOutcomesHash", "bytes32"),
            ("matchesRegistered", "bool"),
            ("resultsHash", "bytes32"),
            ("resultsCid", "string"),
        ),
    ),
    "FinalReportFiled": (
        EntryType.FinalReportFiled,
        (("reportHash", "bytes32"), ("reportCid", "string")),
    ),
    "EthicsVoteCast": (
        EntryType.EthicsVoteCast,
        (
            ("motion", "uint8"),
            ("account", "address"),
            ("version", "uint16"),
            ("protocolHash", "bytes32"),
            ("approvals", "uint16"),
        ),
    ),
    "EligibilityRequired": (
        EntryType.EligibilityRequired,
        (("gate", "address"), ("issuer", "address"), ("criteriaHash", "uint256")),
    ),
}
_FLAG_EVENT = "OutcomeMismatchFlagged"
_FLAG_FIELDS = (
    ("seq", "uint64"),
    ("registeredOutcomesHash", "bytes32"),
    ("reportedOutcomesHash", "bytes32"),
)
_AMENDED_FLAG_EVENT = "OutcomesAmendedFlagged"
_AMENDED_FLAG_FIELDS = (
    ("seq", "uint64"),
    ("registeredOutcomesHash", "bytes32"),
    ("amendedOutcomesHash", "bytes32"),
)
# Payload fields holding salted commitments, and what a disclosure of each must reveal.
NOTE_FIELDS = frozenset({"descriptionCommitment", "reportCommitment", "reasonCommitment"})
SUBJECT_FIELDS = frozenset({"subjectCommitment"})
# Entry type -> payload field list (for verifying a file, where the event is not at hand).
_PAYLOAD_FIELDS: dict[EntryType, tuple[tuple[str, str], ...]] = {}
for _name, (_etype, _fields) in _EVENTS.items():
    if _etype is None:
        for _t in (EntryType.Suspended, EntryType.Resumed, EntryType.Terminated):
            _PAYLOAD_FIELDS[_t] = _fields[1:]
    else:
        _PAYLOAD_FIELDS[_etype] = _fields


def _signature(name: str, fields: Sequence[tuple[str, str]]) -> str:
    return f"{name}({','.join(['uint64', 'address', 'uint64', *(t for _, t in fields)])})"


_TOPICS: dict[bytes, str] = {keccak(_signature(n, f).encode()): n for n, (_, f) in _EVENTS.items()}
_FLAG_TOPIC = keccak(f"{_FLAG_EVENT}(uint64,uint64,bytes32,bytes32)".encode())
_AMENDED_FLAG_TOPIC = keccak(f"{_AMENDED_FLAG_EVENT}(uint64,uint64,bytes32,bytes32)".encode())


# --------------------------------------------------------------------------- encoding helpers


def _b32(value: Any, name: str) -> bytes:
    """A bytes32 from bytes or 0x-hex, refused with InvalidInput otherwise."""
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value.removeprefix("0x"))
        except ValueError as exc:
            raise InvalidInput(f"{name} must be 32 bytes of hex, got {value!r}") from exc
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise InvalidInput(f"{name} must be 32 bytes, got {value!r}")
    return bytes(value)


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def registry_id_bytes(registry_id: str) -> bytes:
    """An external registry id (e.g. 'NCT01234567') as the contract's left-aligned bytes32."""
    raw = registry_id.strip().encode()
    if not raw or len(raw) > 32 or not registry_id.isascii():
        raise InvalidInput(
            f"registry id must be 1..32 ASCII characters (e.g. NCT01234567), got {registry_id!r}"
        )
    return raw.ljust(32, b"\0")


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


def _check_cid(cid: str, name: str) -> str:
    if not cid or len(cid.encode()) > MAX_CID_LENGTH:
        raise InvalidInput(f"{name} must be a CID of 1..{MAX_CID_LENGTH} bytes, got {cid!r}")
    return cid


@dataclass(frozen=True)
class SubjectCommitment:
    """A salted commitment to a pseudonymous subject id. The site keeps `salt` (and the
    pseudonym) off chain; only `commitment` is logged. Revealing both lets a monitor link a
    subject's entries without anyone else learning who the subject is."""

    trial_id: int
    pseudonym: str
    salt: bytes
    commitment: bytes

    @classmethod
    def create(cls, trial_id: int, pseudonym: str, salt: bytes | None = None) -> SubjectCommitment:
        salt = secrets.token_bytes(32) if salt is None else salt
        return cls(trial_id, pseudonym, salt, subject_commitment(trial_id, pseudonym, salt))

    def to_json(self) -> dict[str, Any]:
        return {
            "trialId": self.trial_id,
            "pseudonym": self.pseudonym,
            "salt": _hex(self.salt),
            "commitment": _hex(self.commitment),
        }


def subject_commitment(trial_id: int, pseudonym: str, salt: bytes) -> bytes:
    """keccak256(abi.encode(SUBJECT_TAG, trialId, keccak256(pseudonym), salt)), salt 32 bytes."""
    if not pseudonym:
        raise InvalidInput("subject pseudonym must not be empty")
    if len(salt) != 32:
        raise InvalidInput(f"subject salt must be 32 bytes, got {len(salt)}")
    return keccak(
        SUBJECT_TAG + int(trial_id).to_bytes(32, "big") + keccak(pseudonym.encode()) + salt
    )


@dataclass(frozen=True)
class NoteCommitment:
    """A salted commitment to a free-text field (deviation description, adverse-event report,
    reason). Only `commitment` goes on chain; the site keeps `salt` with the text (or, for a
    document, its `content_hash`) and discloses them beside an exported log. A bare keccak of a
    short text can be recovered with a dictionary; this cannot without the salt."""

    trial_id: int
    content_hash: bytes
    salt: bytes
    commitment: bytes
    text: str | None = None

    @classmethod
    def create(
        cls, trial_id: int, content: str | bytes, salt: bytes | None = None
    ) -> NoteCommitment:
        """Commit to `content` (text, or a document's bytes) with a fresh 32-byte salt."""
        raw = content.encode() if isinstance(content, str) else bytes(content)
        if not raw:
            raise InvalidInput("a note (description, report or reason) must not be empty")
        salt = secrets.token_bytes(32) if salt is None else salt
        content_hash = keccak(raw)
        return cls(
            int(trial_id),
            content_hash,
            salt,
            note_commitment(trial_id, content_hash, salt),
            content if isinstance(content, str) else None,
        )

    def to_json(self) -> dict[str, Any]:
        """The disclosure record: what a verifier needs to check the commitment offline."""
        out: dict[str, Any] = {
            "kind": "note",
            "trialId": self.trial_id,
            "commitment": _hex(self.commitment),
            "salt": _hex(self.salt),
            "contentHash": _hex(self.content_hash),
        }
        if self.text is not None:
            out["text"] = self.text
        return out


def note_commitment(trial_id: int, content_hash: bytes, salt: bytes) -> bytes:
    """keccak256(abi.encode(NOTE_TAG, trialId, keccak256(content), salt)), salt 32 bytes."""
    if len(content_hash) != 32:
        raise InvalidInput(f"note content hash must be 32 bytes, got {len(content_hash)}")
    if len(salt) != 32:
        raise InvalidInput(f"note salt must be 32 bytes, got {len(salt)}")
    return keccak(NOTE_TAG + int(trial_id).to_bytes(32, "big") + content_hash + salt)


def _note(trial_id: int, note: NoteCommitment | str | bytes, what: str) -> NoteCommitment:
    """A NoteCommitment from one, or from text / document bytes (fresh salt)."""
    if isinstance(note, NoteCommitment):
        if note.trial_id != int(trial_id):
            raise InvalidInput(f"{what} commitment is for trial {note.trial_id}, not {trial_id}")
        return note
    return NoteCommitment.create(trial_id, note)


# --------------------------------------------------------------------------- disclosures


def disclosure_kind(record: Mapping[str, Any]) -> str:
    """'subject' (pseudonym + salt, as `medchain trial enroll` saves) or 'note'."""
    kind = record.get("kind")
    if kind in ("subject", "note"):
        return str(kind)
    return "subject" if "pseudonym" in record else "note"


def check_disclosure(trial_id: int, record: Mapping[str, Any]) -> bytes:
    """Recompute a disclosure's commitment from what it reveals; returns the commitment, or
    raises LogIntegrityError (kind 'disclosure') when the record does not open it."""
    shown = str(record.get("commitment", ""))
    try:
        salt = bytes.fromhex(str(record["salt"]).removeprefix("0x"))
        if disclosure_kind(record) == "subject":
            computed = subject_commitment(trial_id, str(record["pseudonym"]), salt)
        else:
            content_hash = bytes.fromhex(str(record["contentHash"]).removeprefix("0x"))
            text = record.get("text")
            if text is not None and keccak(str(text).encode()) != content_hash:
                raise LogIntegrityError(
                    f"disclosure of {shown}: its text does not hash to its contentHash",
                    seq=None,
                    kind="disclosure",
                )
            computed = note_commitment(trial_id, content_hash, salt)
    except (KeyError, ValueError, TypeError, InvalidInput) as exc:
        raise LogIntegrityError(
            f"disclosure of {shown} is malformed: {exc}", seq=None, kind="disclosure"
        ) from exc
    if shown.lower() != _hex(computed):
        raise LogIntegrityError(
            f"disclosure of {shown}: salt and content open {_hex(computed)}, not the commitment",
            seq=None,
            kind="disclosure",
        )
    return computed


def _commitment_index(entries: Sequence[Mapping[str, Any]]) -> dict[str, list[tuple[int, str]]]:
    """commitment (0x-hex, lower case) -> [(seq, field)] over the entries' commitment fields."""
    index: dict[str, list[tuple[int, str]]] = {}
    for entry in entries:
        payload = entry.get("payload") or {}
        for name in NOTE_FIELDS | SUBJECT_FIELDS:
            value = payload.get(name)
            if isinstance(value, str) and int(value, 16) != 0:
                index.setdefault(value.lower(), []).append((int(entry.get("seq", -1)), name))
    return index


def attach_disclosures(
    log: dict[str, Any], records: Iterable[Mapping[str, Any]]
) -> tuple[int, int]:
    """Put the disclosures that open one of the log's commitments into `log["disclosures"]`
    (each checked first); records for other trials or commitments not in the log (a line whose
    transaction failed, another trial's subject) are left out. Returns (attached, left out)."""
    trial_id = int(log["trialId"])
    index = _commitment_index(log["entries"])
    attached: dict[str, dict[str, Any]] = {
        str(d["commitment"]).lower(): dict(d) for d in log.get("disclosures") or []
    }
    left_out = 0
    for record in records:
        commitment = str(record.get("commitment", "")).lower()
        if int(record.get("trialId", trial_id)) != trial_id or commitment not in index:
            left_out += 1
            continue
        check_disclosure(trial_id, record)
        keep = {
            k: record[k]
            for k in ("commitment", "salt", "contentHash", "text", "pseudonym")
            if k in record
        }
        attached[commitment] = {"kind": disclosure_kind(record), **keep}
    log["disclosures"] = sorted(attached.values(), key=lambda d: str(d["commitment"]))
    return len(attached), left_out


def load_disclosures(paths: Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Disclosure records from files: JSON Lines (`medchain trial` notes files, one record a
    line), a JSON object (a `<pseudonym>.subject.json` file) or a JSON list."""
    out: list[dict[str, Any]] = []
    for path in paths:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise InvalidInput(f"cannot read disclosures {path}: {exc}") from exc
        try:
            data = json.loads(text)
            items = data if isinstance(data, list) else [data]
        except json.JSONDecodeError:
            try:
                items = [json.loads(line) for line in text.splitlines() if line.strip()]
            except json.JSONDecodeError as exc:
                raise InvalidInput(
                    f"{path}: not JSON or JSON Lines of disclosures ({exc})"
                ) from exc
        for item in items:
            if not isinstance(item, dict) or "commitment" not in item or "salt" not in item:
                raise InvalidInput(f"{path}: a disclosure needs at least commitment and salt")
            out.append(item)
    return out


def append_note(path: str | os.PathLike[str], note: NoteCommitment, **extra: Any) -> None:
    """Append one disclosure record to a site's notes file (JSON Lines, created 0600). Never
    rewrites what is there: earlier salts cannot be lost."""
    target = Path(path)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as fh:
        fh.write(json.dumps({**note.to_json(), **extra}, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- chain rule


def genesis_head(chain_id: int, registry: str, trial_id: int) -> bytes:
    return keccak(
        GENESIS_TAG
        + int(chain_id).to_bytes(32, "big")
        + bytes(12)
        + bytes.fromhex(registry.removeprefix("0x"))
        + int(trial_id).to_bytes(32, "big")
    )


def _word(abi_type: str, value: Any) -> bytes:
    """One static ABI word (the only types entries use besides `string`)."""
    if abi_type == "bytes32":
        return value if isinstance(value, bytes) else bytes.fromhex(str(value).removeprefix("0x"))
    if abi_type == "address":
        return bytes(12) + bytes.fromhex(str(value).removeprefix("0x"))
    if abi_type == "bool":
        return (1 if value else 0).to_bytes(32, "big")
    return int(value).to_bytes(32, "big")


def encode_payload(fields: Sequence[tuple[str, str]], values: Sequence[Any]) -> bytes:
    """abi.encode of an entry's payload; static-only payloads are packed word by word."""
    if all(t != "string" for _, t in fields):
        return b"".join(_word(t, v) for (_, t), v in zip(fields, values, strict=True))
    prepared = [
        (_word(t, v) if t == "bytes32" else v) if t != "address" else str(v)
        for (_, t), v in zip(fields, values, strict=True)
    ]
    return abi_encode([t for _, t in fields], prepared)


def entry_hash(
    trial_id: int, seq: int, entry_type: int, author: str, timestamp: int, payload_hash: bytes
) -> bytes:
    return keccak(
        int(trial_id).to_bytes(32, "big")
        + int(seq).to_bytes(32, "big")
        + int(entry_type).to_bytes(32, "big")
        + bytes(12)
        + bytes.fromhex(author.removeprefix("0x"))
        + int(timestamp).to_bytes(32, "big")
        + payload_hash
    )


def next_head(previous: bytes, entry: bytes) -> bytes:
    return keccak(previous + entry)


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


def _entry_payload_values(entry: Mapping[str, Any]) -> tuple[EntryType, list[Any]]:
    try:
        etype = EntryType[str(entry["type"])]
    except KeyError as exc:
        raise LogIntegrityError(
            f"entry {entry.get('seq')} has unknown type {entry.get('type')!r}",
            seq=entry.get("seq"),
            kind="edited",
        ) from exc
    payload = entry.get("payload") or {}
    fields = _PAYLOAD_FIELDS[etype]
    try:
        values = [_from_json(t, payload[n]) for n, t in fields]
    except (KeyError, ValueError, TypeError) as exc:
        raise LogIntegrityError(
            f"entry {entry.get('seq')} ({etype.name}) has a malformed payload: {exc}",
            seq=entry.get("seq"),
            kind="edited",
        ) from exc
    return etype, values


def _from_json(abi_type: str, value: Any) -> Any:
    if abi_type == "bytes32":
        raw = bytes.fromhex(str(value).removeprefix("0x"))
        if len(raw) != 32:
            raise ValueError(f"{value!r} is not 32 bytes")
        return raw
    if abi_type == "address":
        raw = bytes.fromhex(str(value).removeprefix("0x"))
        if len(raw) != 20:
            raise ValueError(f"{value!r} is not an address")
        return "0x" + raw.hex()
    if abi_type == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not a boolean")
        return value
    if abi_type == "string":
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a string")
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not an integer")
    return value


def _to_json(abi_type: str, value: Any) -> Any:
    if abi_type == "bytes32":
        return _hex(value)
    if abi_type == "address":
        return "0x" + bytes.fromhex(str(value).removeprefix("0x")).hex()
    return value


def recompute_entry(trial_id: int, seq: int, previous: bytes, entry: Mapping[str, Any]) -> bytes:
    """The head after `entry` given the head before it (raises on malformed entries)."""
    etype, values = _entry_payload_values(entry)
    payload_hash = keccak(encode_payload(_PAYLOAD_FIELDS[etype], values))
    try:
        author = str(entry["author"])
        timestamp = int(entry["timestamp"])
        eh = entry_hash(trial_id, seq, etype, author, timestamp, payload_hash)
    except (KeyError, ValueError, TypeError) as exc:
        raise LogIntegrityError(
            f"entry {seq} ({etype.name}) has a malformed author or timestamp: {exc}",
            seq=seq,
            kind="edited",
        ) from exc
    return next_head(previous, eh)


def verify_log(log: Mapping[str, Any]) -> VerificationReport:
    """Verify an exported log on its own (pure Python, no chain): entries numbered 0..n-1 in
    order, each recorded head equal to the recomputed one, and the final head and count equal
    to the header's (what the chain said at export). Raises `LogIntegrityError` naming the
    first entry that does not match."""
    if log.get("format") != LOG_FORMAT:
        raise LogIntegrityError(
            f"not a medchain trial log (format {log.get('format')!r}, expected {LOG_FORMAT})",
            seq=None,
            kind="foreign",
        )
    try:
        trial_id = int(log["trialId"])
        head = genesis_head(int(log["chainId"]), str(log["registry"]), trial_id)
        entries = list(log["entries"])
        expected_count = int(log["entryCount"])
        expected_head = bytes.fromhex(str(log["head"]).removeprefix("0x"))
    except (KeyError, ValueError, TypeError) as exc:
        raise LogIntegrityError(f"log header is malformed: {exc}", seq=None, kind="edited") from exc
    if str(log.get("genesisHead", "")).lower() not in ("", _hex(head)):
        raise LogIntegrityError(
            "log header's genesis head does not belong to this chain id, registry and trial",
            seq=None,
            kind="foreign",
        )
    report = VerificationReport(trial_id=trial_id, entry_count=len(entries), head="")
    tally = _Tally()
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise LogIntegrityError(
                f"entry at position {index} is not an object", seq=index, kind="edited"
            )
        seq = entry.get("seq")
        if seq != index:
            _raise_order(index, seq, entries)
        head = recompute_entry(trial_id, index, head, entry)
        recorded = str(entry.get("head", "")).lower()
        if recorded and recorded != _hex(head):
            raise LogIntegrityError(
                f"entry {index} ({entry.get('type')}) was edited: its contents do not hash to "
                "the head recorded for it",
                seq=index,
                kind="edited",
            )
        tally.add(report, entry)
    if len(entries) < expected_count:
        raise LogIntegrityError(
            f"log truncated: it has {len(entries)} entries, the chain had {expected_count} at "
            f"export; first missing entry is seq {len(entries)}",
            seq=len(entries),
            kind="truncated",
        )
    if len(entries) > expected_count:
        raise LogIntegrityError(
            f"log has {len(entries)} entries but the chain had {expected_count}: entry "
            f"{expected_count} onwards is not on chain",
            seq=expected_count,
            kind="extra",
        )
    if head != expected_head:
        raise LogIntegrityError(
            f"log's recomputed head {_hex(head)} differs from the header's {_hex(expected_head)} "
            "(entries and their recorded heads were rewritten together; verify against the "
            "chain to find the first altered entry)",
            seq=None,
            kind="edited",
        )
    report.head = _hex(head)
    _verify_disclosures(report, trial_id, entries, log.get("disclosures") or [])
    return report


def _verify_disclosures(
    report: VerificationReport,
    trial_id: int,
    entries: Sequence[Mapping[str, Any]],
    disclosures: Sequence[Mapping[str, Any]],
) -> None:
    """Every disclosure must open a commitment of the right kind in the log."""
    index = _commitment_index(entries)
    opened: set[str] = set()
    for record in disclosures:
        if not isinstance(record, Mapping):
            raise LogIntegrityError("a disclosure is not an object", seq=None, kind="disclosure")
        commitment = _hex(check_disclosure(trial_id, record))
        uses = index.get(commitment)
        if not uses:
            raise LogIntegrityError(
                f"disclosure of {commitment} opens no commitment in the log",
                seq=None,
                kind="disclosure",
            )
        wanted = SUBJECT_FIELDS if disclosure_kind(record) == "subject" else NOTE_FIELDS
        if not any(name in wanted for _, name in uses):
            seq = uses[0][0]
            raise LogIntegrityError(
                f"disclosure of {commitment} is a {disclosure_kind(record)}, but entry {seq} "
                f"commits to it as {uses[0][1]}",
                seq=seq,
                kind="disclosure",
            )
        opened.add(commitment)
    report.disclosures_verified = len(opened)
    report.commitments_undisclosed = len(set(index) - opened)


def _raise_order(index: int, seq: Any, entries: Sequence[Mapping[str, Any]]) -> None:
    seqs = {e.get("seq") for e in entries}
    if index not in seqs:
        if index >= len(entries) or all(isinstance(s, int) and s < index for s in seqs - {None}):
            kind = "truncated"
        else:
            kind = "omitted"
        raise LogIntegrityError(
            f"entry {index} is missing from the log ({kind}); found seq {seq} in its place",
            seq=index,
            kind=kind,
        )
    raise LogIntegrityError(
        f"entries reordered: position {index} holds seq {seq}; seq {index} comes later",
        seq=index,
        kind="reordered",
    )


@dataclass
class _Tally:
    """Counts taken while verifying: the pre-registered outcomes (entry 0) and the outcomes
    hash of each proposal, to name the approvals that changed the outcomes."""

    registered_outcomes: str = ""
    proposed_outcomes: dict[int, str] = field(default_factory=dict)

    def add(self, report: VerificationReport, entry: Mapping[str, Any]) -> None:
        etype = entry.get("type")
        payload = entry.get("payload") or {}
        if etype == EntryType.Registered.name:
            self.registered_outcomes = str(payload.get("outcomesHash", "")).lower()
        elif etype == EntryType.Enrolled.name:
            report.enrollments += 1
        elif etype == EntryType.AdverseEventLogged.name:
            if int(payload.get("severity", 0)) & SERIOUS_FLAG:
                report.serious_adverse_events += 1
        elif etype == EntryType.OutcomesReported.name:
            if not payload.get("matchesRegistered", True):
                report.outcome_mismatches.append(int(entry["seq"]))
        elif etype == EntryType.AmendmentProposed.name:
            self.proposed_outcomes[int(payload["version"])] = str(payload["outcomesHash"]).lower()
        elif etype == EntryType.AmendmentApproved.name:
            changed = self.proposed_outcomes.get(int(payload["version"]), "")
            if changed and int(changed, 16) != 0 and changed != self.registered_outcomes:
                report.outcome_amendments.append(int(entry["seq"]))
        elif etype == EntryType.EthicsVoteCast.name:
            report.ethics_votes += 1


def load_log(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        return dict(json.loads(Path(path).read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read trial log {path}: {exc}") from exc


def save_log(log: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    Path(path).write_text(json.dumps(log, indent=1) + "\n")


# --------------------------------------------------------------------------- decoding logs


def _decode_log(raw: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(event name, decoded fields) of a raw JSON-RPC log, or None for other events."""
    topics = [_raw_bytes(t) for t in raw["topics"]]
    data = _raw_bytes(raw["data"])
    if topics[0] == _FLAG_TOPIC:
        flag = abi_decode([t for _, t in _FLAG_FIELDS], data)
        return _FLAG_EVENT, dict(zip((n for n, _ in _FLAG_FIELDS), flag, strict=True))
    if topics[0] == _AMENDED_FLAG_TOPIC:
        flag = abi_decode([t for _, t in _AMENDED_FLAG_FIELDS], data)
        return _AMENDED_FLAG_EVENT, dict(
            zip((n for n, _ in _AMENDED_FLAG_FIELDS), flag, strict=True)
        )
    name = _TOPICS.get(topics[0])
    if name is None:
        return None
    fields = _EVENTS[name][1]
    values: list[Any]
    if all(t != "string" for _, t in fields):
        # Static layout: one word per field, after author and timestamp.
        words = [data[i : i + 32] for i in range(0, len(data), 32)]
        if len(words) != 2 + len(fields):
            raise IntegrityError(
                f"{name} log has {len(words)} data words, expected {2 + len(fields)}"
            )
        values = [_word_value(t, w) for (_, t), w in zip(fields, words[2:], strict=True)]
        author = "0x" + words[0][12:].hex()
        timestamp = int.from_bytes(words[1], "big")
    else:
        decoded = abi_decode(["address", "uint64", *(t for _, t in fields)], data)
        author, timestamp, values = decoded[0], decoded[1], list(decoded[2:])
    out = {"author": str(author).lower(), "timestamp": int(timestamp)}
    out.update(dict(zip((n for n, _ in fields), values, strict=True)))
    return name, out


def _word_value(abi_type: str, word: bytes) -> Any:
    if abi_type == "bytes32":
        return word
    if abi_type == "bool":
        return word[-1] == 1
    if abi_type == "address":
        return "0x" + word[12:].hex()
    return int.from_bytes(word, "big")


def _raw_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)


def _raw_int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def entries_from_logs(
    trial_id: int, raw_logs: Iterable[Mapping[str, Any]], genesis: bytes
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bytes]:
    """Turn the trial's raw logs (in chain order) into JSON entries with seq and head, plus
    the outcome-mismatch flags; returns (entries, flags, final head)."""
    entries: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    head = genesis
    ordered = sorted(raw_logs, key=lambda r: (_raw_int(r["blockNumber"]), _raw_int(r["logIndex"])))
    for raw in ordered:
        decoded = _decode_log(raw)
        if decoded is None:
            continue
        name, values = decoded
        if name == _FLAG_EVENT:
            flags.append(
                {
                    "seq": values["seq"],
                    "kind": "OutcomeMismatch",
                    "registeredOutcomesHash": _hex(values["registeredOutcomesHash"]),
                    "reportedOutcomesHash": _hex(values["reportedOutcomesHash"]),
                }
            )
            continue
        if name == _AMENDED_FLAG_EVENT:
            flags.append(
                {
                    "seq": values["seq"],
                    "kind": "OutcomesAmended",
                    "registeredOutcomesHash": _hex(values["registeredOutcomesHash"]),
                    "amendedOutcomesHash": _hex(values["amendedOutcomesHash"]),
                }
            )
            continue
        etype, fields = _EVENTS[name]
        if etype is None:
            etype = EntryType(values["entryType"])
            fields = fields[1:]
        seq = len(entries)
        payload_values = [values[n] for n, _ in fields]
        payload_hash = keccak(encode_payload(fields, payload_values))
        head = next_head(
            head,
            entry_hash(trial_id, seq, etype, values["author"], values["timestamp"], payload_hash),
        )
        entries.append(
            {
                "seq": seq,
                "type": etype.name,
                "author": values["author"],
                "timestamp": values["timestamp"],
                "block": _raw_int(raw["blockNumber"]),
                "tx": "0x" + _raw_bytes(raw["transactionHash"]).hex(),
                "payload": {n: _to_json(t, values[n]) for n, t in fields},
                "head": _hex(head),
            }
        )
    return entries, flags, head


# --------------------------------------------------------------------------- client


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


class TrialsClient(ContractClient):
    """Typed access to `TrialRegistry`: every write is one transaction through
    `ContractClient.transact` (reverts arrive as `ContractRevert` with the custom error)."""

    contract_name = "TrialRegistry"

    # ---- registration and roles

    def register(
        self,
        registry_id: str,
        protocol_hash: bytes,
        protocol_cid: str,
        outcomes_hash: bytes,
        ethics_board: Sequence[Any],
        *,
        threshold: int | None = None,
        consent_version: int = 1,
        sender: Any | None = None,
    ) -> int:
        """Register a trial (the sender is its sponsor); returns the new trial id. `threshold`
        is the number of ethics-board votes a membership change or an amendment approval needs
        (default: a majority of the board; a board of one decides alone)."""
        rid = registry_id_bytes(registry_id)
        board = [str(getattr(m, "address", m)) for m in ethics_board]
        if not board:
            raise InvalidInput("a trial needs at least one ethics-board address")
        k = default_threshold(len(board)) if threshold is None else int(threshold)
        if not 1 <= k <= len(board) or (k == 1 and len(board) > 1):
            raise InvalidInput(
                f"ethics threshold must be 2..{len(board)} for a board of {len(board)} "
                f"(1 only for a board of one), got {k}"
            )
        receipt = self.transact(
            "register",
            rid,
            _b32(protocol_hash, "protocol hash"),
            _check_cid(protocol_cid, "protocol CID"),
            _b32(outcomes_hash, "outcomes hash"),
            int(consent_version),
            board,
            k,
            sender=sender,
        )
        return self._trial_id_from(receipt, "TrialRegistered")

    def trial_id_of(self, sponsor: Any, registry_id: str) -> int:
        return int(
            self.call(
                "trialIdOf",
                str(getattr(sponsor, "address", sponsor)),
                registry_id_bytes(registry_id),
            )
        )

    def grant_role(
        self, trial_id: int, account: Any, role: Role, site: int = 0, *, sender: Any | None = None
    ) -> bool:
        """Grant a role; True when it took effect. An ethics-board grant is one member's vote:
        False until the trial's threshold of members has voted for it."""
        receipt = self.transact(
            "grantRole",
            trial_id,
            str(getattr(account, "address", account)),
            int(role),
            int(site),
            sender=sender,
        )
        return not _voted_only(receipt)

    def revoke_role(
        self, trial_id: int, account: Any, role: Role, site: int = 0, *, sender: Any | None = None
    ) -> bool:
        """Revoke a role; True when it took effect (ethics members: k-of-n, as `grant_role`)."""
        receipt = self.transact(
            "revokeRole",
            trial_id,
            str(getattr(account, "address", account)),
            int(role),
            int(site),
            sender=sender,
        )
        return not _voted_only(receipt)

    def ethics_votes(
        self,
        trial_id: int,
        motion: EntryType,
        *,
        account: Any = None,
        version: int = 0,
        protocol_hash: bytes = bytes(32),
        member: Any = None,
    ) -> tuple[int, bool]:
        """(votes so far, whether `member` voted) for a board decision in the current epoch:
        motion RoleGranted / RoleRevoked with `account`, or AmendmentApproved with `version`
        and `protocol_hash` of the pending amendment."""
        zero = "0x" + "00" * 20
        approvals, voted = self.call(
            "ethicsVotes",
            trial_id,
            int(motion),
            zero if account is None else str(getattr(account, "address", account)),
            int(version),
            _b32(protocol_hash, "protocol hash"),
            zero if member is None else str(getattr(member, "address", member)),
        )
        return int(approvals), bool(voted)

    def has_role(self, trial_id: int, account: Any, role: Role, site: int = 0) -> bool:
        return bool(
            self.call(
                "hasRole", trial_id, str(getattr(account, "address", account)), int(role), int(site)
            )
        )

    # ---- amendments

    def propose_amendment(
        self,
        trial_id: int,
        protocol_hash: bytes,
        protocol_cid: str,
        consent_version: int,
        outcomes_hash: bytes | None = None,
        *,
        sender: Any | None = None,
    ) -> int:
        """Propose the next protocol version; returns its version number."""
        self.transact(
            "proposeAmendment",
            trial_id,
            _b32(protocol_hash, "protocol hash"),
            _check_cid(protocol_cid, "protocol CID"),
            int(consent_version),
            bytes(32) if outcomes_hash is None else _b32(outcomes_hash, "outcomes hash"),
            sender=sender,
        )
        return self.pending_amendment(trial_id).version

    def pending_amendment(self, trial_id: int) -> PendingAmendment:
        version, protocol_hash, consent_version, outcomes = self.call("pendingAmendment", trial_id)
        return PendingAmendment(
            int(version), _hex(bytes(protocol_hash)), int(consent_version), _hex(bytes(outcomes))
        )

    def approve_amendment(
        self, trial_id: int, version: int, protocol_hash: bytes, *, sender: Any | None = None
    ) -> bool:
        """One ethics member's approval; True when it put the amendment in force (the trial's
        threshold of members has approved), False when it was a vote short of it."""
        receipt = self.transact(
            "approveAmendment",
            trial_id,
            int(version),
            _b32(protocol_hash, "protocol hash"),
            sender=sender,
        )
        return not _voted_only(receipt)

    def reject_amendment(
        self,
        trial_id: int,
        version: int,
        protocol_hash: bytes,
        reason: NoteCommitment | str | None = None,
        *,
        sender: Any | None = None,
    ) -> NoteCommitment | None:
        """Reject the pending amendment; the reason goes on chain as a salted commitment, which
        is returned for the caller to keep (None: no reason given)."""
        note = None if reason is None else _note(trial_id, reason, "reason")
        self.transact(
            "rejectAmendment",
            trial_id,
            int(version),
            _b32(protocol_hash, "protocol hash"),
            bytes(32) if note is None else note.commitment,
            sender=sender,
        )
        return note

    def withdraw_amendment(
        self, trial_id: int, version: int, protocol_hash: bytes, *, sender: Any | None = None
    ) -> Any:
        return self.transact(
            "withdrawAmendment",
            trial_id,
            int(version),
            _b32(protocol_hash, "protocol hash"),
            sender=sender,
        )

    # ---- oversight

    def suspend(
        self,
        trial_id: int,
        reason: NoteCommitment | str | None = None,
        *,
        sender: Any | None = None,
    ) -> NoteCommitment | None:
        """Suspend (one ethics member); the reason's salted commitment is returned to keep."""
        return self._status_change("suspend", trial_id, reason, sender)

    def resume(
        self,
        trial_id: int,
        reason: NoteCommitment | str | None = None,
        *,
        sender: Any | None = None,
    ) -> NoteCommitment | None:
        return self._status_change("resume", trial_id, reason, sender)

    def terminate(
        self,
        trial_id: int,
        reason: NoteCommitment | str | None = None,
        *,
        sender: Any | None = None,
    ) -> NoteCommitment | None:
        return self._status_change("terminate", trial_id, reason, sender)

    def _status_change(
        self, method: str, trial_id: int, reason: NoteCommitment | str | None, sender: Any
    ) -> NoteCommitment | None:
        note = None if reason is None else _note(trial_id, reason, "reason")
        self.transact(
            method, trial_id, bytes(32) if note is None else note.commitment, sender=sender
        )
        return note

    # ---- site entries

    def enroll(
        self,
        trial_id: int,
        site: int,
        pseudonym: str,
        *,
        consent_version: int | None = None,
        salt: bytes | None = None,
        sender: Any | None = None,
    ) -> SubjectCommitment:
        """Enroll a subject: the commitment is computed here with a fresh random salt, which
        the caller (the site) must keep; only the commitment goes on chain."""
        subject = SubjectCommitment.create(trial_id, pseudonym, salt)
        version = (
            self.trial(trial_id).consent_version if consent_version is None else consent_version
        )
        self.transact(
            "enroll", trial_id, subject.commitment, int(site), int(version), sender=sender
        )
        return subject

    @staticmethod
    def _address(value: Any) -> str:
        return str(getattr(value, "address", value))

    def require_eligibility(
        self,
        trial_id: int,
        gate: Any,
        issuer: Any,
        criteria_hash: int,
        *,
        sender: Any | None = None,
    ) -> Any:
        """From now on the trial enrolls only by zero-knowledge eligibility proof (docs/zk.md):
        a credential of `issuer` meeting the criteria whose hash is `criteria_hash`
        (`medchain.zk.Criteria.hash()`), checked by `gate` (EligibilityRegistry)."""
        return self.transact(
            "requireEligibility",
            trial_id,
            self._address(gate),
            self._address(issuer),
            int(criteria_hash),
            sender=sender,
        )

    def eligibility(self, trial_id: int) -> tuple[str, str, int] | None:
        """(gate, issuer, criteria hash) the trial demands, or None."""
        gate, issuer, criteria = self.call("eligibility", trial_id)
        if int(criteria) == 0:
            return None
        return str(gate), str(issuer), int(criteria)

    def enroll_eligible(
        self,
        trial_id: int,
        site: int,
        pseudonym: str,
        proof: Any,
        *,
        consent_version: int | None = None,
        salt: bytes | None = None,
        sender: Any | None = None,
    ) -> SubjectCommitment:
        """`enroll` for a trial that demands eligibility: `proof` is a `medchain.zk.Proof` made
        for this registry and trial (`EligibilityClient.prove(..., verifier=registry,
        context=trial_id)`); its nullifier is spent, so the holder cannot enroll again."""
        subject = SubjectCommitment.create(trial_id, pseudonym, salt)
        version = (
            self.trial(trial_id).consent_version if consent_version is None else consent_version
        )
        self.transact(
            "enrollEligible",
            trial_id,
            subject.commitment,
            int(site),
            int(version),
            proof.trial_tuple(),
            sender=sender,
        )
        return subject

    def reconsent(
        self,
        trial_id: int,
        site: int,
        commitment: bytes,
        *,
        consent_version: int | None = None,
        sender: Any | None = None,
    ) -> Any:
        version = (
            self.trial(trial_id).consent_version if consent_version is None else consent_version
        )
        return self.transact(
            "reconsent",
            trial_id,
            _b32(commitment, "subject commitment"),
            int(site),
            int(version),
            sender=sender,
        )

    def withdraw_subject(
        self,
        trial_id: int,
        site: int,
        commitment: bytes,
        reason: NoteCommitment | str | None = None,
        *,
        sender: Any | None = None,
    ) -> NoteCommitment | None:
        """Record a subject's withdrawal; returns the reason's salted commitment to keep."""
        note = None if reason is None else _note(trial_id, reason, "reason")
        self.transact(
            "withdrawSubject",
            trial_id,
            _b32(commitment, "subject commitment"),
            int(site),
            bytes(32) if note is None else note.commitment,
            sender=sender,
        )
        return note

    def log_deviation(
        self,
        trial_id: int,
        site: int,
        description: NoteCommitment | str | bytes,
        *,
        subject: bytes | None = None,
        important: bool = False,
        sender: Any | None = None,
    ) -> NoteCommitment:
        """Log a deviation. `description` (text, document bytes, or a NoteCommitment made
        earlier) goes on chain only as a salted commitment; keep the returned NoteCommitment
        (its salt) to disclose the text later."""
        note = _note(trial_id, description, "description")
        self.transact(
            "logDeviation",
            trial_id,
            int(site),
            bytes(32) if subject is None else _b32(subject, "subject commitment"),
            bool(important),
            note.commitment,
            sender=sender,
        )
        return note

    def log_adverse_event(
        self,
        trial_id: int,
        site: int,
        subject: bytes,
        *,
        grade: int,
        serious: bool,
        report: NoteCommitment | str | bytes,
        sender: Any | None = None,
    ) -> NoteCommitment:
        """Log an adverse event; `report` (text, document bytes or a NoteCommitment) goes on
        chain only as a salted commitment, returned for the site to keep."""
        note = _note(trial_id, report, "report")
        self.transact(
            "logAdverseEvent",
            trial_id,
            int(site),
            _b32(subject, "subject commitment"),
            severity_code(grade, serious),
            note.commitment,
            sender=sender,
        )
        return note

    # ---- sponsor results

    def lock_data(
        self, trial_id: int, dataset_hash: bytes, dataset_cid: str, *, sender: Any | None = None
    ) -> Any:
        return self.transact(
            "lockData",
            trial_id,
            _b32(dataset_hash, "dataset hash"),
            _check_cid(dataset_cid, "dataset CID"),
            sender=sender,
        )

    def report_outcomes(
        self,
        trial_id: int,
        reported_outcomes_hash: bytes,
        results_hash: bytes,
        results_cid: str,
        *,
        sender: Any | None = None,
    ) -> bool:
        """Report results; returns whether the outcome set matches the registered one (a
        mismatch is recorded and flagged on chain, never refused)."""
        receipt = self.transact(
            "reportOutcomes",
            trial_id,
            _b32(reported_outcomes_hash, "reported outcomes hash"),
            _b32(results_hash, "results hash"),
            _check_cid(results_cid, "results CID"),
            sender=sender,
        )
        return not any(log.event_name == _FLAG_EVENT for log in receipt.events)

    def file_final_report(
        self, trial_id: int, report_hash: bytes, report_cid: str, *, sender: Any | None = None
    ) -> Any:
        return self.transact(
            "fileFinalReport",
            trial_id,
            _b32(report_hash, "report hash"),
            _check_cid(report_cid, "report CID"),
            sender=sender,
        )

    # ---- reads

    def trial(self, trial_id: int) -> TrialInfo:
        v = self.call("trial", trial_id)
        info = TrialInfo(
            trial_id=int(trial_id),
            sponsor=str(v.sponsor),
            status=TrialStatus(int(v.status)),
            locked=bool(v.locked),
            protocol_version=int(v.protocolVersion),
            consent_version=int(v.consentVersion),
            entry_count=int(v.entryCount),
            head=_hex(bytes(v.head)),
            protocol_hash=_hex(bytes(v.protocolHash)),
            outcomes_hash=_hex(bytes(v.outcomesHash)),
            registered_block=int(v.registeredBlock),
            ethics_count=int(v.ethicsCount),
            outcome_reports=int(v.outcomeReports),
            outcome_mismatches=int(v.outcomeMismatches),
            ethics_threshold=int(v.ethicsThreshold),
            board_epoch=int(v.boardEpoch),
            amended_outcomes_hash=_hex(bytes(v.amendedOutcomesHash)),
        )
        if info.status == TrialStatus.NONE:
            raise InvalidInput(f"no trial {trial_id} in the TrialRegistry at {self.address}")
        return info

    def chain_head(self, trial_id: int, block: int | None = None) -> tuple[bytes, int]:
        """(head, entry count) now, or as of `block` (an export's consistent snapshot)."""
        if block is None:
            head, count = self.call("chainHead", trial_id)
            return bytes(head), int(count)
        from ape import chain

        data = keccak(b"chainHead(uint64)")[:4] + int(trial_id).to_bytes(32, "big")
        reply = chain.provider.web3.eth.call(
            {"to": self.address, "data": "0x" + data.hex()}, block_identifier=block
        )
        head, count = abi_decode(["bytes32", "uint64"], bytes(reply))
        return bytes(head), int(count)

    # ---- export and verify

    def fetch_logs(
        self,
        trial_id: int,
        from_block: int,
        to_block: int,
        *,
        batch_blocks: int = DEFAULT_BATCH_BLOCKS,
    ) -> list[dict[str, Any]]:
        """Raw logs of the trial's events, with one eth_getLogs per block range (ranges
        halve when a node refuses a range as too large)."""
        from ape import chain

        web3 = chain.provider.web3
        topic_trial = "0x" + int(trial_id).to_bytes(32, "big").hex()
        topic0s = ["0x" + t.hex() for t in (*_TOPICS, _FLAG_TOPIC, _AMENDED_FLAG_TOPIC)]
        out: list[dict[str, Any]] = []
        start, step = from_block, max(1, batch_blocks)
        while start <= to_block:
            end = min(to_block, start + step - 1)
            params: Any = {
                "address": self.address,
                "fromBlock": start,
                "toBlock": end,
                "topics": [topic0s, topic_trial],
            }
            try:
                logs = _get_logs(web3, params)
            except Exception as exc:  # a node's range/result limit: split the range
                if step > 1 and _looks_like_limit(exc):
                    step = max(1, step // 2)
                    continue
                raise
            out.extend(dict(log) for log in logs)
            start = end + 1
        return out

    def export(
        self,
        trial_id: int,
        *,
        from_block: int | None = None,
        to_block: int | None = None,
        batch_blocks: int = DEFAULT_BATCH_BLOCKS,
        disclosures: Iterable[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """The trial's full log as JSON-ready data, read from events in block ranges, with the
        given disclosure records (salts and texts or pseudonyms the caller holds) attached where
        they open one of the log's commitments (see `attach_disclosures`)."""
        from ape import chain

        info = self.trial(trial_id)
        last = int(chain.blocks.head.number if to_block is None else to_block)
        # The chain's head as of the last block read, so entries added meanwhile do not count.
        head_now, count_now = self.chain_head(trial_id, block=last)
        raw = self.fetch_logs(
            trial_id,
            info.registered_block if from_block is None else from_block,
            int(last),
            batch_blocks=batch_blocks,
        )
        genesis = genesis_head(chain.provider.chain_id, self.address, trial_id)
        entries, flags, head = entries_from_logs(trial_id, raw, genesis)
        log = {
            "format": LOG_FORMAT,
            "chainId": chain.provider.chain_id,
            "registry": self.address,
            "trialId": int(trial_id),
            "genesisHead": _hex(genesis),
            "entryCount": count_now,
            "head": _hex(head_now),
            "exportedAtBlock": int(last),
            "entries": entries,
            "flags": flags,
            "disclosures": [],
        }
        if len(entries) != count_now or head != head_now:
            raise LogIntegrityError(
                f"events read ({len(entries)} entries, head {_hex(head)}) do not reproduce the "
                f"chain's head ({count_now} entries, {_hex(head_now)}); was from_block after the "
                "trial's registration, or did the node drop logs?",
                seq=min(len(entries), count_now),
                kind="truncated" if len(entries) < count_now else "edited",
            )
        attach_disclosures(log, disclosures)
        return log

    def verify(
        self, log: Mapping[str, Any], *, batch_blocks: int = DEFAULT_BATCH_BLOCKS
    ) -> VerificationReport:
        """Verify an exported log end to end: on its own (`verify_log`), then against the
        chain's stored head and count. When the two disagree, the chain's events are read
        again and compared entry by entry to name the first entry that differs."""
        from ape import chain

        try:
            trial_id, chain_id = int(log["trialId"]), int(log["chainId"])
        except (KeyError, TypeError, ValueError) as exc:
            raise LogIntegrityError(
                f"log header is malformed: {exc}", seq=None, kind="edited"
            ) from exc
        if (
            chain_id != chain.provider.chain_id
            or str(log.get("registry", "")).lower() != self.address.lower()
        ):
            raise LogIntegrityError(
                f"log is for chain {log.get('chainId')} registry {log.get('registry')}, not chain "
                f"{chain.provider.chain_id} registry {self.address}",
                seq=None,
                kind="foreign",
            )
        head_now, count_now = self.chain_head(trial_id)
        header_matches = int(log.get("entryCount", -1)) == count_now and str(
            log.get("head", "")
        ).lower() == _hex(head_now)
        try:
            report = verify_log(log)
        except LogIntegrityError as exc:
            if exc.seq is None and exc.kind == "edited":
                # Entries rewritten together with their heads: the chain names the entry.
                self._raise_first_difference(log, trial_id, batch_blocks)
            raise
        if not header_matches:
            self._raise_first_difference(log, trial_id, batch_blocks)
        report.checked_against_chain = True
        return report

    def _raise_first_difference(
        self, log: Mapping[str, Any], trial_id: int, batch_blocks: int
    ) -> None:
        chain_log = self.export(trial_id, batch_blocks=batch_blocks)
        ours = list(log.get("entries") or [])
        theirs = chain_log["entries"]
        for index, truth in enumerate(theirs):
            if index >= len(ours):
                raise LogIntegrityError(
                    f"log truncated: it ends before seq {index}; the chain has {len(theirs)} "
                    "entries (or the log was exported before the later ones were added)",
                    seq=index,
                    kind="truncated",
                )
            mine = ours[index]
            if mine.get("seq") != index:
                _raise_order(index, mine.get("seq"), ours)
            if _comparable(mine) != _comparable(truth):
                raise LogIntegrityError(
                    f"entry {index} ({truth['type']}) does not match the chain: it was edited",
                    seq=index,
                    kind="edited",
                )
        if len(ours) > len(theirs):
            raise LogIntegrityError(
                f"log has {len(ours)} entries, the chain {len(theirs)}: entry {len(theirs)} "
                "onwards is not on chain",
                seq=len(theirs),
                kind="extra",
            )
        raise LogIntegrityError(
            "log header (head or count) differs from the chain although every entry matches",
            seq=None,
            kind="edited",
        )

    # ---- helpers

    def _trial_id_from(self, receipt: Any, event_name: str) -> int:
        for log in receipt.events:
            if log.event_name == event_name:
                return int(log.trialId)
        raise IntegrityError(f"transaction {receipt.txn_hash} emitted no {event_name}")


def default_threshold(members: int) -> int:
    """A majority of the board (a board of one decides alone)."""
    return 1 if members <= 1 else members // 2 + 1


def _voted_only(receipt: Any) -> bool:
    """Whether a board call was a vote short of the threshold (no decision yet)."""
    return any(log.event_name == "EthicsVoteCast" for log in receipt.events)


def _comparable(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    payload = {
        k: (v.lower() if isinstance(v, str) and v.startswith("0x") else v)
        for k, v in (entry.get("payload") or {}).items()
    }
    return (
        entry.get("type"),
        str(entry.get("author", "")).lower(),
        entry.get("timestamp"),
        json.dumps(payload, sort_keys=True),
    )


def _get_logs(web3: Any, params: dict[str, Any]) -> list[Any]:
    """eth_getLogs. On a JSON-RPC node the raw reply is used as is (web3's per-log result
    formatting costs more than the whole verification on 10,000 logs); the in-process
    EthTester provider only speaks through web3's formatters."""
    from web3.providers.eth_tester import EthereumTesterProvider

    if isinstance(web3.provider, EthereumTesterProvider):
        return list(web3.eth.get_logs(params))
    raw = {**params, "fromBlock": hex(params["fromBlock"]), "toBlock": hex(params["toBlock"])}
    reply = web3.provider.make_request("eth_getLogs", [raw])
    if "error" in reply:
        raise IntegrityError(f"eth_getLogs failed: {reply['error']}")
    return list(reply["result"])


def _looks_like_limit(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("range", "too many", "limit", "exceed", "10000"))
