"""SMART Backend Services authorisation with did:ethr clients.

A client proves itself with a `client_assertion` JWT signed **ES256K** (secp256k1, the
key of its did:ethr; PyJWT's ES256K with `cryptography`). ES256K signatures carry no
recovery id and did:ethr documents list the controller as an account
(`EcdsaSecp256k1RecoveryMethod2020`, `blockchainAccountId`), not a public key, so the
gateway recovers the two candidate public keys from (r, s), keeps the one whose address
is an `authentication` method of the DID as resolved on chain now, and then verifies the
JWT with that key (signature, `aud`, `exp`, `iss == sub == client DID`, one-time `jti`).
The gateway then issues a short-lived bearer token (HS256, its own secret) with the SMART
v2 scopes granted (requested scopes the client's registration covers).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from eth_keys import keys as eth_keys

from medchain.errors import InvalidInput, MedchainError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 300  # seconds, as SMART Backend Services requires
_PERMS = "cruds"


class AuthError(MedchainError):
    """A token request or a bearer token was refused; `code` is the OAuth error code."""

    def __init__(self, message: str, code: str = "invalid_client"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Scope:
    """A SMART scope: context (patient|user|system), resource type or '*', permissions."""

    context: str
    resource: str
    perms: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Scope:
        try:
            context, rest = text.split("/", 1)
            resource, perms = rest.split(".", 1)
        except ValueError:
            raise InvalidInput(
                f"scope '{text}' is not a SMART scope (context/Type.perms)"
            ) from None
        if context not in ("patient", "user", "system"):
            raise InvalidInput(f"scope '{text}': context must be patient, user or system")
        perms = perms.split("?")[0]
        if perms == "read":  # SMART v1
            letters = frozenset("rs")
        elif perms == "write":
            letters = frozenset("cud")
        elif perms == "*":
            letters = frozenset(_PERMS)
        else:
            letters = frozenset(perms)
            if (
                not perms
                or not letters <= set(_PERMS)
                or "".join(c for c in _PERMS if c in letters) != perms
            ):
                raise InvalidInput(
                    f"scope '{text}': permissions must be an ordered subset of cruds"
                )
        return cls(context, resource, letters)

    def covers(self, other: Scope) -> bool:
        return (
            self.resource in ("*", other.resource)
            and other.perms <= self.perms
            and (self.context == other.context or self.context == "system")
        )

    def allows(self, resource: str, perm: str) -> bool:
        return self.resource in ("*", resource) and perm in self.perms

    def __str__(self) -> str:
        return f"{self.context}/{self.resource}.{''.join(c for c in _PERMS if c in self.perms)}"


@dataclass
class ClientRegistration:
    """A service account the gateway acts for: its DID, the scopes it may be granted, its
    Ethereum key (to record its accesses on chain: `recordAccess` takes the grantee from
    msg.sender) and its X25519 key-agreement key (to open the record keys delivered to it)."""

    did: str
    scopes: list[str]
    eth_key: bytes
    x25519_key: bytes

    @property
    def address(self) -> str:
        return str(eth_keys.PrivateKey(self.eth_key).public_key.to_checksum_address())

    def allowed(self) -> list[Scope]:
        return [Scope.parse(s) for s in self.scopes]


def client_assertion(did: str, eth_key: bytes, audience: str, *, lifetime: int = 240) -> str:
    """What a client sends to /token: an ES256K JWT signed with its did:ethr key."""
    private = ec.derive_private_key(int.from_bytes(eth_key, "big"), ec.SECP256K1())
    now = int(time.time())
    claims = {"iss": did, "sub": did, "aud": audience, "exp": now + lifetime, "iat": now,
              "jti": str(uuid.uuid4())}  # fmt: skip
    return jwt.encode(claims, private, algorithm="ES256K", headers={"kid": f"{did}#controller"})


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class TokenService:
    """Verifies client assertions and issues / checks bearer tokens."""

    clients: dict[str, ClientRegistration]
    resolve_auth_addresses: Any  # did -> set of checksum addresses allowed to authenticate
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    ttl: int = 300
    _seen: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, form: dict[str, str], audiences: set[str]) -> dict[str, Any]:
        if form.get("grant_type") != "client_credentials":
            raise AuthError("grant_type must be client_credentials", "unsupported_grant_type")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise AuthError(f"client_assertion_type must be {ASSERTION_TYPE}", "invalid_request")
        assertion = form.get("client_assertion") or ""
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AuthError(f"client_assertion is not a JWT: {exc}", "invalid_request") from None
        if header.get("alg") != "ES256K":
            raise AuthError(f"client_assertion alg must be ES256K, got {header.get('alg')}")
        did = str(unverified.get("iss", ""))
        if unverified.get("sub") != did:
            raise AuthError("client_assertion iss and sub must both be the client's DID")
        client = self.clients.get(did.lower())
        if client is None:
            raise AuthError(f"{did or 'the issuer'} is not a client registered with this gateway")
        public = self._signer_key(assertion, did)
        try:
            claims = jwt.decode(
                assertion, public, algorithms=["ES256K"], audience=sorted(audiences),
                options={"require": ["exp", "iss", "sub", "aud", "jti"]},
            )  # fmt: skip
        except jwt.PyJWTError as exc:
            raise AuthError(f"client_assertion refused: {exc}") from None
        if int(claims["exp"]) > time.time() + MAX_ASSERTION_LIFETIME + 5:
            raise AuthError(f"client_assertion exp is more than {MAX_ASSERTION_LIFETIME} s ahead")
        with self._lock:
            now = time.time()
            self._seen = {j: e for j, e in self._seen.items() if e > now}
            if claims["jti"] in self._seen:
                raise AuthError("client_assertion jti was already used (replay)")
            self._seen[str(claims["jti"])] = float(claims["exp"])
        granted = self._grant(client, form.get("scope", ""))
        now_i = int(time.time())
        token = jwt.encode(
            {"sub": client.did, "scope": " ".join(granted), "iat": now_i, "exp": now_i + self.ttl},
            self.secret, algorithm="HS256",
        )  # fmt: skip
        return {"access_token": token, "token_type": "bearer", "expires_in": self.ttl,
                "scope": " ".join(granted)}  # fmt: skip

    def _signer_key(self, assertion: str, did: str) -> ec.EllipticCurvePublicKey:
        signing_input, _, signature = assertion.rpartition(".")
        raw = _b64(signature)
        if len(raw) != 64:
            raise AuthError("ES256K signature must be 64 bytes (r || s)")
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        digest = hashlib.sha256(signing_input.encode()).digest()
        allowed = self.resolve_auth_addresses(did)
        for v in (0, 1):
            try:
                candidate = eth_keys.Signature(vrs=(v, r, s)).recover_public_key_from_msg_hash(
                    digest
                )
            except Exception:
                continue
            if candidate.to_checksum_address() in allowed:
                return ec.EllipticCurvePublicKey.from_encoded_point(
                    ec.SECP256K1(), b"\x04" + candidate.to_bytes()
                )
        raise AuthError(
            f"client_assertion is not signed by a key {did} lists for authentication "
            "(as resolved on chain now)"
        )

    def _grant(self, client: ClientRegistration, requested: str) -> list[str]:
        allowed = client.allowed()
        if not requested.strip():
            return [str(s) for s in allowed]
        granted = []
        for text in requested.split():
            try:
                scope = Scope.parse(text)
            except InvalidInput as exc:
                raise AuthError(str(exc), "invalid_scope") from None
            if any(a.covers(scope) for a in allowed):
                granted.append(str(scope))
        if not granted:
            raise AuthError(
                f"none of the requested scopes ({requested}) is allowed", "invalid_scope"
            )
        return granted

    def check(self, authorization: str | None) -> tuple[ClientRegistration, list[Scope]]:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthError("a bearer token is required (POST /token first)", "invalid_token")
        try:
            claims = jwt.decode(authorization[7:].strip(), self.secret, algorithms=["HS256"])
        except jwt.PyJWTError as exc:
            raise AuthError(f"bearer token refused: {exc}", "invalid_token") from None
        client = self.clients.get(str(claims.get("sub", "")).lower())
        if client is None:
            raise AuthError("bearer token names no registered client", "invalid_token")
        return client, [Scope.parse(s) for s in str(claims.get("scope", "")).split()]


# -- service accounts from an ape account (no key files) -------------------------------


def account_keys(alias: Any) -> tuple[str, bytes]:
    """(address, secp256k1 private key) of an ape account (or its alias): a test account's
    key as it is, an imported account's decrypted with the passphrase medchain's unattended
    signing reads (`MEDCHAIN_PASSPHRASE_FILE`, `_FD` or `APE_ACCOUNTS_<alias>_PASSPHRASE`):
    a service must not ask on a terminal."""
    import json

    from ape import accounts
    from eth_account import Account

    from medchain.errors import ConfigurationError
    from medchain.signing import passphrase_for

    if not isinstance(alias, str):
        account = alias
        alias = str(getattr(account, "alias", None) or account.address)
        if (raw := getattr(account, "private_key", None)) is not None:  # ape test accounts
            return str(account.address), bytes.fromhex(str(raw).removeprefix("0x"))
    else:
        try:
            account = accounts.load(alias)
        except Exception:  # ape raises its own error kinds for an unknown alias
            raise ConfigurationError(
                f"no ape account named {alias!r} (`ape accounts list`)"
            ) from None
    path = getattr(account, "keyfile_path", None)
    if path is None:
        raise ConfigurationError(f"ape account {alias!r} has no key file to read its key from")
    passphrase = passphrase_for(alias)
    if passphrase is None:
        raise ConfigurationError(
            f"the gateway needs the passphrase of {alias!r}: set MEDCHAIN_PASSPHRASE_FILE"
        )
    try:
        key = bytes(Account.decrypt(json.loads(path.read_text()), passphrase))
    except ValueError:
        raise ConfigurationError(f"wrong passphrase for ape account {alias!r}") from None
    return str(account.address), key


def registration_for_account(
    alias: str, scopes: list[str], chain_id: int, *, keys_dir: Any = None
) -> ClientRegistration:
    """A service account from an ape account: its key, its did:ethr on `chain_id`, and the
    stored X25519 private key of the newest key-agreement key its DID publishes (the key
    `medchain did create` made and published)."""
    from medchain.errors import ConfigurationError
    from medchain.identity.did import format_did
    from medchain.keystore import KeyStore, key_agreement_keys
    from medchain.signing import passphrase_for

    address, eth_key = account_keys(alias)
    did = format_did(address, chain_id)
    store = KeyStore(keys_dir)
    stored = {k.public_key for k in store.list(did)}
    published = [public for _, public in key_agreement_keys(did) if public in stored]
    if not published:
        raise ConfigurationError(
            f"{did} publishes no X25519 key stored in {store.root}: run "
            f"`medchain did create --account {alias}` first"
        )
    private = store.load(did, published[-1], passphrase_for(alias))
    return ClientRegistration(did, list(scopes), eth_key, private.private_bytes_raw())


def fetch_token(base: str, did: str, eth_key: bytes, scope: str = "") -> dict[str, Any]:
    """Ask the gateway at `base` for a bearer token with a signed client assertion."""
    import httpx

    base = base.rstrip("/") + "/"
    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(did, eth_key, f"{base}token"), "scope": scope}  # fmt: skip
    try:
        answer = httpx.post(f"{base}token", data=form, timeout=30)
    except httpx.HTTPError as exc:
        raise AuthError(f"cannot reach the gateway at {base}: {exc}", "unreachable") from None
    body = (
        answer.json()
        if answer.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    if answer.status_code != 200:
        reason = body.get("error_description") or body.get("error") or answer.text[:200]
        raise AuthError(
            f"token refused ({answer.status_code}): {reason}", str(body.get("error", ""))
        )
    return dict(body)
