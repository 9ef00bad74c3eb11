"""`medchain genomics …`: owners list encrypted genome files as dataset tokens (with the
producing lab's authorisation), publish licence offers, run the key-delivery agent,
withdraw shares, pause or retire datasets; researchers browse datasets (and one dataset's
metadata) and offers, buy (EIP-712 signed terms), wait for the key, download with a
progress bar, verify and decrypt, accept or dispute the key, and list their licences;
the admin accredits labs and allowlists currencies; the arbiter settles disputes.
Every command takes `--json`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from ape.cli.choices import AccountAliasPromptChoice

from medchain.cli.options import (
    FILE,
    IN_FILE,
    ContractChoice,
    contract_commands,
    contract_option,
    ipfs_option,
    keys_dir_option,
    require_account,
)
from medchain.cli.render import emit, emit_line, progress, quietly, say
from medchain.errors import InvalidInput
from medchain.genomics import ETH, GenomicsClient, NotLicensed, licence_id_of
from medchain.genomics.duo import codes, expand, mask
from medchain.identity import DIDRegistryClient
from medchain.timeutil import DAY, iso_time

_BAR_THRESHOLD = 8 << 20


@click.group()
def genomics() -> None:
    """Genomic data licensing: dataset tokens, DUO-purpose licences, escrowed key delivery."""


keyring_option = click.option(
    "--keyring", type=FILE, default=None,
    help="Dataset key file (default: $MEDCHAIN_HOME/genomics/keyring-<owner>.json).",
)  # fmt: skip


market_option = contract_option("market", GenomicsClient, envvar="MEDCHAIN_GENOMICS_MARKET")
genomics_command = contract_commands(genomics, market_option)


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


def _stage(stage: str, advance: Any) -> Any:
    """The one-stage progress callback the genomics SDK takes, on a `progress` bar."""
    return None if advance is None else (lambda n: advance(stage, n))


def _when(ts: int) -> str:
    return iso_time(ts) if ts else "-"


# -- owner -------------------------------------------------------------------------------


@genomics_command("list-dataset")
@click.argument("path", type=IN_FILE)
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
def list_dataset(account: Any, market: ContractChoice, path: Path, assay: str, reference_genome: str, coverage: str,
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
    with progress(size, size >= _BAR_THRESHOLD and not as_json) as advance:
        result = list_genome(
            market.bind(sender).dataset_client(), _store(ipfs_url), path,
            keyring=_keyring(keyring, sender.address), lab=lab, assay=assay,
            reference_genome=reference_genome, coverage=coverage, file_format=fmt,
            royalty_receiver=royalty_to or ETH, royalty_bps=royalty_bps, progress=_stage("encrypt", advance),
        )  # fmt: skip
    emit({"dataset_id": result.dataset_id, "data_cid": result.data_cid,
          "metadata_cid": result.metadata_cid, "ciphertext_sha256": result.ciphertext_hash},
         as_json)  # fmt: skip


@genomics_command("offer")
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
@click.option("--terms-file", type=IN_FILE,
              default=None, help="Data-use agreement text; its sha256 is signed by buyers.")  # fmt: skip
@click.option("--no-expand", is_flag=True, help="Do not add purposes DUO implies (GRU > HMB > DS).")
def offer(account: Any, market: ContractChoice, dataset_id: int, price: str, currency: str, days: int, purposes: str,
          delivery_days: int, review_days: int, max_licences: int, terms_file: Path | None,
          no_expand: bool, as_json: bool) -> None:  # fmt: skip
    """Publish a licence offer on DATASET_ID."""
    import hashlib

    bits = mask(purposes) if no_expand else expand(mask(purposes))
    terms = hashlib.sha256(terms_file.read_bytes()).digest() if terms_file else b"\0" * 32
    offer_id = market.bind(require_account(account)).create_offer(
        dataset_id, price=_amount(price), duration=days * DAY, purposes=bits,
        delivery_window=delivery_days * DAY, review_window=review_days * DAY,
        max_licences=max_licences, currency=currency, terms_hash=terms,
    )  # fmt: skip
    emit({"offer_id": offer_id, "purposes": codes(bits)}, as_json)


@genomics_command("close-offer")
@click.argument("offer_id", type=int)
def close_offer(account: Any, market: ContractChoice, offer_id: int, as_json: bool) -> None:
    """Close an offer (sold licences are unaffected)."""
    market.bind(require_account(account)).close_offer(offer_id)
    emit(
        {"offer_id": offer_id, "open": False},
        as_json,
        human=lambda r: f"offer {r['offer_id']} closed",
    )


@genomics_command("serve-keys")
@click.option("--state", "state_path", type=FILE,
              default=None, help="Cursor file (default: $MEDCHAIN_HOME/genomics/agent-<addr>.json).")  # fmt: skip
@click.option("--owner", "owners", multiple=True, help="Serve these owners' datasets (default: --account; "
              "they must have authorised --account with `genomics key-agent`).")  # fmt: skip
@click.option("--interval", default=2.0, show_default=True, type=float)
@click.option("--once", is_flag=True, help="Handle what is pending and exit.")
@contract_option("did-registry", DIDRegistryClient, what="DIDRegistry (researchers' keys)")
@click.option("--from-block", default=None, type=int, help="First block to scan (default: deploy).")
@ipfs_option
@keyring_option
def serve_keys(account: Any, market: ContractChoice, state_path: Path | None, owners: tuple[str, ...], interval: float,
               once: bool, did_registry: ContractChoice, from_block: int | None, ipfs_url: str | None,
               keyring: Path | None, as_json: bool) -> None:  # fmt: skip
    """Watch purchases and post each licensee's key envelope, sealed to the researcher's
    newest key-agreement key; release escrow whose review window passed (restart-safe).
    With --json, one JSON object per line for each outcome, then a summary."""
    from medchain.deployments import AddressBook
    from medchain.genomics.agent import KeyAgent
    from medchain.identity import key_agreement_keys
    from medchain.storage import default_home

    sender = require_account(account)
    start = from_block
    if start is None:
        start = (
            0
            if market.address
            else AddressBook.for_connected_network().get("GenomicLicensing").block_number
        )
    owner = owners[0] if owners else sender.address
    path = state_path or default_home() / "genomics" / f"agent-{sender.address.lower()}.json"

    def outcome_line(outcome: Any) -> None:
        emit_line({"licence_id": hex(outcome.licence_id), "action": outcome.action,
                   "envelope_cid": outcome.envelope_cid})  # fmt: skip

    # A stream: text lines as the agent works, or (--json) one JSON object per outcome.
    agent = KeyAgent(
        market.bind(sender), _store(ipfs_url), _keyring(keyring, owner), path,
        lambda address: key_agreement_keys(address, did_registry.address),
        owners=set(owners) or None, start_block=start, log=say,
        on_outcome=outcome_line if as_json else None,
    )  # fmt: skip
    say(f"serving keys as {sender.address}; cursor {path}")
    delivered = agent.run(interval=interval, max_polls=1 if once else None)
    summary = {"delivered_total": delivered, "released_total": agent.state.released,
               "waiting": len(agent.state.waiting), "reviewing": len(agent.state.reviewing),
               "cursor": str(path)}  # fmt: skip
    if as_json:
        emit_line(summary)
    else:
        say(f"{delivered} key(s) delivered, {agent.state.released} escrow(s) released in total")


@genomics_command("key-agent")
@click.argument("agent")
@click.option("--revoke", is_flag=True)
def key_agent(
    account: Any, market: ContractChoice, agent: str, revoke: bool, as_json: bool
) -> None:
    """Authorise (or --revoke) AGENT to post key envelopes for your datasets."""
    market.bind(require_account(account)).set_key_agent(agent, not revoke)
    emit({"agent": agent, "allowed": not revoke}, as_json,
         human=lambda r: f"{r['agent']} {'authorised' if r['allowed'] else 'revoked'}")  # fmt: skip


@genomics_command("withdraw")
@click.option("--currency", default=ETH, help="ERC-20 address (default: ETH).")
def withdraw(account: Any, market: ContractChoice, currency: str, as_json: bool) -> None:
    """Withdraw your released shares (owner, royalty, fee) or a refund a dispute awarded you."""
    amount = market.bind(require_account(account)).withdraw(currency)
    emit({"amount": amount, "currency": currency}, as_json,
         human=lambda r: f"withdrew {r['amount']} ({'wei' if currency == ETH else currency})")  # fmt: skip


@genomics_command("release")
@click.argument("dataset_id", type=int)
@click.argument("researcher")
def release(
    account: Any, market: ContractChoice, dataset_id: int, researcher: str, as_json: bool
) -> None:
    """Release the escrow of RESEARCHER's licence on DATASET_ID once its review window has
    passed undisputed (anyone may; `serve-keys` does it for you)."""
    licence_id = licence_id_of(dataset_id, researcher)
    market.bind(require_account(account)).release_escrow(licence_id)
    emit({"licence_id": hex(licence_id), "status": "released"}, as_json,
         human=lambda r: f"escrow of licence {r['licence_id']} released")  # fmt: skip


def _state_command(name: str, doc: str) -> None:
    @genomics_command(name, help=doc)
    @click.argument("dataset_id", type=int)
    def command(account: Any, market: ContractChoice, dataset_id: int, as_json: bool) -> None:
        datasets = market.bind(require_account(account)).dataset_client()
        getattr(datasets, name)(dataset_id)
        state = datasets.state(dataset_id).name.lower()
        emit({"dataset_id": dataset_id, "state": state}, as_json,
             human=lambda r: f"dataset {r['dataset_id']}: {r['state']}")  # fmt: skip


_state_command("pause", "Pause a dataset: no new licences until resumed.")
_state_command("resume", "Resume a paused dataset.")
_state_command("retire", "Retire a dataset for good (running licences run out).")


# -- browsing ----------------------------------------------------------------------------


@genomics_command("datasets")
@click.option("--owner", default=None, help="Only this owner's datasets.")
def datasets(account: Any, market: ContractChoice, owner: str | None, as_json: bool) -> None:
    """List datasets with their public metadata references and state."""
    client = market.bind(account).dataset_client()
    rows = []
    for dataset_id in range(1, client.total() + 1):
        info = client.dataset(dataset_id)
        if owner and info.owner.lower() != owner.lower():
            continue
        rows.append({"dataset_id": dataset_id, "owner": info.owner, "state": info.state.name.lower(),
                     "metadata_cid": info.metadata_cid, "data_cid": info.data_cid,
                     "royalty": f"{info.royalty_bps / 100:.2f}% to {info.royalty_receiver}"})  # fmt: skip
    emit(rows, as_json)


@genomics_command("dataset")
@click.argument("dataset_id", type=int)
@ipfs_option
def dataset(
    account: Any, market: ContractChoice, dataset_id: int, ipfs_url: str | None, as_json: bool
) -> None:
    """Show DATASET_ID: owner, producing lab, state, royalty, CIDs and its public metadata
    document (assay, reference genome, coverage, format, size), checked against the token."""
    from medchain.genomics.data import read_metadata

    info = market.bind(account).dataset_client().dataset(dataset_id)
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


@genomics_command("offers")
@click.option("--dataset", "dataset_id", type=int, default=None)
@click.option("--all", "show_all", is_flag=True, help="Include closed offers.")
def offers(
    account: Any, market: ContractChoice, dataset_id: int | None, show_all: bool, as_json: bool
) -> None:
    """List licence offers (open ones by default)."""
    rows = [
        {"offer_id": o.offer_id, "dataset_id": o.dataset_id, "price": o.price,
         "currency": "ETH" if o.currency == ETH else o.currency, "days": o.duration // DAY,
         "delivery_days": o.delivery_window / DAY, "review_days": o.review_window / DAY,
         "purposes": codes(o.purposes), "sold": f"{o.sold}/{o.max_licences}", "open": o.active}
        for o in market.bind(account).offers(dataset_id, only_open=not show_all)
    ]  # fmt: skip
    emit(rows, as_json)


# -- researcher --------------------------------------------------------------------------


@genomics_command("buy")
@click.argument("offer_id", type=int)
@click.option("--purposes", required=True, help="DUO purposes you will use the data for, e.g. HMB.")
def buy(account: Any, market: ContractChoice, offer_id: int, purposes: str, as_json: bool) -> None:
    """Sign the offer's data-use terms and pay into escrow (ERC-20: approves first)."""
    client = market.bind(require_account(account))
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


@genomics_command("wait-key")
@click.argument("dataset_id", type=int)
@click.option("--timeout", default=300.0, show_default=True, type=float)
def wait_key(
    account: Any, market: ContractChoice, dataset_id: int, timeout: float, as_json: bool
) -> None:
    """Wait until the key envelope for your licence on DATASET_ID is posted."""
    from medchain.genomics.data import wait_for_key

    me = require_account(account).address
    cid, digest = wait_for_key(market.bind(account), licence_id_of(dataset_id, me), timeout=timeout)
    emit({"envelope_cid": cid, "envelope_sha256": digest}, as_json,
         human=lambda r: f"key envelope posted: {r['envelope_cid']}")  # fmt: skip


@genomics_command("download")
@click.argument("dataset_id", type=int)
@click.option("--out", type=FILE, required=True)
@click.option("--purpose", default="HMB", show_default=True, help="DUO purpose you use it for.")
@click.option("--key-file", type=IN_FILE,
              default=None, help="X25519 private key file (default: the key store).")  # fmt: skip
@keys_dir_option
@click.option("--passphrase", envvar="MEDCHAIN_KEY_PASSPHRASE", default=None)
@click.option("--accept", is_flag=True,
              help="After a verified decrypt, accept the key (releases the escrow now).")  # fmt: skip
@ipfs_option
def download(account: Any, market: ContractChoice, dataset_id: int, out: Path, purpose: str, key_file: Path | None,
             keys_dir: Path | None, passphrase: str | None, accept: bool, ipfs_url: str | None,
             as_json: bool) -> None:  # fmt: skip
    """Fetch, verify and decrypt DATASET_ID (needs a running licence for --purpose)."""
    from medchain.crypto import envelopes_in
    from medchain.genomics.data import download as fetch

    me = require_account(account).address
    client, store = market.bind(account), _store(ipfs_url)
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

        sealed_to = [e.recipient_public_key for e in envelopes_in(store.cat(found[0]))]
        private = KeyStore(keys_dir).load_any(
            format_did(me, client.chain_id), sealed_to, passphrase
        )
    from medchain.genomics.data import read_metadata

    meta = read_metadata(store, client.dataset_client().dataset(dataset_id))
    total = meta.plaintext_size if meta.plaintext_size > 0 else None
    with progress(total, not as_json) as advance:
        got = fetch(client, store, dataset_id, me, private, mask(purpose), out,
                    progress=_stage("download", advance), accept=accept)  # fmt: skip
    emit({"dataset_id": dataset_id, "path": got.path, "bytes": got.plaintext_size,
          "ciphertext_sha256": got.ciphertext_hash}, as_json)  # fmt: skip


@genomics_command("licences")
@click.option("--researcher", default=None, help="Whose licences (default: --account).")
def licences(account: Any, market: ContractChoice, researcher: str | None, as_json: bool) -> None:
    """List a researcher's licences, their status and expiry."""
    who = researcher or require_account(account).address
    rows = [
        {"licence_id": hex(lic.licence_id), "dataset_id": lic.dataset_id,
         "status": lic.status.name.lower(), "purposes": codes(lic.purposes),
         "expires": _when(lic.expires_at), "key_deadline": _when(lic.key_deadline),
         "review_until": _when(lic.review_deadline)}
        for lic in market.bind(account).licences_of(who)
    ]  # fmt: skip
    emit(rows, as_json)


def _licence_command(name: str, method: str, status: str, sentence: str, doc: str) -> None:
    """`genomics <name> DATASET_ID`: one GenomicsClient call on --account's own licence."""

    @genomics_command(name, help=doc)
    @click.argument("dataset_id", type=int)
    def command(account: Any, market: ContractChoice, dataset_id: int, as_json: bool) -> None:
        me = require_account(account)
        getattr(market.bind(me), method)(licence_id_of(dataset_id, me.address))
        emit({"dataset_id": dataset_id, "status": status}, as_json,
             human=lambda r: sentence.format(**r))  # fmt: skip


_licence_command("refund", "refund", "refunded", "refunded licence on dataset {dataset_id}",
                 "Reclaim your payment when the key was not posted before the delivery deadline.")  # fmt: skip
_licence_command("accept", "accept_key", "released",
                 "key accepted; escrow released for dataset {dataset_id}",
                 "Accept the key posted for your licence on DATASET_ID (it decrypted the "
                 "dataset): the escrow is released to the owner now.")  # fmt: skip
_licence_command("dispute", "dispute_key", "disputed",
                 "key disputed on dataset {dataset_id}; the arbiter decides",
                 "Dispute the key posted for your licence on DATASET_ID (it does not open the "
                 "dataset) within its review window: the escrow is frozen until the arbiter "
                 "decides.")  # fmt: skip


# -- admin and arbiter -------------------------------------------------------------------


@genomics_command("resolve")
@click.argument("dataset_id", type=int)
@click.argument("researcher")
@click.option("--refund/--release", "refund_researcher", required=True,
              help="Refund the researcher, or release the escrow to the owner.")  # fmt: skip
def resolve(account: Any, market: ContractChoice, dataset_id: int, researcher: str, refund_researcher: bool,
            as_json: bool) -> None:  # fmt: skip
    """Arbiter: settle RESEARCHER's disputed licence on DATASET_ID."""
    licence_id = licence_id_of(dataset_id, researcher)
    market.bind(require_account(account)).resolve_dispute(licence_id, refund_researcher)
    outcome = "refunded" if refund_researcher else "released"
    emit({"licence_id": hex(licence_id), "status": outcome}, as_json,
         human=lambda r: f"dispute on licence {r['licence_id']} resolved: {r['status']}")  # fmt: skip


@genomics_command("allow-currency")
@click.argument("token")
@click.option("--remove", is_flag=True)
def allow_currency(
    account: Any, market: ContractChoice, token: str, remove: bool, as_json: bool
) -> None:
    """Admin: allowlist (or --remove) ERC-20 TOKEN as an offer currency. Only plain tokens
    (no transfer fee, no rebasing) keep the escrow solvent."""
    market.bind(require_account(account)).set_currency_allowed(token, not remove)
    emit({"currency": token, "allowed": not remove}, as_json,
         human=lambda r: f"{r['currency']} {'allowlisted' if r['allowed'] else 'removed'}")  # fmt: skip


@genomics_command("add-producer")
@click.argument("lab")
def add_producer(account: Any, market: ContractChoice, lab: str, as_json: bool) -> None:
    """Admin: accredit LAB as a producing lab whose signature authorises listings."""
    market.bind(require_account(account)).dataset_client().grant_producer(lab)
    emit(
        {"producer": lab, "accredited": True},
        as_json,
        human=lambda r: f"{r['producer']} accredited",
    )


COMMANDS = [genomics]
