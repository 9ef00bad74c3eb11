"""The TrialRegistry's timeline events as entries: which event is which entry type, the
payload fields each commits (in event order), and the turning of decoded events (from
`medchain.logs.LogReader`) into a log's numbered, hash-chained entries and flags."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from medchain.codec import to_hex
from medchain.hashing import keccak
from medchain.logs import Event
from medchain.trials.chain import encode_payload, entry_hash, next_head
from medchain.trials.model import EntryType

# Event name -> (entry type, or None when the event carries it; data fields after
# (author, timestamp) as (name, abi type)). The payload is these fields, in this order,
# except `entryType` of TrialStatusChanged, which is committed as the entry's type.
EVENTS: dict[str, tuple[EntryType | None, tuple[tuple[str, str], ...]]] = {
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
    "TrialMoveProposed": (EntryType.MoveProposed, (("successor", "address"),)),
    "TrialMoveWithdrawn": (EntryType.MoveWithdrawn, (("successor", "address"),)),
    "TrialMovedTo": (EntryType.Moved, (("successor", "address"),)),
}
# Flags raised beside an entry (not entries themselves): event name -> (flag kind, the
# outcomes-hash field that differs from the registered one).
FLAG_EVENTS = {
    "OutcomeMismatchFlagged": ("OutcomeMismatch", "reportedOutcomesHash"),
    "OutcomesAmendedFlagged": ("OutcomesAmended", "amendedOutcomesHash"),
}
# Payload fields holding salted commitments, and what a disclosure of each must reveal.
NOTE_FIELDS = frozenset({"descriptionCommitment", "reportCommitment", "reasonCommitment"})
SUBJECT_FIELDS = frozenset({"subjectCommitment"})
# Entry type -> payload field list (for verifying a file, where the event is not at hand).
PAYLOAD_FIELDS: dict[EntryType, tuple[tuple[str, str], ...]] = {}
for _etype, _fields in EVENTS.values():
    if _etype is None:
        for _t in (EntryType.Suspended, EntryType.Resumed, EntryType.Terminated):
            PAYLOAD_FIELDS[_t] = _fields[1:]
    else:
        PAYLOAD_FIELDS[_etype] = _fields


def payload_json(abi_type: str, value: Any) -> Any:
    """A payload value as an exported log writes it (bytes32 and addresses as lower-case
    0x-hex, so the file compares byte for byte whatever case the node used)."""
    if abi_type == "bytes32":
        return to_hex(value)
    if abi_type == "address":
        return "0x" + bytes.fromhex(str(value).removeprefix("0x")).hex()
    return value


def entries_from_events(
    trial_id: int, events: Iterable[Event], genesis: bytes
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bytes]:
    """Turn the trial's decoded events (any order) into JSON entries numbered in chain
    order with the head after each, plus the outcome flags; returns (entries, flags, final
    head). Events that are neither entries nor flags are ignored."""
    entries: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    head = genesis
    for event in sorted(events, key=lambda e: (e.block_number, e.log_index)):
        args = event.args
        if event.name in FLAG_EVENTS:
            kind, changed = FLAG_EVENTS[event.name]
            flags.append(
                {
                    "seq": int(args["seq"]),
                    "kind": kind,
                    "registeredOutcomesHash": to_hex(args["registeredOutcomesHash"]),
                    changed: to_hex(args[changed]),
                }
            )
            continue
        if event.name not in EVENTS:
            continue
        etype, fields = EVENTS[event.name]
        if etype is None:
            etype = EntryType(int(args["entryType"]))
            fields = fields[1:]
        seq = len(entries)
        author = str(args["author"]).lower()
        timestamp = int(args["timestamp"])
        payload_hash = keccak(encode_payload(fields, [args[n] for n, _ in fields]))
        head = next_head(head, entry_hash(trial_id, seq, etype, author, timestamp, payload_hash))
        entries.append(
            {
                "seq": seq,
                "type": etype.name,
                "author": author,
                "timestamp": timestamp,
                "block": event.block_number,
                "tx": event.tx_hash.lower(),
                "payload": {n: payload_json(t, args[n]) for n, t in fields},
                "head": to_hex(head),
            }
        )
    return entries, flags, head
