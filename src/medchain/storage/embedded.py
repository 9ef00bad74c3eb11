"""The embedded content store: IPFS blocks as files on local disk, no daemon.

Blocks are keyed by multihash (like Kubo's flatfs), written atomically, and checked
against their CID on every read. Pins are empty marker files named by CID.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from medchain.files import write_file
from medchain.storage import AddOptions, ContentNotFound, ContentStore
from medchain.storage.cid import CID, RAW, b32encode
from medchain.storage.unixfs import build, decode_node, read


class EmbeddedStore(ContentStore):
    """Blocks under `root/blocks/<xx>/<multihash base32>`, pins under `root/pins/`."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._blocks = self.root / "blocks"
        self._pins = self.root / "pins"
        self._blocks.mkdir(parents=True, exist_ok=True)
        self._pins.mkdir(parents=True, exist_ok=True)

    @property
    def location(self) -> str:
        return str(self.root)

    def _path(self, cid: CID) -> Path:
        name = b32encode(cid.multihash)
        return self._blocks / name[-3:-1] / name

    def put_block(self, cid: CID, block: bytes) -> None:
        path = self._path(cid)
        if path.exists():
            return
        path.parent.mkdir(exist_ok=True)
        write_file(path, block, private=True)

    def get_block(self, cid: CID) -> bytes:
        try:
            return self._path(cid).read_bytes()
        except FileNotFoundError:
            raise ContentNotFound(f"block {cid} is not in the store at {self.root}") from None

    def _store(self, data: bytes | BinaryIO, options: AddOptions) -> CID:
        root = build(
            data, self.put_block, cid_version=options.cid_version, progress=options.progress
        ).cid
        if options.pin:
            self.pin(root)
        return root

    def stream(self, cid: CID | str) -> Iterator[bytes]:
        return read(CID.parse(cid), self.get_block)

    def pin(self, cid: CID | str) -> None:
        parsed = CID.parse(cid)
        if not self.has(parsed):
            raise ContentNotFound(f"cannot pin {parsed}: not all of its blocks are stored")
        (self._pins / str(parsed)).touch()

    def pinned(self, cid: CID | str) -> bool:
        return (self._pins / str(CID.parse(cid))).exists()

    def _blocks_of(self, cid: CID) -> set[CID]:
        """Every block of the DAG under `cid` that is stored (missing ones are skipped)."""
        seen: set[CID] = set()
        stack = [cid]
        while stack:
            current = stack.pop()
            if current in seen or not self._path(current).exists():
                continue
            seen.add(current)
            if current.codec != RAW:
                block = self._path(current).read_bytes()
                if current.verify(block):
                    stack.extend(decode_node(block)[0])
        return seen

    def remove(self, cid: CID | str) -> None:
        """Drop the pin and delete the DAG's blocks, except blocks another pin still holds."""
        parsed = CID.parse(cid)
        (self._pins / str(parsed)).unlink(missing_ok=True)
        doomed = self._blocks_of(parsed)
        for marker in self._pins.iterdir():
            if not doomed:
                break
            doomed -= self._blocks_of(CID.parse(marker.name))
        for block in doomed:
            self._path(block).unlink(missing_ok=True)

    def has(self, cid: CID | str) -> bool:
        stack = [CID.parse(cid)]
        while stack:
            current = stack.pop()
            path = self._path(current)
            if not path.exists():
                return False
            if current.codec != RAW:
                block = path.read_bytes()
                if not current.verify(block):
                    return False
                stack.extend(decode_node(block)[0])
        return True
