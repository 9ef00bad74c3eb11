"""Fresh DIDRegistry + RecordRegistry per module (the shipped deploy specs; no write
authorizer, as the records spec alone deploys it), an embedded store in a temp folder,
and X25519 key pairs for the roles (generated here until the identity keystore lands)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from medchain.records import Journal, Records, RecordsClient
from medchain.storage.embedded import EmbeddedStore
from support.deploy import contract_fixture, fresh_deploy_fixture
from support.records import recipient_of

fresh_deploy = fresh_deploy_fixture("RecordRegistry")
did_registry = contract_fixture("DIDRegistry")
registry = contract_fixture("RecordRegistry")


@pytest.fixture(scope="module")
def keys():
    return {role: X25519PrivateKey.generate() for role in ("patient", "provider", "researcher")}


@pytest.fixture(scope="module")
def recipient():
    """recipient(account, key) -> Recipient with the key's raw X25519 public bytes."""
    return recipient_of


@pytest.fixture
def store(tmp_path):
    return EmbeddedStore(tmp_path / "ipfs")


@pytest.fixture
def records(registry, store, tmp_path):
    return Records(RecordsClient(registry), store, journal=Journal(tmp_path / "journal"))
