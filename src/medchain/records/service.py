"""`Records`, the high-level records API over one registry client and one content store:

* `put`    encrypt (fresh data key, context-bound), store and pin, then anchor the CID,
           ciphertext hash and one key envelope per recipient (`prepare`, `store_prepared`
           and `resume` are its steps, journaled so an interrupted put can finish);
* `get`    read the anchor, fetch (every block checked against its CID), check the
           ciphertext hash, unwrap the caller's envelope and decrypt;
* `share`  unwrap the data key and seal it to another recipient, store, anchor;
* `verify` integrity of a record without any key;
* `read_access` / `check_share`  the consent gate for reading someone else's record and for
           sealing a key to someone who is not the patient's manager;
* `audit`  a patient's record trail; `erase` erasure on request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from medchain.codec import scope_code, to_address, to_bytes32, to_hex
from medchain.consent.client import ConsentRequired
from medchain.crypto import (
    HEADER_SIZE,
    EnvelopeContext,
    Header,
    decrypt_iter,
    encrypt_iter,
    envelopes_in,
    inspect,
    new_data_key,
    seal_key,
    unwrap_key,
)
from medchain.errors import IntegrityError, InvalidInput, MedchainError
from medchain.files import write_file
from medchain.logs import Event
from medchain.records.client import RecordsClient
from medchain.records.did import Recipient
from medchain.records.journal import Journal, JournalEntry, now
from medchain.records.model import (
    SCHEMA_VERSION,
    Anchor,
    ErasureReport,
    JournalError,
    NoEnvelope,
    Progress,
    PutResult,
    RecordErased,
    StorageErasureIncomplete,
    VerifyReport,
    record_id_for,
    scope_name,
)
from medchain.storage import ContentNotFound, ContentStore, compute_cid
from medchain.storage.cid import CID
from medchain.storage.unixfs import ChunkFeeder, DagBuilder


class CiphertextHasher:
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
            self._chain_id = self.client.chain_id
        return self._chain_id

    def context(self, record_id: bytes, schema_version: int) -> EnvelopeContext:
        return EnvelopeContext(record_id, schema_version, self.chain_id, self.client.address)

    # -- put ---------------------------------------------------------------------------

    def put(
        self, data: bytes | BinaryIO | Path, *, sender: Any | None = None,
        progress: Progress | None = None, **request: Any,
    ) -> PutResult:  # fmt: skip
        """Encrypt `data`, store and pin it, then anchor it as `sender` (default: the client's
        sender), the author the record id is derived from. `request` is what `prepare` takes:
        `patient`, `scope`, `recipients` (include the patient's own key), and optionally
        `schema_version`, `supersedes`, `salt`.

        If any step after encryption fails, the journal keeps the job and
        `resume(record_id)` finishes it.
        """
        entry = self.prepare(data, author=self._sender(sender), progress=progress, **request)
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
        by_address = _keys_by_address(recipients)
        author = to_address(self._sender(author), "author")
        salt = to_bytes32(salt, "salt") if salt is not None else os.urandom(32)
        record_id = record_id_for(author, patient, salt)
        rid = to_hex(record_id)
        context = self.context(record_id, schema_version)
        data_key = new_data_key()
        envelopes = []
        for address, keys in by_address.items():
            env = seal_key(data_key, context, keys)
            envelopes.append(
                {
                    "recipient": address,
                    "key_id": ",".join(kid for _, kid in keys),
                    "cid": str(compute_cid(env)),
                    "envelope": env.hex(),
                }
            )
        hasher = CiphertextHasher()
        source: BinaryIO | bytes = data if not isinstance(data, Path) else data.open("rb")

        def hashed(pieces: Iterator[bytes]) -> Iterator[bytes]:
            for piece in pieces:
                hasher.update(piece)
                if progress is not None:
                    progress("encrypt", len(piece))
                yield piece

        try:
            pieces = hashed(encrypt_iter(source, data_key, context))
            write_file(self.journal.spool(rid), pieces, durable=True)
        finally:
            if isinstance(data, Path):
                source.close()  # type: ignore[union-attr]
        del data_key
        entry = JournalEntry(
            record_id=rid, step="encrypted", patient=to_address(patient, "patient"),
            scope=to_hex(scope_code(scope)),
            schema_version=schema_version, supersedes=to_hex(supersedes or b"\0" * 32),
            chain_id=self.chain_id, registry=self.client.address, cid=str(hasher.cid()),
            content_hash=to_hex(hasher.sha256.digest()), size=hasher.size, envelopes=envelopes,
            created_at=now(), salt=to_hex(salt), author=author,
        )  # fmt: skip
        self.journal.write(entry)
        return entry

    def resume(
        self, record_id: str | bytes, *, sender: Any | None = None,
        progress: Progress | None = None,
    ) -> PutResult:  # fmt: skip
        """Finish an interrupted put from its journal entry (store, pin, confirm, anchor)."""
        rid = record_id if isinstance(record_id, str) else to_hex(record_id)
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
        if account is not None and to_address(account, "account") != to_address(
            entry.author, "author"
        ):
            raise JournalError(
                f"journal entry {rid} was prepared by {entry.author} (its record id is derived "
                f"from the author): resume it as {entry.author} or discard it "
                f"(medchain record resume --discard {rid})"
            )
        try:
            if entry.step == "encrypted":
                self.store_prepared(entry, progress)
                entry.step = "stored"
                entry.last_error = ""
                self.journal.write(entry)
            return self._anchor(entry, sender)
        except MedchainError as exc:
            entry.last_error = f"{type(exc).__name__}: {exc}"
            self.journal.write(entry)
            raise

    def store_prepared(self, entry: JournalEntry, progress: Progress | None = None) -> None:
        """Step 2 of a put: add a prepared entry's ciphertext and key envelopes to the store,
        pinned, and confirm the store holds every block of each (a cluster store: on at least
        its minimum of peers); `entry.replicas` records how many. Anchoring is the caller's
        next step (`resume` does it; a relay that anchors with its own key does it itself)."""
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
        record_id = to_bytes32(entry.record_id, "record id")
        cid = CID.parse(entry.cid)
        content_hash = to_bytes32(entry.content_hash, "content hash")
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
                patient=entry.patient, salt=to_bytes32(entry.salt, "salt"), scope=to_bytes32(entry.scope, "scope"),
                schema_version=entry.schema_version, cid=cid, content_hash=content_hash,
                supersedes=to_bytes32(entry.supersedes, "supersedes"), envelopes=envelopes,
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
        rid = record_id if isinstance(record_id, str) else to_hex(record_id)
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
                f"record {to_hex(anchor.record_id)} was erased on {when} UTC: its key envelopes "
                "and ciphertext are gone"
            )
        return anchor

    def data_key(self, anchor: Anchor, recipient: Any, private_key: Any) -> bytes:
        """Unwrap `recipient`'s key envelope for the record (fetched and CID-checked)."""
        env_cid = self.client.envelope_of(anchor.record_id, recipient)
        if env_cid is None:
            raise NoEnvelope(
                f"record {to_hex(anchor.record_id)} has no key envelope for {to_address(recipient, 'recipient')}"
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
                f"ciphertext of {to_hex(anchor.record_id)} hashes to 0x{digest.hexdigest()}, "
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
        return write_file(out, pieces, private=True)

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
                f"ciphertext of {to_hex(anchor.record_id)} hashes to 0x{digest.hexdigest()}, "
                f"anchored 0x{anchor.content_hash.hex()}"
            )
        checks.append("sha256 of the ciphertext matches the anchor")
        header: Header = inspect(head.getvalue(), context)
        checks.append("header is bound to this record, schema, chain and registry")
        plaintext = header.check_length(size)
        checks.append("chunk layout is consistent with the ciphertext length")
        envelopes = 0
        for log in self._envelope_logs(anchor.record_id):
            for env in envelopes_in(self.store.cat(CID.from_bytes(bytes(log["cid"])))):
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
        """The arguments of every EnvelopeAnchored of the record, in chain order."""
        return [e.args for e in self.client.events("EnvelopeAnchored", {"recordId": record_id})]

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
        rid = to_bytes32(record_id, "record id")
        anchor = self._standing(rid)  # an erased record is refused before any read is logged
        if self.client.can_share(rid, reader):
            return False
        consent = consent or self.consent(sender=reader)
        if not consent.check(anchor.patient, reader, anchor.scope, "read", purpose):
            raise ConsentRequired(
                f"{to_address(reader, 'reader')} has no read consent for {anchor.scope_name} records of "
                f"{anchor.patient} for {purpose}: ask the patient to grant it "
                f"(record {to_hex(rid)} not read)"
            )
        consent.record_access(anchor.patient, anchor.scope, "read", purpose, rid, sender=reader)
        return True

    def check_share(
        self, record_id: bytes, recipient: Any, *, purpose: str = "TREAT", consent: Any = None
    ) -> None:
        """The consent gate before sealing a record's key to `recipient`: the patient's
        manager needs nothing; anyone else needs current read consent for the record's scope
        and `purpose` (`ConsentRequired` otherwise)."""
        rid = to_bytes32(record_id, "record id")
        if self.client.can_share(rid, recipient):
            return
        anchor = self.client.record(rid)
        consent = consent or self.consent()
        if not consent.check(anchor.patient, recipient, anchor.scope, "read", purpose):
            raise ConsentRequired(
                f"{to_address(recipient, 'recipient')} has no read consent for {anchor.scope_name} records of "
                f"{anchor.patient} for {purpose}: grant it first (medchain consent grant); "
                "no key was shared"
            )

    def audit(self, patient: Any, from_block: int = 0) -> list[dict[str, Any]]:
        """A patient's record trail in chain order: every anchor (with its author and the
        record it corrects), every key envelope (who shared it with whom) and every read
        recorded in the consent registry (`AccessRecorded` of these records)."""
        who = to_address(patient, "patient")
        trail: list[dict[str, Any]] = []

        def row(event: Event, kind: str, **fields: Any) -> dict[str, Any]:
            return {"block": event.block_number, "log_index": event.log_index,
                    "tx": event.tx_hash, "event": kind, **fields}  # fmt: skip

        anchored = self.client.events("RecordAnchored", {"patient": who}, from_block)
        ids = {bytes(event.args["recordId"]) for event in anchored}
        for event in anchored:
            args = event.args
            trail.append(row(event, "anchored", record_id=to_hex(args["recordId"]),
                             by=str(args["author"]), type=scope_name(args["scope"]),
                             version=int(args["version"]),
                             supersedes=to_hex(args["supersedes"])))  # fmt: skip
        # One query for the envelopes of every record of the patient.
        shared = (
            self.client.events("EnvelopeAnchored", {"recordId": sorted(ids)}, from_block)
            if ids
            else []
        )
        for event in shared:
            args = event.args
            trail.append(row(event, "shared", record_id=to_hex(args["recordId"]),
                             by=str(args["addedBy"]), to=str(args["recipient"])))  # fmt: skip
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
        self, record_id: bytes, *, holder: Any, private_key: Any,
        recipient: Recipient | Sequence[Recipient], sender: Any | None = None,
    ) -> CID:  # fmt: skip
        """Seal the record's data key to `recipient` (no re-encryption) and anchor it.
        `recipient` may be every published key of one address (`recipients_for(did)`):
        each of them can open the envelope. `holder` is the account whose envelope
        `private_key` opens."""
        keys = _keys_by_address([recipient] if isinstance(recipient, Recipient) else recipient)
        if len(keys) != 1:
            raise InvalidInput(f"share seals to one address at a time, got {len(keys)}")
        ((address, sealed_to),) = keys.items()
        anchor = self._standing(record_id)
        data_key = self.data_key(anchor, holder, private_key)
        context = self.context(anchor.record_id, anchor.schema_version)
        envelope = seal_key(data_key, context, sealed_to)
        del data_key
        cid = self.store.add(envelope, cid_version=1, pin=True)
        if not self.store.has(cid):
            raise ContentNotFound(f"store at {self.store.location} does not hold {cid}")
        self.client.add_envelope(anchor.record_id, address, cid, sender=sender)
        return cid

    # -- erase -------------------------------------------------------------------------

    def erase(self, record_id: bytes, *, sender: Any | None = None) -> ErasureReport:
        """Erase a record on request (right to be forgotten, retention limits): mark it
        erased on chain (`RecordErased`; only the patient's current DID owner or a records
        delegate may), then destroy every key envelope and unpin and delete the ciphertext
        in the store (cluster-wide for a cluster store). Running it again after a storage
        failure finishes the storage part. Copies a recipient already decrypted, and blocks
        other IPFS nodes fetched on their own, are out of reach."""
        rid = to_bytes32(record_id, "record id")
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
                f"record {to_hex(rid)} is erased on chain, but removing its content from "
                f"{self.store.location} failed ({exc}); run the erase again"
            ) from exc
        return ErasureReport(rid, transaction, anchor.cid, envelopes)


def _keys_by_address(recipients: Sequence[Recipient]) -> dict[str, list[tuple[bytes, str]]]:
    """Recipients grouped by address: the chain keeps one envelope per address, sealed to
    every key that address's DID publishes (several devices, `did create --add`)."""
    grouped: dict[str, list[tuple[bytes, str]]] = {}
    for recipient in recipients:
        keys = grouped.setdefault(to_address(recipient.address, "recipient"), [])
        if all(bytes(recipient.public_key) != public for public, _ in keys):
            keys.append((bytes(recipient.public_key), recipient.key_id))
    return grouped
