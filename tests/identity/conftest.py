"""Identity fixtures: a fresh DIDRegistry per test module (isolation from other domains'
use of the session deploy) and a client bound to it."""

from __future__ import annotations

import pytest
from eth_account import Account

from medchain.identity import DIDRegistryClient


@pytest.fixture(scope="module")
def registry(project, deployer):
    return deployer.deploy(project.DIDRegistry)


@pytest.fixture(scope="module")
def client(registry):
    return DIDRegistryClient(registry)


@pytest.fixture
def fresh_key():
    """A brand-new EOA (private key) whose identity has no history."""
    return Account.create()
