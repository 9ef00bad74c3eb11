"""Fixtures of the zero-knowledge tests: PoseidonT3, the snarkjs Groth16 verifier and an
EligibilityRegistry per module, deployed and wired by the shipped deploy specs (the
provider and the lab as issuers, roles from tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from medchain.zk import EligibilityClient
from support.deploy import contract_fixture, fresh_deploy_fixture

fresh_deploy = fresh_deploy_fixture("EligibilityRegistry", with_roles=True)
poseidon_t3 = contract_fixture("PoseidonT3")
groth16 = contract_fixture("Groth16Verifier")
gate = contract_fixture("EligibilityRegistry")


@pytest.fixture(scope="module")
def zk(gate: Any) -> EligibilityClient:
    return EligibilityClient(gate)
