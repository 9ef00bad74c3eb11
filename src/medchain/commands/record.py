"""`medchain record put | get | share | verify | resume | list`: encrypted records on
IPFS (embedded store, or a Kubo/js-ipfs node with --ipfs / $MEDCHAIN_IPFS_API) anchored
in RecordRegistry. Large files show progress bars; plaintext stays in this process."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from medchain.cli_base import connected_command, emit, json_option, require_account
from medchain.errors import InvalidInput
from medchain.records import Recipient, Records, RecordsClient, recipients_for, scope_name
from medchain.storage import open_store

_BAR_THRESHOLD = 8 * 1024 * 1024  # show progress bars from this size on


@click.group()
def record() -> None:
    """Encrypted health records: IPFS content anchored on chain."""


ipfs_option = click.option(
    "--ipfs", "ipfs_url", default=None, envvar="MEDCHAIN_IPFS_API",
    help="Kubo RPC API URL (default: the embedded store under $MEDCHAIN_HOME/ipfs).",
)  # fmt: skip
registry_option = click.option(
    "--registry", default=None, help="RecordRegistry address (default: the address book)."
)


def key_options(fn: Any) -> Any:
    fn = click.option(
        "--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
        help="X25519 private key file (32 raw bytes, 64 hex characters or PEM); default: the "
             "key store entry matching the record's envelope.",
    )(fn)  # fmt: skip
    fn = click.option("--keys-dir", type=click.Path(file_okay=False, path_type=Path),
                      default=None, help="Key store folder (default: $MEDCHAIN_HOME/keys).")(fn)  # fmt: skip
    return click.option("--passphrase", envvar="MEDCHAIN_KEY_PASSPHRASE", default=None,
                        help="Passphrase of a protected stored key.")(fn)  # fmt: skip


def _records(account: Any, ipfs_url: str | None, registry: str | None) -> Records:
    client = (
        RecordsClient.at(registry, sender=account) if registry
        else RecordsClient.connect(sender=account)
    )  # fmt: skip
    return Records(client, open_store(ipfs_url))


def _did_registry(records: Records) -> str:
    """The DID registry this RecordRegistry consults: keys are resolved on the same one."""
    return str(records.client.call("didRegistry"))


def _private_key(records: Records, rid: bytes, holder: str, key_file: Path | None,
                 keys_dir: Path | None, passphrase: str | None) -> Any:  # fmt: skip
    """The key given, or the stored key matching the public key of `holder`'s envelope."""
    if key_file is not None:
        return load_private_key(key_file)
    from medchain.crypto import KeyEnvelope
    from medchain.identity import format_did
    from medchain.keystore import KeyStore
    from medchain.records import NoEnvelope

    env_cid = records.client.envelope_of(rid, holder)
    if env_cid is None:
        raise NoEnvelope(f"record 0x{rid.hex()} has no key envelope for {holder}")
    envelope = KeyEnvelope.from_bytes(records.store.cat(env_cid))
    did = format_did(holder, records.chain_id)
    return KeyStore(keys_dir).load(did, envelope.recipient_public_key, passphrase)


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


@contextlib.contextmanager
def _progress(total: int | None, show: bool) -> Iterator[Any]:
    if not show:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )  # fmt: skip

    columns = (TextColumn("{task.description:>8}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn())  # fmt: skip
    with Progress(*columns, transient=True) as bars:
        tasks: dict[str, Any] = {}

        def advance(stage: str, n: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.advance(tasks[stage], n)

        yield advance


@connected_command(record, "put")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--patient", default=None, help="Patient address (default: --account).")
@click.option("--type", "scope", default="Observation", show_default=True,
              help="Record type code, e.g. a FHIR resource type.")  # fmt: skip
@click.option("--to", "recipients", multiple=True, required=True,
              help="Recipient: did:ethr:0x... or 0xADDR=X25519PUBHEX[#kid]; repeatable. "
                   "Include the patient.")  # fmt: skip
@click.option("--schema-version", default=1, show_default=True, type=int)
@click.option("--supersedes", default=None, help="Record id this one corrects.")
@ipfs_option
@registry_option
@json_option
def put(account: Any, path: Path, patient: str | None, scope: str, recipients: tuple[str, ...],
        schema_version: int, supersedes: str | None, ipfs_url: str | None,
        registry: str | None, as_json: bool) -> None:  # fmt: skip
    """Encrypt PATH, store and pin it, and anchor it for the patient."""
    sender = require_account(account)
    records = _records(sender, ipfs_url, registry)
    wanted = [r for spec in recipients for r in parse_recipient(spec, _did_registry(records))]
    size = path.stat().st_size
    with _progress(size, size >= _BAR_THRESHOLD and not as_json) as advance:
        result = records.put(
            path, patient=patient or sender.address, scope=scope, recipients=wanted,
            schema_version=schema_version,
            supersedes=_record_id(supersedes) if supersedes else None, progress=advance,
        )  # fmt: skip
    emit({"record_id": result.record_id, "cid": str(result.cid), "sha256": result.content_hash,
          "ciphertext_bytes": result.size, "version": result.version,
          "envelopes": {k: str(v) for k, v in result.envelopes.items()},
          "transaction": result.transaction}, as_json)  # fmt: skip


@connected_command(record, "get")
@click.argument("record_id")
@key_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the plaintext (written only if every check passes).")  # fmt: skip
@click.option("--as", "holder", default=None, help="Whose envelope to open (default: --account).")
@ipfs_option
@registry_option
@json_option
def get(account: Any, record_id: str, key_file: Path | None, keys_dir: Path | None,
        passphrase: str | None, out: Path, holder: str | None, ipfs_url: str | None,
        registry: str | None, as_json: bool) -> None:  # fmt: skip
    """Fetch, verify and decrypt RECORD_ID into --out."""
    who = holder or (account.address if account is not None else None)
    if who is None:
        raise InvalidInput("pass --as <address> or --account to say whose envelope to open")
    records = _records(account, ipfs_url, registry)
    rid = _record_id(record_id)
    private = _private_key(records, rid, who, key_file, keys_dir, passphrase)
    with _progress(None, not as_json) as advance:
        records.get(rid, recipient=who, private_key=private, out=out, progress=advance)
    emit({"record_id": rid, "written": out, "bytes": out.stat().st_size}, as_json)


@connected_command(record, "share")
@click.argument("record_id")
@key_options
@click.option("--to", "recipient", required=True,
              help="did:ethr:0x... or 0xADDR=X25519PUBHEX[#kid].")  # fmt: skip
@ipfs_option
@registry_option
@json_option
def share(account: Any, record_id: str, key_file: Path | None, keys_dir: Path | None,
          passphrase: str | None, recipient: str, ipfs_url: str | None, registry: str | None,
          as_json: bool) -> None:  # fmt: skip
    """Wrap RECORD_ID's data key for another recipient and anchor the envelope."""
    sender = require_account(account)
    records = _records(sender, ipfs_url, registry)
    rid = _record_id(record_id)
    private = _private_key(records, rid, sender.address, key_file, keys_dir, passphrase)
    cids = [
        str(records.share(rid, holder=sender.address, private_key=private, recipient=r))
        for r in parse_recipient(recipient, _did_registry(records))
    ]
    emit({"record_id": rid, "envelopes": cids}, as_json)


@connected_command(record, "verify")
@click.argument("record_id")
@ipfs_option
@registry_option
@json_option
def verify(account: Any, record_id: str, ipfs_url: str | None, registry: str | None,
           as_json: bool) -> None:  # fmt: skip
    """Check RECORD_ID's integrity without any key."""
    report = _records(account, ipfs_url, registry).verify(_record_id(record_id))
    emit({"record_id": report.record_id, "cid": str(report.cid), "ok": True,
          "ciphertext_bytes": report.ciphertext_size, "plaintext_bytes": report.plaintext_size,
          "checks": report.checks}, as_json)  # fmt: skip


@connected_command(record, "resume")
@click.argument("record_id", required=False)
@ipfs_option
@registry_option
@json_option
def resume(account: Any, record_id: str | None, ipfs_url: str | None, registry: str | None,
           as_json: bool) -> None:  # fmt: skip
    """Finish interrupted puts from the journal (all pending ones without RECORD_ID)."""
    sender = require_account(account)
    records = _records(sender, ipfs_url, registry)
    ids = [record_id] if record_id else [e.record_id for e in records.pending()]
    done = []
    for rid in ids:
        result = records.resume(rid if rid.startswith("0x") else "0x" + rid)
        done.append({"record_id": result.record_id, "cid": str(result.cid)})
    emit({"resumed": done}, as_json)


@connected_command(record, "list")
@click.option("--patient", default=None, help="Patient address (default: --account).")
@ipfs_option
@registry_option
@json_option
def list_(account: Any, patient: str | None, ipfs_url: str | None, registry: str | None,
          as_json: bool) -> None:  # fmt: skip
    """A patient's anchored records, and puts still pending in the local journal."""
    who = patient or (account.address if account is not None else None)
    if who is None:
        raise InvalidInput("pass --patient <address> or --account")
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


COMMANDS = [record]
