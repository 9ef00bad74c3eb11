"""Salted commitments to short sensitive texts (break-glass reasons, review notes).

An unsalted keccak256 of a short clinical text is reversible by dictionary: "suspected
opioid overdose, unresponsive" is five guesses from a small word list. The chain
therefore only ever holds `keccak256(salt || utf8(text))` with a fresh random 32-byte
salt. The salt is kept OFF chain, beside the text, in a `NoteStore` (one JSON file per
note, mode 0600): whoever holds both can later prove what the commitment said (an
auditor, the patient), nobody else can recover the text from the chain.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medchain.codec import to_bytes32
from medchain.errors import IntegrityError, InvalidInput
from medchain.files import write_json
from medchain.hashing import keccak

SALT_BYTES = 32


@dataclass(frozen=True)
class Commitment:
    """A text, its random salt and the on-chain commitment keccak256(salt || text)."""

    text: str
    salt: bytes

    def __post_init__(self) -> None:
        if len(self.salt) != SALT_BYTES:
            raise InvalidInput(f"a commitment salt must be {SALT_BYTES} bytes")

    @classmethod
    def of(cls, text: str, salt: bytes | None = None) -> Commitment:
        """Commit to `text` with a fresh random salt (or the given one, to re-check)."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("the text to commit to is empty")
        return cls(text, secrets.token_bytes(SALT_BYTES) if salt is None else bytes(salt))

    @property
    def digest(self) -> bytes:
        return keccak(self.salt + self.text.encode("utf-8"))

    def verify(self, digest: bytes | str) -> bool:
        return self.digest == to_bytes32(digest, "commitment")

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "salt": "0x" + self.salt.hex(),
            "commitment": "0x" + self.digest.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Commitment:
        try:
            made = cls(str(data["text"]), to_bytes32(data["salt"], "note salt"))
        except (KeyError, TypeError) as exc:
            raise InvalidInput(f"not a salted note: {exc}") from exc
        if "commitment" in data and not made.verify(str(data["commitment"])):
            raise IntegrityError("the note's text and salt do not match its commitment")
        return made


class NoteStore:
    """Where the SDK keeps each committed text with its salt: `<root>/<name>.json`.

    Default root: `$MEDCHAIN_NOTES`, else `$MEDCHAIN_HOME/notes`, else `./.medchain/notes`.
    The files hold health information in clear: keep the folder on encrypted storage and
    out of version control, and hand a note over only to whoever may read the text.
    """

    def __init__(self, root: str | Path | None = None):
        if root is None:
            root = os.environ.get("MEDCHAIN_NOTES") or (
                Path(os.environ["MEDCHAIN_HOME"]) / "notes"
                if os.environ.get("MEDCHAIN_HOME")
                else Path(".medchain") / "notes"
            )
        self.root = Path(root)

    def path(self, name: str) -> Path:
        return self.root / f"{name}.json"

    def save(self, name: str, commitment: Commitment, **context: Any) -> Path:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return write_json(self.path(name), {**context, **commitment.to_json()}, private=True)

    def load(self, name: str) -> Commitment:
        path = self.path(name)
        if not path.exists():
            raise InvalidInput(f"no salted note {path}")
        return Commitment.from_json(json.loads(path.read_text()))


def note_name(kind: str, chain_id: int, registry: str, episode: int) -> str:
    """File name of a break-glass note: kind ('reason' | 'review'), chain, registry, episode."""
    return f"breakglass-{kind}-{chain_id}-{registry.lower()}-{episode}"
