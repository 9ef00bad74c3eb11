"""Fixtures of the zero-knowledge tests: PoseidonT3, the snarkjs Groth16 verifier and an
EligibilityRegistry per module, deployed and wired by the shipped deploy specs (the
provider and the lab as issuers, roles from tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from medchain.deploy import DeployContext
from medchain.zk import EligibilityClient
from support.deploy import deploy_fresh


@pytest.fixture(scope="module")
def zk_deploy(deployer: Any, roles: dict[str, Any]) -> DeployContext:
    return deploy_fresh(deployer, "EligibilityRegistry", accounts=roles)


@pytest.fixture(scope="module")
def poseidon_t3(zk_deploy: DeployContext) -> Any:
    return zk_deploy.contracts["PoseidonT3"]


@pytest.fixture(scope="module")
def groth16(zk_deploy: DeployContext) -> Any:
    return zk_deploy.contracts["Groth16Verifier"]


@pytest.fixture(scope="module")
def gate(zk_deploy: DeployContext) -> Any:
    return zk_deploy.contracts["EligibilityRegistry"]


@pytest.fixture(scope="module")
def zk(gate: Any) -> EligibilityClient:
    return EligibilityClient(gate)
