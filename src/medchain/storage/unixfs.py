"""UnixFS files as `ipfs add` builds them: fixed 262144-byte chunks, a balanced DAG
of dag-pb nodes with at most 174 links, and raw leaves for CIDv1 (dag-pb leaves for
CIDv0). Building streams: memory stays at one chunk plus one pending link list per
tree level, whatever the file size. Reading walks the DAG and checks every block
against the CID that named it, so a wrong byte anywhere is an `IntegrityError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from medchain.errors import IntegrityError, InvalidInput
from medchain.storage.cid import CID, DAG_PB, RAW, decode_varint, encode_varint

CHUNK_SIZE = 262144
MAX_LINKS = 174
_UNIXFS_FILE = 2
_UNIXFS_RAW = 0

BlockSink = Callable[[CID, Any], None]  # the block as bytes or a memoryview
BlockSource = Callable[[CID], bytes]


def _field_bytes(number: int, value: bytes) -> bytes:
    return encode_varint(number << 3 | 2) + encode_varint(len(value)) + value


def _field_varint(number: int, value: int) -> bytes:
    return encode_varint(number << 3) + encode_varint(value)


def unixfs_data(data: bytes | None, filesize: int, blocksizes: list[int]) -> bytes:
    """The UnixFS `Data` message of a File node (Type, Data, filesize, blocksizes)."""
    out = _field_varint(1, _UNIXFS_FILE)
    if data:
        out += _field_bytes(2, data)
    out += _field_varint(3, filesize)
    for size in blocksizes:
        out += _field_varint(4, size)
    return out


@dataclass(frozen=True)
class Link:
    cid: CID
    tsize: int  # cumulative serialized size of the linked subtree (dag-pb `Tsize`)
    filesize: int  # file bytes under the link (UnixFS `blocksizes` entry)


def dag_pb_node(links: list[Link], data: bytes) -> bytes:
    """A dag-pb PBNode: links first (each with an empty name), then the data."""
    out = b""
    for link in links:
        body = _field_bytes(1, link.cid.to_bytes()) + _field_bytes(2, b"")
        body += _field_varint(3, link.tsize)
        out += _field_bytes(2, body)
    return out + _field_bytes(1, data)


class DagBuilder:
    """Feed chunks in order, then `finish()` for the root; blocks go to `sink` as made."""

    def __init__(self, sink: BlockSink, *, cid_version: int = 1, raw_leaves: bool | None = None):
        if cid_version not in (0, 1):
            raise InvalidInput(f"cid_version must be 0 or 1, got {cid_version}")
        self.sink = sink
        self.cid_version = cid_version
        self.raw_leaves = (cid_version == 1) if raw_leaves is None else raw_leaves
        if cid_version == 0 and self.raw_leaves:
            raise InvalidInput("raw leaves need CIDv1")
        self._levels: list[list[Link]] = [[]]

    def _leaf(self, chunk: bytes | memoryview) -> Link:
        if self.raw_leaves:
            cid = CID.of_block(chunk, codec=RAW, version=self.cid_version)
            self.sink(cid, chunk)
            return Link(cid, len(chunk), len(chunk))
        block = dag_pb_node([], unixfs_data(bytes(chunk), len(chunk), []))
        cid = CID.of_block(block, codec=DAG_PB, version=self.cid_version)
        self.sink(cid, block)
        return Link(cid, len(block), len(chunk))

    def _node(self, links: list[Link]) -> Link:
        filesize = sum(link.filesize for link in links)
        block = dag_pb_node(links, unixfs_data(None, filesize, [lk.filesize for lk in links]))
        cid = CID.of_block(block, codec=DAG_PB, version=self.cid_version)
        self.sink(cid, block)
        return Link(cid, len(block) + sum(link.tsize for link in links), filesize)

    def _push(self, level: int, link: Link) -> None:
        # A full level is closed into a parent only when one more entry arrives, which
        # is exactly when the balanced importer starts its next sibling subtree.
        if len(self._levels[level]) == MAX_LINKS:
            if level + 1 == len(self._levels):
                self._levels.append([])
            self._push(level + 1, self._node(self._levels[level]))
            self._levels[level] = []
        self._levels[level].append(link)

    def add_chunk(self, chunk: bytes | memoryview) -> None:
        self._push(0, self._leaf(chunk))

    def finish(self) -> Link:
        if not self._levels[0] and len(self._levels) == 1:
            # The empty file: one leaf node, as `ipfs add` makes it.
            return self._leaf(b"")
        for level in range(len(self._levels) - 1):
            if self._levels[level]:
                self._levels[level + 1].append(self._node(self._levels[level]))
                self._levels[level] = []
        top = self._levels[-1]
        return top[0] if len(top) == 1 else self._node(top)


class ChunkFeeder:
    """Cuts a stream of arbitrary pieces into fixed chunks for a DagBuilder, passing
    zero-copy views of each piece where a chunk lies wholly inside it."""

    def __init__(self, builder: DagBuilder, size: int = CHUNK_SIZE):
        self.builder = builder
        self.size = size
        self._buf = bytearray()

    def update(self, piece: bytes | memoryview) -> None:
        view = memoryview(piece)
        pos = 0
        if self._buf:
            pos = min(self.size - len(self._buf), len(view))
            self._buf += view[:pos]
            if len(self._buf) < self.size:
                return
            self.builder.add_chunk(bytes(self._buf))
            self._buf = bytearray()
        while len(view) - pos >= self.size:
            self.builder.add_chunk(view[pos : pos + self.size])
            pos += self.size
        self._buf += view[pos:]

    def finish(self) -> Link:
        if self._buf:
            self.builder.add_chunk(bytes(self._buf))
            self._buf = bytearray()
        return self.builder.finish()


def iter_chunks(source: BinaryIO | bytes, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Fixed-size chunks of a byte string or a readable binary stream."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        for start in range(0, len(data), size):
            yield data[start : start + size]
        return
    while True:
        buf = bytearray()
        while len(buf) < size:
            part = source.read(size - len(buf))
            if not part:
                break
            buf += part
        if buf:
            yield bytes(buf)
        if len(buf) < size:
            return


def build(
    source: BinaryIO | bytes,
    sink: BlockSink,
    *,
    cid_version: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Link:
    """Chunk `source`, build the DAG, hand each block to `sink`; returns the root link."""
    builder = DagBuilder(sink, cid_version=cid_version)
    for chunk in iter_chunks(source):
        builder.add_chunk(chunk)
        if progress is not None:
            progress(len(chunk))
    return builder.finish()


def compute_cid(source: BinaryIO | bytes, *, cid_version: int = 1) -> CID:
    """The CID `ipfs add` would print (v1: `--cid-version=1 --raw-leaves`)."""
    return build(source, lambda cid, block: None, cid_version=cid_version).cid


# -- reading -------------------------------------------------------------------------


def _parse_fields(buf: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    pos = 0
    while pos < len(buf):
        key, pos = decode_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = decode_varint(buf, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = decode_varint(buf, pos)
            if pos + length > len(buf):
                raise InvalidInput("truncated protobuf field")
            yield number, wire, buf[pos : pos + length]
            pos += length
        else:
            raise InvalidInput(f"unsupported protobuf wire type {wire}")


def decode_node(block: bytes) -> tuple[list[CID], bytes]:
    """Links and UnixFS file bytes of a dag-pb File node."""
    links: list[CID] = []
    data = b""
    for number, wire, value in _parse_fields(block):
        if number == 2 and wire == 2:
            assert isinstance(value, bytes)
            for sub_number, sub_wire, sub_value in _parse_fields(value):
                if sub_number == 1 and sub_wire == 2:
                    assert isinstance(sub_value, bytes)
                    links.append(CID.from_bytes(sub_value))
        elif number == 1 and wire == 2:
            assert isinstance(value, bytes)
            data = value
    file_type = None
    file_bytes = b""
    for number, _wire, value in _parse_fields(data):
        if number == 1:
            file_type = value
        elif number == 2:
            assert isinstance(value, bytes)
            file_bytes = value
    if file_type not in (_UNIXFS_FILE, _UNIXFS_RAW):
        raise InvalidInput(f"dag-pb node is not a UnixFS file (type {file_type!r})")
    return links, file_bytes


def read(root: CID, get_block: BlockSource) -> Iterator[bytes]:
    """Stream a file's bytes, depth first, checking each block against its CID."""
    stack = [root]
    while stack:
        cid = stack.pop()
        block = get_block(cid)
        if not cid.verify(block):
            raise IntegrityError(f"block {cid} does not hash to its CID: refused")
        if cid.codec == RAW:
            yield block
            continue
        try:
            links, data = decode_node(block)
        except InvalidInput as exc:
            raise IntegrityError(f"block {cid} is not a UnixFS file node: {exc}") from None
        if data:
            yield data
        stack.extend(reversed(links))
