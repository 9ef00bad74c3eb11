"""The gateway's view of the chain: contract calls and transactions over web3 directly
(thread-safe, no ape in the request path), bound from an address book."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from eth_account import Account
from ethpm_types import ContractType

from medchain.codec import to_address, to_hex
from medchain.errors import DeploymentMismatch, TransactionFailed, decode_custom_error


class Chain:
    """Calls and signed transactions against the contracts of one address book."""

    def __init__(self, web3: Any, contracts: Mapping[str, tuple[str, list[dict[str, Any]]]]):
        """`contracts`: name -> (address, ABI)."""
        self.web3 = web3
        self.chain_id = int(web3.eth.chain_id)
        self.types = {  # the errors each contract can revert with, for decode_custom_error
            name: ContractType.model_validate({"abi": abi}) for name, (_, abi) in contracts.items()
        }
        self.contracts = {
            name: web3.eth.contract(address=to_address(addr, f"{name} address"), abi=abi)
            for name, (addr, abi) in contracts.items()
        }
        for name, contract in self.contracts.items():
            if not bytes(web3.eth.get_code(contract.address)):
                raise DeploymentMismatch(
                    f"no code at {contract.address} for {name} on chain {self.chain_id}: "
                    "deploy again or use the right address book"
                )
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @classmethod
    def from_book(cls, web3: Any, book: Any) -> Chain:
        return cls(web3, {r.contract_name: (r.address, r.abi) for r in book})

    def address(self, name: str) -> str:
        return str(self.contracts[name].address)

    def call(self, name: str, function: str, *args: Any) -> Any:
        try:
            return self.contracts[name].functions[function](*args).call()
        except Exception as exc:
            raise self._revert(name, exc) from exc

    def send(self, key: bytes, name: str, function: str, *args: Any) -> str:
        """Sign with `key` and send; waits for the receipt; returns the tx hash. A revert
        (at estimate or on chain) raises `ContractRevert` naming the custom error."""
        account = Account.from_key(key)
        sender = account.address
        with self._guard:
            lock = self._locks.setdefault(sender, threading.Lock())
        with lock:
            call = self.contracts[name].functions[function](*args)
            try:
                gas = call.estimate_gas({"from": sender})
            except Exception as exc:
                raise self._revert(name, exc) from exc
            # the node's count every time (we wait for each receipt under this lock, so a
            # cached counter buys nothing and goes stale after a reorg or a revert)
            nonce = int(self.web3.eth.get_transaction_count(sender, "pending"))
            base = int(self.web3.eth.get_block("latest")["baseFeePerGas"])
            tx = call.build_transaction(
                {
                    "from": sender, "nonce": nonce, "gas": gas * 5 // 4 + 10_000,
                    "maxFeePerGas": base * 2 + 10**9, "maxPriorityFeePerGas": 10**9,
                    "chainId": self.chain_id,
                }
            )  # fmt: skip
            # a web3 with a gas price strategy (ape's) adds a legacy gasPrice beside the
            # EIP-1559 fees, which no transaction type accepts together
            tx.pop("gasPrice", None)
            signed = account.sign_transaction(tx)
            try:
                tx_hash = self.web3.eth.send_raw_transaction(signed.raw_transaction)
            except Exception as exc:
                raise TransactionFailed(f"{name}.{function}: node refused: {exc}") from exc
            receipt = self.web3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
            if int(receipt["status"]) != 1:
                raise TransactionFailed(f"{name}.{function} reverted in tx {to_hex(tx_hash)}")
            return to_hex(tx_hash)

    def _revert(self, name: str, exc: Exception) -> Exception:
        """The custom error in the revert data (`errors.decode_custom_error`, the SDK's one
        decoder), else the node's first line."""
        decoded = decode_custom_error(name, self.types.get(name), getattr(exc, "data", None))
        if decoded is not None:
            return decoded
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return TransactionFailed(f"{name}: {first}")
