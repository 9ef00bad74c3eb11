"""`ape run deploy --network <choice>`: deploy every medchain contract in dependency
order, wire roles, and write the address book. Re-running against the same chain
with unchanged bytecode deploys nothing and says so."""

import click
from ape.cli import ConnectedProviderCommand, network_option
from ape.cli.choices import AccountAliasPromptChoice


@click.command(cls=ConnectedProviderCommand)
@network_option()
@click.option(
    "--account",
    type=AccountAliasPromptChoice(),
    default=None,
    help="Deployer (alias or TEST::<n>); default on local networks: the first test account.",
)
@click.option(
    "--book",
    default=None,
    help="Address-book name; default: derived from the network (local chains are not committed).",
)
@click.option(
    "--redeploy-changed",
    is_flag=True,
    help="Deploy a new instance of any contract whose bytecode or arguments changed.",
)
def cli(account, book, redeploy_changed):
    from ape import accounts, networks

    from medchain.cli_base import fail
    from medchain.deploy import deploy_all
    from medchain.deployments import AddressBook, book_name_for_connected_network
    from medchain.errors import MedchainError

    name, local = book_name_for_connected_network()
    if account is None:
        if networks.provider.network.name != "local":
            fail("pass --account <alias> to deploy to a non-local network")
        account = accounts.test_accounts[0]
    address_book = AddressBook.named(book or name, local=local and book is None)
    click.echo(f"Deploying to {networks.provider.network.choice} as {account.address}")
    try:
        _, outcomes = deploy_all(account, address_book, redeploy_changed=redeploy_changed)
    except MedchainError as exc:
        fail(str(exc))
    changed = [o for o in outcomes if o.action != "unchanged"]
    if changed:
        click.echo(
            f"{len(changed)} of {len(outcomes)} contracts deployed; address book: {address_book.path}"
        )
    else:
        click.echo(f"All {len(outcomes)} contracts unchanged; nothing deployed.")
