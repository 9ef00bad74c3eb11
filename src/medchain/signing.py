"""Signing with any kind of account the SDK is handed, in one place: an ape account,
an eth-account `LocalAccount`, or a raw private key.

Signatures come back in the exact byte layout contracts expect: r and s always 32
bytes each (ape's `MessageSignature` may drop their leading zero bytes, which makes a
63/64-byte signature that recovers nothing, a failure about 1 time in 128).
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage

from medchain.errors import InvalidInput

# The EIP-712 domain every medchain contract uses (OZ EIP712: name, version, chain id,
# verifying contract).
EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


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
