"""Everything a `medchain` command writes: results on stdout through `emit` (JSON with
`--json`, else text derived from the same data), progress bars and notes on stderr, and
the one-line refusal `fail`. stdout carries results only: ape's log lines, call traces and
account prompts are routed to stderr here too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from medchain.timeutil import iso_time  # re-exported: the one ISO 8601 writer

# Where the `--json` flag of the running command is remembered (`click.Context.meta` is
# shared by a command's context and its parents'), so `emit` needs no flag passed down.
JSON_META_KEY = "medchain.json"


def json_requested(as_json: bool | None = None) -> bool:
    """Whether this run prints JSON: `as_json` when given, else the running command's `--json`."""
    if as_json:
        return True
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(JSON_META_KEY))


def to_jsonable(value: Any) -> Any:
    """Best-effort conversion of SDK results (dataclasses, bytes, addresses) to JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "address"):
        return str(value.address)
    return str(value)


def emit(
    value: Any, as_json: bool | None = None, human: Callable[[Any], str] | None = None
) -> None:
    """Print a result: JSON when asked (`as_json` or the command's `--json`), else
    `human(data)` or a plain rendering, where `data` is the JSON-able form of `value`."""
    data = to_jsonable(value)
    if json_requested(as_json):
        click.echo(json.dumps(data, indent=2))
        return
    if human is not None:
        click.echo(human(data))
        return
    shown = humanize(data)
    if isinstance(shown, dict):
        width = max((len(k) for k in shown), default=0)
        for key, item in shown.items():
            click.echo(
                f"{key.ljust(width)}  {_inline(item) if isinstance(item, dict | list) else item}"
            )
    elif isinstance(shown, list):
        for item in shown:
            click.echo(_inline(item) if isinstance(item, dict | list) else item)
    else:
        click.echo(shown)


def emit_document(text: str) -> None:
    """Print a document the user asked for in its own format (a signed message, a FHIR
    resource, CSV): the same bytes with or without `--json`."""
    click.echo(text, nl=not text.endswith("\n"))


def emit_line(data: dict[str, Any]) -> None:
    """One JSON object on one line, for commands that stream results (`--json` only)."""
    click.echo(json.dumps(to_jsonable(data)))


def say(text: str) -> None:
    """A text line of a streaming command's output (a long-running agent); with `--json`
    the stream is JSON lines (`emit_line`) and these lines are left out."""
    if not json_requested():
        click.echo(text)


def note(text: str) -> None:
    """A remark for the person at the terminal (stderr): never part of the result."""
    click.echo(text, err=True)


def fail(message: str) -> None:
    """Print one line on stderr and exit 1: the only way a command refuses."""
    click.echo(f"error: {' '.join(str(message).split())}", err=True)
    sys.exit(1)


@contextlib.contextmanager
def progress(total: int | None, show: bool) -> Iterator[Callable[[str, int], None] | None]:
    """Transfer progress bars on stderr, one per stage: yields `advance(stage, nbytes)`, or
    None when `show` is false (JSON output, small files) or stderr is no terminal (a log
    file would only collect the bars' control lines), so callers pass it on as is."""
    from rich.console import Console

    console = Console(stderr=True)
    if not (show and console.is_terminal):
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description:>8}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn())  # fmt: skip
    with Progress(*columns, transient=True, console=console) as bars:
        tasks: dict[str, Any] = {}

        def advance(stage: str, n: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.advance(tasks[stage], n)

        yield advance


# Keys whose integer values are unix seconds in SDK results (start/end of a provision,
# break-glass times, deadlines, block and wall-clock times).
_TIME_KEYS = ("start", "end", "deadline", "timestamp", "wall_clock", "expiry_time")
_TIME_SUFFIXES = ("_at", "_time", "_until", "_deadline")


def _is_time_key(key: str) -> bool:
    return key in _TIME_KEYS or key.endswith(_TIME_SUFFIXES)


def _time_text(seconds: int) -> str:
    """`iso_time`, or the number itself when it is no date (out of range)."""
    try:
        return iso_time(seconds)
    except (OverflowError, OSError, ValueError):
        return str(seconds)


def humanize(data: Any, key: str = "") -> Any:
    """The text rendering of a JSON-able result: unix times as ISO dates, lists of names
    joined, role ids as role names (bitmasks and enums are names already in SDK results)."""
    from medchain.errors import role_label

    if isinstance(data, dict):
        return {k: humanize(v, k) for k, v in data.items()}
    if isinstance(data, list):
        if data and all(isinstance(v, str) for v in data) and key:
            return ", ".join(data)
        return [humanize(v, key) for v in data]
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, int) and _is_time_key(key) and data > 0:
        return _time_text(data)
    if isinstance(data, str) and "role" in key.lower() and len(data) == 66:
        try:
            return role_label(bytes.fromhex(data[2:])) or data
        except ValueError:
            return data
    return data


def _inline(item: Any) -> str:
    """A nested value on one line: `key=value` pairs for an object."""
    if isinstance(item, dict):
        return "  ".join(
            f"{k}={_inline(v) if isinstance(v, dict | list) else v}" for k, v in item.items()
        )
    if isinstance(item, list):
        return ", ".join(_inline(v) if isinstance(v, dict | list) else str(v) for v in item)
    return str(item)


def ape_logs_to_stderr() -> None:
    """Every ape log line to stderr. ape 0.8 sends all levels to stdout (its per-level
    `err=True` table is keyed by enum but looked up by level name), so an error's trace
    would land in front of a command's output. Also routes account prompts to stderr."""
    from ape.logging import ClickHandler, logger

    from medchain.signing import prompts_to_stderr

    for handler in logger._logger.handlers:
        if isinstance(handler, ClickHandler):
            handler.echo_kwargs = {
                level: {"err": True} for level in ("error", "warning", "success", "info", "debug")
            }
    prompts_to_stderr()
    _revert_traces_off_stdout()


def _revert_traces_off_stdout() -> None:
    """ape prints a call trace to stdout when a transaction reverts (before raising), which
    would put text in front of `--json` output and a second line beside the one-line
    refusal. Keep it for MEDCHAIN_DEBUG=1, on stderr."""
    from ape_ethereum.trace import Trace

    if getattr(Trace.show, "_medchain", False):
        return
    original = Trace.show

    def show(self: Any, verbose: bool = False, file: Any = None) -> None:
        if os.environ.get("MEDCHAIN_DEBUG"):
            original(self, verbose=verbose, file=sys.stderr if file in (None, sys.stdout) else file)

    show._medchain = True  # type: ignore[attr-defined]
    Trace.show = show  # type: ignore[method-assign]


def quiet_ape_logs() -> None:
    """`ape_logs_to_stderr`, and only warnings and errors unless MEDCHAIN_DEBUG is set."""
    from ape.logging import logger

    ape_logs_to_stderr()
    if not os.environ.get("MEDCHAIN_DEBUG"):
        logger.set_level("WARNING")


def quietly(fn: Callable[..., Any], *args: Any) -> Any:
    """Run `fn` with ape's warnings held back: enabling autosign for a passphrase the user
    gave on purpose logs ape's "Danger! This account will now sign any transaction", which
    would be a second line beside a command's one-line refusal (MEDCHAIN_DEBUG shows it)."""
    from ape.logging import logger

    if os.environ.get("MEDCHAIN_DEBUG"):
        return fn(*args)
    before = logger.level
    logger.set_level("ERROR")
    try:
        return fn(*args)
    finally:
        logger.set_level(before)
