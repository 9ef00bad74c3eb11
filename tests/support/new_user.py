"""A new user's environment, shared by the tests that run the real `ape` and `medchain`
executables from a folder outside the clone (tests/foundation/test_new_user_node.py and
the docs walk in tests/docs): what the clone exports is dropped, HOME and ape's data
folder live in the user's temporary folder, accounts are imported with `ape accounts
import` and sign with a passphrase given the documented way."""

from __future__ import annotations

import os
from pathlib import Path

from support import BIN  # the venv's ape and medchain, as a user's install has them

PASSPHRASE = "correct horse 4 battery!"
BOOK = "ethereum-chain-31337"  # the book `ape run deploy` writes for anvil by URI
# What the clone's environment exports and a user elsewhere does not have.
CLONE_ONLY = ("MEDCHAIN_ROOT", "MEDCHAIN_HOME", "MEDCHAIN_DEPLOYMENTS", "MEDCHAIN_BOOK")
SIGNING = ("MEDCHAIN_DEBUG", "MEDCHAIN_PASSPHRASE_FILE", "MEDCHAIN_PASSPHRASE_FD")


def user_env(home: Path) -> dict[str, str]:
    """The environment of a user whose home is `home`: no clone variables, no ape
    passphrases, ape's data folder inside `home`, the venv's executables on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in CLONE_ONLY and k not in SIGNING and not k.startswith("APE_ACCOUNTS_")
    }
    env["HOME"] = str(home)
    env["APE_DATA_FOLDER"] = str(home / ".ape")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env
