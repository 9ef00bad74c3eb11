"""Session fixtures shared by every test: named role accounts and one full deploy of
every medchain contract on the connected chain (in-process EthTester by default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medchain.demos import ROLES, role_accounts


@pytest.fixture(scope="session")
def roles(accounts):
    return role_accounts(accounts)


def _role_fixture(role: str):
    @pytest.fixture(scope="session", name=role)
    def fixture(roles):
        return roles[role]

    return fixture


for _role in ROLES:
    globals()[f"_fixture_{_role}"] = _role_fixture(_role)


@pytest.fixture(scope="session")
def book_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("deployments")


@pytest.fixture(scope="session")
def deployed(roles, book_dir):
    """Every contract from medchain.plan deployed and wired, recorded in a temp book."""
    from medchain.deploy import deploy_all
    from medchain.deployments import AddressBook

    ctx, _ = deploy_all(
        roles["deployer"], AddressBook(book_dir / "session"), accounts=roles, log=lambda _: None
    )
    return ctx
