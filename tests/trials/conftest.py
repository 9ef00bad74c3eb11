"""Fixtures of the trials tests: a fresh TrialRegistry per test module (the shipped deploy spec) and a registered
trial with two sites, a monitor and an ethics board (roles from tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from medchain.trials import TrialsClient
from support.deploy import deploy_fresh
from support.trials import TrialFixture, register_trial


@pytest.fixture(scope="module")
def registry(deployer: Any) -> Any:
    return deploy_fresh(deployer, "TrialRegistry").contracts["TrialRegistry"]


@pytest.fixture(scope="module")
def client(registry: Any) -> TrialsClient:
    return TrialsClient(registry)


@pytest.fixture
def trial(client, sponsor, ethics, investigator, investigator2, monitor) -> TrialFixture:
    return register_trial(client, sponsor, ethics, investigator, investigator2, monitor)
