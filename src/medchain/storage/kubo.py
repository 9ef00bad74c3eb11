"""A content store on an IPFS node through the Kubo RPC HTTP API.

Nothing the node says is taken on trust: on `add` the CID is computed locally from
the very bytes uploaded and must equal the node's answer; on reads every block is
fetched with `block/get` and hashed against the CID that named it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import httpx

from medchain.errors import IntegrityError
from medchain.storage import AddOptions, ContentNotFound, ContentStore, Progress, StoreUnavailable
from medchain.storage.cid import CID, RAW
from medchain.storage.unixfs import CHUNK_SIZE, ChunkFeeder, DagBuilder, decode_node, read


class _TeeReader:
    """Feeds the bytes httpx uploads into a local DAG builder as they pass."""

    def __init__(self, source: BinaryIO | bytes, builder: DagBuilder, progress: Progress | None):
        self._bytes = bytes(source) if isinstance(source, bytes | bytearray) else None
        self._offset = 0
        self._stream = None if self._bytes is not None else source
        self._chunks = ChunkFeeder(builder)
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        size = CHUNK_SIZE if size is None or size < 0 else size
        if self._bytes is not None:
            part = self._bytes[self._offset : self._offset + size]
            self._offset += len(part)
        else:
            part = self._stream.read(size)  # type: ignore[union-attr]
        self._chunks.update(part)
        if part and self._progress is not None:
            self._progress(len(part))
        return part

    def root(self) -> CID:
        return self._chunks.finish().cid


def checked_upload(
    data: bytes | BinaryIO, options: AddOptions, where: str, send: Callable[[_TeeReader], CID]
) -> CID:
    """Upload `data` with `send` (which returns the CID the node named) while computing its
    CID locally from the same bytes; a node that names anything else is refused."""
    builder = DagBuilder(lambda cid, block: None, cid_version=options.cid_version)
    tee = _TeeReader(data, builder, options.progress)
    returned = send(tee)
    expected = tee.root()
    if returned != expected:
        raise IntegrityError(
            f"{where} named the upload {returned}, but its bytes hash to {expected}: refused"
        )
    return expected


def add_params(options: AddOptions) -> dict[str, Any]:
    """The `/add` parameters Kubo and IPFS Cluster share: the DAG layout `options` asks for,
    chunked as this package chunks (so the node's CID is the one computed locally)."""
    params: dict[str, Any] = {"cid-version": options.cid_version, "chunker": f"size-{CHUNK_SIZE}"}
    if options.cid_version == 1:
        params["raw-leaves"] = "true"
    return params


class KuboStore(ContentStore):
    """Content on an IPFS node at `api_url` (e.g. http://127.0.0.1:5001)."""

    def __init__(self, api_url: str, *, timeout: float = 60.0, block_timeout: float = 20.0):
        self.api_url = api_url.rstrip("/")
        # The node's own deadline for finding a block: a missing block is reported as
        # ContentNotFound instead of waiting for the network forever.
        self._block_timeout = f"{block_timeout:g}s"
        self._client = httpx.Client(base_url=self.api_url + "/api/v0", timeout=timeout)

    @property
    def location(self) -> str:
        return self.api_url

    def close(self) -> None:
        self._client.close()

    def _post(self, path: str, params: dict[str, Any], **kw: Any) -> httpx.Response:
        try:
            response = self._client.post(path, params=params, **kw)
        except httpx.TransportError as exc:
            raise StoreUnavailable(
                f"IPFS node at {self.api_url} is unreachable ({type(exc).__name__}: {exc})"
            ) from None
        if response.status_code >= 400:
            message = response.text.strip()
            with contextlib.suppress(ValueError, AttributeError):
                message = json.loads(message).get("Message", message)
            lowered = message.lower()
            if response.status_code in (404, 500) and (
                # js-ipfs said "timed out"; Kubo says "context deadline exceeded" when its
                # block_timeout passes, "not found locally" when offline.
                "not found" in lowered or "timed out" in lowered or "deadline exceeded" in lowered
            ):
                raise ContentNotFound(f"IPFS node at {self.api_url}: {message}")
            raise StoreUnavailable(
                f"IPFS node at {self.api_url} refused {path}: HTTP {response.status_code} "
                f"{message[:200]}"
            )
        return response

    def version(self) -> str:
        return str(self._post("/version", {}).json().get("Version", ""))

    def _store(self, data: bytes | BinaryIO, options: AddOptions) -> CID:
        params = {**add_params(options), "pin": str(options.pin).lower(), "quieter": "true"}
        if options.cid_version == 1:
            params["cid-base"] = "base32"

        def send(tee: _TeeReader) -> CID:
            response = self._post("/add", params, files={"file": ("blob", tee)})
            lines = [line for line in response.text.splitlines() if line.strip()]
            if not lines:
                raise StoreUnavailable(f"IPFS node at {self.api_url} answered add with nothing")
            return CID.parse(str(json.loads(lines[-1]).get("Hash", "")))

        return checked_upload(data, options, f"IPFS node at {self.api_url}", send)

    def get_block(self, cid: CID) -> bytes:
        block = self._post("/block/get", {"arg": str(cid), "timeout": self._block_timeout}).content
        if not cid.verify(block):
            raise IntegrityError(
                f"IPFS node at {self.api_url} returned bytes for {cid} that hash to something "
                "else: refused"
            )
        return block

    def stream(self, cid: CID | str) -> Iterator[bytes]:
        return read(CID.parse(cid), self.get_block)

    def pin(self, cid: CID | str) -> None:
        self._post("/pin/add", {"arg": str(CID.parse(cid)), "recursive": "true"})

    def remove(self, cid: CID | str) -> None:
        """Unpin (recursive) and run the node's garbage collector, which deletes every
        block no other pin holds. Content that is not pinned is not an error."""
        parsed = CID.parse(cid)
        try:
            self._post("/pin/rm", {"arg": str(parsed), "recursive": "true"})
        except StoreUnavailable as exc:
            if "not pinned" not in str(exc):
                raise
        self._post("/repo/gc", {"quiet": "true"})

    def has(self, cid: CID | str) -> bool:
        parsed = CID.parse(cid)
        try:
            self._post("/pin/ls", {"arg": str(parsed), "type": "recursive"})
            return True  # a recursive pin guarantees every block is held locally
        except (ContentNotFound, StoreUnavailable):
            pass
        stack = [parsed]
        while stack:
            current = stack.pop()
            try:
                if current.codec == RAW:
                    self._post("/block/stat", {"arg": str(current), "timeout": self._block_timeout})
                else:
                    stack.extend(decode_node(self.get_block(current))[0])
            except ContentNotFound:
                return False
        return True
