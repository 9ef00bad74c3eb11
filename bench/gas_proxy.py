"""What an ERC-1967 proxy costs each operation, measured: it decides, per contract, between
the UUPS proxy design and immutable versions with a migration (docs/upgrades.md).

`python -m bench.gas_proxy` runs the whole gas harness (every bench/gas_<domain>.py) in a
fresh process on a fresh anvil once with every contract called directly, then once per
contract with only that contract behind an ERC1967Proxy; fresh processes give identical
accounts, calldata and state, so each difference is the proxy's alone. The proxying is
exact: right after the deploy, the contract's runtime code (immutables included) is copied
to a new address and its own address gets MedchainProxy's runtime code with the ERC-1967
implementation slot pointing at the copy: same address, same storage, same operations.
RecordRegistry, deployed behind its proxy, is made direct the other way round (its
implementation's code at the proxy's address). A contract called by others (the DID
registry by every domain) also passes its overhead to its callers' operations, which the
run shows: a contract may use the proxy design only if, with it alone behind a proxy, every
operation that has an anchor in bench/gas.json stays within it.

Writes bench/results/proxy_overhead.json: per operation its direct gas, its gas with its
own contract behind a proxy, the overhead, the anchor and both headrooms, and the overhead
it takes from each proxied callee; per contract the decision and the operations over their
anchors. In `make bench` itself, `measure(g)` records the design's own new operation: a
UUPS upgrade of RecordRegistry by its admin.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

RESULT = Path(__file__).with_name("results") / "proxy_overhead.json"
DIRECT = "direct"
UPGRADEABLE = "RecordRegistry"  # deployed behind MedchainProxy by the pipeline
SHADOW_BASE = 0xC0DE << 144  # where proxied contracts' code is copied: no account lives there
UPGRADE = "RecordRegistry.upgradeToAndCall (UUPS, by the admin)"  # exists only behind a proxy


def measure(g: Any) -> None:
    """The UUPS upgrade itself (a new implementation of the same code, by the admin)."""
    from ape import project

    registry = g.contracts[UPGRADEABLE]
    deployer = g.accounts["deployer"]
    implementation = deployer.deploy(project.RecordRegistry, g.contracts["DIDRegistry"].address)
    g.record(UPGRADE, registry.upgradeToAndCall(implementation.address, b"", sender=deployer))


def _rpc(method: str, *params: Any) -> Any:
    from ape import chain

    return chain.provider.make_request(method, list(params))


def _code(address: str) -> str:
    from ape import chain

    return "0x" + bytes(chain.provider.get_code(address)).hex()


def _slot_word(address: str) -> str:
    return "0x" + bytes.fromhex(address.removeprefix("0x")).rjust(32, b"\0").hex()


def _swap(contracts: dict[str, Any], proxied: str) -> None:
    """Make every contract direct but `proxied`, which goes behind an ERC1967Proxy."""
    from medchain.records.upgrade import IMPLEMENTATION_SLOT, implementation_of

    registry = str(contracts[UPGRADEABLE].address)
    proxy_code = _code(registry)
    if proxied != UPGRADEABLE:
        _rpc("anvil_setCode", registry, _code(implementation_of(registry)))
    if proxied in (DIRECT, UPGRADEABLE):
        return
    address = str(contracts[proxied].address)
    shadow = f"0x{SHADOW_BASE + list(contracts).index(proxied):040x}"
    _rpc("anvil_setCode", shadow, _code(address))
    _rpc("anvil_setCode", address, proxy_code)
    _rpc("anvil_setStorageAt", address, hex(IMPLEMENTATION_SLOT), _slot_word(shadow))


def run(mode: str) -> dict[str, Any]:
    """One harness run with `mode` (DIRECT or a contract name) behind a proxy: the gas of
    every operation and the names of the deployed contracts."""
    import bench.run as harness
    from bench.gas import GasRecorder

    class SwappingRecorder(GasRecorder):
        # The harness makes its recorder right after the deploy: the moment to swap code.
        def __init__(self, contracts: dict[str, Any], accounts: dict[str, Any]):
            _swap(contracts, mode)
            self.deployed = sorted(contracts)
            super().__init__(contracts, accounts)

    harness.GasRecorder = SwappingRecorder  # type: ignore[misc]
    recorder = harness.measure_gas()
    return {
        "gas": {op: fig.gas for op, fig in recorder.figures.items()},
        "contracts": recorder.deployed,  # type: ignore[attr-defined]
    }


def _run_in_fresh_process(mode: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        subprocess.run(
            [sys.executable, "-m", "bench.gas_proxy", "--mode", mode, "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return dict(json.loads(out.read_text()))


def contract_of(operation: str) -> str:
    return operation.split(".", 1)[0]


def overhead_report(
    direct: dict[str, int], proxied: dict[str, dict[str, int]], anchors: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The JSON record: per operation and per contract (see the module docstring). The proxy
    breaks an anchor when the direct call meets it and the proxied one does not; anchors
    that direct calls already exceed (comparables such as an ERC-721 mint, not budgets)
    are listed apart, as no cost of the design."""
    operations = {}
    for op, gas in sorted(direct.items()):
        own = contract_of(op)
        anchor = (anchors.get(op) or {}).get("anchor")
        via = proxied[own][op] if own in proxied else None
        base = None if op == UPGRADE else gas  # the upgrade has no direct counterpart
        operations[op] = {
            "contract": own,
            "direct": base,
            "via_proxy": via,
            "overhead": via - gas if via is not None and base is not None else None,
            "anchor": anchor,
            "anchor_source": (anchors.get(op) or {}).get("anchor_source", ""),
            "headroom_direct": anchor - gas if anchor else None,
            "headroom_via_proxy": anchor - via if anchor and via is not None else None,
            "callee_overhead": {
                c: run[op] - gas
                for c, run in sorted(proxied.items())
                if c != own and run[op] != gas
            },
        }
    anchored = {op: o for op, o in operations.items() if o["anchor"] and o["direct"] is not None}
    contracts = {}
    for name, run in sorted(proxied.items()):
        broken = [
            f"{op}: {o['direct']:,} direct, {run[op]:,} with {name} behind a proxy > {o['anchor']:,}"
            for op, o in anchored.items()
            if o["direct"] <= o["anchor"] < run[op]
        ]
        headrooms = [
            (o["anchor"] - run[op], op)
            for op, o in anchored.items()
            if o["direct"] <= o["anchor"] and run[op] != o["direct"]
        ]
        own = [
            o["overhead"]
            for o in operations.values()
            if o["contract"] == name and o["overhead"] is not None
        ]
        tightest = min(headrooms) if headrooms else None
        contracts[name] = {
            "decision": "migration" if broken else "proxy",
            "overhead_min": min(own) if own else None,
            "overhead_max": max(own) if own else None,
            "tightest_anchor": {"operation": tightest[1], "headroom_via_proxy": tightest[0]}
            if tightest
            else None,
            "anchors_broken_by_the_proxy": broken,
        }
    already = [
        f"{op}: {o['direct']:,} > {o['anchor']:,} ({o['anchor_source']})"
        for op, o in anchored.items()
        if o["direct"] > o["anchor"]
    ]
    return {"contracts": contracts, "anchors_exceeded_directly": already, "operations": operations}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", help="(internal) one run: 'direct' or the contract to proxy")
    parser.add_argument("--out", help="(internal) where one run writes its figures")
    args = parser.parse_args(argv)
    if args.mode:
        Path(args.out).write_text(json.dumps(run(args.mode)))
        return 0
    from bench.gas import load_snapshot
    from medchain.deploy import git_commit

    base = _run_in_fresh_process(DIRECT)
    measured = sorted({contract_of(op) for op in base["gas"]} & set(base["contracts"]))
    proxied = {}
    for name in measured:
        print(f"proxy overhead: {name} behind an ERC1967Proxy")
        proxied[name] = _run_in_fresh_process(name)["gas"]
    report = {
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        **overhead_report(base["gas"], proxied, load_snapshot()),
        "runs": {DIRECT: base["gas"], **proxied},  # every figure the report was made from
    }
    RESULT.write_text(json.dumps(report, indent=2) + "\n")
    for name, verdict in report["contracts"].items():
        span = f"{verdict['overhead_min']:,}..{verdict['overhead_max']:,}"
        print(f"  {name:<22} {verdict['decision']:<9} own overhead {span} gas")
        for line in verdict["anchors_broken_by_the_proxy"]:
            print(f"      breaks: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
