"""Fresh GenomicDataset + GenomicLicensing (+ an allowlisted test ERC-20) per module, the
`lab` account accredited as producer, and the `m` helper (list a dataset with the lab's
authorisation, open an offer, buy, deliver) from support.genomics."""

from __future__ import annotations

import pytest

from support.genomics import Market


@pytest.fixture(scope="module")
def token(project, deployer, lab):
    t = deployer.deploy(project.GenomicDataset, 2_500, deployer)
    t.grantRole(t.PRODUCER_ROLE(), lab, sender=deployer)
    return t


@pytest.fixture(scope="module")
def treasury(roles):
    return roles["sponsor"]  # within the 10 funded accounts anvil has


@pytest.fixture(scope="module")
def market(project, deployer, token, treasury):
    return deployer.deploy(project.GenomicLicensing, token, deployer, treasury, 250, 1_000)


@pytest.fixture(scope="module")
def erc20(project, deployer, researcher, market):
    t = deployer.deploy(project.TestToken)
    t.mint(researcher, 10**24, sender=deployer)
    market.setCurrencyAllowed(t, True, sender=deployer)
    return t


@pytest.fixture(scope="module")
def m(token, market, lab) -> Market:
    return Market(token, market, lab)
