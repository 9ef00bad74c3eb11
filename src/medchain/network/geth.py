"""Where the project's geth lives and which version it is.

`tools/geth/build.sh` builds the pinned go-ethereum release from the Go module proxy
into `.medchain/bin/geth` (v1.13.15: the last release that seals Clique blocks)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from medchain.deployments import project_root
from medchain.errors import ConfigurationError

GETH_VERSION = "1.13.15"
# The clone an editable install runs from (src/medchain/network/geth.py -> the clone), where
# tools/geth/build.sh put geth; for a wheel install it is site-packages' parent, holding none.
INSTALLED_FROM = Path(__file__).resolve().parents[3]


def medchain_home() -> Path:
    """The project's local data folder (`$MEDCHAIN_HOME`, default `<clone>/.medchain`)."""
    return Path(os.environ.get("MEDCHAIN_HOME") or project_root() / ".medchain")


def geth_version(binary: str | Path) -> str | None:
    """`1.13.15` from `geth version`, or None when it does not run."""
    try:
        out = subprocess.run(
            [str(binary), "version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except OSError:
        return None
    for line in out.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip().removesuffix("-stable")
    return None


def find_geth() -> Path:
    """The geth binary at the pinned version: `$MEDCHAIN_GETH`, else the project's build
    (`$MEDCHAIN_HOME/bin/geth`, `<project>/.medchain/bin/geth`, then the build in the clone
    medchain is installed from, for a user running `medchain network` from another folder),
    else `geth` on PATH."""
    candidates: list[Path] = []
    if os.environ.get("MEDCHAIN_GETH"):
        candidates.append(Path(os.environ["MEDCHAIN_GETH"]))
    candidates += [
        medchain_home() / "bin" / "geth",
        project_root() / ".medchain" / "bin" / "geth",
        INSTALLED_FROM / ".medchain" / "bin" / "geth",
    ]
    on_path = shutil.which("geth")
    if on_path:
        candidates.append(Path(on_path))
    seen: list[str] = []
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            version = geth_version(candidate)
            if version == GETH_VERSION:
                return candidate
            seen.append(f"{candidate} is {version or 'not runnable'}")
    found = f" ({'; '.join(seen)})" if seen else ""
    raise ConfigurationError(
        f"geth {GETH_VERSION} not found{found}; build it with tools/geth/build.sh "
        "(or set MEDCHAIN_GETH)"
    )
