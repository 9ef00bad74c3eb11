"""How a failing test is reported (tests/support/reports.py): installed packages' frames
are dropped, and a geth log that crashed during the test is shown from its crash line."""

from __future__ import annotations

import os
import time

import pytest
from eth_utils import to_checksum_address

from support.reports import CRASH_LINES, geth_crashes, without_venv_frames

PANIC = "panic: bad IV length"


def _log(path, text, *, age=0.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))


def test_a_crashed_log_is_shown_from_its_crash_line_and_quiet_or_old_logs_are_not(tmp_path):
    stack = [f"\tframe {i}" for i in range(CRASH_LINES + 10)]
    _log(tmp_path / "a/node0/geth.log", "\n".join(["INFO started", PANIC, *stack]))
    _log(tmp_path / "a/node1/geth.log", "INFO started\nINFO sealed block\n")
    _log(tmp_path / "b/node0/geth.log", f"{PANIC}\n", age=600)  # before the test
    sections = geth_crashes(tmp_path, since=time.time() - 60)
    assert [title for title, _ in sections] == [f"geth crash in {tmp_path}/a/node0/geth.log"]
    lines = sections[0][1].splitlines()
    assert lines[0] == PANIC and len(lines) == CRASH_LINES


def test_installed_packages_frames_are_dropped_and_the_tests_kept():
    with pytest.raises(ValueError) as raised:
        to_checksum_address("not an address")  # raises inside eth_utils, in the venv
    assert any("site-packages" in str(f.path) for f in raised.traceback)
    without_venv_frames(raised)
    paths = [str(f.path) for f in raised.traceback]
    assert paths == [__file__]
