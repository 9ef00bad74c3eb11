"""Helpers for the consortium-network tests: the project's geth (skip when it is not
built), the medchain CLI and `ape` as subprocesses with a test's own MEDCHAIN_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
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
