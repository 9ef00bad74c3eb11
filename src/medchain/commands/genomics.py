"""`medchain genomics …`: owners list encrypted genome files as dataset tokens, publish
licence offers, run the key-delivery agent, withdraw shares, pause or retire datasets;
researchers browse datasets and offers, buy (EIP-712 signed terms), wait for the key,
download with a progress bar, verify and decrypt, and list their licences."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from medchain.cli_base import connected_command, emit, json_option, require_account
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
@click.option("--royalty-to", default=None, help="Lab or biobank that produced the data.")
@click.option("--royalty-bps", default=0, type=int, show_default=True)
@ipfs_option
@keyring_option
@json_option
def list_dataset(account: Any, path: Path, assay: str, reference_genome: str, coverage: str,
                 file_format: str | None, royalty_to: str | None, royalty_bps: int,
                 ipfs_url: str | None, keyring: Path | None, as_json: bool) -> None:  # fmt: skip
    """Encrypt PATH, store it, and mint its dataset token to --account."""
    from medchain.genomics.data import list_genome

    sender = require_account(account)
    fmt = file_format or path.suffix.lstrip(".").removesuffix(".gz").upper() or "VCF"
    size = path.stat().st_size
    with _progress(size, "encrypt", size >= _BAR_THRESHOLD and not as_json) as advance:
        result = list_genome(
            _client(sender).dataset_client(), _store(ipfs_url), path,
            keyring=_keyring(keyring, sender.address), assay=assay,
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
@click.option("--delivery-days", default=3, type=int, show_default=True)
@click.option("--max-licences", default=2**32 - 1, type=int)
@click.option("--terms-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Data-use agreement text; its sha256 is signed by buyers.")  # fmt: skip
@click.option("--no-expand", is_flag=True, help="Do not add purposes DUO implies (GRU > HMB > DS).")
@json_option
def offer(account: Any, dataset_id: int, price: str, currency: str, days: int, purposes: str,
          delivery_days: int, max_licences: int, terms_file: Path | None, no_expand: bool,
          as_json: bool) -> None:  # fmt: skip
    """Publish a licence offer on DATASET_ID."""
    import hashlib

    bits = mask(purposes) if no_expand else expand(mask(purposes))
    terms = hashlib.sha256(terms_file.read_bytes()).digest() if terms_file else b"\0" * 32
    offer_id = _client(require_account(account)).create_offer(
        dataset_id, price=_amount(price), duration=days * DAY, purposes=bits,
        delivery_window=delivery_days * DAY, max_licences=max_licences, currency=currency,
        terms_hash=terms,
    )  # fmt: skip
    emit({"offer_id": offer_id, "purposes": codes(bits)}, as_json)


@connected_command(genomics, "close-offer")
@market_option
@click.argument("offer_id", type=int)
def close_offer(account: Any, offer_id: int) -> None:
    """Close an offer (sold licences are unaffected)."""
    _client(require_account(account)).close_offer(offer_id)
    emit(f"offer {offer_id} closed")


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
def serve_keys(account: Any, state_path: Path | None, owners: tuple[str, ...], interval: float,
               once: bool, did_registry: str | None, from_block: int | None, ipfs_url: str | None,
               keyring: Path | None) -> None:  # fmt: skip
    """Watch purchases and post each licensee's key envelope (restart-safe)."""
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
    agent = KeyAgent(
        _client(sender), _store(ipfs_url), _keyring(keyring, owner), path,
        lambda address: key_agreement_keys(address, did_registry), owners=set(owners) or None,
        start_block=start, log=click.echo,
    )  # fmt: skip
    click.echo(f"serving keys as {sender.address}; cursor {path}")
    delivered = agent.run(interval=interval, max_polls=1 if once else None)
    click.echo(f"{delivered} key(s) delivered in total")


@connected_command(genomics, "key-agent")
@market_option
@click.argument("agent")
@click.option("--revoke", is_flag=True)
def key_agent(account: Any, agent: str, revoke: bool) -> None:
    """Authorise (or --revoke) AGENT to post key envelopes for your datasets."""
    _client(require_account(account)).set_key_agent(agent, not revoke)
    emit(f"{agent} {'revoked' if revoke else 'authorised'}")


@connected_command(genomics, "withdraw")
@market_option
@click.option("--currency", default=ETH, help="ERC-20 address (default: ETH).")
def withdraw(account: Any, currency: str) -> None:
    """Withdraw your released shares (owner, royalty or fee)."""
    amount = _client(require_account(account)).withdraw(currency)
    emit(f"withdrew {amount} ({'wei' if currency == ETH else currency})")


def _state_command(name: str, doc: str) -> None:
    @connected_command(genomics, name, help=doc)
    @market_option
    @click.argument("dataset_id", type=int)
    def command(account: Any, dataset_id: int) -> None:
        datasets = _client(require_account(account)).dataset_client()
        getattr(datasets, name)(dataset_id)
        emit(f"dataset {dataset_id}: {datasets.state(dataset_id).name.lower()}")


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
          "purposes": codes(lic.purposes), "expires": _when(lic.expires_at),
          "key_deadline": _when(lic.key_deadline)}, as_json)  # fmt: skip


@connected_command(genomics, "wait-key")
@market_option
@click.argument("dataset_id", type=int)
@click.option("--timeout", default=300.0, show_default=True, type=float)
def wait_key(account: Any, dataset_id: int, timeout: float) -> None:
    """Wait until the key envelope for your licence on DATASET_ID is posted."""
    from medchain.genomics.data import wait_for_key

    me = require_account(account).address
    cid, _ = wait_for_key(_client(account), licence_id_of(dataset_id, me), timeout=timeout)
    emit(f"key envelope posted: {cid}")


@connected_command(genomics, "download")
@market_option
@click.argument("dataset_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--purpose", default="HMB", show_default=True, help="DUO purpose you use it for.")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="X25519 private key file (default: the key store).")  # fmt: skip
@click.option("--keys-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--passphrase", envvar="MEDCHAIN_KEY_PASSPHRASE", default=None)
@ipfs_option
@json_option
def download(account: Any, dataset_id: int, out: Path, purpose: str, key_file: Path | None,
             keys_dir: Path | None, passphrase: str | None, ipfs_url: str | None,
             as_json: bool) -> None:  # fmt: skip
    """Fetch, verify and decrypt DATASET_ID (needs a running licence for --purpose)."""
    from medchain.crypto import KeyEnvelope
    from medchain.genomics.data import download as fetch

    me = require_account(account).address
    client, store = _client(account), _store(ipfs_url)
    found = client.delivered_envelope(licence_id_of(dataset_id, me))
    if found is None:
        raise NotLicensed(f"no key envelope posted for {me} on dataset {dataset_id} yet")
    if key_file is not None:
        from medchain.commands.record import load_private_key

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
        got = fetch(client, store, dataset_id, me, private, mask(purpose), out, progress=advance)
    emit({"dataset_id": dataset_id, "path": got.path, "bytes": got.plaintext_size,
          "ciphertext_sha256": got.ciphertext_hash}, as_json)  # fmt: skip


def client_chain_id() -> int:
    from ape import chain

    return int(chain.chain_id)


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
         "expires": _when(lic.expires_at), "key_deadline": _when(lic.key_deadline)}
        for lic in _client(account).licences_of(who)
    ]  # fmt: skip
    emit(rows, as_json)


@connected_command(genomics, "refund")
@market_option
@click.argument("dataset_id", type=int)
def refund(account: Any, dataset_id: int) -> None:
    """Reclaim your payment when the key was not posted before the delivery deadline."""
    me = require_account(account)
    _client(me).refund(licence_id_of(dataset_id, me.address))
    emit(f"refunded licence on dataset {dataset_id}")


COMMANDS = [genomics]
