"""The index database as a source for `medchain.logs.LogReader`.

`IndexSource.open(url)` (one per URL and process) tells a reader how far the index covers
the contracts it reads (`coverage`) and answers a block range of it with SQL (`events`):
event names and argument values become `WHERE` clauses on the indexed `events.name` and
`event_keys (name, value)` columns, so a list query touches only the matching rows. The
reader asks the node for the blocks after the index's head.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from eth_utils import to_checksum_address
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine

from medchain.errors import ConfigurationError
from medchain.logs import Event

__all__ = [
    "IndexSource",
    "sqlite_path",
]

if TYPE_CHECKING:
    from medchain.logs import LogReader


class IndexSource:
    """Read access to one index database."""

    _open: ClassVar[dict[str, IndexSource]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, url: str, engine: Engine):
        self.url = url
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> IndexSource:
        """The source for `url` (a SQLAlchemy URL or a SQLite file path), opened once. A
        SQLite file that does not exist is refused (an index is made by `medchain index
        run`, not by a read)."""
        from medchain.indexer import make_engine

        with cls._lock:
            if url not in cls._open:
                path = sqlite_path(url)
                if path is not None and not path.exists():
                    raise ConfigurationError(
                        f"index database {path} does not exist (MEDCHAIN_INDEX): create it "
                        "with `medchain index run --once --db ...` or unset MEDCHAIN_INDEX"
                    )
                engine = make_engine(url)
                if not inspect(engine).has_table("indexed_contracts"):
                    raise ConfigurationError(
                        f"{url} is not a medchain index (no indexed_contracts table): "
                        "run `medchain index run` on it first"
                    )
                cls._open[url] = cls(url, engine)
            return cls._open[url]

    def coverage(self, reader: LogReader, addresses: Sequence[str]) -> tuple[int, int] | None:
        """(first, last) block the index holds every event of `addresses` for, or None when
        it cannot answer for them: another chain, a contract it does not follow, nothing
        indexed yet, or its newest block replaced on the node (a reorg it has not undone)."""
        from medchain.indexer import blocks_table, contracts_table, cursor_table

        wanted = {to_checksum_address(a) for a in addresses}
        with self.engine.connect() as conn:
            cursor = conn.execute(select(cursor_table)).first()
            if cursor is None or int(cursor.chain_id) != reader.chain_id():
                return None
            rows = conn.execute(
                select(contracts_table.c.address, contracts_table.c.covered_from).where(
                    contracts_table.c.address.in_(sorted(wanted))
                )
            ).all()
            newest = conn.execute(
                select(blocks_table.c.number, blocks_table.c.hash)
                .order_by(blocks_table.c.number.desc())
                .limit(1)
            ).first()
        if len(rows) != len(wanted) or newest is None:
            return None
        if reader.block_hash(int(newest.number)) != newest.hash:
            return None
        return max(int(r.covered_from) for r in rows), int(cursor.next_block) - 1

    def events(
        self,
        reader: LogReader,
        first: int,
        last: int,
        addresses: Sequence[str] | None,
        names: Sequence[str] | None,
        keys: Mapping[str, list[str]],
    ) -> list[Event]:
        """The indexed events in [first, last] of the reader's contracts (or `addresses`)
        named `names` whose arguments have the `keys`, decoded as the node would give them."""
        from medchain.indexer import events_table, keys_table

        wanted = [to_checksum_address(a) for a in (addresses or list(reader.abis))]
        query = select(events_table).where(
            events_table.c.block_number >= first,
            events_table.c.block_number <= last,
            events_table.c.address.in_(wanted),
        )
        if names is not None:
            query = query.where(events_table.c.name.in_(list(names)))
        for name, values in keys.items():
            query = query.where(
                events_table.c.id.in_(
                    select(keys_table.c.event_id).where(
                        keys_table.c.name == name, keys_table.c.value.in_(values)
                    )
                )
            )
        query = query.order_by(events_table.c.block_number, events_table.c.log_index)
        out: list[Event] = []
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                args = row.args if isinstance(row.args, dict) else _json(row.args)
                abi = reader.event_abi(row.address, row.name, args)
                if abi is None:  # an event the reader's ABI does not know: the node skips it too
                    continue
                out.append(
                    Event(
                        name=row.name,
                        address=row.address,
                        block_number=int(row.block_number),
                        block_hash=row.block_hash,
                        tx_hash=row.tx_hash,
                        log_index=int(row.log_index),
                        args=abi.restore(args),
                    )
                )
        return out

    def count(self) -> int:
        from medchain.indexer import events_table

        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events_table)).scalar_one())


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL or bare path (None for other databases or in-memory)."""
    if "://" not in url:
        return Path(url)
    if not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///") :]
    return None if rest in ("", ":memory:") else Path(rest)


def _json(text: Any) -> dict[str, Any]:
    import json

    return dict(json.loads(text))
