"""Fresh DIDRegistry + RecordRegistry per module (the shipped deploy specs; no write
authorizer, as the records spec alone deploys it), an embedded store in a temp folder,
and X25519 key pairs for the roles (generated here until the identity keystore lands)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from medchain.records import Journal, Recipient, Records, RecordsClient
from medchain.storage.embedded import EmbeddedStore
from support.deploy import deploy_fresh


@pytest.fixture(scope="module")
def records_deploy(deployer):
    return deploy_fresh(deployer, "RecordRegistry")


@pytest.fixture(scope="module")
def did_registry(records_deploy):
    return records_deploy.contracts["DIDRegistry"]


@pytest.fixture(scope="module")
def registry(records_deploy):
    return records_deploy.contracts["RecordRegistry"]


@pytest.fixture(scope="module")
def keys():
    return {role: X25519PrivateKey.generate() for role in ("patient", "provider", "researcher")}


def recipient_of(account, key, kid: str = "") -> Recipient:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Recipient(str(account.address), raw, kid or f"did:ethr:{account.address}#enc")


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
