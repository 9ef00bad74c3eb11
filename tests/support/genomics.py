"""Shared constants and helpers of the genomics tests (imported by conftest and tests)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from ape.exceptions import ContractLogicError, CustomError

from medchain.errors import ContractRevert
from medchain.genomics import GenomicDatasetClient, GenomicsClient
from medchain.genomics.duo import mask
from medchain.identity import DIDRegistryClient
from medchain.keystore import generate_x25519, public_bytes
from medchain.storage.cid import CID

HMB = mask("HMB")
GRU_ALL = mask("GRU,HMB,DS,POA")
DAY = 86_400
PRICE = 10**18
ZERO = "0x" + "00" * 20
DATA_CID = str(CID.of_block(b"ciphertext", codec=0x55))  # bafkrei..., raw leaf
META_CID = str(CID.of_block(b"metadata", codec=0x70))  # bafybei..., dag-pb
_HASHES = itertools.count(1)


def fresh_hash() -> bytes:
    """A ciphertext hash never listed before in this session (one listing per hash)."""
    return b"\x11" * 24 + next(_HASHES).to_bytes(8, "big")


def published_key(did_registry: Any, account: Any, validity: int) -> Any:
    """A new X25519 private key whose public half `account`'s DID publishes (attribute
    did/pub/X25519/enc/hex, valid for `validity` seconds): what a researcher's key agent seals to."""
    key = generate_x25519()
    DIDRegistryClient(did_registry, account).set_attribute(
        account, "did/pub/X25519/enc/hex", public_bytes(key), validity
    )
    return key


@dataclass
class Market:
    token: Any
    market: Any
    lab: Any = None  # an accredited producer (PRODUCER_ROLE) that authorises listings
    last_hash: bytes = field(default=b"")

    def datasets(self, sender: Any) -> GenomicDatasetClient:
        return GenomicDatasetClient(self.token, sender)

    def client(self, sender: Any) -> GenomicsClient:
        return GenomicsClient(self.market, sender)

    def list(
        self, owner: Any, royalty_to: Any = None, bps: int = 0, ciphertext_hash: bytes | None = None
    ) -> int:
        receiver = royalty_to.address if royalty_to is not None else "0x" + "00" * 20
        self.last_hash = ciphertext_hash or fresh_hash()
        return self.datasets(owner).list(
            DATA_CID, self.last_hash, META_CID, receiver, bps, lab=self.lab
        )

    def offer(self, owner: Any, dataset_id: int, **kw: Any) -> int:
        params: dict[str, Any] = {"price": PRICE, "duration": 90 * DAY, "purposes": GRU_ALL}
        params.update(kw)
        return self.client(owner).create_offer(dataset_id, **params)

    def buy(self, researcher: Any, offer_id: int, purposes: int = HMB) -> int:
        return self.client(researcher).buy(offer_id, purposes).licence_id

    def deliver(self, owner: Any, licence_id: int, digest: bytes = b"\x22" * 32) -> Any:
        return self.client(owner).deliver_key(licence_id, "bafyenvelope", digest)


def travel(chain: Any, seconds: int) -> None:
    chain.pending_timestamp = chain.pending_timestamp + seconds
    chain.mine()


def _norm(value: Any) -> Any:
    if hasattr(value, "address"):
        value = value.address
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value


@contextmanager
def refuses(name: str, **expected: Any) -> Iterator[None]:
    """The block reverts with custom error `name` carrying (at least) `expected`, whether
    raised by a raw contract call (ape) or through the SDK (ContractRevert)."""
    with pytest.raises((ContractRevert, ContractLogicError)) as info:
        yield
    exc = info.value
    if isinstance(exc, ContractRevert):
        got_name, args = exc.error_name, exc.arguments
    elif isinstance(exc, CustomError):
        got_name, args = type(exc).__name__, dict(exc.inputs or {})
    else:
        got_name, args = decode_revert(exc.revert_message)
    assert got_name == name, f"reverted with {got_name}{args}, expected {name}"
    for key, value in expected.items():
        assert _norm(args[key]) == _norm(value), f"{name}.{key} = {args[key]!r}, expected {value!r}"


def decode_revert(raw: Any) -> tuple[str, dict[str, Any]]:
    """Decode raw revert data against the genomics ABIs (ape occasionally leaves a custom
    error undecoded when its contract cache misses an address between isolated tests)."""
    import ast

    from ape import project
    from eth_abi import decode
    from eth_utils import keccak

    text = str(raw)
    if isinstance(raw, bytes):
        data = raw
    elif text[:2] in ("b'", 'b"'):
        data = ast.literal_eval(text)  # ape sometimes stringifies the raw bytes
    else:
        data = bytes.fromhex(text.removeprefix("0x"))
    for name in ("GenomicLicensing", "GenomicDataset"):
        for item in getattr(project, name).contract_type.errors:
            types = [i.canonical_type for i in item.inputs]
            if keccak(text=f"{item.name}({','.join(types)})")[:4] == data[:4]:
                values = decode(types, data[4:])
                return item.name, {i.name: v for i, v in zip(item.inputs, values, strict=True)}
    return f"undecoded {data[:4].hex()}", {}
