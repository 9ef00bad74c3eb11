"""Signing with any kind of account the SDK is handed, in one place: an ape account,
an eth-account `LocalAccount`, or a raw private key.

Signatures come back in the exact byte layout contracts expect: r and s always 32
bytes each (ape's `MessageSignature` may drop their leading zero bytes, which makes a
63/64-byte signature that recovers nothing, a failure about 1 time in 128).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage

from medchain.codec import hex_to_bytes, to_address
from medchain.eip712 import (
    Eip712Domain,
    document_domain,
    message_values,
    signable,
    typed_data_digest,
)
from medchain.errors import IntegrityError, InvalidInput


def _word(value: Any) -> bytes:
    return value.to_bytes(32, "big") if isinstance(value, int) else bytes(value).rjust(32, b"\0")


def sign_message(signer: Any, message: SignableMessage) -> bytes:
    """65-byte r || s || v signature of an EIP-191/EIP-712 message."""
    if isinstance(signer, bytes | str):
        return bytes(Account.sign_message(message, private_key=signer).signature)
    if hasattr(signer, "sign_message") and hasattr(signer, "key"):  # eth_account LocalAccount
        return bytes(signer.sign_message(message).signature)
    sig = signer.sign_message(message)  # ape AccountAPI -> MessageSignature(v, r, s)
    if sig is None:
        raise InvalidInput(f"account {signer} declined to sign")
    return _word(sig.r) + _word(sig.s) + bytes([sig.v])


def sign_digest(signer: Any, digest: bytes) -> tuple[int, bytes, bytes]:
    """(v, r, s) signature of a raw 32-byte digest (schemes that hash for themselves,
    such as ERC-1056's legacy 0x19 0x00 signed calls)."""
    if isinstance(signer, bytes | str):
        signed = Account.unsafe_sign_hash(digest, private_key=signer)
        return signed.v, _word(signed.r), _word(signed.s)
    if hasattr(signer, "unsafe_sign_hash"):
        signed = signer.unsafe_sign_hash(digest)
        return signed.v, _word(signed.r), _word(signed.s)
    sig = signer.sign_raw_msghash(digest)  # ape account
    if sig is None:
        raise InvalidInput(f"account {signer} declined to sign")
    return sig.v, _word(sig.r), _word(sig.s)


def signing_address(signer: Any) -> str:
    """The address an account, LocalAccount or raw private key signs as."""
    if isinstance(signer, bytes | str):
        try:
            return str(Account.from_key(signer).address)
        except (ValueError, TypeError) as exc:
            raise InvalidInput("the signer is not a valid private key") from exc
    return to_address(signer, "signer")


# ---------------------------------------------------------------------- signed payloads
PAYLOAD_FORMAT = "medchain.signed-payload/1"


@dataclass(frozen=True)
class SignedPayload:
    """An EIP-712 document and its signature: what a signer hands a relayer.

    `typed_data` is the full JSON document (types, primaryType, domain, message; bytes
    as 0x-hex), `signature` the 65-byte r || s || v, `signer` the address that signed:
    an EOA, or an ERC-1271 contract whose key made the signature (checked on chain).
    `format` names the document kind in its JSON form, so a file of one kind is not
    relayed as another.
    """

    typed_data: dict[str, Any]
    signature: bytes
    signer: str
    format: str = PAYLOAD_FORMAT

    @classmethod
    def sign(
        cls,
        signer: Any,
        document: Mapping[str, Any],
        *,
        signer_address: Any | None = None,
        format: str = PAYLOAD_FORMAT,
    ) -> SignedPayload:
        """Sign `document` with an ape account, LocalAccount or private key.
        `signer_address` names the signing party when it is not the key's own address
        (an ERC-1271 contract whose owner key is `signer`)."""
        owner = signing_address(signer) if signer_address is None else signer_address
        return cls(
            dict(document),
            sign_message(signer, signable(document)),
            to_address(owner, "signer"),
            format,
        )

    # ------------------------------------------------------------------ reading
    @property
    def primary_type(self) -> str:
        return str(self.typed_data["primaryType"])

    @property
    def message(self) -> dict[str, Any]:
        """The message as in the document (JSON form: bytes as 0x-hex)."""
        return dict(self.typed_data["message"])

    def message_values(self) -> dict[str, Any]:
        """The message with ABI-ready values: bytes types as bytes, addresses
        checksummed, integers as int (structs and arrays decoded alike)."""
        try:
            return message_values(self.typed_data)
        except (TypeError, ValueError) as exc:  # InvalidInput is a ValueError
            raise InvalidInput(f"signed {self.primary_type} message is malformed: {exc}") from exc

    @property
    def domain(self) -> Eip712Domain:
        return document_domain(self.typed_data)

    @property
    def digest(self) -> bytes:
        """The EIP-712 digest that was signed."""
        return typed_data_digest(self.typed_data)

    @property
    def v(self) -> int:
        return self.signature[64]

    @property
    def r(self) -> bytes:
        return self.signature[:32]

    @property
    def s(self) -> bytes:
        return self.signature[32:64]

    # ------------------------------------------------------------------ checking
    def recover_signer(self) -> str:
        """The EOA whose key made the signature."""
        try:
            return str(Account.recover_message(signable(self.typed_data), signature=self.signature))
        except (ValueError, TypeError) as exc:
            raise IntegrityError(f"signed {self.primary_type} has an unusable signature") from exc

    def check_signer(self) -> None:
        """Refuse a payload whose signature is not by `signer` (for EOA signers; a
        contract signer's ERC-1271 check happens on chain)."""
        recovered = self.recover_signer()
        if recovered.lower() != self.signer.lower():
            raise IntegrityError(
                f"signed {self.primary_type} names signer {self.signer} "
                f"but the signature is by {recovered}"
            )

    def check_domain(self, chain_id: int, verifying_contract: Any, what: str = "contract") -> None:
        """Refuse a payload signed for another chain or another contract (`what` names
        the kind of contract in the message, e.g. "registry")."""
        domain = self.domain
        if domain.chain_id != int(chain_id):
            raise InvalidInput(
                f"signed {self.primary_type} is for chain {domain.chain_id}, "
                f"connected to {int(chain_id)}"
            )
        contract = to_address(verifying_contract, f"verifying {what}")
        if domain.verifying_contract.lower() != contract.lower():
            raise InvalidInput(
                f"signed {self.primary_type} is for {what} {domain.verifying_contract}, "
                f"this {what} is {contract}"
            )

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "typedData": self.typed_data,
            "signature": "0x" + self.signature.hex(),
            "signer": self.signer,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(
        cls, data: str | bytes | Mapping[str, Any], *, expected_format: str | None = None
    ) -> SignedPayload:
        """Read `to_json`/`to_dict` output. `expected_format` refuses another kind of
        payload. A document without `signer` (older files) takes the message's
        `signer` field, else the recovered key's address."""
        what = expected_format or "signed payload"
        try:
            doc = json.loads(data) if isinstance(data, str | bytes) else dict(data)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"unreadable {what}: not JSON ({exc.msg})") from exc
        if not isinstance(doc, dict):
            raise InvalidInput(f"unreadable {what}: not a JSON object")
        kind = doc.get("format", PAYLOAD_FORMAT)
        if expected_format is not None and kind != expected_format:
            raise InvalidInput(f"not a {expected_format} (format {kind!r})")
        try:
            document = dict(doc["typedData"])
            missing = [
                k for k in ("types", "primaryType", "domain", "message") if k not in document
            ]
            if missing:
                raise InvalidInput(f"unreadable {what}: typed data lacks {', '.join(missing)}")
            signature = hex_to_bytes(doc["signature"], "signature")
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"unreadable {what}: missing {exc}") from exc
        if len(signature) != 65:
            raise InvalidInput(f"{what} signature must be 65 bytes, got {len(signature)}")
        payload = cls(document, signature, "", str(kind))
        signer = doc.get("signer") or document["message"].get("signer")
        claimed = to_address(signer, "signer") if signer else payload.recover_signer()
        return cls(document, signature, claimed, str(kind))


# ---------------------------------------------------------------------- unattended signing
# An account imported with `ape accounts import` asks, for every transaction, "Sign: [y/N]",
# its passphrase and "Leave unlocked?" (ape reads APE_ACCOUNTS_<alias>_PASSPHRASE only in
# unlock()). Services (deploys, relayers, the key-delivery agent) cannot answer. Give the
# passphrase in one of these ways and the account signs without asking for that run:
PASSPHRASE_FILE_ENV = "MEDCHAIN_PASSPHRASE_FILE"  # a file (or /dev/fd/N) whose first line it is
PASSPHRASE_FD_ENV = "MEDCHAIN_PASSPHRASE_FD"  # an open file descriptor to read it from
APE_PASSPHRASE_ENV = "APE_ACCOUNTS_{alias}_PASSPHRASE"  # ape's own variable, per alias

_read_passphrases: dict[str, str] = {}  # a descriptor can be read once: keep what it gave


def passphrase_for(alias: str) -> str | None:
    """The passphrase given for `alias` without a terminal, or None if none was given."""
    import os

    from medchain.errors import ConfigurationError

    if value := os.environ.get(APE_PASSPHRASE_ENV.format(alias=alias)):
        return value
    if path := os.environ.get(PASSPHRASE_FILE_ENV):
        if path not in _read_passphrases:
            try:
                with open(path, encoding="utf-8") as handle:
                    _read_passphrases[path] = handle.readline().rstrip("\r\n")
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot read the passphrase file {PASSPHRASE_FILE_ENV}={path}: {exc.strerror}"
                ) from exc
        return _read_passphrases[path]
    if fd := os.environ.get(PASSPHRASE_FD_ENV):
        key = f"fd:{fd}"
        if key not in _read_passphrases:
            try:
                with os.fdopen(int(fd), encoding="utf-8", closefd=True) as handle:
                    _read_passphrases[key] = handle.readline().rstrip("\r\n")
            except (OSError, ValueError) as exc:
                raise ConfigurationError(
                    f"cannot read the passphrase from {PASSPHRASE_FD_ENV}={fd}: "
                    "not an open file descriptor"
                ) from exc
        return _read_passphrases[key]
    return None


class _QuietCachedKey:
    """A filter on ape's logger: ape warns "Using cached key for <alias>" at every signature
    of an unlocked keyfile account. For an account unlocked on purpose for this run (its
    passphrase given, `unattended`) that says nothing new, and it made a refusal that came
    after a signature two lines on stderr instead of one (e.g. a listing the lab signed and
    the contract refused). Other accounts keep the warning."""

    aliases: set[str] = set()

    def filter(self, record: Any) -> bool:
        return not (
            record.msg == "Using cached key for %s"
            and record.args
            and record.args[0] in self.aliases
        )


_quiet_cached_key = _QuietCachedKey()


def unattended(account: Any) -> Any:
    """Let an imported (keyfile) account sign without prompts for this run when its
    passphrase was given (`passphrase_for`); other accounts are returned unchanged. A
    wrong passphrase is refused here, in one line, before anything is sent."""
    from medchain.errors import ConfigurationError

    if account is None or not hasattr(account, "set_autosign"):
        return account
    passphrase = passphrase_for(account.alias)
    if passphrase is None:
        return account
    from ape.exceptions import AccountsError

    try:
        account.set_autosign(True, passphrase=passphrase)
    except AccountsError as exc:  # InvalidPasswordError
        raise ConfigurationError(
            f"the passphrase given for account '{account.alias}' does not decrypt its key file"
        ) from exc
    import logging

    _QuietCachedKey.aliases.add(account.alias)
    ape_logger = logging.getLogger("ape")
    if _quiet_cached_key not in ape_logger.filters:
        ape_logger.addFilter(_quiet_cached_key)
    return account


class _StderrPrompts:
    """Stands in for `click` inside ape's account plugin: its questions go to stderr (stdout
    carries results, e.g. --json), and with no terminal to ask it refuses in one line
    instead of reading an empty answer."""

    def __getattr__(self, name: str) -> Any:
        import click

        return getattr(click, name)

    @staticmethod
    def _need_terminal() -> None:
        import sys

        from medchain.errors import ConfigurationError

        if not sys.stdin or not sys.stdin.isatty():
            raise ConfigurationError(
                "an imported account needs its passphrase to sign and there is no terminal to "
                f"ask: set {PASSPHRASE_FILE_ENV}, {PASSPHRASE_FD_ENV} or "
                "APE_ACCOUNTS_<alias>_PASSPHRASE (see docs/environment.md)"
            )

    def confirm(self, *args: Any, **kwargs: Any) -> Any:
        import click

        self._need_terminal()
        return click.confirm(*args, **{**kwargs, "err": True})

    def prompt(self, *args: Any, **kwargs: Any) -> Any:
        import click

        self._need_terminal()
        return click.prompt(*args, **{**kwargs, "err": True})


def prompts_to_stderr() -> None:
    """Route ape's account prompts (`Sign:`, passphrase, `Leave unlocked?`) to stderr."""
    import ape_accounts.accounts as keyfile_accounts

    if not isinstance(keyfile_accounts.click, _StderrPrompts):
        keyfile_accounts.click = _StderrPrompts()  # type: ignore[assignment]
