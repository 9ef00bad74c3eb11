"""Nonces for concurrent senders: one lock and one counter per (chain, sender) on
each connection.

`ContractClient.transact` takes the sender's next nonce here, signs with it and sends the
raw transaction while holding that sender's lock, then releases it and waits for the
receipt without it. So threads sharing a sender send one after another (a few
milliseconds each) but wait for their blocks together, and a nonce is never given twice
nor skipped:

- the counter is seeded from `eth_getTransactionCount(sender, "pending")` and, at every
  reservation, raised to that count when it is higher (another process sent with the
  same account);
- a reservation that ends without the node accepting the transaction gives its nonce back
  (the lock was held throughout, so no later nonce was handed out in the meantime).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Sender:
    lock: threading.Lock = field(default_factory=threading.Lock)
    next: int | None = None


@dataclass
class Reservation:
    nonce: int
    accepted: bool = False  # set once the node took the transaction with this nonce


class NonceManager:
    """Thread-safe per-sender nonces (see the module's doc)."""

    def __init__(self) -> None:
        self._senders: dict[tuple[str, str], _Sender] = {}
        self._guard = threading.Lock()

    def _sender(self, chain: int | str, address: str) -> _Sender:
        key = (str(chain), str(address).lower())
        with self._guard:
            return self._senders.setdefault(key, _Sender())

    @contextmanager
    def reserve(
        self, chain: int | str, address: str, pending_count: Callable[[], int]
    ) -> Iterator[Reservation]:
        """Hold `address`'s lock and yield its next nonce; mark the reservation
        `accepted` once the node took the transaction, or the nonce is given back."""
        sender = self._sender(chain, address)
        with sender.lock:
            pending = int(pending_count())
            nonce = pending if sender.next is None else max(sender.next, pending)
            reservation = Reservation(nonce)
            try:
                yield reservation
            finally:
                sender.next = nonce + 1 if reservation.accepted else nonce  # given back

    def forget(self, chain: int | str, address: str) -> None:
        """Re-seed `address`'s counter from the node at its next reservation."""
        sender = self._sender(chain, address)
        with sender.lock:
            sender.next = None


_MANAGERS: weakref.WeakKeyDictionary[Any, NonceManager] = weakref.WeakKeyDictionary()
_MANAGERS_LOCK = threading.Lock()


def nonce_manager(connection: Any) -> NonceManager:
    """The nonce manager of one connection (ape's web3 object): counters live as long as
    the connection, so a dev chain restarted with the same chain id (anvil) starts from
    the node's count again. Failover keeps the connection, hence the counters."""
    with _MANAGERS_LOCK:
        manager = _MANAGERS.get(connection)
        if manager is None:
            manager = _MANAGERS[connection] = NonceManager()
        return manager
