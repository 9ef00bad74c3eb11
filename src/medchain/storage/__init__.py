"""Content-addressed storage for encrypted payloads: one interface, two stores.

* `EmbeddedStore` (the default) keeps blocks on disk under `$MEDCHAIN_HOME/ipfs`
  and names content exactly as `ipfs add` does, so a CID anchored today stays valid
  when the blocks move to a real IPFS node.
* `KuboStore` speaks the Kubo RPC HTTP API at `$MEDCHAIN_IPFS_API` with httpx, and
  recomputes the CID of everything it sends or fetches: a node that answers with other
  bytes is refused with `IntegrityError`.
* `ClusterStore` adds through IPFS Cluster with a replication factor (min/max), confirms
  that at least `min` peers pinned the content, and reads every block from any live
  Kubo node beside a peer, hashed against its CID (`cluster+http://...` URLs).

`open_store()` picks one from the environment (docs/storage.md). `ipfshttpclient` is deliberately not
used: it refuses every daemon newer than 0.8 and is unmaintained.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from medchain.errors import ConfigurationError, IntegrityError, InvalidInput
from medchain.storage.cid import CID
from medchain.storage.unixfs import CHUNK_SIZE, compute_cid

__all__ = [
    "CHUNK_SIZE",
    "CID",
    "AddOptions",
    "ClusterStore",
    "ContentNotFound",
    "ContentStore",
    "EmbeddedStore",
    "KuboStore",
    "StoreUnavailable",
    "compute_cid",
    "open_store",
]

Progress = Callable[[int], None]


class StoreUnavailable(ConfigurationError):
    """The IPFS node cannot be reached or answered with an error."""


class ContentNotFound(IntegrityError, LookupError):
    """The store does not hold (all of) the content a CID names."""


@dataclass(frozen=True)
class AddOptions:
    """How `ContentStore.add` stores content: the CID version of the DAG (1: raw leaves,
    base32; 0: dag-pb leaves, base58), whether to pin it, and a progress callback (bytes
    just processed)."""

    cid_version: int = 1
    pin: bool = True
    progress: Progress | None = None


class ContentStore(ABC):
    """A content-addressed store: bytes in, CID out; CID in, verified bytes out."""

    def add(
        self,
        data: bytes | BinaryIO,
        *,
        cid_version: int = 1,
        pin: bool = True,
        progress: Progress | None = None,
    ) -> CID:
        """Store `data` (bytes or a readable binary stream) and return its CID."""
        if cid_version not in (0, 1):
            raise InvalidInput(f"cid_version must be 0 or 1, got {cid_version}")
        return self._store(data, AddOptions(cid_version, pin, progress))

    @abstractmethod
    def _store(self, data: bytes | BinaryIO, options: AddOptions) -> CID:
        """Store `data` as `options` say; the CID must be computed from the bytes, never
        taken on a node's word."""

    @abstractmethod
    def stream(self, cid: CID | str) -> Iterator[bytes]:
        """The content's bytes in order; every block is checked against its CID."""

    def cat(self, cid: CID | str) -> bytes:
        """The whole content in memory (use `stream` for large content)."""
        return b"".join(self.stream(cid))

    @abstractmethod
    def pin(self, cid: CID | str) -> None:
        """Keep the content (and every block under it) from garbage collection."""

    @abstractmethod
    def has(self, cid: CID | str) -> bool:
        """True only when the store holds every block of the content."""

    @abstractmethod
    def remove(self, cid: CID | str) -> None:
        """Unpin the content and delete its blocks where this store can (erasure).
        Blocks another pinned content shares are kept. Absent content is not an error."""

    def replicas(self, cid: CID | str) -> int | None:
        """How many storage nodes hold the content pinned (None: one local store)."""
        return None

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the store lives (a folder or an API URL), for messages."""


def default_home() -> Path:
    root = Path(os.environ.get("MEDCHAIN_ROOT", Path.cwd()))
    return Path(os.environ.get("MEDCHAIN_HOME", root / ".medchain"))


def open_store(api_url: str | None = None, *, root: Path | None = None) -> ContentStore:
    """`ClusterStore` for a `cluster+http://...` URL, `KuboStore` for another URL, given
    here or in `$MEDCHAIN_IPFS_API`; otherwise the `EmbeddedStore` under `root` (default
    `$MEDCHAIN_HOME/ipfs`), the zero-setup default."""
    url = api_url or os.environ.get("MEDCHAIN_IPFS_API")
    if url and url.startswith("cluster+"):
        from medchain.storage.cluster import ClusterStore

        return ClusterStore.from_url(url)
    if url:
        from medchain.storage.kubo import KuboStore

        return KuboStore(url)
    from medchain.storage.embedded import EmbeddedStore

    return EmbeddedStore(root or default_home() / "ipfs")


def __getattr__(name: str) -> object:
    # Lazy so `import medchain.storage` does not import httpx until a node is used.
    if name == "EmbeddedStore":
        from medchain.storage.embedded import EmbeddedStore

        return EmbeddedStore
    if name == "KuboStore":
        from medchain.storage.kubo import KuboStore

        return KuboStore
    if name == "ClusterStore":
        from medchain.storage.cluster import ClusterStore

        return ClusterStore
    raise AttributeError(name)
