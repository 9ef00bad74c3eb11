"""Fixtures of the supply-chain tests: a fresh DID registry + SerialRegistry per module (the shipped deploy specs),
trading partners registered through their DIDs, and small lots built with the SDK."""

from __future__ import annotations

import pytest

from medchain.supply import Role, SupplyClient
from support.deploy import deploy_fresh
from support.supply import (
    GTIN,
    OTHER_PREFIX,
    PHARMACY_PREFIX,
    PREFIX,
    WHOLESALER_PREFIX,
    new_lot,
)


@pytest.fixture(scope="module")
def registry(deployer):
    return deploy_fresh(deployer, "SerialRegistry").contracts["SerialRegistry"]


@pytest.fixture(scope="module")
def client(registry, deployer):
    return SupplyClient(registry, deployer)


@pytest.fixture(scope="module")
def partners(client, manufacturer, wholesaler, pharmacy, lab, sponsor):
    """manufacturer (prefix 0614141), sponsor as repackager (0777777), wholesaler
    (0888888), pharmacy (0999999) and lab (a second dispenser, no prefix)."""
    client.register_partner(manufacturer.address, Role.MANUFACTURER, company_prefix=PREFIX)
    client.register_partner(sponsor.address, Role.REPACKAGER, company_prefix=OTHER_PREFIX)
    client.register_partner(wholesaler.address, Role.WHOLESALER, company_prefix=WHOLESALER_PREFIX)
    client.register_partner(pharmacy.address, Role.DISPENSER, company_prefix=PHARMACY_PREFIX)
    client.register_partner(lab.address, Role.DISPENSER)
    return {
        "manufacturer": manufacturer,
        "repackager": sponsor,
        "wholesaler": wholesaler,
        "pharmacy": pharmacy,
        "pharmacy2": lab,
    }


@pytest.fixture
def make_lot(client, partners):
    """Commission a fresh lot by `who` (default the manufacturer); returns the manifest."""

    def make(n: int = 8, expiry: str = "301231", who: str = "manufacturer", gtin: str = GTIN):
        manifest = new_lot(n, expiry, gtin)
        client.with_sender(partners[who]).commission(manifest, "bafy-test-manifest")
        return manifest

    return make
