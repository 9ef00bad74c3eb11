"""One client base for every contract wrapper: bind a contract by name from the
address book on the connected network, send transactions and calls through the
single error mapping in `medchain.errors`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from medchain.deployments import AddressBook, DeploymentRecord
from medchain.errors import (
    ConfigurationError,
    DeploymentMismatch,
    InvalidInput,
    translate_errors,
)


class ContractClient:
    """Base of the domain clients (`DIDRegistryClient`, `ConsentClient`, ...).

    Subclasses set `contract_name` and add typed methods built on `transact`/`call`.
    """

    contract_name: ClassVar[str] = ""

    def __init__(self, contract: Any, sender: Any | None = None):
        self.contract = contract
        self.sender = sender

    @classmethod
    def connect(cls, book: AddressBook | None = None, sender: Any | None = None) -> Self:
        """Bind to the deployment of `contract_name` in `book` (default: connected network's)."""
        record = (book or AddressBook.for_connected_network()).get(cls.contract_name)
        return cls(bind(record), sender)

    @classmethod
    def at(cls, address: str, sender: Any | None = None) -> Self:
        """Bind to an address using the ABI compiled in this project."""
        from ape import project

        return cls(getattr(project, cls.contract_name).at(address), sender)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def with_sender(self, sender: Any) -> Self:
        return type(self)(self.contract, sender)

    def transact(self, method: str, *args: Any, sender: Any | None = None, **tx: Any) -> Any:
        """Send a transaction; a revert raises `ContractRevert` with the decoded error."""
        account = sender or self.sender
        if account is None:
            raise ConfigurationError(
                f"{self.contract_name}.{method} needs a sender account (pass sender= or --account)"
            )
        with translate_errors(self.contract_name, self.contract.contract_type):
            return self._handler(method)(*args, sender=account, **tx)

    def call(self, method: str, *args: Any, **kw: Any) -> Any:
        """Read-only call (of a view, or a dry run of a state-changing function); a revert
        raises `ContractRevert` with the decoded error."""
        from ape.contracts.base import ContractTransactionHandler

        handler = self._handler(method)
        target = handler
        if isinstance(handler, ContractTransactionHandler):
            target = handler.call  # a dry run: simulate as this client's account
            if self.sender is not None:
                kw.setdefault("sender", self.sender)
        with translate_errors(self.contract_name, self.contract.contract_type):
            return target(*args, **kw)

    def _handler(self, method: str) -> Any:
        """The ABI method `method`, looked up in the ABI rather than by attribute, so names
        ape's contract instance uses itself (`nonce`, `balance`, `code`) still reach the
        contract."""
        handler = self.contract._view_methods_.get(method) or self.contract._mutable_methods_.get(
            method
        )
        if handler is None:
            raise InvalidInput(f"{self.contract_name} has no ABI method '{method}'")
        return handler


def bind(record: DeploymentRecord) -> Any:
    """A contract instance for a deployment record, checked against the connected chain."""
    from ape import Contract, chain
    from ethpm_types import ContractType

    if chain.chain_id != record.chain_id:
        raise DeploymentMismatch(
            f"{record.contract_name} in the address book is on chain {record.chain_id}, "
            f"but the connected network is chain {chain.chain_id}"
        )
    if not chain.provider.get_code(record.address):
        raise DeploymentMismatch(
            f"no code at {record.address} for {record.contract_name} on chain {record.chain_id} "
            "(was the chain reset?); run the deploy script again"
        )
    contract_type = ContractType.model_validate(
        {"contractName": record.contract_name, "abi": record.abi}
    )
    return Contract(record.address, contract_type=contract_type)
