"""Shared pieces of every `medchain` command: ape-style `--network` / `--account`
options on a connected provider, `--json` output, and one-line refusals.

Domain command modules build on `connected_command`; the root group in
`medchain.cli` turns any `MedchainError` into one line on stderr and exit status 1.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from medchain.errors import ConfigurationError

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text."
)


def connected_command(
    group: click.Group, name: str | None = None, **kwargs: Any
) -> Callable[[F], F]:
    """Decorator factory: a subcommand of `group` connected to ape's `--network`, with
    an optional `--account` (alias from `ape accounts list`, or `TEST::<n>` on local
    networks). The callback receives `account` (None when not given; call
    `require_account(account)` where one is needed)."""
    from ape.cli import ConnectedProviderCommand, network_option
    from ape.cli.choices import AccountAliasPromptChoice

    def decorator(fn: F) -> F:
        fn = click.option(
            "--account",
            "account",
            type=AccountAliasPromptChoice(),
            default=None,
            help="Account alias (ape accounts list) or TEST::<n> for local test accounts.",
        )(fn)
        fn = network_option()(fn)
        return group.command(name, cls=ConnectedProviderCommand, **kwargs)(fn)  # type: ignore[return-value]

    return decorator


def require_account(account: Any) -> Any:
    if account is None:
        raise ConfigurationError(
            "this command sends a transaction: pass --account <alias> "
            "(see `ape accounts list`) or --account TEST::<n> on a local network"
        )
    return account


def to_jsonable(value: Any) -> Any:
    """Best-effort conversion of SDK results (dataclasses, bytes, addresses) to JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "address"):
        return str(value.address)
    return str(value)


def emit(value: Any, as_json: bool = False, human: Callable[[Any], str] | None = None) -> None:
    """Print a result: JSON when asked, else `human(value)` or a plain rendering."""
    if as_json:
        click.echo(json.dumps(to_jsonable(value), indent=2))
        return
    if human is not None:
        click.echo(human(value))
        return
    data = to_jsonable(value)
    if isinstance(data, dict):
        width = max((len(k) for k in data), default=0)
        for key, item in data.items():
            shown = json.dumps(item) if isinstance(item, dict | list) else item
            click.echo(f"{key.ljust(width)}  {shown}")
    elif isinstance(data, list):
        for item in data:
            click.echo(json.dumps(item) if isinstance(item, dict | list) else item)
    else:
        click.echo(data)


def fail(message: str) -> None:
    """Print one line on stderr and exit 1: the only way a command refuses."""
    click.echo(f"error: {' '.join(str(message).split())}", err=True)
    sys.exit(1)
