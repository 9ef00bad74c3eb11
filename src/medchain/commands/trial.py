"""`medchain trial …`: register a clinical trial, amend its protocol (effective on ethics
approval), manage site roles, enroll subjects (salted commitments; the salt stays with the
site), log deviations and adverse events, lock data, report outcomes, suspend / resume /
terminate as the ethics board, and export the hash-chained log and verify it.

Documents (protocol, outcomes, dataset, results, reports) are given as files: their keccak256
goes on chain, with their CIDv1 (computed locally, as `ipfs add --cid-version 1` would) unless
`--cid` names where they are stored. Outcome sets are JSON files
`{"primary": [...], "secondary": [...]}`, hashed in the canonical form of `medchain.trials`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from medchain.cli_base import connected_command, emit, json_option, require_account
from medchain.errors import InvalidInput
from medchain.trials import (
    Role,
    TrialsClient,
    document_hash,
    load_log,
    outcomes_hash,
    save_log,
    verify_log,
)

FileArg = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def trial() -> None:
    """Clinical-trial logs: registered protocols, ethics oversight, tamper-evident timeline."""


def _client(registry: str | None, account: Any = None) -> TrialsClient:
    """The registry at --registry, else the one in the connected network's address book."""
    if registry:
        return TrialsClient.at(registry, sender=account)
    return TrialsClient.connect(sender=account)


registry_option = click.option(
    "--registry", default=None, help="TrialRegistry address (default: from the address book)."
)


def _doc(path: Path) -> tuple[bytes, bytes]:
    data = path.read_bytes()
    return data, document_hash(data)


def _cid_for(data: bytes, cid: str | None) -> str:
    if cid:
        return cid
    from medchain.storage.unixfs import compute_cid

    return str(compute_cid(data, cid_version=1))


def _outcomes(path: Path) -> bytes:
    try:
        doc = json.loads(path.read_text())
        return outcomes_hash(list(doc["primary"]), list(doc.get("secondary", [])))
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InvalidInput(
            f'{path}: expected JSON {{"primary": [...], "secondary": [...]}} ({exc})'
        ) from exc


def _text_hash(text: str | None, path: Path | None, what: str, required: bool = True) -> bytes:
    if path is not None:
        return document_hash(path.read_bytes())
    if text:
        return document_hash(text.encode())
    if required:
        raise InvalidInput(f"give the {what} as --{what} TEXT or --{what}-file FILE")
    return bytes(32)


def _b32(text: str, what: str) -> bytes:
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError as exc:
        raise InvalidInput(f"{what} must be 0x + 64 hex digits, got {text!r}") from exc
    if len(raw) != 32:
        raise InvalidInput(f"{what} must be 32 bytes, got {len(raw)}")
    return raw


def _role(name: str) -> Role:
    try:
        return Role[name.upper()]
    except KeyError as exc:
        raise InvalidInput(f"role must be investigator, monitor or ethics, got {name!r}") from exc


cid_option = click.option("--cid", default=None, help="CID where the document is stored.")
reason_options = [
    click.option("--reason", default=None, help="Reason (its hash goes on chain)."),
    click.option("--reason-file", type=FileArg, default=None),
]


def _reason_options(fn: Any) -> Any:
    for option in reversed(reason_options):
        fn = option(fn)
    return fn


@connected_command(trial, "register")
@registry_option
@click.argument("registry_id")
@click.option("--protocol", type=FileArg, required=True, help="Protocol document.")
@cid_option
@click.option("--outcomes", type=FileArg, required=True, help="Pre-specified outcomes (JSON).")
@click.option("--ethics", "ethics", multiple=True, required=True, help="Ethics-board address.")
@click.option("--consent-version", type=int, default=1, show_default=True)
@json_option
def register(
    account: Any,
    registry: str | None,
    registry_id: str,
    protocol: Path,
    cid: str | None,
    outcomes: Path,
    ethics: tuple[str, ...],
    consent_version: int,
    as_json: bool,
) -> None:
    """Register a trial under REGISTRY_ID (e.g. NCT01234567); you are its sponsor."""
    client = _client(registry, require_account(account))
    data, phash = _doc(protocol)
    tid = client.register(
        registry_id,
        phash,
        _cid_for(data, cid),
        _outcomes(outcomes),
        list(ethics),
        consent_version=consent_version,
    )
    emit({"trial_id": tid, **_info(client, tid)}, as_json)


@connected_command(trial, "role")
@registry_option
@click.argument("trial_id", type=int)
@click.argument("member")
@click.option("--role", "role_name", required=True, help="investigator|monitor|ethics")
@click.option("--site", type=int, default=0, help="Site number (investigators).")
@click.option("--revoke", is_flag=True, help="Revoke instead of grant.")
def role(
    account: Any,
    registry: str | None,
    trial_id: int,
    member: str,
    role_name: str,
    site: int,
    revoke: bool,
) -> None:
    """Grant (or --revoke) a trial role: the sponsor manages investigators and monitors,
    the ethics board its own members."""
    client = _client(registry, require_account(account))
    (client.revoke_role if revoke else client.grant_role)(trial_id, member, _role(role_name), site)
    emit(f"{'revoked' if revoke else 'granted'} {role_name} {member} in trial {trial_id}")


@connected_command(trial, "amend")
@registry_option
@click.argument("trial_id", type=int)
@click.option("--protocol", type=FileArg, required=True, help="Amended protocol document.")
@cid_option
@click.option("--consent-version", type=int, default=None, help="New consent form version.")
@click.option("--outcomes", type=FileArg, default=None, help="Changed outcomes (JSON).")
@json_option
def amend(
    account: Any,
    registry: str | None,
    trial_id: int,
    protocol: Path,
    cid: str | None,
    consent_version: int | None,
    outcomes: Path | None,
    as_json: bool,
) -> None:
    """Propose a protocol amendment; it takes effect when the ethics board approves it."""
    client = _client(registry, require_account(account))
    data, phash = _doc(protocol)
    current = client.trial(trial_id).consent_version
    version = client.propose_amendment(
        trial_id,
        phash,
        _cid_for(data, cid),
        current if consent_version is None else consent_version,
        None if outcomes is None else _outcomes(outcomes),
    )
    emit({"trial_id": trial_id, "version": version, "protocol_hash": "0x" + phash.hex()}, as_json)


@connected_command(trial, "approve")
@registry_option
@click.argument("trial_id", type=int)
@click.argument("version", type=int)
@click.option("--protocol", type=FileArg, default=None, help="The protocol reviewed.")
@click.option("--protocol-hash", default=None, help="Or its hash (0x…).")
@click.option("--reject", is_flag=True, help="Reject the amendment instead.")
@_reason_options
def approve(
    account: Any,
    registry: str | None,
    trial_id: int,
    version: int,
    protocol: Path | None,
    protocol_hash: str | None,
    reject: bool,
    reason: str | None,
    reason_file: Path | None,
) -> None:
    """As the ethics board: approve (or --reject) amendment VERSION of the protocol reviewed."""
    if protocol is not None:
        phash = _doc(protocol)[1]
    elif protocol_hash:
        phash = _b32(protocol_hash, "--protocol-hash")
    else:
        raise InvalidInput("name the protocol reviewed: --protocol FILE or --protocol-hash 0x…")
    client = _client(registry, require_account(account))
    if reject:
        client.reject_amendment(
            trial_id, version, phash, _text_hash(reason, reason_file, "reason", required=False)
        )
    else:
        client.approve_amendment(trial_id, version, phash)
    emit(f"amendment {version} of trial {trial_id} {'rejected' if reject else 'approved'}")


@connected_command(trial, "enroll")
@registry_option
@click.argument("trial_id", type=int)
@click.option("--site", type=int, required=True)
@click.option("--subject", "pseudonym", default=None, help="Pseudonymous subject id (site's own).")
@click.option("--reconsent", "commitment", default=None, help="Re-consent this enrolled subject.")
@click.option(
    "--save",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to keep the subject's salt and commitment (default <subject>.subject.json).",
)
@json_option
def enroll(
    account: Any,
    registry: str | None,
    trial_id: int,
    site: int,
    pseudonym: str | None,
    commitment: str | None,
    save: Path | None,
    as_json: bool,
) -> None:
    """Enroll a subject under the consent form in force (or --reconsent after an amendment).
    The salted commitment is computed here; the salt is written to a file the site keeps."""
    client = _client(registry, require_account(account))
    if commitment:
        client.reconsent(trial_id, site, _b32(commitment, "--reconsent"))
        emit(f"subject {commitment} re-consented at site {site}")
        return
    if not pseudonym:
        raise InvalidInput("give --subject <pseudonym> (or --reconsent 0x<commitment>)")
    subject = client.enroll(trial_id, site, pseudonym)
    target = save or Path(f"{pseudonym}.subject.json")
    target.write_text(json.dumps({**subject.to_json(), "site": site}, indent=1) + "\n")
    target.chmod(0o600)
    emit(
        {"commitment": "0x" + subject.commitment.hex(), "site": site, "saved": str(target)}, as_json
    )


@connected_command(trial, "deviation")
@registry_option
@click.argument("trial_id", type=int)
@click.option("--site", type=int, required=True)
@click.option("--description", default=None)
@click.option("--description-file", type=FileArg, default=None)
@click.option("--subject", "commitment", default=None, help="Subject commitment (0x…), if any.")
@click.option("--important", is_flag=True, help="ICH E3 important deviation.")
def deviation(
    account: Any,
    registry: str | None,
    trial_id: int,
    site: int,
    description: str | None,
    description_file: Path | None,
    commitment: str | None,
    important: bool,
) -> None:
    """Log a protocol deviation (investigator of the site, or a monitor)."""
    client = _client(registry, require_account(account))
    client.log_deviation(
        trial_id,
        site,
        _text_hash(description, description_file, "description"),
        subject=None if commitment is None else _b32(commitment, "--subject"),
        important=important,
    )
    emit(f"deviation logged for trial {trial_id} site {site}")


@connected_command(trial, "adverse-event")
@registry_option
@click.argument("trial_id", type=int)
@click.option("--site", type=int, required=True)
@click.option("--subject", "commitment", required=True, help="Subject commitment (0x…).")
@click.option("--grade", type=click.IntRange(1, 5), required=True, help="CTCAE grade 1..5.")
@click.option("--serious", is_flag=True, help="Serious adverse event (ICH E2A).")
@click.option("--report", default=None)
@click.option("--report-file", type=FileArg, default=None)
def adverse_event(
    account: Any,
    registry: str | None,
    trial_id: int,
    site: int,
    commitment: str,
    grade: int,
    serious: bool,
    report: str | None,
    report_file: Path | None,
) -> None:
    """Log an adverse event of a subject (investigator of the site, or a monitor)."""
    client = _client(registry, require_account(account))
    client.log_adverse_event(
        trial_id,
        site,
        _b32(commitment, "--subject"),
        grade=grade,
        serious=serious,
        report_hash=_text_hash(report, report_file, "report"),
    )
    emit(
        f"{'serious ' if serious else ''}adverse event (grade {grade}) logged for trial {trial_id}"
    )


@connected_command(trial, "lock")
@registry_option
@click.argument("trial_id", type=int)
@click.option("--dataset", type=FileArg, required=True, help="The locked (encrypted) dataset.")
@cid_option
def lock(account: Any, registry: str | None, trial_id: int, dataset: Path, cid: str | None) -> None:
    """Lock the database (sponsor): no more enrollments, outcomes frozen."""
    data, dhash = _doc(dataset)
    _client(registry, require_account(account)).lock_data(trial_id, dhash, _cid_for(data, cid))
    emit(f"trial {trial_id} data locked (dataset 0x{dhash.hex()})")


@connected_command(trial, "report")
@registry_option
@click.argument("trial_id", type=int)
@click.option("--outcomes", type=FileArg, required=True, help="Outcome set reported (JSON).")
@click.option("--results", type=FileArg, required=True, help="Results (encrypted dataset).")
@cid_option
@json_option
def report(
    account: Any,
    registry: str | None,
    trial_id: int,
    outcomes: Path,
    results: Path,
    cid: str | None,
    as_json: bool,
) -> None:
    """Report outcomes (sponsor, after data lock). A set that differs from the registered
    outcomes is recorded and flagged on chain as outcome switching."""
    data, rhash = _doc(results)
    matches = _client(registry, require_account(account)).report_outcomes(
        trial_id, _outcomes(outcomes), rhash, _cid_for(data, cid)
    )
    emit(
        {"trial_id": trial_id, "matches_registered_outcomes": matches},
        as_json,
        human=lambda v: (
            "outcomes match the registered ones"
            if matches
            else "OUTCOME MISMATCH: reported outcomes differ from the registered ones (flagged on chain)"
        ),
    )


def _oversight(name: str, method: str, done: str) -> None:
    @connected_command(trial, name, help=f"As the ethics board: {name} the trial.")
    @registry_option
    @click.argument("trial_id", type=int)
    @_reason_options
    def command(
        account: Any,
        registry: str | None,
        trial_id: int,
        reason: str | None,
        reason_file: Path | None,
    ) -> None:
        client = _client(registry, require_account(account))
        getattr(client, method)(trial_id, _text_hash(reason, reason_file, "reason", required=False))
        emit(f"trial {trial_id} {done}")


_oversight("suspend", "suspend", "suspended (no enrollments until resumed)")
_oversight("resume", "resume", "resumed")
_oversight("terminate", "terminate", "terminated (only the final report can follow)")


@connected_command(trial, "show")
@registry_option
@click.argument("trial_id", type=int)
@json_option
def show(account: Any, registry: str | None, trial_id: int, as_json: bool) -> None:
    """Show a trial's state: status, versions, chain head and entry count."""
    emit(_info(_client(registry), trial_id), as_json)


@connected_command(trial, "export")
@registry_option
@click.argument("trial_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--batch-blocks", type=int, default=5_000, show_default=True)
@click.option("--from-block", type=int, default=None, help="Default: the registration block.")
def export(
    account: Any,
    registry: str | None,
    trial_id: int,
    out: Path | None,
    batch_blocks: int,
    from_block: int | None,
) -> None:
    """Export the trial's full log as JSON (checked against the chain's head while reading)."""
    log = _client(registry).export(trial_id, batch_blocks=batch_blocks, from_block=from_block)
    target = out or Path(f"trial-{trial_id}.log.json")
    save_log(log, target)
    emit(f"{len(log['entries'])} entries, head {log['head']} -> {target}")


@connected_command(trial, "verify")
@registry_option
@click.argument("log_file", type=FileArg)
@click.option("--offline", is_flag=True, help="Check the file's own chain only (no node).")
@json_option
def verify(
    account: Any, registry: str | None, log_file: Path, offline: bool, as_json: bool
) -> None:
    """Verify an exported log end to end against the chain; names the first bad entry."""
    log = load_log(log_file)
    result = verify_log(log) if offline else _client(registry).verify(log)
    emit(
        result,
        as_json,
        human=lambda r: (
            f"log of trial {r.trial_id} verified{' against the chain' if r.checked_against_chain else ' (offline)'}: "
            f"{r.entry_count} entries, head {r.head}; {r.enrollments} enrollments, "
            f"{r.serious_adverse_events} serious adverse events, "
            f"{len(r.outcome_mismatches)} outcome mismatches"
            + (
                f" (seq {', '.join(map(str, r.outcome_mismatches))})"
                if r.outcome_mismatches
                else ""
            )
        ),
    )


def _info(client: TrialsClient, trial_id: int) -> dict[str, Any]:
    info = client.trial(trial_id)
    return {
        "status": info.status.name.lower(),
        "sponsor": info.sponsor,
        "protocol_version": info.protocol_version,
        "consent_version": info.consent_version,
        "locked": info.locked,
        "entries": info.entry_count,
        "head": info.head,
        "outcome_mismatches": info.outcome_mismatches,
    }


COMMANDS = [trial]
