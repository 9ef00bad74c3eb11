"""Every refusal the SDK can make, as one typed hierarchy with one-line messages.

Catch `MedchainError` to handle them all. A contract revert with a custom error
becomes `ContractRevert` carrying the error's name and decoded arguments, so callers
branch on `err.error_name` instead of parsing strings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any


class MedchainError(Exception):
    """Base of every error the SDK raises on purpose. `str(err)` is one readable line."""

    def __str__(self) -> str:
        return " ".join(super().__str__().split())


class ConfigurationError(MedchainError, ValueError):
    """The project, network or environment is set up in a way that cannot work."""


class DeploymentNotFound(MedchainError, LookupError):
    """The address book has no entry for a contract on this network."""


class DeploymentMismatch(MedchainError):
    """The address book and the chain disagree (other chain id, code missing or changed)."""


class InvalidInput(MedchainError, ValueError):
    """An argument is malformed; the message names it and says what is expected."""


class IntegrityError(MedchainError):
    """Data does not match what was promised (hash, CID, signature, chain head)."""


class TransactionFailed(MedchainError):
    """A transaction or call failed without a decodable custom error."""


class ContractRevert(TransactionFailed):
    """A contract refused with a custom error; `error_name` and `arguments` say which."""

    def __init__(self, contract: str, error_name: str, arguments: Mapping[str, Any]):
        self.contract = contract
        self.error_name = error_name
        self.arguments = dict(arguments)
        rendered = ", ".join(f"{k}={_render(v)}" for k, v in self.arguments.items())
        super().__init__(f"{contract} refused: {error_name}({rendered})")


def _render(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


@contextmanager
def translate_errors(contract: str = "contract") -> Iterator[None]:
    """Turn ape's revert exceptions into `ContractRevert` / `TransactionFailed`.

    The one place where chain errors are mapped: every client goes through it.
    """
    from ape.exceptions import ApeException, ContractLogicError, CustomError

    try:
        yield
    except MedchainError:
        raise
    except CustomError as exc:
        raise ContractRevert(contract, type(exc).__name__, exc.inputs or {}) from exc
    except ContractLogicError as exc:
        reason = exc.revert_message or "reverted without a reason"
        raise TransactionFailed(f"{contract} refused: {reason}") from exc
    except ApeException as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise TransactionFailed(f"{contract}: {first_line}") from exc
