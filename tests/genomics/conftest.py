"""Fresh GenomicDataset + GenomicLicensing per module, deployed and wired by the shipped
deploy specs (the `lab` account accredited as producer, the deployer as admin, arbiter and
fee treasury), an allowlisted test ERC-20, and the `m` helper (list a dataset with the
lab's authorisation, open an offer, buy, deliver) from support.genomics."""

from __future__ import annotations

import pytest

from support.deploy import deploy_fresh
from support.genomics import Market


@pytest.fixture(scope="module")
def genomics_deploy(deployer, roles):
    return deploy_fresh(deployer, "GenomicLicensing", accounts=roles)


@pytest.fixture(scope="module")
def token(genomics_deploy):
    return genomics_deploy.contracts["GenomicDataset"]


@pytest.fixture(scope="module")
def market(genomics_deploy):
    return genomics_deploy.contracts["GenomicLicensing"]


@pytest.fixture(scope="module")
def treasury(deployer):
    return deployer  # the shipped spec makes the admin the fee treasury


@pytest.fixture(scope="module")
def erc20(project, deployer, researcher, market):
    # A test-only token (contracts/test): the shipped deploy allowlists no ERC-20.
    t = deployer.deploy(project.TestToken)
    t.mint(researcher, 10**24, sender=deployer)
    market.setCurrencyAllowed(t, True, sender=deployer)
    return t


@pytest.fixture(scope="module")
def m(token, market, lab) -> Market:
    return Market(token, market, lab)
