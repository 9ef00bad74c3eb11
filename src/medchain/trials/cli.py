"""`medchain trial …`: register a clinical trial, amend its protocol (effective once k of the
n ethics-board members approve), manage site roles and the board (k-of-n votes), enroll
subjects (salted commitments; the salt stays with the site), log deviations and adverse events
(salted text commitments; text and salt appended to the site's notes file), lock data, report
outcomes, suspend / resume / terminate as the ethics board, move a trial to a newer registry
version (`move`, k-of-n) and import it there (`import`), export the hash-chained log with
the site's disclosures, and verify it offline (`verify`) or against the chain (`verify-chain`).

Documents (protocol, outcomes, dataset, results, reports) are given as files: their keccak256
goes on chain, with their CIDv1 (computed locally, as `ipfs add --cid-version 1` would) unless
`--cid` names where they are stored. Outcome sets are JSON files
`{"primary": [...], "secondary": [...]}`, hashed in the canonical form of `medchain.trials`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
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
    offline_command,
    read_json_file,
    refuse_overwrite,
    require_account,
)
from medchain.cli.render import emit
from medchain.errors import InvalidInput
from medchain.files import write_json
from medchain.trials import (
    EntryType,
    NoteCommitment,
    Role,
    SubjectCommitment,
    TrialsClient,
    append_note,
    document_hash,
    load_disclosures,
    load_log,
    migrate,
    outcomes_hash,
    save_log,
    verify_log,
)
from medchain.zk import EligibilityClient


@click.group()
def trial() -> None:
    """Clinical-trial logs: registered protocols, ethics oversight, tamper-evident timeline."""


registry_option = contract_option("registry", TrialsClient)
on_registry = contract_commands(trial, registry_option)


def trial_command(name: str, *, on_trial: bool = True, **kwargs: Any) -> Any:
    """`medchain trial <name>`: connected, on the TrialRegistry of `--registry`; with
    `on_trial`, its first argument is TRIAL_ID."""

    def decorate(fn: Any) -> Any:
        if on_trial:
            fn = click.argument("trial_id", type=int)(fn)
        return on_registry(name, **kwargs)(fn)

    return decorate


def _doc(path: Path) -> tuple[bytes, bytes]:
    data = path.read_bytes()
    return data, document_hash(data)


def _cid_for(data: bytes, cid: str | None) -> str:
    if cid:
        return cid
    from medchain.storage.unixfs import compute_cid

    return str(compute_cid(data, cid_version=1))


def _outcomes(path: Path) -> bytes:
    doc = read_json_file(path, "outcome set")
    try:
        return outcomes_hash(list(doc["primary"]), list(doc.get("secondary", [])))
    except (KeyError, TypeError) as exc:
        raise InvalidInput(
            f'{path}: expected JSON {{"primary": [...], "secondary": [...]}} ({exc})'
        ) from exc


def _note(
    trial_id: int, text: str | None, path: Path | None, what: str, required: bool = True
) -> NoteCommitment | None:
    """A salted commitment to the text (or the file's bytes); None when optional and absent."""
    if path is not None:
        return NoteCommitment.create(trial_id, path.read_bytes())
    if text:
        return NoteCommitment.create(trial_id, text)
    if required:
        raise InvalidInput(f"give the {what} as --{what} TEXT or --{what}-file FILE")
    return None


notes_option = click.option(
    "--notes",
    type=FILE,
    default=None,
    help="The site's notes file: each text's salt is appended here, never overwritten "
    "(default trial-<id>.notes.jsonl). Keep it: it is what discloses the text later.",
)


def _keep(note: NoteCommitment | None, notes: Path | None, trial_id: int, **extra: Any) -> str:
    """Append the note's disclosure record to the notes file (before the transaction, so a
    salt on chain is never lost); returns the file's name ('' when there is no note)."""
    if note is None:
        return ""
    target = notes or Path(f"trial-{trial_id}.notes.jsonl")
    append_note(target, note, **extra)
    return str(target)


def _note_out(note: NoteCommitment | None, saved: str) -> dict[str, Any]:
    if note is None:
        return {}
    return {"commitment": "0x" + note.commitment.hex(), "notes": saved}


def _b32(text: str, what: str) -> bytes:
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError as exc:
        raise InvalidInput(f"{what} must be 0x + 64 hex digits, got {text!r}") from exc
    if len(raw) != 32:
        raise InvalidInput(f"{what} must be 32 bytes, got {len(raw)}")
    return raw


def _tally(client: TrialsClient, trial_id: int, motion: Any, **which: Any) -> dict[str, int]:
    """The ethics-board votes a pending motion has, and how many it needs."""
    votes, _ = client.ethics_votes(trial_id, motion, **which)
    return {"votes": votes, "threshold": client.trial(trial_id).ethics_threshold}


def _role(name: str) -> Role:
    try:
        return Role[name.upper()]
    except KeyError as exc:
        raise InvalidInput(f"role must be investigator, monitor or ethics, got {name!r}") from exc


cid_option = click.option("--cid", default=None, help="CID where the document is stored.")
reason_options = [
    click.option("--reason", default=None, help="Reason (its hash goes on chain)."),
    click.option("--reason-file", type=IN_FILE, default=None),
]


def _reason_options(fn: Any) -> Any:
    for option in reversed(reason_options):
        fn = option(fn)
    return fn


@trial_command("register", on_trial=False)
@click.argument("registry_id")
@click.option("--protocol", type=IN_FILE, required=True, help="Protocol document.")
@cid_option
@click.option("--outcomes", type=IN_FILE, required=True, help="Pre-specified outcomes (JSON).")
@click.option("--ethics", "ethics", multiple=True, required=True, help="Ethics-board address.")
@click.option(
    "--threshold",
    type=int,
    default=None,
    help="Board votes a membership change or an amendment approval needs (default: a "
    "majority; at least 2 for a board of more than one).",
)
@click.option("--consent-version", type=int, default=1, show_default=True)
def register(
    account: Any,
    registry: ContractChoice,
    registry_id: str,
    protocol: Path,
    cid: str | None,
    outcomes: Path,
    ethics: tuple[str, ...],
    threshold: int | None,
    consent_version: int,
    as_json: bool,
) -> None:
    """Register a trial under REGISTRY_ID (e.g. NCT01234567); you are its sponsor."""
    client = registry.bind(require_account(account))
    data, phash = _doc(protocol)
    tid = client.register(
        registry_id,
        phash,
        _cid_for(data, cid),
        _outcomes(outcomes),
        list(ethics),
        threshold=threshold,
        consent_version=consent_version,
    )
    emit({"trial_id": tid, **_info(client, tid)}, as_json)


@trial_command("role")
@click.argument("member")
@click.option("--role", "role_name", required=True, help="investigator|monitor|ethics")
@click.option("--site", type=int, default=0, help="Site number (investigators).")
@click.option("--revoke", is_flag=True, help="Revoke instead of grant.")
def role(
    account: Any,
    registry: ContractChoice,
    trial_id: int,
    member: str,
    role_name: str,
    site: int,
    revoke: bool,
    as_json: bool,
) -> None:
    """Grant (or --revoke) a trial role: the sponsor manages investigators and monitors; the
    ethics board its own members, k-of-n (your call is one vote until the threshold)."""
    client = registry.bind(require_account(account))
    which = _role(role_name)
    done = (client.revoke_role if revoke else client.grant_role)(trial_id, member, which, site)
    action = "revoked" if revoke else "granted"
    out: dict[str, Any] = {"trial_id": trial_id, "member": member, "role": role_name.lower()}
    out.update({"action": "revoke" if revoke else "grant", "done": done})
    if not done:
        motion = EntryType.RoleRevoked if revoke else EntryType.RoleGranted
        out.update(_tally(client, trial_id, motion, account=member))
    emit(
        out,
        as_json,
        human=lambda o: (
            f"{action} {role_name} {member} in trial {trial_id}"
            if o["done"]
            else f"vote recorded: {o['votes']} of {o['threshold']} ethics-board votes to "
            f"{o['action']} {member} as {role_name} in trial {trial_id}"
        ),
    )


@trial_command("amend")
@click.option("--protocol", type=IN_FILE, required=True, help="Amended protocol document.")
@cid_option
@click.option("--consent-version", type=int, default=None, help="New consent form version.")
@click.option("--outcomes", type=IN_FILE, default=None, help="Changed outcomes (JSON).")
def amend(
    account: Any,
    registry: ContractChoice,
    trial_id: int,
    protocol: Path,
    cid: str | None,
    consent_version: int | None,
    outcomes: Path | None,
    as_json: bool,
) -> None:
    """Propose a protocol amendment; it takes effect when the ethics board approves it."""
    client = registry.bind(require_account(account))
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


@trial_command("approve")
@click.argument("version", type=int)
@click.option("--protocol", type=IN_FILE, default=None, help="The protocol reviewed.")
@click.option("--protocol-hash", default=None, help="Or its hash (0x…).")
@click.option("--reject", is_flag=True, help="Reject the amendment instead.")
@_reason_options
@notes_option
def approve(
    account: Any,
    registry: ContractChoice,
    trial_id: int,
    version: int,
    protocol: Path | None,
    protocol_hash: str | None,
    reject: bool,
    reason: str | None,
    reason_file: Path | None,
    notes: Path | None,
    as_json: bool,
) -> None:
    """As an ethics-board member: approve (or --reject) amendment VERSION of the protocol
    reviewed. Approval is k-of-n: your approval is one vote until the threshold is reached."""
    if protocol is not None:
        phash = _doc(protocol)[1]
    elif protocol_hash:
        phash = _b32(protocol_hash, "--protocol-hash")
    else:
        raise InvalidInput("name the protocol reviewed: --protocol FILE or --protocol-hash 0x…")
    client = registry.bind(require_account(account))
    out: dict[str, Any] = {"trial_id": trial_id, "version": version}
    if reject:
        note = _note(trial_id, reason, reason_file, "reason", required=False)
        saved = _keep(note, notes, trial_id, field="reasonCommitment")
        client.reject_amendment(trial_id, version, phash, note)
        out.update(status="rejected", **_note_out(note, saved))
    else:
        approved = client.approve_amendment(trial_id, version, phash)
        out["status"] = "approved" if approved else "vote recorded"
        if not approved:
            motion = EntryType.AmendmentApproved
            out.update(_tally(client, trial_id, motion, version=version, protocol_hash=phash))
    emit(
        out,
        as_json,
        human=lambda o: (
            f"amendment {version} of trial {trial_id} {o['status']}"
            + (f" ({o['votes']} of {o['threshold']} approvals)" if "votes" in o else "")
        ),
    )


@trial_command("require-eligibility")
@click.option("--issuer", required=True, help="Credential issuer whose tree proofs must use.")
@click.option(
    "--criteria",
    "criteria_file",
    type=FILE,
    required=True,
    help="Criteria file (`medchain zk criteria ... --out FILE`).",
)
@contract_option("gate", EligibilityClient)
def require_eligibility(
    account: Any,
    registry: ContractChoice,
    trial_id: int,
    issuer: str,
    criteria_file: Path,
    gate: ContractChoice,
    as_json: bool,
) -> None:
    """Sponsor: from now on enroll only subjects who prove eligibility in zero knowledge."""
    from medchain.zk import Criteria

    criteria = Criteria.from_json(read_json_file(criteria_file, "criteria file"))
    gate_address = gate.address or gate.bind().address
    client = registry.bind(require_account(account))
    client.require_eligibility(trial_id, gate_address, issuer, criteria.hash())
    emit(
        {
            "trial_id": trial_id,
            "gate": gate_address,
            "issuer": issuer,
            "criteria_hash": hex(criteria.hash()),
        },
        as_json,
    )


@trial_command("enroll")
@click.option("--site", type=int, required=True)
@click.option("--subject", "pseudonym", default=None, help="Pseudonymous subject id (site's own).")
@click.option("--reconsent", "commitment", default=None, help="Re-consent this enrolled subject.")
@click.option(
    "--save",
    type=FILE,
    default=None,
    help="Where to keep the subject's salt and commitment (default <subject>.subject.json). "
    "An existing file is never overwritten.",
)
@click.option(
    "--again",
    is_flag=True,
    help="Enroll a subject whose file already exists once more (a second enrollment, e.g. "
    "after a screening failure); its salt goes to a new file <subject>.subject.N.json.",
)
@click.option(
    "--proof",
    "proof_file",
    type=FILE,
    default=None,
    help="Zero-knowledge eligibility proof (`medchain zk prove --trial ID`), required by a "
    "trial that demands eligibility.",
)
def enroll(
    account: Any,
    registry: ContractChoice,
    trial_id: int,
    site: int,
    pseudonym: str | None,
    commitment: str | None,
    save: Path | None,
    again: bool,
    proof_file: Path | None,
    as_json: bool,
) -> None:
    """Enroll a subject under the consent form in force (or --reconsent after an amendment).
    The salted commitment is computed here; its salt is written to a new file the site keeps
    before the transaction is sent, so a commitment on chain never loses its salt."""
    client = registry.bind(require_account(account))
    if commitment:
        client.reconsent(trial_id, site, _b32(commitment, "--reconsent"))
        emit(
            {"trial_id": trial_id, "commitment": commitment, "site": site, "reconsented": True},
            as_json,
            human=lambda _: f"subject {commitment} re-consented at site {site}",
        )
        return
    if not pseudonym:
        raise InvalidInput("give --subject <pseudonym> (or --reconsent 0x<commitment>)")
    target = _subject_file(save or Path(f"{pseudonym}.subject.json"), again)
    subject = SubjectCommitment.create(trial_id, pseudonym)
    record = {**subject.to_json(), "kind": "subject", "site": site}
    write_json(
        target,
        record,
        indent=1,
        private=True,
        overwrite=False,  # created between the check and now
        exists_message=f"{target} appeared meanwhile; not overwritten",
    )
    proof = None
    if proof_file is not None:
        from medchain.zk import Proof

        proof = Proof.from_json(read_json_file(proof_file, "eligibility proof"))
    try:
        if proof is None:
            client.enroll(trial_id, site, pseudonym, salt=subject.salt)
        else:
            client.enroll_eligible(trial_id, site, pseudonym, proof, salt=subject.salt)
    except BaseException:
        target.unlink()  # our own file of a commitment that never reached the chain
        raise
    emit(
        {"commitment": "0x" + subject.commitment.hex(), "site": site, "saved": str(target)}, as_json
    )


def _subject_file(target: Path, again: bool) -> Path:
    """`target` if it is free; with --again the first free <stem>.N.json; else a refusal
    that names what the existing file holds. Never a file that exists."""
    if not target.exists():
        return target
    if not again:
        try:
            held = json.loads(target.read_text())
            what = f"subject {held.get('pseudonym')} of trial {held.get('trialId')}, commitment {held.get('commitment')}"
        except (OSError, ValueError, AttributeError):
            what = "a file that is not a subject record"
        raise InvalidInput(
            f"{target} already exists ({what}): it holds an enrollment's salt and is not "
            "overwritten; pass --again to enroll this subject once more (new file), or --save FILE"
        )
    base = target.name.removesuffix(".json")
    n = 2
    while (candidate := target.with_name(f"{base}.{n}.json")).exists():
        n += 1
    return candidate


@trial_command("deviation")
@click.option("--site", type=int, required=True)
@click.option("--description", default=None)
@click.option("--description-file", type=IN_FILE, default=None)
@click.option("--subject", "commitment", default=None, help="Subject commitment (0x…), if any.")
@click.option("--important", is_flag=True, help="ICH E3 important deviation.")
@notes_option
def deviation(
    account: Any,
    registry: ContractChoice,
    trial_id: int,
    site: int,
    description: str | None,
    description_file: Path | None,
    commitment: str | None,
    important: bool,
    notes: Path | None,
    as_json: bool,
) -> None:
    """Log a protocol deviation (investigator of the site, or a monitor). Only a salted
    commitment to the description goes on chain; the text and salt go to the notes file."""
    client = registry.bind(require_account(account))
    note = _note(trial_id, description, description_file, "description")
    assert note is not None  # required
    saved = _keep(note, notes, trial_id, field="descriptionCommitment", site=site)
    client.log_deviation(
        trial_id,
        site,
        note,
        subject=None if commitment is None else _b32(commitment, "--subject"),
        important=important,
    )
    emit(
        {"trial_id": trial_id, "site": site, "important": important, **_note_out(note, saved)},
        as_json,
        human=lambda _: f"deviation logged for trial {trial_id} site {site} (salt kept in {saved})",
    )


@trial_command("adverse-event")
@click.option("--site", type=int, required=True)
@click.option("--subject", "commitment", required=True, help="Subject commitment (0x…).")
@click.option("--grade", type=click.IntRange(1, 5), required=True, help="CTCAE grade 1..5.")
@click.option("--serious", is_flag=True, help="Serious adverse event (ICH E2A).")
@click.option("--report", default=None)
@click.option("--report-file", type=IN_FILE, default=None)
@notes_option
def adverse_event(
    account: Any,
    registry: ContractChoice,
    trial_id: int,
    site: int,
    commitment: str,
    grade: int,
    serious: bool,
    report: str | None,
    report_file: Path | None,
    notes: Path | None,
    as_json: bool,
) -> None:
    """Log an adverse event of a subject (investigator of the site, or a monitor). Only a
    salted commitment to the report goes on chain; its salt goes to the notes file."""
    client = registry.bind(require_account(account))
    note = _note(trial_id, report, report_file, "report")
    assert note is not None  # required
    saved = _keep(note, notes, trial_id, field="reportCommitment", site=site)
    client.log_adverse_event(
        trial_id, site, _b32(commitment, "--subject"), grade=grade, serious=serious, report=note
    )
    emit(
        {"trial_id": trial_id, "site": site, "grade": grade, "serious": serious}
        | _note_out(note, saved),
        as_json,
        human=lambda _: (
            f"{'serious ' if serious else ''}adverse event (grade {grade}) logged for trial "
            f"{trial_id} (salt kept in {saved})"
        ),
    )


@trial_command("lock")
@click.option("--dataset", type=IN_FILE, required=True, help="The locked (encrypted) dataset.")
@cid_option
def lock(
    account: Any,
    registry: ContractChoice,
    trial_id: int,
    dataset: Path,
    cid: str | None,
    as_json: bool,
) -> None:
    """Lock the database (sponsor): no more enrollments, outcomes frozen."""
    data, dhash = _doc(dataset)
    registry.bind(require_account(account)).lock_data(trial_id, dhash, _cid_for(data, cid))
    emit(
        {"trial_id": trial_id, "locked": True, "dataset_hash": "0x" + dhash.hex()},
        as_json,
        human=lambda _: f"trial {trial_id} data locked (dataset 0x{dhash.hex()})",
    )


@trial_command("report")
@click.option("--outcomes", type=IN_FILE, required=True, help="Outcome set reported (JSON).")
@click.option("--results", type=IN_FILE, required=True, help="Results (encrypted dataset).")
@cid_option
def report(
    account: Any,
    registry: ContractChoice,
    trial_id: int,
    outcomes: Path,
    results: Path,
    cid: str | None,
    as_json: bool,
) -> None:
    """Report outcomes (sponsor, after data lock). A set that differs from the registered
    outcomes is recorded and flagged on chain as outcome switching."""
    data, rhash = _doc(results)
    matches = registry.bind(require_account(account)).report_outcomes(
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
    @trial_command(
        name,
        help=f"As an ethics-board member: {name} the trial (the reason goes on chain as a "
        "salted commitment; its salt to the notes file).",
    )
    @_reason_options
    @notes_option
    def command(
        account: Any,
        registry: ContractChoice,
        trial_id: int,
        reason: str | None,
        reason_file: Path | None,
        notes: Path | None,
        as_json: bool,
    ) -> None:
        client = registry.bind(require_account(account))
        note = _note(trial_id, reason, reason_file, "reason", required=False)
        saved = _keep(note, notes, trial_id, field="reasonCommitment")
        getattr(client, method)(trial_id, note)
        status = client.trial(trial_id).status.name.lower()
        emit(
            {"trial_id": trial_id, "status": status, **_note_out(note, saved)},
            as_json,
            human=lambda _: f"trial {trial_id} {done}",
        )


_oversight("suspend", "suspend", "suspended (no enrollments until resumed)")
_oversight("resume", "resume", "resumed")
_oversight("terminate", "terminate", "terminated (only the final report can follow)")


@trial_command("show")
def show(account: Any, registry: ContractChoice, trial_id: int, as_json: bool) -> None:
    """Show a trial's state: status, versions, chain head and entry count."""
    emit(_info(registry.bind(), trial_id), as_json)


@trial_command("export")
@click.option("--out", type=FILE, default=None)
@click.option("--batch-blocks", type=int, default=5_000, show_default=True)
@click.option("--from-block", type=int, default=None, help="Default: the registration block.")
@click.option(
    "--disclose",
    "disclose",
    type=IN_FILE,
    multiple=True,
    help="A notes file or <subject>.subject.json whose salts (and texts) to attach, so the "
    "log's commitments can be opened offline. Repeatable.",
)
@force_option
def export(
    account: Any,
    registry: ContractChoice,
    trial_id: int,
    out: Path | None,
    batch_blocks: int,
    from_block: int | None,
    disclose: tuple[Path, ...],
    force: bool,
    as_json: bool,
) -> None:
    """Export the trial's full log as JSON (checked against the chain's head while reading),
    with the disclosures given by --disclose."""
    target = out or Path(f"trial-{trial_id}.log.json")
    refuse_overwrite(target, force)
    records = load_disclosures(disclose)
    log = registry.bind().export(
        trial_id, batch_blocks=batch_blocks, from_block=from_block, disclosures=records
    )
    save_log(log, target)
    summary = {
        "trial_id": trial_id,
        "entries": len(log["entries"]),
        "head": log["head"],
        "disclosures": len(log["disclosures"]),
        "saved": str(target),
    }
    emit(
        summary,
        as_json,
        human=lambda o: (
            f"{o['entries']} entries, head {o['head']}, {o['disclosures']} disclosures -> {target}"
        ),
    )


def _verified(r: dict[str, Any]) -> str:
    """The human line of a verification report (`emit` hands over its JSON-able form)."""
    where = " against the chain" if r["checked_against_chain"] else " offline"
    line = (
        f"log of trial {r['trial_id']} verified{where}: {r['entry_count']} entries, head "
        f"{r['head']}; {r['enrollments']} enrollments, {r['serious_adverse_events']} serious "
        f"adverse events, {len(r['outcome_mismatches'])} outcome mismatches"
    )
    if r["outcome_mismatches"]:
        line += f" (seq {', '.join(map(str, r['outcome_mismatches']))})"
    if r["outcome_amendments"]:
        line += f", outcomes amended at seq {', '.join(map(str, r['outcome_amendments']))}"
    return (
        line + f"; {r['disclosures_verified']} disclosures verified, "
        f"{r['commitments_undisclosed']} commitments undisclosed"
    )


@offline_command(trial, "verify")
@click.argument("log_file", type=IN_FILE)
@click.option(
    "--disclose",
    "disclose",
    type=IN_FILE,
    multiple=True,
    help="Also check these disclosure files (notes, subject files) against the log.",
)
def verify(log_file: Path, disclose: tuple[Path, ...], as_json: bool) -> None:
    """Verify an exported log offline (no node): its hash chain entry by entry, its header,
    and every disclosure (salt + text or pseudonym) against the commitment it opens. Names
    the first entry that does not match. `verify-chain` also checks it against the chain."""
    log = load_log(log_file)
    if disclose:
        log["disclosures"] = [*(log.get("disclosures") or []), *load_disclosures(disclose)]
    emit(verify_log(log), as_json, human=_verified)


@trial_command("verify-chain", on_trial=False)
@click.argument("log_file", type=IN_FILE)
def verify_chain(account: Any, registry: ContractChoice, log_file: Path, as_json: bool) -> None:
    """Verify an exported log end to end against the chain (and offline, as `verify`); names
    the first entry that differs from what the chain holds."""
    emit(registry.bind().verify(load_log(log_file)), as_json, human=_verified)


@trial_command("move")
@click.argument("successor")
@click.option(
    "--approve", is_flag=True, help="As an ethics-board member: approve the pending move."
)
@click.option("--withdraw", is_flag=True, help="As the sponsor: withdraw the pending move.")
def move(
    account: Any,
    registry: ContractChoice,
    trial_id: int,
    successor: str,
    approve: bool,
    withdraw: bool,
    as_json: bool,
) -> None:
    """Move a trial to SUCCESSOR, a newer TrialRegistry whose predecessor is --registry: the
    sponsor proposes (or --withdraw-s), the ethics board --approve-s k-of-n; once moved, writes
    go to SUCCESSOR (docs/upgrades.md, "TrialRegistry: migration")."""
    if approve and withdraw:
        raise InvalidInput("--approve and --withdraw exclude each other")
    client = registry.bind(require_account(account))
    out: dict[str, Any] = {"trial_id": trial_id, "successor": successor}
    if withdraw:
        migrate.withdraw_move(client, trial_id, successor)
        out.update(action="withdraw", done=True)
    elif approve:
        out.update(action="approve", done=migrate.approve_move(client, trial_id, successor))
        if not out["done"]:
            out.update(_tally(client, trial_id, EntryType.Moved, account=successor))
    else:
        migrate.propose_move(client, trial_id, successor)
        out.update(action="propose", done=True)
    emit(
        out,
        as_json,
        human=lambda o: (
            f"vote recorded: {o['votes']} of {o['threshold']} ethics-board votes to move trial "
            f"{trial_id} to {successor}"
            if not o["done"]
            else f"{o['action']}: trial {trial_id} to {successor}"
        ),
    )


@trial_command("import", on_trial=False)
@click.argument("old_id", type=int)
@contract_option("from", TrialsClient, what="The predecessor TrialRegistry")
def import_(account: Any, registry: ContractChoice, old_id: int, as_json: bool, **kw: Any) -> None:
    """Import trial OLD_ID, moved to --registry by its governance, from the predecessor
    (--from): members listed from its role events, then every answer and the timeline checked
    across both versions."""
    old = kw["from"].bind()
    new = registry.bind(require_account(account))
    members = migrate.members_from_events(old, old_id)
    new_id = migrate.import_trial(new, old, old_id, members=members)
    report = migrate.verify_move(old, new, old_id, new_id, members)
    emit(
        asdict(report),
        as_json,
        human=lambda o: (
            f"imported trial {old_id} as {o['new_id']} in {new.address}: {len(members)} accounts, "
            f"timeline continuous ({o['entries_before']} entries before the move), head {o['head']}"
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
        "ethics_members": info.ethics_count,
        "ethics_threshold": info.ethics_threshold,
        "registered_outcomes_hash": info.outcomes_hash,
        "amended_outcomes_hash": info.amended_outcomes_hash,
    }


COMMANDS = [trial]
