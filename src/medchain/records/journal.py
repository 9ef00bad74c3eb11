"""The put journal: one JSON file per in-flight put (`$MEDCHAIN_HOME/journal/<id>.json`), its
ciphertext spooled beside it, written atomically at each step so an interrupted put can be
resumed. It never holds plaintext or data keys: only ciphertext, public key envelopes and
hashes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from medchain.files import write_json
from medchain.records.model import JournalError
from medchain.storage import default_home


@dataclass
class JournalEntry:
    """One in-flight put. `step` is the last step completed: encrypted | stored."""

    record_id: str
    step: str
    patient: str
    scope: str
    schema_version: int
    supersedes: str
    chain_id: int
    registry: str
    cid: str
    content_hash: str
    size: int
    envelopes: list[dict[str, str]]  # recipient, key_id, cid, envelope (hex, public)
    created_at: str
    updated_at: str = ""
    last_error: str = ""
    salt: str = ""  # record_id = keccak256(abi.encode(author, patient, salt))
    author: str = ""  # the only account that can anchor it (the id is bound to it)
    replicas: int | None = None  # storage nodes that confirmed every object (cluster)


class Journal:
    """One JSON file per in-flight put, its ciphertext spooled beside it (never plaintext)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_home() / "journal"
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, record_id: str) -> Path:
        return self.root / f"{record_id.removeprefix('0x')}.json"

    def spool(self, record_id: str) -> Path:
        return self.root / f"{record_id.removeprefix('0x')}.ciphertext"

    def write(self, entry: JournalEntry) -> None:
        entry.updated_at = now()
        write_json(self.path(entry.record_id), asdict(entry), private=True, durable=True)

    def load(self, record_id: str) -> JournalEntry:
        try:
            return JournalEntry(**json.loads(self.path(record_id).read_text()))
        except FileNotFoundError:
            raise JournalError(f"no journal entry for record {record_id}") from None

    def pending(self) -> list[JournalEntry]:
        return [JournalEntry(**json.loads(p.read_text())) for p in sorted(self.root.glob("*.json"))]

    def finish(self, record_id: str) -> None:
        self.spool(record_id).unlink(missing_ok=True)
        self.path(record_id).unlink(missing_ok=True)

    def discard(self, record_id: str) -> JournalEntry:
        """Drop an entry that will never finish (and its ciphertext spool)."""
        entry = self.load(record_id)
        self.finish(entry.record_id)
        return entry


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
