"""`medchain genomics …`: owners list encrypted genome files as dataset tokens (with the
producing lab's authorisation), publish licence offers, run the key-delivery agent,
withdraw shares, pause or retire datasets; researchers browse datasets (and one dataset's
metadata) and offers, buy (EIP-712 signed terms), wait for the key, download with a
progress bar, verify and decrypt, accept or dispute the key, and list their licences;
the admin accredits labs and allowlists currencies; the arbiter settles disputes.
Every command takes `--json`."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from ape.cli.choices import AccountAliasPromptChoice

from medchain.cli.base import connected_command, emit, json_option, quietly, require_account
from medchain.errors import InvalidInput
from medchain.genomics import ETH, GenomicsClient, NotLicensed, licence_id_of
from medchain.genomics.duo import codes, expand, mask

DAY = 86_400
_BAR_THRESHOLD = 8 << 20


@click.group()
def genomics() -> None:
    """Genomic data licensing: dataset tokens, DUO-purpose licences, escrowed key delivery."""


ipfs_option = click.option(
    "--ipfs", "ipfs_url", default=None, envvar="MEDCHAIN_IPFS_API",
    help="Kubo RPC API URL (default: the embedded store under $MEDCHAIN_HOME/ipfs).",
)  # fmt: skip
keyring_option = click.option(
    "--keyring", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Dataset key file (default: $MEDCHAIN_HOME/genomics/keyring-<owner>.json).",
)  # fmt: skip


_MARKET: dict[str, str | None] = {"address": None}


def _remember_market(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    _MARKET["address"] = value


# Every command takes --market; it is remembered here rather than threaded through
# each signature (one process runs one command).
market_option = click.option(
    "--market", default=None, envvar="MEDCHAIN_GENOMICS_MARKET", expose_value=False,
    callback=_remember_market, is_eager=True,
    help="GenomicLicensing address (default: the address book).",
)  # fmt: skip


def _client(account: Any = None) -> GenomicsClient:
    if _MARKET["address"]:
        return GenomicsClient.at(_MARKET["address"], sender=account)
    return GenomicsClient.connect(sender=account)


def _store(ipfs_url: str | None) -> Any:
    from medchain.storage import open_store

    return open_store(ipfs_url)


def _keyring(path: Path | None, owner: str) -> Any:
    from medchain.genomics.data import Keyring

    return Keyring(path) if path else Keyring.default(owner)


def _amount(text: str) -> int:
    """`1000` (base units), `0.01 ether`, `5 gwei`."""
    parts = text.replace("_", "").split()
    try:
        if len(parts) == 1:
            return int(parts[0])
        value, unit = parts
        scale = {"wei": 1, "gwei": 10**9, "ether": 10**18, "eth": 10**18}[unit.lower()]
        from decimal import Decimal

        return int(Decimal(value) * scale)
    except (ValueError, KeyError, ArithmeticError):
        raise InvalidInput(f"amount {text!r}: give base units or '<n> ether|gwei|wei'") from None


def _when(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds") if ts else "-"


@contextlib.contextmanager
def _progress(total: int | None, label: str, show: bool) -> Iterator[Any]:
    if not show:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    with Progress(
        TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(), transient=True
    ) as bars:
        task = bars.add_task(label, total=total)
        yield lambda n: bars.advance(task, n)


# -- owner -------------------------------------------------------------------------------


@connected_command(genomics, "list-dataset")
@market_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--assay", required=True, help="e.g. WGS, WES, genotyping array.")
@click.option("--reference", "reference_genome", required=True, help="e.g. GRCh38.")
@click.option("--coverage", default="", help="e.g. 30x.")
@click.option("--format", "file_format", default=None, help="VCF, FASTQ, BAM (default: suffix).")
@click.option("--lab-account", "lab", type=AccountAliasPromptChoice(), required=True,
              help="The producing lab's account (alias or TEST::<n>): it signs the listing; "
              "it must be an accredited producer (`genomics add-producer`).")  # fmt: skip
@click.option("--royalty-to", default=None, help="Who receives the royalty (the lab signs it).")
@click.option("--royalty-bps", default=0, type=int, show_default=True)
@ipfs_option
@keyring_option
@json_option
def list_dataset(account: Any, path: Path, assay: str, reference_genome: str, coverage: str,
                 file_format: str | None, lab: Any, royalty_to: str | None, royalty_bps: int,
                 ipfs_url: str | None, keyring: Path | None, as_json: bool) -> None:  # fmt: skip
    """Encrypt PATH, store it, and mint its dataset token to --account, authorised by the
    producing lab (--lab-account signs the EIP-712 listing)."""
    from medchain.genomics.data import list_genome
    from medchain.signing import unattended

    sender = require_account(account)
    lab = quietly(unattended, lab)  # the lab signs too: without a terminal, as --account does
    fmt = file_format or path.suffix.lstrip(".").removesuffix(".gz").upper() or "VCF"
    size = path.stat().st_size
    with _progress(size, "encrypt", size >= _BAR_THRESHOLD and not as_json) as advance:
        result = list_genome(
            _client(sender).dataset_client(), _store(ipfs_url), path,
            keyring=_keyring(keyring, sender.address), lab=lab, assay=assay,
            reference_genome=reference_genome, coverage=coverage, file_format=fmt,
            royalty_receiver=royalty_to or ETH, royalty_bps=royalty_bps, progress=advance,
        )  # fmt: skip
    emit({"dataset_id": result.dataset_id, "data_cid": result.data_cid,
          "metadata_cid": result.metadata_cid, "ciphertext_sha256": result.ciphertext_hash},
         as_json)  # fmt: skip


@connected_command(genomics, "offer")
@market_option
@click.argument("dataset_id", type=int)
@click.option("--price", required=True, help="Base units, or '<n> ether'.")
@click.option("--currency", default=ETH, help="ERC-20 address (default: ETH).")
@click.option("--days", default=90, type=int, show_default=True, help="Licence duration.")
@click.option("--purposes", required=True, help="DUO codes, e.g. 'HMB' or 'GRU,NPU,IRB'.")
@click.option("--delivery-days", default=3, type=int, show_default=True,
              help="Days you have to post the key after a purchase.")  # fmt: skip
@click.option("--review-days", default=3, type=int, show_default=True,
              help="Days the researcher has to check the key before escrow is released.")  # fmt: skip
@click.option("--max-licences", default=2**32 - 1, type=int)
@click.option("--terms-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Data-use agreement text; its sha256 is signed by buyers.")  # fmt: skip
@click.option("--no-expand", is_flag=True, help="Do not add purposes DUO implies (GRU > HMB > DS).")
@json_option
def offer(account: Any, dataset_id: int, price: str, currency: str, days: int, purposes: str,
          delivery_days: int, review_days: int, max_licences: int, terms_file: Path | None,
          no_expand: bool, as_json: bool) -> None:  # fmt: skip
    """Publish a licence offer on DATASET_ID."""
    import hashlib

    bits = mask(purposes) if no_expand else expand(mask(purposes))
    terms = hashlib.sha256(terms_file.read_bytes()).digest() if terms_file else b"\0" * 32
    offer_id = _client(require_account(account)).create_offer(
        dataset_id, price=_amount(price), duration=days * DAY, purposes=bits,
        delivery_window=delivery_days * DAY, review_window=review_days * DAY,
        max_licences=max_licences, currency=currency, terms_hash=terms,
    )  # fmt: skip
    emit({"offer_id": offer_id, "purposes": codes(bits)}, as_json)


@connected_command(genomics, "close-offer")
@market_option
@click.argument("offer_id", type=int)
@json_option
def close_offer(account: Any, offer_id: int, as_json: bool) -> None:
    """Close an offer (sold licences are unaffected)."""
    _client(require_account(account)).close_offer(offer_id)
    emit({"offer_id": offer_id, "open": False} if as_json else f"offer {offer_id} closed", as_json)


@connected_command(genomics, "serve-keys")
@market_option
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Cursor file (default: $MEDCHAIN_HOME/genomics/agent-<addr>.json).")  # fmt: skip
@click.option("--owner", "owners", multiple=True, help="Serve these owners' datasets (default: --account; "
              "they must have authorised --account with `genomics key-agent`).")  # fmt: skip
@click.option("--interval", default=2.0, show_default=True, type=float)
@click.option("--once", is_flag=True, help="Handle what is pending and exit.")
@click.option("--did-registry", default=None, help="DIDRegistry address (default: address book).")
@click.option("--from-block", default=None, type=int, help="First block to scan (default: deploy).")
@ipfs_option
@keyring_option
@json_option
def serve_keys(account: Any, state_path: Path | None, owners: tuple[str, ...], interval: float,
               once: bool, did_registry: str | None, from_block: int | None, ipfs_url: str | None,
               keyring: Path | None, as_json: bool) -> None:  # fmt: skip
    """Watch purchases and post each licensee's key envelope, sealed to the researcher's
    newest key-agreement key; release escrow whose review window passed (restart-safe).
    With --json, one JSON object per line for each outcome, then a summary."""
    import json

    from medchain.deployments import AddressBook
    from medchain.genomics.agent import KeyAgent
    from medchain.identity import key_agreement_keys
    from medchain.storage import default_home

    sender = require_account(account)
    start = from_block
    if start is None:
        start = (
            0
            if _MARKET["address"]
            else AddressBook.for_connected_network().get("GenomicLicensing").block_number
        )
    owner = owners[0] if owners else sender.address
    path = state_path or default_home() / "genomics" / f"agent-{sender.address.lower()}.json"

    def log_outcome(line: str) -> None:
        if not as_json:
            click.echo(line)

    def log_json(outcome: Any) -> None:
        click.echo(json.dumps({"licence_id": hex(outcome.licence_id), "action": outcome.action,
                               "envelope_cid": outcome.envelope_cid}))  # fmt: skip

    agent = KeyAgent(
        _client(sender), _store(ipfs_url), _keyring(keyring, owner), path,
        lambda address: key_agreement_keys(address, did_registry), owners=set(owners) or None,
        start_block=start, log=log_outcome, on_outcome=log_json if as_json else None,
    )  # fmt: skip
    if not as_json:
        click.echo(f"serving keys as {sender.address}; cursor {path}")
    delivered = agent.run(interval=interval, max_polls=1 if once else None)
    summary = {"delivered_total": delivered, "released_total": agent.state.released,
               "waiting": len(agent.state.waiting), "reviewing": len(agent.state.reviewing),
               "cursor": str(path)}  # fmt: skip
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            f"{delivered} key(s) delivered, {agent.state.released} escrow(s) released in total"
        )


@connected_command(genomics, "key-agent")
@market_option
@click.argument("agent")
@click.option("--revoke", is_flag=True)
@json_option
def key_agent(account: Any, agent: str, revoke: bool, as_json: bool) -> None:
    """Authorise (or --revoke) AGENT to post key envelopes for your datasets."""
    _client(require_account(account)).set_key_agent(agent, not revoke)
    emit({"agent": agent, "allowed": not revoke} if as_json
         else f"{agent} {'revoked' if revoke else 'authorised'}", as_json)  # fmt: skip


@connected_command(genomics, "withdraw")
@market_option
@click.option("--currency", default=ETH, help="ERC-20 address (default: ETH).")
@json_option
def withdraw(account: Any, currency: str, as_json: bool) -> None:
    """Withdraw your released shares (owner, royalty, fee) or a refund a dispute awarded you."""
    amount = _client(require_account(account)).withdraw(currency)
    emit({"amount": amount, "currency": currency} if as_json
         else f"withdrew {amount} ({'wei' if currency == ETH else currency})", as_json)  # fmt: skip


@connected_command(genomics, "release")
@market_option
@click.argument("dataset_id", type=int)
@click.argument("researcher")
@json_option
def release(account: Any, dataset_id: int, researcher: str, as_json: bool) -> None:
    """Release the escrow of RESEARCHER's licence on DATASET_ID once its review window has
    passed undisputed (anyone may; `serve-keys` does it for you)."""
    licence_id = licence_id_of(dataset_id, researcher)
    _client(require_account(account)).release_escrow(licence_id)
    emit({"licence_id": hex(licence_id), "status": "released"} if as_json
         else f"escrow of licence {licence_id:#x} released", as_json)  # fmt: skip


def _state_command(name: str, doc: str) -> None:
    @connected_command(genomics, name, help=doc)
    @market_option
    @click.argument("dataset_id", type=int)
    @json_option
    def command(account: Any, dataset_id: int, as_json: bool) -> None:
        datasets = _client(require_account(account)).dataset_client()
        getattr(datasets, name)(dataset_id)
        state = datasets.state(dataset_id).name.lower()
        emit({"dataset_id": dataset_id, "state": state} if as_json
             else f"dataset {dataset_id}: {state}", as_json)  # fmt: skip


_state_command("pause", "Pause a dataset: no new licences until resumed.")
_state_command("resume", "Resume a paused dataset.")
_state_command("retire", "Retire a dataset for good (running licences run out).")


# -- browsing ----------------------------------------------------------------------------


@connected_command(genomics, "datasets")
@market_option
@click.option("--owner", default=None, help="Only this owner's datasets.")
@json_option
def datasets(account: Any, owner: str | None, as_json: bool) -> None:
    """List datasets with their public metadata references and state."""
    client = _client(account).dataset_client()
    rows = []
    for dataset_id in range(1, client.total() + 1):
        info = client.dataset(dataset_id)
        if owner and info.owner.lower() != owner.lower():
            continue
        rows.append({"dataset_id": dataset_id, "owner": info.owner, "state": info.state.name.lower(),
                     "metadata_cid": info.metadata_cid, "data_cid": info.data_cid,
                     "royalty": f"{info.royalty_bps / 100:.2f}% to {info.royalty_receiver}"})  # fmt: skip
    emit(rows, as_json)


@connected_command(genomics, "dataset")
@market_option
@click.argument("dataset_id", type=int)
@ipfs_option
@json_option
def dataset(account: Any, dataset_id: int, ipfs_url: str | None, as_json: bool) -> None:
    """Show DATASET_ID: owner, producing lab, state, royalty, CIDs and its public metadata
    document (assay, reference genome, coverage, format, size), checked against the token."""
    from medchain.genomics.data import read_metadata

    info = _client(account).dataset_client().dataset(dataset_id)
    row: dict[str, Any] = {
        "dataset_id": dataset_id, "owner": info.owner, "producer": info.producer,
        "state": info.state.name.lower(), "listed": _when(info.listed_at),
        "royalty": f"{info.royalty_bps / 100:.2f}% to {info.royalty_receiver}",
        "data_cid": info.data_cid, "ciphertext_sha256": info.ciphertext_hash,
        "metadata_cid": info.metadata_cid,
    }  # fmt: skip
    meta = read_metadata(_store(ipfs_url), info)
    row["metadata"] = {"assay": meta.assay, "reference_genome": meta.reference_genome,
                       "coverage": meta.coverage, "file_format": meta.file_format,
                       "plaintext_size": meta.plaintext_size}  # fmt: skip
    emit(row, as_json)


@connected_command(genomics, "offers")
@market_option
@click.option("--dataset", "dataset_id", type=int, default=None)
@click.option("--all", "show_all", is_flag=True, help="Include closed offers.")
@json_option
def offers(account: Any, dataset_id: int | None, show_all: bool, as_json: bool) -> None:
    """List licence offers (open ones by default)."""
    rows = [
        {"offer_id": o.offer_id, "dataset_id": o.dataset_id, "price": o.price,
         "currency": "ETH" if o.currency == ETH else o.currency, "days": o.duration // DAY,
         "delivery_days": o.delivery_window / DAY, "review_days": o.review_window / DAY,
         "purposes": codes(o.purposes), "sold": f"{o.sold}/{o.max_licences}", "open": o.active}
        for o in _client(account).offers(dataset_id, only_open=not show_all)
    ]  # fmt: skip
    emit(rows, as_json)


# -- researcher --------------------------------------------------------------------------


@connected_command(genomics, "buy")
@market_option
@click.argument("offer_id", type=int)
@click.option("--purposes", required=True, help="DUO purposes you will use the data for, e.g. HMB.")
@json_option
def buy(account: Any, offer_id: int, purposes: str, as_json: bool) -> None:
    """Sign the offer's data-use terms and pay into escrow (ERC-20: approves first)."""
    client = _client(require_account(account))
    o = client.offer(offer_id)
    bits = mask(purposes) | (o.purposes & 0xFFFF0000)  # accept the offer's modifiers
    if o.currency != ETH:
        from ape import Contract

        token = Contract(o.currency)
        if int(token.allowance(account.address, client.address)) < o.price:
            token.approve(client.address, o.price, sender=account)
    lic = client.buy(offer_id, bits)
    emit({"licence_id": hex(lic.licence_id), "dataset_id": lic.dataset_id,
          "purposes": codes(lic.purposes), "status": lic.status.name.lower(),
          "key_deadline": _when(lic.key_deadline), "days_from_delivery": o.duration // DAY,
          "review_days": o.review_window / DAY}, as_json)  # fmt: skip


@connected_command(genomics, "wait-key")
@market_option
@click.argument("dataset_id", type=int)
@click.option("--timeout", default=300.0, show_default=True, type=float)
@json_option
def wait_key(account: Any, dataset_id: int, timeout: float, as_json: bool) -> None:
    """Wait until the key envelope for your licence on DATASET_ID is posted."""
    from medchain.genomics.data import wait_for_key

    me = require_account(account).address
    cid, digest = wait_for_key(_client(account), licence_id_of(dataset_id, me), timeout=timeout)
    emit({"envelope_cid": cid, "envelope_sha256": digest} if as_json
         else f"key envelope posted: {cid}", as_json)  # fmt: skip


@connected_command(genomics, "download")
@market_option
@click.argument("dataset_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--purpose", default="HMB", show_default=True, help="DUO purpose you use it for.")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="X25519 private key file (default: the key store).")  # fmt: skip
@click.option("--keys-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--passphrase", envvar="MEDCHAIN_KEY_PASSPHRASE", default=None)
@click.option("--accept", is_flag=True,
              help="After a verified decrypt, accept the key (releases the escrow now).")  # fmt: skip
@ipfs_option
@json_option
def download(account: Any, dataset_id: int, out: Path, purpose: str, key_file: Path | None,
             keys_dir: Path | None, passphrase: str | None, accept: bool, ipfs_url: str | None,
             as_json: bool) -> None:  # fmt: skip
    """Fetch, verify and decrypt DATASET_ID (needs a running licence for --purpose)."""
    from medchain.crypto import KeyEnvelope
    from medchain.genomics.data import download as fetch

    me = require_account(account).address
    client, store = _client(account), _store(ipfs_url)
    found = client.delivered_envelope(licence_id_of(dataset_id, me))
    if found is None:
        from medchain.genomics.client import LicenceStatus

        if client.licence(licence_id_of(dataset_id, me)).status == LicenceStatus.NONE:
            raise NotLicensed(
                f"{me} holds no licence on dataset {dataset_id} "
                "(`genomics offers`, then `genomics buy OFFER`)"
            )
        raise NotLicensed(f"no key envelope posted for {me} on dataset {dataset_id} yet")
    if key_file is not None:
        from medchain.records.cli import load_private_key

        private = load_private_key(key_file)
    else:
        from medchain.identity import format_did
        from medchain.keystore import KeyStore

        public = KeyEnvelope.from_bytes(store.cat(found[0])).recipient_public_key
        private = KeyStore(keys_dir).load(format_did(me, client_chain_id()), public, passphrase)
    from medchain.genomics.data import read_metadata

    meta = read_metadata(store, client.dataset_client().dataset(dataset_id))
    total = meta.plaintext_size if meta.plaintext_size > 0 else None
    with _progress(total, "download", not as_json) as advance:
        got = fetch(client, store, dataset_id, me, private, mask(purpose), out, progress=advance,
                    accept=accept)  # fmt: skip
    emit({"dataset_id": dataset_id, "path": got.path, "bytes": got.plaintext_size,
          "ciphertext_sha256": got.ciphertext_hash}, as_json)  # fmt: skip


def client_chain_id() -> int:
    from ape import chain

    return int(chain.provider.chain_id)


@connected_command(genomics, "licences")
@market_option
@click.option("--researcher", default=None, help="Whose licences (default: --account).")
@json_option
def licences(account: Any, researcher: str | None, as_json: bool) -> None:
    """List a researcher's licences, their status and expiry."""
    who = researcher or require_account(account).address
    rows = [
        {"licence_id": hex(lic.licence_id), "dataset_id": lic.dataset_id,
         "status": lic.status.name.lower(), "purposes": codes(lic.purposes),
         "expires": _when(lic.expires_at), "key_deadline": _when(lic.key_deadline),
         "review_until": _when(lic.review_deadline)}
        for lic in _client(account).licences_of(who)
    ]  # fmt: skip
    emit(rows, as_json)


@connected_command(genomics, "refund")
@market_option
@click.argument("dataset_id", type=int)
@json_option
def refund(account: Any, dataset_id: int, as_json: bool) -> None:
    """Reclaim your payment when the key was not posted before the delivery deadline."""
    me = require_account(account)
    _client(me).refund(licence_id_of(dataset_id, me.address))
    emit({"dataset_id": dataset_id, "status": "refunded"} if as_json
         else f"refunded licence on dataset {dataset_id}", as_json)  # fmt: skip


@connected_command(genomics, "accept")
@market_option
@click.argument("dataset_id", type=int)
@json_option
def accept(account: Any, dataset_id: int, as_json: bool) -> None:
    """Accept the key posted for your licence on DATASET_ID (it decrypted the dataset):
    the escrow is released to the owner now."""
    me = require_account(account)
    _client(me).accept_key(licence_id_of(dataset_id, me.address))
    emit({"dataset_id": dataset_id, "status": "released"} if as_json
         else f"key accepted; escrow released for dataset {dataset_id}", as_json)  # fmt: skip


@connected_command(genomics, "dispute")
@market_option
@click.argument("dataset_id", type=int)
@json_option
def dispute(account: Any, dataset_id: int, as_json: bool) -> None:
    """Dispute the key posted for your licence on DATASET_ID (it does not open the dataset)
    within its review window: the escrow is frozen until the arbiter decides."""
    me = require_account(account)
    _client(me).dispute_key(licence_id_of(dataset_id, me.address))
    emit({"dataset_id": dataset_id, "status": "disputed"} if as_json
         else f"key disputed on dataset {dataset_id}; the arbiter decides", as_json)  # fmt: skip


# -- admin and arbiter -------------------------------------------------------------------


@connected_command(genomics, "resolve")
@market_option
@click.argument("dataset_id", type=int)
@click.argument("researcher")
@click.option("--refund/--release", "refund_researcher", required=True,
              help="Refund the researcher, or release the escrow to the owner.")  # fmt: skip
@json_option
def resolve(account: Any, dataset_id: int, researcher: str, refund_researcher: bool,
            as_json: bool) -> None:  # fmt: skip
    """Arbiter: settle RESEARCHER's disputed licence on DATASET_ID."""
    licence_id = licence_id_of(dataset_id, researcher)
    _client(require_account(account)).resolve_dispute(licence_id, refund_researcher)
    outcome = "refunded" if refund_researcher else "released"
    emit({"licence_id": hex(licence_id), "status": outcome} if as_json
         else f"dispute on licence {licence_id:#x} resolved: {outcome}", as_json)  # fmt: skip


@connected_command(genomics, "allow-currency")
@market_option
@click.argument("token")
@click.option("--remove", is_flag=True)
@json_option
def allow_currency(account: Any, token: str, remove: bool, as_json: bool) -> None:
    """Admin: allowlist (or --remove) ERC-20 TOKEN as an offer currency. Only plain tokens
    (no transfer fee, no rebasing) keep the escrow solvent."""
    _client(require_account(account)).set_currency_allowed(token, not remove)
    emit({"currency": token, "allowed": not remove} if as_json
         else f"{token} {'removed' if remove else 'allowlisted'}", as_json)  # fmt: skip


@connected_command(genomics, "add-producer")
@market_option
@click.argument("lab")
@json_option
def add_producer(account: Any, lab: str, as_json: bool) -> None:
    """Admin: accredit LAB as a producing lab whose signature authorises listings."""
    _client(require_account(account)).dataset_client().grant_producer(lab)
    emit({"producer": lab, "accredited": True} if as_json else f"{lab} accredited", as_json)


COMMANDS = [genomics]
