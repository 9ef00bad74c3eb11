"""Identity fixtures: a fresh DIDRegistry per test module, deployed by the shipped spec (isolation from other domains'
use of the session deploy) and a client bound to it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from eth_account import Account

from medchain.cli import cli
from medchain.identity import DIDRegistryClient
from support.deploy import deploy_fresh


@pytest.fixture(scope="module", autouse=True)
def registry(deployer):
    return deploy_fresh(deployer, "DIDRegistry").contracts["DIDRegistry"]


@pytest.fixture(scope="module")
def client(registry):
    return DIDRegistryClient(registry)


@pytest.fixture
def fresh_key():
    """A brand-new EOA (private key) whose identity has no history."""
    return Account.create()


@pytest.fixture(scope="module", autouse=True)
def _roles_first(deployer, patient, provider, researcher, lab, guardian, chain):
    """Request the session-scoped role fixtures before any test runs, so ape's per-test
    chain isolation never has to rebase them (InvalidIsolationWarning)."""


@pytest.fixture
def run(registry):
    """The `medchain` CLI in-process against this module's registry (`--registry`)."""
    runner = CliRunner(mix_stderr=False)

    def invoke(*args: str):
        return runner.invoke(
            cli, [*args, "--network", "ethereum:local:test", "--registry", registry.address]
        )

    return invoke
