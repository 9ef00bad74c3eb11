"""Fresh GenomicDataset + GenomicLicensing per module, deployed and wired by the shipped
deploy specs (the `lab` account accredited as producer, the deployer as admin, arbiter and
fee treasury), an allowlisted test ERC-20, and the `m` helper (list a dataset with the
lab's authorisation, open an offer, buy, deliver) from support.genomics."""

from __future__ import annotations

import pytest

from support.deploy import contract_fixture, fresh_deploy_fixture
from support.genomics import Market

fresh_deploy = fresh_deploy_fixture("GenomicLicensing", with_roles=True)
token = contract_fixture("GenomicDataset")
market = contract_fixture("GenomicLicensing")


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
