"""Local key store for X25519 key-agreement keys: generate a key pair for a DID, keep the
private key on this machine, publish the public key on the DID registry.

Files live under `$MEDCHAIN_HOME/keys/` (mode 0700 directory, 0600 files), one JSON file
per DID and key. Without a passphrase the private key is stored in plaintext (protected
only by file permissions); with one it is encrypted with AES-256-GCM under a key derived
by scrypt (N=2^15, r=8, p=1) from the passphrase, the file's public fields bound as AAD.
The published value is the raw 32-byte public key under the attribute
`did/pub/X25519/enc/base64`, which resolvers list under `keyAgreement`.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from medchain.codec import to_address
from medchain.errors import IntegrityError, InvalidInput
from medchain.files import write_json

FORMAT = "medchain.keystore/1"
X25519_ENC_ATTRIBUTE = "did/pub/X25519/enc/base64"
DEFAULT_KEY_VALIDITY = 365 * 86_400  # a year; rotate by publishing a new key
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class KeyNotFound(InvalidInput):
    """No stored private key matches the DID / public key asked for."""


class WrongPassphrase(IntegrityError):
    """The passphrase does not decrypt the stored key (or the file was altered)."""


@dataclass(frozen=True)
class StoredKey:
    """One key file: whose key it is, the public half, and where it lives."""

    did: str
    public_key: bytes
    path: Path
    encrypted: bool

    @property
    def kid(self) -> str:
        return self.public_key.hex()[:16]


def public_bytes(private_key: X25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def generate_x25519() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def default_root() -> Path:
    """`$MEDCHAIN_HOME/keys`; `./.medchain/keys` outside the clone (docs/environment.md)."""
    from medchain.storage import default_home

    return default_home() / "keys"


class KeyStore:
    """Private X25519 keys on disk, one JSON file per (DID, key)."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_root()

    def _path(self, did: str, public_key: bytes) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", did)
        return self.root / f"{safe}__{public_key.hex()[:16]}.json"

    def save(
        self, did: str, private_key: X25519PrivateKey, passphrase: str | None = None
    ) -> StoredKey:
        """Write the key file (0600). Refuses to overwrite a different key at that path."""
        public = public_bytes(private_key)
        raw = private_key.private_bytes_raw()
        record: dict[str, Any] = {
            "format": FORMAT,
            "did": did,
            "type": "X25519",
            "publicKey": _b64(public),
        }
        if passphrase:
            salt, nonce = os.urandom(16), os.urandom(12)
            key = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(
                passphrase.encode()
            )
            aad = _aad(record)
            record["encryption"] = {
                "kdf": "scrypt",
                "n": SCRYPT_N,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": _b64(salt),
                "cipher": "AES-256-GCM",
                "nonce": _b64(nonce),
                "ciphertext": _b64(AESGCM(key).encrypt(nonce, raw, aad)),
            }
        else:
            record["privateKey"] = _b64(raw)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        path = write_json(self._path(did, public), record, private=True)
        return StoredKey(did, public, path, bool(passphrase))

    def generate(
        self, did: str, passphrase: str | None = None
    ) -> tuple[X25519PrivateKey, StoredKey]:
        """A new X25519 key pair for `did`, stored; returns (private key, stored entry)."""
        private_key = generate_x25519()
        return private_key, self.save(did, private_key, passphrase)

    def list(self, did: str | None = None) -> list[StoredKey]:
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.glob("*.json")):
            record = _read(path)
            if did is None or record["did"] == did:
                found.append(
                    StoredKey(
                        record["did"], _unb64(record["publicKey"]), path, "encryption" in record
                    )
                )
        return found

    def load_any(
        self, did: str, public_keys: Sequence[bytes], passphrase: str | None = None
    ) -> X25519PrivateKey:
        """The private key of `did` for the first of `public_keys` this store holds (an
        envelope set is sealed to every key the DID publishes; this device holds one)."""
        held = {k.public_key for k in self.list(did)}
        refused: WrongPassphrase | None = None
        for public in public_keys:
            if public in held:
                try:
                    return self.load(did, public, passphrase)
                except WrongPassphrase as exc:  # another of its keys may take this passphrase
                    refused = exc
        if refused is not None:
            raise refused
        listed = ", ".join(f"{public.hex()[:16]}..." for public in public_keys)
        raise KeyNotFound(f"no stored X25519 key for {did} among {listed} in {self.root}")

    def load(
        self, did: str, public_key: bytes | None = None, passphrase: str | None = None
    ) -> X25519PrivateKey:
        """The private key of `did` (the one matching `public_key` when several are stored)."""
        candidates = [k for k in self.list(did) if public_key is None or k.public_key == public_key]
        if not candidates:
            which = f" with public key {public_key.hex()}" if public_key else ""
            raise KeyNotFound(f"no stored X25519 key for {did}{which} in {self.root}")
        if len(candidates) > 1 and public_key is None:
            raise InvalidInput(
                f"{did} has {len(candidates)} stored keys; say which public key to load"
            )
        record = _read(candidates[0].path)
        if "encryption" not in record:
            raw = _unb64(record["privateKey"])
        else:
            if not passphrase:
                raise InvalidInput(f"the key of {did} is passphrase-protected: give the passphrase")
            enc = record["encryption"]
            key = Scrypt(
                salt=_unb64(enc["salt"]),
                length=32,
                n=int(enc["n"]),
                r=int(enc["r"]),
                p=int(enc["p"]),
            ).derive(passphrase.encode())
            try:
                raw = AESGCM(key).decrypt(
                    _unb64(enc["nonce"]), _unb64(enc["ciphertext"]), _aad(record)
                )
            except InvalidTag as exc:
                raise WrongPassphrase(f"wrong passphrase for the key of {did}") from exc
        private_key = X25519PrivateKey.from_private_bytes(raw)
        if public_bytes(private_key) != candidates[0].public_key:
            raise IntegrityError(f"key file {candidates[0].path} does not match its public key")
        return private_key


def _aad(record: dict[str, Any]) -> bytes:
    return json.dumps(
        {k: record[k] for k in ("format", "did", "type", "publicKey")}, sort_keys=True
    ).encode()


def _read(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise IntegrityError(f"unreadable key file {path}: {exc}") from exc
    if record.get("format") != FORMAT:
        raise IntegrityError(f"{path} is not a medchain key file")
    return dict(record)


def publish_key_operation(public_key: bytes, validity: int = DEFAULT_KEY_VALIDITY) -> Any:
    """The registry operation that publishes an X25519 key (for direct, signed or batch use)."""
    from medchain.identity import Operation

    if len(public_key) != 32:
        raise InvalidInput(f"X25519 public key must be 32 bytes, got {len(public_key)}")
    return Operation.set_attribute(X25519_ENC_ATTRIBUTE, public_key, validity)


def publish_encryption_key(
    client: Any,
    identity: Any,
    public_key: bytes,
    validity: int = DEFAULT_KEY_VALIDITY,
    **kw: Any,
) -> Any:
    """Publish `public_key` as the identity's `did/pub/X25519/enc/base64` attribute."""
    op = publish_key_operation(public_key, validity)
    return client.transact(
        "setAttribute",
        to_address(identity, "identity"),
        op.name,
        op.value,
        op.validity,
        **kw,
    )


def key_agreement_keys(did: str, registry: Any = None) -> list[tuple[str, bytes]]:
    """[(key id, raw X25519 public key)] the DID lists under keyAgreement (on chain)."""
    from medchain.identity import key_agreement_keys as resolve_keys

    return resolve_keys(did, registry)
