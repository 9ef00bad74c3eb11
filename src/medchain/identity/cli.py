"""`medchain did ...`: create and manage did:ethr identities on the DIDRegistry.

Every change can be sent directly (`--account` pays and must own the DID) or, with
`--sign-only`, printed as an EIP-712 signed request (JSON) that another account submits
with `medchain did relay <file>`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from medchain.cli.options import (
    DURATION,
    FILE,
    IN_FILE,
    ContractChoice,
    connected_command,
    contract_commands,
    contract_option,
    keys_dir_option,
    read_text_file,
    require_account,
)
from medchain.cli.render import emit, note
from medchain.errors import InvalidInput
from medchain.identity import DIDRegistryClient
from medchain.timeutil import DAY


@click.group()
def did() -> None:
    """did:ethr identities: create, resolve, keys, delegates, services, owners."""


COMMANDS = [did]


# ---------------------------------------------------------------------- helpers
registry_option = contract_option("registry", DIDRegistryClient)
did_command = contract_commands(did, registry_option)
validity_option = click.option(
    "--validity",
    type=DURATION,
    default=365 * DAY,
    show_default=True,
    help="How long it stays valid: seconds, or 30d / 12h.",
)


did_option = click.option(
    "--did", "did_text", default=None, help="DID or address (default: --account's)."
)
delegate_type_option = click.option(
    "--type",
    "delegate_type",
    type=click.Choice(["veriKey", "sigAuth"]),
    default="veriKey",
    show_default=True,
)


def change_command(name: str) -> Any:
    """A `did_command` that changes a DID: sent now, or signed for a relayer (`--sign-only`)."""

    def decorate(fn: Any) -> Any:
        return did_command(name)(_signing_options(fn))

    return decorate


def _signing_options(fn: Any) -> Any:
    fn = click.option(
        "--sign-only",
        "sign_only",
        is_flag=True,
        help="Do not send: print an EIP-712 signed request for `medchain did relay`.",
    )(fn)
    fn = click.option(
        "--out",
        "out_path",
        type=FILE,
        default=None,
        help="With --sign-only: write the request to this file instead of stdout.",
    )(fn)
    fn = click.option(
        "--ttl",
        default=3600,
        show_default=True,
        help="With --sign-only: seconds until the deadline.",
    )(fn)
    fn = click.option(
        "--signer-address",
        default=None,
        help="With --sign-only: the owner is this ERC-1271 contract wallet; --account is its key.",
    )(fn)
    return fn


def _identity(client: Any, identity: str | None, account: Any) -> str:
    from medchain.identity import to_did

    if identity is None:
        return str(require_account(account).address)
    return to_did(identity, client.chain_id).address


def _submit(
    client: Any, account: Any, identity: str, op: Any, opts: dict[str, Any]
) -> dict[str, Any] | None:
    """Send `op` for `identity` now and return what happened, or sign it: written to
    `--out` (returned as such), else printed as the request document itself (None)."""
    from medchain.identity import format_did

    require_account(account)
    ops = op if isinstance(op, list) else [op]
    if opts["sign_only"]:
        op = ops if len(ops) > 1 else ops[0]
        request = client.sign(
            account, op, identity, signer_address=opts["signer_address"], ttl=opts["ttl"]
        )
        text = request.to_json()
        if opts["out_path"]:
            opts["out_path"].write_text(text + "\n")
            return {"signed_request": str(opts["out_path"]), "type": request.primary_type}
        emit(json.loads(text), human=lambda _: text)
        return None
    if len(ops) > 1:
        receipt = client.batch(identity, ops, sender=account)
    else:
        kind = ("changeOwner", "addDelegate", "revokeDelegate", "setAttribute", "revokeAttribute")
        receipt = client.transact(kind[ops[0].kind], identity, *_op_args(ops[0]), sender=account)
    return {
        "did": format_did(identity, client.chain_id),
        "transaction": str(receipt.txn_hash),
        "block": int(receipt.block_number),
        "gas_used": int(receipt.gas_used),
    }


def _op_args(op: Any) -> list[Any]:
    return [
        [op.account],
        [op.name, op.account, op.validity],
        [op.name, op.account],
        [op.name, op.value, op.validity],
        [op.name, op.value],
    ][op.kind]


def _value_bytes(value: str) -> bytes:
    if value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError as exc:
            raise InvalidInput(f"--value {value!r} is not hex") from exc
    return value.encode()


def _change(
    registry: ContractChoice, account: Any, did_text: str | None, op: Any, opts: dict[str, Any]
) -> dict[str, Any] | None:
    """`_submit` the operation `op(client)` builds for the DID named (default: --account's)."""
    client = registry.bind(account)
    return _submit(client, account, _identity(client, did_text, account), op(client), opts)


def _emit_result(result: dict[str, Any] | None, as_json: bool) -> None:
    """The outcome of `_submit`, unless it printed a signed request already."""
    if result is not None:
        emit(result, as_json)


# ---------------------------------------------------------------------- commands
@change_command("create")
@validity_option
@click.option(
    "--passphrase", default=None, help="Encrypt the stored private key (scrypt + AES-GCM)."
)
@keys_dir_option
@click.option(
    "--rotate",
    "mode",
    flag_value="rotate",
    default=None,
    help="The DID already publishes keys: revoke them and publish the new one (one batch).",
)
@click.option(
    "--add",
    "mode",
    flag_value="add",
    help="The DID already publishes keys: publish the new one beside them.",
)
def create(
    account: Any,
    registry: ContractChoice,
    validity: int,
    passphrase: str | None,
    keys_dir: Path | None,
    mode: str | None,
    as_json: bool,
    **opts: Any,
) -> None:
    """Create the DID of --account: generate an X25519 encryption key, keep the private key
    locally, publish the public key as did/pub/X25519/enc/base64. If the DID already
    publishes a key this refuses, unless --rotate (revoke the published keys, publish the
    new one: senders stop sealing to the old keys) or --add (publish one more)."""
    from medchain.identity import DIDKeyExists, DIDResolver, Operation, format_did, to_did
    from medchain.keystore import X25519_ENC_ATTRIBUTE, KeyStore, publish_key_operation

    client = registry.bind(account)
    identity = str(require_account(account).address)
    did_text = format_did(identity, client.chain_id)
    resolver = DIDResolver.connected(client)
    published = resolver.resolve(to_did(did_text, client.chain_id)).key_agreement
    if published and mode is None:
        raise DIDKeyExists(
            f"{did_text} already publishes {len(published)} encryption key(s): "
            "pass --rotate to replace them or --add to publish another"
        )
    _, stored = KeyStore(keys_dir).generate(did_text, passphrase)
    ops = [publish_key_operation(stored.public_key, validity)]
    if mode == "rotate":
        ops = [Operation.revoke_attribute(X25519_ENC_ATTRIBUTE, raw) for _, raw in published] + ops
    result = _submit(client, account, identity, ops, opts)
    if result is None:
        note(f"# key stored in {stored.path}")
        return
    emit(
        {
            **result,
            "did": did_text,
            "public_key": "0x" + stored.public_key.hex(),
            "key_file": str(stored.path),
            "encrypted_at_rest": stored.encrypted,
        },
        as_json,
    )


@did_command("resolve")
@click.argument("did_text", metavar="DID")
@click.option("--plain", is_flag=True, help="application/did+json (no @context).")
def resolve_cmd(account: Any, registry: ContractChoice, did_text: str, plain: bool) -> None:
    """Print the DID resolution result (document + metadata) as JSON."""
    from medchain.identity import DIDResolver, to_did

    resolver = DIDResolver.connected(registry.address)
    result = resolver.resolve(to_did(did_text, resolver.chain_id), ld_context=not plain)
    emit(result.to_dict(), human=lambda doc: json.dumps(doc, indent=2))


@did_command("show")
@click.argument("did_text", metavar="[DID]", required=False)
@keys_dir_option
def show(
    account: Any,
    registry: ContractChoice,
    did_text: str | None,
    keys_dir: Path | None,
    as_json: bool,
) -> None:
    """Summarise a DID (default: --account's): owner, keys, delegates, services, local keys."""
    from medchain.identity import DIDResolver, format_did, to_did
    from medchain.keystore import KeyStore

    resolver = DIDResolver.connected(registry.address)
    parsed = to_did(did_text or str(require_account(account).address), resolver.chain_id)
    result = resolver.resolve(parsed)
    doc = result.did_document or {}
    controller = next(
        (m for m in doc.get("verificationMethod", []) if m["id"].endswith("#controller")), None
    )
    did_str = format_did(parsed.address, parsed.chain_id)
    local = KeyStore(keys_dir).list(did_str) if (keys_dir or _home_set()) else []
    summary = {
        "did": parsed.did,
        "owner": controller["blockchainAccountId"].rsplit(":", 1)[-1] if controller else None,
        "deactivated": result.deactivated,
        "version": result.did_document_metadata.get("versionId"),
        "key_agreement": [
            {"id": kid, "public_key": "0x" + pk.hex()} for kid, pk in result.key_agreement
        ],
        "delegates": [
            {"id": d["id"], "account": d["blockchainAccountId"]} for d in result.delegates()
        ],
        "services": [
            {"id": s["id"], "type": s["type"], "endpoint": s["serviceEndpoint"]}
            for s in result.services()
        ],
        "local_keys": [
            {"public_key": "0x" + k.public_key.hex(), "file": str(k.path), "encrypted": k.encrypted}
            for k in local
        ],
    }
    emit(summary, as_json)


def _home_set() -> bool:
    import os

    return bool(os.environ.get("MEDCHAIN_HOME"))


@change_command("add-key")
@click.argument("did_text", metavar="[DID]", required=False)
@click.option(
    "--algorithm",
    type=click.Choice(["X25519", "Ed25519", "Secp256k1"]),
    default="X25519",
    show_default=True,
)
@click.option(
    "--purpose",
    type=click.Choice(["enc", "veriKey", "sigAuth"]),
    default=None,
    help="Default: enc for X25519, veriKey otherwise.",
)
@click.option(
    "--encoding",
    type=click.Choice(["hex", "base64", "base58"]),
    default=None,
    help="Encoding hint in the attribute name (default base64 for X25519, hex else).",
)
@click.option(
    "--public-key",
    default=None,
    help="Hex public key to publish; without it an X25519 key is generated and stored.",
)
@validity_option
@click.option(
    "--passphrase",
    default=None,
    envvar="MEDCHAIN_KEY_PASSPHRASE",
    help="Encrypt the stored private key; also $MEDCHAIN_KEY_PASSPHRASE.",
)
@keys_dir_option
def add_key(
    account: Any,
    registry: ContractChoice,
    did_text: str | None,
    algorithm: str,
    purpose: str | None,
    encoding: str | None,
    public_key: str | None,
    validity: int,
    passphrase: str | None,
    keys_dir: Path | None,
    as_json: bool,
    **opts: Any,
) -> None:
    """Publish a public key on a DID (did/pub/<algorithm>/<purpose>/<encoding>)."""
    from medchain.identity import Operation, format_did
    from medchain.keystore import KeyStore

    client = registry.bind(account)
    identity = _identity(client, did_text, account)
    purpose = purpose or ("enc" if algorithm == "X25519" else "veriKey")
    encoding = encoding or ("base64" if algorithm == "X25519" else "hex")
    extra: dict[str, Any] = {}
    if public_key is None:
        if algorithm != "X25519":
            raise InvalidInput("only X25519 keys are generated here: pass --public-key for others")
        _, stored = KeyStore(keys_dir).generate(format_did(identity, client.chain_id), passphrase)
        raw = stored.public_key
        extra = {"key_file": str(stored.path)}
    else:
        raw = _value_bytes(public_key if public_key.startswith("0x") else "0x" + public_key)
    name = f"did/pub/{algorithm}/{purpose}/{encoding}"
    result = _submit(client, account, identity, Operation.set_attribute(name, raw, validity), opts)
    _emit_result(
        {**result, "attribute": name, "public_key": "0x" + raw.hex(), **extra}
        if result is not None
        else None,
        as_json,
    )


@change_command("add-delegate")
@click.argument("delegate")
@did_option
@delegate_type_option
@validity_option
def add_delegate(
    account: Any,
    registry: ContractChoice,
    delegate: str,
    did_text: str | None,
    delegate_type: str,
    validity: int,
    as_json: bool,
    **opts: Any,
) -> None:
    """Add DELEGATE (address) as a veriKey/sigAuth delegate for --validity seconds."""
    from medchain.identity import Operation

    op = Operation.add_delegate(delegate_type, delegate, validity)
    _emit_result(_change(registry, account, did_text, lambda _: op, opts), as_json)


@change_command("add-service")
@click.argument("service_type")
@click.argument("endpoint")
@did_option
@validity_option
def add_service(
    account: Any,
    registry: ContractChoice,
    service_type: str,
    endpoint: str,
    did_text: str | None,
    validity: int,
    as_json: bool,
    **opts: Any,
) -> None:
    """Publish service SERVICE_TYPE at ENDPOINT (a URL or JSON) as did/svc/<type>."""
    from medchain.identity import Operation

    op = Operation.set_attribute(f"did/svc/{service_type}", endpoint.encode(), validity)
    _emit_result(_change(registry, account, did_text, lambda _: op, opts), as_json)


@change_command("revoke")
@did_option
@click.option("--delegate", default=None, help="Revoke this delegate address.")
@delegate_type_option
@click.option(
    "--attribute", default=None, help="Revoke this attribute name (did/pub/..., did/svc/...)."
)
@click.option("--value", default=None, help="The attribute's value: 0x-hex, or text (service URL).")
def revoke(
    account: Any,
    registry: ContractChoice,
    did_text: str | None,
    delegate: str | None,
    delegate_type: str,
    attribute: str | None,
    value: str | None,
    as_json: bool,
    **opts: Any,
) -> None:
    """Revoke a delegate (--delegate) or an attribute (--attribute with --value)."""
    from medchain.identity import Operation

    if (delegate is None) == (attribute is None):
        raise InvalidInput("say what to revoke: --delegate ADDRESS or --attribute NAME --value V")
    if attribute is not None and value is None:
        raise InvalidInput("--attribute needs the --value it was published with")
    op = (
        Operation.revoke_delegate(delegate_type, delegate)
        if delegate
        else Operation.revoke_attribute(str(attribute), _value_bytes(str(value)))
    )
    _emit_result(_change(registry, account, did_text, lambda _: op, opts), as_json)


@change_command("change-owner")
@click.argument("new_owner")
@did_option
@click.option(
    "--deactivate",
    is_flag=True,
    help="Required when NEW_OWNER is the zero address: deactivation is permanent.",
)
def change_owner(
    account: Any,
    registry: ContractChoice,
    new_owner: str,
    did_text: str | None,
    deactivate: bool,
    as_json: bool,
    **opts: Any,
) -> None:
    """Transfer control of a DID to NEW_OWNER (an address or did:ethr), or deactivate it
    for good with NEW_OWNER 0x0 (any spelling of the zero address) and --deactivate."""
    from medchain.identity import Operation, to_did

    is_zero = new_owner.startswith("0x") and len(new_owner) > 2 and set(new_owner[2:]) <= {"0"}
    if is_zero and not deactivate:
        raise InvalidInput("the zero address deactivates the DID permanently: add --deactivate")
    if deactivate and not is_zero:
        raise InvalidInput("--deactivate goes with NEW_OWNER 0x0 (it hands the DID to nobody)")

    def hand_over(client: Any) -> Any:
        if is_zero:
            return Operation.change_owner("0x" + "00" * 20)
        target = to_did(new_owner, client.chain_id)
        if target.chain_id != client.chain_id:
            raise InvalidInput(f"NEW_OWNER {new_owner} is a DID of another chain")
        return Operation.change_owner(target.address)

    _emit_result(_change(registry, account, did_text, hand_over, opts), as_json)


@did_command("invalidate-signatures")
def invalidate_signatures(account: Any, registry: ContractChoice, as_json: bool) -> None:
    """Cancel every signed but unsent request of --account (burns its next nonce)."""
    sender = require_account(account)
    client = registry.bind(sender)
    before = client.nonce(sender)
    receipt = client.invalidate_nonce(sender=sender)
    emit(
        {
            "owner": str(sender.address),
            "invalidated_nonce": before,
            "next_nonce": client.nonce(sender),
            "transaction": str(receipt.txn_hash),
        },
        as_json,
    )


@did_command("relay")
@click.argument("request_file", type=IN_FILE)
def relay(account: Any, registry: ContractChoice, request_file: Path, as_json: bool) -> None:
    """Submit a signed request (from --sign-only) from --account, which pays the gas."""
    from medchain.identity import format_did, read_signed_request

    request = read_signed_request(read_text_file(request_file, "signed request"))
    client = registry.bind(require_account(account))
    receipt = client.relay(request)
    identity = request.message["identity"]
    emit(
        {
            "did": format_did(identity, client.chain_id),
            "type": request.primary_type,
            "signer": request.message["signer"],
            "transaction": str(receipt.txn_hash),
            "block": int(receipt.block_number),
        },
        as_json,
    )


# ---------------------------------------------------------------------- migration
from_option = click.option(
    "--from", "old", required=True, metavar="ADDRESS", help="The old DIDRegistry (predecessor)."
)
at_block_option = click.option(
    "--at-block",
    type=int,
    default=None,
    help="Read the chain as of this block (default: the head): members voting on a root "
    "pass the block it was made at and get the same root.",
)
from_block_option = click.option(
    "--from-block",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Read both registries' logs from this block on: the old registry's deployment "
    "block (its address book record's block_number) spares a long chain's history.",
)


def _plan(old: str, new: str | None, at_block: int | None, from_block: int) -> Any:
    from ape import chain

    from medchain.codec import to_address
    from medchain.identity.migrate import history_root

    web3 = chain.provider.web3
    target = None if new is None else to_address(new, "--to")
    return history_root(
        web3, to_address(old, "--from"), target, at_block=at_block, from_block=from_block
    )


@connected_command(did, "migrate-root")
@from_option
@click.option(
    "--to",
    "new",
    default=None,
    metavar="ADDRESS",
    help="The new DIDRegistry: leave out what it imported already (a delta root).",
)
@at_block_option
@from_block_option
def migrate_root(
    account: Any, old: str, new: str | None, at_block: int | None, from_block: int, as_json: bool
) -> None:
    """Print the history root to vote on (addHistoryRoot) for moving every identity of
    --from into --to, recomputed from the old registry's public logs; with --to, also its
    import deadline, the time by which the vote and the import must be done."""
    plan = _plan(old, new, at_block, from_block)
    summary = plan.summary()
    if plan.new is not None:
        summary["import_deadline"] = _deadline(plan.new)
    emit(summary, as_json)


def _deadline(new: str) -> int:
    """The new registry's import deadline, with a note on stderr when it guards nothing
    (judged by the chain's time, which the contract compares against)."""
    from ape import chain

    from medchain.identity.migrate import import_deadline

    deadline = import_deadline(chain.provider.web3, new)
    if deadline == 0:
        note(
            f"{new} has no import deadline: until an identity is imported, a key the old "
            "registry revoked can take it over there (deploy successors with a deadline, "
            "days after the planned root vote; docs/upgrades.md)"
        )
    elif deadline <= chain.blocks.head.timestamp:
        note(
            f"{new}'s import deadline has passed: identities not imported yet are no "
            "longer guarded against their old keys (see exposed_until_import)"
        )
    return deadline


@connected_command(did, "migrate")
@from_option
@click.option("--to", "new", required=True, metavar="ADDRESS", help="The new DIDRegistry.")
@at_block_option
@from_block_option
@click.option(
    "--max-changes",
    type=click.IntRange(1, 500),
    default=40,
    show_default=True,
    help="Changes per importHistories transaction.",
)
def migrate(
    account: Any,
    old: str,
    new: str,
    at_block: int | None,
    from_block: int,
    max_changes: int,
    as_json: bool,
) -> None:
    """Import every identity of --from into --to under the root voted for --at-block
    (anyone may send it: --account pays), then check both registries answer alike."""
    from ape import chain

    from medchain.identity.migrate import import_histories, verify

    sender = require_account(account)
    plan = _plan(old, new, at_block, from_block)
    client = DIDRegistryClient.at(plan.new or new, sender)
    result = import_histories(client, plan, max_changes=max_changes, log=note)
    check = verify(
        chain.provider.web3, plan.old, client.address, chain.provider.chain_id, from_block
    )
    _deadline(client.address)
    emit(
        {
            **plan.summary(),
            "transactions": [str(r.txn_hash) for r in result.receipts],
            "gas_used": result.gas_used,
            "imported_already": len(result.already),
            "blocked_native": result.blocked,
            "verified_equal": len(check.equal),
            "delegates_checked": check.delegates_checked,
            "pending_delta": check.pending_delta,
            "native": check.native,
            "suspect_takeover": check.suspect,
            "import_deadline": check.import_deadline,
            "exposed_until_import": check.exposed,
        },
        as_json,
    )
