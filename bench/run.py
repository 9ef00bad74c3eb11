"""`make bench` / `python -m bench.run`: record gas per operation on anvil into
bench/gas.json + bench/gas.md, and every other figure into bench/results/<domain>.json.

`--check` measures gas and compares it with the committed snapshot instead of
writing it (exit 1 on any difference): the snapshot test calls this.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import pkgutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench
from bench.gas import GasRecorder, compare, load_snapshot, write_snapshot

RESULTS = Path(__file__).with_name("results")


def _modules(prefix: str, only: set[str] | None) -> list[tuple[str, object]]:
    found = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name.startswith(prefix):
            domain = info.name.removeprefix(prefix)
            if only and domain not in only:
                continue
            found.append((domain, importlib.import_module(f"bench.{info.name}")))
    return found


def record_figures(domain: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a perf_ module's `run` and write its record to bench/results/<domain>.json: the
    figures, when they were recorded and how long the run took. Returns the record."""
    started = time.perf_counter()
    figures = run()
    record = {
        "domain": domain,
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "figures": figures,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{domain}.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def measure_gas(only: set[str] | None = None) -> GasRecorder:
    from ape import accounts, networks

    from medchain.demo import role_accounts
    from medchain.deploy import deploy_all
    from medchain.deployments import AddressBook

    with networks.ethereum.local.use_provider("foundry"), tempfile.TemporaryDirectory() as tmp:
        roles = role_accounts(accounts.test_accounts)
        ctx, _ = deploy_all(
            roles["deployer"], AddressBook(Path(tmp) / "bench"), accounts=roles, log=lambda _: None
        )
        recorder = GasRecorder(ctx.contracts, roles)
        for domain, module in _modules("gas_", only):
            print(f"gas: {domain}")
            module.measure(recorder)  # type: ignore[attr-defined]
    return recorder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare gas with bench/gas.json")
    parser.add_argument("--gas-only", action="store_true", help="skip the non-gas figures")
    parser.add_argument("--only", action="append", help="only these domains (repeatable)")
    args = parser.parse_args(argv)
    only = set(args.only) if args.only else None

    recorder = measure_gas(only)
    committed = load_snapshot()
    if args.check:
        problems = compare(recorder.figures, committed)
        if only:
            problems = [p for p in problems if "no longer measured" not in p]
        for line in problems:
            print(line)
        print(
            f"{len(recorder.figures)} operations measured, {len(problems)} differ from bench/gas.json"
        )
        return 1 if problems else 0
    if only is None:
        write_snapshot(recorder.figures)
    else:  # accounts, hence calldata, differ from a full run: never mix the two
        print("--only: figures printed, bench/gas.json left as it is (a full run writes it)")
    for op, fig in sorted(recorder.figures.items()):
        print(f"  {op:<55} {fig.gas:>10,}  floor {fig.floor:>10,}  x{fig.ratio:.2f}")
    if args.gas_only:
        return 0
    for domain, module in _modules("perf_", only):
        print(f"perf: {domain}")
        record = record_figures(domain, module.run)  # type: ignore[attr-defined]
        print(json.dumps(record["figures"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
