"""`medchain zk …`: zero-knowledge eligibility (docs/zk.md).

holder    create the patient's secret (a 0600 file) and print its public commitment
criteria  write a verifier's criteria file and print its hash (offline)
issue     issuer: append a credential to its tree, seal it to the patient, store it
receive   patient: open a sealed credential (CID or file) with the DID's X25519 key
prove     patient: prove a credential meets criteria for a verifier's scope (snarkjs)
verify    verifier: check (--check, a dry run) or spend a proof in its scope
revoke    issuer: zero a credential; every earlier root of its tree stops verifying
tree      an issuer's tree (size, root, roots kept)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from medchain.cli.options import (
    FILE,
    ContractChoice,
    contract_commands,
    contract_option,
    offline_command,
    read_json_file,
    require_account,
)
from medchain.cli.render import emit
from medchain.errors import InvalidInput
from medchain.files import write_json
from medchain.trials import TrialsClient
from medchain.zk import (
    Credential,
    CredType,
    Criteria,
    EligibilityClient,
    Holder,
    Proof,
    date_int,
    encode_code,
    open_credential,
    seal_credential,
)
from medchain.zk.client import sealed_recipients


@click.group()
def zk() -> None:
    """Zero-knowledge eligibility: credentials, proofs, verification."""


gate_option = contract_option("gate", EligibilityClient)
zk_command = contract_commands(zk, gate_option)


def _cred_type(text: str) -> int:
    try:
        return int(text) if text.isdigit() else int(CredType[text.strip().upper()])
    except KeyError:
        names = ", ".join(t.name.lower() for t in CredType)
        raise InvalidInput(
            f"unknown credential type {text!r} (one of {names}, or a number)"
        ) from None


def _int(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise InvalidInput(f"{what}: not a number: {text!r}") from None


@offline_command(zk, "holder")
@click.option(
    "--out",
    type=FILE,
    required=True,
    help="New file for the secret (0600, never overwritten).",
)
def holder_cmd(out: Path, as_json: bool) -> None:
    """Create a holder secret; give the printed commitment to issuers."""
    h = Holder.new()
    h.save(out)
    emit({"commitment": hex(h.commitment), "saved": str(out)}, as_json)


@offline_command(zk, "criteria")
@click.option(
    "--type", "cred_type", required=True, help="vaccination | diagnosis | demographic | N"
)
@click.option("--date-min", default=None, help="Earliest credential date (YYYY-MM-DD).")
@click.option("--date-max", default=None, help="Latest credential date (YYYY-MM-DD).")
@click.option("--min-age", type=int, default=0)
@click.option("--max-age", type=int, default=255)
@click.option(
    "--any-of", multiple=True, help="A code of which the credential must hold one (<= 4)."
)
@click.option("--none-of", multiple=True, help="A code the credential must not hold (<= 4).")
@click.option("--out", type=FILE, default=None)
def criteria_cmd(
    cred_type: str,
    date_min: str | None,
    date_max: str | None,
    min_age: int,
    max_age: int,
    any_of: tuple[str, ...],
    none_of: tuple[str, ...],
    out: Path | None,
    as_json: bool,
) -> None:
    """Write criteria (the public parameters a verifier asks for) and print their hash."""
    c = Criteria(
        _cred_type(cred_type),
        date_int(date_min) if date_min else 19000101,
        date_int(date_max) if date_max else 99991231,
        min_age,
        max_age,
        tuple(encode_code(x) for x in any_of),
        tuple(encode_code(x) for x in none_of),
    )
    data = c.to_json()
    if out:
        out.write_text(json.dumps(data, indent=1) + "\n")
    emit(
        data, as_json, human=lambda d: f"criteria hash {d['hash']}" + (f" -> {out}" if out else "")
    )


def _criteria(path: Path) -> Criteria:
    return Criteria.from_json(read_json_file(path, "criteria file"))


@zk_command("issue")
@click.option(
    "--holder", "holder_commitment", required=True, help="The patient's holder commitment (0x...)."
)
@click.option("--type", "cred_type", required=True)
@click.option("--date", "on", required=True, help="Date attested (YYYY-MM-DD).")
@click.option("--birth-date", required=True, help="The patient's birth date (YYYY-MM-DD).")
@click.option("--code", "codes", multiple=True, required=True, help="Code attested (1..4).")
@click.option("--to", "to", default=None, help="Seal to this patient DID/address's X25519 key.")
@click.option("--to-key", default=None, help="Or to this X25519 public key (hex).")
@click.option(
    "--out",
    type=FILE,
    default=None,
    help="Also write the sealed credential to this file.",
)
@click.option(
    "--no-store", is_flag=True, help="Do not add the sealed credential to the content store."
)
def issue_cmd(
    account: Any,
    gate: ContractChoice,
    holder_commitment: str,
    cred_type: str,
    on: str,
    birth_date: str,
    codes: tuple[str, ...],
    to: str | None,
    to_key: str | None,
    out: Path | None,
    no_store: bool,
    as_json: bool,
) -> None:
    """Issue a credential: its commitment goes on chain, its content to the patient, sealed."""
    if not (to or to_key):
        raise InvalidInput("give --to <patient DID or address> or --to-key <X25519 hex>")
    cred = Credential(
        _int(holder_commitment, "--holder"),
        _cred_type(cred_type),
        date_int(on),
        date_int(birth_date),
        tuple(encode_code(c) for c in codes),
    )
    if to_key:
        publics = [bytes.fromhex(to_key.removeprefix("0x"))]
    else:
        from medchain.records import recipients_for

        publics = [r.public_key for r in recipients_for(to)]  # every device's key
    client = gate.bind(require_account(account))
    sealed = seal_credential(cred, publics, chain_id=client.chain_id, registry=client.address)
    issued = client.issue(cred)
    result: dict[str, Any] = {
        "index": issued.index,
        "leaf": hex(issued.leaf),
        "root": hex(issued.root),
        "tx": issued.tx,
    }
    if out:
        out.write_bytes(sealed)
        result["saved"] = str(out)
    if not no_store:
        from medchain.storage import open_store

        result["cid"] = str(open_store().add(sealed))
    emit(result, as_json)


@zk_command("receive")
@click.argument("source")
@click.option("--did", required=True, help="The patient's DID whose stored X25519 key opens it.")
@click.option("--passphrase-file", type=FILE, default=None)
@click.option("--out", type=FILE, required=True)
def receive_cmd(
    account: Any,
    gate: ContractChoice,
    source: str,
    did: str,
    passphrase_file: Path | None,
    out: Path,
    as_json: bool,
) -> None:
    """Open a sealed credential (a CID or a file) and keep it (0600)."""
    from medchain.keystore import KeyStore

    blob = Path(source).read_bytes() if Path(source).exists() else None
    if blob is None:
        from medchain.storage import open_store

        blob = open_store().cat(source)
    passphrase = passphrase_file.read_text().strip() if passphrase_file else None
    key = KeyStore().load_any(did, sealed_recipients(blob), passphrase=passphrase)
    client = gate.bind(account)
    cred = open_credential(blob, key, chain_id=client.chain_id, registry=client.address)
    write_json(out, cred.to_json(), indent=1, private=True, overwrite=False)
    emit({**cred.to_json(), "saved": str(out)}, as_json)


@zk_command("prove")
@click.option("--holder", "holder_file", type=FILE, required=True)
@click.option("--credential", type=FILE, required=True)
@click.option("--criteria", "criteria_file", type=FILE, required=True)
@click.option("--issuer", required=True, help="The issuer's address.")
@click.option(
    "--verifier",
    default=None,
    help="The verifier's address (the account or contract that spends it).",
)
@click.option(
    "--context", default="0", help="The verifier's context in its scope (e.g. a venue's event id)."
)
@click.option("--trial", type=int, default=None, help="Prove for this trial (of --registry).")
@contract_option("registry", TrialsClient, what="TrialRegistry of --trial")
@click.option("--out", type=FILE, required=True)
def prove_cmd(
    account: Any,
    gate: ContractChoice,
    holder_file: Path,
    credential: Path,
    criteria_file: Path,
    issuer: str,
    verifier: str | None,
    context: str,
    trial: int | None,
    registry: ContractChoice,
    out: Path,
    as_json: bool,
) -> None:
    """Prove, without revealing the credential, that it meets the criteria (~2 s)."""
    holder = Holder.load(holder_file)
    cred = Credential.from_json(read_json_file(credential, "credential"))
    crit = _criteria(criteria_file)
    if trial is not None:
        trials = registry.bind()
        demanded = trials.eligibility(trial)
        if demanded is None:
            raise InvalidInput(f"trial {trial} demands no eligibility proof")
        if demanded[2] != crit.hash():
            raise InvalidInput(
                f"trial {trial} demands criteria {hex(demanded[2])}, not {hex(crit.hash())}"
            )
        verifier, ctx = trials.address, trial
    elif verifier is None:
        raise InvalidInput("give --verifier <address> (and --context) or --trial <id>")
    else:
        ctx = _int(context, "--context")
    client = gate.bind(account)
    proof = client.prove(holder, cred, crit, issuer=issuer, verifier=verifier, context=ctx)
    out.write_text(json.dumps(proof.to_json(), indent=1) + "\n")
    emit(
        {
            "nullifier": hex(proof.nullifier),
            "scope": hex(proof.scope),
            "root": hex(proof.root),
            "seconds": round(proof.seconds, 2),
            "saved": str(out),
        },
        as_json,
    )


@zk_command("verify")
@click.argument("proof_file", type=FILE)
@click.option("--issuer", required=True)
@click.option("--criteria", "criteria_text", required=True, help="Criteria file or hash (0x...).")
@click.option("--context", default="0")
@click.option(
    "--check",
    "verifier",
    default=None,
    help="Only check (a dry run) whether this verifier address would accept it.",
)
def verify_cmd(
    account: Any,
    gate: ContractChoice,
    proof_file: Path,
    issuer: str,
    criteria_text: str,
    context: str,
    verifier: str | None,
    as_json: bool,
) -> None:
    """Verify a proof on chain: spend it in the account's scope, or --check for a verifier."""
    proof = Proof.from_json(read_json_file(proof_file, "proof"))
    chash = (
        _int(criteria_text, "--criteria")
        if criteria_text.startswith("0x")
        else _criteria(Path(criteria_text)).hash()
    )
    ctx = _int(context, "--context")
    if verifier:
        scope = gate.bind(account).check(
            proof, verifier=verifier, issuer=issuer, criteria_hash=chash, context=ctx
        )
        emit({"valid": True, "spent": False, "scope": hex(scope)}, as_json)
        return
    receipt = gate.bind(require_account(account)).verify(
        proof, issuer=issuer, criteria_hash=chash, context=ctx
    )
    emit(
        {
            "valid": True,
            "spent": True,
            "nullifier": hex(proof.nullifier),
            "gas": int(receipt.gas_used),
            "tx": str(receipt.txn_hash),
        },
        as_json,
    )


@zk_command("revoke")
@click.option("--leaf", required=True, help="The credential's leaf (0x...).")
def revoke_cmd(account: Any, gate: ContractChoice, leaf: str, as_json: bool) -> None:
    """Revoke one of the account's credentials (re-roots its tree)."""
    sender = require_account(account)
    root = gate.bind(sender).revoke(sender, _int(leaf, "--leaf"))
    emit({"revoked": leaf, "root": hex(root)}, as_json)


@zk_command("tree")
@click.argument("issuer")
def tree_cmd(account: Any, gate: ContractChoice, issuer: str, as_json: bool) -> None:
    """An issuer's tree: credentials issued, current root, its number, first valid number."""
    size, root, seq, valid_from = gate.bind(account).call("tree", issuer)
    emit(
        {
            "issuer": issuer,
            "size": int(size),
            "root": hex(int(root)),
            "rootSeq": int(seq),
            "validFrom": int(valid_from),
        },
        as_json,
    )


COMMANDS = [zk]
