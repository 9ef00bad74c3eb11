"""Helpers for the consortium-network tests: the project's geth (skip when it is not
built), the medchain CLI and `ape` as subprocesses with a test's own MEDCHAIN_HOME, and a
test module's own network, destroyed however its tests end."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from support import BIN, ROOT

MEDCHAIN = str(BIN / "medchain")
APE = str(BIN / "ape")


def required_geth() -> Path:
    from medchain.errors import ConfigurationError
    from medchain.network import find_geth

    try:
        return find_geth()
    except ConfigurationError as exc:
        pytest.fail(f"{exc} (tools/bootstrap.sh builds it; a missing geth is a set-up failure)")


@contextmanager
def own_network(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    *,
    books: bool = False,
    unset: Sequence[str] = (),
) -> Iterator[tuple[Path, dict[str, str]]]:
    """The setting of a test module's own network `name` (the project's geth required): a
    new temporary folder `root`, MEDCHAIN_HOME=root/home (and MEDCHAIN_DEPLOYMENTS=root/books
    with `books`) set and `unset` removed in this process while it is in use; yields `root`
    and the variables set (for the subprocesses a test runs). On the way out, however the
    tests ended, every node of `name` is stopped and its folder deleted."""
    from medchain.network import destroy

    required_geth()
    root = tmp_path_factory.mktemp(name)
    variables = {"MEDCHAIN_HOME": str(root / "home")}
    if books:
        variables["MEDCHAIN_DEPLOYMENTS"] = str(root / "books")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in variables.items():
            mp.setenv(key, value)
        for key in unset:
            mp.delenv(key, raising=False)
        try:
            yield root, variables
        finally:
            destroy(name)


def run(cmd: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd,
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def medchain(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return run([MEDCHAIN, *args], env, timeout)


def medchain_json(*args: str, env: dict[str, str]) -> Any:
    out = medchain(*args, "--json", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def ape(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return run([APE, *args], env, timeout)


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.25)


def block_height(url: str) -> int:
    """The node's latest block number."""
    from medchain.network.rpc import rpc

    return int(rpc(url, "eth_blockNumber"), 16)
