"""Helpers the tests share, in one importable package (`tests/` is on pytest's
`pythonpath`, so `from support.anvil import anvil` works under any import mode).

Naming rule: one module per thing it supports, named after it without suffixes:
`support.<domain>` for a domain's constants and builders (trials, genomics, supply,
gateway, records), `support.<tool>` for an outside process or environment a test drives
(anvil, geth, ipfs, new_user, docs), `support.fuzzing` for the hypothesis settings and
`support.deploy` for deploying through the shipped deploy specs. Fixtures stay in the
conftest.py files; modules here define no fixtures except `support.ipfs`, whose daemon
fixtures storage/conftest.py re-exports, and the fixture factories of `support.deploy`,
whose fixtures the conftests assign (one fresh deployment per module, one fixture per contract).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the clone: tests read nothing outside it
BIN = Path(sys.executable).parent  # the venv's executables: ape, medchain (as installed)
