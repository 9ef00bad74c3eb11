"""Real IPFS for tests: Kubo daemons and an IPFS Cluster, built by tools/ipfs/build.sh.

Import the fixtures (tests/storage/conftest.py does);
tests that use them are marked `@pytest.mark.ipfs`.

* `ipfs_api`: one Kubo daemon for the session, `--offline`, `test` profile (loopback
  addresses, no bootstrap peers, no MDNS, AutoConf off), API/gateway/swarm on free
  127.0.0.1 ports, its own repo in a temporary folder.
* `Cluster(n)`: n IPFS Cluster peers, each beside its own Kubo node. crdt consensus with
  a fresh shared secret, trusted peers `*`, every listener on 127.0.0.1, no bootstrap to
  the internet. The Kubo nodes are online only to each other (swarm on loopback,
  routing `none`, peered explicitly), so a repin can fetch blocks from a live peer.

Every daemon runs in its own process session and is stopped (SIGTERM, then SIGKILL)
by the fixture that started it; repos live under pytest's tmp folders.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ape
import httpx
import pytest

from support import ROOT
from support.anvil import free_port

BIN = Path(os.environ.get("MEDCHAIN_HOME", ROOT / ".medchain")) / "bin"
IPFS = BIN / "ipfs"
CLUSTER_SERVICE = BIN / "ipfs-cluster-service"
BUILD = ROOT / "tools" / "ipfs" / "build.sh"
START_TIMEOUT = 60.0


def ensure_binaries() -> None:
    """Build the pinned Kubo and IPFS Cluster if .medchain/bin lacks them (idempotent)."""
    done = subprocess.run(
        [str(BUILD), "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0:
        pytest.fail(f"tools/ipfs/build.sh failed: {(done.stderr or done.stdout).strip()[-800:]}")


class _Daemon:
    """A child process in its own session, with its output in `log`."""

    process: subprocess.Popen[bytes] | None = None
    log: Path

    def _spawn(self, args: list[str], env: dict[str, str]) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _wait_until(self, url: str, what: str, method: str = "POST") -> None:
        deadline = time.monotonic() + START_TIMEOUT
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{what} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.request(method, url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{what} did not answer within {START_TIMEOUT}s")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if not self.running:
            return
        assert self.process is not None
        os.killpg(self.process.pid, sig)  # its own session: only this daemon
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def kill(self) -> None:
        """Stop abruptly, as a crashed machine would (SIGKILL, no clean shutdown)."""
        self.stop(signal.SIGKILL)


class KuboNode(_Daemon):
    """One Kubo daemon; `api_url` is its RPC endpoint, `swarm` its libp2p address."""

    def __init__(self, repo: Path, *, offline: bool = True):
        self.repo = repo
        self.offline = offline
        self.env = {**os.environ, "IPFS_PATH": str(repo)}
        self.log = repo.parent / f"{repo.name}.log"
        self.api_url = ""
        self.swarm = ""
        self.peer_id = ""

    def init(self) -> None:
        subprocess.run([str(IPFS), "init", "--profile", "test"], env=self.env, check=True,
                       capture_output=True, timeout=60)  # fmt: skip
        config_path = self.repo / "config"
        config: dict[str, Any] = json.loads(config_path.read_text())
        api, gateway, swarm = free_port(), free_port(), free_port()
        config["Addresses"].update(
            API=f"/ip4/127.0.0.1/tcp/{api}",
            Gateway=f"/ip4/127.0.0.1/tcp/{gateway}",
            Swarm=[f"/ip4/127.0.0.1/tcp/{swarm}"],
        )
        config["Bootstrap"] = []
        config["Routing"]["Type"] = "none"  # no DHT: peers are connected explicitly
        config["AutoConf"] = {"Enabled": False}
        config_path.write_text(json.dumps(config, indent=2))
        self.peer_id = config["Identity"]["PeerID"]
        self.api_url = f"http://127.0.0.1:{api}"
        self.swarm = f"/ip4/127.0.0.1/tcp/{swarm}/p2p/{self.peer_id}"

    def peer_with(self, others: list[KuboNode]) -> None:
        """Keep connections to `others` (Kubo's Peering: reconnects after a restart)."""
        config_path = self.repo / "config"
        config = json.loads(config_path.read_text())
        config["Peering"] = {
            "Peers": [{"ID": o.peer_id, "Addrs": [o.swarm.split("/p2p/")[0]]} for o in others]
        }
        config_path.write_text(json.dumps(config, indent=2))

    def start(self) -> str:
        if not (self.repo / "config").exists():
            self.init()
        args = [str(IPFS), "daemon"] + (["--offline"] if self.offline else [])
        self._spawn(args, self.env)
        self._wait_until(f"{self.api_url}/api/v0/version", f"kubo daemon {self.repo}")
        return self.api_url

    def rpc(self, path: str, **params: Any) -> httpx.Response:
        response = httpx.post(f"{self.api_url}/api/v0/{path}", params=params, timeout=60)
        response.raise_for_status()
        return response


class ClusterPeer(_Daemon):
    """One ipfs-cluster-service daemon beside its own (online, loopback) Kubo node."""

    def __init__(self, folder: Path, name: str, secret: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.kubo = KuboNode(folder / f"{name}-kubo", offline=False)
        self.path = folder / f"{name}-cluster"
        self.log = folder / f"{name}-cluster.log"
        self.env = {**os.environ, "IPFS_CLUSTER_PATH": str(self.path)}
        self.secret = secret
        self.cluster_port = free_port()
        self.api_url = f"http://127.0.0.1:{free_port()}"
        self.peer_id = ""

    @property
    def address(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.cluster_port}/p2p/{self.peer_id}"

    @property
    def store_url(self) -> str:
        """This peer as one entry of a `cluster+` store URL."""
        return f"{self.api_url}?ipfs={self.kubo.api_url}"

    def init(self) -> None:
        self.kubo.init()
        subprocess.run([str(CLUSTER_SERVICE), "init", "--consensus", "crdt", "-f"],
                       env=self.env, check=True, capture_output=True, timeout=60)  # fmt: skip
        self.peer_id = json.loads((self.path / "identity.json").read_text())["id"]

    def configure(self, peers: list[ClusterPeer]) -> None:
        """Point the service at its Kubo and at the other peers; loopback only."""
        others = [p for p in peers if p is not self]
        self.kubo.peer_with([p.kubo for p in others])
        config_path = self.path / "service.json"
        config: dict[str, Any] = json.loads(config_path.read_text())
        cluster = config["cluster"]
        cluster.update(
            peername=self.name,
            secret=self.secret,
            listen_multiaddress=[f"/ip4/127.0.0.1/tcp/{self.cluster_port}"],
            peer_addresses=[p.address for p in others],
            mdns_interval="0s",
            enable_relay_hop=False,
            monitor_ping_interval="1s",
            peer_watch_interval="1s",
            state_sync_interval="2s",
            pin_recover_interval="2s",
            dial_peer_timeout="1s",
        )
        cluster["pubsub"]["heartbeat_interval"] = "200ms"
        crdt = config["consensus"]["crdt"]
        crdt["trusted_peers"] = ["*"]
        crdt["batching"] = {"max_batch_size": 0, "max_batch_age": "0s"}
        # crdt heads are rebroadcast every minute by default: a peer that rejoins would
        # learn the pins made while it was down only then.
        crdt["rebroadcast_interval"] = "1s"
        api = config["api"]
        api["restapi"]["http_listen_multiaddress"] = self.api_url.replace(
            "http://127.0.0.1:", "/ip4/127.0.0.1/tcp/"
        )
        api["ipfsproxy"]["listen_multiaddress"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
        api["pinsvcapi"]["http_listen_multiaddress"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
        kubo_api = self.kubo.api_url.replace("http://127.0.0.1:", "/ip4/127.0.0.1/tcp/")
        api["ipfsproxy"]["node_multiaddress"] = kubo_api
        connector = config["ipfs_connector"]["ipfshttp"]
        connector.update(node_multiaddress=kubo_api, connect_swarms_delay="1s", pin_timeout="30s")
        config["monitor"]["pubsubmon"]["check_interval"] = "1s"
        for informer in config["informer"].values():
            informer["metric_ttl"] = "2s"
        pebble = config["datastore"]["pebble"]["pebble_options"]
        pebble.update(cache_size_bytes=16 << 20, mem_table_size=8 << 20)
        config["observations"]["metrics"]["prometheus_endpoint"] = (
            f"/ip4/127.0.0.1/tcp/{free_port()}"
        )
        config_path.write_text(json.dumps(config, indent=2))

    def start(self) -> None:
        if not self.kubo.running:
            self.kubo.start()
        self._spawn([str(CLUSTER_SERVICE), "daemon"], self.env)
        self._wait_until(f"{self.api_url}/id", f"cluster peer {self.name}", method="GET")

    def stop_all(self, *, crash: bool = False) -> None:
        """Stop the cluster peer and its Kubo node (SIGKILL when `crash`)."""
        for daemon in (self, self.kubo):
            daemon.kill() if crash else daemon.stop()


class Cluster:
    """`n` cluster peers on loopback; `url(min, max)` is a `cluster+` store URL."""

    def __init__(self, folder: Path, n: int = 3):
        secret = secrets.token_hex(32)
        self.folder = folder
        self.peers = [ClusterPeer(folder, f"peer{i}", secret) for i in range(n)]

    def start(self) -> Cluster:
        for peer in self.peers:
            peer.init()
        for peer in self.peers:
            peer.configure(self.peers)
        for peer in self.peers:
            peer.kubo.start()
        for peer in self.peers:
            peer.start()
        self.wait_for_peers(len(self.peers))
        return self

    def live(self) -> list[ClusterPeer]:
        return [p for p in self.peers if p.running]

    def wait_for_peers(self, count: int, timeout: float = 30.0) -> None:
        """Until every live peer sees `count` cluster peers with a working Kubo."""
        deadline = time.monotonic() + timeout
        while True:
            seen = [self._peer_count(p) for p in self.live()]
            if seen and min(seen) >= count:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster peers see {seen}, expected {count}")
            time.sleep(0.2)

    @staticmethod
    def _peer_count(peer: ClusterPeer) -> int:
        try:
            text = httpx.get(f"{peer.api_url}/peers", timeout=5).text
        except httpx.TransportError:
            return 0
        entries = [json.loads(line) for line in text.splitlines() if line.strip()]
        if len(entries) == 1 and isinstance(entries[0], list):
            entries = entries[0]
        return sum(1 for e in entries if not e.get("error") and not e.get("ipfs", {}).get("error"))

    def url(self, replication_min: int, replication_max: int) -> str:
        entries = ",".join(p.store_url for p in self.peers)
        return f"cluster+{entries}&min={replication_min}&max={replication_max}"

    def stop(self) -> None:
        for peer in self.peers:
            peer.stop_all()


@ape.fixture(scope="session", chain_isolation=False)  # a daemon: no chain state
def ipfs_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API URL of a running Kubo node, --offline (started once per session)."""
    ensure_binaries()
    base = tmp_path_factory.mktemp("kubo")
    node = KuboNode(base / "repo")
    node.start()
    try:
        yield node.api_url
    finally:
        node.stop()
        shutil.rmtree(base / "repo", ignore_errors=True)


@pytest.fixture
def ipfs_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A fresh 3-peer IPFS Cluster (each peer with its own Kubo), stopped afterwards."""
    ensure_binaries()
    base = tmp_path_factory.mktemp("cluster")
    cluster = Cluster(base)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
