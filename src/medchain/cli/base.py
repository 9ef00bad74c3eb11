"""Shared pieces of every `medchain` command: ape-style `--network` / `--account`
options on a connected provider, `--json` output, and one-line refusals.

Domain command modules build on `connected_command`; the root group in
`medchain.cli` turns any `MedchainError` into one line on stderr and exit status 1.
stdout carries results only: ape's log lines and an imported account's prompts go to
stderr, and an imported account whose passphrase was given (`medchain.signing.unattended`)
signs without asking.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from medchain.errors import ConfigurationError

F = TypeVar("F", bound=Callable[..., Any])

JSON_HELP = "Print machine-readable JSON instead of text."
json_option = click.option("--json", "as_json", is_flag=True, help=JSON_HELP)

_json_mode = False  # set by the `--json` every command without its own `as_json` gets


def _set_json_mode(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    global _json_mode
    if value:
        _json_mode = True
    return value


def json_mode(as_json: bool = False) -> bool:
    """Whether this run prints JSON: the command's own `--json`, or the one `medchain.cli`
    gives every command that has none (`add_json_everywhere`)."""
    return as_json or _json_mode


def add_json_everywhere(group: click.Group) -> None:
    """Give every command under `group` that lacks one a `--json` flag (read through
    `json_mode()` / `emit`), so `--json` is accepted everywhere."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            add_json_everywhere(command)
        elif not any("--json" in p.opts for p in command.params):
            command.params.append(
                click.Option(
                    ["--json", "_json"],
                    is_flag=True,
                    expose_value=False,
                    callback=_set_json_mode,
                    help=JSON_HELP,
                )
            )


def ape_logs_to_stderr() -> None:
    """Every ape log line to stderr. ape 0.8 sends all levels to stdout (its per-level
    `err=True` table is keyed by enum but looked up by level name), so an error's trace
    would land in front of a command's output. Also routes account prompts to stderr."""
    from ape.logging import ClickHandler, logger

    from medchain.signing import prompts_to_stderr

    for handler in logger._logger.handlers:
        if isinstance(handler, ClickHandler):
            handler.echo_kwargs = {
                level: {"err": True} for level in ("error", "warning", "success", "info", "debug")
            }
    prompts_to_stderr()
    _revert_traces_off_stdout()


def _revert_traces_off_stdout() -> None:
    """ape prints a call trace to stdout when a transaction reverts (before raising), which
    would put text in front of `--json` output and a second line beside the one-line
    refusal. Keep it for MEDCHAIN_DEBUG=1, on stderr."""
    from ape_ethereum.trace import Trace

    if getattr(Trace.show, "_medchain", False):
        return
    original = Trace.show

    def show(self: Any, verbose: bool = False, file: Any = None) -> None:
        if os.environ.get("MEDCHAIN_DEBUG"):
            original(self, verbose=verbose, file=sys.stderr if file in (None, sys.stdout) else file)

    show._medchain = True  # type: ignore[attr-defined]
    Trace.show = show  # type: ignore[method-assign]


def quiet_ape_logs() -> None:
    """`ape_logs_to_stderr`, and only warnings and errors unless MEDCHAIN_DEBUG is set."""
    from ape.logging import logger

    ape_logs_to_stderr()
    if not os.environ.get("MEDCHAIN_DEBUG"):
        logger.set_level("WARNING")


def _export_book(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        os.environ["MEDCHAIN_BOOK"] = value


book_option = click.option(
    "--book",
    default=None,
    expose_value=False,
    callback=_export_book,
    help="Address book: a name under the books folder, or a folder path [env: MEDCHAIN_BOOK].",
)


def connected_command(
    group: click.Group, name: str | None = None, **kwargs: Any
) -> Callable[[F], F]:
    """Decorator factory: a subcommand of `group` connected to ape's `--network`, with
    an optional `--account` (alias from `ape accounts list`, or `TEST::<n>` on local
    networks) and `--book`. The callback receives `account` (None when not given; call
    `require_account(account)` where one is needed), set up to sign unattended when its
    passphrase was given (`medchain.signing.unattended`)."""
    from ape.cli import ConnectedProviderCommand, network_option
    from ape.cli.choices import AccountAliasPromptChoice

    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def callback(*args: Any, **kw: Any) -> Any:
            from medchain.signing import unattended

            if kw.get("account") is not None:
                kw["account"] = quietly(unattended, kw["account"])
            return fn(*args, **kw)

        command: Any = click.option(
            "--account",
            "account",
            type=AccountAliasPromptChoice(),
            default=None,
            help="Account alias (ape accounts list) or TEST::<n> for local test accounts.",
        )(callback)
        command = book_option(command)
        command = network_option()(command)
        return group.command(name, cls=ConnectedProviderCommand, **kwargs)(command)  # type: ignore[return-value]

    return decorator


def quietly(fn: Callable[..., Any], *args: Any) -> Any:
    """Run `fn` with ape's warnings held back: enabling autosign for a passphrase the user
    gave on purpose logs ape's "Danger! This account will now sign any transaction", which
    would be a second line beside a command's one-line refusal (MEDCHAIN_DEBUG shows it)."""
    from ape.logging import logger

    if os.environ.get("MEDCHAIN_DEBUG"):
        return fn(*args)
    before = logger.level
    logger.set_level("ERROR")
    try:
        return fn(*args)
    finally:
        logger.set_level(before)


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
    if json_mode(as_json):
        click.echo(json.dumps(to_jsonable(value), indent=2))
        return
    if human is not None:
        click.echo(human(value))
        return
    data = humanize(to_jsonable(value))
    if isinstance(data, dict):
        width = max((len(k) for k in data), default=0)
        for key, item in data.items():
            shown = _inline(item) if isinstance(item, dict | list) else item
            click.echo(f"{key.ljust(width)}  {shown}")
    elif isinstance(data, list):
        for item in data:
            click.echo(_inline(item) if isinstance(item, dict | list) else item)
    else:
        click.echo(data)


# Keys whose integer values are unix seconds in SDK results (start/end of a provision,
# break-glass times, deadlines, block and wall-clock times).
_TIME_KEYS = ("start", "end", "deadline", "timestamp", "wall_clock", "expiry_time")
_TIME_SUFFIXES = ("_at", "_time", "_until", "_deadline")


def _is_time_key(key: str) -> bool:
    return key in _TIME_KEYS or key.endswith(_TIME_SUFFIXES)


def iso_time(seconds: int) -> str:
    """Unix seconds as ISO 8601 UTC (`2026-01-31T08:00:00Z`)."""
    import datetime as dt

    try:
        stamp = dt.datetime.fromtimestamp(int(seconds), dt.UTC)
    except (OverflowError, OSError, ValueError):
        return str(seconds)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def humanize(data: Any, key: str = "") -> Any:
    """The text rendering of a JSON-able result: unix times as ISO dates, lists of names
    joined, role ids as role names (bitmasks and enums are names already in SDK results)."""
    from medchain.errors import role_label

    if isinstance(data, dict):
        return {k: humanize(v, k) for k, v in data.items()}
    if isinstance(data, list):
        if data and all(isinstance(v, str) for v in data) and key:
            return ", ".join(data)
        return [humanize(v, key) for v in data]
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, int) and _is_time_key(key) and data > 0:
        return iso_time(data)
    if isinstance(data, str) and "role" in key.lower() and len(data) == 66:
        try:
            return role_label(bytes.fromhex(data[2:])) or data
        except ValueError:
            return data
    return data


def _inline(item: Any) -> str:
    """A nested value on one line: `key=value` pairs for an object."""
    if isinstance(item, dict):
        return "  ".join(
            f"{k}={_inline(v) if isinstance(v, dict | list) else v}" for k, v in item.items()
        )
    if isinstance(item, list):
        return ", ".join(_inline(v) if isinstance(v, dict | list) else str(v) for v in item)
    return str(item)


def read_text_file(path: Path | str, what: str) -> str:
    """A user's file as text, or one line naming the file and what is wrong."""
    from medchain.errors import InvalidInput

    try:
        return Path(path).read_text()
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not a {what}: the file is not UTF-8 text") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def read_json_file(path: Path | str, what: str) -> Any:
    """A user's JSON file, or one line naming the file and where its JSON breaks."""
    from medchain.errors import InvalidInput

    text = read_text_file(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path}: not a {what}: invalid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno})"
        ) from None


def fail(message: str) -> None:
    """Print one line on stderr and exit 1: the only way a command refuses."""
    click.echo(f"error: {' '.join(str(message).split())}", err=True)
    sys.exit(1)
