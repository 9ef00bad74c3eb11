"""tools/geth/build.sh: skipped when the pinned geth is present; one clear line when Go
is missing or too old (no build is attempted, nothing is written to $HOME)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from support.geth import ROOT, required_geth

SCRIPT = ROOT / "tools" / "geth" / "build.sh"


def _build(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_build_is_skipped_when_the_pinned_geth_is_present():
    geth = required_geth()
    assert geth.parent.parent.name == ".medchain", (
        f"geth comes from {geth}, not the project's build"
    )
    start = time.monotonic()
    out = _build({**os.environ, "MEDCHAIN_HOME": str(geth.parent.parent)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"[geth] geth 1.13.15 present at {geth}"
    assert time.monotonic() - start < 30


def _path_without_go(tmp_path: Path) -> str:
    """PATH with only the tools the script needs besides Go (bash, coreutils, sed, grep)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "dirname", "mkdir", "sed", "grep", "printf", "cat"):
        found = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        if found:
            (bindir / tool).symlink_to(found)
    return str(bindir)


def test_build_refuses_in_one_line_without_go(tmp_path):
    env = {"PATH": _path_without_go(tmp_path), "MEDCHAIN_HOME": str(tmp_path / "home")}
    out = _build(env)
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        "[geth] error: Go >= 1.26 not found; install Go (https://go.dev/dl) to build geth 1.13.15"
    ]
    assert not (tmp_path / "home" / "bin" / "geth").exists()


def test_build_refuses_in_one_line_with_an_old_go(tmp_path):
    path = _path_without_go(tmp_path)
    old_go = Path(path) / "go"  # answers `go env GOVERSION` as Go 1.22 would
    old_go.write_text(
        '#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo go1.22.12 && exit 0\nexit 2\n'
    )
    old_go.chmod(0o755)
    out = _build({"PATH": path, "MEDCHAIN_HOME": str(tmp_path / "home")})
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        "[geth] error: Go >= 1.26 required to build geth 1.13.15, found go1.22.12"
    ]
