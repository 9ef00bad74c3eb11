"""A real IPFS node for tests: js-ipfs 0.66.1 from node_modules, offline, on loopback.

Load as a pytest plugin (`pytest_plugins = ["tests.ipfs_node"]`); tests that use the
`ipfs_api` fixture are marked `@pytest.mark.ipfs`. The node gets its own repo in a
temporary folder, the `test` profile, API/gateway/swarm on free 127.0.0.1 ports and
no bootstrap peers, so nothing leaves the machine. It is stopped after the session.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anvil_node import free_port

ROOT = Path(__file__).resolve().parents[1]
JSIPFS = ROOT / "node_modules" / ".bin" / "jsipfs"
START_TIMEOUT = 60.0


def install_js_ipfs() -> None:
    """Install the pinned npm parts (js-ipfs among them) from package-lock.json."""
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0 or not JSIPFS.exists():
        pytest.fail(f"could not install js-ipfs with `npm ci`: {done.stderr.strip()[-500:]}")


class IpfsNode:
    """One js-ipfs daemon process; `api_url` is its Kubo RPC endpoint."""

    def __init__(self, repo: Path):
        self.repo = repo
        self.env = {**os.environ, "IPFS_PATH": str(repo)}
        self.process: subprocess.Popen[bytes] | None = None
        self.api_url = ""
        self.log = repo.parent / "jsipfs.log"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [str(JSIPFS), *args], env=self.env, check=True, capture_output=True, timeout=120
        )

    def start(self) -> str:
        if not JSIPFS.exists():
            install_js_ipfs()
        self._run("init", "--profile", "test")
        config_path = self.repo / "config"
        config = json.loads(config_path.read_text())
        api, gateway, swarm = free_port(), free_port(), free_port()
        config["Addresses"] = {
            **config.get("Addresses", {}),
            "API": f"/ip4/127.0.0.1/tcp/{api}",
            "Gateway": f"/ip4/127.0.0.1/tcp/{gateway}",
            "Swarm": [f"/ip4/127.0.0.1/tcp/{swarm}"],
            "RPC": f"/ip4/127.0.0.1/tcp/{free_port()}",
            "Delegates": [],
        }
        config["Bootstrap"] = []
        config_path.write_text(json.dumps(config, indent=2))
        self.api_url = f"http://127.0.0.1:{api}"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(JSIPFS), "daemon", "--offline"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jsipfs daemon exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.post(f"{self.api_url}/api/v0/version", timeout=2).status_code == 200:
                    return self.api_url
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"jsipfs daemon did not answer within {START_TIMEOUT}s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # its own session: only this daemon
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


@pytest.fixture(scope="session")
def ipfs_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API URL of a running js-ipfs node (started once per session)."""
    base = tmp_path_factory.mktemp("jsipfs")
    node = IpfsNode(base / "repo")
    node.start()
    try:
        yield node.api_url
    finally:
        node.stop()
        shutil.rmtree(base / "repo", ignore_errors=True)
