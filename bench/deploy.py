"""Contracts for the perf_ benchmarks, deployed and wired by the shipped deploy specs
(`medchain.<domain>.deploy.SPECS`, as `ape run deploy` and bench/run.py's gas figures deploy
them), so a benchmark measures the contracts as they ship (a proxy where the spec puts one)
and never restates constructor arguments."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def deploy_specs(
    deployer: Any, *names: str, accounts: Mapping[str, Any] | None = None, book: Any = None
) -> dict[str, Any]:
    """New instances of `names` (each with the contracts its spec depends on named too), by
    `deployer` on the connected chain, recorded in `book` (an AddressBook; default a
    throw-away one); roles granted to the named `accounts` as the specs grant them. Returns
    the contracts by name."""
    from medchain.deploy import deploy_all, discover_specs, order_specs
    from medchain.deployments import AddressBook

    specs = order_specs([spec for spec in discover_specs() if spec.name in names])
    missing = sorted(set(names) - {spec.name for spec in specs})
    if missing:
        raise KeyError(f"no deploy spec for {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="medchain-bench-book-") as folder:
        ctx, _ = deploy_all(
            deployer,
            book if book is not None else AddressBook(Path(folder) / "book"),
            specs=specs,
            accounts=dict(accounts or {}),
            log=lambda _: None,
        )
    return ctx.contracts
