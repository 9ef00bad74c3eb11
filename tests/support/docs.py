"""Runnable docs: the fenced blocks of README.md and docs/*.md, extracted and run.

Conventions (docs/architecture.md, "Runnable docs"):

* ```sh (or ```bash) is a step of the page's scenario, run with `bash -euo pipefail` in
  order from the user's folder outside the clone. Variables a block sets are seen by the
  later blocks of the same page (every assignment is exported into the next step).
* ```sh fails is a step expected to fail: non-zero exit and exactly one line on stderr.
* ```sh not-run is a command the harness cannot run for the reason it names on the
  block's info line (`not-run: the harness starts anvil itself`); the test keeps a
  reviewed list of those reasons.
* ```text (output samples, synopses, layouts), ```python, ```solidity, ```json, ```toml
  and ```yaml are not run. A fence without a language is refused: every block says what
  it is.

Placeholders the harness provides through the environment: NODE (the node's URI), CLONE
(the clone, where `ape run` finds the project's scripts), SECRETS (a folder of passphrase
files), MEDCHAIN_DEPLOYMENTS (the user's books), MEDCHAIN_PASSPHRASE_FILE, HOME.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

RUN_LANGUAGES = ("sh", "bash")
QUIET_LANGUAGES = ("text", "python", "solidity", "json", "toml", "yaml", "jsonl")
FENCE = re.compile(r"^```(.*)$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    language: str
    mode: str  # "run" | "fails" | "not-run" | "quiet"
    reason: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown page; refuses a fence without a language."""
    out: list[Block] = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        info = m.group(1).strip()
        start = i
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        words = info.split(maxsplit=1)
        language = words[0] if words else ""
        rest = words[1] if len(words) > 1 else ""
        if language in RUN_LANGUAGES:
            if rest.startswith("not-run"):
                mode, reason = "not-run", rest.removeprefix("not-run").lstrip(": ").strip()
            elif rest.startswith("fails"):
                mode, reason = "fails", ""
            elif rest:
                raise ValueError(f"{path.name}:{start + 1}: unknown block mode {rest!r}")
            else:
                mode, reason = "run", ""
        elif language in QUIET_LANGUAGES:
            mode, reason = "quiet", ""
        else:
            raise ValueError(
                f"{path.name}:{start + 1}: fenced block without a known language ({info!r}): "
                f"use one of {RUN_LANGUAGES + QUIET_LANGUAGES}"
            )
        out.append(Block(path.name, start + 1, language, mode, reason, "\n".join(body) + "\n"))
    return out


RUNNER = """set -euo pipefail
set -a
. "$1/state"
cd "$(cat "$1/cwd")"
. "$2"
set +a
export -p > "$1/state.next"
pwd > "$1/cwd.next"
"""


@dataclass
class Scenario:
    """One page's shell state between its blocks: exported variables and the folder."""

    folder: Path  # where the state lives
    cwd: Path  # the user's folder the page starts in

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "state").write_text("")
        (self.folder / "cwd").write_text(str(self.cwd))
        (self.folder / "runner.sh").write_text(RUNNER)

    def run(
        self, block: Block, env: dict[str, str], timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        script = self.folder / f"block-{block.line}.sh"
        script.write_text(block.code)
        out = subprocess.run(
            ["bash", str(self.folder / "runner.sh"), str(self.folder), str(script)],
            env=env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if out.returncode == 0:
            (self.folder / "state.next").replace(self.folder / "state")
            (self.folder / "cwd.next").replace(self.folder / "cwd")
        return out


def walk(page: Path, scenario: Scenario, env: dict[str, str], timeout: float = 180) -> int:
    """Run the page's `sh` blocks in order in `scenario`, asserting each outcome (exit 0, or
    for `fails` a non-zero exit with one `error:` line on stderr; never a traceback);
    returns how many ran."""
    ran = 0
    for block in blocks(page):
        if block.mode in ("quiet", "not-run"):
            continue
        out = scenario.run(block, env, timeout=timeout)
        shown = f"{block.where}\n$ {block.code}\nstdout: {out.stdout[-2000:]}\nstderr: {out.stderr[-3000:]}"
        assert "Traceback" not in out.stderr, shown
        if block.mode == "fails":
            assert out.returncode != 0, shown
            lines = out.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), shown
        else:
            assert out.returncode == 0, shown
        ran += 1
    return ran
