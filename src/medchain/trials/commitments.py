"""Salted commitments that keep people and free text off chain: a subject's pseudonym
(`subject_commitment`) and a note (deviation description, adverse-event report, reason;
`note_commitment`) are logged only as keccak256 over a domain tag, the trial id, the
content and 32 random bytes the site keeps."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from medchain.codec import to_hex
from medchain.errors import InvalidInput
from medchain.hashing import keccak

SUBJECT_TAG = keccak(b"medchain.trials.subject.v1")
NOTE_TAG = keccak(b"medchain.trials.note.v1")


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
            "salt": to_hex(self.salt),
            "commitment": to_hex(self.commitment),
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
            "commitment": to_hex(self.commitment),
            "salt": to_hex(self.salt),
            "contentHash": to_hex(self.content_hash),
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


def as_note(trial_id: int, note: NoteCommitment | str | bytes, what: str) -> NoteCommitment:
    """A NoteCommitment from one, or from text / document bytes (fresh salt)."""
    if isinstance(note, NoteCommitment):
        if note.trial_id != int(trial_id):
            raise InvalidInput(f"{what} commitment is for trial {note.trial_id}, not {trial_id}")
        return note
    return NoteCommitment.create(trial_id, note)
