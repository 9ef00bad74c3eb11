"""did:ethr identifiers: parse and format `did:ethr:[<network>:]<address | public key>`.

The network part is a known name (`mainnet`, `sepolia`, ...) or a hex chain id
(`0x539`); without one the DID is on mainnet, as the did:ethr method spec says. The
identifier is a 20-byte address or a 33-byte compressed secp256k1 public key (the DID of
the key's address, whose document also lists the key itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from eth_utils import is_hex

from medchain.codec import hex_to_bytes, to_address
from medchain.errors import InvalidInput
from medchain.hashing import keccak
from medchain.timeutil import unix_seconds

# Public did:ethr network names (ethr-did-resolver deployments) and the chain ids they
# stand for. Private chains use their hex chain id: did:ethr:0x539:0x...
NETWORKS: dict[str, int] = {
    "mainnet": 1,
    "sepolia": 11155111,
    "holesky": 17000,
    "gno": 100,
    "polygon": 137,
    "polygon:test": 80001,
    "rsk": 30,
    "rsk:testnet": 31,
    "linea": 59144,
    "linea:sepolia": 59141,
    "aurora": 1313161554,
}

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_PUBKEY = re.compile(r"^0x0[23][0-9a-fA-F]{64}$")
_CHAIN_HEX = re.compile(r"^0x[0-9a-fA-F]{1,16}$")


@dataclass(frozen=True)
class EthrDID:
    """A parsed did:ethr: the identity address, its chain and (if given) the public key."""

    address: str  # EIP-55 checksummed
    chain_id: int
    network: str  # as written in the DID ("" when omitted, i.e. mainnet)
    public_key: bytes | None = None  # 33-byte compressed key for the public-key form
    query: dict[str, str] | None = None
    fragment: str = ""

    @property
    def did(self) -> str:
        """The DID as written (network part kept, no query or fragment)."""
        ident = "0x" + self.public_key.hex() if self.public_key else self.address
        return f"did:ethr:{self.network + ':' if self.network else ''}{ident}"

    @property
    def version_id(self) -> int | None:
        value = (self.query or {}).get("versionId")
        if value is None:
            return None
        if not value.isdigit():
            raise InvalidInput(f"versionId must be a block number, got {value!r}")
        return int(value)

    @property
    def version_time(self) -> int | None:
        """`?versionTime=` as unix seconds (ISO 8601 like 2026-01-02T03:04:05Z, or seconds)."""
        value = (self.query or {}).get("versionTime")
        if value is None:
            return None
        return unix_seconds(value, "versionTime")


def parse_did(text: str) -> EthrDID:
    """Parse a did:ethr DID (optionally with ?query and #fragment).

    Raises `InvalidInput` with one readable line for anything else, including unknown
    network names.
    """
    if not isinstance(text, str) or not text.startswith("did:"):
        raise InvalidInput(f"not a DID: {text!r} (expected did:ethr:[network:]0x<address>)")
    rest, _, fragment = text.partition("#")
    rest, _, query_text = rest.partition("?")
    parts = rest.split(":")
    if parts[1] != "ethr":
        raise InvalidInput(f"unsupported DID method '{parts[1]}' in {text!r}: only did:ethr")
    if len(parts) < 3 or not parts[-1]:
        raise InvalidInput(f"malformed did:ethr {text!r}: missing the address")
    ident = parts[-1]
    network = ":".join(parts[2:-1])
    chain_id = _chain_id_of(network, text)
    public_key: bytes | None = None
    if _ADDRESS.match(ident):
        address = to_address(ident, f"address in {text!r}")
    elif _PUBKEY.match(ident):
        public_key = hex_to_bytes(ident, "public key")
        address = address_of_public_key(public_key, text)
    else:
        raise InvalidInput(
            f"malformed did:ethr {text!r}: identifier must be 0x + 40 hex digits (address) "
            "or 0x + 66 hex digits (compressed secp256k1 public key)"
        )
    query = {k: v[-1] for k, v in parse_qs(query_text).items()} if query_text else None
    return EthrDID(address, chain_id, network, public_key, query, fragment)


def _chain_id_of(network: str, text: str) -> int:
    if not network:
        return 1
    if _CHAIN_HEX.match(network):
        return int(network, 16)
    if network in NETWORKS:
        return NETWORKS[network]
    if is_hex(network) or network.startswith("0x"):
        raise InvalidInput(f"malformed chain id {network!r} in {text!r}")
    known = ", ".join(sorted(NETWORKS))
    raise InvalidInput(
        f"unknown did:ethr network {network!r} in {text!r}: use a hex chain id (e.g. 0x539) "
        f"or one of {known}"
    )


def format_did(address: str, chain_id: int | None = None, network: str | None = None) -> str:
    """`did:ethr:<address>` (mainnet), `did:ethr:<network>:<address>` or
    `did:ethr:<0xchainid>:<address>`."""
    checksummed = to_address(address)
    if network:
        if network not in NETWORKS:
            raise InvalidInput(f"unknown did:ethr network {network!r}")
        return f"did:ethr:{network}:{checksummed}"
    if chain_id is None or chain_id == 1:
        return f"did:ethr:{checksummed}"
    if chain_id <= 0:
        raise InvalidInput(f"chain id must be positive, got {chain_id}")
    return f"did:ethr:{hex(chain_id)}:{checksummed}"


def to_did(did_or_address: str, chain_id: int) -> EthrDID:
    """Accept a DID or a bare address (interpreted on `chain_id`)."""
    if isinstance(did_or_address, str) and did_or_address.startswith("did:"):
        return parse_did(did_or_address)
    return parse_did(format_did(did_or_address, chain_id))


_P = 2**256 - 2**32 - 977  # secp256k1 field prime


def decompress_public_key(public_key: bytes, text: str = "") -> bytes:
    """64-byte uncompressed point (x || y) of a 33-byte compressed secp256k1 key, checked
    to lie on the curve (y^2 = x^3 + 7 mod p)."""
    where = f" in {text!r}" if text else ""
    if len(public_key) != 33 or public_key[0] not in (2, 3):
        raise InvalidInput(f"not a compressed secp256k1 public key{where}")
    x = int.from_bytes(public_key[1:], "big")
    rhs = (pow(x, 3, _P) + 7) % _P
    y = pow(rhs, (_P + 1) // 4, _P)  # p = 3 mod 4, so this is the square root if one exists
    if x >= _P or (y * y) % _P != rhs:
        raise InvalidInput(f"not a point on secp256k1{where}")
    if y % 2 != public_key[0] % 2:
        y = _P - y
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


def address_of_public_key(public_key: bytes, text: str = "") -> str:
    return to_address(keccak(decompress_public_key(public_key, text))[-20:], "public key address")
