"""A minimal JSON-RPC client over HTTP (httpx) for talking to the network's nodes
directly: block heights, peers, Clique votes, probes. Ape is not needed for any of it."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from medchain.errors import MedchainError

_ids = itertools.count(1)


class RpcError(MedchainError):
    """A node answered a JSON-RPC request with an error."""

    def __init__(self, method: str, error: dict[str, Any]):
        self.method = method
        self.code = int(error.get("code", 0))
        self.message = str(error.get("message", ""))
        self.data = error.get("data")
        super().__init__(f"{method}: {self.message} (code {self.code})")


def rpc(url: str, method: str, *params: Any, timeout: float = 5.0) -> Any:
    """Call `method` on the node at `url`; returns the result or raises RpcError
    (an error answer) / httpx.HTTPError (no answer)."""
    body = {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": list(params)}
    response = httpx.post(url, json=body, timeout=timeout)
    response.raise_for_status()
    data = response.json()
    if data.get("error"):
        raise RpcError(method, data["error"])
    return data.get("result")


def try_rpc(url: str, method: str, *params: Any, timeout: float = 2.0) -> Any:
    """Like `rpc`, but None when the node does not answer (stopped, starting)."""
    try:
        return rpc(url, method, *params, timeout=timeout)
    except (httpx.HTTPError, OSError):
        return None
