"""One client base for every contract wrapper: bind a contract by name from the
address book on the connected network, send transactions and calls through the
single error mapping in `medchain.errors`.

Contracts are bound from the ABI the address book carries (`bind`, `contract_at`), never
from ape's `project`, which depends on the current folder: the SDK and the CLI work from
anywhere, as they do when installed from a wheel.

Every transaction gets its gas limit from `gas_limit_for`: an estimate against the
*pending* block (the context it will run in) plus a margin. ape's default asks the node
for an estimate against the latest block. For a contract that stores `block.number`
(ERC-1056's `changed[identity]`), a write that follows a change of the same identity in
the previous block then re-writes an unchanged slot in the estimate (a warm no-op
SSTORE, 100 gas, bounded below only by EIP-2200's 2,300-gas sentry) but changes it when
mined one block later (2,900 gas): anvil estimated 31,424 and the transaction needed
32,040, ran out of gas, and was mined and paid for. Estimating in the pending block's
context removes that; the margin covers what still moves between estimate and inclusion
(another transaction first, a node whose 'pending' is its latest state). A call into
another contract only gets 63/64 of the gas left (EIP-150) and refunds are paid after
execution: the node's binary search for the smallest sufficient limit already accounts
for both, in the state it estimates against.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from medchain.deployments import (
    DEPLOY_HINT,
    IN_PROCESS_HINT,
    AddressBook,
    DeploymentRecord,
    all_books,
    chosen_book_name,
    connected_to_in_process_chain,
)
from medchain.errors import (
    ConfigurationError,
    DeploymentMismatch,
    DeploymentNotFound,
    InsufficientFunds,
    IntegrityError,
    InvalidInput,
    translate_errors,
)

# Headroom over the node's estimate for what can change between estimate and inclusion
# (other transactions in the same block, a node without a real pending block such as
# Besu, which answers 'pending' with the latest state). Unused gas is not charged.
GAS_MARGIN_NUMERATOR, GAS_MARGIN_DENOMINATOR = 5, 4  # +25 %
GAS_MARGIN_MIN = 10_000


class ContractClient:
    """Base of the domain clients (`DIDRegistryClient`, `ConsentClient`, ...).

    Subclasses set `contract_name` and add typed methods built on `transact`/`call`.
    """

    contract_name: ClassVar[str] = ""
    # how a book comes to have this contract, for the refusal when it has none
    deploy_hint: ClassVar[str] = DEPLOY_HINT

    def __init__(self, contract: Any, sender: Any | None = None, book: AddressBook | None = None):
        self.contract = contract
        self.sender = sender
        self.book = book  # where the ABI came from, for contracts bound later (`at`)

    @classmethod
    def connect(cls, book: AddressBook | None = None, sender: Any | None = None) -> Self:
        """Bind to the deployment of `contract_name` in `book` (default: the book chosen
        with `--book`/`$MEDCHAIN_BOOK`, else the connected network's)."""
        book = book or AddressBook.for_connected_network()
        if not book.exists() and connected_to_in_process_chain():
            raise DeploymentNotFound(f"no {cls.contract_name} to bind: {IN_PROCESS_HINT}")
        _read_poa_blocks()
        return cls(bind(book.get(cls.contract_name, deploy_hint=cls.deploy_hint)), sender, book)

    @classmethod
    def at(cls, address: str, sender: Any | None = None, book: AddressBook | None = None) -> Self:
        """Bind to `address` with the ABI of `contract_name` from an address book."""
        _read_poa_blocks()
        return cls(contract_at(cls.contract_name, address, book), sender, book)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    @property
    def chain_id(self) -> int:
        """The id of the chain the client talks to (the one ape is connected to)."""
        from ape import chain

        return int(chain.provider.chain_id)

    def with_sender(self, sender: Any) -> Self:
        return type(self)(self.contract, sender, self.book)

    def transact(self, method: str, *args: Any, sender: Any | None = None, **tx: Any) -> Any:
        """Send a transaction; a revert raises `ContractRevert` with the decoded error."""
        account = sender or self.sender
        if account is None:
            raise ConfigurationError(
                f"{self.contract_name}.{method} needs a sender account (pass sender= or --account)"
            )
        handler = self._handler(method)
        with translate_errors(self.contract_name, self.contract.contract_type):
            try:
                confirmations = tx.pop("required_confirmations", None)
                if not {"gas", "gas_limit"} & tx.keys():
                    gas = gas_limit_for(handler, args, account, tx)
                    if gas is not None:
                        tx["gas"] = gas
                if connected_to_in_process_chain() or not _signs_locally(account):
                    if confirmations is not None:
                        tx["required_confirmations"] = confirmations
                    return handler(*args, sender=account, **tx)
                return send_signed(handler, args, account, tx, confirmations)
            except Exception as exc:
                check_funds(account, exc)
                raise

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

    def events_from(self, receipt: Any, name: str) -> list[dict[str, Any]]:
        """The arguments of every `name` event this contract emitted in `receipt`, in log
        order. Logs of other contracts (a token the call touched, another instance of the
        same contract) are not included. The one way the SDK reads events out of a receipt."""
        events = self.contract._events_.get(name)
        if not events:
            raise InvalidInput(f"{self.contract_name} has no ABI event '{name}'")
        logs = [log for event in events for log in event.from_receipt(receipt)]
        logs.sort(key=lambda log: int(log.log_index))
        return [dict(log.event_arguments) for log in logs]

    def event_from(self, receipt: Any, name: str) -> dict[str, Any]:
        """The arguments of the first `name` event this contract emitted in `receipt`;
        a receipt without one is refused (the transaction did not do what was asked)."""
        found = self.events_from(receipt, name)
        if not found:
            raise IntegrityError(f"{self.contract_name}: the transaction emitted no {name} event")
        return found[0]

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


def _signs_locally(account: Any) -> bool:
    """True for accounts that sign transactions themselves (test, keyfile, hardware...);
    false for ape's impersonated accounts, which a dev node signs for."""
    return type(account).__name__ != "ImpersonatedAccount"


def send_signed(
    handler: Any,
    args: tuple[Any, ...],
    account: Any,
    tx: dict[str, Any],
    confirmations: int | None = None,
) -> Any:
    """Sign and send a transaction on a node reached by URI; return ape's receipt once it
    is `confirmations` blocks deep (default `medchain.network.failover.required_confirmations`).

    The nonce comes from the connection's `medchain.network.nonces.NonceManager`: the sender's lock is held from
    taking the nonce until the node accepts the signed bytes, then released while the
    receipt is awaited, so threads sharing a sender neither reuse nor skip a nonce. With
    several endpoints (`$MEDCHAIN_RPC_URLS`) the raw transaction and the receipt polling
    fail over to another node (`medchain.network.failover`); the transaction is never
    signed again with another nonce.
    """
    from ape import networks
    from ape.exceptions import SignatureError
    from web3.exceptions import Web3RPCError

    from medchain.network.failover import install, required_confirmations, wait_for_confirmations
    from medchain.network.nonces import nonce_manager

    provider = networks.provider
    install(provider=provider)
    depth = required_confirmations(provider) if confirmations is None else int(confirmations)
    nonces = nonce_manager(provider.web3)
    chain_id = int(provider.chain_id)
    address = str(account.address)

    def pending_count() -> int:
        return int(provider.web3.eth.get_transaction_count(address, "pending"))

    for attempt in (1, 2):
        with nonces.reserve(chain_id, address, pending_count) as reservation:
            txn = handler._as_transaction(*args).serialize_transaction(
                *args, sender=account, nonce=reservation.nonce, **tx
            )
            txn = account.prepare_transaction(txn)
            signed = account.sign_transaction(txn)
            if signed is None:
                raise SignatureError("The transaction was not signed.", transaction=txn)
            try:
                txhash = provider.web3.eth.send_raw_transaction(signed.serialize_transaction())
            except Web3RPCError as exc:
                if "nonce too low" in str(exc).lower() and attempt == 1:
                    continue  # another process used this nonce: refused, so take the next
                raise provider.get_virtual_machine_error(exc, txn=signed) from exc
            reservation.accepted = True
        break
    data = signed.model_dump(by_alias=True, mode="json")
    data["signature"] = signed.signature
    # ape's own confirmation wait does not re-check the block after a fork: ours does
    receipt = provider.get_receipt(txhash.to_0x_hex(), transaction=data)
    if receipt.failed:
        handler.call(*args, sender=account)  # replay: raises the decoded revert
        receipt.raise_for_status()
    wait_for_confirmations(provider, receipt.txn_hash, receipt.block_number, depth)
    return receipt


def gas_limit_for(
    handler: Any, args: tuple[Any, ...], sender: Any, tx: dict[str, Any]
) -> int | None:
    """The gas limit for calling `handler(*args)` from `sender`: the node's estimate against
    the pending block plus `GAS_MARGIN`, capped at the block gas limit. None where ape does
    not estimate (a network configured with `gas_limit: max` or a fixed number, such as
    the in-process test chain): ape's own choice then stands."""
    from ape import networks
    from ape.exceptions import ContractLogicError

    provider = networks.provider
    configured = provider.network.gas_limit
    if configured == "max" or isinstance(configured, int):
        return None
    txn = handler._as_transaction(*args).serialize_transaction(*args, sender=sender, **tx)
    txn.chain_id = provider.network.chain_id
    try:
        estimate = provider.estimate_gas_cost(txn, block_id="pending")
    except ContractLogicError:
        raise
    except Exception as exc:
        check_funds(sender, exc)
        # a node that refuses the 'pending' tag: estimate against its latest block
        estimate = provider.estimate_gas_cost(txn)
    margin = max(
        estimate * GAS_MARGIN_NUMERATOR // GAS_MARGIN_DENOMINATOR - estimate, GAS_MARGIN_MIN
    )
    return int(min(estimate + margin, provider.max_gas))


def check_funds(sender: Any, cause: BaseException) -> None:
    """Raise `InsufficientFunds` (account and balance) when a failed estimate or send was
    really the sender's balance: nodes word it as 'Out of gas: gas required exceeds
    allowance: 0' (anvil, geth) or 'insufficient funds', ape as 'Transfer value meets or
    exceeds account balance'."""
    text = str(cause).lower()
    wording = ("insufficient funds", "exceeds allowance", "exceeds account balance")
    if not any(w in text for w in wording):
        return
    try:
        balance = int(sender.balance)
    except Exception:
        return
    raise InsufficientFunds(
        f"insufficient funds: account {sender.address} has {balance} wei "
        f"({balance / 10**18:.6f} ETH), not enough for this transaction's gas; fund it first"
    ) from cause


def _read_poa_blocks() -> None:
    """Let web3 read the connected chain's blocks when it is proof-of-authority (Clique,
    QBFT): ape 0.8.51 misses that on a node reached by URI (medchain.network.poa)."""
    from ape import networks

    from medchain.network.failover import install
    from medchain.network.poa import ensure_poa_middleware

    if networks.active_provider is not None and networks.active_provider.is_connected:
        ensure_poa_middleware()
        install()  # failover over $MEDCHAIN_RPC_URLS, when set


def contract_at(name: str, address: str, book: AddressBook | None = None) -> Any:
    """A contract instance for `name` at `address`, with the ABI from an address book.

    The ABI comes from `book` if given, else from what ape already knows of this address
    (a contract deployed or bound earlier in this process), else from the chosen book
    (`--book` / `$MEDCHAIN_BOOK`) or any book found (`$MEDCHAIN_DEPLOYMENTS`, local
    books). Nothing here depends on the current folder.
    """
    from ape import Contract, chain
    from ape.exceptions import ConversionError
    from eth_utils import is_address, to_checksum_address

    if not isinstance(address, str) or not is_address(address):
        raise InvalidInput(f"{name} address must be a 0x-prefixed 20-byte address, got {address!r}")
    address = to_checksum_address(address)
    if not chain.provider.get_code(address):
        raise DeploymentMismatch(
            f"no contract at {address} on chain {chain.provider.chain_id} (expected {name})"
        )
    contract_type = None
    if book is not None and name in book:
        contract_type = _contract_type(name, book.get(name).abi)
    if contract_type is None:
        try:
            known = chain.contracts.get(address, fetch_from_explorer=False)
        except (ConversionError, ValueError, KeyError):
            known = None
        if known is not None and known.name == name:
            contract_type = known
    if contract_type is None:
        contract_type = _abi_from_books(name)
    return Contract(address, contract_type=contract_type)


def _contract_type(name: str, abi: list[dict[str, Any]]) -> Any:
    from ethpm_types import ContractType

    return ContractType.model_validate({"contractName": name, "abi": abi})


def _abi_from_books(name: str) -> Any:
    chosen = AddressBook.for_connected_network()
    if chosen_book_name():  # the user named a book: that one or nothing
        return _contract_type(name, chosen.get(name).abi)
    for candidate in (chosen, *all_books()):
        if candidate.exists() and name in candidate:
            return _contract_type(name, candidate.get(name).abi)
    raise DeploymentNotFound(
        f"no ABI for {name}: no address book here has it (looked in {chosen.path} and "
        "$MEDCHAIN_DEPLOYMENTS); pass --book NAME|PATH or set MEDCHAIN_DEPLOYMENTS to the "
        "folder of books"
    )


def bind(record: DeploymentRecord) -> Any:
    """A contract instance for a deployment record, checked against the connected chain."""
    from ape import Contract, chain

    if chain.provider.chain_id != record.chain_id:
        raise DeploymentMismatch(
            f"{record.contract_name} in the address book is on chain {record.chain_id}, "
            f"but the connected network is chain {chain.provider.chain_id}"
        )
    if not chain.provider.get_code(record.address):
        if connected_to_in_process_chain():
            raise DeploymentMismatch(f"no {record.contract_name} to bind: {IN_PROCESS_HINT}")
        raise DeploymentMismatch(
            f"no code at {record.address} for {record.contract_name} on chain {record.chain_id} "
            "(was the chain reset?); run the deploy script again"
        )
    return Contract(record.address, contract_type=_contract_type(record.contract_name, record.abi))
