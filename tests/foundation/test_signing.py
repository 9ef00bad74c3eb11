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
