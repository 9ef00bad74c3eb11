"""did:ethr resolver: builds W3C DID Core documents from the DIDRegistry's event history,
following the did:ethr method spec (and the reference ethr-did-resolver's output).

History is read with the SDK's one event reader (`medchain.logs.LogReader`) over block
windows filtered by registry address and the identity topic: a window of `chunk` blocks
ending at the last change, then the next window ends where the list leaves the current
one (one call per window that holds changes, not one per change, and no scanning of
empty chain; the reader halves a window a node refuses as too wide), then the
`previousChange` linked list is checked against what the node returned, so a pruned
or incomplete node is refused (`IntegrityError`) instead of producing a wrong document.

Validity is measured against the chain's time (latest block, or the block of
`?versionId=<block>`), not the resolving machine's clock: private chains and tests move
their own time. An entry counts while `validTo > now`, the same rule as the contract's
`validDelegate` (the reference resolver uses `>=` against the wall clock; at chain time
that would show a delegate revoked in the latest block as still valid).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from medchain.codec import bytes32_to_text
from medchain.errors import ConfigurationError, DeploymentMismatch, IntegrityError, InvalidInput
from medchain.hashing import selector
from medchain.identity.did import EthrDID, decompress_public_key, parse_did, to_did
from medchain.logs import Event, LogReader
from medchain.storage.cid import b58decode, b58encode
from medchain.timeutil import iso_time

X25519_ENC_ATTRIBUTE = "did/pub/X25519/enc/base64"
NULL_ADDRESS = "0x0000000000000000000000000000000000000000"

_CHANGED_SELECTOR = selector("changed(address)")


def _event(name: str, *inputs: tuple[str, str]) -> dict[str, Any]:
    """An ABI event item whose first input (the identity) is the only indexed one."""
    return {
        "type": "event",
        "name": name,
        "anonymous": False,
        "inputs": [{"name": n, "type": t, "indexed": i == 0} for i, (n, t) in enumerate(inputs)],
    }


# The ERC-1056 events a resolver reads (any ERC-1056 registry emits them; the registry's
# own extensions are not part of a DID's history).
ERC1056_EVENTS = [
    _event(
        "DIDOwnerChanged",
        ("identity", "address"),
        ("owner", "address"),
        ("previousChange", "uint256"),
    ),
    _event(
        "DIDDelegateChanged",
        ("identity", "address"),
        ("delegateType", "bytes32"),
        ("delegate", "address"),
        ("validTo", "uint256"),
        ("previousChange", "uint256"),
    ),
    _event(
        "DIDAttributeChanged",
        ("identity", "address"),
        ("name", "bytes32"),
        ("value", "bytes"),
        ("validTo", "uint256"),
        ("previousChange", "uint256"),
    ),
]

RECOVERY_2020 = "EcdsaSecp256k1RecoveryMethod2020"
SECP256K1_2019 = "EcdsaSecp256k1VerificationKey2019"
ED25519_2020 = "Ed25519VerificationKey2020"
X25519_2020 = "X25519KeyAgreementKey2020"
MULTIKEY = "Multikey"
ALGO_TO_TYPE = {
    "Secp256k1": SECP256K1_2019,
    "Ed25519": ED25519_2020,
    "X25519": X25519_2020,
    "Multikey": MULTIKEY,
}
MULTICODEC = {ED25519_2020: b"\xed\x01", X25519_2020: b"\xec\x01"}
# Output profiles. "spec": the did:ethr method spec as it stands (2020 key types, keys as
# publicKeyMultibase / publicKeyJwk). "ethr-did-resolver@11": what the released npm
# ethr-did-resolver 11.x prints (2018/2019 key types, key encoding from the attribute's
# hint), for byte-for-byte agreement with deployed resolvers.
PROFILES = ("spec", "ethr-did-resolver@11")
LEGACY_PURPOSE = {
    "sigAuth": "SignatureAuthentication2018",
    "veriKey": "VerificationKey2018",
    "enc": "KeyAgreementKey2019",
}
LEGACY_TYPES = {
    "Secp256k1VerificationKey2018": SECP256K1_2019,
    "Ed25519SignatureAuthentication2018": "Ed25519VerificationKey2018",
    "Secp256k1SignatureAuthentication2018": SECP256K1_2019,
    "RSAVerificationKey2018": "RSAVerificationKey2018",
    "Ed25519VerificationKey2018": "Ed25519VerificationKey2018",
    "X25519KeyAgreementKey2019": "X25519KeyAgreementKey2019",
}
X25519_TYPES = (X25519_2020, "X25519KeyAgreementKey2019")
_NAME = re.compile(r"^did/(pub|svc)/(\w+)(/(\w+))?(/(\w+))?$", re.ASCII)


@dataclass(frozen=True)
class DIDEvent:
    """One decoded registry event for an identity."""

    event_type: str  # DIDOwnerChanged | DIDDelegateChanged | DIDAttributeChanged
    block_number: int
    log_index: int
    previous_change: int
    owner: str = ""
    delegate_type: str = ""
    delegate: str = ""
    name: str = ""
    value: bytes = b""
    valid_to: int = 0


@dataclass
class Resolution:
    """A DID resolution result (DID Core): document plus document/resolution metadata."""

    did_document: dict[str, Any] | None
    did_document_metadata: dict[str, Any]
    did_resolution_metadata: dict[str, Any]
    key_agreement: list[tuple[str, bytes]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "didDocument": self.did_document,
            "didDocumentMetadata": self.did_document_metadata,
            "didResolutionMetadata": self.did_resolution_metadata,
        }

    @property
    def deactivated(self) -> bool:
        return bool(self.did_document_metadata.get("deactivated"))

    def services(self) -> list[dict[str, Any]]:
        return list((self.did_document or {}).get("service", []))

    def delegates(self) -> list[dict[str, Any]]:
        methods = (self.did_document or {}).get("verificationMethod", [])
        return [m for m in methods if "#delegate-" in m["id"] and m["type"] == RECOVERY_2020]


class DIDResolver:
    """Resolve did:ethr DIDs against one registry on one chain through a web3 object."""

    def __init__(
        self,
        web3: Any,
        registry: str,
        chain_id: int,
        *,
        start_block: int = 0,
        chunk: int = 50_000,
        profile: str = "spec",
    ):
        if profile not in PROFILES:
            raise InvalidInput(f"unknown resolver profile {profile!r}; use one of {PROFILES}")
        self.profile = profile
        self.web3 = web3
        self.registry = to_checksum_address(registry)
        self.chain_id = int(chain_id)
        self.start_block = int(start_block)
        self.chunk = int(chunk)
        # each window is at most `chunk` blocks; the reader narrows it if the node refuses
        self.reader = LogReader(
            web3, {self.registry: ERC1056_EVENTS}, window=self.chunk, max_window=self.chunk
        )
        if not bytes(web3.eth.get_code(self.registry)):
            # An empty address answers every query with "no changes": refuse instead of
            # producing plausible but wrong documents (stale address book, reset chain).
            raise DeploymentMismatch(
                f"no contract at {self.registry} on chain {self.chain_id}: not a DIDRegistry "
                "(wrong --registry, or the chain was reset; deploy again)"
            )

    @classmethod
    def connected(cls, registry: Any = None, **kw: Any) -> DIDResolver:
        """A resolver on ape's connected network: `registry` is an address, an ape contract,
        a `DIDRegistryClient`, or None for the address book's DIDRegistry."""
        from ape import chain

        start = 0
        if isinstance(registry, DIDResolver):
            return registry
        if registry is None:
            from medchain.deployments import AddressBook

            record = AddressBook.for_connected_network().get("DIDRegistry")
            if record.chain_id != chain.provider.chain_id:
                raise ConfigurationError(
                    f"DIDRegistry in the address book is on chain {record.chain_id}, "
                    f"connected to chain {chain.provider.chain_id}"
                )
            address, start = record.address, record.block_number
        else:
            address = str(getattr(registry, "address", registry))
        kw.setdefault("start_block", start)
        return cls(chain.provider.web3, address, chain.provider.chain_id, **kw)

    @property
    def log_queries(self) -> int:
        """eth_getLogs calls made so far (for benchmarks and tests)."""
        return int(self.reader.queries)

    # ------------------------------------------------------------------ history
    def changed(self, address: str, block: int | str = "latest") -> int:
        data = _CHANGED_SELECTOR + bytes(12) + bytes.fromhex(address[2:])
        raw = self.web3.eth.call({"to": self.registry, "data": "0x" + data.hex()}, block)
        return int.from_bytes(bytes(raw), "big") if raw else 0

    def history(self, address: str) -> list[DIDEvent]:
        """Every event of `address`, oldest first, checked against the previousChange list."""
        last = self.changed(address)
        if last == 0:
            return []
        events: list[DIDEvent] = []
        # Walk backwards window by window: each window ends at a block known to hold a
        # change, and the one pointer that leaves the window says where the next ends, so
        # empty stretches of chain are never scanned.
        end = last
        while end >= max(self.start_block, 1):
            start = max(self.start_block, end - self.chunk + 1)
            found = self.reader.read(start, end, where={"identity": address})
            window = [did_event(e) for e in found]
            if not window:
                break  # the node has no logs where the list points: reported below
            events.extend(window)
            below = [e.previous_change for e in window if e.previous_change < start]
            end = max(below) if below else 0
        events.sort(key=lambda e: (e.block_number, e.log_index))
        _check_chain(address, events, last)
        return events

    def block_timestamp(self, number: int | str) -> int:
        return int(self.web3.eth.get_block(number)["timestamp"])

    def block_at(self, timestamp: int, latest: int) -> int:
        """The last block with a timestamp <= `timestamp` (binary search, ~log2(n) calls);
        0 when the time is before the first block."""
        low, high = 0, latest
        if self.block_timestamp(latest) <= timestamp:
            return latest
        while low < high:
            mid = (low + high + 1) // 2
            if self.block_timestamp(mid) <= timestamp:
                low = mid
            else:
                high = mid - 1
        return low

    # ------------------------------------------------------------------ resolve
    def resolve(self, did: str | EthrDID, *, ld_context: bool = True) -> Resolution:
        """Resolve a DID (with optional `?versionId=<block>`) into a `Resolution`."""
        parsed = did if isinstance(did, EthrDID) else parse_did(did)
        if parsed.chain_id != self.chain_id:
            raise InvalidInput(
                f"{parsed.did} is on chain {parsed.chain_id}; this resolver reads chain "
                f"{self.chain_id} (registry {self.registry})"
            )
        version, when = parsed.version_id, parsed.version_time
        if version is not None and when is not None:
            raise InvalidInput("versionId and versionTime cannot both be given")
        latest = int(self.web3.eth.block_number)
        if version is not None and version > latest:
            raise InvalidInput(f"versionId {version} is beyond the chain head {latest}")
        if when is not None:
            version, now = self.block_at(when, latest), when
        else:
            now = self.block_timestamp(version if version is not None else "latest")
        history = self.history(parsed.address)
        doc, deactivated, version_id, next_version, keys = build_document(
            parsed.did,
            parsed.address,
            parsed.public_key,
            history,
            self.chain_id,
            version,
            now,
            legacy=self.profile != "spec",
        )
        meta: dict[str, Any] = {}
        if deactivated:
            meta["deactivated"] = True
        if version_id:
            meta["versionId"] = str(version_id)
            meta["updated"] = iso_time(self.block_timestamp(version_id))
        if next_version is not None:
            meta["nextVersionId"] = str(next_version)
            meta["nextUpdate"] = iso_time(self.block_timestamp(next_version))
        if ld_context:
            context = build_context(doc) if self.profile == "spec" else list(LEGACY_CONTEXT)
            doc = {"@context": context, **doc}
        content_type = "application/did+ld+json" if ld_context else "application/did+json"
        return Resolution(doc, meta, {"contentType": content_type}, keys)


def resolve(did: str, registry: Any = None, *, ld_context: bool = True) -> Resolution:
    """Resolve `did` on ape's connected network (registry from the address book by default)."""
    return DIDResolver.connected(registry).resolve(did, ld_context=ld_context)


def key_agreement_keys(did_or_address: str, registry: Any = None) -> list[tuple[str, bytes]]:
    """[(key id, raw 32-byte X25519 public key)] a DID currently lists under keyAgreement.

    `registry`: a `DIDResolver`, address, contract or client (default: address book).
    """
    resolver = DIDResolver.connected(registry)
    return resolver.resolve(to_did(did_or_address, resolver.chain_id)).key_agreement


# ---------------------------------------------------------------------- decoding
def did_event(event: Event) -> DIDEvent:
    """The resolver's view of one decoded ERC-1056 event."""
    args = event.args
    head = (event.name, event.block_number, event.log_index, int(args["previousChange"]))
    if event.name == "DIDOwnerChanged":
        return DIDEvent(*head, owner=str(args["owner"]).lower())
    if event.name == "DIDDelegateChanged":
        return DIDEvent(
            *head,
            delegate_type=bytes32_to_text(args["delegateType"]),
            delegate=str(args["delegate"]).lower(),
            valid_to=int(args["validTo"]),
        )
    return DIDEvent(
        *head,
        name=bytes32_to_text(args["name"]),
        value=bytes(args["value"]),
        valid_to=int(args["validTo"]),
    )


def _check_chain(address: str, events: list[DIDEvent], last: int) -> None:
    """The blocks holding events must be exactly the previousChange list from `changed`."""
    blocks = sorted({e.block_number for e in events})
    first_prev: dict[int, int] = {}
    for e in events:
        first_prev.setdefault(e.block_number, e.previous_change)
    expected_prev = [0, *blocks[:-1]]
    if not blocks or blocks[-1] != last:
        raise IntegrityError(
            f"history of {address} is incomplete: registry says last change at block {last}, "
            f"the node returned logs up to {blocks[-1] if blocks else 'none'} (archive node needed?)"
        )
    for block, prev in zip(blocks, expected_prev, strict=True):
        if first_prev[block] != prev:
            raise IntegrityError(
                f"history of {address} is incomplete: block {block} points to previous change "
                f"{first_prev[block]}, but the node returned logs at {prev or 'no earlier block'}"
            )


# ---------------------------------------------------------------------- documents
def build_document(
    did: str,
    address: str,
    controller_key: bytes | None,
    history: Iterable[DIDEvent],
    chain_id: int,
    block_height: int | None,
    now: int,
    *,
    legacy: bool = False,
) -> tuple[dict[str, Any], bool, int, int | None, list[tuple[str, bytes]]]:
    """(document, deactivated, versionId, nextVersionId, key-agreement keys) from history,
    interpreting events as the did:ethr method spec says."""
    base: dict[str, Any] = {
        "id": did,
        "verificationMethod": [],
        "authentication": [],
        "assertionMethod": [],
    }
    controller = address
    version_id = 0
    next_version: int | None = None
    deactivated = False
    delegate_count = 0
    service_count = 0
    auth: dict[str, str] = {}
    agreement: dict[str, str] = {}
    signing: dict[str, str] = {}
    pks: dict[str, dict[str, Any]] = {}
    raw_agreement: dict[str, bytes] = {}
    services: dict[str, dict[str, Any]] = {}
    for event in history:
        if block_height is not None and event.block_number > block_height:
            if next_version is None or event.block_number < next_version:
                next_version = event.block_number
            continue
        version_id = max(version_id, event.block_number)
        if event.event_type == "DIDOwnerChanged":
            controller = event.owner
            if event.owner == NULL_ADDRESS:
                deactivated = True
                break
        elif event.event_type == "DIDDelegateChanged":
            key = f"{event.event_type}-{event.delegate_type}-{event.delegate}"
            delegate_count += 1
            if event.valid_to > now:
                ref = f"{did}#delegate-{delegate_count}"
                if event.delegate_type in ("sigAuth", "veriKey"):
                    if event.delegate_type == "sigAuth":
                        auth[key] = ref
                    pks[key] = {
                        "id": ref,
                        "type": RECOVERY_2020,
                        "controller": did,
                        "blockchainAccountId": (
                            f"eip155:{chain_id}:{to_checksum_address(event.delegate)}"
                        ),
                    }
                    signing[key] = ref
            else:
                for table in (auth, signing, pks):
                    table.pop(key, None)
        else:
            key = f"{event.event_type}-{event.name}-0x{event.value.hex()}"
            if event.name.startswith("did/pub/"):
                delegate_count += 1
            elif event.name.startswith("did/svc/"):
                service_count += 1
            match = _NAME.match(event.name)
            if not match:
                continue
            section, algorithm, purpose, encoding = match[1], match[2], match[4], match[6]
            if section == "pub":
                if event.valid_to > now:
                    pk = (_legacy_key_method if legacy else _public_key_method)(
                        did, delegate_count, algorithm, purpose, encoding, event.value
                    )
                    if pk is None:
                        continue
                    pks[key] = pk
                    if purpose == "sigAuth":
                        auth[key] = pk["id"]
                        signing[key] = pk["id"]
                    elif purpose == "enc":
                        agreement[key] = pk["id"]
                        if pk["type"] in X25519_TYPES:
                            raw_agreement[key] = event.value
                    else:
                        signing[key] = pk["id"]
                else:
                    pks.pop(key, None)
                    raw_agreement.pop(key, None)
                    for refs in (auth, signing, agreement):
                        refs.pop(key, None)
            else:
                try:
                    text = event.value.decode()
                except UnicodeDecodeError:
                    continue  # not a DID service: some other use of the registry
                try:
                    endpoint: Any = json.loads(text)
                except json.JSONDecodeError:
                    endpoint = text
                if event.valid_to > now:
                    services[key] = {
                        "id": f"{did}#service-{service_count}",
                        "type": algorithm,
                        "serviceEndpoint": endpoint,
                    }
                else:
                    services.pop(key, None)

    if deactivated:
        return base, True, version_id, next_version, []
    methods: list[dict[str, Any]] = [
        {
            "id": f"{did}#controller",
            "type": RECOVERY_2020,
            "controller": did,
            "blockchainAccountId": f"eip155:{chain_id}:{to_checksum_address(controller)}",
        }
    ]
    authentication = [f"{did}#controller"]
    assertion = [f"{did}#controller"]
    if controller_key is not None and controller.lower() == address.lower():
        methods.append(
            {
                "id": f"{did}#controllerKey",
                "type": SECP256K1_2019,
                "controller": did,
                **(
                    {"publicKeyHex": controller_key.hex()}
                    if legacy
                    else {"publicKeyJwk": _secp256k1_jwk(controller_key)}
                ),
            }
        )
        authentication.append(f"{did}#controllerKey")
        assertion.append(f"{did}#controllerKey")
    doc = {
        **base,
        "verificationMethod": methods + list(pks.values()),
        "authentication": authentication + list(auth.values()),
        "assertionMethod": assertion + list(signing.values()),
    }
    if services:
        doc["service"] = list(services.values())
    if agreement:
        doc["keyAgreement"] = list(agreement.values())
    keys = [(agreement[k], raw_agreement[k]) for k in agreement if k in raw_agreement]
    return doc, False, version_id, next_version, keys


def _public_key_method(
    did: str, index: int, algorithm: str, purpose: str | None, encoding: str | None, value: bytes
) -> dict[str, Any] | None:
    vm_type = ALGO_TO_TYPE.get(algorithm, algorithm)
    pk: dict[str, Any] = {"id": f"{did}#delegate-{index}", "type": vm_type, "controller": did}
    if vm_type == SECP256K1_2019:
        try:
            pk["publicKeyJwk"] = _secp256k1_jwk(value)
        except InvalidInput:
            return None  # not a point on the curve: the spec drops the key
    elif vm_type in MULTICODEC:
        pk["publicKeyMultibase"] = "z" + base58btc(MULTICODEC[vm_type] + value)
    elif vm_type == MULTIKEY:
        pk["publicKeyMultibase"] = "z" + base58btc(value)
    else:
        return _with_encoded_key(pk, encoding, value)
    return pk


def _with_encoded_key(
    pk: dict[str, Any], encoding: str | None, value: bytes, *, pem: bool = False
) -> dict[str, Any] | None:
    """`pk` with the key under the property its attribute's encoding hint names (hex when
    none is given, the raw hex as `value` for an unknown hint); `pem` keys only where the
    profile knows them, None when such a key is not text."""
    if encoding in (None, "hex"):
        pk["publicKeyHex"] = value.hex()
    elif encoding == "base64":
        pk["publicKeyBase64"] = base64.b64encode(value).decode()
    elif encoding == "base58":
        pk["publicKeyBase58"] = base58btc(value)
    elif pem and encoding == "pem":
        try:
            pk["publicKeyPem"] = value.decode()
        except UnicodeDecodeError:
            return None
    else:
        pk["value"] = value.hex()
    return pk


LEGACY_CONTEXT = (
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/suites/secp256k1recovery-2020/v2",
    "https://w3id.org/security/v3-unstable",
)


def _legacy_key_method(
    did: str, index: int, algorithm: str, purpose: str | None, encoding: str | None, value: bytes
) -> dict[str, Any] | None:
    """A key as ethr-did-resolver 11.x renders it: 2018/2019 types, encoding by hint."""
    combined = f"{algorithm}{LEGACY_PURPOSE.get(purpose or '', purpose or '')}"
    pk: dict[str, Any] = {
        "id": f"{did}#delegate-{index}",
        "type": LEGACY_TYPES.get(combined, algorithm),
        "controller": did,
    }
    return _with_encoded_key(pk, encoding, value, pem=True)


def _secp256k1_jwk(key: bytes) -> dict[str, str]:
    if len(key) == 33:
        point = decompress_public_key(key)
    elif len(key) == 65 and key[0] == 4:
        point = key[1:]
    else:
        raise InvalidInput("secp256k1 key must be 33 (compressed) or 65 bytes")

    def b64url(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).decode().rstrip("=")

    return {"kty": "EC", "crv": "secp256k1", "x": b64url(point[:32]), "y": b64url(point[32:])}


# Bitcoin base58 (leading zero bytes become '1'): the one implementation, in storage.cid.
base58btc = b58encode
base58btc_decode = b58decode


def build_context(doc: dict[str, Any]) -> list[Any]:
    """The JSON-LD @context for the verification method types and key properties present."""
    contexts: list[Any] = [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/suites/secp256k1recovery-2020/v2",
    ]
    methods = doc.get("verificationMethod", [])
    types = {m["type"] for m in methods}
    has = {
        prop: any(prop in m for m in methods)
        for prop in ("publicKeyHex", "publicKeyJwk", "publicKeyBase58", "publicKeyBase64")
    }
    if SECP256K1_2019 in types or has["publicKeyBase58"]:
        contexts.append("https://w3id.org/security/v2")
    if ED25519_2020 in types:
        contexts.append("https://w3id.org/security/suites/ed25519-2020/v1")
    if X25519_2020 in types:
        contexts.append("https://w3id.org/security/suites/x25519-2020/v1")
    if MULTIKEY in types:
        contexts.append("https://w3id.org/security/multikey/v1")
    inline: dict[str, Any] = {}
    if has["publicKeyHex"]:
        inline["publicKeyHex"] = "https://w3id.org/security#publicKeyHex"
    if has["publicKeyJwk"]:
        inline["publicKeyJwk"] = {"@id": "https://w3id.org/security#publicKeyJwk", "@type": "@json"}
    if has["publicKeyBase58"] and "https://w3id.org/security/v2" not in contexts:
        inline["publicKeyBase58"] = "https://w3id.org/security#publicKeyBase58"
    if has["publicKeyBase64"]:
        inline["publicKeyBase64"] = "https://w3id.org/security#publicKeyBase64"
    if inline:
        contexts.append(inline)
    return contexts
