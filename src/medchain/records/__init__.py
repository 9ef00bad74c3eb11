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

Nothing lost: each put writes a journal entry (`$MEDCHAIN_HOME/journal/<id>.json`, its
ciphertext spooled beside it) before touching the network, and advances it step by step
(`encrypted` -> `stored` -> done). A CID is anchored only after the store confirms it
holds every block. Nothing leaked: plaintext and data keys never leave the process or
reach the disk; the journal holds only ciphertext, public key envelopes and hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from medchain.client import ContractClient
from medchain.consent.client import ConsentRequired
from medchain.crypto import (
    HEADER_SIZE,
    EnvelopeContext,
    Header,
    KeyEnvelope,
    decrypt_iter,
    encrypt_iter,
    inspect,
    new_data_key,
    unwrap_key,
    wrap_key,
)
from medchain.errors import (
    ContractRevert,
    IntegrityError,
    InvalidInput,
    MedchainError,
)
from medchain.storage import ContentNotFound, ContentStore, compute_cid, default_home
from medchain.storage.cid import CID
from medchain.storage.unixfs import ChunkFeeder, DagBuilder

SCHEMA_VERSION = 1
RECORDS_DELEGATE_NAME = b"medchain/records"
Progress = Callable[[str, int], None]  # (stage, bytes just processed)


class NoEnvelope(InvalidInput, LookupError):
    """The record has no key envelope for this recipient: it was not shared with them."""


class RecordErased(InvalidInput, LookupError):
    """The record was erased on request: its key envelopes and ciphertext are gone."""


class JournalError(InvalidInput):
    """A journal entry is missing or cannot be resumed as it stands."""


def record_id_for(author: Any, patient: Any, salt: bytes) -> bytes:
    """The id RecordRegistry gives a record anchored by `author` for `patient` with `salt`:
    keccak256(abi.encode(author, patient, salt))."""
    from eth_abi import encode
    from eth_utils import keccak

    return bytes(
        keccak(encode(["address", "address", "bytes32"], [_addr(author), _addr(patient),
                                                           _b32(salt, "salt")]))
    )  # fmt: skip


def scope_code(name: str | bytes) -> bytes:
    """A type code as bytes32: an ASCII name (e.g. a FHIR resource type) left-aligned."""
    raw = name.encode() if isinstance(name, str) else bytes(name)
    if len(raw) > 32:
        raise InvalidInput(f"scope {name!r} is longer than 32 bytes")
    return raw.ljust(32, b"\0")


def scope_name(code: bytes) -> str:
    return bytes(code).rstrip(b"\0").decode(errors="replace")


def _b32(value: Any, what: str) -> bytes:
    if isinstance(value, str):
        value = bytes.fromhex(value.removeprefix("0x"))
    raw = bytes(value)
    if len(raw) != 32:
        raise InvalidInput(f"{what} must be 32 bytes, got {len(raw)}")
    return raw


def _addr(value: Any) -> str:
    from eth_utils import to_checksum_address

    text = str(getattr(value, "address", value))
    try:
        return str(to_checksum_address(text))
    except ValueError:
        raise InvalidInput(f"not an address: {text!r}") from None


@dataclass(frozen=True)
class Recipient:
    """Who can decrypt: an account (DID address) and its X25519 key-agreement key."""

    address: str
    public_key: bytes
    key_id: str = ""


def recipients_for(did_or_address: Any, registry: Any = None) -> list[Recipient]:
    """The X25519 key-agreement keys a DID currently lists, resolved on chain through
    the identity domain (`registry`: DIDRegistry contract/address; default: address book)."""
    from medchain.identity import key_agreement_keys, parse_did

    text = str(getattr(did_or_address, "address", did_or_address))
    address = str(parse_did(text).address) if text.startswith("did:") else _addr(text)
    keys = key_agreement_keys(text, registry)
    if not keys:
        raise NoEnvelope(f"{text} lists no X25519 key-agreement key: nothing to seal to")
    return [Recipient(address, bytes(public), str(kid)) for kid, public in keys]


@dataclass(frozen=True)
class Anchor:
    """A record as anchored on chain."""

    record_id: bytes
    patient: str
    author: str
    anchored_at: int
    version: int
    schema_version: int
    scope: bytes
    cid: CID
    content_hash: bytes
    supersedes: bytes
    superseded_by: bytes
    erased_at: int = 0  # unix time of the on-chain erasure, 0 while the record stands

    @property
    def scope_name(self) -> str:
        return scope_name(self.scope)


@dataclass(frozen=True)
class PutResult:
    record_id: bytes
    cid: CID
    content_hash: bytes
    size: int
    envelopes: dict[str, CID]
    transaction: str
    version: int = 1
    # How many storage nodes pinned the ciphertext and every envelope before anchoring
    # (the lowest count among them); None for a single local store.
    replicas: int | None = None


@dataclass(frozen=True)
class VerifyReport:
    record_id: bytes
    cid: CID
    content_hash: bytes
    ciphertext_size: int
    plaintext_size: int
    envelopes_checked: int
    checks: list[str] = field(default_factory=list)


class RecordsClient(ContractClient):
    """Typed calls to RecordRegistry; reverts arrive as `ContractRevert`."""

    contract_name = "RecordRegistry"

    def chain_id(self) -> int:
        from ape import chain

        return int(chain.provider.chain_id)

    def anchor(
        self,
        *,
        patient: Any,
        salt: bytes,
        scope: bytes,
        schema_version: int,
        cid: CID,
        content_hash: bytes,
        supersedes: bytes = b"\0" * 32,
        envelopes: Sequence[tuple[str, CID]] = (),
        sender: Any | None = None,
    ) -> Any:
        request = (
            _addr(patient), _b32(salt, "salt"), _b32(scope, "scope"),
            schema_version, cid.to_bytes(), _b32(content_hash, "content hash"),
            _b32(supersedes, "supersedes"),
        )  # fmt: skip
        envs = [(_addr(who), env.to_bytes()) for who, env in envelopes]
        return self.transact("anchorRecord", request, envs, sender=sender)

    def add_envelope(self, record_id: bytes, recipient: Any, cid: CID, sender: Any = None) -> Any:
        return self.transact(
            "addEnvelope", _b32(record_id, "record id"), _addr(recipient), cid.to_bytes(),
            sender=sender,
        )  # fmt: skip

    def erase(self, record_id: bytes, sender: Any = None) -> Any:
        return self.transact("eraseRecord", _b32(record_id, "record id"), sender=sender)

    def erased_at(self, record_id: bytes) -> int:
        return int(self.call("erasedAt", _b32(record_id, "record id")))

    def set_write_authorizer(self, authorizer: Any, sender: Any = None) -> Any:
        return self.transact("setWriteAuthorizer", _addr(authorizer), sender=sender)

    def exists(self, record_id: bytes) -> bool:
        return bool(self.call("exists", _b32(record_id, "record id")))

    def record(self, record_id: bytes) -> Anchor:
        view = self.call("getRecord", _b32(record_id, "record id"))
        return Anchor(
            record_id=_b32(record_id, "record id"),
            patient=str(view.patient),
            author=str(view.author),
            anchored_at=int(view.anchoredAt),
            version=int(view.version),
            schema_version=int(view.schemaVersion),
            scope=bytes(view.scope),
            cid=CID.from_bytes(bytes(view.cid)),
            content_hash=bytes(view.contentHash),
            supersedes=bytes(view.supersedes),
            superseded_by=bytes(view.supersededBy),
            erased_at=self.erased_at(record_id),
        )

    def envelope_of(self, record_id: bytes, recipient: Any) -> CID | None:
        cid = self.call("envelopeOf", _b32(record_id, "record id"), _addr(recipient))
        return CID.from_bytes(bytes(cid)) if cid else None

    def can_write(self, patient: Any, writer: Any, scope: bytes) -> bool:
        return bool(self.call("canWrite", _addr(patient), _addr(writer), _b32(scope, "scope")))

    def can_share(self, record_id: bytes, sharer: Any) -> bool:
        """`sharer` manages the record's live patient identity (current DID owner or
        records delegate): may add envelopes, and reads without consent."""
        return bool(self.call("canShare", _b32(record_id, "record id"), _addr(sharer)))

    def can_supersede(self, record_id: bytes, writer: Any) -> bool:
        return bool(self.call("canSupersede", _b32(record_id, "record id"), _addr(writer)))

    def record_id_of(self, author: Any, patient: Any, salt: bytes) -> bytes:
        return bytes(self.call("recordIdOf", _addr(author), _addr(patient), _b32(salt, "salt")))

    def write_authorizer(self) -> str | None:
        """The consent registry this registry consults (None when none is set)."""
        address = str(self.call("writeAuthorizer"))
        return None if int(address, 16) == 0 else address

    def records_of(self, patient: Any, start_block: int = 0) -> list[Anchor]:
        """Every record of `patient`, oldest first, from RecordAnchored events."""
        from ape import chain

        logs = self.contract.RecordAnchored.range(
            start_block, chain.blocks.height + 1, search_topics={"patient": _addr(patient)}
        )
        return [self.record(bytes(log.event_arguments["recordId"])) for log in logs]


@dataclass(frozen=True)
class ErasureReport:
    record_id: bytes
    transaction: str  # empty when the record was already erased on chain
    cid: CID
    envelopes: list[CID]


class StorageErasureIncomplete(IntegrityError):
    """The record is erased on chain, but its content could not be removed everywhere."""


# -- the journal -----------------------------------------------------------------------


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
        entry.updated_at = _now()
        target = self.path(entry.record_id)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(entry), handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)

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


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


class _Hasher:
    """sha256 and the `ipfs add` CID of a byte stream, fed piece by piece."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._chunks = ChunkFeeder(DagBuilder(lambda cid, block: None, cid_version=1))

    def update(self, piece: bytes) -> None:
        self.sha256.update(piece)
        self.size += len(piece)
        self._chunks.update(piece)

    def cid(self) -> CID:
        return self._chunks.finish().cid


class Records:
    """The high-level records API over one registry client and one content store."""

    def __init__(
        self, client: RecordsClient, store: ContentStore, *, journal: Journal | None = None,
        chain_id: int | None = None,
    ):  # fmt: skip
        self.client = client
        self.store = store
        self.journal = journal or Journal()
        self._chain_id = chain_id

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self.client.chain_id()
        return self._chain_id

    def context(self, record_id: bytes, schema_version: int) -> EnvelopeContext:
        return EnvelopeContext(record_id, schema_version, self.chain_id, self.client.address)

    # -- put ---------------------------------------------------------------------------

    def put(
        self,
        data: bytes | BinaryIO | Path,
        *,
        patient: Any,
        scope: str | bytes,
        recipients: Sequence[Recipient],
        schema_version: int = SCHEMA_VERSION,
        supersedes: bytes | None = None,
        sender: Any | None = None,
        salt: bytes | None = None,
        progress: Progress | None = None,
    ) -> PutResult:
        """Encrypt `data`, store and pin it, then anchor it for `patient` as `sender` (default:
        the client's sender), the author the record id is derived from.

        `recipients` get key envelopes (include the patient's own key). If any step after
        encryption fails, the journal keeps the job and `resume(record_id)` finishes it.
        """
        entry = self.prepare(
            data, patient=patient, scope=scope, recipients=recipients,
            schema_version=schema_version, supersedes=supersedes, salt=salt,
            author=self._sender(sender), progress=progress,
        )  # fmt: skip
        return self.resume(entry.record_id, sender=sender, progress=progress)

    def _sender(self, sender: Any | None) -> Any:
        account = sender or self.client.sender
        if account is None:
            raise InvalidInput("a put needs its author: pass sender= (or a client with a sender)")
        return account

    def prepare(
        self,
        data: bytes | BinaryIO | Path,
        *,
        patient: Any,
        scope: str | bytes,
        recipients: Sequence[Recipient],
        schema_version: int = SCHEMA_VERSION,
        supersedes: bytes | None = None,
        author: Any | None = None,
        salt: bytes | None = None,
        progress: Progress | None = None,
    ) -> JournalEntry:
        """Step 1 of a put: encrypt into the journal's spool file (no network). The record
        id is derived from `author` (default: the client's sender), `patient` and `salt`
        (default: random), and bound into the ciphertext."""
        if not recipients:
            raise InvalidInput("put needs at least one recipient (usually the patient)")
        if len({_addr(r.address) for r in recipients}) != len(recipients):
            raise InvalidInput("each recipient address may appear once")
        author = _addr(self._sender(author))
        salt = _b32(salt, "salt") if salt is not None else os.urandom(32)
        record_id = record_id_for(author, patient, salt)
        rid = _hex(record_id)
        context = self.context(record_id, schema_version)
        data_key = new_data_key()
        envelopes = []
        for recipient in recipients:
            env = wrap_key(data_key, context, recipient.public_key, recipient.key_id).to_bytes()
            envelopes.append(
                {
                    "recipient": _addr(recipient.address),
                    "key_id": recipient.key_id,
                    "cid": str(compute_cid(env)),
                    "envelope": env.hex(),
                }
            )
        hasher = _Hasher()
        spool = self.journal.spool(rid)
        source: BinaryIO | bytes = data if not isinstance(data, Path) else data.open("rb")
        try:
            with spool.open("wb") as out:
                for piece in encrypt_iter(source, data_key, context):
                    out.write(piece)
                    hasher.update(piece)
                    if progress is not None:
                        progress("encrypt", len(piece))
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            spool.unlink(missing_ok=True)
            raise
        finally:
            if isinstance(data, Path):
                source.close()  # type: ignore[union-attr]
        del data_key
        entry = JournalEntry(
            record_id=rid, step="encrypted", patient=_addr(patient),
            scope=_hex(scope_code(scope) if isinstance(scope, str) else _b32(scope, "scope")),
            schema_version=schema_version, supersedes=_hex(supersedes or b"\0" * 32),
            chain_id=self.chain_id, registry=self.client.address, cid=str(hasher.cid()),
            content_hash=_hex(hasher.sha256.digest()), size=hasher.size, envelopes=envelopes,
            created_at=_now(), salt=_hex(salt), author=author,
        )  # fmt: skip
        self.journal.write(entry)
        return entry

    def resume(
        self, record_id: str | bytes, *, sender: Any | None = None,
        progress: Progress | None = None,
    ) -> PutResult:  # fmt: skip
        """Finish an interrupted put from its journal entry (store, pin, confirm, anchor)."""
        rid = record_id if isinstance(record_id, str) else _hex(record_id)
        entry = self.journal.load(rid)
        if entry.chain_id != self.chain_id or entry.registry.lower() != self.client.address.lower():
            raise JournalError(
                f"journal entry {rid} is for registry {entry.registry} on chain {entry.chain_id}, "
                f"not {self.client.address} on chain {self.chain_id}"
            )
        if not entry.author or not entry.salt:
            raise JournalError(
                f"journal entry {rid} predates author-derived record ids and cannot be anchored: "
                f"discard it (medchain record resume --discard {rid}) and put the record again"
            )
        account = sender or self.client.sender
        if account is not None and _addr(account) != _addr(entry.author):
            raise JournalError(
                f"journal entry {rid} was prepared by {entry.author} (its record id is derived "
                f"from the author): resume it as {entry.author} or discard it "
                f"(medchain record resume --discard {rid})"
            )
        try:
            if entry.step == "encrypted":
                self._store(entry, progress)
                entry.step = "stored"
                entry.last_error = ""
                self.journal.write(entry)
            return self._anchor(entry, sender)
        except MedchainError as exc:
            entry.last_error = f"{type(exc).__name__}: {exc}"
            self.journal.write(entry)
            raise

    def _store(self, entry: JournalEntry, progress: Progress | None) -> None:
        spool = self.journal.spool(entry.record_id)
        if not spool.exists():
            raise JournalError(f"ciphertext spool of {entry.record_id} is missing: put it again")
        expected = CID.parse(entry.cid)

        def stored(n: int) -> None:
            if progress is not None:
                progress("store", n)

        with spool.open("rb") as handle:
            cid = self.store.add(handle, cid_version=1, pin=True, progress=stored)
        if cid != expected:
            raise IntegrityError(f"store named the ciphertext {cid}, expected {expected}")
        for env in entry.envelopes:
            env_cid = self.store.add(bytes.fromhex(env["envelope"]), cid_version=1, pin=True)
            if env_cid != CID.parse(env["cid"]):
                raise IntegrityError(f"store named an envelope {env_cid}, expected {env['cid']}")
        # Anchor only what the store confirms it holds, every block of it (a cluster store
        # confirms only content at least `replication_min` peers pinned).
        counts = []
        for wanted in [expected, *(CID.parse(e["cid"]) for e in entry.envelopes)]:
            if not self.store.has(wanted):
                raise ContentNotFound(
                    f"store at {self.store.location} does not confirm it holds {wanted}"
                )
            counts.append(self.store.replicas(wanted))
        known = [c for c in counts if c is not None]
        entry.replicas = min(known) if known else None

    def _anchor(self, entry: JournalEntry, sender: Any | None) -> PutResult:
        record_id = _b32(entry.record_id, "record id")
        cid = CID.parse(entry.cid)
        content_hash = _b32(entry.content_hash, "content hash")
        envelopes = [(e["recipient"], CID.parse(e["cid"])) for e in entry.envelopes]
        transaction = ""
        if self.client.exists(record_id):
            # A previous run's transaction landed before the journal was updated.
            anchor = self.client.record(record_id)
            if anchor.cid != cid or anchor.content_hash != content_hash:
                raise IntegrityError(
                    f"record {entry.record_id} is anchored with other content "
                    f"({anchor.cid}); this journal entry cannot be anchored"
                )
            version = anchor.version
        else:
            receipt = self.client.anchor(
                patient=entry.patient, salt=_b32(entry.salt, "salt"), scope=_b32(entry.scope, "scope"),
                schema_version=entry.schema_version, cid=cid, content_hash=content_hash,
                supersedes=_b32(entry.supersedes, "supersedes"), envelopes=envelopes,
                sender=sender,
            )  # fmt: skip
            transaction = str(getattr(receipt, "txn_hash", ""))
            version = self.client.record(record_id).version
        self.journal.finish(entry.record_id)
        return PutResult(
            record_id=record_id, cid=cid, content_hash=content_hash, size=entry.size,
            envelopes={who: env for who, env in envelopes}, transaction=transaction,
            version=version, replicas=entry.replicas,
        )  # fmt: skip

    def discard(self, record_id: str | bytes) -> JournalEntry:
        """Drop a journal entry that can never finish (and its spooled ciphertext)."""
        rid = record_id if isinstance(record_id, str) else _hex(record_id)
        return self.journal.discard(rid if rid.startswith("0x") else "0x" + rid)

    def pending(self) -> list[JournalEntry]:
        """Journal entries of this registry and chain still waiting to finish."""
        return [
            e for e in self.journal.pending()
            if e.chain_id == self.chain_id and e.registry.lower() == self.client.address.lower()
        ]  # fmt: skip

    # -- get / verify ------------------------------------------------------------------

    def _standing(self, record_id: bytes) -> Anchor:
        """The record's anchor; `RecordErased` when it was erased."""
        anchor = self.client.record(record_id)
        if anchor.erased_at:
            when = dt.datetime.fromtimestamp(anchor.erased_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
            raise RecordErased(
                f"record {_hex(anchor.record_id)} was erased on {when} UTC: its key envelopes "
                "and ciphertext are gone"
            )
        return anchor

    def data_key(self, anchor: Anchor, recipient: Any, private_key: Any) -> bytes:
        """Unwrap `recipient`'s key envelope for the record (fetched and CID-checked)."""
        env_cid = self.client.envelope_of(anchor.record_id, recipient)
        if env_cid is None:
            raise NoEnvelope(
                f"record {_hex(anchor.record_id)} has no key envelope for {_addr(recipient)}"
            )
        envelope = self.store.cat(env_cid)
        return unwrap_key(
            envelope, private_key, self.context(anchor.record_id, anchor.schema_version)
        )

    def stream(
        self, record_id: bytes, *, recipient: Any, private_key: Any,
        progress: Progress | None = None,
    ) -> Iterator[bytes]:  # fmt: skip
        """Decrypted plaintext pieces. Raises `IntegrityError` at the end if the ciphertext
        hash differs from the anchor: consume fully before trusting the output."""
        anchor = self._standing(record_id)
        data_key = self.data_key(anchor, recipient, private_key)
        context = self.context(anchor.record_id, anchor.schema_version)
        digest = hashlib.sha256()

        def fetched() -> Iterator[bytes]:
            for block in self.store.stream(anchor.cid):
                digest.update(block)
                if progress is not None:
                    progress("fetch", len(block))
                yield block

        yield from decrypt_iter(fetched(), data_key, context)
        if digest.digest() != anchor.content_hash:
            raise IntegrityError(
                f"ciphertext of {_hex(anchor.record_id)} hashes to 0x{digest.hexdigest()}, "
                f"anchored 0x{anchor.content_hash.hex()}"
            )

    def get(
        self, record_id: bytes, *, recipient: Any, private_key: Any,
        out: Path | None = None, progress: Progress | None = None,
    ) -> bytes | Path:  # fmt: skip
        """The record's plaintext (bytes), or written to `out` atomically (nothing is left
        at `out` when any check fails)."""
        pieces = self.stream(record_id, recipient=recipient, private_key=private_key,
                             progress=progress)  # fmt: skip
        if out is None:
            return b"".join(pieces)
        out = Path(out)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                for piece in pieces:
                    handle.write(piece)
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return out

    def verify(self, record_id: bytes, *, progress: Progress | None = None) -> VerifyReport:
        """Check a record without its key: every block against the anchored CID, the
        ciphertext hash, the header's binding to this record/chain/registry, the length
        arithmetic, and that every anchored envelope exists and matches the header."""
        anchor = self._standing(record_id)
        context = self.context(anchor.record_id, anchor.schema_version)
        digest = hashlib.sha256()
        head = io.BytesIO()
        size = 0
        for block in self.store.stream(anchor.cid):
            digest.update(block)
            size += len(block)
            if head.tell() < HEADER_SIZE:
                head.write(block[: HEADER_SIZE - head.tell()])
            if progress is not None:
                progress("verify", len(block))
        checks = [f"every block matches {anchor.cid}"]
        if digest.digest() != anchor.content_hash:
            raise IntegrityError(
                f"ciphertext of {_hex(anchor.record_id)} hashes to 0x{digest.hexdigest()}, "
                f"anchored 0x{anchor.content_hash.hex()}"
            )
        checks.append("sha256 of the ciphertext matches the anchor")
        header: Header = inspect(head.getvalue(), context)
        checks.append("header is bound to this record, schema, chain and registry")
        plaintext = header.check_length(size)
        checks.append("chunk layout is consistent with the ciphertext length")
        envelopes = 0
        for log in self._envelope_logs(anchor.record_id):
            env = KeyEnvelope.from_bytes(self.store.cat(CID.from_bytes(bytes(log["cid"]))))
            if (
                env.context_digest != header.context_digest
                or env.commitment != header.key_commitment
            ):
                raise IntegrityError(
                    f"key envelope for {log['recipient']} does not match the ciphertext header"
                )
            envelopes += 1
        checks.append(f"{envelopes} key envelope(s) stored and committed to the same key")
        return VerifyReport(anchor.record_id, anchor.cid, anchor.content_hash, size, plaintext,
                            envelopes, checks)  # fmt: skip

    def _envelope_logs(self, record_id: bytes) -> list[dict[str, Any]]:
        from ape import chain

        logs = self.client.contract.EnvelopeAnchored.range(
            0, chain.blocks.height + 1, search_topics={"recordId": record_id}
        )
        return [dict(log.event_arguments) for log in logs]

    # -- consent gate ------------------------------------------------------------------

    def consent(self, sender: Any | None = None) -> Any:
        """The consent registry the record registry consults (its write authorizer), else
        the address book's ConsentRegistry."""
        from medchain.consent import ConsentClient
        from medchain.errors import ConfigurationError, DeploymentNotFound

        address = self.client.write_authorizer()
        if address is not None:
            return ConsentClient.at(address, sender=sender)
        try:
            return ConsentClient.connect(sender=sender)
        except (DeploymentNotFound, ConfigurationError):
            raise ConfigurationError(
                f"RecordRegistry {self.client.address} has no consent registry "
                "(write authorizer) and the address book lists none: consent cannot be checked"
            ) from None

    def read_access(
        self, record_id: bytes, *, reader: Any, purpose: str = "TREAT", consent: Any = None
    ) -> bool:
        """The consent gate before `reader` opens a record: the patient's manager (current
        DID owner or records delegate) reads freely (returns False, nothing logged); anyone
        else needs current read consent for the record's scope and `purpose`, and the read
        is recorded on chain by `reader` (`ConsentRegistry.recordAccess`; returns True).
        Raises `ConsentRequired` without consent, `RecordErased` for an erased record."""
        rid = _b32(record_id, "record id")
        anchor = self._standing(rid)  # an erased record is refused before any read is logged
        if self.client.can_share(rid, reader):
            return False
        consent = consent or self.consent(sender=reader)
        if not consent.check(anchor.patient, reader, anchor.scope, "read", purpose):
            raise ConsentRequired(
                f"{_addr(reader)} has no read consent for {anchor.scope_name} records of "
                f"{anchor.patient} for {purpose}: ask the patient to grant it "
                f"(record {_hex(rid)} not read)"
            )
        consent.record_access(anchor.patient, anchor.scope, "read", purpose, rid, sender=reader)
        return True

    def check_share(
        self, record_id: bytes, recipient: Any, *, purpose: str = "TREAT", consent: Any = None
    ) -> None:
        """The consent gate before sealing a record's key to `recipient`: the patient's
        manager needs nothing; anyone else needs current read consent for the record's scope
        and `purpose` (`ConsentRequired` otherwise)."""
        rid = _b32(record_id, "record id")
        if self.client.can_share(rid, recipient):
            return
        anchor = self.client.record(rid)
        consent = consent or self.consent()
        if not consent.check(anchor.patient, recipient, anchor.scope, "read", purpose):
            raise ConsentRequired(
                f"{_addr(recipient)} has no read consent for {anchor.scope_name} records of "
                f"{anchor.patient} for {purpose}: grant it first (medchain consent grant); "
                "no key was shared"
            )

    def audit(self, patient: Any, from_block: int = 0) -> list[dict[str, Any]]:
        """A patient's record trail in chain order: every anchor (with its author and the
        record it corrects), every key envelope (who shared it with whom) and every read
        recorded in the consent registry (`AccessRecorded` of these records)."""
        from ape import chain

        who = _addr(patient)
        last = chain.blocks.height + 1
        trail: list[dict[str, Any]] = []

        def row(log: Any, event: str, **fields: Any) -> dict[str, Any]:
            return {"block": int(log.block_number), "log_index": int(log.log_index),
                    "tx": str(log.transaction_hash), "event": event, **fields}  # fmt: skip

        ids: set[bytes] = set()
        anchored = self.client.contract.RecordAnchored.range(
            from_block, last, search_topics={"patient": who}
        )
        for log in anchored:
            rid = bytes(log.event_arguments["recordId"])
            ids.add(rid)
            args = log.event_arguments
            trail.append(row(log, "anchored", record_id=_hex(rid), by=str(args["author"]),
                             type=scope_name(bytes(args["scope"])), version=int(args["version"]),
                             supersedes=_hex(bytes(args["supersedes"]))))  # fmt: skip
        for rid in sorted(ids):
            for log in self.client.contract.EnvelopeAnchored.range(
                from_block, last, search_topics={"recordId": rid}
            ):
                args = log.event_arguments
                trail.append(row(log, "shared", record_id=_hex(rid), by=str(args["addedBy"]),
                                 to=str(args["recipient"])))  # fmt: skip
        consent = None
        if self.client.write_authorizer() is not None:
            consent = self.consent()
        if consent is not None:
            for event in consent.audit(who, from_block=from_block):
                ref = str(event.fields.get("recordRef", ""))
                if event.event == "AccessRecorded" and ref and bytes.fromhex(ref[2:]) in ids:
                    trail.append({"block": event.block, "log_index": event.log_index,
                                  "tx": event.tx, "event": "read", "record_id": ref,
                                  "by": event.fields.get("grantee"),
                                  "purpose": event.fields.get("purpose")})  # fmt: skip
        trail.sort(key=lambda r: (r["block"], r["log_index"]))
        return trail

    # -- share -------------------------------------------------------------------------

    def share(
        self, record_id: bytes, *, holder: Any, private_key: Any, recipient: Recipient,
        sender: Any | None = None,
    ) -> CID:  # fmt: skip
        """Seal the record's data key to `recipient` (no re-encryption) and anchor it.
        `holder` is the account whose envelope `private_key` opens."""
        anchor = self._standing(record_id)
        data_key = self.data_key(anchor, holder, private_key)
        context = self.context(anchor.record_id, anchor.schema_version)
        envelope = wrap_key(data_key, context, recipient.public_key, recipient.key_id).to_bytes()
        del data_key
        cid = self.store.add(envelope, cid_version=1, pin=True)
        if not self.store.has(cid):
            raise ContentNotFound(f"store at {self.store.location} does not hold {cid}")
        self.client.add_envelope(anchor.record_id, recipient.address, cid, sender=sender)
        return cid

    # -- erase -------------------------------------------------------------------------

    def erase(self, record_id: bytes, *, sender: Any | None = None) -> ErasureReport:
        """Erase a record on request (right to be forgotten, retention limits): mark it
        erased on chain (`RecordErased`; only the patient's current DID owner or a records
        delegate may), then destroy every key envelope and unpin and delete the ciphertext
        in the store (cluster-wide for a cluster store). Running it again after a storage
        failure finishes the storage part. Copies a recipient already decrypted, and blocks
        other IPFS nodes fetched on their own, are out of reach."""
        rid = _b32(record_id, "record id")
        anchor = self.client.record(rid)
        transaction = ""
        if not anchor.erased_at:
            receipt = self.client.erase(rid, sender=sender)
            transaction = str(getattr(receipt, "txn_hash", ""))
        envelopes = [CID.from_bytes(bytes(log["cid"])) for log in self._envelope_logs(rid)]
        try:
            for cid in [*envelopes, anchor.cid]:
                self.store.remove(cid)
        except MedchainError as exc:
            raise StorageErasureIncomplete(
                f"record {_hex(rid)} is erased on chain, but removing its content from "
                f"{self.store.location} failed ({exc}); run the erase again"
            ) from exc
        return ErasureReport(rid, transaction, anchor.cid, envelopes)


__all__ = [
    "Anchor",
    "ConsentRequired",
    "ContractRevert",
    "ErasureReport",
    "Journal",
    "JournalEntry",
    "JournalError",
    "NoEnvelope",
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
]
