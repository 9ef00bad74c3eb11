"""The one event reader: paged `eth_getLogs` over block windows, decoded by ABI.

`LogReader(web3)` reads the logs of one or more contracts between two blocks and decodes
them by event signature (topic0), with no ape in the path (raw `make_request`, `eth_abi`):

* the block window adapts to what the node accepts: a refusal that names a range or
  result limit ("block range is too wide", "query returned more than 10000 results",
  "exceed maximum block range", ...) halves the window and retries; each success grows it
  back (x2, up to `max_window`);
* `depth` (confirmation depth) reads only blocks <= head - depth;
* each `Event` carries block number, block hash, transaction hash and log index.

Every event read of the SDK goes through this module (indexer, gateway, domain
clients). On the in-process EthTester chain, which has no JSON-RPC wire format, the same
requests go through web3's formatters instead of `make_request`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from medchain.deployments import in_process_chain
from medchain.errors import InvalidInput, MedchainError, NodeUnreachable, TransactionFailed

__all__ = [
    "INDEX_ENV",
    "STATS",
    "Event",
    "EventABI",
    "LogQueryRefused",
    "LogReader",
    "ReaderStats",
    "arg_key",
    "events_of",
    "jsonable",
    "matches",
    "query_keys",
    "reader_for_book",
    "reader_for_contracts",
]

# Logs repeat a few addresses (the contract, its authors): checksum each once, not once
# per log (the checksum is a keccak).
_checksum = functools.lru_cache(maxsize=4096)(to_checksum_address)
INDEX_ENV = "MEDCHAIN_INDEX"
DEFAULT_WINDOW = 2_000
MAX_WINDOW = 100_000
# What nodes and hosted providers answer when a query is too wide or returns too much
# (geth/erigon/besu/nethermind, Infura, Alchemy, QuickNode, Ankr, public RPCs).
_LIMIT_WORDS = re.compile(
    r"range|too many|too large|limit|exceed|more than|response size|timeout|10000|query returned",
    re.IGNORECASE,
)


class LogQueryRefused(TransactionFailed):
    """The node refused an eth_getLogs query even for a single block."""


@dataclass(frozen=True)
class Event:
    """One decoded log."""

    name: str
    address: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    args: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.name,
            "address": self.address,
            "block": self.block_number,
            "block_hash": self.block_hash,
            "tx": self.tx_hash,
            "log_index": self.log_index,
            "args": {k: jsonable(v) for k, v in self.args.items()},
        }


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def arg_key(value: Any) -> str | None:
    """The comparable text form of an event argument or query value (addresses lowercase,
    bytes up to 32 as 0x-hex, ints in decimal); None for values too long to compare by key
    (dynamic bytes, long strings, arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex() if len(value) <= 32 else None
    if isinstance(value, str):
        if value.startswith("0x") and len(value) in (42, 66):
            return value.lower()
        return value if len(value) <= 80 else None
    return None


def query_keys(value: Any) -> list[str]:
    """The keys a `where` value stands for: one value, or any of a list/tuple/set of them."""
    values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
    out: list[str] = []
    for one in values:
        text = arg_key(one)
        if text is None:
            raise InvalidInput(f"cannot select events by {one!r} (too long to compare by key)")
        out.append(text)
    return out


def _canonical(arg: Mapping[str, Any]) -> str:
    kind = str(arg["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_canonical(c) for c in arg.get("components", []))
        return f"({inner}){kind[5:]}"
    return kind


@dataclass(frozen=True)
class EventABI:
    """One event of an ABI: its name, topic0 and how to decode topics and data."""

    name: str
    topic0: str
    inputs: tuple[tuple[str, str, bool], ...]  # (name, canonical type, indexed)
    anonymous: bool = False

    @classmethod
    def from_abi(cls, item: Mapping[str, Any]) -> EventABI:
        inputs = tuple(
            (str(i.get("name", "")), _canonical(i), bool(i.get("indexed"))) for i in item["inputs"]
        )
        signature = f"{item['name']}({','.join(t for _, t, _ in inputs)})"
        return cls(
            str(item["name"]),
            "0x" + keccak(text=signature).hex(),
            inputs,
            bool(item.get("anonymous")),
        )

    def decode(self, topics: Sequence[str], data: str) -> dict[str, Any]:
        indexed = [(n, t) for n, t, i in self.inputs if i]
        plain = [(n, t) for n, t, i in self.inputs if not i]
        args: dict[str, Any] = {}
        for (name, kind), topic in zip(indexed, topics[1:], strict=False):
            raw = bytes.fromhex(topic[2:])
            dynamic = kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")
            args[name] = raw if dynamic else abi_decode([kind], raw)[0]
        values = abi_decode([t for _, t in plain], bytes.fromhex(data[2:])) if plain else ()
        for (name, _), value in zip(plain, values, strict=True):
            args[name] = value
        return {k: _normal(v) for k, v in args.items()}

    def has(self, arg: str) -> bool:
        return any(name == arg for name, _, _ in self.inputs)

    def topic_filter(self, where: Mapping[str, Any]) -> tuple[tuple[str, ...] | None, ...]:
        """The eth_getLogs topics after topic0 that select `where` on indexed arguments
        (None = any); arguments that are not indexed are left to `matches`."""
        out: list[tuple[str, ...] | None] = []
        for name, kind, indexed in self.inputs:
            if not indexed:
                continue
            if name in where and not _dynamic(kind):
                values = where[name]
                many = values if isinstance(values, list | tuple | set | frozenset) else [values]
                out.append(tuple(sorted({_topic(kind, v) for v in many})))
            else:
                out.append(None)
        while out and out[-1] is None:
            out.pop()
        return tuple(out)

    def restore(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Decoded arguments back from their JSON form (`Event.to_json()["args"]`), so an
        event read from an index equals the same event decoded from the node."""
        out: dict[str, Any] = {}
        for name, kind, indexed in self.inputs:
            if name not in args:
                continue
            value = args[name]
            out[name] = (
                bytes.fromhex(value[2:]) if indexed and _dynamic(kind) else _restore(kind, value)
            )
        return out


def matches(event: Event, keys: Mapping[str, list[str]]) -> bool:
    """Whether every `where` argument of the event has one of the wanted keys."""
    return all(
        name in event.args and arg_key(event.args[name]) in wanted for name, wanted in keys.items()
    )


def _dynamic(kind: str) -> bool:
    return kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")


def _topic(kind: str, value: Any) -> str:
    if (
        isinstance(value, str)
        and value.startswith("0x")
        and kind.startswith(("bytes", "uint", "int"))
    ):
        raw = bytes.fromhex(value[2:])
        value = raw if kind.startswith("bytes") else int.from_bytes(raw, "big")
    try:
        return "0x" + abi_encode([kind], [value]).hex()
    except Exception as exc:  # eth_abi raises several encoding errors for a wrong value
        raise InvalidInput(f"{value!r} is not a {kind}: {exc}") from None


def _split_tuple(kind: str) -> list[str]:
    """Top-level component types of '(a,(b,c),d[])'."""
    inner, parts, depth, start = kind[1 : kind.rindex(")")], [], 0, 0
    for i, char in enumerate(inner):
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    if inner:
        parts.append(inner[start:])
    return parts


def _restore(kind: str, value: Any) -> Any:
    if kind.endswith("]"):
        inner = kind[: kind.rindex("[")]
        return [_restore(inner, v) for v in value]
    if kind.startswith("("):
        return [_restore(k, v) for k, v in zip(_split_tuple(kind), value, strict=True)]
    if kind.startswith("bytes") and isinstance(value, str):
        return bytes.fromhex(value[2:])
    return value


def _normal(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return _checksum(value)
    if isinstance(value, tuple):
        return [_normal(v) for v in value]
    return value


def events_of(abi: Iterable[Mapping[str, Any]]) -> dict[str, EventABI]:
    """topic0 -> EventABI for every non-anonymous event of `abi`."""
    out: dict[str, EventABI] = {}
    for item in abi:
        if item.get("type") == "event" and not item.get("anonymous"):
            event = EventABI.from_abi(item)
            out[event.topic0] = event
    return out


@dataclass
class ReaderStats:
    """What every LogReader of this process asked the node and the index (for the bench
    and the tests that show an index leaves the node only the tail)."""

    node_queries: int = 0  # eth_getLogs requests sent
    node_blocks: int = 0  # blocks those requests covered
    index_reads: int = 0  # reads answered (in part) from an index database


STATS = ReaderStats()


class LogReader:
    """Paged, adaptive eth_getLogs over a web3 provider (raw requests, ABI decoding), with
    the blocks an index database has confirmed answered from that database.

    `contracts` maps an address to its ABI (list of ABI items); logs of other addresses or
    unknown topic0 are skipped. `index`: a SQLAlchemy URL or SQLite path of an index
    written by `medchain index run`; None (the default) takes `MEDCHAIN_INDEX` from the
    environment; False never uses one (the indexer's own reader)."""

    def __init__(
        self,
        web3: Any,
        contracts: Mapping[str, Iterable[Mapping[str, Any]]],
        *,
        window: int = DEFAULT_WINDOW,
        max_window: int = MAX_WINDOW,
        index: str | bool | None = None,
    ):
        if window < 1 or max_window < window:
            raise InvalidInput(f"window {window} must be >= 1 and <= max_window {max_window}")
        self.web3 = web3
        self.window = window
        self.max_window = max_window
        self.abis = {to_checksum_address(a): events_of(abi) for a, abi in contracts.items()}
        self.in_process = in_process_chain(web3)
        if index is None:
            index = os.environ.get(INDEX_ENV, "").strip() or False
        self.index_url: str | None = index if isinstance(index, str) and index else None
        self._chain_id: int | None = None
        self.queries = 0  # eth_getLogs requests sent (for benchmarks and tests)
        self.blocks = 0  # blocks those requests covered
        self.refusals = 0  # range/limit refusals seen (the window was halved)
        self.indexed_through = -1  # last block the last read took from the index (-1: none)

    # -- raw requests --------------------------------------------------------------------

    def request(self, method: str, params: list[Any]) -> Any:
        if self.in_process:
            # EthTester only understands web3's formatted requests; its replies come back
            # as Python values, which `decode`, `_int` and `_hex` accept as well.
            try:
                return self.web3.manager.request_blocking(method, params)
            except Exception as exc:
                raise _RpcError(str(exc)) from exc
        try:
            answer = self.web3.provider.make_request(method, params)
        except OSError as exc:
            raise NodeUnreachable(f"cannot reach the node for {method}: {exc}") from exc
        except Exception as exc:  # web3 raises its own errors for JSON-RPC error objects
            raise _RpcError(str(exc)) from exc
        if isinstance(answer, Mapping) and answer.get("error"):
            error = answer["error"]
            message = error.get("message", error) if isinstance(error, Mapping) else error
            raise _RpcError(str(message))
        return answer["result"]

    def head(self) -> int:
        return _int(self.request("eth_blockNumber", []))

    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = _int(self.request("eth_chainId", []))
        return self._chain_id

    def block_hash(self, number: int) -> str | None:
        block = self.request("eth_getBlockByNumber", [hex(number), False])
        return None if block is None else _hex(block["hash"])

    # -- reading -------------------------------------------------------------------------

    def safe_head(self, depth: int = 0) -> int:
        """The newest block with at least `depth` blocks on top (-1 when none is)."""
        return self.head() - max(0, depth)

    def pages(
        self,
        from_block: int,
        to_block: int | None = None,
        *,
        depth: int = 0,
        topics: Sequence[Any] | None = None,
        addresses: Sequence[str] | None = None,
        names: Iterable[str] | None = None,
    ) -> Iterator[tuple[int, int, list[Event]]]:
        """(first, last, events) per block window, read from the node, in chain order, up to
        `to_block` (default: head - depth). The window halves on a range/limit refusal and
        doubles after a success. `topics` filters after topic0; `names` limits topic0 to
        those events (default: every known event)."""
        last = self.safe_head(depth) if to_block is None else min(to_block, self.safe_head(depth))
        yield from self._pages(from_block, last, topics, addresses, names)

    def _pages(
        self,
        first: int,
        last: int,
        topics: Sequence[Any] | None,
        addresses: Sequence[str] | None,
        names: Iterable[str] | None,
    ) -> Iterator[tuple[int, int, list[Event]]]:
        """`pages` between two blocks already known to be at or below the head (the node
        is not asked for its head again)."""
        wanted = [to_checksum_address(a) for a in (addresses or list(self.abis))]
        chosen = None if names is None else set(names)
        topic0 = sorted(
            {
                t
                for a in wanted
                for t, abi in self.abis.get(a, {}).items()
                if chosen is None or abi.name in chosen
            }
        )
        if not topic0:
            return
        while first <= last:
            end = min(last, first + self.window - 1)
            params = {
                "address": wanted,
                "fromBlock": hex(first),
                "toBlock": hex(end),
                "topics": [topic0, *[list(t) if isinstance(t, tuple) else t for t in topics or []]],
            }
            try:
                self.queries += 1
                STATS.node_queries += 1
                raw = self.request("eth_getLogs", [params])
            except _RpcError as exc:
                if not _LIMIT_WORDS.search(str(exc)):
                    raise TransactionFailed(f"eth_getLogs refused: {exc}") from None
                self.refusals += 1
                if end == first:
                    raise LogQueryRefused(
                        f"eth_getLogs refused even for block {first}: {exc}"
                    ) from None
                self.window = max(1, (end - first + 1) // 2)
                continue
            self.blocks += end - first + 1
            STATS.node_blocks += end - first + 1
            yield first, end, [e for e in (self.decode(log) for log in raw) if e is not None]
            first = end + 1
            self.window = min(self.max_window, self.window * 2)

    def read(
        self,
        from_block: int = 0,
        to_block: int | None = None,
        *,
        depth: int = 0,
        topics: Sequence[Any] | None = None,
        addresses: Sequence[str] | None = None,
        names: str | Iterable[str] | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> list[Event]:
        """Every decoded event between the blocks, in chain order (block, log index).

        `names`: only these events (one name or several). `where`: argument name -> value
        (or a list/tuple/set of values, any of which matches); an event matches when it has
        every named argument with one of the values. Addresses and 32-byte values compare
        case-insensitively, bytes as bytes or 0x-hex, integers as ints. Events of `names`
        without such an argument never match. Prefer `names`/`where` to `topics`: they are
        answered from an index database when one is configured (`topics` always asks the
        node), and they work whatever topic position the argument has in each event.

        Example (every record anchored for a patient):
        `reader.read(names="RecordAnchored", where={"patient": patient})`."""
        wanted_names = (
            None if names is None else ([names] if isinstance(names, str) else list(names))
        )
        keys = {name: query_keys(value) for name, value in (where or {}).items()}
        last = self.safe_head(depth) if to_block is None else min(to_block, self.safe_head(depth))
        self.indexed_through = -1
        if last < from_block:
            return []
        out: list[Event] = []
        first = from_block
        if self.index_url is not None and topics is None:
            from medchain.indexer.source import IndexSource

            source = IndexSource.open(self.index_url)
            covered = source.coverage(self, addresses or list(self.abis))
            if covered is not None and covered[0] <= from_block and covered[1] >= from_block:
                through = min(last, covered[1])
                out += source.events(self, from_block, through, addresses, wanted_names, keys)
                self.indexed_through = through
                STATS.index_reads += 1
                first = through + 1
        if first > last:
            return out
        return out + self._read_node(first, last, topics, addresses, wanted_names, where, keys)

    def _read_node(
        self,
        first: int,
        last: int,
        topics: Sequence[Any] | None,
        addresses: Sequence[str] | None,
        names: list[str] | None,
        where: Mapping[str, Any] | None,
        keys: Mapping[str, list[str]],
    ) -> list[Event]:
        """The node's events in [first, last]: one pass per topic layout of the wanted
        events (an argument's topic position differs between events), filtered by `keys`."""
        if topics is not None or not keys:
            found = [
                e for _, _, page in self._pages(first, last, topics, addresses, names) for e in page
            ]
            return [e for e in found if matches(e, keys)]
        wanted = [to_checksum_address(a) for a in (addresses or list(self.abis))]
        layouts: dict[tuple[Any, ...], set[str]] = {}
        for address in wanted:
            for abi in self.abis.get(address, {}).values():
                if names is not None and abi.name not in names:
                    continue
                if not all(abi.has(arg) for arg in keys):
                    continue
                layouts.setdefault(abi.topic_filter(where or {}), set()).add(abi.name)
        found = []
        for layout, layout_names in sorted(layouts.items(), key=lambda kv: sorted(kv[1])):
            for _, _, page in self._pages(first, last, list(layout), wanted, layout_names):
                found += [e for e in page if e.name in layout_names and matches(e, keys)]
        unique = {(e.block_number, e.log_index): e for e in found}
        return [unique[k] for k in sorted(unique)]

    def decode(self, log: Mapping[str, Any]) -> Event | None:
        address = _checksum(str(log["address"]))
        topics = [_hex(t) for t in log.get("topics", [])]
        if not topics:
            return None
        abi = self.abis.get(address, {}).get(topics[0])
        if abi is None:
            return None
        return Event(
            name=abi.name,
            address=address,
            block_number=_int(log["blockNumber"]),
            block_hash=_hex(log["blockHash"]),
            tx_hash=_hex(log["transactionHash"]),
            log_index=_int(log["logIndex"]),
            args=abi.decode(topics, _hex(log.get("data", "0x"))),
        )

    def event_abi(self, address: str, name: str, arg_names: Iterable[str]) -> EventABI | None:
        """The ABI of event `name` of `address` whose arguments are `arg_names` (overloaded
        events share a name)."""
        names = set(arg_names)
        candidates = [
            a for a in self.abis.get(to_checksum_address(address), {}).values() if a.name == name
        ]
        for abi in candidates:
            if {n for n, _, _ in abi.inputs} == names:
                return abi
        return candidates[0] if candidates else None


class _RpcError(MedchainError):
    """A JSON-RPC error object (kept internal: callers see a typed refusal)."""


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def reader_for_book(
    web3: Any, book: Any, names: Iterable[str] | None = None, **kw: Any
) -> LogReader:
    """A reader of every contract in an address book (or of `names` only)."""
    wanted = set(names) if names is not None else None
    contracts = {r.address: r.abi for r in book if wanted is None or r.contract_name in wanted}
    return LogReader(web3, contracts, **kw)


def reader_for_contracts(*contracts: Any, **kw: Any) -> LogReader:
    """A reader of bound ape contracts (or clients holding one in `.contract`) on the
    connected provider: how a domain client reads its own contract's events."""
    from ape import chain

    abis: dict[str, list[dict[str, Any]]] = {}
    for item in contracts:
        contract = item if hasattr(item, "contract_type") else item.contract
        abi = [entry.model_dump(mode="json", by_alias=True) for entry in contract.contract_type.abi]
        abis[str(contract.address)] = abi
    return LogReader(chain.provider.web3, abis, **kw)
