"""A signer's keyfile whose random AES IV begins with zero bytes (1 key in 256): eth-keyfile
writes such an IV short, and geth panicked "bad IV length" unlocking it, so a network
failed to start once in a while (twice on CI). The IV here is forced to begin with two
zero bytes, the way eth-keyfile draws it."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_keyfile import keyfile as eth_keyfile

from medchain.network import create
from medchain.network.clique import signer_keyfile
from support.geth import own_network

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


@pytest.fixture
def iv_with_leading_zeros(monkeypatch):
    """eth-keyfile draws the salt and the IV as 16 random bytes each; both begin with two
    zero bytes here (a salt's bytes are written in full either way)."""
    draw = eth_keyfile.Random.get_random_bytes

    def biased(n: int) -> bytes:
        random = draw(n)
        return b"\0\0" + random[2:] if n == 16 else random

    monkeypatch.setattr(eth_keyfile.Random, "get_random_bytes", biased)


def test_the_iv_keeps_its_16_bytes_and_the_file_decrypts_to_the_key(iv_with_leading_zeros):
    trimmed = Account.encrypt(KEY, "pw", kdf="scrypt", iterations=2**4)
    assert len(trimmed["crypto"]["cipherparams"]["iv"]) == 28  # the upstream behaviour
    keyfile = signer_keyfile(KEY, "pw")
    iv = keyfile["crypto"]["cipherparams"]["iv"]
    assert len(iv) == 32 and iv.startswith("0000")
    assert Account.decrypt(keyfile, "pw") == KEY
    with pytest.raises(ValueError):
        Account.decrypt(keyfile, "wrong")


@pytest.mark.geth
def test_geth_unlocks_a_signer_whose_iv_begins_with_zero_bytes(
    iv_with_leading_zeros, tmp_path_factory
):
    with own_network(tmp_path_factory, "zeroiv"):
        network = create("zeroiv", signers=1, base_port=None)
        network.start(timeout=60)
        assert network.height(network.nodes[0]) >= 1  # it sealed with the unlocked key
