"""A content store replicated by IPFS Cluster, read from any live Kubo node beside it.

Writes go to a cluster peer's REST API (`/add` with a replication factor; any live peer
will do). The store then waits until the cluster reports the content `pinned` on at
least `replication_min` peers, and says how many did (`replicas(cid)`); fewer is
`ReplicationError`, so `Records.put` anchors nothing it could lose with one node.

Reads never trust one node: every block comes from the Kubo RPC API of a peer's node
(`block/get`) and is hashed against the CID that named it. A node that is down, lacks
the block or answers with other bytes is skipped and the next peer is asked; only when
no peer gives the right bytes does a read fail (`IntegrityError` if some peer lied,
`ContentNotFound` / `StoreUnavailable` otherwise).

Configuration (`open_store("cluster+...")` or `$MEDCHAIN_IPFS_API`): a comma-separated
list of peers, each its REST API URL with the Kubo RPC URL beside it as `ipfs=`, and the
replication factor as `min=` / `max=` (on any entry):

    cluster+http://10.0.0.1:9094?ipfs=http://10.0.0.1:5001,http://10.0.0.2:9094?ipfs=http://10.0.0.2:5001&min=2&max=3
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from medchain.errors import IntegrityError, InvalidInput
from medchain.storage import AddOptions, ContentNotFound, ContentStore, StoreUnavailable
from medchain.storage.cid import CID
from medchain.storage.kubo import KuboStore, _TeeReader, add_params, checked_upload
from medchain.storage.unixfs import read

__all__ = ["ClusterPeer", "ClusterStore", "ReplicationError", "parse_cluster_url"]

# Statuses a peer reports while it is still working on a pin (ipfs-cluster api.TrackerStatus).
_IN_PROGRESS = {"pin_queued", "pinning", "queued"}


class ReplicationError(StoreUnavailable):
    """Fewer cluster peers than the replication minimum pinned the content."""


@dataclass(frozen=True)
class ClusterPeer:
    """One cluster peer: its REST API and (for reads) the Kubo RPC API beside it."""

    api: str
    ipfs: str | None = None


def parse_cluster_url(url: str) -> tuple[list[ClusterPeer], int, int]:
    """`cluster+http://h:9094?ipfs=http://h:5001,...&min=2&max=3` -> (peers, min, max)."""
    if not url.startswith("cluster+"):
        raise InvalidInput(f"a cluster store URL starts with cluster+http://, got {url!r}")
    peers: list[ClusterPeer] = []
    found: dict[str, int] = {}
    for entry in url[len("cluster+") :].split(","):
        parts = urlsplit(entry.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(f"cluster peer {entry!r} is not an http(s) URL")
        query = parse_qs(parts.query)
        for key in ("min", "max"):
            if key in query:
                try:
                    found[key] = int(query[key][-1])
                except ValueError:
                    raise InvalidInput(f"cluster URL: {key}= must be an integer") from None
        api = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        peers.append(ClusterPeer(api, query["ipfs"][-1] if "ipfs" in query else None))
    low = found.get("min", 1)
    return peers, low, found.get("max", max(low, len(peers)))


class ClusterStore(ContentStore):
    """Content replicated on IPFS Cluster peers (`replication_min`..`replication_max`)."""

    def __init__(
        self,
        peers: Sequence[ClusterPeer | str],
        *,
        replication_min: int = 1,
        replication_max: int | None = None,
        timeout: float = 60.0,
        pin_timeout: float = 60.0,
        block_timeout: float = 10.0,
    ):
        self.peers = [p if isinstance(p, ClusterPeer) else ClusterPeer(p) for p in peers]
        if not self.peers:
            raise InvalidInput("a cluster store needs at least one cluster peer URL")
        if not any(p.ipfs for p in self.peers):
            raise InvalidInput(
                "a cluster store needs the Kubo RPC URL of at least one peer (ipfs=...) to read"
            )
        high = replication_max if replication_max is not None else max(replication_min, 1)
        if replication_min < 1 or high < replication_min:
            raise InvalidInput(
                f"replication factor min={replication_min} max={high}: need 1 <= min <= max"
            )
        self.replication_min = replication_min
        self.replication_max = high
        self.pin_timeout = pin_timeout
        self._timeout = timeout
        self._readers = [KuboStore(p.ipfs, timeout=timeout, block_timeout=block_timeout)
                         for p in self.peers if p.ipfs]  # fmt: skip
        self._client = httpx.Client(timeout=timeout)
        self.replica_counts: dict[CID, int] = {}

    @classmethod
    def from_url(cls, url: str, **kw: Any) -> ClusterStore:
        peers, low, high = parse_cluster_url(url)
        return cls(peers, replication_min=low, replication_max=high, **kw)

    @property
    def location(self) -> str:
        return "cluster+" + ",".join(p.api for p in self.peers)

    def close(self) -> None:
        self._client.close()
        for reader in self._readers:
            reader.close()

    # -- the cluster REST API ----------------------------------------------------------

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """Ask the first cluster peer that answers; HTTP errors are not retried elsewhere."""
        tried = []
        for peer in self.peers:
            try:
                response = self._client.request(method, peer.api + path, **kw)
            except httpx.TransportError as exc:
                tried.append(f"{peer.api} ({type(exc).__name__})")
                continue
            if response.status_code >= 400:
                message = response.text.strip()
                with contextlib.suppress(ValueError, AttributeError):
                    message = json.loads(message).get("message", message)
                if response.status_code == 404:
                    raise ContentNotFound(f"IPFS Cluster at {peer.api}: {message}")
                raise StoreUnavailable(
                    f"IPFS Cluster at {peer.api} refused {method} {path}: "
                    f"HTTP {response.status_code} {message[:200]}"
                )
            return response
        raise StoreUnavailable(f"no IPFS Cluster peer answers: tried {', '.join(tried)}")

    def _replication(self) -> dict[str, Any]:
        return {"replication-min": self.replication_min, "replication-max": self.replication_max}

    def status(self, cid: CID | str) -> dict[str, str]:
        """Cluster peer id -> pin status (`pinned`, `pinning`, `cluster_error`, ...)."""
        parsed = CID.parse(cid)
        response = self._request("GET", f"/pins/{parsed}")
        info = response.json()
        peer_map = info.get("peer_map") or {}
        return {peer: str(entry.get("status", "")) for peer, entry in peer_map.items()}

    def replicas(self, cid: CID | str) -> int:
        """How many cluster peers report the content pinned right now."""
        try:
            return sum(1 for s in self.status(cid).values() if s == "pinned")
        except ContentNotFound:
            return 0

    def wait_replicated(self, cid: CID | str, timeout: float | None = None) -> int:
        """Wait until every allocated peer has settled (pinned or failed) and at least
        `replication_min` report `pinned`; return how many did. `ReplicationError` when
        fewer than the minimum pinned within the timeout."""
        parsed = CID.parse(cid)
        deadline = time.monotonic() + (self.pin_timeout if timeout is None else timeout)
        statuses: dict[str, str] = {}
        while True:
            with contextlib.suppress(ContentNotFound, StoreUnavailable):
                statuses = self.status(parsed)
            pinned = sum(1 for s in statuses.values() if s == "pinned")
            busy = any(s in _IN_PROGRESS for s in statuses.values())
            if pinned >= self.replication_max or (pinned >= self.replication_min and not busy):
                self.replica_counts[parsed] = pinned
                return pinned
            if time.monotonic() > deadline:
                if pinned >= self.replication_min:
                    self.replica_counts[parsed] = pinned
                    return pinned
                seen = ", ".join(sorted(f"{s}" for s in statuses.values())) or "no status"
                raise ReplicationError(
                    f"only {pinned} of the required {self.replication_min} cluster peers "
                    f"pinned {parsed} ({seen}); nothing was anchored"
                )
            time.sleep(0.2)

    # -- ContentStore ------------------------------------------------------------------

    def _store(self, data: bytes | BinaryIO, options: AddOptions) -> CID:
        """Add through the cluster (blocks streamed to every allocated peer's Kubo), then
        wait for `replication_min` pins. The CID is computed locally from the bytes sent
        and must equal the cluster's answer."""
        params = {
            **self._replication(),
            **add_params(options),
            "stream-channels": "false",
            "name": "medchain",
        }

        def send(tee: _TeeReader) -> CID:
            response = self._request("POST", "/add", params=params, files={"file": ("blob", tee)})
            answers = _json_lines(response.text)
            if not answers:
                raise StoreUnavailable(f"IPFS Cluster at {self.location} answered add with nothing")
            last = answers[-1] if isinstance(answers[-1], dict) else answers[-1][-1]
            return CID.parse(_cid_text(last.get("cid")))

        cid = checked_upload(data, options, f"IPFS Cluster at {self.location}", send)
        if options.pin:
            self.wait_replicated(cid)
        return cid

    def pin(self, cid: CID | str) -> None:
        parsed = CID.parse(cid)
        self._request("POST", f"/pins/{parsed}", params=self._replication())
        self.wait_replicated(parsed)

    def has(self, cid: CID | str) -> bool:
        """At least `replication_min` peers report the content pinned (a cluster pin is
        recursive: each of those nodes holds every block)."""
        return self.replicas(cid) >= self.replication_min

    def get_block(self, cid: CID) -> bytes:
        failures: list[str] = []
        lied = False
        for reader in list(self._readers):
            try:
                block = reader.get_block(cid)
            except IntegrityError as exc:
                if isinstance(exc, ContentNotFound):
                    failures.append(f"{reader.location}: not found")
                    continue
                lied = True
                failures.append(f"{reader.location}: wrong bytes")
                continue
            except StoreUnavailable:
                failures.append(f"{reader.location}: unreachable")
                continue
            if reader is not self._readers[0]:  # ask the node that answered first next time
                self._readers.remove(reader)
                self._readers.insert(0, reader)
            return block
        summary = "; ".join(failures)
        if lied:
            raise IntegrityError(
                f"no cluster peer returned the bytes of {cid} ({summary}): refused"
            )
        if all(f.endswith("unreachable") for f in failures):
            raise StoreUnavailable(f"no Kubo node of the cluster answers ({summary})")
        raise ContentNotFound(f"no cluster peer holds {cid} ({summary})")

    def stream(self, cid: CID | str) -> Iterator[bytes]:
        return read(CID.parse(cid), self.get_block)

    def remove(self, cid: CID | str) -> None:
        """Unpin cluster-wide and garbage-collect every reachable node, so no peer keeps
        the blocks (a peer that is down keeps them until it rejoins and syncs the unpin)."""
        parsed = CID.parse(cid)
        with contextlib.suppress(ContentNotFound):
            self._request("DELETE", f"/pins/{parsed}")
        deadline = time.monotonic() + self.pin_timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(ContentNotFound):
                if not any(s in ("pinned", "unpinning") for s in self.status(parsed).values()):
                    break
            if self.replicas(parsed) == 0:
                break
            time.sleep(0.2)
        for reader in self._readers:
            with contextlib.suppress(StoreUnavailable, ContentNotFound):
                reader.remove(parsed)


def _json_lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _cid_text(value: Any) -> str:
    if isinstance(value, dict):  # older cluster APIs: {"/": "bafy..."}
        value = value.get("/", "")
    return str(value or "")
