"""Deploying project contracts in tests through the deploy specs that ship
(`medchain.<domain>.deploy.SPECS` run by `medchain.deploy.deploy_all`), so the
constructor arguments and wiring under test are the ones `ape run deploy` uses.

A test that deliberately needs another configuration (a different threshold to attack,
a cap to exceed) passes an override of that one spec's arguments and says why beside it;
everything else stays as shipped.

A domain's conftest builds its module-scoped deployment fixtures with `fresh_deploy_fixture`
and `contract_fixture` (one deploy per test module, one fixture per contract of it).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from medchain.deploy import ContractSpec, DeployContext, deploy_all, discover_specs, order_specs

ArgsOverride = Callable[[DeployContext], Sequence[Any]]


def specs_for(
    names: Sequence[str], overrides: Mapping[str, ArgsOverride] | None = None
) -> list[ContractSpec]:
    """The shipped specs of `names` and of everything they depend on, in deploy order,
    with the constructor arguments of the contracts in `overrides` replaced."""
    overrides = dict(overrides or {})
    by_name = {spec.name: spec for spec in discover_specs(governed=True)}
    unknown = sorted((set(names) | set(overrides)) - set(by_name))
    if unknown:
        raise KeyError(f"no deploy spec for {', '.join(unknown)}")
    wanted: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending.extend(by_name[name].depends_on)
    chosen = [by_name[n] for n in by_name if n in wanted]
    return order_specs(
        [replace(s, args=overrides[s.name]) if s.name in overrides else s for s in chosen]
    )


def deploy_fresh(
    deployer: Any,
    *names: str,
    accounts: Mapping[str, Any] | None = None,
    overrides: Mapping[str, ArgsOverride] | None = None,
    governed: Any = False,
) -> DeployContext:
    """New instances of `names` and their dependencies, deployed and wired by the shipped
    specs (roles granted to the named `accounts`, as the demo and `ape run deploy` do).
    The address book is a throw-away one, so nothing is ever reused from an earlier deploy.
    `governed` (True for the development timings with the named `member1..3`, or a
    `GovernanceConfig`) adds the consortium's governance and hands every admin to it."""
    from medchain.governance.deploy import GOVERNANCE_CONTRACTS, GovernanceConfig, hand_over

    config = None
    if governed:
        config = (
            governed if isinstance(governed, GovernanceConfig) else GovernanceConfig.development()
        )
        names = (*names, *GOVERNANCE_CONTRACTS)
    with tempfile.TemporaryDirectory(prefix="medchain-test-book-") as folder:
        from medchain.deployments import AddressBook

        ctx, _ = deploy_all(
            deployer,
            AddressBook(Path(folder) / "book"),
            specs=specs_for(names, overrides),
            accounts=dict(accounts or {}),
            governance=config,
            log=lambda _: None,
        )
    if config is not None:
        hand_over(ctx, log=lambda _: None)
    return ctx


def fresh_deploy_fixture(*names: str, with_roles: bool = False) -> Any:
    """The module-scoped fixture `fresh_deploy` (a conftest assigns it to that name):
    `deploy_fresh` of `names` by the deployer, roles granted to the named role accounts of
    tests/conftest.py when `with_roles`, as `ape run deploy` grants them."""

    @pytest.fixture(scope="module", name="fresh_deploy")
    def fixture(deployer: Any, roles: dict[str, Any]) -> DeployContext:
        return deploy_fresh(deployer, *names, accounts=roles if with_roles else None)

    return fixture


def contract_fixture(name: str) -> Any:
    """A module-scoped fixture (a conftest assigns it to a name of its choice): contract
    `name` of the module's `fresh_deploy`."""

    @pytest.fixture(scope="module")
    def fixture(fresh_deploy: DeployContext) -> Any:
        return fresh_deploy.contracts[name]

    return fixture


def deploy_beside(
    deployer: Any,
    name: str,
    existing: Mapping[str, Any],
    *,
    accounts: Mapping[str, Any] | None = None,
    wire: bool = True,
) -> Any:
    """One contract deployed by its shipped spec next to contracts a test already has
    (`existing` by name: the spec's dependencies), with the spec's wiring run unless
    `wire` is off (for a test that performs the wiring step itself)."""
    from ape import project

    (spec,) = (s for s in discover_specs() if s.name == name)
    ctx = DeployContext(deployer=deployer, contracts=dict(existing), accounts=dict(accounts or {}))
    missing = [d for d in spec.depends_on if d not in ctx.contracts]
    if missing:
        raise KeyError(f"{name} needs {', '.join(missing)} beside it")
    instance = deployer.deploy(getattr(project, name), *spec.args(ctx))
    ctx.contracts[name] = instance
    if wire and spec.wire is not None:
        spec.wire(ctx, instance)
    return instance
