"""`SupplyClient`: typed access to the SerialRegistry contract (partners, commissioning,
aggregation, shipments, unit exceptions, recalls, verification) through the one
transact/call path of `ContractClient`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from medchain.client import ContractClient
from medchain.errors import InvalidInput
from medchain.logs import reader_for_contracts

from .gs1 import ProductIdentifier, normalize_sscc, to_bytes20
from .manifest import LotManifest


class Role(IntEnum):
    NONE = 0
    MANUFACTURER = 1
    REPACKAGER = 2
    WHOLESALER = 3
    DISPENSER = 4


class UnitStatus(IntEnum):
    ACTIVE = 0
    DISPENSED = 1
    DECOMMISSIONED = 2
    RETURNED = 3
    STOLEN = 4
    SUSPECT = 5
    ILLEGITIMATE = 6
    RETURN_PENDING = 7


class Outcome(IntEnum):
    """The contract's verification answer (the DSCSA VRS questions)."""

    GENUINE = 0
    UNKNOWN_SERIAL = 1
    LOT_EXPIRY_MISMATCH = 2
    ALREADY_DISPENSED = 3
    RECALLED = 4
    SUSPECT = 5
    EXPIRED = 6
    ILLEGITIMATE = 7
    STOLEN = 8
    DECOMMISSIONED = 9


def parse_enum(enum: type[IntEnum], name: str) -> Any:
    try:
        return enum[name.upper().replace("-", "_")]
    except KeyError:
        allowed = ", ".join(m.name.lower() for m in enum)
        raise InvalidInput(f"{name!r} is not one of: {allowed}") from None


@dataclass(frozen=True)
class Partner:
    account: str
    identity: str
    role: Role
    company_prefix: str
    active: bool


@dataclass(frozen=True)
class Container:
    container_id: bytes
    root: bytes
    custodian: str
    count: int
    expiry: int
    lot_id: bytes
    recalled: bool
    opened: bool
    pending_to: str | None
    child_depth: int = 0


@dataclass(frozen=True)
class CustodyEvent:
    """One entry of a lot's custody history (EPCIS-shaped events, oldest first)."""

    block: int
    event: str
    container: bytes
    actor: str
    counterparty: str | None
    detail: str


def aggregation_id(sscc: str | int) -> bytes:
    return int(normalize_sscc(sscc)).to_bytes(32, "big")


def _proof(items: Sequence[bytes]) -> list[bytes]:
    return [bytes(p) for p in items]


class SupplyClient(ContractClient):
    contract_name = "SerialRegistry"

    last_receipt: Any = None

    def transact(self, method: str, *args: Any, sender: Any | None = None, **tx: Any) -> Any:
        """Send a transaction (kept as `last_receipt`); reverts raise `ContractRevert`."""
        self.last_receipt = super().transact(method, *args, sender=sender, **tx)
        return self.last_receipt

    # ------------------------------------------------------------ emergency pause

    def pause(self) -> Any:
        """Pause the normal flow of goods (GUARDIAN_ROLE only; docs/supply.md, "Roles")."""
        return self.transact("pause")

    def unpause(self) -> Any:
        """End a pause (the default admin: governance after a governed deploy)."""
        return self.transact("unpause")

    def paused(self) -> bool:
        return bool(self.call("paused"))

    # ------------------------------------------------------------ partners

    def register_partner(
        self,
        account: str,
        role: Role,
        *,
        identity: str | None = None,
        company_prefix: str = "",
    ) -> Any:
        """Register `account` (its DID identity defaults to the account itself). Manufacturers
        and repackagers need a GS1 company prefix; wholesalers and dispensers may give one
        (it is what lets them pack SSCCs)."""
        if company_prefix or role in (Role.MANUFACTURER, Role.REPACKAGER):
            if not (company_prefix.isdigit() and 4 <= len(company_prefix) <= 12):
                raise InvalidInput(f"company prefix {company_prefix!r}: expected 4-12 digits")
            prefix, length = int(company_prefix), len(company_prefix)
        else:
            prefix, length = 0, 0
        return self.transact(
            "registerPartner", account, identity or account, int(role), prefix, length
        )

    def deactivate_partner(self, account: str) -> Any:
        return self.transact("deactivatePartner", account)

    def partner(self, account: str) -> Partner:
        p = self.call("partnerOf", account)
        length = int(p.prefixLength)
        return Partner(
            account=str(account),
            identity=str(p.identity),
            role=Role(int(p.role)),
            company_prefix=f"{int(p.companyPrefix):0{length}d}" if length else "",
            active=bool(p.active),
        )

    # ------------------------------------------------------------ lots and custody

    def commission(self, manifest: LotManifest, manifest_cid: str = "") -> bytes:
        """Commission the manifest's lot (one transaction, whatever its size); returns the lot id."""
        self.transact(
            "commission",
            int(manifest.gtin),
            to_bytes20(manifest.lot),
            int(manifest.expiry),
            len(manifest.serials),
            manifest.root,
            manifest_cid,
        )
        return manifest.lot_id

    def aggregate(
        self,
        sscc: str | int,
        parent: bytes,
        root: bytes,
        count: int,
        node_proof: Sequence[bytes] = (),
    ) -> bytes:
        """Pack node `root` of `parent`'s tree (proven by `node_proof`, its siblings up to the
        parent's root) under `sscc`; see `MerkleTree.node`/`node_proof` and `case_path`."""
        self.transact(
            "aggregate", int(normalize_sscc(sscc)), parent, root, count, _proof(node_proof)
        )
        return aggregation_id(sscc)

    def ship(self, container: bytes, to: str) -> Any:
        return self.transact("ship", container, to)

    def receive(self, container: bytes) -> Any:
        return self.transact("receiveShipment", container)

    def cancel_shipment(self, container: bytes) -> Any:
        return self.transact("cancelShipment", container)

    def container(self, container_id: bytes) -> Container:
        c = self.call("containerOf", container_id)
        lot = bytes(self.call("lotOfAggregation", container_id))
        pending = str(self.call("pendingShipment", container_id))
        return Container(
            container_id=bytes(container_id),
            root=bytes(c.root),
            custodian=str(c.custodian),
            count=int(c.count),
            expiry=int(c.expiry),
            lot_id=lot if any(lot) else bytes(container_id),
            recalled=bool(int(c.flags) & 1),
            opened=bool(int(c.flags) & 2),
            pending_to=None if int(pending, 16) == 0 else pending,
            child_depth=int(c.childDepth),
        )

    def custodian_of(
        self, pid: ProductIdentifier, container: bytes, container_proof: Sequence[bytes] = ()
    ) -> str:
        """The unit's one custodian, asked through `container` with the unit's proof in it
        (for the lot: the lot proof)."""
        return str(self.call("custodianOf", pid.onchain(), container, _proof(container_proof)))

    def packed_from(self, parent: bytes, root: bytes) -> bytes | None:
        """The aggregation packed from node `root` of `parent`, if any."""
        agg = bytes(self.call("packedFrom", parent, root))
        return agg if any(agg) else None

    def custody_history(self, lot: bytes) -> list[CustodyEvent]:
        """Every custody event of a lot and of the aggregations packed out of it (commissioning,
        packing, shipments, receipts, cancellations, returns and unit status changes)."""
        lot = bytes(lot)
        reader = reader_for_contracts(self)
        out: list[CustodyEvent] = []
        for ev in reader.read(names="LotCommissioned", where={"lotId": lot}):
            a = ev.args
            out.append(
                CustodyEvent(
                    ev.block_number, "commissioned", lot, str(a["manufacturer"]), None,
                    f"{int(a['count'])} units",
                )
            )  # fmt: skip
        containers = {lot}
        for ev in reader.read(names="Aggregated", where={"lotId": lot}):
            a = ev.args
            containers.add(bytes(a["containerId"]))
            out.append(
                CustodyEvent(
                    ev.block_number, "packed", bytes(a["containerId"]), str(a["packer"]),
                    None, f"SSCC {int(a['sscc']):018d} from 0x{bytes(a['parent']).hex()}, "
                    f"{int(a['count'])} units",
                )
            )  # fmt: skip
        # hand-overs: (event -> what happened, which events, what moved)
        transfers: tuple[tuple[dict[str, str], dict[str, Any], str], ...] = (
            (
                {"Shipped": "shipped", "Received": "received", "ShipmentCancelled": "cancelled"},
                {"containerId": sorted(containers)},
                "containerId",
            ),
            (
                {"ReturnInitiated": "return sent", "ReturnCancelled": "return cancelled"},
                {"lotId": lot},
                "unitId",
            ),
        )
        for labels, where, subject in transfers:
            for ev in reader.read(names=list(labels), where=where):
                a = ev.args
                out.append(
                    CustodyEvent(
                        ev.block_number, labels[ev.name], bytes(a[subject]), str(a["from"]),
                        str(a["to"]), "",
                    )
                )  # fmt: skip
        for ev in reader.read(names="UnitStatusChanged", where={"lotId": lot}):
            a = ev.args
            status = UnitStatus(int(a["status"])).name.lower()
            out.append(
                CustodyEvent(ev.block_number, status, bytes(a["unitId"]), str(a["actor"]), None, "")
            )
        out.sort(key=lambda e: e.block)
        return out

    # ------------------------------------------------------------ units

    def verify(self, pid: ProductIdentifier, proof: Sequence[bytes]) -> Outcome:
        """Free verification (a call)."""
        return Outcome(int(self.call("verify", pid.onchain(), _proof(proof))))

    def verify_and_log(self, pid: ProductIdentifier, proof: Sequence[bytes]) -> Outcome:
        """Verification as a transaction that logs the request and its answer."""
        receipt = self.transact("verifyAndLog", pid.onchain(), _proof(proof))
        return Outcome(int(self.events_from(receipt, "ProductVerified")[-1]["outcome"]))

    def dispense(
        self,
        pid: ProductIdentifier,
        proof: Sequence[bytes],
        container: bytes,
        container_proof: Sequence[bytes] = (),
    ) -> Outcome:
        """Dispense; returns GENUINE, or ALREADY_DISPENSED when a clone was caught (and
        recorded as suspect on chain)."""
        receipt = self.transact(
            "dispense", pid.onchain(), _proof(proof), container, _proof(container_proof)
        )
        status = UnitStatus(int(self.events_from(receipt, "UnitStatusChanged")[-1]["status"]))
        return Outcome.ALREADY_DISPENSED if status == UnitStatus.SUSPECT else Outcome.GENUINE

    def initiate_return(
        self,
        pid: ProductIdentifier,
        proof: Sequence[bytes],
        to: str,
        container: bytes,
        container_proof: Sequence[bytes] = (),
    ) -> Any:
        """Send a unit you hold (through `container`, or its own record) back to `to`."""
        return self.transact(
            "initiateReturn", pid.onchain(), _proof(proof), container, _proof(container_proof), to
        )

    def accept_return(self, pid: ProductIdentifier, proof: Sequence[bytes]) -> Any:
        """Accept a unit returned to you: you become its custodian."""
        return self.transact("acceptReturn", pid.onchain(), _proof(proof))

    def cancel_return(self, pid: ProductIdentifier, proof: Sequence[bytes]) -> Any:
        """Cancel (sender) or refuse (receiver) a pending return."""
        return self.transact("cancelReturn", pid.onchain(), _proof(proof))

    def pending_return(self, pid: ProductIdentifier) -> str | None:
        from .manifest import unit_id

        to = str(self.call("pendingReturn", unit_id(pid.gtin, pid.serial)))
        return None if int(to, 16) == 0 else to

    def decommission(
        self,
        pid: ProductIdentifier,
        proof: Sequence[bytes],
        container: bytes,
        container_proof: Sequence[bytes] = (),
    ) -> Any:
        return self.transact(
            "decommission", pid.onchain(), _proof(proof), container, _proof(container_proof)
        )

    def report(self, pid: ProductIdentifier, proof: Sequence[bytes], status: UnitStatus) -> Any:
        """Flag a unit as SUSPECT, STOLEN or ILLEGITIMATE."""
        return self.transact("reportUnit", pid.onchain(), _proof(proof), int(status))

    def resolve(self, pid: ProductIdentifier, proof: Sequence[bytes], status: UnitStatus) -> Any:
        return self.transact("resolveUnit", pid.onchain(), _proof(proof), int(status))

    def unit_status(self, pid: ProductIdentifier) -> UnitStatus:
        from .manifest import unit_id

        return UnitStatus(int(self.call("unitOf", unit_id(pid.gtin, pid.serial)).status))

    def recall(self, gtin: str, lot: str) -> bytes:
        self.transact("recall", int(gtin), to_bytes20(lot))
        from .manifest import lot_id

        return lot_id(gtin, lot)
