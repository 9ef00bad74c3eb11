"""The exported log file (format `medchain.trial-log/2`): reading and writing it, and
verifying it on its own, with no chain: entries numbered in order, each recorded head
equal to the one the chain rule recomputes, the final head and count equal to the header's,
and every attached disclosure opening a commitment of its kind."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medchain.codec import to_hex
from medchain.errors import InvalidInput
from medchain.hashing import keccak
from medchain.trials.chain import encode_payload, entry_hash, genesis_head, next_head
from medchain.trials.disclosures import check_disclosure, commitment_index, disclosure_kind
from medchain.trials.events import NOTE_FIELDS, PAYLOAD_FIELDS, SUBJECT_FIELDS
from medchain.trials.model import (
    LOG_FORMAT,
    SERIOUS_FLAG,
    EntryType,
    LogIntegrityError,
    VerificationReport,
)


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
    fields = PAYLOAD_FIELDS[etype]
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


def recompute_entry(trial_id: int, seq: int, previous: bytes, entry: Mapping[str, Any]) -> bytes:
    """The head after `entry` given the head before it (raises on malformed entries)."""
    etype, values = _entry_payload_values(entry)
    payload_hash = keccak(encode_payload(PAYLOAD_FIELDS[etype], values))
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
    if str(log.get("genesisHead", "")).lower() not in ("", to_hex(head)):
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
            raise_order(index, seq, entries)
        head = recompute_entry(trial_id, index, head, entry)
        recorded = str(entry.get("head", "")).lower()
        if recorded and recorded != to_hex(head):
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
            f"log's recomputed head {to_hex(head)} differs from the header's {to_hex(expected_head)} "
            "(entries and their recorded heads were rewritten together; verify against the "
            "chain to find the first altered entry)",
            seq=None,
            kind="edited",
        )
    report.head = to_hex(head)
    _verify_disclosures(report, trial_id, entries, log.get("disclosures") or [])
    return report


def _verify_disclosures(
    report: VerificationReport,
    trial_id: int,
    entries: Sequence[Mapping[str, Any]],
    disclosures: Sequence[Mapping[str, Any]],
) -> None:
    """Every disclosure must open a commitment of the right kind in the log."""
    index = commitment_index(entries)
    opened: set[str] = set()
    for record in disclosures:
        if not isinstance(record, Mapping):
            raise LogIntegrityError("a disclosure is not an object", seq=None, kind="disclosure")
        commitment = to_hex(check_disclosure(trial_id, record))
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


def raise_order(index: int, seq: Any, entries: Sequence[Mapping[str, Any]]) -> None:
    """Name what is wrong when position `index` of a log does not hold seq `index`."""
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


def comparable(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    """What must agree between a log's entry and the chain's (hex compared case-blind)."""
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
