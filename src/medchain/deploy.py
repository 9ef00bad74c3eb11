"""The deploy pipeline: every project contract, in dependency order, wired, and
recorded in the address book; idempotent against the same chain.

Each domain in `medchain.domains.DOMAINS` declares what it deploys in
`medchain.<domain>.deploy` as `SPECS`; this module collects them, orders them by `depends_on`, and for each one:

* reuses the recorded instance when its code is still on chain and the creation code
  plus constructor arguments are unchanged (says so, deploys nothing);
* refuses a changed contract unless `redeploy_changed` is set (then deploys anew), and
  even then refuses one that holds data (any event but role and pause configuration since
  its creation): a new instance starts empty, so that data would be orphaned. Such a
  contract is migrated (docs/upgrades.md), or its data abandoned by name
  (`abandon_data`, `ape run deploy --abandon-data NAME`);
* deploys when the book has no live instance (first run, or a reset local chain).

A governed deploy (`deploy_all(..., governance=config)`) adds the consortium's governor,
timelock and membership (`medchain.governance.deploy`); handing every contract's admin to
the timelock is the step after it (`medchain.governance.deploy.hand_over`), once the
deployer has granted what a roles file names.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from medchain.client import check_funds
from medchain.deployments import AddressBook, DeploymentRecord, project_root
from medchain.errors import (
    ConfigurationError,
    DeploymentMismatch,
    InvalidInput,
    MedchainError,
    translate_errors,
)


@dataclass
class DeployContext:
    """What specs see while deploying: the deployer and everything deployed so far."""

    deployer: Any
    contracts: dict[str, Any] = field(default_factory=dict)
    accounts: dict[str, Any] = field(default_factory=dict)  # optional named roles to wire
    # medchain.governance.deploy.GovernanceConfig of a governed deploy, else None
    governance: Any = None

    def address_of(self, name: str) -> str:
        return str(self.contracts[name].address)


def grant_role(ctx: DeployContext, contract: Any, role: Any, address: str, what: str) -> bool:
    """Grant `role` on `contract` to `address` unless it holds it already (True when a
    grant was sent). Once governance holds the contract's admin, the deployer cannot
    grant: that is refused in one line naming the governance command instead."""
    contract_name = contract.contract_type.name
    if contract.hasRole(role, address):
        return False
    if not contract.hasRole(contract.getRoleAdmin(role), ctx.deployer.address):
        raise ConfigurationError(
            f"{contract_name}: {what} for {address} needs a grant, but the deployer "
            f"{ctx.deployer.address} no longer administers {contract_name} (governed deploy): "
            f"propose it with `medchain admin propose {contract_name} grantRole ...`"
        )
    with translate_errors(contract_name):
        contract.grantRole(role, address, sender=ctx.deployer)
    return True


def grant_named_roles(ctx: DeployContext, contract: Any, role: Any, names: Sequence[str]) -> None:
    """Grant `role` on `contract` to whichever of the named accounts the deployer passed
    and that do not hold it yet (a wiring step shared by the domains' deploy specs)."""
    for member in names:
        account = ctx.accounts.get(member)
        if account is not None:
            grant_role(ctx, contract, role, str(account.address), f"{member}'s role")


def _no_args(ctx: DeployContext) -> Sequence[Any]:
    return ()


@dataclass(frozen=True)
class ContractSpec:
    """How to deploy one contract: its name, what it needs first, its constructor
    arguments, and an optional wiring step run once after a fresh deploy."""

    name: str
    depends_on: tuple[str, ...] = ()
    args: Callable[[DeployContext], Sequence[Any]] = _no_args
    wire: Callable[[DeployContext, Any], None] | None = None
    governance: bool = False  # part of the consortium's governance: deployed only when governed
    # How a fresh instance is made when not by its constructor alone (see `_create`).
    create: Callable[..., tuple[Any, Any, dict[str, Any]]] | None = None
    # Checks what the deploy was given (accounts, settings) before any contract of the
    # plan is sent, so a missing input is refused before a half-deployed book exists.
    preflight: Callable[[DeployContext], None] | None = None


@dataclass(frozen=True)
class DeployOutcome:
    name: str
    address: str
    action: str  # "deployed" | "unchanged" | "redeployed"


def discover_specs(governed: bool = False) -> list[ContractSpec]:
    """All specs of every domain in `medchain.domains.DOMAINS`, topologically ordered
    (ties keep the domain order); the governance contracts only when `governed`."""
    from medchain.domains import DOMAINS, part

    specs: list[ContractSpec] = []
    for domain in DOMAINS:
        specs.extend(s for s in part(domain, "deploy").SPECS if governed or not s.governance)
    return order_specs(specs)


def order_specs(specs: Sequence[ContractSpec]) -> list[ContractSpec]:
    by_name = {s.name: s for s in specs}
    if len(by_name) != len(specs):
        raise ConfigurationError("a contract is declared twice in the domains' deploy specs")
    ordered: list[ContractSpec] = []
    state: dict[str, str] = {}

    def visit(spec: ContractSpec, path: tuple[str, ...]) -> None:
        if state.get(spec.name) == "done":
            return
        if state.get(spec.name) == "visiting":
            raise ConfigurationError(f"dependency cycle: {' -> '.join((*path, spec.name))}")
        state[spec.name] = "visiting"
        for dep in spec.depends_on:
            if dep not in by_name:
                raise ConfigurationError(f"{spec.name} depends on unknown contract {dep}")
            visit(by_name[dep], (*path, spec.name))
        state[spec.name] = "done"
        ordered.append(spec)

    for spec in specs:
        visit(spec, ())
    return ordered


def compiler_info() -> dict[str, Any]:
    from ape import config

    solidity = config.get_config("solidity")
    return {
        "name": "solc",
        "version": str(solidity.version),
        "settings": {
            "optimizer": {"enabled": solidity.optimize, "runs": solidity.optimization_runs},
            "evmVersion": solidity.evm_version,
            "viaIR": bool(solidity.via_ir),
        },
    }


def git_commit() -> str:
    try:
        root = project_root()
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return ""


def _container(project: Any, name: str) -> Any:
    """The project's compiled contract `name`, or one line saying it is not there."""
    try:
        return getattr(project, name)
    except AttributeError:
        raise ConfigurationError(
            f"the deploy plan names {name}, but the project has no compiled contract of that "
            "name: is its source under contracts/ and does `ape compile` succeed?"
        ) from None


def init_code_hash(contract_container: Any, args: Sequence[Any]) -> str:
    """keccak256(creation bytecode ++ abi-encoded constructor args)."""
    from medchain.codec import hex_to_bytes, to_hex
    from medchain.hashing import keccak

    ctype = contract_container.contract_type
    bytecode = hex_to_bytes(ctype.deployment_bytecode.bytecode, "deployment bytecode")
    encoded = b""
    if ctype.constructor.inputs:
        from eth_abi import encode

        types = [i.canonical_type for i in ctype.constructor.inputs]
        encoded = encode(types, [_abi_value(a) for a in args])
    return to_hex(keccak(bytecode + encoded))


def _abi_value(value: Any) -> Any:
    return str(value.address) if hasattr(value, "address") else value


def runtime_code_hash(address: str) -> str:
    from ape import chain

    from medchain.codec import to_hex
    from medchain.hashing import keccak

    code = chain.provider.get_code(address)
    return to_hex(keccak(bytes(code)))


def _upgraded_in_place(record: DeploymentRecord) -> bool:
    """True for a proxy that governance has upgraded, as the book recorded, and that still
    runs the recorded implementation: the book, not this tree's source, says what runs
    there, so deploy keeps it (it never replaces a proxy nor upgrades one itself)."""
    if len(record.implementations) < 2 or not record.implementation:
        return False
    from medchain.records.upgrade import implementation_of

    return implementation_of(record.address).lower() == record.implementation.lower()


def deploy_all(
    deployer: Any,
    book: AddressBook,
    *,
    redeploy_changed: bool = False,
    abandon_data: Collection[str] = (),
    specs: Sequence[ContractSpec] | None = None,
    accounts: dict[str, Any] | None = None,
    governance: Any = None,
    log: Callable[[str], None] = print,
) -> tuple[DeployContext, list[DeployOutcome]]:
    """Deploy (or reuse) every contract; returns the context and what happened to each.
    With `governance` (a `medchain.governance.deploy.GovernanceConfig`) the plan includes
    the consortium's governance contracts; `hand_over` then gives them every admin.
    `abandon_data` names the contracts whose data a redeploy may leave behind."""
    from ape import chain, networks, project

    ctx = DeployContext(deployer=deployer, accounts=dict(accounts or {}), governance=governance)
    outcomes: list[DeployOutcome] = []
    compiler = compiler_info()
    commit = git_commit()
    network = networks.provider.network.choice
    plan = list(specs if specs is not None else discover_specs(governance is not None))
    from medchain.network.poa import prepare_connected_node

    unknown = sorted(set(abandon_data) - {s.name for s in plan})
    if unknown:
        raise InvalidInput(f"--abandon-data names no contract of this deploy: {', '.join(unknown)}")
    for spec in plan:
        if spec.preflight is not None:
            spec.preflight(ctx)
    prepare_connected_node([s.name for s in plan])  # PoA headers; refuse opcodes it lacks
    for spec in plan:
        container = _container(project, spec.name)
        args = [_abi_value(a) for a in spec.args(ctx)]
        wanted = init_code_hash(container, args)
        existing = book.get(spec.name) if spec.name in book else None
        live = (
            existing is not None
            and existing.chain_id == chain.provider.chain_id
            and runtime_code_hash(existing.address) == existing.runtime_code_hash
        )
        if existing is not None and live:
            # A proxy upgraded, or a migrated contract switched to a later version, by
            # governance: the book, not this tree's source, says what runs there.
            upgraded = _upgraded_in_place(existing) or bool(existing.versions)
            if existing.init_code_hash == wanted or upgraded:
                ctx.contracts[spec.name] = container.at(existing.address)
                if spec.wire is not None and ctx.accounts:
                    # Wiring is idempotent (each spec checks before it grants), so named
                    # accounts passed later (the demo on a node deployed by hand) still get
                    # their roles; nothing is sent when they hold them already.
                    with translate_errors(spec.name):
                        spec.wire(ctx, ctx.contracts[spec.name])
                outcomes.append(DeployOutcome(spec.name, existing.address, "unchanged"))
                log(f"{spec.name}: unchanged at {existing.address}, nothing deployed")
                if existing.versions and existing.init_code_hash != wanted:
                    log(
                        f"  {spec.name} was switched through governance to a migrated version "
                        f"({len(existing.versions)} former); a deploy never replaces it (the "
                        f"next version: migrate, then medchain admin switch {spec.name})"
                    )
                elif upgraded and existing.init_code_hash != wanted:
                    log(
                        f"  {spec.name} runs {existing.implementation}, upgraded in place through "
                        f"governance; a deploy never replaces it (to run this tree's "
                        f"{spec.name}: medchain admin upgrade {spec.name})"
                    )
                continue
            if not redeploy_changed and spec.create is None:
                raise DeploymentMismatch(
                    f"{spec.name} changed since it was deployed at {existing.address} "
                    "(bytecode or constructor arguments); pass --redeploy-changed to deploy a new "
                    "instance"
                )
            if spec.create is None and spec.name not in abandon_data:
                _refuse_orphaning(existing)
        try:
            with translate_errors(spec.name):
                instance, receipt, book_fields = _create(
                    spec, ctx, container, args, existing if live else None
                )
        except MedchainError as exc:
            check_funds(deployer, exc)  # an unfunded deployer: say so, not "out of gas"
            raise
        record = DeploymentRecord(
            contract_name=spec.name,
            address=str(instance.address),
            chain_id=chain.provider.chain_id,
            abi=[
                item.model_dump(mode="json", by_alias=True) for item in container.contract_type.abi
            ],
            transaction_hash=str(receipt.txn_hash) if receipt else "",
            block_number=int(receipt.block_number) if receipt else 0,
            deployer=str(deployer.address),
            init_code_hash=wanted,
            runtime_code_hash=runtime_code_hash(str(instance.address)),
            constructor_args=[_json_arg(a) for a in args],
            compiler=compiler,
            git_commit=commit,
            deployed_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **book_fields,
        )
        ctx.contracts[spec.name] = instance
        if spec.wire is not None:
            with translate_errors(spec.name):
                spec.wire(ctx, instance)
        book.write(record, network=network)
        action = "redeployed" if existing is not None and live else "deployed"
        outcomes.append(DeployOutcome(spec.name, record.address, action))
        log(f"{spec.name}: {action} at {record.address} (block {record.block_number})")
    return ctx, outcomes


# Events that configure a contract rather than record anything: roles (re-applied by the
# deploy's wiring and the roles file), admin transfers and pausing.
CONFIGURATION_EVENTS = frozenset(
    {
        "RoleGranted",
        "RoleRevoked",
        "RoleAdminChanged",
        "DefaultAdminTransferScheduled",
        "DefaultAdminTransferCanceled",
        "DefaultAdminDelayChangeScheduled",
        "DefaultAdminDelayChangeCanceled",
        "Paused",
        "Unpaused",
    }
)


def data_events(record: DeploymentRecord) -> tuple[int, Any]:
    """(count, first) of the events a deployed contract emitted since its creation that
    record data, not configuration (`CONFIGURATION_EVENTS`), the creation transaction's own
    events excepted. Every write of a medchain contract emits an event, so none means the
    contract holds nothing a new instance would lose."""
    from ape import chain

    from medchain.logs import LogReader, events_of

    names = {e.name for e in events_of(record.abi).values()} - CONFIGURATION_EVENTS
    count, first = 0, None
    if not names:
        return 0, None
    reader = LogReader(chain.provider.web3, {record.address: record.abi}, index=False)
    created = record.transaction_hash.lower()
    for _, _, events in reader.pages(record.block_number, names=names):
        for event in events:
            if event.tx_hash.lower() == created:
                continue
            count += 1
            first = first or event
    return count, first


def _refuse_orphaning(record: DeploymentRecord) -> None:
    """A changed contract that holds data is not silently replaced by an empty one."""
    count, first = data_events(record)
    if count:
        raise DeploymentMismatch(
            f"{record.contract_name} at {record.address} holds data ({count} events since its "
            f"deployment, the first {first.name} in block {first.block_number}) and a new "
            "instance would start empty: migrate it (docs/upgrades.md), or pass "
            f"--abandon-data {record.contract_name} to leave that data behind"
        )


def _create(
    spec: ContractSpec,
    ctx: DeployContext,
    container: Any,
    args: Sequence[Any],
    replacing: DeploymentRecord | None,
) -> tuple[Any, Any, dict[str, Any]]:
    """A new instance of `spec`: (instance, creation receipt, extra book fields). By its
    constructor, or by the spec's own `create` (an upgradeable contract: implementation +
    ERC-1967 proxy, `medchain.records.upgrade.behind_proxy`), which is also told of the live
    instance it would replace and decides what a change means (a proxy refuses: its data
    stays at its address, so it is upgraded in place)."""
    if spec.create is not None:
        return spec.create(ctx, container, args, replacing)
    instance = ctx.deployer.deploy(container, *args)
    return instance, instance.creation_metadata.receipt if instance.creation_metadata else None, {}


def _json_arg(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        from medchain.codec import to_hex

        return to_hex(value)
    if isinstance(value, list | tuple):
        return [_json_arg(v) for v in value]
    return value if isinstance(value, int | str | bool) or value is None else str(value)


# ------------------------------------------------------------------ role assignment
ROLE_FILE_FORMATS = (".toml", ".yaml", ".yml", ".json")


@dataclass(frozen=True)
class RoleGrant:
    """One member of one contract role, as the roles file names it and as resolved."""

    contract: str
    role: str
    member: str  # what the file says: an address, an ape alias or TEST::<n>
    address: str


@dataclass(frozen=True)
class RoleOutcome:
    contract: str
    role: str
    member: str
    address: str
    action: str  # "granted" | "already held"


def _read_role_document(path: Any) -> Any:
    import json
    import tomllib
    from pathlib import Path

    import yaml

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ROLE_FILE_FORMATS:
        raise ConfigurationError(
            f"{path}: roles file must end in {', '.join(ROLE_FILE_FORMATS)} (got '{suffix}')"
        )
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read the roles file: {exc.strerror}") from None
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        raise ConfigurationError(f"{path}: not valid YAML: {first}") from None


def contract_roles(contract_name: str) -> list[str]:
    """The role constants (`*_ROLE` views without inputs) of a project contract's ABI."""
    from ape import project

    abi = _container(project, contract_name).contract_type.abi
    return sorted(
        item.name
        for item in abi
        if getattr(item, "type", "") == "function"
        and item.name.endswith("_ROLE")
        and not item.inputs
    )


def resolve_member(member: Any, where: str) -> str:
    """Checksum address of a roles-file member: `0x...`, `TEST::<n>` or an ape alias."""
    from medchain.codec import to_address

    if isinstance(member, int) and not isinstance(member, bool) and 0 <= member < 1 << 160:
        member = f"0x{member:040x}"  # YAML reads an unquoted 0x... address as a number
    text = str(member).strip() if isinstance(member, str) else None
    if not text:
        raise ConfigurationError(f"{where}: each member must be an address or an ape alias")
    if text.startswith("0x"):
        try:
            return to_address(text, f"{where}:")
        except InvalidInput as exc:  # a roles file is configuration, not an argument
            raise ConfigurationError(str(exc)) from None
    from ape import accounts

    if text.startswith("TEST::"):
        index = text.removeprefix("TEST::")
        if not index.isdigit():
            raise ConfigurationError(f"{where}: '{text}' is not TEST::<n>")
        return str(accounts.test_accounts[int(index)].address)
    if text not in set(accounts.aliases):
        raise ConfigurationError(
            f"{where}: '{text}' is neither an address nor an ape account alias "
            "(see `ape accounts list`)"
        )
    return str(accounts.load(text).address)


def load_roles(path: Any, specs: Sequence[ContractSpec] | None = None) -> list[RoleGrant]:
    """Read and check a deploy roles file: a table per contract, mapping each role constant
    to the members (addresses, ape aliases or TEST::<n>) that get it, e.g. in TOML

        [ConsentRegistry]
        EMERGENCY_APPROVER_ROLE = ["approver1", "approver2", "approver3"]
        CLINICIAN_ROLE = ["provider"]

    Every refusal is one line naming the file, the contract and the role."""
    plan = {s.name for s in (specs if specs is not None else discover_specs())}
    doc = _read_role_document(path)
    if not isinstance(doc, dict):
        raise ConfigurationError(
            f"{path}: expected a table of contracts, each mapping roles to members"
        )
    grants: list[RoleGrant] = []
    for contract, roles in doc.items():
        if contract not in plan:
            raise ConfigurationError(
                f"{path}: unknown contract '{contract}' (deployed: {', '.join(sorted(plan))})"
            )
        if not isinstance(roles, dict):
            raise ConfigurationError(f"{path}: [{contract}] must map role names to members")
        known = contract_roles(contract)
        for role, members in roles.items():
            where = f"{path}: {contract}.{role}"
            if role == "DEFAULT_ADMIN_ROLE":
                raise ConfigurationError(
                    f"{where}: the default admin is the deployer and moves only by the "
                    "contract's two-step, delayed admin transfer; not granted from a roles file"
                )
            if role not in known:
                grantable = [r for r in known if r != "DEFAULT_ADMIN_ROLE"]
                raise ConfigurationError(
                    f"{where}: {contract} has no role '{role}' "
                    f"(roles: {', '.join(grantable) or 'none'})"
                )
            listed = [members] if isinstance(members, str) else members
            if not isinstance(listed, list) or not listed:
                raise ConfigurationError(f"{where}: give a list of addresses or ape aliases")
            for member in listed:
                grants.append(RoleGrant(contract, role, str(member), resolve_member(member, where)))
    return grants


def assign_roles(
    ctx: DeployContext, grants: Sequence[RoleGrant], log: Callable[[str], None] = print
) -> list[RoleOutcome]:
    """Grant each role the roles file names (a member that already holds it is left alone,
    so re-running a deploy with the same file sends nothing)."""
    outcomes = []
    for grant in grants:
        contract = ctx.contracts[grant.contract]
        sent = grant_role(ctx, contract, getattr(contract, grant.role)(), grant.address, grant.role)
        action = "granted" if sent else "already held"
        outcomes.append(
            RoleOutcome(grant.contract, grant.role, grant.member, grant.address, action)
        )
        verb = "granted to" if action == "granted" else "already held by"
        log(f"{grant.contract}: {grant.role} {verb} {grant.member} ({grant.address})")
    return outcomes
