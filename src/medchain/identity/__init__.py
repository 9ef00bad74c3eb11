"""Identity: did:ethr DIDs on the medchain DIDRegistry (ERC-1056 compatible).

* `parse_did` / `format_did`: did:ethr identifiers (address, hex chain id, network name,
  compressed public key).
* `DIDRegistryClient`: typed registry calls, legacy and EIP-712 signed requests, batches.
* `DIDResolver` / `resolve`: W3C DID Core documents per the did:ethr method spec, from
  batched `eth_getLogs` queries.
* `key_agreement_keys`: the X25519 keys the encryption layer wraps data keys to.
"""

from medchain.identity.client import (
    DIDKeyExists,
    DIDRegistryClient,
    Operation,
    auth_tuple,
    from_bytes32,
    read_signed_request,
    to_bytes32,
)
from medchain.identity.did import NETWORKS, EthrDID, format_did, parse_did, to_did
from medchain.identity.resolver import (
    X25519_ENC_ATTRIBUTE,
    DIDResolver,
    Resolution,
    key_agreement_keys,
    resolve,
)

__all__ = [
    "NETWORKS",
    "X25519_ENC_ATTRIBUTE",
    "DIDKeyExists",
    "DIDRegistryClient",
    "DIDResolver",
    "EthrDID",
    "Operation",
    "Resolution",
    "auth_tuple",
    "format_did",
    "from_bytes32",
    "key_agreement_keys",
    "parse_did",
    "read_signed_request",
    "resolve",
    "to_bytes32",
    "to_did",
]
