"""Signatures from every kind of signer come back as exact 65-byte r||s||v that recover
to the signer, including the ~1 in 128 whose r or s starts with a zero byte."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

from medchain.signing import sign_digest, sign_message


def test_ape_account_signatures_are_always_65_bytes_and_recover(patient):
    for i in range(300):  # ~2 signatures with a leading-zero r or s expected
        message = encode_defunct(text=f"medchain {i}")
        signature = sign_message(patient, message)
        assert len(signature) == 65
        assert Account.recover_message(message, signature=signature) == patient.address


def test_private_key_and_local_account_signers_agree():
    local = Account.create()
    message = encode_defunct(text="same message")
    assert sign_message(local, message) == sign_message(local.key, message)
    digest = keccak(b"digest")
    v, r, s = sign_digest(local.key, digest)
    assert len(r) == len(s) == 32 and v in (27, 28)
    assert sign_digest(local, digest) == (v, r, s)


class _Keyfile:
    """What `unattended` needs of an imported (keyfile) account."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.autosign = False

    def set_autosign(self, enabled: bool, passphrase: str | None = None) -> None:
        self.autosign = enabled


def test_unattended_account_signs_without_ape_cached_key_warnings(tmp_path, monkeypatch):
    """ape warns "Using cached key for <alias>" at each signature of an unlocked account;
    for one unlocked on purpose (passphrase given) that made a refusal after a signature
    two lines on stderr. Other accounts keep the warning."""
    import logging

    from ape.logging import logger

    from medchain import signing

    secret = tmp_path / "pass"
    secret.write_text("correct horse\n")
    monkeypatch.setenv(signing.PASSPHRASE_FILE_ENV, str(secret))
    monkeypatch.setattr(signing, "_read_passphrases", {})
    account = signing.unattended(_Keyfile("lab_for_filter_test"))
    assert account.autosign
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("ape").addHandler(handler)
    try:
        logger.warning("Using cached key for %s", "lab_for_filter_test")
        logger.warning("Using cached key for %s", "someone_else")
    finally:
        logging.getLogger("ape").removeHandler(handler)
    assert seen == ["Using cached key for someone_else"]
