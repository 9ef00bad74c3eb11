"""Fixtures of the zero-knowledge tests: PoseidonT3, the snarkjs Groth16 verifier and an
EligibilityRegistry per module, with the provider and the lab as issuers (roles from
tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from medchain.zk import EligibilityClient


@pytest.fixture(scope="module")
def poseidon_t3(deployer: Any) -> Any:
    from ape import project

    return deployer.deploy(project.PoseidonT3)


@pytest.fixture(scope="module")
def groth16(deployer: Any) -> Any:
    from ape import project

    return deployer.deploy(project.Groth16Verifier)


@pytest.fixture(scope="module")
def gate(deployer: Any, poseidon_t3: Any, groth16: Any, provider: Any, lab: Any) -> Any:
    from ape import project

    registry = deployer.deploy(project.EligibilityRegistry, groth16, poseidon_t3, deployer)
    role = registry.ISSUER_ROLE()
    for issuer in (provider, lab):
        registry.grantRole(role, issuer, sender=deployer)
    return registry


@pytest.fixture(scope="module")
def zk(gate: Any) -> EligibilityClient:
    return EligibilityClient(gate)
