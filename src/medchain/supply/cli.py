"""`medchain supply …`: register trading partners, commission lots from a serial list
(encrypted manifest stored, root on chain), ship/receive lots and SSCC aggregations,
and verify, dispense, return, recall or flag units from a scanned GS1 element string
or Digital Link.

Containers are named as `0x<lot id or aggregation id>`, an 18-digit SSCC, or
`<gtin>:<lot>`. Proofs come from the plaintext manifest file `commission` writes
(`--manifest`, created 0600: it holds the serial list and the data key), or from
`--proof 0x…,0x…`; a unit's proof in an aggregation is derived from the manifest.

`verify` exits 1 when the answer is anything but genuine (the answer is still printed on
stdout), and `dispense` exits 1 when it caught a clone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from medchain.cli.options import (
    FILE,
    IN_FILE,
    ContractChoice,
    contract_commands,
    contract_option,
    read_json_file,
    read_text_file,
    require_account,
)
from medchain.cli.render import emit
from medchain.codec import to_bytes32
from medchain.errors import InvalidInput, MedchainError
from medchain.files import write_file
from medchain.supply import (
    LotManifest,
    Outcome,
    ProductIdentifier,
    Role,
    SupplyClient,
    UnitStatus,
    aggregation_id,
    container_proof,
    lot_id,
    normalize_gtin,
    parse_enum,
    product_identifier,
    upload_manifest,
)
from medchain.supply.merkle import leaf, proof_from_hex, proof_to_hex


@click.group()
def supply() -> None:
    """Pharmaceutical supply chain (DSCSA / GS1 serials, custody, verification, recalls)."""


registry_option = contract_option("registry", SupplyClient)
supply_command = contract_commands(supply, registry_option)


def _container(text: str) -> bytes:
    text = text.strip()
    if text.startswith("0x"):
        return to_bytes32(text, "container")
    if text.isdigit() and len(text) == 18:
        return aggregation_id(text)
    if ":" in text:
        gtin, lot = text.split(":", 1)
        return lot_id(normalize_gtin(gtin), lot)
    raise InvalidInput(f"container {text!r}: give 0x<id>, an 18-digit SSCC or <gtin>:<lot>")


def _load_manifest(path: Path) -> LotManifest:
    """The manifest file `commission` wrote (or a bare manifest), or one line naming the
    file and what is wrong with it."""
    doc = read_json_file(path, "lot manifest file (from `medchain supply commission`)")
    if not isinstance(doc, dict):
        raise InvalidInput(f"{path}: not a lot manifest file: expected a JSON object")
    try:
        return LotManifest.from_json(json.dumps(doc.get("manifest", doc)).encode())
    except MedchainError as exc:
        raise InvalidInput(f"{path}: {exc}") from None


def _hex_proof(text: str, option: str) -> list[bytes]:
    """`--proof 0x…,0x…`: 32-byte hex words, bottom-up; one line on anything else."""
    items = [p.strip() for p in text.split(",") if p.strip()]
    try:
        return proof_from_hex(items)
    except ValueError as exc:
        raise InvalidInput(
            f"{option} {text!r}: expected comma-separated 32-byte hex words (0x…,0x…): {exc}"
        ) from None


def _proof(pid: ProductIdentifier, manifest: Path | None, proof: str | None) -> list[bytes]:
    if proof is not None:
        return _hex_proof(proof, "--proof")
    if manifest is None:
        raise InvalidInput("give --manifest <file> (from `supply commission`) or --proof 0x…,0x…")
    # The proof of this serial in the manifest's lot; when the scan claims another lot
    # or expiry the contract still answers (mismatch or unknown serial).
    m = _load_manifest(manifest)
    try:
        return m.tree.proof_for(leaf(ProductIdentifier(m.gtin, pid.serial, m.lot, m.expiry)))
    except InvalidInput:
        return []


def _container_proof(
    client: SupplyClient,
    pid: ProductIdentifier,
    container: bytes,
    manifest: Path | None,
    given: str | None,
) -> list[bytes]:
    """`--container-proof`, or the unit's proof in the aggregation derived from the manifest
    (the lot proof without the siblings above the aggregation's node)."""
    if given is not None:
        return _hex_proof(given, "--container-proof")
    if manifest is None or container == lot_id(pid.gtin, pid.lot):
        return []
    m = _load_manifest(manifest)
    depth = m.tree.node_depth(client.container(container).root)
    return container_proof(_proof(pid, manifest, None), depth)


manifest_option = click.option("--manifest", type=IN_FILE, default=None)
proof_option = click.option("--proof", default=None, help="Merkle proof as 0x…,0x… (bottom-up).")


@supply_command("partner")
@click.argument("partner_address")
@click.option(
    "--role", "role_name", required=True, help="manufacturer|repackager|wholesaler|dispenser"
)
@click.option(
    "--prefix",
    default="",
    help="GS1 company prefix (required for manufacturers, repackagers; lets others pack SSCCs).",
)
@click.option("--identity", default=None, help="did:ethr identity address (default: the account).")
def partner(
    account: Any,
    registry: ContractChoice,
    partner_address: str,
    role_name: str,
    prefix: str,
    identity: str | None,
    as_json: bool,
) -> None:
    """Register a trading partner (registrar only)."""
    role = parse_enum(Role, role_name)
    client = registry.bind(require_account(account))
    client.register_partner(partner_address, role, identity=identity, company_prefix=prefix)
    emit(client.partner(partner_address), as_json)


@supply_command("commission")
@click.option("--gtin", required=True)
@click.option("--lot", required=True)
@click.option("--expiry", required=True, help="YYMMDD (DD=00: end of month)")
@click.option("--serials", type=IN_FILE, required=True, help="File with one serial per line.")
@click.option(
    "--save",
    type=FILE,
    default=None,
    help="Where to write the plaintext manifest and data key, mode 0600 "
    "(default <lot>.manifest.json).",
)
@click.option("--no-store", is_flag=True, help="Do not store the encrypted manifest in IPFS.")
def commission(
    account: Any,
    registry: ContractChoice,
    gtin: str,
    lot: str,
    expiry: str,
    serials: Path,
    save: Path | None,
    no_store: bool,
    as_json: bool,
) -> None:
    """Commission a lot: one transaction whatever the number of serials."""
    client = registry.bind(require_account(account))
    manifest = LotManifest(
        gtin,
        lot,
        expiry,
        [s.strip() for s in read_text_file(serials, "serial list").splitlines() if s.strip()],
    )
    cid, key = "", b""
    if not no_store:
        from medchain.storage import open_store

        up = upload_manifest(
            open_store(), manifest, chain_id=client.chain_id, registry=client.address
        )
        cid, key = up.cid, up.data_key
    lid = client.commission(manifest, cid)
    target = save or Path(f"{lot}.manifest.json")
    write_file(
        target,
        json.dumps({"manifest": json.loads(manifest.to_json()), "cid": cid, "data_key": key.hex()}),
        private=True,
    )
    emit(
        {
            "lot_id": lid,
            "root": manifest.root,
            "count": len(manifest.serials),
            "manifest_cid": cid,
            "saved": str(target),
        },
        as_json,
    )


def _on_container(
    account: Any, registry: ContractChoice, container: str, method: str, action: str, sentence: str
) -> None:
    """One SupplyClient call on a container by the account, reported as `action`."""
    cid = _container(container)
    getattr(registry.bind(require_account(account)), method)(cid)
    emit(
        {"action": action, "container": "0x" + cid.hex()},
        human=lambda r: sentence.format(**r),
    )


@supply_command("ship")
@click.argument("container")
@click.option("--to", "to", required=True, help="Receiving partner's address.")
def ship(account: Any, registry: ContractChoice, container: str, to: str) -> None:
    """Ship a lot or aggregation to a partner (pending until received)."""
    cid = _container(container)
    registry.bind(require_account(account)).ship(cid, to)
    emit(
        {"action": "shipped", "container": "0x" + cid.hex(), "to": to, "pending": True},
        human=lambda r: f"shipped {r['container']} to {to} (pending receipt)",
    )


@supply_command("receive")
@click.argument("container")
def receive(account: Any, registry: ContractChoice, container: str) -> None:
    """Acknowledge receipt of a shipment; you become the custodian."""
    _on_container(account, registry, container, "receive", "received", "received {container}")


@supply_command("cancel-shipment")
@click.argument("container")
def cancel_shipment(account: Any, registry: ContractChoice, container: str) -> None:
    """Cancel (sender) or refuse (receiver) a pending shipment; custody stays."""
    _on_container(
        account,
        registry,
        container,
        "cancel_shipment",
        "shipment-cancelled",
        "cancelled the pending shipment of {container}",
    )


@supply_command("aggregate")
@click.argument("sscc")
@click.option("--parent", required=True, help="Lot or aggregation you hold, packed from.")
@click.option(
    "--manifest",
    type=IN_FILE,
    required=True,
    help="The lot's manifest file (the case is a node of its tree).",
)
@click.option("--level", type=int, required=True, help="Tree level of the node (0: one unit).")
@click.option("--index", "index", type=int, required=True, help="Node index at that level.")
def aggregate(
    account: Any,
    registry: ContractChoice,
    sscc: str,
    parent: str,
    manifest: Path,
    level: int,
    index: int,
    as_json: bool,
) -> None:
    """Pack the units under one node of the lot tree into an SSCC (case, pallet, tote)."""
    client = registry.bind(require_account(account))
    pid_parent = _container(parent)
    tree = _load_manifest(manifest).tree
    root, node_proof, count = tree.pack(client.container(pid_parent).root, level, index)
    agg = client.aggregate(sscc, pid_parent, root, count, node_proof)
    units = tree.leaves_under(level, index)
    emit(
        {
            "aggregation": agg,
            "sscc": sscc,
            "parent": pid_parent,
            "root": root,
            "count": count,
            "units": f"{units.start}..{units.stop - 1}",
        },
        as_json,
    )


@supply_command("history")
@click.argument("container")
def history(account: Any, registry: ContractChoice, container: str, as_json: bool) -> None:
    """A lot's custody history: commissioning, packing, shipments, returns, unit events."""
    cid = _container(container)
    client = registry.bind()
    lot = client.container(cid).lot_id
    events = client.custody_history(lot)
    emit(events, as_json, human=_history_lines)


def _history_lines(events: list[dict[str, Any]]) -> str:
    """One line per custody event: block, event, container, actor (-> counterparty), detail."""
    return "\n".join(
        f"#{e['block']:<8} {e['event']:<17} {e['container'][:18]}… {e['actor']}"
        + (f" -> {e['counterparty']}" if e["counterparty"] else "")
        + (f"  {e['detail']}" if e["detail"] else "")
        for e in events
    )


@supply_command("verify")
@click.argument("scan")
@manifest_option
@proof_option
@click.option("--log", "log", is_flag=True, help="Send a transaction that logs the verification.")
def verify(
    account: Any,
    registry: ContractChoice,
    scan: str,
    manifest: Path | None,
    proof: str | None,
    log: bool,
    as_json: bool,
) -> None:
    """Verify a scanned GS1 element string or Digital Link."""
    pid = product_identifier(scan)
    siblings = _proof(pid, manifest, proof)
    client = registry.bind(require_account(account) if log else None)
    outcome = client.verify_and_log(pid, siblings) if log else client.verify(pid, siblings)
    emit(
        {
            "gtin": pid.gtin,
            "serial": pid.serial,
            "lot": pid.lot,
            "expiry": pid.expiry,
            "outcome": outcome.name.lower(),
            "proof": proof_to_hex(siblings),
        },
        as_json,
    )
    if outcome != Outcome.GENUINE:
        sys.exit(1)  # "not genuine" is a failure; the answer is on stdout


def _unit_command(name: str, help_text: str) -> Any:
    """`supply <name> SCAN [--manifest | --proof]`: a command on one scanned unit."""

    def decorate(fn: Any) -> Any:
        fn.__doc__ = help_text
        fn = proof_option(fn)
        fn = manifest_option(fn)
        fn = click.argument("scan")(fn)
        return supply_command(name)(fn)

    return decorate


def _held_unit(fn: Any) -> Any:
    """The options locating a unit in the container that holds it (`_holding`)."""
    fn = click.option(
        "--container-proof",
        default=None,
        help="Proof of the unit in the aggregation (default: derived from --manifest).",
    )(fn)
    return click.option(
        "--container", default=None, help="Lot (default) or aggregation holding the unit."
    )(fn)


def _holding(
    account: Any,
    registry: ContractChoice,
    scan: str,
    manifest: Path | None,
    proof: str | None,
    container: str | None,
    container_proof: str | None,
) -> tuple[SupplyClient, ProductIdentifier, list[bytes], bytes, list[bytes]]:
    """What a command on a unit you hold sends: the client (as you), the scanned unit, its
    proof in its lot, the container holding it (its lot by default) and its proof in that."""
    pid = product_identifier(scan)
    client = registry.bind(require_account(account))
    held = _container(container) if container else lot_id(pid.gtin, pid.lot)
    in_container = _container_proof(client, pid, held, manifest, container_proof)
    return client, pid, _proof(pid, manifest, proof), held, in_container


@_unit_command(
    "dispense", "Dispense a scanned unit you hold (a clone is recorded as suspect, exit 1)."
)
@_held_unit
def dispense(account: Any, registry: ContractChoice, scan: str, manifest: Path | None,
             proof: str | None, container: str | None, container_proof: str | None) -> None:  # fmt: skip
    client, pid, lot_proof, held, in_container = _holding(
        account, registry, scan, manifest, proof, container, container_proof
    )
    outcome = client.dispense(pid, lot_proof, held, in_container)
    genuine = outcome == Outcome.GENUINE
    emit(
        {"serial": pid.serial, "outcome": outcome.name.lower(), "dispensed": genuine},
        human=lambda r: (
            f"{r['outcome']}: dispensed"
            if r["dispensed"]
            else f"{r['outcome']}: clone caught, recorded as suspect; do not dispense"
        ),
    )
    if not genuine:
        sys.exit(1)  # a clone is a failure; the answer is on stdout


@_unit_command("decommission", "Decommission (destroy, sample) a scanned unit you hold.")
@_held_unit
def decommission(account: Any, registry: ContractChoice, scan: str, manifest: Path | None,
                 proof: str | None, container: str | None, container_proof: str | None) -> None:  # fmt: skip
    client, pid, lot_proof, held, in_container = _holding(
        account, registry, scan, manifest, proof, container, container_proof
    )
    client.decommission(pid, lot_proof, held, in_container)
    emit(
        {"serial": pid.serial, "status": "decommissioned"},
        human=lambda r: f"{r['serial']}: decommissioned",
    )


@_unit_command("return", "Send a scanned unit you hold back to a partner (it must accept).")
@click.option("--to", "to", required=True, help="Receiving partner (not a dispenser).")
@_held_unit
def return_(account: Any, registry: ContractChoice, scan: str, manifest: Path | None,
            proof: str | None, to: str, container: str | None, container_proof: str | None) -> None:  # fmt: skip
    client, pid, lot_proof, held, in_container = _holding(
        account, registry, scan, manifest, proof, container, container_proof
    )
    client.initiate_return(pid, lot_proof, to, held, in_container)
    emit(
        {"serial": pid.serial, "status": "return-pending", "to": to},
        human=lambda r: f"return of {r['serial']} sent to {r['to']} (pending acceptance)",
    )


def _unit_status_command(name: str, help_text: str, method: str, sentence: str, *,
                         status: str | None = None, status_option: Any = None) -> None:  # fmt: skip
    """A unit command making one SupplyClient call with the unit's proof, reporting the
    fixed `status`, or (with `status_option`) the `--status` given, which it passes on."""

    def command(account: Any, registry: ContractChoice, scan: str, manifest: Path | None,
                proof: str | None, status_name: str | None = None) -> None:  # fmt: skip
        pid = product_identifier(scan)
        args: list[Any] = [pid, _proof(pid, manifest, proof)]
        shown = status
        if status_name is not None:
            args.append(parse_enum(UnitStatus, status_name))
            shown = args[-1].name.lower()
        getattr(registry.bind(require_account(account)), method)(*args)
        emit({"serial": pid.serial, "status": shown}, human=lambda r: sentence.format(**r))

    _unit_command(name, help_text)(status_option(command) if status_option else command)


_unit_status_command("accept-return", "Accept a unit returned to you: you become its custodian.",
                     "accept_return", "returned {serial}: you now hold it", status="returned")  # fmt: skip
_unit_status_command("cancel-return", "Cancel (sender) or refuse (receiver) a pending return.",
                     "cancel_return", "return of {serial} cancelled: the sender keeps it",
                     status="return-cancelled")  # fmt: skip
_unit_status_command(
    "resolve", "Regulator: set a scanned unit's status after an investigation.", "resolve",
    "{serial}: resolved to {status}",
    status_option=click.option("--status", "status_name", required=True,
                               help="active|dispensed|suspect|..."),
)  # fmt: skip
_unit_status_command(
    "suspect", "Flag a scanned unit as suspect (or --status stolen|illegitimate).", "report",
    "{serial}: {status}",
    status_option=click.option("--status", "status_name", default="suspect", show_default=True),
)  # fmt: skip


@supply_command("recall")
@click.option("--gtin", required=True)
@click.option("--lot", required=True)
def recall(account: Any, registry: ContractChoice, gtin: str, lot: str) -> None:
    """Recall a whole lot (its manufacturer or a regulator)."""
    lid = registry.bind(require_account(account)).recall(normalize_gtin(gtin), lot)
    emit(
        {"action": "recalled", "lot_id": "0x" + lid.hex()},
        human=lambda r: f"recalled lot {r['lot_id']}",
    )


COMMANDS = [supply]
