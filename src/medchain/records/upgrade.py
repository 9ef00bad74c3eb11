"""Upgrades in place of the UUPS RecordRegistry (docs/upgrades.md): the ERC-1967 proxy whose
address frontends, dependents and the address book keep, the storage-layout check that
refuses an incompatible implementation before anything is deployed or proposed, and the
book fields that remember every implementation the proxy has had.

The layout check is OpenZeppelin's maintained validator (`@openzeppelin/upgrades-core`),
run by tools/upgrades/validate.cjs on solc's storage-layout output; it needs the clone
(`$MEDCHAIN_ROOT`) with its node_modules, as `make test` has.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import replace
from itertools import takewhile
from typing import Any

from medchain.deployments import AddressBook, DeploymentRecord, project_root
from medchain.errors import ConfigurationError, DeploymentMismatch, translate_errors

__all__ = [
    "IMPLEMENTATION_SLOT",
    "PROXY_CONTRACT",
    "StorageLayoutIncompatible",
    "behind_proxy",
    "check_layout",
    "deploy_behind_proxy",
    "implementation_of",
    "prepare_upgrade",
    "record_upgrade",
    "upgrade",
]

PROXY_CONTRACT = "MedchainProxy"  # contracts/proxy/MedchainProxy.sol, an ERC1967Proxy
# bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1), ERC-1967
IMPLEMENTATION_SLOT = 0x360894A13BA1A3210667C828492DB98DCA3E2076CC3735A920A3CA505D382BBC
VALIDATOR = ("tools", "upgrades", "validate.cjs")


class StorageLayoutIncompatible(DeploymentMismatch):
    """A new implementation's storage layout or code is not upgrade-safe from the old one."""


def check_layout(
    new: str, reference: str | None = None, *, reference_commit: str | None = None
) -> None:
    """Refuse (StorageLayoutIncompatible, one line) when contract `new` is not upgrade-safe,
    or cannot take over the storage of `reference`: a project contract name, as in the
    tree, or as it was at git `reference_commit` (the commit that deployed it)."""
    script = project_root().joinpath(*VALIDATOR)
    if not script.is_file():
        raise ConfigurationError(
            f"the storage-layout check needs a medchain clone: {script} not found "
            "(set MEDCHAIN_ROOT to the clone)"
        )
    args = ["node", str(script), "--contract", new]
    if reference is not None:
        args += ["--reference", reference]
    if reference_commit:
        args += ["--reference-commit", reference_commit]
    try:
        run = subprocess.run(args, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ConfigurationError(f"cannot run the storage-layout check: {exc}") from None
    if run.returncode == 0:
        return
    if run.returncode == 1:
        against = f" to replace {reference}" if reference else ""
        raise StorageLayoutIncompatible(
            f"{new} is not upgrade-safe{against}: {_first_problem(run.stdout)}"
        )
    last = (run.stderr.strip().splitlines() or ["no output"])[-1]
    raise ConfigurationError(f"the storage-layout check of {new} could not run: {last}")


def _first_problem(report: str) -> str:
    """The validator's first finding with its hint, and how many more, as one line, e.g.
    `contracts/.../RecordRegistryBadLayout.sol:22: Inserted `recordCount` (New variables
    should be placed after all existing inherited variables)`."""
    lines = [line.strip() for line in report.splitlines() if line.strip()]
    findings = [
        i
        for i, line in enumerate(lines)
        if not line.startswith(("✔", "✘", ">")) and line not in ("FAILED", "SUCCESS")
    ]
    if not findings:
        return "refused without a report"
    first = findings[0]
    hints = list(takewhile(lambda line: line.startswith(">"), lines[first + 1 :]))
    hint = f" ({' '.join(h.lstrip('> ') for h in hints)})" if hints else ""
    more = f"; {len(findings) - 1} more finding(s)" if len(findings) > 1 else ""
    return lines[first] + hint + more


def implementation_of(proxy: Any) -> str:
    """The implementation an ERC-1967 proxy delegates to now (read from its slot)."""
    from ape import chain

    from medchain.codec import to_address

    word = bytes(
        chain.provider.get_storage(str(getattr(proxy, "address", proxy)), IMPLEMENTATION_SLOT)
    )
    return to_address("0x" + word[-20:].hex(), "ERC-1967 implementation slot")


def deploy_behind_proxy(
    deployer: Any, container: Any, args: Sequence[Any], initialize_args: Sequence[Any]
) -> tuple[Any, Any, Any]:
    """Deploy `container` as an implementation (constructor `args`) and a MedchainProxy in
    front of it whose constructor runs `initialize(*initialize_args)` in the proxy's storage.
    Returns (the contract's ABI at the proxy address, the proxy's creation receipt, the
    implementation instance)."""
    from ape import project

    name = container.contract_type.name
    with translate_errors(name):
        implementation = deployer.deploy(container, *args)
        data = implementation.initialize.encode_input(*initialize_args)
    with translate_errors(PROXY_CONTRACT):
        proxy = deployer.deploy(getattr(project, PROXY_CONTRACT), implementation.address, data)
    receipt = proxy.creation_metadata.receipt if proxy.creation_metadata else None
    return container.at(proxy.address), receipt, implementation


def _history_entry(implementation: Any, receipt: Any, init_code_hash: str) -> dict[str, Any]:
    """One implementation in a proxy's history; `receipt` is the transaction that made it
    the proxy's implementation (the proxy's creation, or the upgrade)."""
    from medchain.deploy import git_commit

    return {
        "address": str(getattr(implementation, "address", implementation)),
        "init_code_hash": init_code_hash,
        "transaction_hash": str(receipt.txn_hash) if receipt else "",
        "block_number": int(receipt.block_number) if receipt else 0,
        "git_commit": git_commit(),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def behind_proxy(
    initialize_args: Callable[[Any], Sequence[Any]],
) -> Callable[[Any, Any, Sequence[Any], DeploymentRecord | None], tuple[Any, Any, dict[str, Any]]]:
    """The `ContractSpec.create` of an upgradeable contract: implementation + ERC-1967
    proxy, initialized with `initialize_args(ctx)`. The book keeps the proxy's address (what
    everyone uses) with the implementation and its history. A live instance whose code
    changed is never replaced (that would leave its data at the old address): it is
    refused in one line naming the in-place upgrade."""

    def create(
        ctx: Any, container: Any, args: Sequence[Any], replacing: DeploymentRecord | None
    ) -> tuple[Any, Any, dict[str, Any]]:
        from medchain.deploy import init_code_hash

        name = container.contract_type.name
        if replacing is not None:
            running = implementation_of(replacing.address)
            if running != replacing.implementation:
                raise DeploymentMismatch(
                    f"{name}'s proxy at {replacing.address} runs implementation {running}, "
                    f"not the book's {replacing.implementation or 'none'}: an upgrade went "
                    "through without the book (a governance proposal); record it with "
                    "medchain.records.upgrade.record_upgrade(...) (docs/upgrades.md)"
                )
            raise DeploymentMismatch(
                f"{name} changed since its proxy was deployed at {replacing.address}; a new "
                f"instance would leave every record behind, so it is upgraded in place: "
                f"medchain.records.upgrade.upgrade(...) by its admin, or propose "
                f"upgradeToAndCall on {replacing.address} through governance after "
                f"prepare_upgrade(...) (docs/upgrades.md)"
            )
        instance, receipt, implementation = deploy_behind_proxy(
            ctx.deployer, container, args, initialize_args(ctx)
        )
        entry = _history_entry(implementation, receipt, init_code_hash(container, args))
        fields = {"implementation": entry["address"], "implementations": [entry]}
        return instance, receipt, fields

    return create


def prepare_upgrade(
    deployer: Any,
    container: Any,
    args: Sequence[Any],
    *,
    reference: str,
    reference_commit: str | None = None,
) -> tuple[Any, bytes]:
    """Check `container`'s layout against `reference` (see check_layout), then deploy it as
    the next implementation. Returns (the implementation, the calldata of
    `upgradeToAndCall(implementation, 0x)`): what an admin sends, or governance proposes,
    to the proxy. Nothing is deployed when the layout check refuses."""
    name = container.contract_type.name
    check_layout(name, reference, reference_commit=reference_commit)
    with translate_errors(name):
        implementation = deployer.deploy(container, *args)
        calldata = implementation.upgradeToAndCall.encode_input(implementation.address, b"")
    return implementation, bytes(calldata)


def upgrade(
    proxy: Any,
    container: Any,
    args: Sequence[Any],
    admin: Any,
    *,
    reference: str,
    reference_commit: str | None = None,
    call: bytes = b"",
    book: AddressBook | None = None,
) -> Any:
    """Upgrade the UUPS `proxy` in place to a new implementation of `container` (layout
    checked first), sent by `admin` (who holds DEFAULT_ADMIN_ROLE; after a governed deploy
    that is the timelock, so propose prepare_upgrade's calldata instead). `call` runs in
    the proxy after the switch (e.g. a reinitializer). The book, when given, records the
    new implementation. Returns the contract's new ABI at the unchanged proxy address."""
    implementation, _ = prepare_upgrade(
        admin, container, args, reference=reference, reference_commit=reference_commit
    )
    name = container.contract_type.name
    with translate_errors(name):
        receipt = proxy.upgradeToAndCall(implementation.address, call, sender=admin)
    if book is not None:
        record_upgrade(book, proxy.contract_type.name, implementation, receipt, container, args)
    return container.at(proxy.address)


def record_upgrade(
    book: AddressBook,
    name: str,
    implementation: Any,
    receipt: Any,
    container: Any,
    args: Sequence[Any],
) -> DeploymentRecord:
    """Write that `name`'s proxy now runs `implementation` (deployed from `container` with
    constructor `args`; `receipt` is the upgrade's): the address, transaction and block stay
    the proxy's (where events are read from); ABI, init code hash (what a re-run of deploy
    compares), implementation and history change."""
    from medchain.deploy import init_code_hash

    record = book.get(name)
    entry = _history_entry(implementation, receipt, init_code_hash(container, args))
    updated = replace(
        record,
        abi=[item.model_dump(mode="json", by_alias=True) for item in container.contract_type.abi],
        init_code_hash=entry["init_code_hash"],
        implementation=entry["address"],
        implementations=[*record.implementations, entry],
    )
    book.write(updated)
    return updated
