"""anvil as a separate process on a free loopback port: the shape of a private chain's
node, reached by URI. Shared by the tests that need one (`from support.anvil import anvil`)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from medchain.network.clique import free_port

START_TIMEOUT = 20.0


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float) -> None:
    """Wait until `process` (a server started by a test) accepts connections on the
    loopback `port`; fail with its output if it exits or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            exited = process.poll() is not None  # a live process's pipe would block read()
            out = process.stdout.read() if exited and process.stdout else ""
            raise RuntimeError(f"{what} did not start on port {port}: {out or 'no output'}")
        time.sleep(0.1)


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
        wait_for_port(port, process, "anvil", START_TIMEOUT)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def deployed_anvil(
    book_dir: Path, *names: str, wire_roles: bool = True
) -> Iterator[tuple[str, Any, Any, dict[str, Any]]]:
    """An anvil this process is connected to (chain id SDK_CHAIN_ID, 20 accounts), with
    `names` and their dependencies (every contract when none is named) deployed by the
    shipped specs into the address book at `book_dir`; yields (uri, book, deploy context,
    roles). With `wire_roles` the specs grant their roles to the named accounts, as the
    demo's deploy does."""
    from ape import accounts, networks

    from medchain.demo import role_accounts
    from medchain.deploy import deploy_all
    from medchain.deployments import AddressBook
    from support.deploy import specs_for

    with (
        anvil("--accounts", "20", "--chain-id", str(SDK_CHAIN_ID)) as uri,
        networks.parse_network_choice(uri),
    ):
        roles = role_accounts(accounts.test_accounts)
        book = AddressBook(book_dir)
        ctx, _ = deploy_all(
            roles["deployer"],
            book,
            specs=specs_for(names) if names else None,
            accounts=roles if wire_roles else None,
            log=lambda _: None,
        )
        yield uri, book, ctx, roles
