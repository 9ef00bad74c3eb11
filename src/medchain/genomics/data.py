"""Dataset files in and out: the owner encrypts a genome file (VCF/FASTQ/BAM bytes) with
the payloads layer, stores ciphertext and public metadata, keeps the data key in a local
keyring and mints the dataset token with the producing lab's authorisation; the
researcher, once the key is delivered, fetches the key envelope posted for it, verifies
and decrypts the dataset to a file, and may then accept the key (releasing the escrow).

The envelope context binds every ciphertext and key envelope to (random dataset record
id, schema version, chain id, GenomicDataset address). The record id is public (it is
in the metadata document) and identifies nothing about the person.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from medchain.crypto import (
    EnvelopeContext,
    canonical_json,
    encrypt_iter,
    new_data_key,
    reader,
    unwrap_key,
)
from medchain.errors import IntegrityError, InvalidInput
from medchain.files import write_file, write_json
from medchain.genomics.client import (
    ETH,
    DatasetInfo,
    GenomicDatasetClient,
    GenomicsClient,
    LicenceStatus,
    NotLicensed,
    chain_now,
    licence_id_of,
)
from medchain.storage import ContentStore, default_home

SCHEMA_VERSION = 1
METADATA_FORMAT = "medchain-genomic-dataset/v1"
FILE_FORMATS = ("VCF", "FASTQ", "BAM", "CRAM", "BCF")
Progress = Callable[[int], None]  # bytes just processed


@dataclass(frozen=True)
class DatasetMetadata:
    """The public, non-identifying description stored beside the ciphertext."""

    assay: str
    reference_genome: str
    coverage: str
    file_format: str
    plaintext_size: int
    record_id: str  # hex, 32 bytes
    chain_id: int
    registry: str
    ciphertext_sha256: str
    format: str = METADATA_FORMAT

    def to_bytes(self) -> bytes:
        return canonical_json(asdict(self))

    @classmethod
    def from_bytes(cls, raw: bytes) -> DatasetMetadata:
        try:
            doc = json.loads(raw)
            if doc.get("format") != METADATA_FORMAT:
                raise ValueError(f"format {doc.get('format')!r}")
            return cls(**doc)
        except (ValueError, TypeError) as exc:
            raise IntegrityError(
                f"not a medchain genomic dataset metadata document: {exc}"
            ) from None

    def context(self) -> EnvelopeContext:
        return EnvelopeContext(
            bytes.fromhex(self.record_id), SCHEMA_VERSION, self.chain_id, self.registry
        )


class Keyring:
    """Data keys of the datasets an owner listed, keyed by ciphertext CID, in a JSON file
    readable only by its owner (0600). The key agent reads it to wrap keys for licensees.
    Written before minting, so a crash after the mint never loses a key."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    @classmethod
    def default(cls, owner: str) -> Keyring:
        return cls(default_home() / "genomics" / f"keyring-{owner.lower()}.json")

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        data: dict[str, dict[str, str]] = json.loads(self.path.read_text())
        return data

    def put(self, data_cid: str, data_key: bytes, record_id: bytes) -> None:
        entries = self._load()
        entries[str(data_cid)] = {"key": data_key.hex(), "record_id": record_id.hex()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json(self.path, entries, indent=1, sort_keys=True, private=True)

    def get(self, data_cid: str) -> bytes | None:
        entry = self._load().get(str(data_cid))
        return bytes.fromhex(entry["key"]) if entry else None


@dataclass(frozen=True)
class PreparedDataset:
    """Encrypted and stored, not yet listed: what the producing lab authorises."""

    data_cid: str
    metadata_cid: str
    ciphertext_hash: bytes
    metadata: DatasetMetadata


@dataclass(frozen=True)
class ListedDataset:
    dataset_id: int
    data_cid: str
    metadata_cid: str
    ciphertext_hash: bytes
    metadata: DatasetMetadata


def _hashing(pieces: Iterator[bytes], hasher: Any) -> Iterator[bytes]:
    for piece in pieces:
        hasher.update(piece)
        yield piece


def prepare_genome(
    datasets: GenomicDatasetClient,
    store: ContentStore,
    source: bytes | BinaryIO | Path,
    *,
    keyring: Keyring,
    assay: str,
    reference_genome: str,
    coverage: str,
    file_format: str,
    progress: Progress | None = None,
) -> PreparedDataset:
    """Encrypt a genome file (fresh key, context-bound), store ciphertext and metadata and
    keep the key in `keyring`. Nothing is on chain yet: the lab authorises the result."""
    if file_format.upper() not in FILE_FORMATS:
        raise InvalidInput(f"file format must be one of {', '.join(FILE_FORMATS)}")
    if isinstance(source, Path):
        size = source.stat().st_size
        stream: bytes | BinaryIO = source.open("rb")
    else:
        stream = source
        size = len(source) if isinstance(source, bytes) else -1
    record_id, data_key = os.urandom(32), new_data_key()
    context = EnvelopeContext(record_id, SCHEMA_VERSION, datasets.chain_id, datasets.address)
    hasher = hashlib.sha256()
    try:
        cid = store.add(
            reader(_hashing(encrypt_iter(stream, data_key, context), hasher)), progress=progress
        )
    finally:
        if isinstance(source, Path) and not isinstance(stream, bytes):
            stream.close()
    digest = hasher.digest()
    keyring.put(str(cid), data_key, record_id)
    metadata = DatasetMetadata(
        assay=assay, reference_genome=reference_genome, coverage=coverage,
        file_format=file_format.upper(), plaintext_size=size, record_id=record_id.hex(),
        chain_id=datasets.chain_id, registry=datasets.address, ciphertext_sha256=digest.hex(),
    )  # fmt: skip
    metadata_cid = store.add(metadata.to_bytes())
    return PreparedDataset(str(cid), str(metadata_cid), digest, metadata)


def list_genome(
    datasets: GenomicDatasetClient,
    store: ContentStore,
    source: bytes | BinaryIO | Path,
    *,
    keyring: Keyring,
    lab: Any,
    assay: str,
    reference_genome: str,
    coverage: str,
    file_format: str,
    royalty_receiver: str = ETH,
    royalty_bps: int = 0,
    progress: Progress | None = None,
) -> ListedDataset:
    """Encrypt, store and key a genome file (`prepare_genome`), have the producing `lab`
    (an account that signs here) authorise the listing, then mint the token to the sender."""
    prepared = prepare_genome(
        datasets, store, source, keyring=keyring, assay=assay,
        reference_genome=reference_genome, coverage=coverage, file_format=file_format,
        progress=progress,
    )  # fmt: skip
    dataset_id = datasets.list(
        prepared.data_cid, prepared.ciphertext_hash, prepared.metadata_cid,
        royalty_receiver, royalty_bps, lab=lab,
    )  # fmt: skip
    return ListedDataset(
        dataset_id, prepared.data_cid, prepared.metadata_cid, prepared.ciphertext_hash,
        prepared.metadata,
    )  # fmt: skip


def read_metadata(store: ContentStore, info: DatasetInfo) -> DatasetMetadata:
    meta = DatasetMetadata.from_bytes(store.cat(info.metadata_cid))
    if bytes.fromhex(meta.ciphertext_sha256) != info.ciphertext_hash:
        raise IntegrityError(f"metadata of dataset {info.dataset_id} names another ciphertext")
    return meta


def wait_for_key(
    client: GenomicsClient,
    licence_id: int,
    *,
    timeout: float = 300.0,
    poll: float = 2.0,
    from_block: int = 0,
) -> tuple[str, bytes]:
    """Block until the key envelope of `licence_id` is posted: (envelope CID, digest)."""
    deadline = time.monotonic() + timeout
    while True:
        found = client.delivered_envelope(licence_id, from_block)
        if found is not None:
            return found
        lic = client.licence(licence_id)
        if lic.status in (LicenceStatus.NONE, LicenceStatus.REFUNDED):
            raise NotLicensed(
                f"licence {licence_id:#x} is {lic.status.name.lower()}: no key will come"
            )
        # Every later block is past the head, so head >= keyDeadline means no key can come.
        if lic.status == LicenceStatus.PENDING and chain_now() >= lic.key_deadline:
            raise NotLicensed(
                f"licence {licence_id:#x}: the key delivery deadline passed without a key; "
                "reclaim the payment with `medchain genomics refund`"
            )
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no key envelope for licence {licence_id:#x} after {timeout:.0f} s")
        time.sleep(poll)


def open_data_key(
    client: GenomicsClient,
    store: ContentStore,
    licence_id: int,
    private_key: Any,
    context: EnvelopeContext,
    from_block: int = 0,
) -> bytes:
    """Fetch the envelope posted for the licence, check its digest, unwrap the data key."""
    found = client.delivered_envelope(licence_id, from_block)
    if found is None:
        raise NotLicensed(f"no key envelope has been posted for licence {licence_id:#x}")
    cid, digest = found
    raw = store.cat(cid)
    if hashlib.sha256(raw).digest() != digest:
        raise IntegrityError(f"key envelope {cid} does not match the digest posted on chain")
    return unwrap_key(raw, private_key, context)


@dataclass(frozen=True)
class Download:
    dataset_id: int
    path: Path
    plaintext_size: int
    ciphertext_hash: bytes


def download(
    client: GenomicsClient,
    store: ContentStore,
    dataset_id: int,
    researcher: str,
    private_key: Any,
    purpose: int,
    out: Path,
    *,
    progress: Progress | None = None,
    from_block: int = 0,
    accept: bool = False,
) -> Download:
    """Download, verify and decrypt a dataset the researcher holds a running licence for.

    Refuses (NotLicensed) without a delivered, unexpired, undisputed licence covering
    `purpose`. Writes to a temporary file and renames it only once the ciphertext hash
    matches the token's and every chunk authenticated. With `accept`, a key still under
    review is then accepted on chain (the client's sender must be the researcher), which
    releases the escrow to the owner.
    """
    if not client.is_licensed(dataset_id, researcher, purpose):
        raise NotLicensed(
            f"{researcher} holds no running licence on dataset {dataset_id} for purpose "
            f"{purpose:#x} (none, expired or refunded): refusing to fetch or decrypt"
        )
    info = client.dataset_client().dataset(dataset_id)
    meta = read_metadata(store, info)
    context = meta.context()
    if context.registry.lower().removeprefix("0x") != info_registry(client):
        raise IntegrityError("dataset metadata is bound to another dataset contract")
    data_key = open_data_key(
        client, store, licence_id_of(dataset_id, researcher), private_key, context, from_block
    )
    from medchain.crypto import decrypt_iter

    hasher = hashlib.sha256()

    def ciphertext() -> Iterator[bytes]:
        for piece in store.stream(info.data_cid):
            hasher.update(piece)
            if progress:
                progress(len(piece))
            yield piece

    def plaintext() -> Iterator[bytes]:
        yield from decrypt_iter(ciphertext(), data_key, context)
        if hasher.digest() != info.ciphertext_hash:
            raise IntegrityError(f"dataset {dataset_id}: ciphertext hash differs from the token's")

    out = write_file(out, plaintext(), private=True)
    licence_id = licence_id_of(dataset_id, researcher)
    if accept and client.licence(licence_id).status == LicenceStatus.DELIVERED:
        client.accept_key(licence_id)
    return Download(dataset_id, out, out.stat().st_size, info.ciphertext_hash)


def info_registry(client: GenomicsClient) -> str:
    return str(client.call("datasets")).lower().removeprefix("0x")
