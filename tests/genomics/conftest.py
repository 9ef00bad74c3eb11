"""Fresh GenomicDataset + GenomicLicensing (+ a test ERC-20) per module and the `m`
helper (list a dataset, open an offer, buy) from genomics_helpers."""

from __future__ import annotations

import pytest
from genomics_helpers import Market


@pytest.fixture(scope="module")
def token(project, deployer):
    return deployer.deploy(project.GenomicDataset, 2_500)


@pytest.fixture(scope="module")
def treasury(roles):
    return roles["sponsor"]  # within the 10 funded accounts anvil has


@pytest.fixture(scope="module")
def market(project, deployer, token, treasury):
    return deployer.deploy(project.GenomicLicensing, token, deployer, treasury, 250, 1_000)


@pytest.fixture(scope="module")
def erc20(project, deployer, researcher):
    t = deployer.deploy(project.TestToken)
    t.mint(researcher, 10**24, sender=deployer)
    return t


@pytest.fixture(scope="module")
def m(token, market) -> Market:
    return Market(token, market)
