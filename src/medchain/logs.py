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

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from medchain.deployments import in_process_chain
from medchain.errors import InvalidInput, MedchainError, NodeUnreachable, TransactionFailed

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


def _normal(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
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


class LogReader:
    """Paged, adaptive eth_getLogs over a web3 provider (raw requests, ABI decoding).

    `contracts` maps an address to its ABI (list of ABI items); logs of other addresses or
    unknown topic0 are skipped."""

    def __init__(
        self,
        web3: Any,
        contracts: Mapping[str, Iterable[Mapping[str, Any]]],
        *,
        window: int = DEFAULT_WINDOW,
        max_window: int = MAX_WINDOW,
    ):
        if window < 1 or max_window < window:
            raise InvalidInput(f"window {window} must be >= 1 and <= max_window {max_window}")
        self.web3 = web3
        self.window = window
        self.max_window = max_window
        self.abis = {to_checksum_address(a): events_of(abi) for a, abi in contracts.items()}
        self.in_process = in_process_chain(web3)
        self.queries = 0  # eth_getLogs requests sent (for benchmarks and tests)
        self.refusals = 0  # range/limit refusals seen (the window was halved)

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
    ) -> Iterator[tuple[int, int, list[Event]]]:
        """(first, last, events) per block window, in chain order, up to `to_block` (default:
        head - depth). The window halves on a range/limit refusal and doubles after a
        success. `topics` filters after topic0 (default: every known event)."""
        last = self.safe_head(depth) if to_block is None else min(to_block, self.safe_head(depth))
        wanted = [to_checksum_address(a) for a in (addresses or list(self.abis))]
        topic0 = sorted({t for a in wanted for t in self.abis.get(a, {})})
        first = from_block
        while first <= last:
            end = min(last, first + self.window - 1)
            params = {
                "address": wanted,
                "fromBlock": hex(first),
                "toBlock": hex(end),
                "topics": [topic0, *(topics or [])],
            }
            try:
                self.queries += 1
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
    ) -> list[Event]:
        """Every decoded event between the blocks (see `pages`), in chain order."""
        out: list[Event] = []
        for _, _, events in self.pages(
            from_block, to_block, depth=depth, topics=topics, addresses=addresses
        ):
            out.extend(events)
        return out

    def decode(self, log: Mapping[str, Any]) -> Event | None:
        address = to_checksum_address(str(log["address"]))
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


__all__ = [
    "Event",
    "EventABI",
    "LogQueryRefused",
    "LogReader",
    "events_of",
    "jsonable",
    "reader_for_book",
]
