"""Gas is deterministic: a committed figure that moves without `make bench` updating
bench/gas.json fails here (not a timed test)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.anvil
def test_gas_matches_committed_snapshot():
    out = subprocess.run(
        [sys.executable, "-m", "bench.run", "--check", "--gas-only"],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, (
        "gas moved; run `make bench` and commit bench/gas.json:\n" + out.stdout[-4000:]
    )
    assert "differ from bench/gas.json" in out.stdout
