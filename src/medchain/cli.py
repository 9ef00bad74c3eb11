"""The `medchain` command line: the root group, address-book commands, and every
domain's command groups from `medchain.commands.*`.

A refusal prints one line (`error: ...`) on stderr and exits 1; no traceback for
user errors. `MEDCHAIN_DEBUG=1` shows the traceback when you need it.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from typing import Any

import click

from medchain import __version__
from medchain.cli_base import emit, fail, json_option
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

            if not isinstance(exc, ApeException) or os.environ.get("MEDCHAIN_DEBUG"):
                raise
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            fail(f"{type(exc).__name__}: {first}")


@click.group(cls=MedchainGroup)
@click.version_option(__version__, prog_name="medchain")
def cli() -> None:
    """medchain: healthcare smart contracts (identity, records, consent, supply chain,
    clinical trials, genomic licensing) from the command line."""
    # Ape logs "Connecting to ..." at INFO on stdout, which would corrupt --json output.
    if not os.environ.get("MEDCHAIN_DEBUG"):
        from ape.logging import logger

        logger.set_level("WARNING")


@cli.group()
def deployments() -> None:
    """Inspect address books (deployments/<network>/ and .medchain/deployments/)."""


@deployments.command("list")
@click.option(
    "--book",
    "book_name",
    default=None,
    help="Address book name; default: every book found.",
)
@json_option
def deployments_list(book_name: str | None, as_json: bool) -> None:
    """List deployed contracts with their chain id and address."""
    from medchain.deployments import AddressBook, committed_books_dir, local_books_dir

    books: list[AddressBook] = []
    for root, local in ((committed_books_dir(), False), (local_books_dir(), True)):
        if root.is_dir():
            for path in sorted(p for p in root.iterdir() if (p / "index.json").is_file()):
                if book_name in (None, path.name):
                    books.append(AddressBook.named(path.name, local=local))
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


def _register_domain_commands() -> None:
    import medchain.commands as commands_pkg

    for info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands_pkg.__name__}.{info.name}")
        for group in getattr(module, "COMMANDS", []):
            cli.add_command(group)


_register_domain_commands()


def main() -> None:
    cli(prog_name="medchain")
