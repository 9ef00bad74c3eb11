"""anvil as a separate process on a free loopback port: the shape of a private chain's
node, reached by URI. Shared by the tests that need one (`from support.anvil import anvil`)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Chain id for anvils this pytest process connects to itself (networks.parse_network_choice):
# ape keys its test-isolation snapshots by chain id, and leaving a node whose id equals the
# in-process chain's (31337) drops that chain's snapshots, so every later test would run
# without isolation. Nodes only reached by subprocesses may keep anvil's default.
SDK_CHAIN_ID = 31338


@contextmanager
def anvil(*args: str) -> Iterator[str]:
    """Start anvil with extra `args` (e.g. "--chain-id", "4242"); yield its URI; stop it."""
    port = free_port()
    process = subprocess.Popen(
        ["anvil", "--host", "127.0.0.1", "--port", str(port), "--silent", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"anvil did not start on port {port}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
