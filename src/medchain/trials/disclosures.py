"""Disclosures: the (salt, text or pseudonym) records a site keeps for its commitments,
checked against the commitments they claim to open, attached to an exported log, read from
notes files and appended to them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from medchain.codec import to_hex
from medchain.errors import InvalidInput
from medchain.hashing import keccak
from medchain.trials.commitments import NoteCommitment, note_commitment, subject_commitment
from medchain.trials.events import NOTE_FIELDS, SUBJECT_FIELDS
from medchain.trials.model import LogIntegrityError


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
    if shown.lower() != to_hex(computed):
        raise LogIntegrityError(
            f"disclosure of {shown}: salt and content open {to_hex(computed)}, not the commitment",
            seq=None,
            kind="disclosure",
        )
    return computed


def commitment_index(entries: Sequence[Mapping[str, Any]]) -> dict[str, list[tuple[int, str]]]:
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
    index = commitment_index(log["entries"])
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
