"""The options every `medchain` command shares, defined once: the command decorators
(`connected_command` for ape's `--network` / `--account` / `--book` on a connected
provider, `offline_command` for commands that need no node; both add `--json`), the one
way to pick a contract (`contract_option`: `--<name> ADDRESS` or the address book's entry),
typed parameters for durations and points in time (`medchain.timeutil`), `--ipfs`, and
reading a user's text or JSON file with one-line refusals.

An imported account whose passphrase was given (`medchain.signing.unattended`) signs
without asking; its prompts, like every other remark, go to stderr (`medchain.cli.render`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from medchain.cli.render import JSON_META_KEY, quietly
from medchain.errors import ConfigurationError, InvalidInput, MedchainError

F = TypeVar("F", bound=Callable[..., Any])

JSON_HELP = "Print machine-readable JSON instead of text."


def _remember_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta[JSON_META_KEY] = bool(value)
    return value


json_option = click.option(
    "--json", "as_json", is_flag=True, callback=_remember_json, help=JSON_HELP
)


def _with_json(fn: F) -> F:
    """`fn` with `--json`; a callback without an `as_json` parameter reads the flag through
    `emit` (`medchain.cli.render.json_requested`) and is not handed it."""
    if "as_json" in inspect.signature(fn).parameters:
        return json_option(fn)  # type: ignore[no-any-return]

    @functools.wraps(fn)
    def callback(*args: Any, as_json: bool, **kw: Any) -> Any:
        return fn(*args, **kw)

    return json_option(callback)  # type: ignore[return-value]


def offline_command(group: click.Group, name: str | None = None, **kwargs: Any) -> Callable[[F], F]:
    """Decorator factory: a subcommand of `group` that needs no node, with `--json`."""

    def decorator(fn: F) -> F:
        return group.command(name, **kwargs)(_with_json(fn))  # type: ignore[return-value]

    return decorator


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
    networks), `--book` and `--json`. The callback receives `account` (None when not given;
    call `require_account(account)` where one is needed), set up to sign unattended when
    its passphrase was given (`medchain.signing.unattended`)."""
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
        )(_with_json(callback))
        command = book_option(command)
        command = network_option()(command)
        return group.command(name, cls=ConnectedProviderCommand, **kwargs)(command)  # type: ignore[return-value]

    return decorator


def contract_commands(
    group: click.Group, option: Callable[[F], F]
) -> Callable[..., Callable[[F], F]]:
    """A `connected_command` factory for `group` whose commands all take the contract
    option `option` (a `contract_option`): `record_command = contract_commands(record,
    registry_option)`, then `@record_command("put")`."""

    def command(name: str | None = None, **kwargs: Any) -> Callable[[F], F]:
        def decorator(fn: F) -> F:
            return connected_command(group, name, **kwargs)(option(fn))

        return decorator

    return command


def require_account(account: Any) -> Any:
    if account is None:
        raise ConfigurationError(
            "this command sends a transaction: pass --account <alias> "
            "(see `ape accounts list`) or --account TEST::<n> on a local network"
        )
    return account


# ---------------------------------------------------------------------- contracts
@dataclasses.dataclass(frozen=True)
class ContractChoice:
    """The contract a command works on: the address given with `--<option>`, or (None)
    the deployment of the client's contract in the connected network's address book."""

    client_class: Any  # a medchain.client.ContractClient subclass
    address: str | None = None

    def bind(self, sender: Any = None) -> Any:
        """The SDK client on the chosen contract (after the provider is connected)."""
        if self.address:
            return self.client_class.at(self.address, sender)
        return self.client_class.connect(sender=sender)


def contract_option(
    name: str, client_class: Any, *, envvar: str | None = None, what: str | None = None
) -> Callable[[F], F]:
    """`--<name> ADDRESS`, handed to the command as `<name>` (dashes as underscores): a
    `ContractChoice` of `client_class`'s contract at ADDRESS, else the address book's."""
    contract = client_class.contract_name
    env = f" [env: {envvar}]" if envvar else ""

    def convert(ctx: click.Context, param: click.Parameter, value: str | None) -> ContractChoice:
        return ContractChoice(client_class, value or None)

    return click.option(  # type: ignore[return-value]
        f"--{name}",
        name.replace("-", "_"),
        default=None,
        envvar=envvar,
        metavar="ADDRESS",
        callback=convert,
        help=f"{what or contract} address (default: the address book's {contract}){env}.",
    )


# ---------------------------------------------------------------------- time
class DurationType(click.ParamType):
    """A length of time: `3600`, `30m`, `4h`, `3d` (`medchain.timeutil.duration_seconds`)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        from medchain.timeutil import duration_seconds

        return duration_seconds(str(value), f"--{param.name}" if param else "duration")


class TimeType(click.ParamType):
    """A point in time: ISO 8601, unix seconds, or `+30d` / `+12h` from the chain's pending
    block time (read when the value is used: `.at(now)`)."""

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> RelativeTime:
        if isinstance(value, RelativeTime):
            return value
        return RelativeTime(str(value), f"--{param.name}" if param else "time")


@dataclasses.dataclass(frozen=True)
class RelativeTime:
    """A typed time, resolved against a clock once the provider is connected."""

    text: str
    what: str = "time"

    def at(self, now: int) -> int:
        from medchain.timeutil import point_in_time

        return point_in_time(self.text, now, self.what)

    def on_chain(self) -> int:
        """Resolved against the pending block's time (the time a transaction will see)."""
        from ape import chain

        return self.at(int(chain.pending_timestamp))


DURATION = DurationType()
TIME = TimeType()


# ---------------------------------------------------------------------- files
# Path parameter types: an existing file; a file that need not exist yet (an output, or an
# input the command checks itself); a folder.
IN_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
FILE = click.Path(dir_okay=False, path_type=Path)
FOLDER = click.Path(file_okay=False, path_type=Path)
# `--keys-dir`: the folder of the X25519 key store (`medchain.keystore.KeyStore`).
keys_dir_option = click.option(
    "--keys-dir", type=FOLDER, default=None, help="Key store folder (default: $MEDCHAIN_HOME/keys)."
)


# ---------------------------------------------------------------------- storage
def ipfs_option(fn: F) -> F:
    """`--ipfs URL`: the content store (a Kubo node, an IPFS Cluster, or the embedded one)."""
    return click.option(  # type: ignore[no-any-return]
        "--ipfs",
        "ipfs_url",
        default=None,
        envvar="MEDCHAIN_IPFS_API",
        help="Kubo RPC API URL, or an IPFS Cluster as cluster+http://PEER:9094?ipfs=http://"
        "KUBO:5001[,...]&min=N&max=M [env: MEDCHAIN_IPFS_API; default: the embedded store "
        "under $MEDCHAIN_HOME/ipfs].",
    )(fn)


def force_option(fn: F) -> F:
    """`--force`: overwrite an output file that exists (see `refuse_overwrite`)."""
    return click.option("--force", is_flag=True, help="Overwrite --out if it exists.")(fn)  # type: ignore[no-any-return]


def refuse_overwrite(path: Path | None, force: bool) -> None:
    if path is not None and path.exists() and not force:
        raise InvalidInput(f"{path} exists; pass --force to overwrite it")


# ---------------------------------------------------------------------- input files
def read_text_file(path: Path | str, what: str) -> str:
    """A user's file as text, or one line naming the file and what is wrong."""
    try:
        return Path(path).read_text()
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not a {what}: the file is not UTF-8 text") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def read_json_file(path: Path | str, what: str) -> Any:
    """A user's JSON file, or one line naming the file and where its JSON breaks."""
    text = read_text_file(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path}: not a {what}: invalid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno})"
        ) from None


def in_file(path: Path, fn: Callable[[], Any]) -> Any:
    """`fn()`, with a refusal about the file's content prefixed by the file's name."""
    try:
        return fn()
    except MedchainError as exc:
        raise type(exc)(f"{path}: {exc}") from None
