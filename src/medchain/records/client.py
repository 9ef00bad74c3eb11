"""`RecordsClient`: typed calls to the RecordRegistry contract (anchor, envelopes, erasure,
the write/share/supersede checks) and its events, read through `medchain.logs.LogReader`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medchain.client import ContractClient
from medchain.codec import scope_code, to_address, to_bytes32
from medchain.logs import Event, LogReader
from medchain.records.model import Anchor
from medchain.storage.cid import CID


class RecordsClient(ContractClient):
    """Typed calls to RecordRegistry; reverts arrive as `ContractRevert`."""

    contract_name = "RecordRegistry"

    def anchor(
        self,
        *,
        patient: Any,
        salt: bytes,
        scope: str | bytes,
        schema_version: int,
        cid: CID,
        content_hash: bytes,
        supersedes: bytes = b"\0" * 32,
        envelopes: Sequence[tuple[str, CID]] = (),
        sender: Any | None = None,
    ) -> Any:
        request = (
            to_address(patient, "patient"), to_bytes32(salt, "salt"), scope_code(scope),
            schema_version, cid.to_bytes(), to_bytes32(content_hash, "content hash"),
            to_bytes32(supersedes, "supersedes"),
        )  # fmt: skip
        envs = [(to_address(who, "recipient"), env.to_bytes()) for who, env in envelopes]
        return self.transact("anchorRecord", request, envs, sender=sender)

    def add_envelope(self, record_id: bytes, recipient: Any, cid: CID, sender: Any = None) -> Any:
        return self.transact(
            "addEnvelope", to_bytes32(record_id, "record id"), to_address(recipient, "recipient"), cid.to_bytes(),
            sender=sender,
        )  # fmt: skip

    def erase(self, record_id: bytes, sender: Any = None) -> Any:
        return self.transact("eraseRecord", to_bytes32(record_id, "record id"), sender=sender)

    def erased_at(self, record_id: bytes) -> int:
        return int(self.call("erasedAt", to_bytes32(record_id, "record id")))

    def set_write_authorizer(self, authorizer: Any, sender: Any = None) -> Any:
        return self.transact(
            "setWriteAuthorizer", to_address(authorizer, "authorizer"), sender=sender
        )

    def exists(self, record_id: bytes) -> bool:
        return bool(self.call("exists", to_bytes32(record_id, "record id")))

    def record(self, record_id: bytes) -> Anchor:
        view = self.call("getRecord", to_bytes32(record_id, "record id"))
        return Anchor(
            record_id=to_bytes32(record_id, "record id"),
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
        cid = self.call(
            "envelopeOf", to_bytes32(record_id, "record id"), to_address(recipient, "recipient")
        )
        return CID.from_bytes(bytes(cid)) if cid else None

    def can_write(self, patient: Any, writer: Any, scope: str | bytes) -> bool:
        return bool(
            self.call(
                "canWrite",
                to_address(patient, "patient"),
                to_address(writer, "writer"),
                scope_code(scope),
            )
        )

    def can_share(self, record_id: bytes, sharer: Any) -> bool:
        """`sharer` manages the record's live patient identity (current DID owner or
        records delegate): may add envelopes, and reads without consent."""
        return bool(
            self.call("canShare", to_bytes32(record_id, "record id"), to_address(sharer, "sharer"))
        )

    def can_supersede(self, record_id: bytes, writer: Any) -> bool:
        return bool(
            self.call(
                "canSupersede", to_bytes32(record_id, "record id"), to_address(writer, "writer")
            )
        )

    def record_id_of(self, author: Any, patient: Any, salt: bytes) -> bytes:
        return bytes(
            self.call(
                "recordIdOf",
                to_address(author, "author"),
                to_address(patient, "patient"),
                to_bytes32(salt, "salt"),
            )
        )

    def write_authorizer(self) -> str | None:
        """The consent registry this registry consults (None when none is set)."""
        address = str(self.call("writeAuthorizer"))
        return None if int(address, 16) == 0 else address

    def events(self, name: str, where: dict[str, Any], from_block: int = 0) -> list[Event]:
        """This registry's `name` events whose arguments match `where` (argument -> value, or
        a list of values any of which matches), in chain order, read through the SDK's one
        event reader, `medchain.logs.LogReader`."""
        from ape import chain

        abi = [
            item.model_dump(mode="json", by_alias=True) for item in self.contract.contract_type.abi
        ]
        reader = LogReader(chain.provider.web3, {self.address: abi})
        return reader.read(from_block, names=name, where=where)

    def records_of(self, patient: Any, start_block: int = 0) -> list[Anchor]:
        """Every record of `patient`, oldest first, from RecordAnchored events."""
        anchored = self.events(
            "RecordAnchored", {"patient": to_address(patient, "patient")}, start_block
        )
        return [self.record(bytes(event.args["recordId"])) for event in anchored]
