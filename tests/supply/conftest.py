"""Fixtures of the supply-chain tests: a fresh DID registry + SerialRegistry per module (the shipped deploy specs:
the deployer is admin, the named `registrar` and `regulator` accounts hold those roles), trading partners
registered through their DIDs by the registrar, and small lots built with the SDK."""

from __future__ import annotations

import pytest

from medchain.supply import SupplyClient
from support.deploy import deploy_fresh
from support.supply import GTIN, PARTNER_PREFIXES, PARTNER_ROLES, new_lot


@pytest.fixture(scope="module")
def registry(deployer):
    return deploy_fresh(deployer, "SerialRegistry").contracts["SerialRegistry"]


@pytest.fixture(scope="module")
def client(registry, registrar):
    """The registrar's client (registers partners); `with_sender` for anyone else."""
    return SupplyClient(registry, registrar)


@pytest.fixture(scope="module")
def regulator_client(client, regulator):
    return client.with_sender(regulator)


@pytest.fixture(scope="module")
def partners(client, manufacturer, wholesaler, pharmacy, lab, sponsor):
    """manufacturer (prefix 0614141), sponsor as repackager (0777777), wholesaler
    (0888888), pharmacy (0999999) and lab (a second dispenser, no prefix): roles and
    prefixes from support.supply's PARTNER_ROLES and PARTNER_PREFIXES."""
    partners = {
        "manufacturer": manufacturer,
        "repackager": sponsor,
        "wholesaler": wholesaler,
        "pharmacy": pharmacy,
        "pharmacy2": lab,
    }
    for name, account in partners.items():
        prefix = PARTNER_PREFIXES.get(name, "")
        client.register_partner(account.address, PARTNER_ROLES[name], company_prefix=prefix)
    return partners


@pytest.fixture
def make_lot(client, partners):
    """Commission a fresh lot by `who` (default the manufacturer); returns the manifest."""

    def make(n: int = 8, expiry: str = "301231", who: str = "manufacturer", gtin: str = GTIN):
        manifest = new_lot(n, expiry, gtin)
        client.with_sender(partners[who]).commission(manifest, "bafy-test-manifest")
        return manifest

    return make
