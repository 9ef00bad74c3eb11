"""A consortium chain on this machine: N geth 1.13.15 signers sealing Clique
(proof-of-authority) blocks, peered statically over loopback.

Layout under `$MEDCHAIN_HOME/network/<name>/` (default `.medchain/network/<name>/`):

    network.json      the manifest: chain id, period, ports, signers, enodes, pids
    genesis.json      Clique genesis (written at first start): signers in extradata,
                      consortium accounts funded
    node<i>/          geth datadir: keystore (the signer key), password, nodekey,
                      config.toml (listen address, static peers), geth.log, geth.pid

Every port is bound to 127.0.0.1; discovery and NAT traversal are off, peers are the
static list only. Each node unlocks its own signer key (HTTP is on loopback only, hence
`--allow-insecure-unlock`) and seals with `--mine`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from medchain.errors import ConfigurationError, MedchainError
from medchain.files import write_file, write_json
from medchain.network.geth import GETH_VERSION, find_geth, medchain_home
from medchain.network.rpc import rpc, try_rpc

CHAIN_ID = 6334  # "MEDI" on a phone keypad; fixed in genesis, the book is ethereum-chain-6334
DEFAULT_SIGNERS = 3
DEFAULT_PERIOD = 1  # seconds between blocks
DEFAULT_GAS_LIMIT = 30_000_000
DEFAULT_BASE_PORT = 18545  # node i: HTTP base+i, p2p base+100+i, authrpc base+200+i
DEFAULT_BALANCE = 10**24  # 1,000,000 ETH per funded account
EPOCH = 30_000  # Clique checkpoint interval (blocks): votes reset, signers in extradata
HTTP_APIS = "eth,net,web3,txpool,clique"
START_TIMEOUT = 60.0
# The first start dates genesis this far ahead, so no signer seals block 1 before every
# node is up and peered: signers that seal block 1 alone each stand on their own fork
# where Clique's "signed recently" rule lets none of them seal block 2 (a deadlock).
GENESIS_LEAD = 12
SCRYPT_N = 2**12  # geth's --lightkdf: the password file sits beside the key anyway
STOP_TIMEOUT = 20.0


class NetworkError(MedchainError):
    """The consortium network cannot be created, started, reached or stopped."""


class NodeExited(NetworkError):
    """A geth node stopped while it was awaited; the message carries its crash line."""


def networks_dir() -> Path:
    return medchain_home() / "network"


def network_dir(name: str) -> Path:
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise ConfigurationError(f"network name must be letters, digits, '-' or '_', got '{name}'")
    return networks_dir() / name


_HANDED_OUT: set[int] = set()


def _ephemeral_floor() -> int:
    """The lowest port the kernel hands to outgoing connections (Linux default 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _port_range() -> tuple[int, int] | None:
    """[low, high) of free_port: MEDCHAIN_PORT_RANGE=LOW-HIGH (inclusive), else from 20000
    to the kernel's ephemeral floor; None when that leaves too few ports (an unusual
    kernel range), and the kernel chooses."""
    spec = os.environ.get("MEDCHAIN_PORT_RANGE", "").strip()
    if not spec:
        floor = _ephemeral_floor()
        return (20_000, floor) if floor - 20_000 >= 1_000 else None
    try:
        low, high = (int(part) for part in spec.split("-"))
    except ValueError:
        low, high = 0, -1
    if not 1024 <= low < high <= 65_535:
        raise ConfigurationError(
            f"MEDCHAIN_PORT_RANGE must be LOW-HIGH with 1024 <= LOW < HIGH <= 65535, got '{spec}'"
        )
    return low, high + 1


def free_port() -> int:
    """A loopback port nothing listens on, for a daemon started later.

    Chosen below the kernel's ephemeral range and never twice per process: a port from
    that range (what binding port 0 returns) can be taken between this call and the
    daemon's bind by any outgoing connection (libp2p peers dial constantly), and a
    restarted daemon must find its port again. Processes that start daemons side by side
    (the test suite's lanes) are given disjoint ranges with MEDCHAIN_PORT_RANGE."""
    rng = secrets.SystemRandom()
    bounds = _port_range()
    if bounds is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    low, high = bounds
    for _ in range(1_000):
        port = rng.randrange(low, high)
        if port not in _HANDED_OUT and _port_free(port):
            _HANDED_OUT.add(port)
            return port
    raise MedchainError(f"no free loopback port between {low} and {high - 1}")


def _port_free(port: int) -> bool:
    """True when a listener could bind 127.0.0.1:`port` (as Go's do: SO_REUSEADDR, so
    connections of a just-stopped node in TIME_WAIT do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# ---------------------------------------------------------------------------- genesis


def clique_extradata(signers: Iterable[str]) -> str:
    """32 vanity bytes, the signer addresses (sorted, as geth keeps them), 65 seal bytes."""
    body = "".join(a.lower().removeprefix("0x") for a in sorted(signers, key=str.lower))
    return "0x" + "00" * 32 + body + "00" * 65


def clique_genesis(
    signers: Iterable[str],
    funded: Iterable[str],
    *,
    chain_id: int = CHAIN_ID,
    period: int = DEFAULT_PERIOD,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    balance: int = DEFAULT_BALANCE,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A Clique genesis on London rules (every fork up to London/Gray Glacier at block 0,
    no Shanghai: geth refuses Shanghai with Clique). Contracts compiled for `paris` run on
    it: Paris adds no opcode (PREVRANDAO reuses DIFFICULTY's 0x44)."""
    signers = list(signers)
    forks = [
        "homesteadBlock",
        "eip150Block",
        "eip155Block",
        "eip158Block",
        "byzantiumBlock",
        "constantinopleBlock",
        "petersburgBlock",
        "istanbulBlock",
        "muirGlacierBlock",
        "berlinBlock",
        "londonBlock",
        "arrowGlacierBlock",
        "grayGlacierBlock",
    ]
    alloc = {a.lower(): {"balance": hex(balance)} for a in [*funded, *signers]}
    return {
        "config": {
            "chainId": chain_id,
            **dict.fromkeys(forks, 0),
            "clique": {"period": period, "epoch": EPOCH},
        },
        "nonce": "0x0",
        "timestamp": hex(int(time.time()) if timestamp is None else timestamp),
        "extraData": clique_extradata(signers),
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": "0x" + "00" * 32,
        "coinbase": "0x" + "00" * 20,
        "alloc": alloc,
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
        "baseFeePerGas": hex(10**9),
    }


# ---------------------------------------------------------------------------- manifest


@dataclass
class Node:
    index: int
    signer: str  # the address this node seals with
    http_port: int
    p2p_port: int
    authrpc_port: int
    enode: str
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@dataclass
class Network:
    name: str
    chain_id: int
    period: int
    gas_limit: int
    geth: str
    nodes: list[Node]
    funded: list[str] = field(default_factory=list)
    created_at: str = ""
    balance: int = DEFAULT_BALANCE

    # ----------------------------------------------------------------- files

    @property
    def path(self) -> Path:
        return network_dir(self.name)

    def node_dir(self, index: int) -> Path:
        return self.path / f"node{index}"

    @property
    def book_name(self) -> str:
        """The address book `ape run deploy --network <url>` writes for this chain."""
        return f"ethereum-chain-{self.chain_id}"

    @property
    def signers(self) -> list[str]:
        return [n.signer for n in self.nodes]

    def save(self) -> None:
        write_json(self.path / "network.json", asdict(self))

    @classmethod
    def load(cls, name: str) -> Network:
        manifest = network_dir(name) / "network.json"
        if not manifest.is_file():
            raise NetworkError(f"no network named '{name}' (start one with `medchain network up`)")
        data = json.loads(manifest.read_text())
        data["nodes"] = [Node(**n) for n in data["nodes"]]
        return cls(**data)

    @classmethod
    def exists(cls, name: str) -> bool:
        return (network_dir(name) / "network.json").is_file()

    # ----------------------------------------------------------------- processes

    def _command(self, node: Node) -> list[str]:
        datadir = self.node_dir(node.index)
        return [
            self.geth,
            "--datadir", str(datadir),
            "--config", str(datadir / "config.toml"),
            "--networkid", str(self.chain_id),
            "--syncmode", "full",
            "--nodiscover",
            "--nat", "none",
            "--netrestrict", "127.0.0.0/8",
            "--ipcdisable",
            "--http",
            "--http.addr", "127.0.0.1",
            "--http.port", str(node.http_port),
            "--http.api", HTTP_APIS,
            "--authrpc.addr", "127.0.0.1",
            "--authrpc.port", str(node.authrpc_port),
            "--mine",
            "--miner.etherbase", node.signer,
            "--miner.gaslimit", str(self.gas_limit),
            "--unlock", node.signer,
            "--password", str(datadir / "password"),
            "--allow-insecure-unlock",  # HTTP answers on 127.0.0.1 only
            "--cache", "128",
            "--verbosity", "3",
        ]  # fmt: skip

    def running(self, node: Node) -> bool:
        return node.pid is not None and _is_our_geth(node.pid, self.node_dir(node.index))

    def start_node(self, index: int, *, wait: bool = True) -> Node:
        """Start node `index` (no-op when it runs); with `wait`, until its HTTP answers."""
        node = self.nodes[index]
        if self.running(node):
            return node
        for port in (node.http_port, node.p2p_port, node.authrpc_port):
            if not _port_free(port):
                raise NetworkError(
                    f"port {port} of node{index} is in use by another process; "
                    "stop it or create the network with another --base-port"
                )
        datadir = self.node_dir(index)
        log = (datadir / "geth.log").open("ab")
        try:
            process = subprocess.Popen(
                self._command(node),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives `medchain network up`; not hit by its ^C
            )
        finally:
            log.close()
        _CHILDREN[process.pid] = process
        node.pid = process.pid
        (datadir / "geth.pid").write_text(str(process.pid))
        self.save()
        if wait:
            self.wait_for(
                lambda: try_rpc(node.url, "eth_blockNumber") is not None,
                f"node{index} to answer on {node.url}",
                timeout=START_TIMEOUT,
                node=node,
            )
        return node

    def stop_node(self, index: int, *, kill: bool = False, timeout: float = STOP_TIMEOUT) -> None:
        """Stop node `index`: SIGTERM (geth flushes its state and exits), SIGKILL after
        `timeout`; `kill=True` sends SIGKILL at once (a crash)."""
        node = self.nodes[index]
        if node.pid is not None and self.running(node):
            os.kill(node.pid, signal.SIGKILL if kill else signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.running(node):
                if time.monotonic() > deadline:
                    os.kill(node.pid, signal.SIGKILL)
                    deadline = time.monotonic() + 5
                time.sleep(0.1)
        _reap(node.pid)
        node.pid = None
        (self.node_dir(index) / "geth.pid").unlink(missing_ok=True)
        self.save()

    def start(self, *, timeout: float = START_TIMEOUT) -> None:
        """Start every node; return when each answers, is peered with every other and
        the chain is producing blocks."""
        self.initialise()
        for node in self.nodes:
            self.start_node(node.index, wait=False)
        for node in self.nodes:
            self._wait_answering(node, timeout)
        self.wait_peered(timeout=timeout)
        start = self.height(self.nodes[0])
        self.wait_for(
            lambda: self.height(self.nodes[0]) > start, "the first sealed block", timeout=timeout
        )

    def _wait_answering(self, node: Node, timeout: float) -> None:
        self.wait_for(
            lambda: try_rpc(node.url, "eth_blockNumber") is not None,
            f"node{node.index} to answer on {node.url}",
            timeout=timeout,
            node=node,
        )

    def initialise(self, lead: int = GENESIS_LEAD) -> None:
        """`geth init` every node not initialised yet. The first time, genesis is written
        dated `lead` seconds ahead (see GENESIS_LEAD); later, the saved genesis."""
        fresh = [
            n for n in self.nodes if not (self.node_dir(n.index) / "geth" / "chaindata").is_dir()
        ]
        if not fresh:
            return
        genesis_path = self.path / "genesis.json"
        if len(fresh) == len(self.nodes) or not genesis_path.is_file():
            genesis = clique_genesis(
                self.signers,
                self.funded,
                chain_id=self.chain_id,
                period=self.period,
                gas_limit=self.gas_limit,
                balance=self.balance,
                timestamp=int(time.time()) + lead,
            )
            genesis_path.write_text(json.dumps(genesis, indent=2) + "\n")
        for node in fresh:
            init = subprocess.run(
                [self.geth, "--datadir", str(self.node_dir(node.index)), "init", str(genesis_path)],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if init.returncode != 0:
                raise NetworkError(
                    f"geth init failed for node{node.index}: {_last_line(init.stderr or init.stdout)}"
                )

    def stop(self) -> None:
        for node in self.nodes:
            if node.pid is not None and self.running(node):
                os.kill(node.pid, signal.SIGTERM)
        for node in self.nodes:
            self.stop_node(node.index)

    # ----------------------------------------------------------------- observing

    def height(self, node: Node) -> int:
        return int(rpc(node.url, "eth_blockNumber"), 16)

    def peers(self, node: Node) -> int:
        return int(rpc(node.url, "net_peerCount"), 16)

    def wait_for(
        self,
        predicate: Callable[[], bool],
        what: str,
        *,
        timeout: float = START_TIMEOUT,
        node: Node | None = None,
    ) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if predicate():
                    return
            except (MedchainError, OSError, ValueError, httpx.HTTPError):
                pass  # not answering yet: keep waiting
            if node is not None and not self.running(node):
                log = self.node_dir(node.index) / "geth.log"
                raise NodeExited(
                    f"node{node.index} exited while waiting for {what}: {_exit_reason(log)} "
                    f"(log: {log})"
                )
            if time.monotonic() > deadline:
                raise NetworkError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.25)

    def wait_peered(self, *, timeout: float = START_TIMEOUT) -> None:
        up = [n for n in self.nodes if self.running(n)]
        for node in up:
            self.wait_for(
                lambda n=node: self.peers(n) >= len(up) - 1,  # type: ignore[misc]
                f"node{node.index} to peer with the {len(up) - 1} other running nodes",
                timeout=timeout,
                node=node,
            )

    def status(self) -> dict[str, Any]:
        """Each node's process, block height, peers and signer; the chain's signer set."""
        rows = []
        signers: list[str] | None = None
        for node in self.nodes:
            running = self.running(node)
            row: dict[str, Any] = {
                "node": f"node{node.index}",
                "url": node.url,
                "pid": node.pid if running else None,
                "running": running,
                "signer": node.signer,
                "block": None,
                "peers": None,
                "mining": None,
            }
            if running:
                block = try_rpc(node.url, "eth_blockNumber")
                peers = try_rpc(node.url, "net_peerCount")
                row["block"] = int(block, 16) if block else None
                row["peers"] = int(peers, 16) if peers else (0 if block else None)
                row["mining"] = try_rpc(node.url, "eth_mining")
                if signers is None:
                    signers = try_rpc(node.url, "clique_getSigners")
            rows.append(row)
        return {
            "name": self.name,
            "chain_id": self.chain_id,
            "period": self.period,
            "gas_limit": self.gas_limit,
            "book": self.book_name,
            "geth": GETH_VERSION,
            "signers": signers if signers is not None else self.signers,
            "nodes": rows,
        }


# ---------------------------------------------------------------------------- lifecycle


def create(
    name: str,
    *,
    signers: int = DEFAULT_SIGNERS,
    period: int = DEFAULT_PERIOD,
    chain_id: int = CHAIN_ID,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    base_port: int | None = DEFAULT_BASE_PORT,
    funded: Iterable[str] = (),
    geth: str | Path | None = None,
) -> Network:
    """Write a new network: signer keys, node keys, per-node config and the manifest
    (genesis is written and `geth init` run by the first `start`). `base_port=None` picks
    free ports."""
    from eth_account import Account
    from eth_keys import keys

    if signers < 1:
        raise ConfigurationError("a Clique network needs at least one signer")
    if period < 1:
        raise ConfigurationError("--period must be at least 1 second")
    path = network_dir(name)
    if Network.exists(name):
        raise NetworkError(f"network '{name}' already exists at {path}")
    binary = str(geth or find_geth())
    path.mkdir(parents=True, exist_ok=True)
    nodes: list[Node] = []
    node_keys: list[bytes] = []
    for i in range(signers):
        http, p2p, auth = (
            (free_port(), free_port(), free_port())
            if base_port is None
            else (base_port + i, base_port + 100 + i, base_port + 200 + i)
        )
        datadir = path / f"node{i}"
        (datadir / "keystore").mkdir(parents=True, exist_ok=True)
        os.chmod(datadir, 0o700)
        signer_key = secrets.token_bytes(32)
        signer = Account.from_key(signer_key)
        password = secrets.token_hex(24)
        write_file(datadir / "password", password, private=True)
        write_json(
            datadir / "keystore" / f"UTC--medchain--{signer.address[2:].lower()}",
            signer_keyfile(signer_key, password),
            indent=None,
            private=True,
        )
        node_key = secrets.token_bytes(32)
        node_keys.append(node_key)
        write_file(datadir / "nodekey", node_key.hex(), private=True)
        pub = keys.PrivateKey(node_key).public_key.to_hex()[2:]
        nodes.append(
            Node(
                index=i,
                signer=signer.address,
                http_port=http,
                p2p_port=p2p,
                authrpc_port=auth,
                enode=f"enode://{pub}@127.0.0.1:{p2p}?discport=0",
            )
        )
    funded = sorted(set(funded), key=str.lower)
    for node in nodes:
        datadir = path / f"node{node.index}"
        peers = [n.enode for n in nodes if n.index != node.index]
        (datadir / "config.toml").write_text(
            "[Node.P2P]\n"
            f'ListenAddr = "127.0.0.1:{node.p2p_port}"\n'
            "NoDiscovery = true\n"
            f"StaticNodes = {json.dumps(peers)}\n"
            f"TrustedNodes = {json.dumps(peers)}\n"
        )
    network = Network(
        name=name,
        chain_id=chain_id,
        period=period,
        gas_limit=gas_limit,
        geth=binary,
        nodes=nodes,
        funded=list(funded),
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    network.save()
    return network


def signer_keyfile(key: bytes, password: str) -> dict[str, Any]:
    """`key` encrypted with `password` as a Web3 Secret Storage (v3) keyfile geth unlocks.

    eth-keyfile before 0.9 writes the 16-byte AES-CTR IV as the hex of an integer, so an
    IV that begins with a zero byte (1 key in 256) comes out short (eth-keyfile issue 60),
    and geth panics with "bad IV length" when it unlocks such a key: CI saw a signer die
    at start that way. eth-account 0.13 requires eth-keyfile < 0.9, so the IV is written
    back here at its full 16 bytes; it is the same number, so the file decrypts the same."""
    from eth_account import Account

    keyfile: dict[str, Any] = Account.encrypt(key, password, kdf="scrypt", iterations=SCRYPT_N)
    cipher = keyfile["crypto"]["cipherparams"]
    cipher["iv"] = cipher["iv"].zfill(32)
    return keyfile


def destroy(name: str) -> None:
    """Stop every node and delete the network's folder (chain data and signer keys)."""
    if Network.exists(name):
        Network.load(name).stop()
    shutil.rmtree(network_dir(name), ignore_errors=True)


# ---------------------------------------------------------------------------- helpers

_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # nodes this process started (to reap)


def _reap(pid: int | None) -> None:
    if pid is None:
        return
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout=1)
        except subprocess.TimeoutExpired:
            _CHILDREN[pid] = child


def _is_our_geth(pid: int, datadir: Path) -> bool:
    """True when `pid` is a live (not zombie) geth serving `datadir`: a pid recorded by an
    earlier run may since belong to another process."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _CHILDREN.pop(pid, None)
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":
        return False
    return str(datadir).encode() in cmdline


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


# How a line of geth's log begins when it says why geth stopped (Go panics and fatal
# errors, geth's own Fatal, a signal)
CRASH_MARKERS = ("panic:", "fatal error:", "Fatal:", "SIG")


def _exit_reason(path: Path) -> str:
    """The line of geth's log that says why it stopped: the last panic, fatal error or
    Fatal line in its tail (a Go panic ends in a stack trace whose last line says
    nothing), else the last line."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - 256_000))
            tail = f.read().decode(errors="replace")
    except OSError:
        return "no log"
    crashes = [line.strip() for line in tail.splitlines() if line.startswith(CRASH_MARKERS)]
    return crashes[-1] if crashes else _last_line(tail)
