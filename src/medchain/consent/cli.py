"""`medchain consent ...` and `medchain breakglass ...`: patient consent on the
ConsentRegistry (grant, revoke, list, check, sign, relay, audit, FHIR import/export,
migration to a new version) and the break-glass episode (request, approve, close,
review, status).

Scopes are labels ("Observation", "category:laboratory", "*"); actions read|write|share
(comma-separated or "all"); purposes HL7 PurposeOfUse codes (TREAT, ETREAT, HRESCH, ...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from medchain.cli.options import (
    DURATION,
    FILE,
    FOLDER,
    IN_FILE,
    TIME,
    ContractChoice,
    connected_command,
    contract_commands,
    contract_option,
    force_option,
    in_file,
    read_json_file,
    refuse_overwrite,
    require_account,
)
from medchain.cli.render import emit, emit_document
from medchain.consent.client import ConsentClient, signed_kind
from medchain.errors import InvalidInput, MedchainError


@click.group()
def consent() -> None:
    """Patient consent: who may do what with which data, for which purpose, until when."""


@click.group()
def breakglass() -> None:
    """Emergency access: request, M-of-N approval, automatic expiry, mandatory review."""


COMMANDS = [consent, breakglass]


# ---------------------------------------------------------------------- helpers
registry_option = contract_option("registry", ConsentClient)
consent_command = contract_commands(consent, registry_option)
breakglass_command = contract_commands(breakglass, registry_option)


def _patient(patient: str | None, account: Any) -> str:
    """The patient's address; a did:ethr must name the connected chain."""
    from medchain.consent.client import _addr

    if patient is None:
        return str(require_account(account).address)
    return _addr(patient)


_notes_option = click.option(
    "--notes-dir",
    type=FOLDER,
    default=None,
    help="Where the text is kept with its salt (default $MEDCHAIN_NOTES or .medchain/notes).",
)


def _provision_options(fn: Any) -> Any:
    """The options naming one provision; the command receives them as `**provision`
    (read with `_provision`)."""
    fn = click.option("--deny", is_flag=True, help="A deny provision (overrides permits).")(fn)
    fn = click.option("--until", type=TIME, default=None, help="End: ISO time, +30d, +12h (default: open).")(fn)  # fmt: skip
    fn = click.option("--start", type=TIME, default=None, help="Start: ISO time, +1d (default: now).")(fn)  # fmt: skip
    fn = click.option("--purpose", "purposes", default="TREAT", show_default=True)(fn)
    fn = click.option("--actions", default="read", show_default=True)(fn)
    fn = click.option("--scope", required=True, help='"Observation", "category:laboratory", "*"')(fn)  # fmt: skip
    fn = click.option("--grantee", required=True, help="Address or did:ethr of the grantee.")(fn)
    return click.option(
        "--patient", default=None, help="Patient (default: --account; a delegate names it)."
    )(fn)


def _provision(options: dict[str, Any], sender: Any) -> dict[str, Any]:
    """The `_provision_options` values as ConsentClient arguments (times on chain time)."""
    from medchain.consent.client import _addr
    from medchain.consent.model import OPEN_END

    start, until = options["start"], options["until"]
    return {
        "patient": _patient(options["patient"], sender),
        "grantee": _addr(options["grantee"]),
        "scope": options["scope"],
        "actions": options["actions"],
        "purposes": options["purposes"],
        "start": start.on_chain() if start else 0,
        "end": until.on_chain() if until else OPEN_END,
        "deny": options["deny"],
    }


def _receipt(receipt: Any) -> dict[str, Any]:
    return {
        "tx": str(receipt.txn_hash),
        "block": int(receipt.block_number),
        "gas": int(receipt.gas_used),
    }


# ---------------------------------------------------------------------- consent
@consent_command("grant")
@_provision_options
def grant_cmd(account: Any, registry: ContractChoice, as_json: bool, **provision: Any) -> None:
    """Permit (or --deny) GRANTEE to do ACTIONS on SCOPE for PURPOSE until a time."""
    sender = require_account(account)
    receipt = registry.bind(sender).grant(**_provision(provision, sender))
    emit(_receipt(receipt), as_json)


@consent_command("revoke")
@click.option("--patient", default=None)
@click.option("--grantee", required=True)
@click.option("--scope", required=True)
@click.option("--deny", is_flag=True, help="Lift a deny provision instead of a permit.")
def revoke_cmd(
    account: Any,
    patient: str | None,
    grantee: str,
    scope: str,
    deny: bool,
    registry: ContractChoice,
    as_json: bool,
) -> None:
    """Remove a permit (or, with --deny, a deny). Stops new accesses and key deliveries;
    it cannot recall data already decrypted."""
    sender = require_account(account)
    client = registry.bind(sender)
    receipt = client.revoke(_patient(patient, sender), grantee, scope, deny=deny)
    emit(_receipt(receipt), as_json)


@consent_command("list")
@click.option("--patient", default=None, help="Whose grants (default: --account).")
@click.option(
    "--grantee",
    default=None,
    help="List the grants naming this address or DID, of every patient, instead.",
)
@click.option("--from-block", default=0, show_default=True)
@click.option(
    "--fhir", "as_fhir", is_flag=True, help="Print the grants as a FHIR R4 Consent resource."
)
def list_cmd(
    account: Any,
    patient: str | None,
    grantee: str | None,
    from_block: int,
    as_fhir: bool,
    registry: ContractChoice,
    as_json: bool,
) -> None:
    """A patient's stored provisions (or, with --grantee, those naming a grantee) with their
    status ("active", "expired" or "not-yet-started") at the wall clock;
    `status_at_last_block` is the chain's view, which lags on an idle chain (or their FHIR R4
    Consent export). With MEDCHAIN_INDEX the events come from the index."""
    import time

    from ape import chain

    from medchain.consent import export_consent

    client = registry.bind()
    if grantee is not None:
        if patient is not None or as_fhir:
            raise InvalidInput("--grantee lists every patient's grants: drop --patient/--fhir")
        grants = client.grants_to(_patient(grantee, account), from_block=from_block)
    else:
        who = _patient(patient, account)
        grants = client.grants_of(who, from_block=from_block)
    if as_fhir:
        resource = export_consent(grants, patient=who, chain_id=int(chain.provider.chain_id))
        emit(resource, human=lambda doc: json.dumps(doc, indent=2))
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


@consent_command("import")
@click.argument("resource", type=IN_FILE)
@click.option("--dry-run", is_flag=True, help="Only show the grants the resource expresses.")
def import_cmd(
    account: Any, resource: Path, dry_run: bool, registry: ContractChoice, as_json: bool
) -> None:
    """Apply a FHIR R4 Consent resource (JSON) as grants (one transaction each)."""
    from ape import chain

    from medchain.consent import import_consent

    doc = read_json_file(resource, "FHIR Consent resource")
    grants = in_file(resource, lambda: import_consent(doc, chain_id=int(chain.provider.chain_id)))
    if dry_run:
        emit([g.to_json() for g in grants], as_json)
        return
    client = registry.bind(require_account(account))
    receipts = client.apply(grants)
    emit([{**g.to_json(), **_receipt(r)} for g, r in zip(grants, receipts, strict=True)], as_json)


@consent_command("check")
@click.option("--patient", required=True)
@click.option("--grantee", required=True)
@click.option("--scope", required=True)
@click.option("--action", default="read", show_default=True)
@click.option("--purpose", default="TREAT", show_default=True)
def check_cmd(
    account: Any,
    patient: str,
    grantee: str,
    scope: str,
    action: str,
    purpose: str,
    registry: ContractChoice,
    as_json: bool,
) -> None:
    """Whether GRANTEE may now do ACTION on SCOPE of PATIENT for PURPOSE. `allowed` holds
    only if it holds both at the last block's time (the chain's answer) and at the wall
    clock (an idle chain's last block can be hours old: a grant that ended since is over).
    Both answers and both times are printed."""
    client = registry.bind()
    emit(client.check_now(patient, grantee, scope, action, purpose), as_json)


@consent_command("invalidate")
@click.option("--patient", default=None)
@click.option("--grantee", required=True)
@click.option("--scope", required=True)
def invalidate_cmd(
    account: Any,
    patient: str | None,
    grantee: str,
    scope: str,
    registry: ContractChoice,
    as_json: bool,
) -> None:
    """Void every signed but not yet relayed grant or revocation for GRANTEE and SCOPE."""
    sender = require_account(account)
    client = registry.bind(sender)
    receipt = client.invalidate_signatures(_patient(patient, sender), grantee, scope)
    emit(_receipt(receipt), as_json)


@consent_command("sign")
@_provision_options
@click.option("--revoke", "revocation", is_flag=True, help="Sign a revocation instead.")
@click.option("--ttl", default=3600, show_default=True, help="Seconds until the deadline.")
@click.option("--out", "out_path", type=FILE, default=None)
@force_option
def sign_cmd(
    account: Any,
    revocation: bool,
    ttl: int,
    out_path: Path | None,
    force: bool,
    registry: ContractChoice,
    as_json: bool,
    **provision: Any,
) -> None:
    """Sign (EIP-712, no gas) a grant or revocation for anyone to relay: the signed
    message (JSON) on stdout, or in --out."""
    from ape import chain

    refuse_overwrite(out_path, force)
    signer = require_account(account)
    client = registry.bind()
    args = _provision(provision, signer)
    deadline = int(chain.pending_timestamp) + ttl
    if revocation:
        keep = ("patient", "grantee", "scope", "deny")
        signed = client.sign_revocation(signer, **{k: args[k] for k in keep}, deadline=deadline)
    else:
        signed = client.sign_grant(signer, **args, deadline=deadline)
    if out_path is None:
        emit(signed.to_dict(), human=lambda doc: json.dumps(doc, indent=2))
        return
    out_path.write_text(json.dumps(signed.to_dict(), indent=2) + "\n")
    emit(
        {"signed": signed_kind(signed), "out": str(out_path)},
        as_json,
        human=lambda r: f"signed {r['signed']} written to {r['out']}",
    )


@consent_command("relay")
@click.argument("signed_file", type=IN_FILE)
def relay_cmd(account: Any, signed_file: Path, registry: ContractChoice, as_json: bool) -> None:
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
    chosen = ContractChoice(ConsentClient, registry.address or signed.domain.verifying_contract)
    client = chosen.bind(require_account(account))
    emit(_receipt(client.relay(signed)), as_json)


@consent_command("audit")
@click.option("--patient", default=None)
@click.option("--from-block", default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--out", "out_path", type=FILE, default=None)
@force_option
def audit_cmd(
    account: Any,
    patient: str | None,
    from_block: int,
    fmt: str,
    out_path: Path | None,
    force: bool,
    registry: ContractChoice,
    as_json: bool,
) -> None:
    """A patient's full trail: grants, revocations, accesses and break-glass, as JSON
    (also with --json) or CSV, on stdout or in --out."""
    from medchain.consent import audit_csv

    refuse_overwrite(out_path, force)
    if as_json and fmt == "csv" and out_path is None:
        raise InvalidInput("--json and --format csv ask for two formats on stdout: pick one")
    client = registry.bind()
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
        emit_document(text)


@connected_command(consent, "migrate")
@click.option(
    "--from",
    "source",
    default=None,
    metavar="ADDRESS",
    help="The retired version (default: the address book's ConsentRegistry).",
)
@click.option(
    "--to",
    "target",
    required=True,
    metavar="ADDRESS",
    help="The new version (naming --from as its predecessor).",
)
@click.option("--from-block", default=0, show_default=True, help="First block of the old events.")
def migrate_cmd(
    account: Any, source: str | None, target: str, from_block: int, as_json: bool
) -> None:
    """Copy every provision and role of the old ConsentRegistry into the new one (which
    names it as predecessor), in block-sized batches, then verify both answer alike.
    Anyone may run it, again after the switch too: it carries over changes still sent to
    the old version. The address book moves by governance (docs/upgrades.md)."""
    from medchain.consent.migrate import migrate

    sender = require_account(account)
    old = ConsentClient.at(source) if source else ConsentClient.connect()
    new = ConsentClient.at(target)
    progress = None if as_json else click.echo  # --json prints the report alone
    report = migrate(old.contract, new.contract, sender, from_block=from_block, log=progress)
    emit(report.to_json(), as_json)


# ---------------------------------------------------------------------- break-glass
@breakglass_command("request")
@click.option("--patient", required=True)
@click.option(
    "--reason",
    required=True,
    help="Clinical reason: only a salted commitment goes on chain; text + salt stay in --notes-dir.",
)
@click.option(
    "--duration", type=DURATION, default="4h", show_default=True, help="e.g. 30m, 4h (max 24h)."
)
@_notes_option
def request_cmd(
    account: Any,
    patient: str,
    reason: str,
    duration: int,
    notes_dir: Path | None,
    registry: ContractChoice,
    as_json: bool,
) -> None:
    """Ask for emergency access to PATIENT's record (needs CLINICIAN_ROLE)."""
    from medchain.consent import NoteStore

    seconds = duration
    client = registry.bind(require_account(account))
    notes = NoteStore(notes_dir)
    episode = client.request_break_glass(_patient(patient, None), reason, seconds, notes=notes)
    note = notes.path(client.note_name("reason", episode))
    emit({"episode": episode, "duration": seconds, "reason_note": str(note)}, as_json)


def _episode_command(name: str, method: str, doc: str) -> None:
    """`breakglass <name> EPISODE`: one ConsentClient call on an episode, then its state."""

    @breakglass_command(name, help=doc)
    @click.argument("episode", type=int)
    def command(account: Any, episode: int, registry: ContractChoice, as_json: bool) -> None:
        client = registry.bind(require_account(account))
        client.episode(episode)  # a clear line for an unknown id, before any transaction
        getattr(client, method)(episode)
        emit(client.episode(episode), as_json)


_episode_command("approve", "approve_break_glass", "Approve an episode (needs EMERGENCY_APPROVER_ROLE).")  # fmt: skip
_episode_command(
    "cancel",
    "cancel_break_glass",
    "Withdraw a pending request (its clinician, a privacy officer or the admin).",
)
_episode_command(
    "close",
    "close_break_glass",
    "End an active emergency access early: the clinician's own, or any (privacy officer, "
    "admin: misuse, off-boarding). The episode still awaits its review.",
)


@breakglass_command("review")
@click.argument("episode", type=int)
@click.option("--accept/--flag", "accepted", required=True, help="Justified, or flagged.")
@click.option(
    "--notes",
    required=True,
    help="Review notes: only a salted commitment goes on chain; text + salt stay in --notes-dir.",
)
@_notes_option
def review_cmd(
    account: Any,
    episode: int,
    accepted: bool,
    notes: str,
    notes_dir: Path | None,
    registry: ContractChoice,
    as_json: bool,
) -> None:
    """Record the post-event review (needs PRIVACY_OFFICER_ROLE)."""
    from medchain.consent import NoteStore

    client = registry.bind(require_account(account))
    store = NoteStore(notes_dir)
    client.review_break_glass(episode, accepted, notes, notes=store)
    note = store.path(client.note_name("review", episode))
    emit({**client.episode(episode), "review_note": str(note)}, as_json)


@breakglass_command("status")
@click.argument("episode", type=int, required=False)
def status_cmd(account: Any, episode: int | None, registry: ContractChoice, as_json: bool) -> None:
    """One episode, or every episode still awaiting review."""
    client = registry.bind()
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


@breakglass_command("grant-role")
@click.option("--role", type=click.Choice(sorted(ROLE_NAMES)), required=True)
@click.option("--to", "member", required=True, help="Address that receives the role.")
def grant_role_cmd(
    account: Any, role: str, member: str, registry: ContractChoice, as_json: bool
) -> None:
    """Give an account a break-glass role (default admin only)."""
    from medchain.consent.model import address_of

    client = registry.bind(require_account(account))
    role_id = client.call(ROLE_NAMES[role])
    receipt = client.transact("grantRole", role_id, address_of(member, "--to"))
    emit({"role": role, "member": address_of(member), **_receipt(receipt)}, as_json)


@breakglass_command("set-threshold")
@click.argument("threshold", type=int)
def set_threshold_cmd(
    account: Any, threshold: int, registry: ContractChoice, as_json: bool
) -> None:
    """Set how many emergency approvals activate an episode (default admin only)."""
    client = registry.bind(require_account(account))
    emit(_receipt(client.transact("setBreakGlassThreshold", threshold)), as_json)
