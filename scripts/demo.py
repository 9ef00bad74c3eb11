"""`ape run demo`: deploy everything to the connected chain (the in-process chain by
default) and walk through every domain end to end, printing a readable summary."""

import click
from ape.cli import ConnectedProviderCommand, network_option


@click.command(cls=ConnectedProviderCommand)
@network_option()
@click.option("--only", multiple=True, help="Run only these steps (e.g. --only identity).")
def cli(only):
    from ape import accounts, networks
    from ape.logging import logger
    from rich.console import Console

    from medchain.cli.render import fail
    from medchain.demo import DemoContext, fund_roles, role_accounts, run_all
    from medchain.deploy import deploy_all
    from medchain.deployments import AddressBook, book_name_for_connected_network
    from medchain.errors import MedchainError

    logger.set_level("WARNING")  # the demo prints its own summary, not every tx confirmation
    console = Console()
    roles = role_accounts(accounts.test_accounts)
    name, local = book_name_for_connected_network()
    book = AddressBook.named(name, local=local)
    console.print(f"[bold]medchain demo[/] on {networks.provider.network.choice}")
    try:
        funded = fund_roles(roles)
        if funded:
            console.print(f"  funded {len(funded)} demo accounts from the deployer")
        deployed, outcomes = deploy_all(
            roles["deployer"], book, accounts=roles, log=lambda line: console.print("  " + line)
        )
        ctx = DemoContext(console=console, accounts=roles, contracts=deployed.contracts, book=book)
        ran = run_all(ctx, set(only) or None)
    except MedchainError as exc:
        fail(str(exc))
    console.rule()
    console.print(
        f"[green]Demo complete[/]: {len(outcomes)} contracts, steps: {', '.join(ran) or 'none'}"
    )
