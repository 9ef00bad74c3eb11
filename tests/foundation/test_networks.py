"""Deploy and demo on the three kinds of network: the in-process chain, anvil started
by ape-foundry, and an already-running node reached by URI (a private chain's shape)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.anvil import anvil

ROOT = Path(__file__).resolve().parents[2]
APE = str(Path(sys.executable).with_name("ape"))


def _ape(*args, env=None, timeout=600):
    return subprocess.run(
        [APE, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def medchain_home(tmp_path):
    """Keep every address book these runs write inside the test's temp folder."""
    return {
        "MEDCHAIN_HOME": str(tmp_path / "home"),
        "MEDCHAIN_DEPLOYMENTS": str(tmp_path / "deployments"),
    }


@pytest.fixture
def anvil_uri():
    """anvil as a separate process, as a private chain's node would be."""
    with anvil("--chain-id", "4242") as uri:
        yield uri


def _book(env: dict[str, str], name: str, local: bool = True) -> dict:
    root = (
        Path(env["MEDCHAIN_HOME"]) / "deployments" if local else Path(env["MEDCHAIN_DEPLOYMENTS"])
    )
    return json.loads((root / name / "index.json").read_text())


@pytest.mark.anvil
def test_deploy_by_uri_writes_book_and_is_idempotent(anvil_uri, medchain_home):
    deploy = ("run", "deploy", "--network", anvil_uri, "--account", "TEST::0")
    first = _ape(*deploy, env=medchain_home)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "deployed at" in first.stdout
    index = _book(medchain_home, "ethereum-chain-4242", local=False)  # a named chain: committed
    assert index["chain_id"] == 4242 and index["contracts"]

    again = _ape(*deploy, env=medchain_home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "contracts unchanged; nothing deployed" in again.stdout


@pytest.mark.anvil
def test_demo_against_a_running_node(anvil_uri, medchain_home):
    out = _ape("run", "demo", "--network", anvil_uri, env=medchain_home)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Demo complete" in out.stdout


@pytest.mark.anvil
def test_deploy_on_anvil_started_by_ape_foundry(medchain_home):
    out = _ape("run", "deploy", "--network", "ethereum:local:foundry", env=medchain_home)
    assert out.returncode == 0, out.stdout + out.stderr
    assert _book(medchain_home, "ethereum-local-foundry-31337")["contracts"]


def test_demo_on_the_in_process_chain(medchain_home):
    out = _ape("run", "demo", env=medchain_home)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Demo complete" in out.stdout
