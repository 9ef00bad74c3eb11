"""How a failing test is reported: its own frames and message first, and the crash text
of any geth node that died during it.

CI shows only part of a failed run's output. ape keeps every traceback frame under the
project folder, and the venv lives there, so its reports listed pytest's and pluggy's
frames with their locals and pushed the assertion message out of that part. A geth crash
was reported by one line whose log had gone with CI's machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

from _pytest._code.code import Traceback

from medchain.network.clique import CRASH_MARKERS

CRASH_LINES = 60  # of a crash: its message, the crashing goroutine's stack, a few more


def without_venv_frames(excinfo) -> None:
    """Drop the traceback frames of installed packages (pytest, pluggy, ape), keeping the
    test's and the project's own."""
    venv = Path(sys.prefix).resolve().as_posix()
    own = [f for f in excinfo.traceback if not Path(f.path).resolve().as_posix().startswith(venv)]
    if own:
        excinfo.traceback = Traceback(own)


def geth_crashes(root: Path, since: float) -> list[tuple[str, str]]:
    """(title, text) for each geth.log under `root` written since `since` that holds a
    crash: from its first crash line on, at most CRASH_LINES lines."""
    sections = []
    for log in sorted(root.rglob("geth.log")):
        try:
            if log.stat().st_mtime < since:
                continue
            lines = log.read_text(errors="replace").splitlines()
        except OSError:
            continue
        first = next((i for i, line in enumerate(lines) if line.startswith(CRASH_MARKERS)), None)
        if first is not None:
            sections.append((f"geth crash in {log}", "\n".join(lines[first : first + CRASH_LINES])))
    return sections
