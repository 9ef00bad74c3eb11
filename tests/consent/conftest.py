"""Fixtures of the consent tests: a fresh DID registry and ConsentRegistry per module
(2-of-3 break-glass, roles wired to the named accounts), and a ConsentClient on it."""

from __future__ import annotations

import pytest

from medchain.consent import ConsentClient

ADMIN_DELAY = 3 * 24 * 3600
THRESHOLD = 2
DAY = 24 * 3600


@pytest.fixture(scope="session", autouse=True)
def _notes_dir(tmp_path_factory):
    """Salted break-glass notes (text + salt) go to a temporary folder, not the clone."""
    import os

    os.environ["MEDCHAIN_NOTES"] = str(tmp_path_factory.mktemp("notes"))


@pytest.fixture(scope="module")
def did(project, deployer):
    return deployer.deploy(project.DIDRegistry)


@pytest.fixture(scope="module")
def registry(project, deployer, did, roles):
    contract = deployer.deploy(project.ConsentRegistry, did, ADMIN_DELAY, deployer, THRESHOLD)
    for name in ("approver1", "approver2", "approver3"):
        contract.grantRole(contract.EMERGENCY_APPROVER_ROLE(), roles[name], sender=deployer)
    contract.grantRole(contract.CLINICIAN_ROLE(), roles["provider"], sender=deployer)
    contract.grantRole(contract.PRIVACY_OFFICER_ROLE(), roles["privacy_officer"], sender=deployer)
    return contract


@pytest.fixture(scope="module")
def client(registry):
    return ConsentClient(registry)


@pytest.fixture
def now(chain):
    return chain.pending_timestamp
