"""`medchain index run | status` (the chain indexer), `medchain gateway serve` (the FHIR
R4 gateway enforcing on-chain consent, FastAPI on uvicorn) and the notification commands
`medchain gateway subscribe | subscriptions | unsubscribe | deliver`. docs/gateway.md."""

from __future__ import annotations

import threading
import tomllib
from pathlib import Path
from typing import Any

import click

from medchain.cli.options import (
    IN_FILE,
    connected_command,
    ipfs_option,
    offline_command,
    require_account,
)
from medchain.cli.render import emit, note
from medchain.errors import ConfigurationError

DEFAULT_DB = "sqlite:///.medchain/index.db"


@click.group()
def index() -> None:
    """Follow every medchain event into a SQL database (SQLite by default).

    With MEDCHAIN_INDEX set to that database (or `medchain --index DB`), the SDK's and the
    CLI's event reads (record, consent, licence, custody and trial lists) take the blocks
    the index holds from it and ask the node only for the newer ones."""


@click.group()
def gateway() -> None:
    """FHIR R4 REST gateway that enforces on-chain consent."""


db_option = click.option(
    "--db", default=DEFAULT_DB, show_default=True, envvar=["MEDCHAIN_INDEX", "MEDCHAIN_INDEX_DB"],
    help="SQLAlchemy URL of the index (sqlite:///FILE or postgresql://...) "
    "[env: MEDCHAIN_INDEX, the database SDK reads use too].",
)  # fmt: skip


def _indexer(db: str, depth: int = 0, window: int = 2_000, max_window: int = 100_000) -> Any:
    from ape import networks

    from medchain.deployments import AddressBook
    from medchain.indexer import Indexer

    book = AddressBook.for_connected_network()
    if not book.exists():
        raise ConfigurationError(f"no address book at {book.path}: deploy first or pass --book")
    _db_dir(db)
    web3 = networks.provider.web3
    return Indexer.for_book(web3, book, db, depth=depth, window=window, max_window=max_window)


@connected_command(index, "run")
@db_option
@click.option("--depth", default=0, show_default=True, type=int,
              help="Confirmation depth: index only blocks <= head - depth.")  # fmt: skip
@click.option("--window", default=2_000, show_default=True, type=int,
              help="First eth_getLogs block window (halved on a node's refusal, grown on success).")  # fmt: skip
@click.option("--max-window", default=100_000, show_default=True, type=int)
@click.option("--poll", default=1.0, show_default=True, type=float, help="Seconds between syncs.")
@click.option("--once", is_flag=True, help="Sync up to the head and exit.")
@click.option("--deliver/--no-deliver", default=True, show_default=True,
              help="Also send due notifications (webhooks) from the outbox.")  # fmt: skip
def index_run(account: Any, db: str, depth: int, window: int, max_window: int, poll: float,
              once: bool, deliver: bool, as_json: bool) -> None:  # fmt: skip
    """Index every contract of the address book; follows the chain until interrupted."""
    from medchain.notify import Deliverer

    indexer = _indexer(db, depth, window, max_window)
    deliverer = Deliverer(indexer.engine) if deliver else None
    if once:
        report = indexer.sync()
        sent = deliverer.run_once() if deliverer is not None else None
        emit({"first": report.first, "last": report.last, "events": report.events,
              "reorged_from": report.reorged_from,
              "notifications_delivered": sent.delivered if sent else 0}, as_json)  # fmt: skip
        return
    stop = threading.Event()
    if deliverer is not None:
        threading.Thread(target=deliverer.run, args=(stop,), kwargs={"poll": poll},
                         daemon=True).start()  # fmt: skip

    def show(report: Any) -> None:
        undone = f" (reorg: undone from block {report.reorged_from})" if report.reorged_from else ""
        note(f"indexed blocks {report.first}..{report.last}: {report.events} events{undone}")

    try:
        indexer.follow(poll=poll, log=show)
    except KeyboardInterrupt:
        note("stopped; the cursor is committed with the events, run again to resume")
    finally:
        stop.set()


@connected_command(index, "status")
@db_option
def index_status(account: Any, db: str, as_json: bool) -> None:
    """How far the index is, how far behind the head, how many events and notifications."""
    emit(_indexer(db).status(), as_json)


@connected_command(gateway, "serve")
@click.option("--config", "config_path", required=True,
              type=IN_FILE,
              help="TOML file: [[clients]] did, scopes, eth_key_file, x25519_key_file.")  # fmt: skip
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@ipfs_option
@click.option("--depth", default=0, show_default=True, type=int, help="Indexer confirmation depth.")
def gateway_serve(account: Any, config_path: Path, db: str, host: str, port: int,
                  ipfs_url: str | None, depth: int) -> None:  # fmt: skip
    """Serve FHIR R4 on HOST:PORT; the indexer follows the chain in the background."""
    import uvicorn
    from ape import networks

    from medchain.deployments import AddressBook
    from medchain.gateway import Gateway
    from medchain.gateway.app import create_app
    from medchain.gateway.chain import Chain
    from medchain.storage import open_store

    clients = load_clients(config_path, int(networks.provider.chain_id))
    indexer = _indexer(db, depth)
    chain = Chain.from_book(networks.provider.web3, AddressBook.for_connected_network())
    core = Gateway(chain, open_store(ipfs_url), indexer, clients)
    stop = threading.Event()
    follower = threading.Thread(target=core.follow_index, args=(stop,), daemon=True)
    follower.start()
    try:
        uvicorn.run(create_app(core), host=host, port=port, log_level="warning")
    finally:
        stop.set()


@offline_command(gateway, "subscribe")
@db_option
@click.option("--recipient", required=True, help="Address or did:ethr the notifications are for.")
@click.option("--url", required=True, help="Webhook URL (http or https) that receives them.")
@click.option("--topic", "topics", multiple=True, required=True,
              help="referral | break-glass | licence-key | recall | * (repeatable).")  # fmt: skip
@click.option("--secret-file", type=IN_FILE,
              help="HMAC secret (>= 16 characters); default: a new random one, printed once.")  # fmt: skip
def gateway_subscribe(db: str, recipient: str, url: str, topics: tuple[str, ...],
                      secret_file: Path | None, as_json: bool) -> None:  # fmt: skip
    """Register a webhook for a recipient's notifications on indexed events."""
    from medchain.notify import subscribe

    _db_dir(db)
    secret = secret_file.read_text().strip() if secret_file else None
    row = subscribe(db, recipient, url, topics, secret)
    if secret_file:
        row.pop("secret")
    emit({"id": row["id"], "recipient": row["recipient"], "url": row["url"],
          "topics": row["kinds"].split(","), **({"secret": row["secret"]} if "secret" in row else {})},
         as_json)  # fmt: skip


@offline_command(gateway, "subscriptions")
@db_option
def gateway_subscriptions(db: str, as_json: bool) -> None:
    """List the webhook subscriptions (secrets are not shown)."""
    from medchain.notify import subscriptions

    _db_dir(db)
    emit(subscriptions(db), as_json)


@offline_command(gateway, "unsubscribe")
@click.argument("subscription_id", type=int)
@db_option
def gateway_unsubscribe(subscription_id: int, db: str, as_json: bool) -> None:
    """Remove a subscription and cancel its undelivered notifications."""
    from medchain.notify import unsubscribe

    _db_dir(db)
    if not unsubscribe(db, subscription_id):
        raise ConfigurationError(f"no subscription {subscription_id} in {db}")
    emit({"removed": subscription_id}, as_json)


@offline_command(gateway, "deliver")
@db_option
@click.option("--once", is_flag=True, help="Send what is due now and exit.")
@click.option("--poll", default=1.0, show_default=True, type=float)
@click.option("--base-delay", default=1.0, show_default=True, type=float,
              help="Seconds before the first retry; doubles per attempt.")  # fmt: skip
@click.option("--max-delay", default=300.0, show_default=True, type=float)
@click.option("--max-attempts", default=12, show_default=True, type=int)
def gateway_deliver(db: str, once: bool, poll: float, base_delay: float, max_delay: float,
                    max_attempts: int, as_json: bool) -> None:  # fmt: skip
    """Send due notifications from the index's outbox (signed, retried with backoff)."""
    import dataclasses

    from medchain.notify import Deliverer

    _db_dir(db)
    deliverer = Deliverer(db, base_delay=base_delay, max_delay=max_delay,
                          max_attempts=max_attempts)  # fmt: skip
    if once:
        report = deliverer.run_once()
        emit({**dataclasses.asdict(report), "pending": deliverer.pending()}, as_json)
        return
    stop = threading.Event()
    try:
        deliverer.run(stop, poll=poll, log=lambda r: note(
            f"notifications: {r.delivered} delivered, {r.retried} to retry, {r.failed} failed"))  # fmt: skip
    except KeyboardInterrupt:
        stop.set()


def _db_dir(db: str) -> None:
    if db.startswith("sqlite:///"):
        Path(db.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)


def load_clients(path: Path, chain_id: int | None = None) -> list[Any]:
    """The service accounts of a gateway config: `account` (an ape account: its key, its
    did:ethr and its stored X25519 key) or `did` with key files (hex or raw)."""
    from medchain.gateway.auth import ClientRegistration, registration_for_account

    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read gateway config {path}: {exc}") from None
    clients = []
    for i, entry in enumerate(data.get("clients", [])):
        where = f"{path} clients[{i}]"
        if "account" in entry and chain_id is not None:
            scopes = [str(x) for x in entry.get("scopes", [])]
            clients.append(registration_for_account(str(entry["account"]), scopes, chain_id))
            continue
        missing = [
            k for k in ("did", "scopes", "eth_key_file", "x25519_key_file") if k not in entry
        ]
        if missing:
            raise ConfigurationError(f"{where} lacks {', '.join(missing)}")
        clients.append(ClientRegistration(
            str(entry["did"]), [str(s) for s in entry["scopes"]],
            _key(path.parent / entry["eth_key_file"], where),
            _key(path.parent / entry["x25519_key_file"], where),
        ))  # fmt: skip
    if not clients:
        raise ConfigurationError(f"{path} registers no [[clients]]: nobody could get a token")
    return clients


def _key(path: Path, where: str) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{where}: cannot read key file {path}: {exc}") from None
    text = raw.strip()
    if len(text) in (64, 66):
        return bytes.fromhex(text.decode().removeprefix("0x"))
    if len(raw) == 32:
        return raw
    raise ConfigurationError(f"{where}: key file {path} must hold 32 bytes (raw or hex)")


@connected_command(gateway, "token")
@click.option("--url", required=True, help="The gateway's base URL, e.g. http://127.0.0.1:8080.")
@click.option("--scope", default="", help="SMART v2 scopes to ask for (space-separated).")
def gateway_token(account: Any, url: str, scope: str, as_json: bool) -> None:
    """Get a bearer token for ACCOUNT (its did:ethr key signs the client assertion)."""
    from ape import networks

    from medchain.gateway.auth import account_keys, fetch_token
    from medchain.identity.did import format_did

    address, key = account_keys(require_account(account))
    answer = fetch_token(url, format_did(address, int(networks.provider.chain_id)), key, scope)
    emit(answer if as_json else answer["access_token"], as_json)


COMMANDS = [index, gateway]
