"""Accounts for the gas benchmarks."""

from __future__ import annotations

from typing import Any


def funded_account(g: Any, wei: int = 10**18) -> Any:
    """A new test account funded by the deployer: its identity, grants and records were never
    touched by another domain's benchmark, so 'first' figures stay first whatever other
    domains did with the role accounts."""
    from ape import accounts

    account = accounts.test_accounts.generate_test_account()
    g.accounts["deployer"].transfer(account, wei)
    return account
