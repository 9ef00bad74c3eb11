"""`ape run deploy --network <choice>`: deploy every medchain contract in dependency
order, wire roles, and write the address book. Re-running against the same chain
with unchanged bytecode deploys nothing and says so.

`--governance FILE` (or `--governance dev` on a development chain: test accounts
member1..3, minutes instead of days) deploys the consortium's governor, timelock and
membership too and, after the roles file's grants, hands every contract's admin to the
timelock (docs/governance.md); from then on admin changes go through `medchain admin`.
On a chain that is not a development node (ape's in-process chain, anvil, Hardhat) a
deploy must say which it is: `--governance FILE`, or `--ungoverned` to keep the deployer
as every contract's admin, so that a consortium chain is never left to one key by default.

An imported account (`--account ALIAS`) signs without prompts when its passphrase is
given through MEDCHAIN_PASSPHRASE_FILE, MEDCHAIN_PASSPHRASE_FD or
APE_ACCOUNTS_<ALIAS>_PASSPHRASE (docs/environment.md). A failure is one line on stderr
and exit status 1; ape's own log lines go to stderr too.
"""

import click
from ape.cli import ConnectedProviderCommand, network_option
from ape.cli.choices import AccountAliasPromptChoice


class DeployCommand(ConnectedProviderCommand):
    """Turns a node that cannot be reached (found while connecting, before the script's
    code runs) and any other expected failure into one line."""

    def invoke(self, ctx):
        from ape.exceptions import ApeException

        from medchain.cli.render import fail, quiet_ape_logs
        from medchain.errors import MedchainError, unreachable_node_message

        quiet_ape_logs()  # ape's lines on stderr, warnings and errors only (MEDCHAIN_DEBUG: all)
        try:
            return super().invoke(ctx)
        except MedchainError as exc:
            fail(str(exc))
        except (ApeException, OSError) as exc:
            unreachable = unreachable_node_message(exc)
            if unreachable is None and not isinstance(exc, ApeException):
                raise
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            fail(unreachable or f"{type(exc).__name__}: {first}")


@click.command(cls=DeployCommand)
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
    envvar="MEDCHAIN_BOOK",
    help="Address-book name or folder [env: MEDCHAIN_BOOK]; default: derived from the network "
    "(local chains are not committed).",
)
@click.option(
    "--roles",
    "roles_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Roles file (.toml, .yaml or .json): per contract, each role constant mapped to the "
    "addresses or ape aliases that get it (docs/consent.md, 'Deploy roles').",
)
@click.option(
    "--governance",
    "governance_file",
    default=None,
    help="Governed deploy: a TOML file with a [governance] table (members, min_approvals, "
    "voting_period, timelock_delay), or 'dev' for test accounts member1..3 with short timings "
    "(development chains). Without it the deployer stays every contract's admin.",
)
@click.option(
    "--ungoverned",
    is_flag=True,
    help="Keep the deployer as every contract's admin (needed on a chain that is not a "
    "development node when --governance is not given).",
)
@click.option(
    "--redeploy-changed",
    is_flag=True,
    help="Deploy a new instance of any contract whose bytecode or arguments changed and that "
    "holds no data (a contract with data is migrated: docs/upgrades.md).",
)
@click.option(
    "--abandon-data",
    "abandon_data",
    multiple=True,
    metavar="NAME",
    help="With --redeploy-changed: replace contract NAME even though it holds data, leaving "
    "that data behind at the old address (repeatable).",
)
def cli(account, book, roles_file, governance_file, ungoverned, redeploy_changed, abandon_data):
    from ape import accounts, networks

    from medchain.cli.render import fail, quietly
    from medchain.deploy import assign_roles, deploy_all, load_roles
    from medchain.deployments import (
        AddressBook,
        book_name_for_connected_network,
        development_node,
    )
    from medchain.governance.deploy import GovernanceConfig, hand_over
    from medchain.signing import unattended

    governance, members = None, None
    if governance_file and ungoverned:
        fail("pass either --governance or --ungoverned, not both")
    development = development_node(networks.provider.web3)
    if governance_file == "dev" and not development:
        fail(
            "--governance dev makes test accounts the consortium's members: development "
            "nodes only; pass --governance FILE with the members' addresses"
        )
    if not governance_file and not ungoverned and not development:
        fail(
            "this chain is not a development node: deploy it governed with --governance FILE "
            "(docs/governance.md), or pass --ungoverned to keep the deployer as every "
            "contract's admin"
        )
    if governance_file == "dev":
        from medchain.demo import dev_role_accounts

        governance, members = GovernanceConfig.development(), dev_role_accounts()
    elif governance_file:
        governance = GovernanceConfig.from_file(governance_file)

    name, local = book_name_for_connected_network()
    if account is None:
        if networks.provider.network.name != "local":
            fail("pass --account <alias> to deploy to a non-local network")
        account = accounts.test_accounts[0]
    account = quietly(unattended, account)
    address_book = AddressBook.find(book) if book else AddressBook.named(name, local=local)
    grants = load_roles(roles_file) if roles_file else []  # checked before anything is sent
    click.echo(f"Deploying to {networks.provider.network.choice} as {account.address}")
    if abandon_data and not redeploy_changed:
        fail("--abandon-data only applies with --redeploy-changed")
    from medchain.supply.deploy import roles_file_accounts  # SerialRegistry's constructor

    ctx, outcomes = deploy_all(
        account, address_book, redeploy_changed=redeploy_changed, governance=governance,
        abandon_data=abandon_data,
        accounts={**{r: a for r, a in (members or {}).items() if r.startswith("member")},
                  **roles_file_accounts(grants)},
    )  # fmt: skip
    granted = [o for o in assign_roles(ctx, grants, log=click.echo) if o.action == "granted"]
    if governance is not None:
        hand_over(ctx, log=click.echo)  # after the roles file: the deployer grants no more
    changed = [o for o in outcomes if o.action != "unchanged"]
    if changed:
        click.echo(
            f"{len(changed)} of {len(outcomes)} contracts deployed; address book: {address_book.path}"
        )
    else:
        click.echo(f"All {len(outcomes)} contracts unchanged; nothing deployed.")
    if grants:
        held = len(grants) - len(granted)  # e.g. SerialRegistry's, set by its constructor
        click.echo(
            f"{len(grants)} role assignments from {roles_file}: {len(granted)} sent, {held} already held"
        )
