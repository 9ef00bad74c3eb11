"""`medchain consent ...` and `medchain breakglass ...`: patient consent on the
ConsentRegistry (grant, revoke, list, check, sign, relay, audit, FHIR import/export) and
the break-glass episode (request, approve, close, review, status).

Scopes are labels ("Observation", "category:laboratory", "*"); actions read|write|share
(comma-separated or "all"); purposes HL7 PurposeOfUse codes (TREAT, ETREAT, HRESCH, ...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from medchain.cli.base import (
    connected_command,
    emit,
    json_option,
    read_json_file,
    require_account,
)
from medchain.errors import InvalidInput, MedchainError
from medchain.timeutil import unix_seconds

DAY = 86_400


@click.group()
def consent() -> None:
    """Patient consent: who may do what with which data, for which purpose, until when."""


@click.group()
def breakglass() -> None:
    """Emergency access: request, M-of-N approval, automatic expiry, mandatory review."""


COMMANDS = [consent, breakglass]


# ---------------------------------------------------------------------- helpers
def _registry_option(fn: Any) -> Any:
    return click.option(
        "--registry",
        "registry_address",
        default=None,
        help="ConsentRegistry address (default: the address book of the connected network).",
    )(fn)


def _client(registry_address: str | None, account: Any = None) -> Any:
    from medchain.consent import ConsentClient

    if registry_address:
        return ConsentClient.at(registry_address, account)
    return ConsentClient.connect(sender=account)


def _now() -> int:
    from ape import chain

    return int(chain.pending_timestamp)


def _time(value: str | None, default: int) -> int:
    """Unix seconds from an ISO date/time, '+30d' / '+12h' relative to chain time, or digits."""
    if value is None:
        return default
    text = value.strip()
    if text.startswith("+") and text[-1] in "dhm" and text[1:-1].isdigit():
        unit = {"d": DAY, "h": 3600, "m": 60}[text[-1]]
        return _now() + int(text[1:-1]) * unit
    return unix_seconds(text, "time (or +30d / +12h from now)")


def _patient(patient: str | None, account: Any) -> str:
    """The patient's address; a did:ethr must name the connected chain."""
    from medchain.consent.client import _addr

    if patient is None:
        return str(require_account(account).address)
    return _addr(patient)


def _notes_option(fn: Any) -> Any:
    return click.option(
        "--notes-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where the text is kept with its salt (default $MEDCHAIN_NOTES or .medchain/notes).",
    )(fn)


def _provision_options(fn: Any) -> Any:
    fn = click.option("--deny", is_flag=True, help="A deny provision (overrides permits).")(fn)
    fn = click.option("--until", default=None, help="End: ISO time, +30d, +12h (default: open).")(
        fn
    )
    fn = click.option("--start", default=None, help="Start: ISO time, +1d (default: now).")(fn)
    fn = click.option("--purpose", "purposes", default="TREAT", show_default=True)(fn)
    fn = click.option("--actions", default="read", show_default=True)(fn)
    fn = click.option("--scope", required=True, help='"Observation", "category:laboratory", "*"')(
        fn
    )
    fn = click.option("--grantee", required=True, help="Address or did:ethr of the grantee.")(fn)
    fn = click.option(
        "--patient", default=None, help="Patient (default: --account; a delegate names it)."
    )(fn)
    return fn


def _force_option(fn: Any) -> Any:
    return click.option("--force", is_flag=True, help="Overwrite --out if it exists.")(fn)


def _refuse_overwrite(path: Path | None, force: bool) -> None:
    if path is not None and path.exists() and not force:
        raise InvalidInput(f"{path} exists; pass --force to overwrite it")


def _receipt(receipt: Any) -> dict[str, Any]:
    return {
        "tx": str(receipt.txn_hash),
        "block": int(receipt.block_number),
        "gas": int(receipt.gas_used),
    }


# ---------------------------------------------------------------------- consent
@connected_command(consent, "grant")
@_provision_options
@_registry_option
@json_option
def grant_cmd(
    account: Any,
    patient: str | None,
    grantee: str,
    scope: str,
    actions: str,
    purposes: str,
    start: str | None,
    until: str | None,
    deny: bool,
    registry_address: str | None,
    as_json: bool,
) -> None:
    """Permit (or --deny) GRANTEE to do ACTIONS on SCOPE for PURPOSE until a time."""
    from medchain.consent.client import _addr
    from medchain.consent.model import OPEN_END

    sender = require_account(account)
    client = _client(registry_address, sender)
    receipt = client.grant(
        _patient(patient, sender),
        _addr(grantee),
        scope,
        actions,
        purposes,
        _time(start, 0),
        _time(until, OPEN_END),
        deny=deny,
    )
    emit(_receipt(receipt), as_json)


@connected_command(consent, "revoke")
@click.option("--patient", default=None)
@click.option("--grantee", required=True)
@click.option("--scope", required=True)
@click.option("--deny", is_flag=True, help="Lift a deny provision instead of a permit.")
@_registry_option
@json_option
def revoke_cmd(
    account: Any,
    patient: str | None,
    grantee: str,
    scope: str,
    deny: bool,
    registry_address: str | None,
    as_json: bool,
) -> None:
    """Remove a permit (or, with --deny, a deny). Stops new accesses and key deliveries;
    it cannot recall data already decrypted."""
    sender = require_account(account)
    client = _client(registry_address, sender)
    receipt = client.revoke(_patient(patient, sender), grantee, scope, deny=deny)
    emit(_receipt(receipt), as_json)


@connected_command(consent, "list")
@click.option("--patient", default=None)
@click.option("--from-block", default=0, show_default=True)
@click.option(
    "--fhir", "as_fhir", is_flag=True, help="Print the grants as a FHIR R4 Consent resource."
)
@_registry_option
@json_option
def list_cmd(
    account: Any,
    patient: str | None,
    from_block: int,
    as_fhir: bool,
    registry_address: str | None,
    as_json: bool,
) -> None:
    """A patient's stored provisions with their status ("active", "expired" or
    "not-yet-started") at the wall clock; `status_at_last_block` is the chain's view, which
    lags on an idle chain (or their FHIR R4 Consent export)."""
    import time

    from ape import chain

    from medchain.consent import export_consent

    client = _client(registry_address)
    who = _patient(patient, account)
    grants = client.grants_of(who, from_block=from_block)
    if as_fhir:
        resource = export_consent(grants, patient=who, chain_id=int(chain.provider.chain_id))
        click.echo(json.dumps(resource, indent=2))
        return
    now, block_time = int(time.time()), int(chain.blocks.head.timestamp)
    emit(
        [
            {
                **g.to_json(),
                "status": g.status_at(now),
                "status_at_last_block": g.status_at(block_time),
            }
            for g in grants
        ],
        as_json,
    )


@connected_command(consent, "import")
@click.argument("resource", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only show the grants the resource expresses.")
@_registry_option
@json_option
def import_cmd(
    account: Any, resource: Path, dry_run: bool, registry_address: str | None, as_json: bool
) -> None:
    """Apply a FHIR R4 Consent resource (JSON) as grants (one transaction each)."""
    from ape import chain

    from medchain.consent import import_consent

    doc = read_json_file(resource, "FHIR Consent resource")
    try:
        grants = import_consent(doc, chain_id=int(chain.provider.chain_id))
    except MedchainError as exc:
        raise type(exc)(f"{resource}: {exc}") from None
    if dry_run:
        emit([g.to_json() for g in grants], as_json)
        return
    client = _client(registry_address, require_account(account))
    receipts = client.apply(grants)
    emit([{**g.to_json(), **_receipt(r)} for g, r in zip(grants, receipts, strict=True)], as_json)


@connected_command(consent, "check")
@click.option("--patient", required=True)
@click.option("--grantee", required=True)
@click.option("--scope", required=True)
@click.option("--action", default="read", show_default=True)
@click.option("--purpose", default="TREAT", show_default=True)
@_registry_option
@json_option
def check_cmd(
    account: Any,
    patient: str,
    grantee: str,
    scope: str,
    action: str,
    purpose: str,
    registry_address: str | None,
    as_json: bool,
) -> None:
    """Whether GRANTEE may now do ACTION on SCOPE of PATIENT for PURPOSE. `allowed` holds
    only if it holds both at the last block's time (the chain's answer) and at the wall
    clock (an idle chain's last block can be hours old: a grant that ended since is over).
    Both answers and both times are printed."""
    client = _client(registry_address)
    emit(client.check_now(patient, grantee, scope, action, purpose), as_json)


@connected_command(consent, "invalidate")
@click.option("--patient", default=None)
@click.option("--grantee", required=True)
@click.option("--scope", required=True)
@_registry_option
@json_option
def invalidate_cmd(
    account: Any,
    patient: str | None,
    grantee: str,
    scope: str,
    registry_address: str | None,
    as_json: bool,
) -> None:
    """Void every signed but not yet relayed grant or revocation for GRANTEE and SCOPE."""
    sender = require_account(account)
    client = _client(registry_address, sender)
    receipt = client.invalidate_signatures(_patient(patient, sender), grantee, scope)
    emit(_receipt(receipt), as_json)


@connected_command(consent, "sign")
@_provision_options
@click.option("--revoke", "revocation", is_flag=True, help="Sign a revocation instead.")
@click.option("--ttl", default=3600, show_default=True, help="Seconds until the deadline.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@_force_option
@_registry_option
@json_option
def sign_cmd(
    account: Any,
    patient: str | None,
    grantee: str,
    scope: str,
    actions: str,
    purposes: str,
    start: str | None,
    until: str | None,
    deny: bool,
    revocation: bool,
    ttl: int,
    out_path: Path | None,
    force: bool,
    registry_address: str | None,
    as_json: bool,
) -> None:
    """Sign (EIP-712, no gas) a grant or revocation for anyone to relay: the signed
    message (JSON) on stdout, or in --out."""
    from medchain.consent.client import signed_kind
    from medchain.consent.model import OPEN_END

    _refuse_overwrite(out_path, force)
    signer = require_account(account)
    client = _client(registry_address)
    who = _patient(patient, signer)
    deadline = _now() + ttl
    if revocation:
        signed = client.sign_revocation(signer, who, grantee, scope, deny=deny, deadline=deadline)
    else:
        signed = client.sign_grant(
            signer,
            who,
            grantee,
            scope,
            actions,
            purposes,
            _time(start, 0),
            _time(until, OPEN_END),
            deny=deny,
            deadline=deadline,
        )
    text = json.dumps(signed.to_dict(), indent=2)
    if out_path:
        out_path.write_text(text + "\n")
        emit(
            {"signed": signed_kind(signed), "out": str(out_path)},
            as_json,
            human=lambda r: f"signed {r['signed']} written to {r['out']}",
        )
    else:
        click.echo(text)


@connected_command(consent, "relay")
@click.argument("signed_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_registry_option
@json_option
def relay_cmd(account: Any, signed_file: Path, registry_address: str | None, as_json: bool) -> None:
    """Submit a signed grant or revocation (the relayer pays the gas)."""
    from medchain.consent import read_signed_change

    doc = read_json_file(signed_file, "signed consent message (from `medchain consent sign`)")
    try:
        signed = read_signed_change(doc)
    except MedchainError as exc:
        raise InvalidInput(f"{signed_file}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(
            f"{signed_file}: not a signed consent message (from `medchain consent sign`): "
            f"{type(exc).__name__} {exc}"
        ) from None
    client = _client(registry_address or signed.domain.verifying_contract, require_account(account))
    emit(_receipt(client.relay(signed)), as_json)


@connected_command(consent, "audit")
@click.option("--patient", default=None)
@click.option("--from-block", default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@_force_option
@_registry_option
@json_option
def audit_cmd(
    account: Any,
    patient: str | None,
    from_block: int,
    fmt: str,
    out_path: Path | None,
    force: bool,
    registry_address: str | None,
    as_json: bool,
) -> None:
    """A patient's full trail: grants, revocations, accesses and break-glass, as JSON
    (also with --json) or CSV, on stdout or in --out."""
    from medchain.consent import audit_csv

    _refuse_overwrite(out_path, force)
    if as_json and fmt == "csv" and out_path is None:
        raise InvalidInput("--json and --format csv ask for two formats on stdout: pick one")
    client = _client(registry_address)
    events = client.audit(_patient(patient, account), from_block=from_block)
    text = (
        audit_csv(events)
        if fmt == "csv"
        else json.dumps([e.to_json() for e in events], indent=2) + "\n"
    )
    if out_path:
        out_path.write_text(text)
        emit(
            {"events": len(events), "format": fmt, "out": str(out_path)},
            as_json,
            human=lambda r: f"{r['events']} events written to {r['out']}",
        )
    else:
        click.echo(text, nl=False)


# ---------------------------------------------------------------------- break-glass
@connected_command(breakglass, "request")
@click.option("--patient", required=True)
@click.option(
    "--reason",
    required=True,
    help="Clinical reason: only a salted commitment goes on chain; text + salt stay in --notes-dir.",
)
@click.option("--duration", default="4h", show_default=True, help="e.g. 30m, 4h (max 24h).")
@_notes_option
@_registry_option
@json_option
def request_cmd(
    account: Any,
    patient: str,
    reason: str,
    duration: str,
    notes_dir: Path | None,
    registry_address: str | None,
    as_json: bool,
) -> None:
    """Ask for emergency access to PATIENT's record (needs CLINICIAN_ROLE)."""
    from medchain.consent import NoteStore

    seconds = _duration(duration)
    client = _client(registry_address, require_account(account))
    notes = NoteStore(notes_dir)
    episode = client.request_break_glass(_patient(patient, None), reason, seconds, notes=notes)
    note = notes.path(client.note_name("reason", episode))
    emit({"episode": episode, "duration": seconds, "reason_note": str(note)}, as_json)


def _duration(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": DAY}
    value = text.strip()
    if value.isdigit():
        return int(value)
    if value[-1:] in units and value[:-1].isdigit():
        return int(value[:-1]) * units[value[-1]]
    raise InvalidInput(f"duration '{text}' is not like 30m, 4h or 3600")


@connected_command(breakglass, "approve")
@click.argument("episode", type=int)
@_registry_option
@json_option
def approve_cmd(account: Any, episode: int, registry_address: str | None, as_json: bool) -> None:
    """Approve an episode (needs EMERGENCY_APPROVER_ROLE)."""
    client = _client(registry_address, require_account(account))
    client.approve_break_glass(episode)
    emit(client.episode(episode), as_json)


@connected_command(breakglass, "cancel")
@click.argument("episode", type=int)
@_registry_option
@json_option
def cancel_cmd(account: Any, episode: int, registry_address: str | None, as_json: bool) -> None:
    """Withdraw a pending request (its clinician, a privacy officer or the admin)."""
    client = _client(registry_address, require_account(account))
    client.episode(episode)  # a clear line for an unknown id
    client.cancel_break_glass(episode)
    emit(client.episode(episode), as_json)


@connected_command(breakglass, "close")
@click.argument("episode", type=int)
@_registry_option
@json_option
def close_cmd(account: Any, episode: int, registry_address: str | None, as_json: bool) -> None:
    """End an active emergency access early: the clinician's own, or any (privacy officer,
    admin: misuse, off-boarding). The episode still awaits its review."""
    client = _client(registry_address, require_account(account))
    client.close_break_glass(episode)
    emit(client.episode(episode), as_json)


@connected_command(breakglass, "review")
@click.argument("episode", type=int)
@click.option("--accept/--flag", "accepted", required=True, help="Justified, or flagged.")
@click.option(
    "--notes",
    required=True,
    help="Review notes: only a salted commitment goes on chain; text + salt stay in --notes-dir.",
)
@_notes_option
@_registry_option
@json_option
def review_cmd(
    account: Any,
    episode: int,
    accepted: bool,
    notes: str,
    notes_dir: Path | None,
    registry_address: str | None,
    as_json: bool,
) -> None:
    """Record the post-event review (needs PRIVACY_OFFICER_ROLE)."""
    from medchain.consent import NoteStore

    client = _client(registry_address, require_account(account))
    store = NoteStore(notes_dir)
    client.review_break_glass(episode, accepted, notes, notes=store)
    note = store.path(client.note_name("review", episode))
    emit({**client.episode(episode), "review_note": str(note)}, as_json)


@connected_command(breakglass, "status")
@click.argument("episode", type=int, required=False)
@_registry_option
@json_option
def status_cmd(
    account: Any, episode: int | None, registry_address: str | None, as_json: bool
) -> None:
    """One episode, or every episode still awaiting review."""
    client = _client(registry_address)
    if episode is not None:
        emit(client.episode(episode), as_json)
    else:
        emit(
            {
                "awaiting_review": client.awaiting_review(),
                "episodes": client.episodes_awaiting_review(),
            },
            as_json,
        )


ROLE_NAMES = {
    "clinician": "CLINICIAN_ROLE",
    "approver": "EMERGENCY_APPROVER_ROLE",
    "privacy-officer": "PRIVACY_OFFICER_ROLE",
}


@connected_command(breakglass, "grant-role")
@click.option("--role", type=click.Choice(sorted(ROLE_NAMES)), required=True)
@click.option("--to", "member", required=True, help="Address that receives the role.")
@_registry_option
@json_option
def grant_role_cmd(
    account: Any, role: str, member: str, registry_address: str | None, as_json: bool
) -> None:
    """Give an account a break-glass role (default admin only)."""
    from medchain.consent.model import address_of

    client = _client(registry_address, require_account(account))
    role_id = client.call(ROLE_NAMES[role])
    receipt = client.transact("grantRole", role_id, address_of(member, "--to"))
    emit({"role": role, "member": address_of(member), **_receipt(receipt)}, as_json)


@connected_command(breakglass, "set-threshold")
@click.argument("threshold", type=int)
@_registry_option
@json_option
def set_threshold_cmd(
    account: Any, threshold: int, registry_address: str | None, as_json: bool
) -> None:
    """Set how many emergency approvals activate an episode (default admin only)."""
    client = _client(registry_address, require_account(account))
    emit(_receipt(client.transact("setBreakGlassThreshold", threshold)), as_json)
