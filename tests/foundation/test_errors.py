"""One error mapping: a custom-error revert becomes ContractRevert with the error's
name and decoded arguments, and a one-line message."""

from __future__ import annotations

import pytest

from medchain.client import ContractClient
from medchain.errors import ConfigurationError, ContractRevert, MedchainError, translate_errors


def _access_controlled(deployed):
    for name, instance in deployed.contracts.items():
        if any(getattr(a, "name", None) == "grantRole" for a in instance.contract_type.abi):
            return name, instance
    pytest.fail("no AccessControl contract deployed")


def test_custom_error_revert_becomes_contract_revert(deployed, patient):
    name, instance = _access_controlled(deployed)

    class Client(ContractClient):
        contract_name = name

    client = Client(instance, sender=patient)
    role = b"\x00" * 32  # DEFAULT_ADMIN_ROLE: the patient does not hold it
    with pytest.raises(ContractRevert) as caught:
        client.transact("grantRole", role, patient.address)
    err = caught.value
    assert isinstance(err, MedchainError)
    assert err.error_name == "AccessControlUnauthorizedAccount"
    assert err.arguments["account"] == patient.address
    assert err.arguments["neededRole"] == role
    assert "\n" not in str(err)
    assert str(err).startswith(f"{name} refused: AccessControlUnauthorizedAccount(account=")


def test_transact_without_sender_is_a_configuration_error(deployed):
    name, instance = _access_controlled(deployed)

    class Client(ContractClient):
        contract_name = name

    with pytest.raises(ConfigurationError, match="needs a sender account"):
        Client(instance).transact("renounceRole", b"\x00" * 32, instance.address)


def test_non_chain_errors_pass_through_untouched():
    with pytest.raises(KeyError), translate_errors("X"):
        raise KeyError("not a chain error")
