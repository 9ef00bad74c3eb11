"""Fixtures of the consent tests: a fresh DIDRegistry, RecordRegistry and ConsentRegistry
per module, deployed and wired by the shipped deploy specs (2-of-3 break-glass, roles
granted to the named accounts, consent as the records' write authorizer), and a
ConsentClient on it."""

from __future__ import annotations

import ape
import pytest

from medchain.consent import ConsentClient
from support.deploy import contract_fixture, fresh_deploy_fixture


@ape.fixture(scope="session", autouse=True, chain_isolation=False)
def _notes_dir(tmp_path_factory):
    """Salted break-glass notes (text + salt) go to a temporary folder, not the clone."""
    import os

    os.environ["MEDCHAIN_NOTES"] = str(tmp_path_factory.mktemp("notes"))


fresh_deploy = fresh_deploy_fixture("ConsentRegistry", with_roles=True)
did = contract_fixture("DIDRegistry")
registry = contract_fixture("ConsentRegistry")


@pytest.fixture(scope="module")
def client(registry):
    return ConsentClient(registry)


@pytest.fixture
def now(chain):
    return chain.pending_timestamp
