"""Every refusal the SDK can make, as one typed hierarchy with one-line messages.

Catch `MedchainError` to handle them all. A contract revert with a custom error
becomes `ContractRevert` carrying the error's name and decoded arguments, so callers
branch on `err.error_name` instead of parsing strings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from medchain.hashing import keccak_text, selector


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


class InsufficientFunds(TransactionFailed):
    """The sending account cannot pay for the transaction's gas (and value)."""


class NodeUnreachable(ConfigurationError):
    """No JSON-RPC node answers at the network's URI."""


def unreachable_node_message(exc: BaseException) -> str | None:
    """One line for a failure to reach the node (`cannot reach URI: is the node running?`),
    or None when `exc` is something else. Covers ape's `ProviderError("No (supported) node
    found on 'URI'")` and the connection errors of requests/urllib3 beneath web3."""
    import re

    text = str(exc)
    found = re.search(r"No \(supported\) node found on '([^']+)'", text)
    if found:
        return f"cannot reach {found.group(1)}: is the node running?"
    chain: BaseException | None = exc
    while chain is not None:
        if isinstance(chain, ConnectionError) or type(chain).__name__ in (
            "ConnectionError",
            "NewConnectionError",
            "MaxRetryError",
        ):
            uri = _connected_uri()
            return f"cannot reach {uri or 'the node'}: is the node running?"
        chain = chain.__cause__ or chain.__context__
    return None


def _connected_uri() -> str | None:
    try:
        from ape import networks

        provider = networks.active_provider
        uri = getattr(provider, "uri", None) if provider is not None else None
        return str(uri) if uri else None
    except Exception:
        return None


class ContractRevert(TransactionFailed):
    """A contract refused with a custom error; `error_name` and `arguments` say which."""

    def __init__(self, contract: str, error_name: str, arguments: Mapping[str, Any]):
        self.contract = contract
        self.error_name = error_name
        self.arguments = dict(arguments)
        rendered = ", ".join(f"{k}={_render(v, k)}" for k, v in self.arguments.items())
        super().__init__(f"{contract} refused: {error_name}({rendered})")


# The AccessControl roles of the project's contracts: a refusal names them, not their hash.
ROLE_NAMES = (
    "DEFAULT_ADMIN_ROLE",
    "CLINICIAN_ROLE",
    "EMERGENCY_APPROVER_ROLE",
    "PRIVACY_OFFICER_ROLE",
    "REGISTRAR_ROLE",
    "REGULATOR_ROLE",
    "ARBITER_ROLE",
    "PRODUCER_ROLE",
    "ISSUER_ROLE",
    "GUARDIAN_ROLE",
)


# Roles whose id is the hash of a namespaced string rather than of their name.
ROLE_PREIMAGES = {"ISSUER_ROLE": "medchain.zk.ISSUER_ROLE"}


def role_label(value: bytes | bytearray) -> str | None:
    """The name of a known role id (keccak256 of the name; DEFAULT_ADMIN_ROLE is 0)."""
    raw = bytes(value)
    for name in ROLE_NAMES:
        if raw == (b"\0" * 32 if name == "DEFAULT_ADMIN_ROLE" else keccak_text(name)):
            return name
    for name, preimage in ROLE_PREIMAGES.items():
        if raw == keccak_text(preimage):
            return name
    return None


def _render(value: Any, name: str = "") -> str:
    if isinstance(value, bytes | bytearray) and "role" in name.lower():
        label = role_label(value)
        if label is not None:
            return label
    if isinstance(value, bytes | bytearray):
        from medchain.codec import to_hex

        return to_hex(value)
    return str(value)


@contextmanager
def translate_errors(contract: str = "contract", abi: Any = None) -> Iterator[None]:
    """Turn ape's revert exceptions into `ContractRevert` / `TransactionFailed`.

    The one place where chain errors are mapped: every client goes through it. `abi`
    (a contract type) lets it decode custom errors ape left as raw revert bytes.
    """
    from ape.exceptions import ApeException, ContractLogicError, CustomError

    try:
        yield
    except MedchainError:
        raise
    except CustomError as exc:
        raise ContractRevert(contract, type(exc).__name__, exc.inputs or {}) from exc
    except ContractLogicError as exc:
        decoded = decode_custom_error(contract, abi, exc.revert_message)
        if decoded is not None:
            raise decoded from exc
        reason = exc.revert_message or "reverted without a reason"
        raise TransactionFailed(f"{contract} refused: {reason}") from exc
    except ApeException as exc:
        unreachable = unreachable_node_message(exc)
        if unreachable:
            raise NodeUnreachable(unreachable) from exc
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if "insufficient funds" in first_line.lower():
            raise InsufficientFunds(f"{contract}: {first_line}") from exc
        raise TransactionFailed(f"{contract}: {first_line}") from exc
    except OSError as exc:  # requests' ConnectionError is an OSError
        unreachable = unreachable_node_message(exc)
        if unreachable:
            raise NodeUnreachable(unreachable) from exc
        raise


def _revert_bytes(message: Any) -> bytes | None:
    """Raw revert data as ape sometimes leaves it: bytes, or their repr `b'...'`."""
    if isinstance(message, bytes | bytearray):
        return bytes(message)
    if isinstance(message, str) and message[:2] in ('b"', "b'"):
        import ast

        try:
            value = ast.literal_eval(message)
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, bytes) else None
    if isinstance(message, str) and message.startswith("0x") and len(message) >= 10:
        from medchain.codec import hex_to_bytes

        try:
            return hex_to_bytes(message, "revert data")
        except InvalidInput:
            return None
    return None


def decode_custom_error(contract: str, abi: Any, message: Any) -> ContractRevert | None:
    """Decode raw revert data against a contract type's custom errors, if it matches one.

    Ape decodes most custom errors itself; on EthTester it leaves some as raw bytes
    (seen when the data holds a newline byte), and those must not become a vague failure.
    """
    data = _revert_bytes(message)
    errors = getattr(abi, "errors", None)
    if data is None or len(data) < 4 or not errors:
        return None
    from eth_abi import decode

    from medchain.codec import to_address  # lazily: codec imports this module

    for error in errors:
        if selector(error.selector) != data[:4]:
            continue
        types = [i.canonical_type for i in error.inputs]
        values = decode(types, data[4:])
        arguments = {
            str(i.name): to_address(v, str(i.name)) if t == "address" else v
            for i, t, v in zip(error.inputs, types, values, strict=True)
        }
        return ContractRevert(contract, error.name, arguments)
    return None
