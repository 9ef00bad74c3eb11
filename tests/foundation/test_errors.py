"""One error mapping: a custom-error revert becomes ContractRevert with the error's
name and decoded arguments, and a one-line message."""

from __future__ import annotations

import pytest
from eth_utils import keccak

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
    role = keccak(text="medchain/some-role")  # administered by DEFAULT_ADMIN_ROLE
    with pytest.raises(ContractRevert) as caught:
        client.transact("grantRole", role, patient.address)
    err = caught.value
    assert isinstance(err, MedchainError)
    assert err.error_name == "AccessControlUnauthorizedAccount"
    assert err.arguments["account"] == patient.address
    assert err.arguments["neededRole"] == b"\x00" * 32  # the patient lacks the admin role
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


def test_raw_revert_bytes_are_decoded_against_the_abi(deployed):
    """Ape sometimes leaves a custom error as raw bytes; the mapping decodes it anyway."""
    from eth_abi import encode

    from medchain.errors import decode_custom_error

    name, instance = _access_controlled(deployed)
    account = "0x000000000000000000000000000000000000000A"  # 0x0a: a newline byte
    role = b"\n" * 32
    data = keccak(text="AccessControlUnauthorizedAccount(address,bytes32)")[:4] + encode(
        ["address", "bytes32"], [account, role]
    )
    for raw in (data, repr(data), "0x" + data.hex()):
        err = decode_custom_error(name, instance.contract_type, raw)
        assert err is not None
        assert err.error_name == "AccessControlUnauthorizedAccount"
        assert err.arguments == {"account": account, "neededRole": role}
    assert decode_custom_error(name, instance.contract_type, "plain reason") is None
    assert decode_custom_error(name, instance.contract_type, b"\x00\x01\x02\x03") is None


def test_call_works_for_views_and_dry_runs(deployed, patient):
    name, instance = _access_controlled(deployed)

    class Client(ContractClient):
        contract_name = name

    client = Client(instance, sender=patient)
    assert client.call("hasRole", b"\x00" * 32, patient.address) is False
    with pytest.raises(ContractRevert, match="AccessControlUnauthorizedAccount"):
        client.call("grantRole", keccak(text="medchain/some-role"), patient.address)  # dry run


def test_methods_are_found_in_the_abi_even_when_ape_shadows_the_name(deployed, patient):
    """DIDRegistry.nonce(owner) is an ABI getter; ape's instance has its own `nonce`."""
    from medchain.errors import InvalidInput

    class Registry(ContractClient):
        contract_name = "DIDRegistry"

    registry = Registry(deployed.contracts["DIDRegistry"], sender=patient)
    assert registry.call("nonce", patient.address) == 0
    with pytest.raises(InvalidInput, match="DIDRegistry has no ABI method 'steal'"):
        registry.call("steal")
