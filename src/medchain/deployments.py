"""The address book: where each contract lives on each network, with its ABI.

Layout (what dApp frontends and the SDK read)::

    deployments/<book>/index.json          # chain id + name -> address for every contract
    deployments/<book>/<Contract>.json     # address, ABI, tx, block, deployer, hashes, compiler, commit

Named networks (a private Besu/QBFT chain, a testnet) are written to ``deployments/``
and meant to be committed. Throw-away local chains (in-process EthTester, anvil) go
to ``.medchain/deployments/`` which git ignores.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medchain.errors import ConfigurationError, DeploymentNotFound
from medchain.files import write_json

INDEX_FILE = "index.json"
DEPLOY_HINT = "run `ape run deploy --network <network>` first"
SCHEMA_VERSION = 1


def project_root() -> Path:
    return Path(os.environ.get("MEDCHAIN_ROOT", Path.cwd()))


def committed_books_dir() -> Path:
    """Books of named networks: `$MEDCHAIN_DEPLOYMENTS` or `<project>/deployments`."""
    return Path(os.environ.get("MEDCHAIN_DEPLOYMENTS", project_root() / "deployments"))


def local_books_dir() -> Path:
    """Books of throw-away local chains, never committed."""
    home = Path(os.environ.get("MEDCHAIN_HOME", project_root() / ".medchain"))
    return home / "deployments"


BOOK_ENV = "MEDCHAIN_BOOK"


def chosen_book_name() -> str | None:
    """The book a user chose (`--book` / `$MEDCHAIN_BOOK`), if any: a name or a folder path."""
    return os.environ.get(BOOK_ENV) or None


def all_books() -> list[AddressBook]:
    """Every book found: committed (`$MEDCHAIN_DEPLOYMENTS`) first, then local ones."""
    books: list[AddressBook] = []
    for root in (committed_books_dir(), local_books_dir()):
        if root.is_dir():
            books.extend(
                AddressBook(p) for p in sorted(root.iterdir()) if (p / INDEX_FILE).is_file()
            )
    return books


@dataclass(frozen=True)
class DeploymentRecord:
    """One deployed contract, as written to `<book>/<Contract>.json`."""

    contract_name: str
    address: str
    chain_id: int
    abi: list[dict[str, Any]]
    transaction_hash: str
    block_number: int
    deployer: str
    init_code_hash: str  # keccak256(creation bytecode + constructor args): what was deployed
    runtime_code_hash: str  # keccak256(code at address after deploy): detects reset chains
    constructor_args: list[Any] = field(default_factory=list)
    compiler: dict[str, Any] = field(default_factory=dict)
    git_commit: str = ""
    deployed_at: str = ""
    schema_version: int = SCHEMA_VERSION
    # An upgradeable contract (`address` is its ERC-1967 proxy, medchain.records.upgrade):
    # the implementation it delegates to, and every one it has had, oldest first, each
    # {address, init_code_hash, transaction_hash, block_number, git_commit, at}. Empty for
    # the others; readers that do not know the fields ignore them.
    implementation: str = ""
    implementations: list[dict[str, Any]] = field(default_factory=list)
    # A migrated contract (docs/upgrades.md) that governance switched to a new version
    # (`medchain admin switch`): every former version, oldest first, each {address,
    # transaction_hash, block_number, init_code_hash, runtime_code_hash, git_commit,
    # deployed_at, replaced_by, proposal, switch_transaction_hash, switch_block_number, at};
    # `address` and the fields above it are the current version's. Empty otherwise.
    versions: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeploymentRecord:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class AddressBook:
    """A folder of deployment records for one network."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"AddressBook({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def named(cls, name: str, *, local: bool = False) -> AddressBook:
        if not name or "/" in name or name.startswith("."):
            raise ConfigurationError(f"invalid address book name '{name}'")
        return cls((local_books_dir() if local else committed_books_dir()) / name)

    @classmethod
    def find(cls, name: str) -> AddressBook:
        """A book by name (committed books first, then local ones) or by folder path."""
        if os.sep in name or name.startswith("."):
            return cls(Path(name).expanduser())
        committed = cls.named(name)
        if committed.exists():
            return committed
        local = cls.named(name, local=True)
        return local if local.exists() else committed

    @classmethod
    def for_connected_network(cls) -> AddressBook:
        """The book the user chose with `--book` / `$MEDCHAIN_BOOK`, else the book of the
        network ape is connected to, as `medchain` and the deploy script name it."""
        chosen = chosen_book_name()
        if chosen:
            return cls.find(chosen)
        name, local = book_name_for_connected_network()
        return cls.named(name, local=local)

    def exists(self) -> bool:
        return (self.path / INDEX_FILE).is_file()

    def index(self) -> dict[str, Any]:
        try:
            return dict(json.loads((self.path / INDEX_FILE).read_text()))
        except FileNotFoundError:
            return {"schema_version": SCHEMA_VERSION, "book": self.name, "contracts": {}}
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{self.path / INDEX_FILE} is not valid JSON: {exc}") from exc

    def names(self) -> list[str]:
        return sorted(self.index().get("contracts", {}))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.index().get("contracts", {})

    def __iter__(self) -> Iterator[DeploymentRecord]:
        for name in self.names():
            yield self.get(name)

    def get(self, name: str, *, deploy_hint: str = DEPLOY_HINT) -> DeploymentRecord:
        """The record of `name`; refused in one line ending with `deploy_hint` (the command
        that deploys it) when the book has none."""
        file = self.path / f"{name}.json"
        if not self.exists() and _in_process_chain_or_false():
            raise DeploymentNotFound(f"no deployment of {name}: {IN_PROCESS_HINT}")
        if name not in self or not file.is_file():
            have = ", ".join(self.names()) or "nothing"
            raise DeploymentNotFound(
                f"no deployment of {name} in address book '{self.path}' (it has {have}); "
                f"{deploy_hint}"
            )
        try:
            return DeploymentRecord.from_json(json.loads(file.read_text()))
        except (json.JSONDecodeError, TypeError) as exc:
            raise ConfigurationError(f"{file} is not a valid deployment record: {exc}") from exc

    def write(self, record: DeploymentRecord, *, network: str = "") -> None:
        """Write one record and update the index atomically (temp file + rename)."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.path / f"{record.contract_name}.json", record.to_json())
        index = self.index()
        index.update(
            schema_version=SCHEMA_VERSION,
            book=self.name,
            chain_id=record.chain_id,
            network=network or index.get("network", ""),
        )
        index.setdefault("contracts", {})[record.contract_name] = {
            "address": record.address,
            "block_number": record.block_number,
            "file": f"{record.contract_name}.json",
        }
        index["contracts"] = dict(sorted(index["contracts"].items()))
        write_json(self.path / INDEX_FILE, index)


def book_name_for_connected_network() -> tuple[str, bool]:
    """(book name, is throw-away) for the provider ape is connected to.

    `ethereum:local:test` -> ('ethereum-local-test-1337', True); a node reached by URI
    (a private Besu/QBFT chain) -> ('ethereum-chain-<chain id>', False); a named network
    such as `ethereum:sepolia` -> ('ethereum-sepolia', False).
    """
    from ape import chain, networks

    provider = networks.provider
    ecosystem = provider.network.ecosystem.name
    network = provider.network.name
    if network == "local":
        return f"{ecosystem}-local-{provider.name}-{chain.provider.chain_id}", True
    if network == "custom":  # ape's name for any network given by URI
        # asked of the node each time: ape caches the chain id of its one "custom"
        # network, so a second node by URI in the same process got the first one's book
        return f"{ecosystem}-chain-{int(provider.web3.eth.chain_id)}", False
    return f"{ecosystem}-{network}", False


def connected_to_in_process_chain() -> bool:
    """True on ape's default `ethereum:local:test`: an EthTester chain inside this process,
    empty at every start, so no address book outlives the process that wrote it."""
    from ape import networks

    return in_process_chain(networks.provider.web3)


DEVELOPMENT_CLIENTS = ("EthereumTester", "anvil", "HardhatNetwork")


def development_node(web3: Any) -> bool:
    """True when `web3` talks to a throw-away development node (ape's in-process chain,
    anvil, Hardhat), told by the client it reports rather than by its chain id (a
    consortium may pick any id)."""
    if in_process_chain(web3):
        return True
    return str(web3.client_version).startswith(DEVELOPMENT_CLIENTS)


def in_process_chain(web3: Any) -> bool:
    """True when `web3` talks to an EthTester chain inside this process (what ape's
    `ethereum:local:test` runs on): the one test for it. Such a provider has no JSON-RPC
    wire format, only web3's formatted calls."""
    from web3.providers.eth_tester import EthereumTesterProvider

    return isinstance(getattr(web3, "provider", None), EthereumTesterProvider)


def _in_process_chain_or_false() -> bool:
    try:
        return connected_to_in_process_chain()
    except Exception:
        return False


IN_PROCESS_HINT = (
    "the in-process chain (ethereum:local:test, the default without --network) starts "
    "empty in every process, so no address book exists for it; choose a network with "
    "--network http://HOST:8545 (a running node) or --network ethereum:local:foundry"
)
