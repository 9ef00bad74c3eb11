"""Several JSON-RPC endpoints of one chain (each institution's node) behind one ape
connection, with failover, and the confirmation depth transactions wait for.

`MEDCHAIN_RPC_URLS=http://a,http://b,http://c` (or `connect([...])`) puts a
`FailoverHTTPProvider` under ape's provider: every JSON-RPC request goes to the current
endpoint; when it does not answer (connection refused or reset, timeout) the provider
switches to the next endpoint that answers with the same chain id and repeats the request
there. Callers change nothing: ape's provider object, its PoA middleware and the contract
instances bound to it stay as they are.

What is repeated on another node:

- reads (`eth_call`, `eth_getTransactionReceipt`, blocks, logs, ...): always;
- `eth_sendRawTransaction`: the SAME signed bytes, so the same nonce and the same hash. A
  node that already has it answers "already known" (in its pool) or "nonce too low" (mined):
  both mean the transaction is there, and the hash is returned. A new nonce is never
  chosen here;
- `eth_sendTransaction` (a node signing with its own key): never, since the dead node may
  have signed and broadcast it; the error goes to the caller.

Every raw transaction sent through the provider is remembered until a receipt for it has
been seen. After a failover each of them is looked up by hash on the new endpoint (found
when the dead node had gossiped it) and rebroadcast, the same bytes, when it is not there:
a transaction accepted by a node that died right after answering is neither lost nor sent
twice.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import requests
from eth_typing import URI
from web3 import HTTPProvider

from medchain.codec import hex_to_bytes, to_hex
from medchain.errors import ConfigurationError, NodeUnreachable
from medchain.hashing import keccak
from medchain.network.rpc import try_rpc

RPC_URLS_ENV = "MEDCHAIN_RPC_URLS"
CONFIRMATIONS_ENV = "MEDCHAIN_CONFIRMATIONS"
REQUEST_TIMEOUT = 30.0  # seconds per request before the endpoint counts as not answering
PROBE_TIMEOUT = 2.0  # eth_chainId on a candidate endpoint
CONFIRMATION_TIMEOUT = 600.0
REMEMBERED_TRANSACTIONS = 4096  # raw transactions kept until their receipt is seen
# a node that signs with its own key: repeating the request could sign a second transaction
NOT_REPEATED = frozenset({"eth_sendTransaction", "personal_sendTransaction", "eth_signTransaction"})
# a node's answer to a raw transaction it already has (pool: "already known"; mined: "nonce
# too low"); geth, anvil and Besu word them so
ALREADY_THERE = ("already known", "known transaction", "nonce too low", "already imported")


class NoLiveEndpoint(NodeUnreachable):
    """None of the configured RPC endpoints answers for the chain."""


def endpoints_from_env() -> list[str]:
    """The endpoints in `$MEDCHAIN_RPC_URLS` (comma- or space-separated), in order."""
    raw = os.environ.get(RPC_URLS_ENV, "")
    return [u for u in raw.replace(",", " ").split() if u]


def parse_urls(value: str | Sequence[str]) -> list[str]:
    """A list of http(s) URLs from a comma-separated string or a sequence."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    for url in items:
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"RPC endpoints must be http(s) URLs, got '{url}'")
    if not items:
        raise ConfigurationError("no RPC endpoint given")
    return items


def chain_id_at(url: str) -> int | None:
    """The chain id the node at `url` answers with, or None when it does not answer."""
    answer = try_rpc(url, "eth_chainId", timeout=PROBE_TIMEOUT)
    return int(answer, 16) if isinstance(answer, str) else None


class FailoverHTTPProvider(HTTPProvider):
    """web3's HTTP provider over several endpoints of one chain (see the module's doc)."""

    def __init__(self, urls: Sequence[str], chain_id: int, timeout: float = REQUEST_TIMEOUT):
        self.urls = parse_urls(urls)
        self.chain_id = chain_id
        super().__init__(self.urls[0], request_kwargs={"timeout": timeout})
        self._switch = threading.Lock()
        self._sent: OrderedDict[str, str] = OrderedDict()  # hash -> raw hex, until a receipt
        self._sent_lock = threading.Lock()
        self.failovers = 0
        self.found_by_hash = 0  # after a failover: already on the new endpoint
        self.rebroadcasts = 0  # after a failover: sent again (same bytes) to the new endpoint

    # --------------------------------------------------------------- requests

    def make_request(self, method: Any, params: Any) -> Any:
        tried: set[str] = set()
        while True:
            url = str(self.endpoint_uri)
            try:
                response = super().make_request(method, params)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if method in NOT_REPEATED:
                    raise
                tried.add(url)
                self.fail_over(url, tried, exc)
                continue
            return self._observe(method, params, response)

    def _observe(self, method: str, params: Any, response: Any) -> Any:
        if method == "eth_sendRawTransaction" and isinstance(response, dict):
            raw = params[0] if isinstance(params[0], str) else to_hex(params[0])
            error = response.get("error")
            if error and self._already_there(raw, str(error.get("message", ""))):
                txhash = to_hex(keccak(hex_to_bytes(raw, "raw transaction")))
                response = {"jsonrpc": "2.0", "id": response.get("id"), "result": txhash}
            if response.get("result"):
                self._remember(str(response["result"]), raw)
        elif method == "eth_getTransactionReceipt" and isinstance(response, dict):
            asked = params[0] if isinstance(params[0], str) else to_hex(params[0])
            if response.get("result"):
                with self._sent_lock:
                    self._sent.pop(str(asked), None)
        return response

    def _already_there(self, raw: str, message: str) -> bool:
        """True when the node refused `raw` because it has this very transaction: "already
        known" (in its pool), or "nonce too low" with the hash found on the node (mined).
        "nonce too low" for another transaction with the same nonce stays an error."""
        from medchain.network.rpc import try_rpc

        message = message.lower()
        if not any(w in message for w in ALREADY_THERE):
            return False
        if "nonce too low" not in message:
            return True
        found = try_rpc(
            str(self.endpoint_uri),
            "eth_getTransactionByHash",
            to_hex(keccak(hex_to_bytes(raw, "raw transaction"))),
        )
        return found is not None

    def _remember(self, txhash: str, raw: str) -> None:
        with self._sent_lock:
            self._sent[txhash] = raw
            while len(self._sent) > REMEMBERED_TRANSACTIONS:
                self._sent.popitem(last=False)

    @property
    def unconfirmed(self) -> list[str]:
        """Hashes of raw transactions sent through this provider with no receipt seen yet."""
        with self._sent_lock:
            return list(self._sent)

    # --------------------------------------------------------------- failover

    def fail_over(self, dead: str, tried: set[str], cause: BaseException | None = None) -> str:
        """Switch from `dead` to the next endpoint that answers with this chain's id; then
        make sure every remembered transaction is on it. Returns the new endpoint."""
        with self._switch:
            if str(self.endpoint_uri) != dead and str(self.endpoint_uri) not in tried:
                return str(self.endpoint_uri)  # another thread switched already
            start = self.urls.index(dead) + 1 if dead in self.urls else 0
            for url in self.urls[start:] + self.urls[:start]:
                if url in tried:
                    continue
                if chain_id_at(url) == self.chain_id:
                    self.endpoint_uri = URI(url)
                    self.failovers += 1
                    self._recover(url)
                    return url
            raise NoLiveEndpoint(
                f"no RPC endpoint answers for chain {self.chain_id} "
                f"(tried {', '.join(self.urls)}): are the nodes running?"
            ) from cause

    def _recover(self, url: str) -> None:
        """Every raw transaction without a receipt: found on `url` by hash, or sent there
        again (the same bytes)."""
        from medchain.network.rpc import RpcError, rpc

        with self._sent_lock:
            pending = list(self._sent.items())
        for txhash, raw in pending:
            if rpc(url, "eth_getTransactionByHash", txhash) is not None:
                self.found_by_hash += 1
                continue
            try:
                rpc(url, "eth_sendRawTransaction", raw)
            except RpcError as exc:
                if not any(w in exc.message.lower() for w in ALREADY_THERE):
                    raise
            self.rebroadcasts += 1


def install(
    urls: Sequence[str] | None = None, provider: Any = None, first: str | None = None
) -> FailoverHTTPProvider | None:
    """Put a `FailoverHTTPProvider` over `urls` (default `$MEDCHAIN_RPC_URLS`) under the
    connected ape provider; the endpoint it is connected to, when listed, stays first.
    `first` (a listed endpoint) is used first instead. Returns it (the one already
    installed for the same endpoints, if any), or None without endpoints or on ape's
    in-process chain."""
    from medchain.deployments import connected_to_in_process_chain

    urls = list(urls) if urls else endpoints_from_env()
    if not urls:
        return None
    if provider is None:
        from ape import networks

        if connected_to_in_process_chain():
            return None
        provider = networks.provider
    web3 = provider.web3
    ordered = parse_urls(urls)
    installed = web3.provider
    same = isinstance(installed, FailoverHTTPProvider) and set(installed.urls) == set(ordered)
    if same and first is None:
        return installed  # type: ignore[return-value]
    current = first or str(getattr(installed, "endpoint_uri", "") or "")
    if current in ordered:
        ordered.remove(current)
        ordered.insert(0, current)
    failover = FailoverHTTPProvider(ordered, int(provider.chain_id))
    web3.provider = failover
    return failover


@contextmanager
def connect(urls: str | Sequence[str]) -> Iterator[Any]:
    """Connect ape to the first of `urls` that answers, with failover over all of them
    (`with connect([node0, node1, node2]) as provider: ...`)."""
    from ape import networks

    from medchain.network.poa import ensure_poa_middleware

    endpoints = parse_urls(urls)
    live = next((u for u in endpoints if chain_id_at(u) is not None), None)
    if live is None:
        raise NoLiveEndpoint(f"no RPC endpoint answers (tried {', '.join(endpoints)})")
    with networks.parse_network_choice(live) as provider:
        ensure_poa_middleware(provider)
        install(endpoints, provider, first=live)
        yield provider


# ---------------------------------------------------------------------- confirmations


def required_confirmations(provider: Any = None) -> int:
    """How many blocks a transaction waits for on top of the one that includes it:
    `$MEDCHAIN_CONFIRMATIONS`, else the ape network's `required_confirmations` (0 for
    local and by-URI networks)."""
    raw = os.environ.get(CONFIRMATIONS_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if value < 0:
            raise ConfigurationError(
                f"{CONFIRMATIONS_ENV} must be a whole number >= 0, got '{raw}'"
            )
        return value
    if provider is None:
        from ape import networks

        provider = networks.provider
    return int(getattr(provider.network, "required_confirmations", 0) or 0)


def wait_for_confirmations(
    provider: Any,
    txhash: str,
    block_number: int,
    confirmations: int,
    timeout: float = CONFIRMATION_TIMEOUT,
) -> int:
    """Block until the chain head is at least `block_number + confirmations` and the
    transaction is still in the canonical chain; returns the block it is in (it may move
    when a fork is resolved)."""
    if confirmations <= 0:
        return block_number
    web3 = provider.web3
    deadline = time.monotonic() + timeout
    while True:
        if web3.eth.block_number >= block_number + confirmations:
            answer = web3.provider.make_request("eth_getTransactionReceipt", [txhash])
            receipt = answer.get("result") if isinstance(answer, dict) else None
            if receipt and int(receipt["blockNumber"], 16) == block_number:
                return block_number
            if receipt:  # re-included in another block after a reorg
                block_number = int(receipt["blockNumber"], 16)
                continue
        if time.monotonic() > deadline:
            raise NodeUnreachable(
                f"transaction {txhash} not {confirmations} blocks deep after {timeout:.0f} s"
            )
        time.sleep(0.1)
