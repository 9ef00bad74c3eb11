"""`medchain record put | get | share | verify | resume | list | erase`: encrypted records
on IPFS (embedded store, a Kubo node or an IPFS Cluster with --ipfs / $MEDCHAIN_IPFS_API)
anchored in RecordRegistry. Large files show progress bars; plaintext stays in this process.

Reads and shares go through consent like the SDK: anyone but the patient's manager
(current DID owner or records delegate) reads only with current read consent, and the
read is recorded on chain (`ConsentRegistry.recordAccess`); a key is sealed only to a
recipient holding read consent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from medchain.cli.options import (
    FILE,
    IN_FILE,
    ContractChoice,
    contract_commands,
    contract_option,
    force_option,
    ipfs_option,
    keys_dir_option,
    refuse_overwrite,
    require_account,
)
from medchain.cli.render import emit, fail, progress
from medchain.errors import InvalidInput, MedchainError
from medchain.records import Recipient, Records, RecordsClient, recipients_for, scope_name
from medchain.storage import open_store

_BAR_THRESHOLD = 8 * 1024 * 1024  # show progress bars from this size on


@click.group()
def record() -> None:
    """Encrypted health records: IPFS content anchored on chain."""


registry_option = contract_option("registry", RecordsClient)
record_command = contract_commands(record, registry_option)
purpose_option = click.option(
    "--purpose", default="TREAT", show_default=True,
    help="Purpose of use the consent must cover (TREAT, HRESCH, ETREAT, ...).",
)  # fmt: skip


def key_options(fn: Any) -> Any:
    fn = click.option(
        "--key-file", type=IN_FILE, default=None,
        help="X25519 private key file (32 raw bytes, 64 hex characters or PEM); default: the "
             "key store entry matching the record's envelope.",
    )(fn)  # fmt: skip
    fn = keys_dir_option(fn)
    return click.option("--passphrase", envvar="MEDCHAIN_KEY_PASSPHRASE", default=None,
                        help="Passphrase of a protected stored key.")(fn)  # fmt: skip


def _records(account: Any, ipfs_url: str | None, registry: ContractChoice) -> Records:
    return Records(registry.bind(account), open_store(ipfs_url))


def _patient(patient: str | None, account: Any) -> str:
    """--patient, else the --account's address."""
    if patient is not None:
        return patient
    if account is None:
        raise InvalidInput("pass --patient <address> or --account")
    return str(account.address)


def _did_resolver(records: Records) -> Any:
    """A resolver on the DID registry this RecordRegistry consults (keys are resolved on
    the same one): one per command, however many recipients it resolves."""
    from medchain.identity.resolver import DIDResolver

    return DIDResolver.connected(str(records.client.call("didRegistry")))


def _private_key(records: Records, rid: bytes, holder: str, key_file: Path | None,
                 keys_dir: Path | None, passphrase: str | None) -> Any:  # fmt: skip
    """The key given, or the stored key matching the public key of `holder`'s envelope."""
    if key_file is not None:
        return load_private_key(key_file)
    from medchain.crypto import envelopes_in
    from medchain.identity import format_did
    from medchain.keystore import KeyStore
    from medchain.records import NoEnvelope

    env_cid = records.client.envelope_of(rid, holder)
    if env_cid is None:
        raise NoEnvelope(f"record 0x{rid.hex()} has no key envelope for {holder}")
    sealed_to = [e.recipient_public_key for e in envelopes_in(records.store.cat(env_cid))]
    did = format_did(holder, records.chain_id)
    return KeyStore(keys_dir).load_any(did, sealed_to, passphrase)


def _record_id(text: str) -> bytes:
    raw = bytes.fromhex(text.removeprefix("0x")) if _is_hex(text) else b""
    if len(raw) != 32:
        raise InvalidInput(f"record id must be 32 bytes of hex, got {text!r}")
    return raw


def _is_hex(text: str) -> bool:
    body = text.removeprefix("0x")
    return bool(body) and all(c in "0123456789abcdefABCDEF" for c in body)


def load_private_key(path: Path) -> Any:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    raw = path.read_bytes()
    if len(raw) == 32:
        return X25519PrivateKey.from_private_bytes(raw)
    text = raw.strip()
    if _is_hex(text.decode(errors="replace")) and len(text.removeprefix(b"0x")) == 64:
        return X25519PrivateKey.from_private_bytes(bytes.fromhex(text.decode().removeprefix("0x")))
    try:
        key = load_pem_private_key(raw, password=None)
    except ValueError:
        raise InvalidInput(f"{path} holds no X25519 private key") from None
    if not isinstance(key, X25519PrivateKey):
        raise InvalidInput(f"{path} holds a {type(key).__name__}, not an X25519 key")
    return key


def parse_recipient(spec: str, did_registry: Any = None) -> list[Recipient]:
    """`did:ethr:...` or an address (resolved through the identity domain), or
    `0xADDR=PUBHEX[#kid]` given explicitly."""
    if "=" not in spec:
        return recipients_for(spec, did_registry)
    address, _, rest = spec.partition("=")
    public_hex, _, kid = rest.partition("#")
    if not _is_hex(public_hex) or len(public_hex.removeprefix("0x")) != 64:
        raise InvalidInput(f"recipient key in {spec!r} must be 32 bytes of hex")
    return [Recipient(address, bytes.fromhex(public_hex.removeprefix("0x")), kid)]


@record_command("put")
@click.argument("path", type=IN_FILE)
@click.option("--patient", default=None, help="Patient address (default: --account).")
@click.option("--type", "scope", default="Observation", show_default=True,
              help="Record type code, e.g. a FHIR resource type.")  # fmt: skip
@click.option("--to", "recipients", multiple=True, required=True,
              help="Recipient: did:ethr:0x... or 0xADDR=X25519PUBHEX[#kid]; repeatable. "
                   "Include the patient.")  # fmt: skip
@click.option("--schema-version", default=1, show_default=True, type=int)
@click.option("--supersedes", default=None, help="Record id this one corrects.")
@ipfs_option
def put(account: Any, path: Path, patient: str | None, scope: str, recipients: tuple[str, ...],
        schema_version: int, supersedes: str | None, ipfs_url: str | None,
        registry: ContractChoice, as_json: bool) -> None:  # fmt: skip
    """Encrypt PATH, store and pin it, and anchor it for the patient."""
    sender = require_account(account)
    records = _records(sender, ipfs_url, registry)
    resolver = _did_resolver(records)
    wanted = [r for spec in recipients for r in parse_recipient(spec, resolver)]
    size = path.stat().st_size
    with progress(size, size >= _BAR_THRESHOLD and not as_json) as advance:
        entry = records.prepare(
            path, patient=patient or sender.address, scope=scope, recipients=wanted,
            schema_version=schema_version, author=sender,
            supersedes=_record_id(supersedes) if supersedes else None, progress=advance,
        )  # fmt: skip
        try:
            result = records.resume(entry.record_id, sender=sender, progress=advance)
        except KeyboardInterrupt:
            fail(f"interrupted: record {entry.record_id} is kept in the journal; run "
                 f"`medchain record resume {entry.record_id}` to finish it")  # fmt: skip
            raise  # unreachable: fail() exits
        except MedchainError as exc:
            fail(f"{exc} (record {entry.record_id} is kept in the journal: `medchain record "
                 f"resume {entry.record_id}` finishes it, `--discard` drops it)")  # fmt: skip
            raise  # unreachable: fail() exits
    emit({"record_id": result.record_id, "cid": str(result.cid), "sha256": result.content_hash,
          "ciphertext_bytes": result.size, "version": result.version,
          "envelopes": {k: str(v) for k, v in result.envelopes.items()},
          "transaction": result.transaction, "replicas": result.replicas}, as_json)  # fmt: skip


@record_command("erase")
@click.argument("record_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@ipfs_option
def erase(account: Any, record_id: str, yes: bool, ipfs_url: str | None, registry: ContractChoice,
          as_json: bool) -> None:  # fmt: skip
    """Erase RECORD_ID (right to be forgotten, retention limits): mark it erased on chain,
    destroy its key envelopes and unpin/delete its ciphertext in the store. Only the
    patient's current DID owner or a records delegate may. Copies a recipient already
    decrypted are out of reach."""
    sender = require_account(account)
    rid = _record_id(record_id)
    if not yes and not as_json:
        click.confirm(f"erase record 0x{rid.hex()} for good?", abort=True, err=True)
    report = _records(sender, ipfs_url, registry).erase(rid, sender=sender)
    emit({"record_id": report.record_id, "erased": True, "transaction": report.transaction,
          "unpinned": [str(report.cid), *map(str, report.envelopes)]}, as_json)  # fmt: skip


@record_command("get")
@click.argument("record_id")
@key_options
@click.option("--out", type=FILE, required=True,
              help="Where to write the plaintext (written only if every check passes).")  # fmt: skip
@force_option
@click.option("--as", "holder", default=None, help="Whose envelope to open (default: --account).")
@purpose_option
@ipfs_option
def get(account: Any, record_id: str, key_file: Path | None, keys_dir: Path | None,
        passphrase: str | None, out: Path, force: bool, holder: str | None, purpose: str,
        ipfs_url: str | None, registry: ContractChoice, as_json: bool) -> None:  # fmt: skip
    """Fetch, verify and decrypt RECORD_ID into --out.

    The patient's manager (current DID owner or records delegate) reads freely; anyone
    else needs current read consent for the record's type and --purpose, and the read is
    recorded on chain (ConsentRegistry.recordAccess) before anything is decrypted."""
    reader = account.address if account is not None else holder
    if reader is None:
        raise InvalidInput("pass --account (the reader) to say who reads the record")
    refuse_overwrite(out, force)
    records = _records(account, ipfs_url, registry)
    rid = _record_id(record_id)
    who = holder or reader
    if not records.client.can_share(rid, reader):
        if account is None:
            raise InvalidInput(
                f"{reader} does not manage the patient's identity: pass --account {reader} "
                "so the read is checked against consent and recorded on chain"
            )
        records.read_access(rid, reader=account, purpose=purpose)
        recorded = True
    else:
        recorded = False
    private = _private_key(records, rid, who, key_file, keys_dir, passphrase)
    with progress(None, not as_json) as advance:
        records.get(rid, recipient=who, private_key=private, out=out, progress=advance)
    emit({"record_id": rid, "written": out, "bytes": out.stat().st_size,
          "access_recorded": recorded}, as_json)  # fmt: skip


@record_command("share")
@click.argument("record_id")
@key_options
@click.option("--to", "recipient", required=True,
              help="did:ethr:0x... or 0xADDR=X25519PUBHEX[#kid].")  # fmt: skip
@click.option("--as", "holder", default=None,
              help="Whose envelope to open (default: --account; e.g. the patient's address "
                   "when its new DID owner shares).")  # fmt: skip
@purpose_option
@ipfs_option
def share(account: Any, record_id: str, key_file: Path | None, keys_dir: Path | None,
          passphrase: str | None, recipient: str, holder: str | None, purpose: str,
          ipfs_url: str | None, registry: ContractChoice, as_json: bool) -> None:  # fmt: skip
    """Wrap RECORD_ID's data key for another recipient and anchor the envelope.

    Refused unless the recipient holds current read consent for the record's type and
    --purpose (or manages the patient's identity): a key once shared cannot be recalled."""
    sender = require_account(account)
    records = _records(sender, ipfs_url, registry)
    rid = _record_id(record_id)
    targets = parse_recipient(recipient, _did_resolver(records))  # every key of one DID
    records.check_share(rid, targets[0].address, purpose=purpose)
    who = holder or sender.address
    private = _private_key(records, rid, who, key_file, keys_dir, passphrase)
    cids = [str(records.share(rid, holder=who, private_key=private, recipient=targets))]
    emit({"record_id": rid, "envelopes": cids}, as_json)


@record_command("verify")
@click.argument("record_id")
@ipfs_option
def verify(account: Any, record_id: str, ipfs_url: str | None, registry: ContractChoice,
           as_json: bool) -> None:  # fmt: skip
    """Check RECORD_ID's integrity without any key."""
    report = _records(account, ipfs_url, registry).verify(_record_id(record_id))
    emit({"record_id": report.record_id, "cid": str(report.cid), "ok": True,
          "ciphertext_bytes": report.ciphertext_size, "plaintext_bytes": report.plaintext_size,
          "checks": report.checks}, as_json)  # fmt: skip


@record_command("resume")
@click.argument("record_id", required=False)
@click.option("--discard", "discard", default=None, metavar="ID",
              help="Drop journal entry ID (and its ciphertext spool) instead of finishing it.")  # fmt: skip
@ipfs_option
def resume(account: Any, record_id: str | None, discard: str | None, ipfs_url: str | None,
           registry: ContractChoice, as_json: bool) -> None:  # fmt: skip
    """Finish interrupted puts from the journal (all pending ones without RECORD_ID), or
    drop one that can never finish with --discard ID."""
    if discard is not None:
        from medchain.records import Journal

        entry = Journal().discard(discard if discard.startswith("0x") else "0x" + discard)
        emit({"discarded": entry.record_id, "step": entry.step}, as_json)
        return
    sender = require_account(account)
    records = _records(sender, ipfs_url, registry)
    if record_id:
        result = records.resume(record_id if record_id.startswith("0x") else "0x" + record_id,
                                sender=sender)  # fmt: skip
        emit({"resumed": [{"record_id": result.record_id, "cid": str(result.cid)}],
              "failed": []}, as_json)  # fmt: skip
        return
    # Every pending entry gets its turn: one that cannot finish does not block the rest.
    done, failed = [], []
    for entry in records.pending():
        try:
            result = records.resume(entry.record_id, sender=sender)
        except MedchainError as exc:
            failed.append({"record_id": entry.record_id, "error": str(exc)})
            continue
        done.append({"record_id": result.record_id, "cid": str(result.cid)})
    emit({"resumed": done, "failed": failed}, as_json)
    if failed:
        fail(f"{len(failed)} journal entr{'y' if len(failed) == 1 else 'ies'} could not finish "
             f"(first: {failed[0]['record_id']}: {failed[0]['error']}); fix the cause and run "
             "`medchain record resume` again, or drop one with `--discard ID`")  # fmt: skip


@record_command("list")
@click.option("--patient", default=None, help="Patient address (default: --account).")
@ipfs_option
def list_(account: Any, patient: str | None, ipfs_url: str | None, registry: ContractChoice,
          as_json: bool) -> None:  # fmt: skip
    """A patient's anchored records, and puts still pending in the local journal."""
    who = _patient(patient, account)
    records = _records(account, ipfs_url, registry)
    anchored = [
        {"record_id": a.record_id, "type": scope_name(a.scope), "version": a.version,
         "cid": str(a.cid), "author": a.author, "anchored_at": a.anchored_at,
         "superseded_by": a.superseded_by if any(a.superseded_by) else None}
        for a in records.client.records_of(who)
    ]  # fmt: skip
    pending = [{"record_id": e.record_id, "step": e.step, "error": e.last_error}
               for e in records.pending()]  # fmt: skip
    emit({"patient": who, "records": anchored, "pending": pending}, as_json)


@record_command("audit")
@click.option("--patient", default=None, help="Patient address (default: --account).")
@click.option("--from-block", default=0, type=int, show_default=True)
def audit(account: Any, patient: str | None, from_block: int, registry: ContractChoice,
          as_json: bool) -> None:  # fmt: skip
    """A patient's record trail: anchors, shares (key envelopes) and recorded reads."""
    who = _patient(patient, account)
    trail = Records(registry.bind(account), open_store(None)).audit(who, from_block=from_block)
    emit({"patient": who, "events": trail}, as_json, human=_trail_lines)


def _trail_lines(result: dict[str, Any]) -> str:
    """One line per event of a record trail: block, event, then its details."""
    hidden = ("block", "log_index", "tx", "event")
    return "\n".join(
        f"{e['block']:>8}  {e['event']:<9} "
        + ", ".join(f"{k}={v}" for k, v in e.items() if k not in hidden)
        for e in result["events"]
    )


COMMANDS = [record]
