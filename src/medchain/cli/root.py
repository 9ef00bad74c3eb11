"""The root `medchain` group (`medchain.cli.cli`), the address-book and dev commands, and
every domain's command groups (`medchain.<domain>.cli`, listed in `medchain.domains`),
registered when this module is imported.

Only `medchain.cli.cli` / `medchain.cli.main` import this module: a domain CLI imports
`medchain.cli.options` and `medchain.cli.render`, never the root, so any domain CLI can
be imported first (before the root gathers them all) without a circular import.
"""

from __future__ import annotations

import os
from typing import Any

import click

from medchain import __version__
from medchain.cli.options import connected_command, offline_command
from medchain.cli.render import emit, fail
from medchain.errors import MedchainError


class MedchainGroup(click.Group):
    """Root group that maps every expected failure to one line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except MedchainError as exc:
            if os.environ.get("MEDCHAIN_DEBUG"):
                raise
            fail(str(exc))
        except Exception as exc:
            from ape.exceptions import ApeException

            from medchain.errors import unreachable_node_message

            if os.environ.get("MEDCHAIN_DEBUG"):
                raise
            unreachable = unreachable_node_message(exc)
            if unreachable:
                fail(unreachable)
            if not isinstance(exc, ApeException):
                raise
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            fail(f"{type(exc).__name__}: {first}")


def _export(name: str) -> Any:
    """A root option's callback: export the value to the environment, where the SDK
    (`medchain.deployments`) reads it, so every command honours it."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value:
            os.environ[name] = str(value)
        return value

    return callback


def _exported_option(flag: str, dest: str, env: str, help: str, **kwargs: Any) -> Any:
    """A root option read from `env` when not given, and exported to `env` (`_export`);
    eager and not passed to `cli` itself."""
    return click.option(
        flag,
        dest,
        default=None,
        envvar=env,
        expose_value=False,
        is_eager=True,
        callback=_export(env),
        help=help,
        **kwargs,
    )


@click.group(cls=MedchainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="medchain")
@_exported_option(
    "--book",
    "book",
    "MEDCHAIN_BOOK",
    help="Address book to use: a name under the books folder, or a folder path "
    "[env: MEDCHAIN_BOOK; default: the connected network's book].",
)
@_exported_option(
    "--deployments",
    "deployments_dir",
    "MEDCHAIN_DEPLOYMENTS",
    type=click.Path(file_okay=False),
    help="Folder of address books [env: MEDCHAIN_DEPLOYMENTS; default: ./deployments].",
)
@_exported_option(
    "--index",
    "index_db",
    "MEDCHAIN_INDEX",
    help="Index database (SQLAlchemy URL or SQLite file, `medchain index run`) that event "
    "lists read the blocks it holds from; the node is asked only for newer blocks "
    "[env: MEDCHAIN_INDEX; default: none, every read asks the node].",
)
def cli() -> None:
    """medchain: healthcare smart contracts (identity, records, consent, supply chain,
    clinical trials, genomic licensing) from the command line."""
    from medchain.cli.render import quiet_ape_logs

    quiet_ape_logs()


@cli.group()
def deployments() -> None:
    """Inspect address books (deployments/<network>/ and .medchain/deployments/)."""


@offline_command(deployments, "list")
@click.option(
    "--book",
    "book_name",
    default=None,
    envvar="MEDCHAIN_BOOK",
    help="Address book name or folder [env: MEDCHAIN_BOOK]; default: every book found.",
)
def deployments_list(book_name: str | None, as_json: bool) -> None:
    """List deployed contracts with their chain id and address."""
    from medchain.deployments import AddressBook, all_books

    if book_name and os.sep in book_name:
        books = [b for b in [AddressBook.find(book_name)] if b.exists()]
    else:
        books = [b for b in all_books() if book_name in (None, b.name)]
    if not books:
        raise MedchainError(
            f"no address book named '{book_name}'"
            if book_name
            else "no address books yet; run `ape run deploy --network <network>` first"
        )
    rows = [
        {
            "book": book.name,
            "chain_id": record.chain_id,
            "contract": record.contract_name,
            "address": record.address,
            "block": record.block_number,
        }
        for book in books
        for record in book
    ]
    emit(
        rows,
        as_json,
        human=lambda rs: "\n".join(
            f"{r['book']:<32} {r['chain_id']:>8}  {r['contract']:<22} {r['address']}" for r in rs
        ),
    )


@offline_command(cli, "address")
@click.argument("aliases", nargs=-1, required=True)
@click.option(
    "--shell",
    "as_shell",
    is_flag=True,
    help="Print NAME=0x... lines for `eval` (the alias upper-cased, non-alphanumerics as _).",
)
def address_cmd(aliases: tuple[str, ...], as_shell: bool, as_json: bool) -> None:
    """The address of each ape account ALIAS (or TEST::<n>), without unlocking it:
    `eval "$(medchain address --shell patient provider)"` sets $PATIENT and $PROVIDER."""
    import re

    from medchain.deploy import resolve_member
    from medchain.errors import InvalidInput

    rows = []
    for alias in aliases:
        try:
            rows.append({"alias": alias, "address": resolve_member(alias, "account")})
        except MedchainError as exc:
            raise InvalidInput(str(exc)) from None

    def shell(rs: list[dict[str, str]]) -> str:
        return "\n".join(
            f"{re.sub(r'[^A-Za-z0-9]', '_', r['alias']).upper()}={r['address']}" for r in rs
        )

    def table(rs: list[dict[str, str]]) -> str:
        return "\n".join(f"{r['alias']:<20} {r['address']}" for r in rs)

    emit(rows, as_json, human=shell if as_shell else table)


@cli.group()
def dev() -> None:
    """Development-node helpers (anvil or another node started by hand)."""


@connected_command(dev, "fund")
@click.option(
    "--amount",
    default="10",
    show_default=True,
    help="ETH sent to each role account holding less than 1 ETH.",
)
def dev_fund(account: Any, amount: str, as_json: bool) -> None:
    """Fund the demo's role accounts (ape's test mnemonic, one account per role) that the
    node left unfunded, from --account (default: role 'deployer', test account 0)."""
    from decimal import Decimal, InvalidOperation

    from medchain.demo import dev_role_accounts, fund_roles
    from medchain.errors import InvalidInput

    try:
        wei = int(Decimal(amount) * 10**18)
    except InvalidOperation as exc:
        raise InvalidInput(f"--amount must be a number of ETH, got '{amount}'") from exc
    roles = dev_role_accounts()
    if account is not None:
        roles["deployer"] = account
    if roles["deployer"].balance < wei * 2:
        raise MedchainError(
            f"the funding account {roles['deployer'].address} holds "
            f"{roles['deployer'].balance} wei, too little to fund roles; pass --account"
        )
    funded = fund_roles(roles, amount=wei)
    rows = [
        {"role": role, "address": str(roles[role].address), "funded": role in funded}
        for role in roles
    ]
    emit(
        rows,
        as_json,
        human=lambda rs: "\n".join(
            f"{r['role']:<16} {r['address']}  {'funded' if r['funded'] else 'already funded'}"
            for r in rs
        ),
    )


def _register_domain_commands() -> None:
    from medchain.domains import DOMAINS, SERVICES, part

    for package in DOMAINS + SERVICES:
        for group in part(package, "cli").COMMANDS:
            cli.add_command(group)


_register_domain_commands()  # domain CLIs import medchain.cli.options, never this module


def main() -> None:
    cli(prog_name="medchain")
