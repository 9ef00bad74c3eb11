"""The CLI refuses with one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from medchain.domains import DOMAINS, SERVICES


def _medchain(*args, cwd=None):
    exe = Path(sys.executable).with_name("medchain")
    # Address books are looked up from the working directory when no root is exported.
    dropped = {"MEDCHAIN_DEBUG", "MEDCHAIN_ROOT", "MEDCHAIN_HOME", "MEDCHAIN_DEPLOYMENTS"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run([str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_unknown_address_book_is_one_line_and_exit_1(tmp_path):
    out = _medchain("deployments", "list", "--book", "nowhere", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip() == "error: no address book named 'nowhere'"
    assert "Traceback" not in out.stderr + out.stdout


def test_deployments_list_reads_a_book(tmp_path, deployed, book_dir):
    import shutil

    shutil.copytree(book_dir / "session", tmp_path / "deployments" / "demo-net")
    out = _medchain("deployments", "list", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    import json

    rows = json.loads(out.stdout)
    assert {r["contract"] for r in rows} == set(deployed.contracts)
    assert all(r["book"] == "demo-net" for r in rows)


def test_usage_errors_exit_non_zero_without_traceback():
    out = _medchain("deployments", "list", "--bogus")
    assert out.returncode == 2
    assert "No such option: --bogus" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("package", DOMAINS + SERVICES)
def test_a_domain_cli_imports_first_in_a_fresh_interpreter(package):
    """Any import order works: a domain's CLI imported before `medchain.cli` (a script or a
    plugin that only wants that domain's groups), then the root gathers it with the rest."""
    code = (
        f"import medchain.{package}.cli as first\n"
        "from medchain.cli import cli\n"
        "assert first.COMMANDS and all(cli.commands[g.name] is g for g in first.COMMANDS)\n"
        "assert set(cli.commands) >= {'deployments', 'address', 'dev'}\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
