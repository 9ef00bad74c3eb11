"""A follower of every medchain event into a SQL database (SQLite by default).

`Indexer(web3, book, url)` reads the logs of every contract in an address book with
`medchain.logs.LogReader` and stores them (SQLAlchemy Core, so a PostgreSQL URL works
through the same code):

* **confirmation depth**: only blocks <= head - depth are indexed;
* **reorg-safe**: the hash of every block holding an indexed event and of each page's
  last block is stored; before each sync the newest stored hash is compared with the
  chain, and when it changed the indexer walks back to the newest stored block whose hash
  still matches, deletes every event above it (and their undelivered notifications) and
  reads again from there;
* **resumable**: a page's events, its block hashes, the notifications it causes and the
  cursor are written in ONE transaction, so a crash leaves either all of a page or none
  of it; a unique (block, log index) key refuses duplicates as a second line.

Queries: `records_of(patient)`, `grants_to(grantee)`, `licences_of(researcher)`,
`custody_of(lot_id)`, `trial_entries(trial_id)`, and `events(name, **keys)` in general.
The SDK and CLI read the index through `medchain.logs.LogReader` (`MEDCHAIN_INDEX`, see
`medchain.indexer.source`): the `indexed_contracts` table says which contracts the index
follows and from which block, so a reader uses it only for what it really holds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine

from medchain.errors import ConfigurationError, InvalidInput
from medchain.logs import Event, LogReader, arg_key, jsonable

metadata = MetaData()

cursor_table = Table(
    "cursor",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("next_block", BigInteger, nullable=False),
    Column("updated", Float, nullable=False),
)
blocks_table = Table(
    "blocks",
    metadata,
    Column("number", BigInteger, primary_key=True),
    Column("hash", String(66), nullable=False),
)
events_table = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("block_number", BigInteger, nullable=False, index=True),
    Column("block_hash", String(66), nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("contract", String(64), nullable=False),
    Column("address", String(42), nullable=False),
    Column("name", String(64), nullable=False, index=True),
    Column("args", JSON, nullable=False),
    UniqueConstraint("block_number", "log_index", name="uq_event_position"),
)
keys_table = Table(
    "event_keys",
    metadata,
    Column("event_id", Integer, nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("value", String(80), nullable=False),
)
contracts_table = Table(
    "indexed_contracts",
    metadata,
    Column("address", String(42), primary_key=True),
    Column("name", String(64), nullable=False),
    # The first block from which the index holds every event of the contract: 0 when it
    # was followed from (or before) its deployment, so no earlier block can hold any.
    Column("covered_from", BigInteger, nullable=False),
)
from sqlalchemy import Index  # noqa: E402

__all__ = [
    "Indexer",
    "SyncReport",
    "blocks_table",
    "contracts_table",
    "cursor_table",
    "events_table",
    "jsonable",
    "key",
    "keys_table",
    "make_engine",
    "metadata",
]

Index("ix_event_keys_lookup", keys_table.c.name, keys_table.c.value, keys_table.c.event_id)

subscriptions_table = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recipient", String(42), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("kinds", Text, nullable=False),  # comma-separated notification kinds, "*" = all
    Column("created", Float, nullable=False),
)
outbox_table = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, nullable=False, index=True),
    Column("event_id", Integer, nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", Float, nullable=False),
    Column("delivered", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("failed", Float, nullable=True),  # gave up after the last allowed attempt
)


def key(value: Any) -> str:
    """The form a query value takes in `event_keys` (addresses lowercase, bytes as hex)."""
    out = arg_key(value)
    if out is None:
        raise InvalidInput(f"cannot query by {value!r}")
    return out


@dataclass(frozen=True)
class SyncReport:
    first: int
    last: int  # last block indexed (first - 1 when nothing new)
    events: int
    reorged_from: int | None = None  # the block from which events were undone


class Indexer:
    """Follows every contract of an address book into a SQL database."""

    def __init__(
        self,
        web3: Any,
        contracts: Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]],
        url: str = "sqlite:///medchain-index.db",
        *,
        chain_id: int,
        start_block: int = 0,
        depth: int = 0,
        window: int = 2_000,
        max_window: int = 100_000,
        on_commit: Callable[[Connection, list[tuple[int, Event]]], None] | None = None,
        deployed: Mapping[str, int] | None = None,
    ):
        """`contracts`: address -> (contract name, ABI); `deployed`: address -> the block
        it was deployed in (from the address book), which lets readers trust the index
        for the blocks before `start_block` (none of them can hold its events)."""
        if depth < 0:
            raise InvalidInput(f"confirmation depth must be >= 0, got {depth}")
        self.names: dict[str, str] = {
            str(to_checksum_address(a)): n for a, (n, _) in contracts.items()
        }
        self.reader = LogReader(
            web3,
            {a: abi for a, (_, abi) in contracts.items()},
            window=window,
            max_window=max_window,
            index=False,  # the index is written from the node, never read back from itself
        )
        self.chain_id = int(chain_id)
        self.start_block = int(start_block)
        self.depth = int(depth)
        self.engine = make_engine(url)
        self.on_commit = on_commit
        self._lock = threading.Lock()
        metadata.create_all(self.engine)
        from medchain.notify import migrate

        migrate(self.engine)
        with self.engine.begin() as conn:
            row = conn.execute(select(cursor_table).where(cursor_table.c.id == 1)).first()
            if row is None:
                conn.execute(
                    insert(cursor_table).values(
                        id=1, chain_id=self.chain_id, next_block=self.start_block,
                        updated=time.time(),
                    )
                )  # fmt: skip
            elif int(row.chain_id) != self.chain_id:
                raise ConfigurationError(
                    f"index database {url} holds chain {row.chain_id}, not chain {self.chain_id}: "
                    "use another --db"
                )
            self._register(conn, dict(deployed or {}), None if row is None else int(row.next_block))

    def _register(self, conn: Connection, deployed: dict[str, int], resumed_at: int | None) -> None:
        """Record which contracts the index follows and from which block it holds all their
        events. A contract added to an index that is already past its deployment is covered
        only from the cursor on (its earlier events were never read)."""
        known = {r.address for r in conn.execute(select(contracts_table.c.address))}
        deployed = {str(to_checksum_address(a)): int(b) for a, b in deployed.items()}
        for address, name in self.names.items():
            if address in known:
                continue
            born = deployed.get(address, 0)
            if resumed_at is not None and resumed_at > max(born, self.start_block):
                covered = resumed_at
            else:
                covered = 0 if self.start_block <= born else self.start_block
            conn.execute(
                insert(contracts_table).values(address=address, name=name, covered_from=covered)
            )

    @classmethod
    def for_book(cls, web3: Any, book: Any, url: str, **kw: Any) -> Indexer:
        records = list(book)
        if not records:
            raise ConfigurationError(f"address book {book.path} is empty: nothing to index")
        chain_ids = {r.chain_id for r in records}
        if len(chain_ids) != 1:
            raise ConfigurationError(f"address book {book.path} mixes chains {sorted(chain_ids)}")
        contracts = {r.address: (r.contract_name, r.abi) for r in records}
        start = min(int(r.block_number or 0) for r in records)
        kw.setdefault("start_block", start)
        kw.setdefault("deployed", {r.address: int(r.block_number or 0) for r in records})
        return cls(web3, contracts, url, chain_id=chain_ids.pop(), **kw)

    # -- state ---------------------------------------------------------------------------

    def next_block(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(cursor_table.c.next_block)).scalar_one())

    def status(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(events_table)).scalar_one()
            cursor = conn.execute(select(cursor_table)).one()
            pending = conn.execute(
                select(func.count())
                .select_from(outbox_table)
                .where(outbox_table.c.delivered.is_(None))
            ).scalar_one()
        head = self.reader.head()
        indexed = int(cursor.next_block) - 1
        return {
            "chain_id": self.chain_id,
            "indexed_through": indexed,
            "head": head,
            "depth": self.depth,
            "lag_blocks": max(0, head - self.depth - indexed),
            "events": int(count),
            "notifications_pending": int(pending),
            "updated": cursor.updated,
        }

    # -- following -----------------------------------------------------------------------

    def sync(self, to_block: int | None = None) -> SyncReport:
        """Index every confirmed block not indexed yet (undoing a reorg first)."""
        with self._lock:
            reorged = self._undo_reorg()
            first = self.next_block()
            total = 0
            last = first - 1
            for page_first, page_last, events in self.reader.pages(
                first, to_block, depth=self.depth
            ):
                self._commit_page(page_first, page_last, events)
                total += len(events)
                last = page_last
            return SyncReport(first, last, total, reorged)

    def follow(
        self, *, poll: float = 1.0, stop: threading.Event | None = None,
        log: Callable[[SyncReport], None] | None = None,
    ) -> None:  # fmt: skip
        """Sync, wait `poll` seconds, repeat until `stop` is set."""
        stop = stop or threading.Event()
        while not stop.is_set():
            report = self.sync()
            if log is not None and (report.events or report.reorged_from is not None):
                log(report)
            stop.wait(poll)

    def _commit_page(self, first: int, last: int, events: list[Event]) -> None:
        last_hash = self.reader.block_hash(last)
        with self.engine.begin() as conn:
            stored: list[tuple[int, Event]] = []
            hashes = {e.block_number: e.block_hash for e in events}
            if last_hash is not None:
                hashes.setdefault(last, last_hash)
            for event_ in events:
                result = conn.execute(
                    insert(events_table).values(
                        block_number=event_.block_number, block_hash=event_.block_hash,
                        tx_hash=event_.tx_hash, log_index=event_.log_index,
                        contract=self.names.get(event_.address, ""), address=event_.address,
                        name=event_.name, args=event_.to_json()["args"],
                    )
                )  # fmt: skip
                event_id = int(result.inserted_primary_key[0])  # type: ignore[index]
                rows = [
                    {"event_id": event_id, "name": name, "value": value}
                    for name, raw in event_.args.items()
                    if (value := arg_key(raw)) is not None
                ]
                if rows:
                    conn.execute(insert(keys_table), rows)
                stored.append((event_id, event_))
            for number, block_hash in hashes.items():
                conn.execute(delete(blocks_table).where(blocks_table.c.number == number))
                conn.execute(insert(blocks_table).values(number=number, hash=block_hash))
            if stored:
                from medchain.notify import enqueue

                enqueue(conn, stored)  # outbox rows commit (or not) with their events
            if self.on_commit is not None and stored:
                self.on_commit(conn, stored)
            conn.execute(update(cursor_table).values(next_block=last + 1, updated=time.time()))

    def _undo_reorg(self) -> int | None:
        """When the newest stored block's hash is no longer the chain's, delete everything
        above the newest stored block that still matches; returns the first undone block."""
        with self.engine.connect() as conn:
            stored = conn.execute(
                select(blocks_table.c.number, blocks_table.c.hash).order_by(
                    blocks_table.c.number.desc()
                )
            ).all()
        if not stored or self.reader.block_hash(int(stored[0].number)) == stored[0].hash:
            return None
        keep = self.start_block - 1
        for number, block_hash in stored[1:]:
            if self.reader.block_hash(int(number)) == block_hash:
                keep = int(number)
                break
        with self.engine.begin() as conn:
            doomed = select(events_table.c.id).where(events_table.c.block_number > keep)
            conn.execute(delete(keys_table).where(keys_table.c.event_id.in_(doomed)))
            conn.execute(  # an undone event's undelivered notifications are cancelled
                delete(outbox_table).where(
                    outbox_table.c.event_id.in_(doomed), outbox_table.c.delivered.is_(None)
                )
            )
            conn.execute(delete(events_table).where(events_table.c.block_number > keep))
            conn.execute(delete(blocks_table).where(blocks_table.c.number > keep))
            conn.execute(update(cursor_table).values(next_block=keep + 1, updated=time.time()))
        return keep + 1

    # -- queries -------------------------------------------------------------------------

    def events(
        self, names: str | Iterable[str] | None = None, *, limit: int | None = None,
        offset: int = 0, **keys: Any,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Indexed events (chain order) of `names` whose arguments equal `keys`."""
        query = select(events_table)
        if names is not None:
            wanted = [names] if isinstance(names, str) else list(names)
            query = query.where(events_table.c.name.in_(wanted))
        for name, value in keys.items():
            matching = select(keys_table.c.event_id).where(
                keys_table.c.name == name, keys_table.c.value == key(value)
            )
            query = query.where(events_table.c.id.in_(matching))
        query = query.order_by(events_table.c.block_number, events_table.c.log_index)
        if limit is not None:
            query = query.limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def records_of(self, patient: str) -> list[dict[str, Any]]:
        return self.events("RecordAnchored", patient=patient)

    def grants_to(self, grantee: str) -> list[dict[str, Any]]:
        return self.events(("ConsentGranted", "ConsentDenied", "ConsentRevoked"), grantee=grantee)

    def consent_events_of(self, patient: str) -> list[dict[str, Any]]:
        return self.events(("ConsentGranted", "ConsentDenied", "ConsentRevoked"), patient=patient)

    def accesses_of(self, patient: str) -> list[dict[str, Any]]:
        return self.events("AccessRecorded", patient=patient)

    def licences_of(self, researcher: str) -> list[dict[str, Any]]:
        return self.events(
            ("LicencePurchased", "KeyDelivered", "KeyDisputed"), researcher=researcher
        )

    def custody_of(self, lot_id: str | bytes) -> list[dict[str, Any]]:
        """A lot's commissioning, shipments, receipts, status changes and recall, plus the
        shipments of containers packed from it."""
        lot = key(lot_id)
        direct = self.events(None, lotId=lot)
        containers = {e["args"]["containerId"] for e in direct if e["name"] == "Aggregated"}
        moves: list[dict[str, Any]] = []
        for container in sorted({lot, *containers}):
            moves += self.events(
                ("Shipped", "Received", "ShipmentCancelled"), containerId=container
            )
        seen = {(e["block"], e["log_index"]) for e in direct}
        merged = direct + [m for m in moves if (m["block"], m["log_index"]) not in seen]
        return sorted(merged, key=lambda e: (e["block"], e["log_index"]))

    def trial_entries(self, trial_id: int | str) -> list[dict[str, Any]]:
        return self.events(None, trialId=int(trial_id))


def _row(r: Any) -> dict[str, Any]:
    args = r.args if isinstance(r.args, dict) else json.loads(r.args)
    return {
        "id": int(r.id), "block": int(r.block_number), "block_hash": r.block_hash,
        "tx": r.tx_hash, "log_index": int(r.log_index), "contract": r.contract,
        "address": r.address, "name": r.name, "args": args,
    }  # fmt: skip


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL (a reader never blocks the follower) and
    foreign writers wait up to 30 s for the lock instead of failing."""
    if "://" not in url:
        url = f"sqlite:///{url}"
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine
